"""The tables the rules read and write: firms, towns, universities, platforms.

Each kind of agent's state is a set of numpy columns, one row a slot. Firms live
in town blocks (`Blocks`): each town owns one run of consecutive slots, so
per-town sums are segment sums and ties stay town-local in memory. A dead
firm's slot is free for a start-up of the same town. The ledger books every
flow of money and knowledge per town; the tally counts the step's entries and
exits.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenarios.schema import LEVERS, PLATFORM_KINDS

F64 = NDArray[np.float64]


@dataclass
class Firms:
    """State of every firm slot; `alive` says which slots hold a firm.

    A free slot has size 0, funds 0 and no ties, so behaviours run over all
    slots at once (`agents.base.ALL`) earn, pay and book nothing for it.
    """

    alive: NDArray[np.bool_]
    id: NDArray[np.int64]
    """The firm's id for life, `town << 32 | serial`: a slot is reused, an id never."""
    town: NDArray[np.intp]
    industry: NDArray[np.int16]
    stage: NDArray[np.int8]
    size: F64
    efficiency: F64
    level: NDArray[np.int8]
    knowledge: F64
    talent: F64
    funds: F64
    trust: F64
    output: F64
    profit: F64
    age: F64
    member: NDArray[np.uint8]
    university: NDArray[np.intp]
    project_left: F64
    subsidy_claim: F64
    adoption_probability: F64
    blocked: NDArray[np.uint8]
    upgraded_at: F64
    ties: NDArray[np.int8]
    partners: NDArray[np.int32]
    tie_kind: NDArray[np.int8]
    tie_cache: tuple | None = None
    """Last `tie_list` result and the index it was for; reset when ties change."""

    @classmethod
    def empty(cls, slots: int, max_partners: int) -> Firms:
        """A table of `slots` empty rows."""
        zeros = {
            f.name: np.zeros(slots, dtype=_dtype(f.type))
            for f in fields(cls)
            if f.name not in ("partners", "tie_kind", "tie_cache")
        }
        table = cls(
            **zeros,
            partners=np.full((slots, max_partners), -1, np.int32),
            tie_kind=np.full((slots, max_partners), -1, np.int8),
        )
        table.id[:] = -1
        table.university[:] = -1
        table.upgraded_at[:] = np.nan
        return table

    @classmethod
    def row_bytes(cls, max_partners: int) -> int:
        """Bytes one slot takes in every column, partner lists included."""
        scalars = sum(
            np.dtype(_dtype(f.type)).itemsize
            for f in fields(cls)
            if f.name not in ("partners", "tie_kind", "tie_cache")
        )
        per_partner = np.dtype(np.int32).itemsize + np.dtype(np.int8).itemsize
        return scalars + max_partners * per_partner

    def regrouped(self, old: Blocks, new: Blocks) -> Firms:
        """The same firms in the wider town blocks `new` instead of `old`.

        Each firm keeps its rank in its town's block, partner lists follow,
        and the added slots are empty. Slot order is kept, so every rule that
        reads slots in order (meeting, pairing) sees the same firms in the
        same order.
        """
        table = Firms.empty(new.slots, self.partners.shape[1])
        moved = old.moved_to(new)
        for f in fields(self):
            if f.name != "tie_cache":
                getattr(table, f.name)[moved] = getattr(self, f.name)
        table.town[:] = new.town_of_slots
        filled = table.partners >= 0
        table.partners[filled] = moved[table.partners[filled]]
        return table


