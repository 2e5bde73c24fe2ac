"""The Compare tab: two settings over the same seeds, as BehaviorSpace would run.

Each run goes through the sweeps' own worker (`experiments.sweeps.worker.execute`
with a `Task` and `RunSpec`), seeded by the sweeps' `run_seed` with common random
numbers: replication r of both settings shares one seed, so their difference is
paired and luck largely cancels. The outcomes are the sweeps' catalogue.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import solara
from scipy import stats

from experiments.guangdong.over_seeds import paired
from experiments.sweeps.experiment_file import TOWNSIM
from experiments.sweeps.outcomes import BY_NAME
from experiments.sweeps.plan import RunSpec, run_seed
from experiments.sweeps.worker import Task, execute
from scenarios import load_scenario
from viz.controls import (
    SCENARIOS,
    check_controls,
    overrides_of,
    pick_scenario,
)
from viz.svg import Chart
from viz.widgets import ChartView, drawing

OUTCOMES = (
    "mean_firm_level",
    "share_dim3plus",
    "coordination",
    "platform_coverage",
    "gdp_growth",
    "first_year_dim3",
)
"""Outcomes a class can compare: yearly ones at the run's last year, or whole-run."""
LEVEL = 0.95
A_COLOUR, B_COLOUR = "#1e88e5", "#e53935"


def outcome_label(name: str) -> str:
    """An outcome as the tab names it: its meaning and unit."""
    outcome = BY_NAME[name]
    when = " at the end" if outcome.kind == "yearly" else ""
    return f"{outcome.meaning}{when} ({outcome.unit})"


def run_outcome(controls: dict[str, Any], seed: int, outcome: str) -> float:
    """One run's outcome, run by the sweeps' worker exactly as a sweep runs it."""
    scenario = load_scenario(controls["scenario_name"], overrides_of(controls))
    end = scenario.run.end_year
    kind = BY_NAME[outcome].kind
    task = Task(
        model=TOWNSIM,
        base=scenario.model_dump(mode="json"),
        outcomes=(outcome,),
        years=(end,) if kind == "yearly" else None,
        factors=(),
    )
    record = execute(task, RunSpec(f"compare-{seed}", 0, 0, seed, {}))
    rows = pq.read_table(io.BytesIO(record.payload)).to_pandas()
    if not record.ok:
        raise RuntimeError(rows["error"].iloc[0])
    return float(rows["value"].mean())


@dataclass(frozen=True)
class Comparison:
    """Both settings' outcome, seed by seed."""

    outcome: str
    seeds: tuple[int, ...]
    a: np.ndarray
    b: np.ndarray

    def difference(self) -> tuple[float, float, float]:
        """Mean paired difference B - A and its interval (t, 95%)."""
        mean, se = paired(self.b, self.a)
        if not np.isfinite(se):
            return mean, float("nan"), float("nan")
        half = float(stats.t.ppf(0.5 + LEVEL / 2, self.a.size - 1)) * se
        return mean, mean - half, mean + half

    def meaning(self) -> str:
        """One sentence on what the paired difference says."""
        mean, low, high = self.difference()
        what = BY_NAME[self.outcome].meaning
        n = self.a.size
        if not np.isfinite(low):
            return "Run at least two seeds to see how sure the difference is."
        if low > 0 or high < 0:
            way = "higher" if mean > 0 else "lower"
            return (
                f"Over these {n} seeds, B's {what} is {way} than A's by "
                f"{abs(mean):.3g} on average, and the {LEVEL:.0%} interval "
                f"({low:.3g} to {high:.3g}) excludes 0: the settings, not luck, "
                "make this difference."
            )
        return (
            f"The {LEVEL:.0%} interval of the difference ({low:.3g} to {high:.3g}) "
            f"includes 0: over {n} seeds the two settings cannot be told apart by "
            f"{what}; more seeds may, or the difference is too small to matter."
        )


def compare(
    a: dict[str, Any],
    b: dict[str, Any],
    replications: int,
    outcome: str,
    done: Callable[[int], None] = lambda _: None,
    stopped: Callable[[], bool] = lambda: False,
) -> Comparison | None:
    """Run both settings over the same seeds; None if stopped before the end.

    Seeds come from the sweeps' `run_seed` with common seeding, rooted at
    setting A's seed, so replication r of A and of B share one seed.
    """
    seeds = tuple(run_seed(a["seed"], 0, r, "common") for r in range(replications))
    values: dict[str, list[float]] = {"a": [], "b": []}
    for count, seed in enumerate(seeds):
        for key, controls in (("a", a), ("b", b)):
            if stopped():
                return None
            values[key].append(run_outcome(controls, seed, outcome))
        done(count + 1)
    return Comparison(outcome, seeds, np.array(values["a"]), np.array(values["b"]))


