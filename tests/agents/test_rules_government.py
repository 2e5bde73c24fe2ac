"""Rules of governments, platforms and universities.

agents/government.py: lever_weights (static and adaptive budget split) and
ip_protection; agents/platform.py: member_places; agents/university.py:
first_per_group (the capped random pick used for projects, members, entrants).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agents.government import (
    FUNDING,
    IP,
    PLATFORM,
    TALENT,
    ip_protection,
    lever_weights,
    subsidy_rate,
)
from agents.platform import member_places
from agents.sampling import first_per_group
from agents.systems import SYSTEM_LEVER, SYSTEMS
from scenarios.schema import LEVERS, GovernmentSettings

unit = st.floats(0.0, 1.0, allow_nan=False)
STATIC = np.array([0.2, 0.5, 0.1, 0.2])


def _indices(n: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, (n, 6), elements=unit)


# --- lever weights -----------------------------------------------------------


def test_lever_constants_match_the_schema():
    assert [LEVERS[i] for i in (TALENT, FUNDING, IP, PLATFORM)] == [
        "talent",
        "funding",
        "ip",
        "platform",
    ]
    assert len(SYSTEMS) == 6
    assert SYSTEM_LEVER.shape == (6,)
    assert set(SYSTEM_LEVER.tolist()) <= {TALENT, FUNDING, IP, PLATFORM}


@given(indices=_indices(5), tilt=unit)
def test_static_weights_ignore_the_systems(indices, tilt):
    weights = lever_weights(STATIC, indices, tilt, adaptive=False)
    assert weights.shape == (5, 4)
    np.testing.assert_allclose(weights, np.broadcast_to(STATIC, (5, 4)))
    weights[0, 0] = 99.0  # a copy, not a view on the scenario's weights
    assert STATIC[0] == 0.2


@given(indices=_indices(7), tilt=unit)
def test_adaptive_weights_tilt_toward_the_weakest_systems_lever(indices, tilt):
    weights = lever_weights(STATIC, indices, tilt, adaptive=True)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert np.all(weights >= -1e-12)
    focus = SYSTEM_LEVER[np.argmin(indices, axis=1)]
    rows = np.arange(len(indices))
    np.testing.assert_allclose(
        weights[rows, focus], (1 - tilt) * STATIC[focus] + tilt, atol=1e-12
    )
    others = np.ones_like(weights, dtype=bool)
    others[rows, focus] = False
    np.testing.assert_allclose(
        weights[others], ((1 - tilt) * np.broadcast_to(STATIC, weights.shape))[others]
    )


def test_adaptive_weights_examples():
    indices = np.array(
        [
            [0.1, 0.5, 0.5, 0.5, 0.5, 0.5],  # management weakest -> talent
            [0.5, 0.5, 0.5, 0.5, 0.0, 0.5],  # platforms weakest -> platform
        ]
    )
    full = lever_weights(STATIC, indices, 1.0, adaptive=True)
    np.testing.assert_allclose(full, [[1, 0, 0, 0], [0, 0, 0, 1]])
    none = lever_weights(STATIC, indices, 0.0, adaptive=True)
    np.testing.assert_allclose(none, np.broadcast_to(STATIC, (2, 4)))


def test_one_town_indices_as_a_vector():
    weights = lever_weights(STATIC, np.full(6, 0.5), 0.5, adaptive=True)
    assert weights.shape == (1, 4)
    assert weights.sum() == pytest.approx(1.0)


@given(talent=unit, funding=unit, ip=unit, platform=unit.filter(lambda x: x > 1e-6))
def test_scenario_weights_are_normalised(talent, funding, ip, platform):
    gov = GovernmentSettings(talent=talent, funding=funding, ip=ip, platform=platform)
    weights = gov.weights()
    assert list(weights) == list(LEVERS)
    assert sum(weights.values()) == pytest.approx(1.0)
    raw = np.array([talent, funding, ip, platform])
    np.testing.assert_allclose(list(weights.values()), raw / raw.sum())


# --- IP protection -----------------------------------------------------------


def test_ip_protection_examples():
    assert ip_protection(0.3, 0.0, 0.02) == pytest.approx(0.3)
    assert ip_protection(0.3, 0.02, 0.02) == pytest.approx(0.3 + 0.7 * (1 - np.e**-1))
    assert ip_protection(0.3, 1e6, 0.02) == pytest.approx(1.0)
    assert ip_protection(1.0, 0.5, 0.02) == pytest.approx(1.0)


@given(
    legal=unit,
    spending=arrays(np.float64, 8, elements=st.floats(0, 100)),
    scale=st.floats(1e-3, 1000),
)
def test_ip_protection_between_the_law_and_full_and_rising(legal, spending, scale):
    protection = ip_protection(legal, spending, scale)
    assert np.all(protection >= legal - 1e-12)
    assert np.all(protection <= 1.0 + 1e-12)
    assert np.all(ip_protection(legal, spending + 0.01, scale) >= protection - 1e-12)


# --- platforms ---------------------------------------------------------------


def test_member_places_examples():
    capital = np.array([0.0, 0.95, 1.0, 2.55, 3.0])
    built = np.array([True, True, True, True, False])
    np.testing.assert_array_equal(member_places(capital, built, 0.1), [0, 9, 10, 25, 0])


@given(
    capital=arrays(np.float64, 9, elements=st.floats(0, 1e3)),
    built=arrays(np.bool_, 9),
    cost=st.floats(1e-2, 100),
)
def test_member_places_whole_affordable_and_only_when_built(capital, built, cost):
    places = member_places(capital, built, cost)
    assert np.all(places == np.floor(places))
    assert np.all(places >= 0)
    assert np.all(places * cost <= capital + 1e-9)
    assert np.all(places[~built] == 0)


# --- first_per_group ---------------------------------------------------------


@given(
    groups=arrays(np.intp, st.integers(0, 60), elements=st.integers(0, 4)),
    room=arrays(np.int64, 5, elements=st.integers(0, 8)),
    seed=st.integers(0, 2**32 - 1),
)
def test_first_per_group_takes_as_many_as_there_is_room(groups, room, seed):
    picked = first_per_group(
        groups, room, np.random.default_rng(seed).random(groups.size)
    )
    assert picked.shape == groups.shape
    taken = np.bincount(groups[picked], minlength=5)
    wanting = np.bincount(groups, minlength=5)
    np.testing.assert_array_equal(taken, np.minimum(wanting, room))


def test_first_per_group_picks_at_random():
    groups = np.zeros(50, dtype=np.intp)
    room = np.array([5])
    picks = {
        tuple(
            np.flatnonzero(
                first_per_group(
                    groups, room, np.random.default_rng(s).random(groups.size)
                )
            )
        )
        for s in range(10)
    }
    assert len(picks) > 1, "the same members were picked under every seed"
    first = np.flatnonzero(
        first_per_group(groups, room, np.random.default_rng(0).random(groups.size))
    )
    again = np.flatnonzero(
        first_per_group(groups, room, np.random.default_rng(0).random(groups.size))
    )
    np.testing.assert_array_equal(first, again)


def test_subsidy_rate_spreads_funding_over_expected_outlay():
    rate = subsidy_rate(
        np.array([1.0, 4.0, 0.0, 2.0, 0.1, 0.0]),
        np.array([4.0, 4.0, 4.0, 0.0, 0.5, 0.0]),
        0.5,
    )
    assert rate.tolist() == [0.25, 0.5, 0.0, 0.5, 0.2, 0.0]


def test_subsidy_rate_ignores_a_vanishing_outlay():
    with np.errstate(all="raise"):
        rate = subsidy_rate(np.array([2.8]), np.array([1.3e-322]), 0.3)
    assert rate.tolist() == [0.3]