@dataclass(frozen=True)
class Blocks:
    """Where each town's firms sit in the firm table: one run of slots per town.

    Town t owns slots `start[t]` to `start[t] + width[t] - 1`. Blocks start
    with little room and widen as start-ups come, up to `most[t]` slots. A
    slot's place, its town's first place (`place_start[t]`, blocks at full
    width) plus its rank in the block, does not change when blocks widen:
    draws keyed by place stay with their slot.
    """

    width: NDArray[np.intp]
    most: NDArray[np.intp]
    _pieces: dict[int, list[tuple[slice, slice]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _towns: dict[tuple[int, int], slice] = field(
        default_factory=dict, repr=False, compare=False
    )

    @cached_property
    def start(self) -> NDArray[np.intp]:
        """First slot of each town's block, and the table's size at the end."""
        return np.concatenate([[0], np.cumsum(self.width)]).astype(np.intp)

    @cached_property
    def place_start(self) -> NDArray[np.intp]:
        """First place of each town, and the number of places at the end."""
        return np.concatenate([[0], np.cumsum(self.most)]).astype(np.intp)

    @property
    def slots(self) -> int:
        """Slots of the table."""
        return int(self.width.sum())

    @property
    def places(self) -> int:
        """Places of the table at full width."""
        return int(self.most.sum())

    @cached_property
    def town_of_slots(self) -> NDArray[np.intp]:
        """Each slot's town."""
        return np.repeat(np.arange(self.width.size), self.width)

    def pieces(self, most: int) -> list[tuple[slice, slice]]:
        """Consecutive runs of whole blocks of about `most` slots (at least a town).

        As (slots, towns) slices; kept, since the blocks do not change.
        """
        found = self._pieces.get(most)
        if found is None:
            found, start, first = [], self.start, 0
            while first < self.width.size:
                last = int(np.searchsorted(start, start[first] + most, "right")) - 1
                last = min(max(last, first + 1), self.width.size)
                found.append(
                    (slice(int(start[first]), int(start[last])), slice(first, last))
                )
                first = last
            self._pieces[most] = found
            for slots, towns in found:
                self._towns[(slots.start, slots.stop)] = towns
        return found

    def towns_in(self, slots: slice) -> slice:
        """The towns whose blocks make up `slots` (a run of whole blocks)."""
        towns = self._towns.get((slots.start, slots.stop))
        if towns is None:
            first = int(np.searchsorted(self.start, slots.start, "right")) - 1
            towns = slice(first, int(np.searchsorted(self.start, slots.stop, "left")))
            self._towns[(slots.start, slots.stop)] = towns
        return towns

    def moved_to(self, new: Blocks) -> NDArray[np.intp]:
        """Each slot's slot in the wider blocks `new` (same town, same rank)."""
        town = self.town_of_slots
        rank = np.arange(self.slots) - self.start[town]
        return (new.start[town] + rank).astype(np.intp)

    def widened(self, needed: NDArray[np.intp]) -> Blocks | None:
        """Blocks wide enough for `needed` slots per town, or None if these are.

        When a town is short, every block grows by at least 10% (never past
        `most`): widening copies the whole table, so it is done for all towns
        at once, and seldom.
        """
        short = (needed > self.width) & (self.width < self.most)
        if not short.any():
            return None
        wider = np.maximum(needed, np.ceil(1.1 * self.width).astype(np.intp))
        width = np.minimum(self.most, np.maximum(self.width, wider))
        return Blocks(width=width.astype(np.intp), most=self.most)


def _dtype(annotation: object) -> type:
    text = str(annotation)
    for name in ("bool_", "intp", "int16", "uint8", "int8", "int32", "int64"):
        if name in text:
            return getattr(np, name)
    return np.float64


NOT_CERTIFIED = -1
"""`Towns.certified_year` of a town not (yet) on the list."""


@dataclass
class Towns:
    """State of each town and of its government."""

    n: int
    industry: NDArray[np.int64]
    region: NDArray[np.int64]
    city: NDArray[np.int64]
    x: F64
    y: F64
    infrastructure: F64
    firms: NDArray[np.int64] = field(init=False)
    founded: NDArray[np.int64] = field(init=False)
    size_scale: F64 = field(init=False)
    """Factor the town's firm sizes were scaled by to fit its output at the start."""
    """Firms founded in the town so far: the next firm's serial number."""
    gdp: F64 = field(init=False)
    talent_pool: F64 = field(init=False)
    ip_spending: F64 = field(init=False)
    ip_protection: F64 = field(init=False)
    funding_pool: F64 = field(init=False)
    upgrade_outlay: F64 = field(init=False)
    step_outlay: F64 = field(init=False)
    subsidy_offer: F64 = field(init=False)
    lever_weights: F64 = field(init=False)
    platform_capital: F64 = field(init=False)
    platform_built: NDArray[np.bool_] = field(init=False)
    platform_linked: NDArray[np.bool_] = field(init=False)
    share_at_least: F64 = field(init=False)
    mean_knowledge: F64 = field(init=False)
    mean_size: F64 = field(init=False)
    platform_knowledge: F64 = field(init=False)
    linked: NDArray[np.bool_] = field(init=False)
    member_share: F64 = field(init=False)
    indices: F64 = field(init=False)
    coordination: F64 = field(init=False)
    external: F64 = field(init=False)
    dimension: NDArray[np.int64] = field(init=False)
    certified_year: NDArray[np.int64] = field(init=False)
    """Year the town joined the list of professional towns; `NOT_CERTIFIED` if
    it has not (the towns of the start count as certified in the start year)."""

    def __post_init__(self) -> None:
        n, kinds = self.n, len(PLATFORM_KINDS)
        for name in ("gdp", "talent_pool", "ip_spending", "ip_protection"):
            setattr(self, name, np.zeros(n))
        for name in ("funding_pool", "upgrade_outlay", "step_outlay"):
            setattr(self, name, np.zeros(n))
        for name in ("subsidy_offer", "mean_knowledge", "mean_size"):
            setattr(self, name, np.zeros(n))
        for name in ("platform_knowledge", "member_share", "coordination", "external"):
            setattr(self, name, np.zeros(n))
        self.firms = np.zeros(n, dtype=np.int64)
        self.founded = np.zeros(n, dtype=np.int64)
        self.size_scale = np.ones(n)
        self.lever_weights = np.zeros((n, len(LEVERS)))
        self.platform_capital = np.zeros((n, kinds))
        self.platform_built = np.zeros((n, kinds), dtype=bool)
        self.platform_linked = np.zeros((n, kinds), dtype=bool)
        self.share_at_least = np.zeros((n, 6))
        self.linked = np.zeros(n, dtype=bool)
        self.indices = np.zeros((n, 6))
        self.dimension = np.ones(n, dtype=np.int64)
        self.certified_year = np.full(n, NOT_CERTIFIED, dtype=np.int64)

    @property
    def certified(self) -> NDArray[np.bool_]:
        """Which towns are on the list of professional towns now."""
        return self.certified_year != NOT_CERTIFIED


@dataclass
class Universities:
    """State of each university or research institute."""

    region: NDArray[np.int64]
    knowledge: F64
    capacity: NDArray[np.int64]
    hub: NDArray[np.int64]


@dataclass
class Platforms:
    """Flat views (row = town * 3 + kind) on the towns' platform columns."""

    capital: F64
    built: NDArray[np.bool_]
    linked: NDArray[np.bool_]

    @classmethod
    def of(cls, towns: Towns) -> Platforms:
        """Views that share memory with the town table."""
        return cls(
            capital=towns.platform_capital.reshape(-1),
            built=towns.platform_built.reshape(-1),
            linked=towns.platform_linked.reshape(-1),
        )


FLOWS = (
    "profits",
    "upgrades",
    "subsidies",
    "licences",
    "projects",
    "exit_funds",
    "entry_funds",
    "entries",
    "exits",
    "shared",
    "leaked",
    *(f"spent_{lever}" for lever in LEVERS),
)


class Ledger:
    """Per-town sums of money and knowledge flows since the last `reset`.

    Every change of a firm's funds is booked here, which is what lets a test
    check that money is accounted for.
    """

    def __init__(self, n_towns: int) -> None:
        self.n_towns = n_towns
        self.flows = {name: np.zeros(n_towns) for name in FLOWS}

    def add(self, name: str, town: ArrayLike, amount: ArrayLike) -> None:
        """Book `amount` (one per entry of `town`, or one for all) under `name`."""
        town = np.asarray(town)
        weights = np.asarray(amount, dtype=float)
        if weights.shape != town.shape:
            weights = np.broadcast_to(weights, town.shape)
        self.flows[name] += np.bincount(
            town.ravel(), weights=weights.ravel(), minlength=self.n_towns
        )

    def book(
        self, name: str, per_town: NDArray[np.float64], towns: slice = slice(None)
    ) -> None:
        """Book amounts already summed per town (of `towns`) under `name`."""
        self.flows[name][towns] += per_town

    def reset(self) -> None:
        """Start a new accounting period."""
        for values in self.flows.values():
            values[:] = 0.0


@dataclass
class Tally:
    """Province-wide counts of this step's entries and exits, by kind."""

    entries: int = 0
    exits: int = 0
    failures: int = 0
    """Exits because funds, subsidy claims and credit ran out."""
    young_exits: int = 0
    infant_exits: int = 0

    def reset(self) -> None:
        """Start counting a new step."""
        self.entries = self.exits = self.failures = 0
        self.young_exits = self.infant_exits = 0
