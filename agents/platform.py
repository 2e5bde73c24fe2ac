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

from agents.base import ArrayView, Column, state_of
from agents.university import first_per_group
from scenarios.schema import PLATFORM_KINDS

if TYPE_CHECKING:
    from model.model import TownModel


def member_places(
    capital: ArrayLike, built: ArrayLike, member_cost: float
) -> ArrayLike:
    """Member places a platform can serve: its capital over the cost of a place."""
    return np.floor(np.asarray(capital) / member_cost) * np.asarray(built)


def admit_members(model: TownModel, idx: NDArray[np.intp]) -> None:
    """Let firms join platforms with room, and drop members where capital shrank."""
    f, p, r, rng = model.firms, model.platforms, model.rates, model.rng
    for kind in range(len(PLATFORM_KINDS)):
        mine = idx[idx % len(PLATFORM_KINDS) == kind]
        if mine.size == 0:
            continue
        bit = np.uint8(1 << kind)
        town_of = np.full(model.n_towns, -1)
        town_of[mine // len(PLATFORM_KINDS)] = mine
        platform = town_of[f.town]
        has_bit = (f.member & bit) > 0
        members = f.alive & has_bit & (platform >= 0)
        count = np.bincount(platform[members], minlength=p.capital.size)
        places = member_places(p.capital, p.built, r.member_cost).astype(np.int64)
        over = np.maximum(count - places, 0)
        leaving = first_per_group(platform[members], over, rng)
        f.member[np.flatnonzero(members)[leaving]] &= ~bit

        candidates = np.flatnonzero(
            f.alive & ~has_bit & (platform >= 0) & (rng.random(f.alive.size) < r.join)
        )
        room = np.maximum(places - count, 0)
        joining = first_per_group(platform[candidates], room, rng)
        f.member[candidates[joining]] |= bit


class Platform(ArrayView, FixedAgent):
    """A platform of one kind in one town: a view on one row of the platform table.

    Args:
        model: The model that owns the platform table.
        slot: Its row: town * 3 + kind.
    """

    capital = Column("platforms")
    built = Column("platforms")
    linked = Column("platforms")

    def __init__(self, model: TownModel, slot: int) -> None:
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
