"""The six system indices (agents/systems.py) of the hand-built world.

Each index is worked out by hand from the table of ODD 7.14 and compared by
the system's name, in the ODD's order: a system measured by another's rule, or
two systems trading places, fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import HandWorld

from agents import systems
from agents.ties import CROSS_INDUSTRY, CROSS_TOWN, HORIZONTAL, VERTICAL

ODD_ORDER = (
    "management",
    "enterprises",
    "chain",
    "industry",
    "platforms",
    "government_university",
)


def measured_world() -> HandWorld:
    w = HandWorld()
    w.tie(0, 1, VERTICAL)
    w.tie(1, 2, CROSS_INDUSTRY)
    w.tie(4, 5, HORIZONTAL)
    w.tie(0, 4, CROSS_TOWN)
    f, towns = w.firms, w.towns
    f.funds[2] = 1.0
    f.university[2] = 0
    towns.subsidy_offer[:] = [0.25, 0.0]
    towns.member_share[:] = [1 / 3, 0.5]
    towns.platform_built[:] = [[True, True, False], [True, False, False]]
    towns.platform_linked[:] = [[True, False, False], [True, False, False]]
    return w


EXPECTED = {
    # talent, technology and funds: the cube root of (mean of talent over 0.1)
    # x (mean knowledge) x (share that can pay its next step after the offer:
    # firm 2 has 1.0 of 0.08 * 20 * 0.75 = 1.2)
    "management": [np.cbrt(1.6 / 3 * 0.4 * 2 / 3), np.cbrt(0.65 * 0.55 * 1.0)],
    "enterprises": [1.0, 1.0],  # every firm has a tie
    "chain": [2 / 3, 0.0],  # vertical: firms 0 and 1
    "industry": [2 / 3, 1.0],  # horizontal or cross-industry: 1, 2; 4, 5
    # 0.6 x members + 0.2 x kinds built / 3 + 0.2 x kinds linked / 3
    "platforms": [0.6 / 3 + 0.2 * 2 / 3 + 0.2 / 3, 0.6 * 0.5 + 0.2 / 3 + 0.2 / 3],
    # 0.4 x min(1, share in projects / 0.1) + 0.3 x min(1, 0.003 / 0.005)
    # + 0.3 x share at level 3 or more
    "government_university": [0.4 + 0.3 * 0.6 + 0.3 / 3, 0.3 * 0.6 + 0.3 * 0.5],
}


def test_tie_kinds_held_are_one_bit_each():
    w = measured_world()
    held = systems.kinds_held(w.firms.tie_kind)
    assert held.tolist() == [1 | 8, 1 | 4, 4, 0, 2 | 8, 2, 0, 0]


def test_the_systems_are_listed_in_the_odds_order():
    assert tuple(s.name for s in systems.SYSTEMS) == ODD_ORDER
    assert [s.column for s in systems.SYSTEMS] == [f"index_{n}" for n in ODD_ORDER]


@pytest.mark.parametrize("column", range(6), ids=ODD_ORDER)
def test_each_index_measures_its_system(column):
    w = measured_world()
    indices = systems.measure(w, systems.kinds_held(w.firms.tie_kind))
    assert indices.shape == (2, 6)
    expected = EXPECTED[ODD_ORDER[column]]
    assert indices[:, column].tolist() == pytest.approx(expected, rel=1e-12)


def test_platform_weights_are_the_odds():
    """U5 weighs members 0.6, kinds built 0.2, kinds linked 0.2 (ODD 7.14, 8.15)."""
    w = measured_world()
    towns = w.towns
    towns.platform_built[:] = False
    towns.platform_linked[:] = False
    towns.member_share[:] = [1.0, 0.0]
    assert systems.platforms(w, np.zeros(8, np.uint8)).tolist() == [0.6, 0.0]
    towns.member_share[:] = 0.0
    towns.platform_built[0] = True
    towns.platform_linked[1, 0] = True
    assert systems.platforms(w, np.zeros(8, np.uint8)).tolist() == pytest.approx(
        [0.2, 0.2 / 3], rel=1e-12
    )
