"""What all agents share: selections of slots, and Mesa agents that are views on arrays.

The model keeps each kind of agent's state in columnar numpy arrays (one row a
slot). A Mesa agent object only remembers its slot; its attributes read and write
that row. So the `agents` schedule, the app's inspector and a user at the prompt
see ordinary Mesa agents, while the `vectorized` schedule works on whole columns.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

if TYPE_CHECKING:
    from agents.world import World

ALL = slice(None)
"""Every slot of a table. Behaviours given `ALL` work on whole columns in place,
with no copies; the free slots among them must then act as no-ops."""

Selection = NDArray[np.intp] | slice
"""Slots a behaviour acts on: an index array (one agent, or some), `ALL`, or a
slice of whole town blocks (`blocks`)."""

BLOCK_SLOTS = 65_536
"""Slots per piece when `ALL` is cut into town blocks: a float column of one
piece (512 KiB) and its temporaries stay in the processor's cache."""


def blocks(world: World, idx: Selection) -> Iterator[Selection]:
    """`ALL` as consecutive slices of whole town blocks; any other `idx` as is.

    A chain of array operations runs two to three times faster on pieces that
    stay in cache than on whole columns. Only per-firm and per-town work may be
    cut this way: rules that read other firms' state (ties) need every firm's
    values from before the step's writes.
    """
    if not (isinstance(idx, slice) and idx == ALL):
        yield idx
        return
    for slots, _ in world.blocks.pieces(BLOCK_SLOTS):
        yield slots


def within(idx: Selection, part: Selection) -> Selection:
    """Positions of `part` (one of `blocks(world, idx)`) among the slots of `idx`."""
    return part if isinstance(idx, slice) and idx == ALL else ALL


def by_blocks(
    behaviour: Callable[[World, Selection], None],
) -> Callable[[World, Selection], None]:
    """Run a behaviour that reads only its own firms and towns piece by piece."""

    @functools.wraps(behaviour)
    def run(world: World, idx: Selection) -> None:
        for part in blocks(world, idx):
            behaviour(world, part)

    return run


def towns_of(world: World, idx: Selection) -> slice:
    """The towns whose per-town values `town_totals` and `per_firm` use for `idx`."""
    if isinstance(idx, slice) and idx != ALL:
        return world.blocks.towns_in(idx)
    return ALL


def slots_at(idx: Selection, rows: NDArray[np.intp]) -> NDArray[np.intp]:
    """The slots at positions `rows` of `idx`."""
    return rows if isinstance(idx, slice) else idx[rows]


def town_totals(world: World, idx: Selection, values: ArrayLike) -> ArrayLike:
    """Sum per town of one value per firm of `idx` (the towns of `towns_of`).

    Over slices of town blocks this is a segment sum (`np.add.reduceat`), much
    cheaper than a bincount by town.
    """
    if isinstance(idx, slice):
        towns = towns_of(world, idx)
        start = world.blocks.start
        first = start[towns][: len(start) - 1] if idx == ALL else start[towns]
        values = np.asarray(values, dtype=float)
        return np.add.reduceat(values, first - first[0]) if values.size else values
    town = world.firms.town[idx]
    return np.bincount(town, weights=values, minlength=world.n_towns)


def per_firm(world: World, idx: Selection, per_town: NDArray) -> NDArray:
    """Each firm of `idx`'s entry of a per-town array.

    `per_town` holds every town's value, or (for a slice of town blocks) only
    the values of the slice's towns, as `town_totals` returns them. Over slices
    the town blocks make this a repeat, cheaper than a gather.
    """
    if isinstance(idx, slice):
        towns = towns_of(world, idx)
        if len(per_town) == world.n_towns:  # every town's value, not only idx's
            per_town = per_town[towns]
        return np.repeat(per_town, world.blocks.width[towns])
    return per_town[world.firms.town[idx]]


def slots_of_places(
    world: World, places: NDArray[np.int64], per_slot: int = 1
) -> tuple[NDArray[np.intp], NDArray[np.int64]]:
    """The slots that places name, and each place's entry in its slot.

    A place names an entry (0 to `per_slot` - 1, say a column of the partner
    table) of a slot by the slot's town and rank in the town's block at full
    width (`Blocks.place_start`), which widening the blocks does not change:
    draws keyed by place stay with their slot. Places beyond today's block
    width are dropped.
    """
    b = world.blocks
    if per_slot == 1:
        spot, entry = places, np.zeros(places.size, dtype=np.int64)
    else:
        spot, entry = np.divmod(places, per_slot)
    town = np.searchsorted(b.place_start, spot, side="right") - 1
    rank = spot - b.place_start[town]
    inside = rank < b.width[town]
    slots = (b.start[town[inside]] + rank[inside]).astype(np.intp)
    return slots, entry[inside]


def place_count(world: World, per_slot: int = 1) -> int:
    """Places of the firm table at full width, times `per_slot`."""
    return world.blocks.places * per_slot


def in_selection(idx: Selection, slots: NDArray[np.intp]) -> NDArray[np.bool_]:
    """Which of `slots` belong to the selection `idx`."""
    if isinstance(idx, slice):
        start = idx.start or 0
        stop = slots.max(initial=0) + 1 if idx.stop is None else idx.stop
        return (slots >= start) & (slots < stop)
    return np.isin(slots, idx)


def rows_in(idx: Selection, slots: NDArray[np.intp]) -> NDArray[np.intp]:
    """Positions among the slots of `idx` of those `slots` that `idx` holds."""
    if isinstance(idx, slice):
        return slots[in_selection(idx, slots)] - (idx.start or 0)
    return np.flatnonzero(np.isin(idx, slots))


def town_sum(world: World, values: ArrayLike) -> NDArray[np.float64]:
    """Sum of a firm column over each town's live firms."""
    live = np.where(world.firms.alive, np.asarray(values, dtype=float), 0.0)
    return np.add.reduceat(live, world.blocks.start[:-1])


def town_mean(world: World, values: ArrayLike) -> NDArray[np.float64]:
    """Mean of a firm column over each town's live firms (0 for an empty town)."""
    return town_sum(world, values) / np.maximum(world.towns.firms, 1)


class Column:
    """An agent attribute that is one cell of a column in the model's state table.

    Args:
        table: Name of the model attribute holding the state table.
        name: Column name in that table; defaults to the attribute's own name.
    """

    def __init__(self, table: str, name: str | None = None) -> None:
        self.table = table
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, agent: Any, owner: type | None = None) -> Any:
        if agent is None:
            return self
        column = getattr(getattr(agent.model, self.table), self.name)
        return column[agent.slot].item() if column.ndim == 1 else column[agent.slot]

    def __set__(self, agent: Any, value: Any) -> None:
        getattr(getattr(agent.model, self.table), self.name)[agent.slot] = value


class ArrayView:
    """Mixin for agents that are views on a row `slot` of a state table."""

    slot: int

    @property
    def slots(self) -> np.ndarray:
        """This agent's row as a one-element index array, for the behaviours."""
        return np.array([self.slot])


def state_of(agent: Any, table: str) -> dict[str, Any]:
    """All columns of an agent's row, for inspection and display."""
    return {
        name: value.__get__(agent)
        for klass in reversed(type(agent).__mro__)
        for name, value in vars(klass).items()
        if isinstance(value, Column) and value.table == table
    }
