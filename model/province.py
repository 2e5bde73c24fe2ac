"""Building the province: towns and their network, universities, the first firms.

All draws come from the model's numpy generator, so one seed fixes the whole
province, the town graph included.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.special import ndtri

from agents.demography import assign_ids, capped_totals, found_firms, open_accounts
from agents.streams import TIMELESS, Purpose, Streams
from agents.tables import Blocks, Firms, Towns, Universities
from scenarios.schema import INDUSTRIES, REGIONS, Scenario

EMERGING = ("electronic_information", "creative_design", "ecommerce", "eco_tourism")
REGION_CENTRES = {
    "pearl_river_delta": (0.50, 0.45),
    "east": (0.82, 0.50),
    "west": (0.18, 0.40),
    "north": (0.50, 0.80),
}


def customized_share(s: Scenario, year: float) -> float:
    """Share of demand that wants customized products: a logistic rise over time."""
    e = s.economy
    rise = 1.0 / (1.0 + np.exp(-e.customized_speed * (year - e.customized_midyear)))
    return float(e.customized_start + (e.customized_end - e.customized_start) * rise)


def apportion(total: int, shares: list[float]) -> NDArray[np.int64]:
    """Split `total` into whole counts close to `shares` (largest remainder)."""
    exact = np.asarray(shares, dtype=float) * total
    counts = np.floor(exact).astype(np.int64)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def build_towns(s: Scenario, rng: np.random.Generator) -> Towns:
    """Place towns in regions and cities and give each a leading industry.

    The towns are the certified ones and the candidates (`Scenario.all_towns`).
    """
    n = s.all_towns
    shares = [s.province.region_shares.get(name, 0.0) for name in REGIONS]
    region = rng.permutation(np.repeat(np.arange(len(REGIONS)), apportion(n, shares)))
    centre = np.array([REGION_CENTRES[name] for name in REGIONS])[region]
    x, y = (centre + rng.normal(0.0, 0.07, size=(n, 2))).T
    city = np.empty(n, dtype=np.int64)
    next_city = 0
    for r in range(len(REGIONS)):
        members = np.flatnonzero(region == r)
        members = members[np.argsort(x[members] + 0.01 * y[members])]
        city[members] = next_city + np.arange(members.size) // s.province.towns_per_city
        next_city = city[members].max() + 1 if members.size else next_city
    emerging = rng.random(n) < s.province.emerging_industry_share
    new_codes = np.array([INDUSTRIES.index(i) for i in EMERGING])
    old_codes = np.setdiff1d(np.arange(len(INDUSTRIES)), new_codes)
    industry = np.where(
        emerging, rng.choice(new_codes, size=n), rng.choice(old_codes, size=n)
    )
    start = np.array([s.economy.infrastructure_start[name] for name in REGIONS])
    return Towns(
        n=n,
        industry=industry,
        region=region,
        city=city,
        x=x,
        y=y,
        infrastructure=start[region].astype(float),
    )


def town_graph(s: Scenario, towns: Towns, rng: np.random.Generator) -> nx.Graph:
    """Link towns that share a city, share an industry (by chance) or lie close."""
    n = towns.n
    i, j = np.triu_indices(n, k=1)
    same_city = towns.city[i] == towns.city[j]
    same_industry = (towns.industry[i] == towns.industry[j]) & (
        rng.random(i.size) < s.province.same_industry_link
    )
    close = np.hypot(towns.x[i] - towns.x[j], towns.y[i] - towns.y[j]) < (
        s.province.link_radius
    )
    graph = nx.Graph()
    for t in range(n):
        graph.add_node(
            t,
            industry=INDUSTRIES[towns.industry[t]],
            region=REGIONS[towns.region[t]],
            city=int(towns.city[t]),
            pos=(float(towns.x[t]), float(towns.y[t])),
        )
    linked = same_city | same_industry | close
    for a, b, c, d in zip(
        i[linked], j[linked], same_city[linked], same_industry[linked], strict=True
    ):
        graph.add_edge(int(a), int(b), city=bool(c), industry=bool(d))
    return graph


def adjacency(graph: nx.Graph) -> sparse.csr_array:
    """The town graph as a sparse 0/1 matrix, for neighbour sums and draws."""
    n = graph.number_of_nodes()
    edges = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
    rows = np.concatenate([edges[:, 0], edges[:, 1]])
    cols = np.concatenate([edges[:, 1], edges[:, 0]])
    return sparse.csr_array(
        (np.ones(rows.size), (rows, cols)), shape=(n, n), dtype=np.float64
    )


def build_universities(
    s: Scenario, towns: Towns, rng: np.random.Generator
) -> Universities:
    """Put `per_region` universities in each region that has towns."""
    regions = [r for r in range(len(REGIONS)) if (towns.region == r).any()]
    region = np.repeat(np.array(regions, dtype=np.int64), s.university.per_region)
    hub = np.array(
        [rng.choice(np.flatnonzero(towns.region == r)) for r in region], dtype=np.int64
    )
    knowledge = np.clip(s.university.knowledge + rng.normal(0, 0.05, region.size), 0, 1)
    capacity = np.full(region.size, s.university.project_capacity, dtype=np.int64)
    return Universities(region=region, knowledge=knowledge, capacity=capacity, hub=hub)


START_ROOM = 0.05
"""Room for start-ups in the first town blocks, share of the initial firms; the
blocks widen as towns fill (`agents.demography.make_room`), up to
`province.headroom`."""
MEAN_START_AGE = 8.0
"""Mean age of the initial firms, years (exponential)."""


def lognormal_quantiles(count: int, spread: float) -> NDArray[np.float64]:
    """The (k + 1/2)/count quantiles of a lognormal of median 1, smallest first."""
    return np.exp(spread * ndtri((np.arange(count) + 0.5) / count))


def town_targets(
    s: Scenario, rng: np.random.Generator
) -> tuple[NDArray[np.float64] | None, NDArray[np.bool_]]:
    """Each town's output at the start (M yuan a year) and which towns are certified.

    With `province.start_output` set, the start is data: the certified towns'
    outputs are the quantiles of a lognormal with log-s.d.
    `province.town_size_spread` (town k of n gets the (k + 1/2)/n quantile),
    scaled to sum to `start_output`. Candidate towns (section 6.1) get the
    quantiles of the same lognormal, scaled so that their median is
    `certification.entrant_size` times the certified towns' median. All are
    dealt to the towns in random order; every seed starts on the same totals.
    Without a data start the outputs are left to the draws (None) and the
    last towns are the candidates.
    """
    p, certified = s.province, np.arange(s.all_towns) < s.province.towns
    if p.start_output is None:
        return None, certified
    sizes = lognormal_quantiles(p.towns, p.town_size_spread)
    sizes *= p.start_output / sizes.sum()
    candidates = lognormal_quantiles(s.candidate_towns, p.town_size_spread)
    candidates *= s.certification.entrant_size * np.median(sizes)
    order = rng.permutation(s.all_towns)
    return np.concatenate([sizes, candidates])[order], order < p.towns


def agents_per_town(
    s: Scenario, targets: NDArray[np.float64] | None, certified: NDArray[np.bool_]
) -> NDArray:
    """Initial firm agents of each town: in proportion to its output, or equal.

    Each agent then stands for a comparable number of real firms, the
    certified towns having `province.towns x province.firms_per_town` in all;
    no town has fewer than `province.min_firms_per_town`.
    """
    p = s.province
    if targets is None:
        return np.full(s.all_towns, p.firms_per_town, dtype=np.intp)
    share = targets / targets[certified].sum()
    agents = np.rint(p.towns * p.firms_per_town * share)
    return np.maximum(agents, p.min_firms_per_town).astype(np.intp)


def town_blocks(s: Scenario, agents: NDArray[np.intp]) -> Blocks:
    """Blocks with the initial firms and a little room, widening to the headroom."""
    room = min(START_ROOM, s.province.headroom)
    width = np.ceil(agents * (1.0 + room) - 1e-9).astype(np.intp)
    most = np.ceil(agents * (1.0 + s.province.headroom) - 1e-9).astype(np.intp)
    return Blocks(
        width=np.maximum(width, 1), most=np.maximum(np.maximum(most, width), 1)
    )


def place_firms(
    s: Scenario, towns: Towns, streams: Streams, rng: np.random.Generator
) -> tuple[Firms, Blocks]:
    """Create the firm table with the initial firms at the start of each town block.

    Each initial firm's level, age and size are drawn by its id; then no firm
    keeps more than `economy.agent_share_max` of its town's output
    (`capped_totals`), and towns with a target output are scaled to it.
    """
    targets, certified = town_targets(s, rng)
    towns.certified_year[certified] = s.run.start_year
    agents = agents_per_town(s, targets, certified)
    blocks = town_blocks(s, agents)
    firms = Firms.empty(blocks.slots, s.enterprise.max_partners)
    firms.town[:] = blocks.town_of_slots
    rank = np.arange(blocks.slots) - blocks.start[firms.town]
    slots = np.flatnonzero(rank < agents[firms.town])
    assign_ids(towns, firms, slots)
    ids = firms.id[slots]
    cumulative = np.cumsum(s.enterprise.initial_levels)
    draw = streams.uniform(Purpose.START_LEVEL, ids, time=TIMELESS)
    levels = 1 + np.searchsorted(cumulative[:-1] / cumulative[-1], draw, "right")
    age = -MEAN_START_AGE * np.log(streams.uniform(Purpose.START_AGE, ids, TIMELESS))
    customized = customized_share(s, s.run.start_year)
    funds = s.economy.initial_funds
    found_firms(s, towns, firms, slots, levels, streams, age, customized, funds)
    fit_towns(s, towns, firms, slots, targets, customized)
    return firms, blocks


def open_start_platforms(s: Scenario, towns: Towns, firms: Firms) -> None:
    """Give the largest certified towns the public service platform they had.

    `round(province.towns x platform.start_coverage)` towns, largest output
    first, start with their public service platform built and its build cost
    as capital (section 5); the other kinds are built during the run (7.2.5).
    """
    count = round(s.province.towns * s.platform.start_coverage)
    if count == 0:
        return
    alive = firms.alive
    output = np.bincount(firms.town[alive], firms.output[alive], minlength=towns.n)
    listed = np.flatnonzero(towns.certified)
    largest = listed[np.argsort(-output[listed], kind="stable")[:count]]
    towns.platform_built[largest, 0] = True
    towns.platform_capital[largest, 0] = s.platform.build_cost[0]


def fit_towns(
    s: Scenario,
    towns: Towns,
    firms: Firms,
    slots: NDArray[np.intp],
    targets: NDArray[np.float64] | None,
    customized: float,
) -> None:
    """Cut the largest firms to the share cap, then scale towns to their targets.

    Output is proportional to size, so both are a change of size; accounts
    are opened again from the new sizes. The factor a town was scaled by is
    kept (`Towns.size_scale`) for its start-ups.
    """
    town, output = firms.town[slots], firms.output[slots]
    count = np.bincount(town, minlength=towns.n)
    cap = np.maximum(s.economy.agent_share_max, 1.0 / np.maximum(count, 1))
    total = capped_totals(output, town, cap)
    kept = np.minimum(output, cap[town] * total[town])
    scale = np.ones(towns.n) if targets is None else targets / total
    towns.size_scale[:] = scale
    firms.size[slots] *= kept / output * scale[town]
    open_accounts(s, firms, slots, customized, s.economy.initial_funds)
