"""Building the province: towns and their network, universities, the first firms.

All draws come from the model's numpy generator, so one seed fixes the whole
province, the town graph included.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from agents.demography import assign_ids, found_firms
from agents.streams import TIMELESS, Purpose, Streams
from agents.tables import Firms, Towns, Universities
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
    """Place towns in regions and cities and give each a leading industry."""
    n = s.province.towns
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
blocks widen as towns fill (`TownModel`), up to `province.headroom`."""


def firm_capacity(s: Scenario, room: float | None = None) -> int:
    """Slots per town: the initial firms plus `room` (default: all the headroom)."""
    room = s.province.headroom if room is None else min(room, s.province.headroom)
    slots = s.province.firms_per_town * (1.0 + room)
    return int(np.ceil(slots - 1e-9))  # 100 firms with 10% room: 110, not 111


MEAN_START_AGE = 8.0
"""Mean age of the initial firms, years (exponential)."""


def place_firms(s: Scenario, towns: Towns, streams: Streams) -> tuple[Firms, int]:
    """Create the firm table with the initial firms at the start of each town block.

    Each initial firm's level and age are drawn by its id, like the rest of it.
    """
    capacity = firm_capacity(s, START_ROOM)
    firms = Firms.empty(towns.n * capacity, s.enterprise.max_partners)
    firms.town[:] = np.repeat(np.arange(towns.n), capacity)
    start = (np.arange(capacity) < s.province.firms_per_town)[None, :]
    slots = np.flatnonzero(np.broadcast_to(start, (towns.n, capacity)))
    assign_ids(towns, firms, slots)
    ids = firms.id[slots]
    shares = np.cumsum(s.enterprise.initial_levels) / np.sum(
        s.enterprise.initial_levels
    )
    draw = streams.uniform(Purpose.START_LEVEL, ids, time=TIMELESS)
    levels = 1 + np.searchsorted(shares[:-1], draw, side="right")
    age = -MEAN_START_AGE * np.log(
        streams.uniform(Purpose.START_AGE, ids, time=TIMELESS)
    )
    customized = customized_share(s, s.run.start_year)
    found_firms(
        s,
        towns,
        firms,
        slots,
        levels,
        streams,
        age,
        customized,
        s.economy.initial_funds,
    )
    return firms, capacity
