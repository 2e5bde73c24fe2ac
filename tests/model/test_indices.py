"""The collaborative innovation index and the dimension ladder (model/indices.py)."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model.indices import coupling_coordination, ladder

unit = st.floats(0.0, 1.0, allow_nan=False)
six = arrays(np.float64, 6, elements=unit)


def _reference(u: np.ndarray) -> float:
    """C = n (prod U)^(1/n) / sum U, T = mean U, D = sqrt(C T), written out."""
    n = len(u)
    if u.sum() == 0:
        return 0.0
    c = n * np.prod(u) ** (1 / n) / u.sum()
    return float(np.sqrt(c * u.mean()))


@pytest.mark.parametrize(
    "u",
    [
        [0.5] * 6,
        [0.2, 0.4, 0.6, 0.8, 1.0, 0.3],
        [0.9, 0.1, 0.1, 0.1, 0.1, 0.1],
        [1.0] * 6,
    ],
)
def test_coupling_coordination_matches_the_formula(u):
    assert coupling_coordination(u) == pytest.approx(_reference(np.array(u)))


def test_equal_systems_give_the_square_root_of_their_level():
    for level in (0.04, 0.25, 0.81):
        assert coupling_coordination([level] * 6) == pytest.approx(np.sqrt(level))


def test_any_system_at_zero_gives_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert coupling_coordination([0.0, 0.9, 0.9, 0.9, 0.9, 0.9]) == 0.0
        assert coupling_coordination([0.0] * 6) == 0.0


@given(u=six)
def test_coordination_in_unit_interval_and_at_most_sqrt_mean(u):
    d = float(coupling_coordination(u))
    assert 0.0 <= d <= 1.0
    # C <= 1 (AM-GM), so D <= sqrt(T): uneven systems are penalised
    assert d <= np.sqrt(u.mean()) + 1e-12
    assert d == pytest.approx(_reference(u), abs=1e-9)


@given(u=six, seed=st.integers(0, 1000))
def test_coordination_does_not_depend_on_the_order_of_systems(u, seed):
    shuffled = np.random.default_rng(seed).permutation(u)
    assert coupling_coordination(shuffled) == pytest.approx(coupling_coordination(u))


def test_coordination_of_many_towns_at_once():
    towns = np.array([[0.5] * 6, [0.0] * 6, [0.2, 0.4, 0.6, 0.8, 1.0, 0.3]])
    d = coupling_coordination(towns)
    assert d.shape == (3,)
    np.testing.assert_allclose(d, [_reference(row) for row in towns])


def test_weights_change_only_the_mean_level():
    u = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 0.3])
    w = np.array([3, 1, 1, 1, 1, 1], dtype=float)
    c = 6 * np.prod(u) ** (1 / 6) / u.sum()
    t = float(u @ w / w.sum())
    assert coupling_coordination(u, w) == pytest.approx(np.sqrt(c * t))
    assert coupling_coordination(u, np.ones(6)) == pytest.approx(
        coupling_coordination(u)
    )


# --- the ladder --------------------------------------------------------------

NEEDED = [0.3, 0.45, 0.6]


def _dimension(shares: list[float], d: float, external: float = 0.5) -> int:
    """Dimension of one town; `shares` are the shares at level >= 2, 3, 4."""
    row = np.array([[1.0, 1.0, *shares, 0.0]])
    return int(ladder(row, np.array([d]), np.array([external]), 0.5, NEEDED, 0.1)[0])


@pytest.mark.parametrize(
    ("shares", "d", "external", "dimension"),
    [
        ([0.4, 0.0, 0.0], 0.9, 0.5, 1),  # not enough firms at level 2
        ([0.6, 0.0, 0.0], 0.2, 0.5, 1),  # firms, but coordination too low
        ([0.6, 0.0, 0.0], 0.3, 0.5, 2),
        ([0.9, 0.6, 0.0], 0.4, 0.5, 2),  # level 3 needs D >= 0.45
        ([0.9, 0.6, 0.0], 0.5, 0.5, 3),
        ([0.9, 0.8, 0.7], 0.7, 0.5, 4),
        ([0.9, 0.8, 0.7], 0.7, 0.05, 3),  # Internet+ needs external synergy
        ([0.9, 0.8, 0.7], 0.55, 0.5, 3),
    ],
)
def test_ladder_examples(shares, d, external, dimension):
    assert _dimension(shares, d, external) == dimension


def test_ladder_is_climbed_in_order():
    # half the firms at level 4 cannot lift a town whose level-2 rung fails:
    # shares at >= L cannot really fall below shares at >= L+1, but the rule
    # itself must not skip a rung either
    row = np.array([[1.0, 1.0, 0.4, 0.6, 0.6, 0.0]])
    assert int(ladder(row, np.array([0.9]), np.array([0.5]), 0.5, NEEDED, 0.1)[0]) == 1


@given(
    shares=st.lists(unit, min_size=3, max_size=3).map(lambda s: sorted(s)[::-1]),
    d=unit,
    external=unit,
    firm_share=unit,
)
def test_ladder_is_monotone_in_its_inputs(shares, d, external, firm_share):
    row = np.array([[1.0, 1.0, *shares, 0.0]])

    def dim(row: np.ndarray, d: float, external: float) -> int:
        args = (np.array([d]), np.array([external]), firm_share, NEEDED, 0.1)
        return int(ladder(row, *args)[0])

    base = dim(row, d, external)
    assert 1 <= base <= 4
    assert dim(row, min(1.0, d + 0.1), external) >= base
    assert dim(row, d, min(1.0, external + 0.1)) >= base
    assert dim(np.minimum(1.0, row + 0.1), d, external) >= base
    # a town is at dimension L only if it meets every rung up to L
    if base >= 2:
        assert shares[base - 2] >= firm_share
        assert d >= NEEDED[base - 2]
    if base == 4:
        assert external >= 0.1


def test_ladder_for_many_towns():
    shares = np.array(
        [
            [1, 1, s2, s3, s4, 0]
            for s2, s3, s4 in itertools.product([0.2, 0.9], [0.7], [0.6])
        ]
    )
    result = ladder(shares, np.full(2, 0.9), np.full(2, 0.5), 0.5, NEEDED, 0.1)
    np.testing.assert_array_equal(result, [1, 4])
