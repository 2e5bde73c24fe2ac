"""Building the province: towns and their network, universities, the first firms.

All draws come from the model's numpy generator, so one seed fixes the whole
province, the town graph included.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from agents.enterprise import operating_cost, revenue
from model.state import Firms, Towns, Universities
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


def place_firms(
    s: Scenario, towns: Towns, rng: np.random.Generator
) -> tuple[Firms, int]:
    """Create the firm table with the initial firms at the start of each town block."""
    capacity = firm_capacity(s, START_ROOM)
    firms = Firms.empty(towns.n * capacity, s.enterprise.max_partners)
    firms.town[:] = np.repeat(np.arange(towns.n), capacity)
    start = (np.arange(capacity) < s.province.firms_per_town)[None, :]
    slots = np.flatnonzero(np.broadcast_to(start, (towns.n, capacity)))
    shares = np.array(s.enterprise.initial_levels)
    levels = rng.choice(4, size=slots.size, p=shares / shares.sum()) + 1
    age = rng.exponential(8.0, slots.size)
    customized = customized_share(s, s.run.start_year)
    found_firms(
        s, towns, firms, slots, levels, rng, age, customized, s.economy.initial_funds
    )
    return firms, capacity


def found_firms(
    s: Scenario,
    towns: Towns,
    firms: Firms,
    slots: NDArray[np.intp],
    levels: NDArray[np.int64],
    rng: np.random.Generator,
    age: NDArray[np.float64],
    customized: float,
    funds: float,
    size_scale: float = 1.0,
    knowledge_scale: float = 1.0,
) -> None:
    """Fill empty slots with new firms at the given levels.

    Sizes are Pareto (Axtell 2001's Zipf-like firm sizes); talent meets the
    firm's own level; knowledge and funds grow with level and size (`funds`:
    years of output). Efficiency is lognormal with mean 1 for every new firm,
    incumbents of the start year included: selection on it is the model's.
    """
    e, eco = s.enterprise, s.economy
    n = slots.size
    town = firms.town[slots]
    related = rng.random(n) < s.province.related_industry_share
    other = (towns.industry[town] + rng.integers(1, len(INDUSTRIES), n)) % len(
        INDUSTRIES
    )
    size = eco.size_min * size_scale * (1.0 - rng.random(n)) ** (-1.0 / eco.size_tail)
    needed = np.array([e.talent_start, *e.talent_needed])[levels - 1]
    knowledge = e.knowledge_start * (1.0 + 0.5 * (levels - 1)) * knowledge_scale
    firms.alive[slots] = True
    firms.industry[slots] = np.where(related, other, towns.industry[town])
    firms.stage[slots] = rng.integers(0, 3, n)
    firms.size[slots] = np.minimum(size, eco.size_max)
    spread = eco.efficiency_spread
    firms.efficiency[slots] = rng.lognormal(-0.5 * spread**2, spread, n)
    firms.level[slots] = levels
    firms.knowledge[slots] = np.clip(knowledge * rng.lognormal(0, 0.3, n), 0, 1)
    firms.talent[slots] = np.clip(
        np.maximum(needed, e.talent_start) * rng.uniform(1.0, 1.5, n), 0, 1
    )
    firms.trust[slots] = np.clip(e.trust_start + rng.normal(0, 0.05, n), 0, 1)
    firms.age[slots] = age
    firms.output[slots] = revenue(
        firms.size[slots],
        firms.efficiency[slots],
        levels,
        firms.knowledge[slots],
        np.array(eco.customized_fit)[levels - 1],
        customized,
        eco.productivity,
        eco.level_gain,
        eco.knowledge_gain,
    )
    firms.profit[slots] = firms.output[slots] - operating_cost(
        firms.size[slots],
        firms.talent[slots],
        0,
        0,
        eco.productivity,
        eco.unit_cost,
        e.it_wage,
        e.tie_cost,
        e.tie_saving,
        s.platform.service_saving,
    )
    firms.funds[slots] = funds * firms.output[slots]
    firms.member[slots] = 0
    firms.university[slots] = -1
    firms.project_left[slots] = 0.0
    firms.subsidy_claim[slots] = 0.0
    firms.adoption_probability[slots] = 0.0
    firms.blocked[slots] = 0
    firms.upgraded_at[slots] = np.nan
    firms.partners[slots] = -1
    firms.tie_kind[slots] = -1
    firms.ties[slots] = 0
