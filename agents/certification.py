"""Certification: towns join the province's list of professional towns.

The province certifies towns at a steady pace (`certification.rate` towns a
year per town of the start); each year end the candidate towns with the largest
output join until the pace is met, and from then on get the towns' policy
(their government's budget and levers). Candidates are simulated from the
start, so a town joins with the firms, ties and history it already has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from scenarios.schema import Scenario

if TYPE_CHECKING:
    from agents.world import World


def certified_by(s: Scenario, year: int) -> int:
    """Towns certified since the start by the end of `year`, at the scenario's pace.

    The pace is `province.towns x certification.rate` towns a year, rounded
    half up on the running total, and stops when no candidate is left.
    """
    elapsed = max(year - s.run.start_year, 0)
    due = int(np.floor(s.province.towns * s.certification.rate * elapsed + 0.5))
    return min(due, s.candidate_towns)


def certify(world: World) -> NDArray[np.intp]:
    """At a year end, certify the largest candidate towns the pace calls for.

    Returns:
        The towns certified now, largest output first.
    """
    towns, s = world.towns, world.settings
    year = round(world.year)
    joined = int((towns.certified & (towns.certified_year > s.run.start_year)).sum())
    wanted = certified_by(s, year) - joined
    candidates = np.flatnonzero(~towns.certified)
    if wanted <= 0 or candidates.size == 0:
        return np.empty(0, dtype=np.intp)
    largest = candidates[np.argsort(-towns.gdp[candidates], kind="stable")]
    chosen = largest[:wanted]
    towns.certified_year[chosen] = year
    return chosen
