"""Town aggregates and the yearly measurement (model/indices.py) on the hand world.

`observe` runs every step and `measure_systems` at year ends (ODD 7.13-7.16);
both take any `agents.world.World`. Expected values are worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import HandWorld

from agents.ties import CROSS_INDUSTRY, CROSS_TOWN, HORIZONTAL, VERTICAL
from model.indices import measure_systems, observe


def observed_world(linked: bool = True) -> HandWorld:
    w = HandWorld(linked=linked)
    f, towns = w.firms, w.towns
    f.output[[0, 1, 2, 4, 5]] = [10.0, 20.0, 5.0, 30.0, 8.0]
    f.output[3], f.knowledge[3] = 99.0, 0.9  # stale values in a free slot
    f.member[[1, 2, 5]] = [1, 1 | 2, 1]
    towns.platform_built[:] = [[True, True, False], [True, False, True]]
    for name in ("firms", "gdp", "share_at_least", "mean_knowledge"):
        getattr(towns, name)[:] = 0
    return w


def test_town_aggregates_count_the_live_firms_only():
    w = observed_world()
    observe(w)
    towns = w.towns
    assert towns.firms.tolist() == [3, 2]
    assert towns.gdp.tolist() == [35.0, 38.0]
    assert towns.share_at_least.tolist() == pytest.approx(
        np.array([[1, 1, 2 / 3, 1 / 3, 0, 0], [1, 1, 0.5, 0.5, 0.5, 0]])
    )
    assert towns.mean_knowledge.tolist() == pytest.approx([0.4, 0.55], rel=1e-12)
    assert towns.member_share.tolist() == pytest.approx([2 / 3, 0.5], rel=1e-12)


def test_platforms_link_to_the_same_kind_next_door_and_pool_their_members():
    w = observed_world()
    observe(w)
    towns = w.towns
    # the public service platform is built in both towns; e-commerce only in 1
    assert towns.platform_linked.tolist() == [[True, False, False]] * 2
    assert towns.linked.tolist() == [True, True]
    # members' mean knowledge (0.4, 0.6 | 0.8); town 0's innovation centre
    # closes half the gap to the region's best university (0.7)
    assert towns.platform_knowledge.tolist() == pytest.approx(
        [0.5 + 0.5 * (0.7 - 0.5), 0.8], rel=1e-12
    )


def test_platforms_of_an_isolated_town_are_not_linked():
    w = observed_world(linked=False)
    observe(w)
    assert not w.towns.platform_linked.any() and not w.towns.linked.any()


def test_the_yearly_measurement_sets_coordination_and_dimension():
    w = observed_world()
    w.tie(0, 1, VERTICAL)
    w.tie(1, 2, CROSS_INDUSTRY)
    w.tie(4, 5, HORIZONTAL)
    w.tie(0, 4, CROSS_TOWN)
    f, towns = w.firms, w.towns
    f.funds[2] = 1.0
    f.university[2] = 0
    towns.subsidy_offer[:] = [0.25, 0.0]
    observe(w)
    measure_systems(w)
    assert towns.external.tolist() == pytest.approx([1 / 3, 0.5], rel=1e-12)
    # the indices of test_systems, with members 2/3 and 1/2 and the links above
    town0 = [
        np.cbrt(1.6 / 3 * 0.4 * 2 / 3),
        1.0,
        2 / 3,
        2 / 3,
        0.6 * 2 / 3 + 0.2 * 2 / 3 + 0.2 / 3,
        0.4 + 0.3 * 0.6 + 0.3 / 3,
    ]
    assert towns.indices[0].tolist() == pytest.approx(town0, rel=1e-12)
    assert towns.indices[1, 2] == 0.0  # no vertical tie in town 1
    # equal weights: D is the square root of the indices' geometric mean
    d0 = np.prod(town0) ** (1 / 12)
    assert towns.coordination.tolist() == pytest.approx([d0, 0.0], rel=1e-12)
    # town 0: 2/3 of its firms at level >= 2 (half needed) and D = 0.82 above
    # 0.3; a third at level >= 3 is not enough. Town 1: D = 0
    assert d0 > 0.3
    assert towns.dimension.tolist() == [2, 1]
