"""Statistical patterns the model must show, over many seeds of small scenarios.

Multi-seed tests are marked `slow` (they still run by default). Each claim is a
statement about a mean over seeds (independent replications) tested at Z = 3
standard errors: "X > 0" passes when mean(X) - 3 SE > 0; "X is not lower"
fails when mean(X) < -3 SE - slack. With 20 seeds, a true claim fails with
probability about 0.4% per one-sided bound (Student t, 19 degrees of freedom).
The seeds are fixed, so each test is deterministic for a given model version.

Comparisons of two scenarios use common random numbers: the same seed gives the
same initial province, and the per-seed differences (paired) carry the noise.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import OptimizeWarning, curve_fit
from support import (
    SMALL,
    TINY,
    Estimate,
    at_year,
    estimate,
    mean_level,
    more_money_on,
    run,
    share_at_least,
    yearly,
)

from scenarios import LEVERS, load_scenario

Z = 3.0
SEEDS = tuple(range(20))
SCHEDULE_SEEDS = tuple(range(24))

Frames = tuple[pd.DataFrame, pd.DataFrame]
_CACHE: dict[str, list[Frames]] = {}


def batch(seeds: tuple[int, ...] = SEEDS, **params: Any) -> list[Frames]:
    """(model_frame, town_frame) of one run per seed; cached across tests."""
    key = repr((seeds, sorted(params.items())))
    if key not in _CACHE:
        models = [run(seed, **params) for seed in seeds]
        _CACHE[key] = [(m.model_frame(), m.town_frame()) for m in models]
    return _CACHE[key]


def above(e: Estimate, what: str, bound: float = 0.0) -> None:
    """Assert the mean is significantly above `bound`."""
    assert e.mean - Z * e.se > bound, f"{what}: {e} not above {bound} by {Z} SE"


def not_below(e: Estimate, what: str, slack: float) -> None:
    """Assert the mean is not below zero beyond noise (Z SE) and a small slack."""
    assert e.mean >= -Z * e.se - slack, f"{what}: {e} is below 0 beyond noise"


# --- adoption curves -------------------------------------------------------------

ADOPTION = {
    # the shipped calibration: 40% of firms already at level >= 2 in 2016
    "calibrated": {**SMALL, "end_year": 2045},
    # every firm starts traditional, so all three curves start from zero
    "from_scratch": {**SMALL, "end_year": 2055, "initial_levels": [1, 0, 0, 0]},
}


def curves(name: str) -> list[np.ndarray]:
    """Per seed: yearly share of firms at level >= L, columns L = 1..4."""
    return [share_at_least(yearly(mf)) for mf, _ in batch(**ADOPTION[name])]


def crossing(y: np.ndarray, target: float) -> float:
    """First (linearly interpolated) time, in years from the start, y reaches target."""
    i = int(np.argmax(y >= target))
    if y[i] < target:
        return np.nan
    if i == 0:
        return 0.0
    return i - 1 + (target - y[i - 1]) / (y[i] - y[i - 1])


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ADOPTION))
def test_levels_take_off_in_order(name):
    """Level 2 reaches half its final share before level 3, level 3 before 4."""
    takeoff = []
    for c in curves(name):
        final = c[-1, 1:]
        assert np.all(final > 0.2), f"too little adoption to time it: {final}"
        takeoff.append([crossing(c[:, k], 0.5 * c[-1, k]) for k in (1, 2, 3)])
    t = np.array(takeoff)
    assert not np.isnan(t).any()
    above(estimate(t[:, 1] - t[:, 0]), "years from level-2 to level-3 take-off")
    above(estimate(t[:, 2] - t[:, 1]), "years from level-3 to level-4 take-off")


def _logistic(t: np.ndarray, low: float, high: float, r: float, t0: float) -> Any:
    return low + (high - low) / (1.0 + np.exp(-r * (t - t0)))


def aic_logistic_minus_linear(y: np.ndarray) -> float:
    """AIC(logistic, 4 parameters) - AIC(straight line, 2 parameters)."""
    t = np.arange(y.size, dtype=float)
    n = y.size
    line = np.polyval(np.polyfit(t, y, 1), t)
    sse_line = max(float(((y - line) ** 2).sum()), 1e-12)
    start = (y[0], y[-1], 0.5, crossing(y, 0.5 * (y[0] + y[-1])))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", OptimizeWarning)
        params, _ = curve_fit(
            _logistic,
            t,
            y,
            p0=start,
            bounds=([-0.5, 0.0, 1e-3, -30.0], [1.0, 1.5, 10.0, n + 30.0]),
            maxfev=20_000,
        )
    sse_logistic = max(float(((y - _logistic(t, *params)) ** 2).sum()), 1e-12)
    return n * np.log(sse_logistic / n) + 8 - (n * np.log(sse_line / n) + 4)


def rate_ratios(y: np.ndarray) -> tuple[float, float]:
    """Log ratios of the middle adoption rate to the early and to the late rate.

    With R the rise over the window and t_q the time the curve has made q of it,
    the early rate is 0.2 R / t_20, the middle 0.6 R / (t_80 - t_20) and the late
    0.2 R / (end - t_80). A straight line gives both log ratios 0; an S-curve
    (increments that rise, then fall) gives both > 0; a curve that only
    accelerates (or only saturates) has one of them < 0.
    """
    rise = y[-1] - y[0]
    t20, t80 = (crossing(y, y[0] + q * rise) for q in (0.2, 0.8))
    end = y.size - 1.0
    middle = 0.6 / max(t80 - t20, 1e-9)
    early = 0.2 / max(t20, 1e-9)
    late = 0.2 / max(end - t80, 1e-9)
    return float(np.log(middle / early)), float(np.log(middle / late))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("calibrated", 3),
        ("calibrated", 4),
        ("from_scratch", 2),
        ("from_scratch", 3),
        ("from_scratch", 4),
    ],
)
def test_adoption_curves_are_s_shaped(name, level):
    """Increments rise then fall, and a logistic fits better than a line.

    Level 2 of the calibrated scenario is left out on purpose: 40% of firms are
    at level >= 2 at the start, so its take-off lies before 2016 and only the
    saturating upper half is simulated; `from_scratch` shows its whole S.
    """
    ys = [c[:, level - 1] for c in curves(name)]
    ratios = np.array([rate_ratios(y) for y in ys])
    above(estimate(ratios[:, 0]), f"level {level}: log(middle rate / early rate)")
    above(estimate(ratios[:, 1]), f"level {level}: log(middle rate / late rate)")
    aic = estimate(aic_logistic_minus_linear(y) for y in ys)
    assert aic.mean + Z * aic.se < 0, f"logistic no better than a line: {aic}"


def test_rate_ratios_tell_an_s_from_a_line_and_from_an_exponential():
    """The S-shape statistic itself can fail: check it on known curves."""
    t = np.arange(30.0)
    s_curve = 1 / (1 + np.exp(-0.5 * (t - 15)))
    a, b = rate_ratios(s_curve)
    assert a > 0.5 and b > 0.5
    a, b = rate_ratios(t / 29)
    assert abs(a) < 0.05 and abs(b) < 0.05
    a, b = rate_ratios(np.expm1(0.15 * t))  # accelerating only
    assert b < 0
    a, b = rate_ratios(1 - np.exp(-0.2 * t))  # saturating only
    assert a < 0
    assert aic_logistic_minus_linear(s_curve) < -10
    noise = np.random.default_rng(0).normal(0, 0.01, t.size)
    assert aic_logistic_minus_linear(t / 29 + noise) > -2


# --- policy ----------------------------------------------------------------------

POLICY = {**SMALL, "end_year": 2030}


def level_in_2030(**params: Any) -> np.ndarray:
    """Per seed: mean digital level of live firms in 2030."""
    frames = batch(**POLICY, **params)
    return np.array([mean_level(at_year(mf, 2030).to_frame().T)[0] for mf, _ in frames])


SLACK_LEVEL = 0.005
"""Slack of the 'not slower' tests, in levels (1/200 of a level)."""


@pytest.mark.slow
def test_more_funding_does_not_slow_upgrading():
    base = level_in_2030()
    more = level_in_2030(**more_money_on("funding", 4.0, **POLICY))
    not_below(
        estimate(more - base), "mean level in 2030, 4x funding - base", SLACK_LEVEL
    )


EARLY = {**POLICY, "towns": 12, "end_year": 2022}
"""Subsidies act on the initiative term, which matters most early: a larger
province over 2017-2022 gives the comparison the power it needs."""


EARLY_SEEDS = tuple(range(40))
"""The funding effect is about 0.015 levels: 40 seeds give it about 4 SE."""


def average_level(**params: Any) -> np.ndarray:
    """Per seed: mean digital level of live firms, averaged over the year-ends."""
    frames = batch(EARLY_SEEDS, **EARLY, **params)
    years = range(2017, EARLY["end_year"] + 1)
    return np.array(
        [
            np.mean([mean_level(at_year(mf, y).to_frame().T)[0] for y in years])
            for mf, _ in frames
        ]
    )


@pytest.mark.slow
def test_funding_speeds_upgrading():
    """Subsidies raise the adoption hazard: no funding lever is slower."""
    base = average_level()
    none = average_level(**more_money_on("funding", 0.0, **POLICY))
    above(estimate(base - none), "mean level 2017-2022, base - no funding")


@pytest.mark.slow
@pytest.mark.parametrize(
    "more_talent",
    [
        pytest.param(more_money_on("talent", 5.0, **POLICY), id="talent-lever-x5"),
        pytest.param({"talent_inflow": 0.008}, id="talent-inflow-x2"),
        pytest.param({"graduates": 120.0}, id="graduates-x3"),
    ],
)
def test_more_talent_does_not_slow_upgrading(more_talent):
    base = level_in_2030()
    more = level_in_2030(**more_talent)
    not_below(
        estimate(more - base), "mean level in 2030, more talent - base", SLACK_LEVEL
    )


@pytest.mark.slow
def test_without_policy_most_towns_are_at_dimension_1_or_2_in_2020():
    frames = batch(**SMALL, end_year=2020, budget_share=0.0, province_budget=0.0)
    low = []
    for mf, tf in frames:
        in_2020 = tf[tf["year"] == 2020]
        assert len(in_2020) == SMALL["towns"]
        low.append(float((in_2020["dimension"] <= 2).mean()))
        assert mf["year"].iloc[-1] == 2020
    above(estimate(low), "share of towns at dimension 1-2 in 2020", bound=0.5)


@pytest.mark.slow
def test_ip_protection_trade_off():
    """Stronger protection: firms share more with partners, less leaks out."""
    weak = batch(**SMALL, end_year=2026, legal_protection=0.1)
    strong = batch(**SMALL, end_year=2026, legal_protection=0.9)

    def total(frames: list[Frames], column: str) -> np.ndarray:
        return np.array([tf[column].sum() for _, tf in frames])

    above(estimate(total(strong, "shared") - total(weak, "shared")), "shared flow")
    above(estimate(total(weak, "leaked") - total(strong, "leaked")), "leaked flow")


# --- the two schedules ---------------------------------------------------------------

Statistic = Callable[[pd.DataFrame, pd.DataFrame], float]


def final_town_mean(column: str) -> Statistic:
    """Mean over towns of a town-table column in the last recorded year."""
    return lambda _, tf: float(tf.loc[tf["year"] == tf["year"].max(), column].mean())


SCHEDULE_STATISTICS: dict[str, tuple[Statistic, float]] = {
    # name: (statistic of the model and town frames, absolute slack)
    "mean level": (lambda mf, _: float(mean_level(mf.tail(1))[0]), 0.02),
    "share at level >= 2": (
        lambda mf, _: float(share_at_least(mf.tail(1))[0, 1]),
        0.02,
    ),
    "firms alive": (lambda mf, _: float(mf["firms"].iloc[-1]), 1.0),
    "share of firms with a tie": (final_town_mean("index_enterprises"), 0.02),
    "share of firms with a chain tie": (final_town_mean("index_chain"), 0.02),
}


@pytest.mark.slow
@pytest.mark.parametrize("statistic", list(SCHEDULE_STATISTICS))
def test_schedules_agree_in_distribution(statistic):
    """`vectorized` and `agents` differ only in update order, not in outcome.

    Tolerance: |mean difference| <= 3 SE + slack, where the difference is taken
    per seed (the same seed gives both schedules the same initial province, so
    the pairs are independent replications of the difference) and SE is its
    standard error over 24 seeds. The slack (0.02 levels, 0.02 of the firms,
    one firm) allows for a systematic effect of sequential versus synchronous
    updating that is too small to matter; anything larger is a discrepancy
    between the two implementations.
    """
    compute, slack = SCHEDULE_STATISTICS[statistic]
    values = {
        schedule: np.array(
            [
                compute(mf, tf)
                for mf, tf in batch(SCHEDULE_SEEDS, **TINY, schedule=schedule)
            ]
        )
        for schedule in ("vectorized", "agents")
    }
    diff = estimate(values["agents"] - values["vectorized"])
    assert abs(diff.mean) <= Z * diff.se + slack, (
        f"{statistic}: agents - vectorized = {diff} "
        f"(vectorized {estimate(values['vectorized'])}, "
        f"agents {estimate(values['agents'])})"
    )


@pytest.mark.parametrize(("lever", "factor"), [("funding", 4.0), ("talent", 0.0)])
def test_more_money_on_keeps_the_other_levers_money(lever, factor):
    base = load_scenario(None, POLICY).government
    changed = load_scenario(
        None, {**POLICY, **more_money_on(lever, factor, **POLICY)}
    ).government

    def money(gov: Any, name: str) -> float:
        return gov.weights()[name] * gov.budget_share

    for name in LEVERS:
        expected = money(base, name) * (factor if name == lever else 1.0)
        assert money(changed, name) == pytest.approx(expected)
