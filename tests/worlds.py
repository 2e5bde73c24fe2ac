"""A province built by hand for the behaviour tests: two towns, five firms.

Every behaviour of `agents/` takes any object that satisfies
`agents.world.World`. `HandWorld` is one, with each table written out below,
so a test can state the state before a behaviour and work out by hand what it
must be after. It is not `model.TownModel`: nothing is drawn to build it.

`Draws` stands in for the random streams where a test must fix the numbers:
every uniform number is `u`, every standard normal `z`, unless a test gives a
purpose's numbers per firm, tie or place.

Kept free of pytest, like `support`, so that any test module can import it
(`from worlds import HandWorld, Draws`).
"""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

import networkx as nx
import numpy as np
from mesa.discrete_space import Network
from numpy.typing import NDArray
from scipy import sparse

from agents.rates import Rates
from agents.sampling import Directory
from agents.streams import Purpose
from agents.tables import Blocks, Firms, Ledger, Platforms, Tally, Towns, Universities
from scenarios import REGIONS, Scenario
from scenarios.schema import GovernmentSettings

CAPACITY = 4
"""Slots per town block: town 0 owns slots 0-3, town 1 slots 4-7 (8 at most)."""
MAX_PARTNERS = 3

LIVE = (0, 1, 2, 4, 5)
"""The live firms: 0, 1 and 2 in town 0, 4 and 5 in town 1; 3, 6, 7 are free."""

FIRMS: dict[str, tuple[float, ...]] = {
    # one value per slot of LIVE
    "industry": (4, 4, 2, 7, 7),  # town 0 leads in furniture (4), town 1 ceramics
    "stage": (0, 1, 1, 0, 0),
    "size": (100.0, 50.0, 20.0, 80.0, 40.0),
    "efficiency": (1.0, 1.2, 0.8, 1.0, 1.0),
    "level": (1, 2, 3, 1, 4),
    "knowledge": (0.2, 0.4, 0.6, 0.3, 0.8),
    "talent": (0.02, 0.05, 0.09, 0.03, 0.1),
    "funds": (5.0, 3.0, 2.0, 4.0, 10.0),
    "trust": (0.4, 0.4, 0.4, 0.4, 0.4),
    "age": (5.0, 0.5, 2.0, 10.0, 1.0),
}

TOWNS: dict[str, Any] = {
    "industry": np.array([4, 7]),
    "region": np.array([0, 1]),  # the Pearl River Delta and the east
    "city": np.array([0, 1]),
    "x": np.array([0.5, 0.8]),
    "y": np.array([0.45, 0.5]),
    "infrastructure": np.array([0.6, 0.4]),
}

TOWN_STATE: dict[str, Any] = {
    # the aggregates of the firms above, as `observe` would leave them
    "firms": [3, 2],
    "gdp": [60.0, 40.0],
    "share_at_least": [[1, 1, 2 / 3, 1 / 3, 0, 0], [1, 1, 0.5, 0.5, 0.5, 0]],
    "mean_knowledge": [0.4, 0.55],
    "ip_protection": [0.3, 0.3],  # the scenario's legal protection
}


class Registry:
    """Stands in for the firms' Mesa agents: records what it is told."""

    def __init__(self) -> None:
        self.born_slots: list[int] = []
        self.died_slots: list[int] = []
        self.moves: list[list[int]] = []

    def born(self, slots: NDArray[np.intp]) -> None:
        """Record the slots new firms took."""
        self.born_slots.extend(np.asarray(slots).tolist())

    def died(self, slots: NDArray[np.intp]) -> None:
        """Record the slots firms left."""
        self.died_slots.extend(np.asarray(slots).tolist())

    def moved(self, slots: NDArray[np.intp]) -> None:
        """Record a widening of the town blocks: each slot's new slot."""
        self.moves.append(np.asarray(slots).tolist())