def comparison_chart(result: Comparison) -> dict[str, Any]:
    """Each seed's outcome under A and B, joined by a line; the means marked."""
    values = np.r_[result.a, result.b]
    low, high = float(values.min()), float(values.max())
    pad = (high - low) * 0.15 or abs(high) * 0.1 or 1.0
    chart = Chart(outcome_label(result.outcome), (-0.5, 1.5), (low - pad, high + pad))
    chart.axes(x_ticks=[0, 1], y_labels=None, x_format="{:.0f}")
    chart.texts = [t for t in chart.texts if t[2] not in ("0", "1")]
    for x, name in ((0, "A"), (1, "B")):
        chart.text(float(chart.px(x)), chart.height - 8, f"setting {name}", size=12)
    for a, b in zip(result.a, result.b, strict=True):
        chart.line([0, 1], [a, b], "#bdbdbd", width=1)
    chart.dots(np.zeros(result.a.size), result.a, A_COLOUR, radius=4)
    chart.dots(np.ones(result.b.size), result.b, B_COLOUR, radius=4)
    for x, series, colour in ((0, result.a, A_COLOUR), (1, result.b, B_COLOUR)):
        chart.line([x - 0.2, x + 0.2], [series.mean()] * 2, colour, width=3)
    chart.legend = [
        ["A, one dot per seed", A_COLOUR],
        ["B, one dot per seed", B_COLOUR],
        ["means (bars); grey lines join a seed's two runs", "#bdbdbd"],
    ]
    return chart.spec()


def difference_chart(result: Comparison) -> dict[str, Any]:
    """The paired differences B - A, their mean and its interval, against 0."""
    diffs = result.b - result.a
    mean, low, high = result.difference()
    ends = [x for x in (*diffs, low, high, 0.0) if np.isfinite(x)]
    pad = (max(ends) - min(ends)) * 0.15 or 1.0
    chart = Chart(
        "Paired difference B - A, seed by seed",
        (min(ends) - pad, max(ends) + pad),
        (0, 2),
        height=150,
    )
    chart.axes(y_ticks=[])
    chart.vline(0.0, label="no difference")
    chart.dots(diffs, np.full(diffs.size, 1.3), "#757575", radius=3.5)
    if np.isfinite(low):
        chart.line([low, high], [0.7, 0.7], "#212121", width=3)
    chart.dots([mean], [0.7], "#212121", radius=5)
    chart.legend = [
        ["one seed's difference", "#757575"],
        [f"mean with its {LEVEL:.0%} interval", "#212121"],
    ]
    return chart.spec()


@solara.component
def CompareTab(controls: dict[str, Any]) -> None:
    """Two settings over the same seeds, run in the background.

    Setting A is the sidebar's; B takes another scenario's policy and budget on
    the same towns.
    """
    other = solara.use_reactive("platform")
    budget = solara.use_reactive(0.01)
    replications = solara.use_reactive(5)
    outcome = solara.use_reactive(OUTCOMES[0])
    request = solara.use_reactive(0)
    done = solara.use_reactive(0)
    result = solara.use_reactive(None)
    stop = solara.use_ref(False)
    b_controls = {**pick_scenario(controls, other.value), "budget_share": budget.value}
    b_controls |= {k: controls[k] for k in ("towns", "firms_per_town", "seed")}

    def work() -> None:
        if request.value == 0:
            return
        stop.current = False
        done.set(0)
        result.set(None)
        found = compare(
            controls,
            b_controls,
            replications.value,
            outcome.value,
            done.set,
            lambda: stop.current,
        )
        result.set(found)

    task = solara.lab.use_task(work, dependencies=[request.value], prefer_threaded=True)
    running = task.pending and request.value > 0
    problem = check_controls(controls) or check_controls(b_controls)

    solara.Text(
        f"A: the sidebar's settings ({controls['scenario_name']}, budget "
        f"{controls['budget_share']:g}, {controls['towns']} towns x "
        f"{controls['firms_per_town']} firms). B: the same towns with another "
        "scenario's policy and budget. Each seed runs once under A and once under "
        "B, from the same random draws, to the end of the run.",
        classes=["townsim-note"],
    )
    with solara.Div(classes=["townsim-grid"]):
        with solara.Column():
            solara.Select("B: scenario", values=list(SCENARIOS), value=other)
            solara.SliderFloat(
                f"B: budget, share of town GDP: {budget.value:g}",
                value=budget,
                min=0.0,
                max=0.03,
                step=0.001,
            )
        with solara.Column():
            solara.SliderInt(
                f"Seeds: {replications.value}", value=replications, min=2, max=20
            )
            solara.Select(
                "Outcome",
                values=list(OUTCOMES),
                value=outcome,
            )
            solara.Text(outcome_label(outcome.value), classes=["townsim-note"])
    if problem:
        solara.Error(problem, dense=True)
    with solara.Row():
        solara.Button(
            "Run the comparison",
            color="primary",
            disabled=running or problem is not None,
            on_click=lambda: request.set(request.value + 1),
        )
        solara.Button(
            "Cancel",
            disabled=not running,
            on_click=lambda: setattr(stop, "current", True),
        )
    if running:
        total = replications.value
        solara.ProgressLinear(100 * done.value / total)
        solara.Text(
            f"{done.value} of {total} seeds done (two runs each)",
            classes=["townsim-note", "townsim-progress"],
        )
    found = result.value
    if found is None:
        if request.value and not running:
            solara.Info("Cancelled: no result.", dense=True)
        return
    with solara.Div(classes=["townsim-grid"]):
        ChartView(**drawing(comparison_chart(found)))
        ChartView(**drawing(difference_chart(found)))
    solara.Info(found.meaning(), classes=["townsim-meaning"])
