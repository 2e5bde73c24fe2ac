"""Platforms: public service platforms, innovation centres and e-commerce platforms.

A town's government builds them in that order. A platform's capital sets how many
member places it has; members search for partners more often, learn from the
platform's pool and meet firms of towns whose platform of the same kind is linked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent
from numpy.typing import ArrayLike, NDArray

from agents.base import (
    ArrayView,
    Column,
    place_count,
    slots_of_places,
    state_of,
)
from agents.sampling import first_per_group
from agents.streams import Purpose
from scenarios.schema import PLATFORM_KINDS

if TYPE_CHECKING:
    from agents.world import World


def member_places(
    capital: ArrayLike, built: ArrayLike, member_cost: float
) -> ArrayLike:
    """Member places a platform can serve: its capital over the cost of a place."""
    return np.floor(np.asarray(capital) / member_cost) * np.asarray(built)


def members_per_town(world: World, bit: np.uint8) -> NDArray[np.int64]:
    """Each town's members of the platform kind of `bit` (the dead hold no bits)."""
    held = world.firms.member & bit
    return np.add.reduceat(held, world.blocks.start[:-1], dtype=np.int64) // bit


def admit_members(world: World, idx: NDArray[np.intp]) -> None:
    """Let firms join platforms with room, and drop members where capital shrank.

    A firm of a town whose platform has room joins with its yearly chance
    (`platform.join_rate`), chosen by place like other rare events; where
    more want to join than there are places, and where shrunken capital
    leaves too many members, the order is drawn per firm and kind.
    """
    f, p, r, streams = world.firms, world.platforms, world.rates, world.streams
    kinds, n = len(PLATFORM_KINDS), world.n_towns
    places = member_places(p.capital, p.built, r.member_cost).astype(np.int64)
    acting = np.zeros((n, kinds), dtype=bool)
    acting[idx // kinds, idx % kinds] = True
    for kind in np.flatnonzero(acting.any(axis=0)).tolist():
        bit = np.uint8(1 << kind)
        seats = places[np.arange(n) * kinds + kind]
        count = members_per_town(world, bit)
        room = np.where(acting[:, kind], seats - count, 0)
        if (room < 0).any():  # capital shrank: random members leave
            crowded = np.flatnonzero(((f.member & bit) > 0) & (room < 0)[f.town])
            order = streams.uniform(Purpose.LEAVE_ORDER, f.id[crowded], kind)
            stay = first_per_group(f.town[crowded], seats, order)
            f.member[crowded[~stay]] &= ~bit
        chosen = streams.chosen(Purpose.JOIN, r.join, place_count(world), kind)
        keen = slots_of_places(world, chosen)[0]
        open_ = acting[:, kind] & (room > 0)
        outside = (f.member[keen] & bit) == 0
        keen = keen[f.alive[keen] & open_[f.town[keen]] & outside]
        order = streams.uniform(Purpose.JOIN_ORDER, f.id[keen], kind)
        joining = first_per_group(f.town[keen], np.maximum(room, 0), order)
        f.member[keen[joining]] |= bit


class Platform(ArrayView, FixedAgent):
    """A platform of one kind in one town: a view on one row of the platform table.

    Args:
        model: The model that owns the platform table.
        slot: Its row: town * 3 + kind.
    """

    capital = Column("platforms")
    built = Column("platforms")
    linked = Column("platforms")

    def __init__(self, model: World, slot: int) -> None:
        super().__init__(model)
        self.slot = slot
        self.town = slot // len(PLATFORM_KINDS)
        self.kind = PLATFORM_KINDS[slot % len(PLATFORM_KINDS)]
        self.cell = model.grid[self.town]

    def step(self) -> None:
        """Admit new members while there are places."""
        admit_members(self.model, self.slots)

    @property
    def members(self) -> int:
        """Firms that are members now."""
        f = self.model.firms
        bit = 1 << (self.slot % len(PLATFORM_KINDS))
        return int((f.alive & (f.town == self.town) & ((f.member & bit) > 0)).sum())

    @property
    def state(self) -> dict[str, object]:
        """Every state variable of the platform, by name."""
        return state_of(self, "platforms") | {
            "town": self.town,
            "kind": self.kind,
            "members": self.members,
        }