class Draws:
    """A stand-in for `agents.streams.Streams` whose numbers the test sets.

    Every uniform number is `u` and every standard normal `z`, unless `by`
    gives a purpose's numbers per entity (`{Purpose.UPGRADE: {firm id: 0.1}}`;
    for a tie, the pair of ids, lower first; for a purpose drawn by `normal`,
    standard normal numbers). A key may name the draw too, as `(id, draw)` or
    `(id_a, id_b, draw)`, which wins over the key without it.
    `chosen` picks every place whose number (`u`, or `places[purpose][place]`,
    or `places[purpose][(place, draw)]`) is below the chance, as the real
    streams do. `calls` records every request: (method, purpose, entities),
    where a `chosen` request's entities are (chance, size, draw).

    Args:
        u: The uniform number.
        z: The standard normal number.
        by: Per purpose, the numbers of some entities.
        places: Per purpose, the numbers of some places (for `chosen`).
    """

    def __init__(
        self,
        u: float = 0.5,
        z: float = 0.0,
        by: dict[Purpose, dict[Any, float]] | None = None,
        places: dict[Purpose, dict[Any, float]] | None = None,
    ) -> None:
        self.u, self.z = u, z
        self.by = by or {}
        self.places = places or {}
        self.time = 0
        self.calls: list[tuple[str, Purpose, Any]] = []

    def _number(self, known: dict[Any, float], key: Any, draw: int) -> float:
        with_draw = (*key, draw) if isinstance(key, tuple) else (key, draw)
        return known.get(with_draw, known.get(key, self.u))

    def uniform(
        self, purpose: Purpose, entities: Any, draw: int = 0, time: int | None = None
    ) -> NDArray[np.float64]:
        """One number per entity: `by[purpose][(entity, draw)]`, `[entity]`, or `u`."""
        keys = np.asarray(entities).tolist()
        self.calls.append(("uniform", purpose, keys))
        known = self.by.get(purpose, {})
        return np.array([self._number(known, k, draw) for k in keys], dtype=float)

    def normal(
        self, purpose: Purpose, entities: Any, draw: int = 0, time: int | None = None
    ) -> NDArray[np.float64]:
        """One standard normal number per entity: `by[purpose][entity]`, or `z`."""
        keys = np.asarray(entities).tolist()
        self.calls.append(("normal", purpose, keys))
        known = self.by.get(purpose, {})
        numbers = [known.get((k, draw), known.get(k, self.z)) for k in keys]
        return np.array(numbers, dtype=float)

    def pair_uniform(
        self, purpose: Purpose, a: Any, b: Any, draw: int = 0
    ) -> NDArray[np.float64]:
        """One number per pair: `by[purpose][(lower id, higher id)]`, or `u`."""
        low, high = np.minimum(a, b).tolist(), np.maximum(a, b).tolist()
        pairs = list(zip(low, high, strict=True))
        self.calls.append(("pair_uniform", purpose, pairs))
        known = self.by.get(purpose, {})
        return np.array([self._number(known, p, draw) for p in pairs], dtype=float)

    def chosen(
        self, purpose: Purpose, chance: float, size: int, draw: int = 0
    ) -> NDArray[np.int64]:
        """The places whose number is below `chance`."""
        self.calls.append(("chosen", purpose, (chance, size, draw)))
        known = self.places.get(purpose, {})
        numbers = np.array([self._number(known, p, draw) for p in range(size)])
        return np.flatnonzero(numbers < chance).astype(np.int64)

    def asked(self, method: str, purpose: Purpose) -> list[Any]:
        """The entities (or a `chosen` request's terms) of one method and purpose."""
        return [e for m, p, e in self.calls if m == method and p == purpose]


