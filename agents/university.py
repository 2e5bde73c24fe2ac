"""Universities and research institutes: graduates for the towns, joint projects.

A university serves the towns of its region. Each year it sends IT graduates into
their talent pools and runs a limited number of joint projects, through which a
firm learns from knowledge ahead of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent
from numpy.typing import NDArray

from agents.base import ArrayView, Column, place_count, slots_of_places, state_of
from agents.sampling import first_per_group, random_university
from agents.streams import Purpose
from scenarios.schema import REGIONS

if TYPE_CHECKING:
    from agents.world import World


def serve_region(world: World, idx: NDArray[np.intp]) -> None:
    """Send graduates to the towns in reach, close finished projects, open new ones."""
    f, towns, unis, r = world.firms, world.towns, world.universities, world.rates
    unis.knowledge[idx] += r.university_growth * (1.0 - unis.knowledge[idx])
    regions = len(REGIONS)
    graduates = r.graduates * np.bincount(unis.region[idx], minlength=regions)
    firms = np.bincount(towns.region, weights=towns.firms, minlength=regions)
    share = np.divide(
        towns.firms, firms[towns.region], out=np.zeros(towns.n), where=towns.firms > 0
    )
    towns.talent_pool += graduates[towns.region] * share  # by firms, in the region

    acting = np.zeros(unis.region.size + 1, dtype=bool)  # last entry: no project
    acting[idx] = True
    mine = acting[f.university]
    f.project_left[mine] -= 1.0 / r.steps_per_year
    f.university[mine & (f.project_left <= 1e-9)] = -1  # allow for rounding

    running = np.bincount(f.university[f.university >= 0], minlength=unis.region.size)
    room = np.maximum(unis.capacity - running, 0)
    served = np.zeros(regions, dtype=bool)
    served[unis.region[idx]] = True
    # Each firm applies with a small chance per step: draw who, then check them.
    places = world.streams.chosen(
        Purpose.PROJECT, r.project_appetite, place_count(world)
    )
    drawn = slots_of_places(world, places)[0]
    region = towns.region[f.town[drawn]]
    applying = (
        f.alive[drawn]
        & (f.university[drawn] < 0)
        & served[region]
        & (f.funds[drawn] > r.project_cost)
    )
    applicants = drawn[applying]
    ids = f.id[applicants]
    where = world.streams.uniform(Purpose.UNIVERSITY, ids)
    choice = random_university(world.directory, where, region[applying])
    to_me = acting[choice]
    applicants, choice, ids = applicants[to_me], choice[to_me], ids[to_me]
    order = world.streams.uniform(Purpose.PROJECT_ORDER, ids)
    accepted = first_per_group(choice, room, order)
    f.university[applicants[accepted]] = choice[accepted]
    f.project_left[applicants[accepted]] = r.project_years


class University(ArrayView, FixedAgent):
    """A university or research institute: a view on one row of the university table.

    Args:
        model: The model that owns the university table.
        slot: Its row in that table.
        town: The town whose cell it sits in (its region's hub).
    """

    region = Column("universities")
    knowledge = Column("universities")
    capacity = Column("universities")

    def __init__(self, model: World, slot: int, town: int) -> None:
        super().__init__(model)
        self.slot = slot
        self.cell = model.grid[town]

    def step(self) -> None:
        """Send graduates, close finished projects and take on new ones."""
        serve_region(self.model, self.slots)

    @property
    def projects(self) -> int:
        """Joint projects running now."""
        return int((self.model.firms.university == self.slot).sum())

    @property
    def state(self) -> dict[str, object]:
        """Every state variable of the university, by name."""
        return state_of(self, "universities") | {"projects": self.projects}
