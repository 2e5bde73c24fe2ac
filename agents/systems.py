"""The six collaborative systems of a town: one table, from which all else derives.

Wang (2018) names six systems whose collaboration makes a town's innovation:
management elements, enterprises, industrial chain, industry, platforms, and
government-industry-university-research-user. Each row of `SYSTEMS` gives a
system's name, its label, the policy lever that most directly raises it (what
an adaptive government reaches for, ODD 7.2) and how it is measured from the
firm and town tables (an index in [0, 1], ODD 7.14). The indices, the
government's system-to-lever map, the town table's columns and the app's
labels all come from this table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from agents.base import town_mean
from agents.ties import CROSS_INDUSTRY, CROSS_TOWN, HORIZONTAL, VERTICAL
from scenarios.schema import LEVERS

if TYPE_CHECKING:
    from agents.world import World

F64 = NDArray[np.float64]

PLATFORM_WEIGHTS = (0.6, 0.2, 0.2)
"""Weights of the platforms index: members' share, kinds built, kinds linked."""
COLLABORATION_WEIGHTS = (0.4, 0.3, 0.3)
"""Weights of the government-university index: projects, spending, level 3+."""
PROJECTS_FULL = 0.1
"""Share of firms in university projects at which that term is full."""
SPENDING_FULL = 0.005
"""Government spending as a share of output at which that term is full."""


def kinds_held(tie_kind: NDArray[np.int8]) -> NDArray[np.uint8]:
    """Bit mask per firm of the tie kinds it holds (bit k: kind k)."""
    held = np.zeros(tie_kind.shape[0], dtype=np.uint8)
    for column in tie_kind.T:
        held |= np.where(column >= 0, np.left_shift(1, column.clip(0)), 0).astype(
            np.uint8
        )
    return held


def share_with_ties(world: World, held: NDArray[np.uint8], *kinds: int) -> F64:
    """Share of each town's firms holding a tie of any of `kinds`."""
    bits = sum(1 << kind for kind in kinds)
    return town_mean(world, (held & bits) > 0)


def spending_intensity(world: World) -> F64:
    """Government budget as a share of each town's output this year.

    Only certified towns get the towns' budget (`agents.certification`).
    """
    gdp = np.maximum(world.towns.gdp, 1e-9)
    policy = world.policy
    return (policy.budget_share + policy.province_budget / gdp) * world.towns.certified


def management(world: World, held: NDArray[np.uint8]) -> F64:
    """Talent, technology and funds flowing together: their geometric mean."""
    f, towns, r = world.firms, world.towns, world.rates
    next_cost = r.upgrade_cost[f.level - 1] * f.size
    offer = towns.subsidy_offer[f.town]
    affordable = town_mean(world, f.funds >= next_cost * (1 - offer))
    talent = town_mean(world, np.minimum(1.0, f.talent / r.talent_reference))
    return np.cbrt(talent * towns.mean_knowledge * affordable)


def enterprises(world: World, held: NDArray[np.uint8]) -> F64:
    """Cooperation among the town's firms: share with any tie."""
    kinds = (VERTICAL, HORIZONTAL, CROSS_INDUSTRY, CROSS_TOWN)
    return share_with_ties(world, held, *kinds)


def chain(world: World, held: NDArray[np.uint8]) -> F64:
    """Upstream-downstream docking: share with a vertical tie."""
    return share_with_ties(world, held, VERTICAL)


def industry(world: World, held: NDArray[np.uint8]) -> F64:
    """Firms of the industry with each other and related industries."""
    return share_with_ties(world, held, HORIZONTAL, CROSS_INDUSTRY)


def platforms(world: World, held: NDArray[np.uint8]) -> F64:
    """Platforms inside and outside the town: members, kinds built, kinds linked."""
    towns = world.towns
    members, built, linked = PLATFORM_WEIGHTS
    return (
        members * towns.member_share
        + built * towns.platform_built.mean(axis=1)
        + linked * towns.platform_linked.mean(axis=1)
    )


def government_university(world: World, held: NDArray[np.uint8]) -> F64:
    """Government, universities and research with firms: projects, money, reach."""
    projects, spending, reach = COLLABORATION_WEIGHTS
    in_projects = town_mean(world, world.firms.university >= 0)
    return (
        projects * np.minimum(1.0, in_projects / PROJECTS_FULL)
        + spending * np.minimum(1.0, spending_intensity(world) / SPENDING_FULL)
        + reach * world.towns.share_at_least[:, 3]
    )


@dataclass(frozen=True)
class System:
    """One collaborative system: its name, label, lever and measure."""

    name: str
    label: str
    lever: str
    measure: Callable[[World, NDArray[np.uint8]], F64]

    @property
    def column(self) -> str:
        """Its index's column in the town table."""
        return f"index_{self.name}"


SYSTEMS = (
    System("management", "management elements", "talent", management),
    System("enterprises", "enterprises", "ip", enterprises),
    System("chain", "industrial chain", "funding", chain),
    System("industry", "industry", "ip", industry),
    System("platforms", "platforms", "platform", platforms),
    System(
        "government_university",
        "gov-univ-research-user",
        "talent",
        government_university,
    ),
)
SYSTEM_LEVER = np.array([LEVERS.index(system.lever) for system in SYSTEMS])
"""Index in `LEVERS` of the lever that most directly raises each system."""


def measure(world: World, held: NDArray[np.uint8]) -> F64:
    """The six indices of every town, one column per system of `SYSTEMS`.

    `held` is `kinds_held` of the firm table's tie kinds.
    """
    return np.column_stack([system.measure(world, held) for system in SYSTEMS])