class HandWorld:
    """Two towns and five firms, every value written out: an `agents.world.World`.

    Town 0 (Pearl River Delta, furniture) holds firms 0, 1 and 2, town 1 (east,
    ceramics) firms 4 and 5 (the tables `FIRMS` and `TOWNS`); slots 3, 6 and 7
    are free. The towns are neighbours in the town network unless `linked` is
    False. One university serves the Pearl River Delta. No firm has a tie, a
    platform or a project; no platform is built. `rates` are the default
    scenario's at `steps_per_year`; a test changes them with `set_rates`.

    Args:
        steps_per_year: Steps in one year.
        streams: The random numbers (`Draws()` by default).
        linked: Whether the two towns are neighbours.
    """

    def __init__(
        self, steps_per_year: int = 1, streams: Any = None, linked: bool = True
    ) -> None:
        self.settings = Scenario.model_validate(
            {
                "run": {"steps_per_year": steps_per_year, "end_year": 2020},
                "province": {"towns": 2, "firms_per_town": 4, "headroom": 1.0},
                "enterprise": {"max_partners": MAX_PARTNERS},
            }
        )
        self.rates = Rates.of(self.settings)
        self.streams = Draws() if streams is None else streams
        self.n_towns = 2
        self.blocks = Blocks(
            width=np.full(2, CAPACITY, dtype=np.intp),
            most=np.full(2, 2 * CAPACITY, dtype=np.intp),
        )
        self.year = 2016.0 + 1.0 / steps_per_year
        self.policy: GovernmentSettings = self.settings.government
        self.customized_share = 0.2

        self.firms = Firms.empty(self.n_towns * CAPACITY, MAX_PARTNERS)
        self.firms.town[:] = np.repeat(np.arange(self.n_towns), CAPACITY)
        live = np.array(LIVE)
        self.firms.alive[live] = True
        town = self.firms.town[live]
        serial = live - CAPACITY * town
        self.firms.id[live] = (town << 32) | serial
        for name, values in FIRMS.items():
            getattr(self.firms, name)[live] = values

        self.towns = Towns(n=self.n_towns, **{k: v.copy() for k, v in TOWNS.items()})
        for name, values in TOWN_STATE.items():
            getattr(self.towns, name)[:] = values
        self.towns.founded[:] = [3, 2]
        self.towns.certified_year[:] = self.settings.run.start_year  # both listed
        self.towns.mean_size[:] = [170 / 3, 60.0]
        self.platforms = Platforms.of(self.towns)
        self.universities = Universities(
            region=np.array([0]),
            knowledge=np.array([0.7]),
            capacity=np.array([2]),
            hub=np.array([0]),
        )
        self.ledger = Ledger(self.n_towns)
        self.tally = Tally()
        self.enterprises = Registry()

        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_towns))
        if linked:
            graph.add_edge(0, 1)
        self.grid = Network(graph, random=random.Random(0), layout=None)
        edges = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
        self.adjacency = sparse.csr_array(
            (
                np.ones(2 * len(edges)),
                (np.r_[edges[:, 0], edges[:, 1]], np.r_[edges[:, 1], edges[:, 0]]),
            ),
            shape=(self.n_towns, self.n_towns),
        )
        self._index()

    def _index(self) -> None:
        self.directory = Directory.of(
            self.adjacency, self.universities.region, len(REGIONS)
        )

    def set_universities(
        self, region: list[int], knowledge: list[float], capacity: list[int]
    ) -> None:
        """Replace the universities (their hub is the first town of the region)."""
        self.universities = Universities(
            region=np.array(region),
            knowledge=np.array(knowledge, dtype=float),
            capacity=np.array(capacity),
            hub=np.zeros(len(region), dtype=np.int64),
        )
        self._index()

    def set_rates(self, **changes: Any) -> None:
        """Replace some per-step rates."""
        self.rates = replace(self.rates, **changes)

    def tie(self, a: int, b: int, kind: int) -> None:
        """Tie firms `a` and `b` (a tie of `kind`), in the first free column of each."""
        f = self.firms
        for one, other in ((a, b), (b, a)):
            column = int(np.argmax(f.partners[one] < 0))
            assert f.partners[one, column] < 0, f"firm {one} has no free tie slot"
            f.partners[one, column] = other
            f.tie_kind[one, column] = kind
            f.ties[one] += 1
        f.tie_cache = None

    def partners_of(self, slot: int) -> list[int]:
        """The partners of a firm, in the order of its columns."""
        return [int(p) for p in self.firms.partners[slot] if p >= 0]

    def kinds_of(self, slot: int) -> list[int]:
        """The kinds of a firm's ties, in the order of its columns."""
        row = self.firms.tie_kind[slot]
        return [
            int(k)
            for k, p in zip(row, self.firms.partners[slot], strict=True)
            if p >= 0
        ]

    def free(self, *slots: int) -> None:
        """Empty the slots of some firms by hand, as a free slot is kept."""
        f, index = self.firms, list(slots)
        assert not f.ties[index].any(), "free a firm without ties"
        f.alive[index] = False
        for name in ("size", "funds", "talent", "knowledge", "output", "profit"):
            getattr(f, name)[index] = 0.0
        f.member[index] = 0
        f.university[index] = -1
        self.towns.firms[:] = np.bincount(f.town[f.alive], minlength=self.n_towns)
