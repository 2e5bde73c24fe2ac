"""Scenario discovery: the ranges of the factors where runs of interest gather.

`townsim analyze FOLDER --discover "gdp@2035 < 5000"` marks each finished run
whose outcome meets the condition and runs PRIM (the EMA Workbench's, an
optional extra) over the factors. PRIM peels the design space down to a box
dense in runs of interest, pastes back what it peeled too far, and repeats on
the runs left outside. Each box is reported with every factor it restricts, its
coverage (the share of all runs of interest inside it) and its density (the
share of its runs that are of interest).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.ema import factor_roles
from experiments.analysis.results import Results, outcome_columns, per_run
from experiments.sweeps.experiment_file import ExperimentError

OPERATORS = {
    "<": np.less,
    ">": np.greater,
    "<=": np.less_equal,
    ">=": np.greater_equal,
}
CONDITION = re.compile(
    r"^\s*(?P<outcome>[^<>=\s]+)\s*(?P<operator><=|>=|<|>)\s*(?P<value>\S+)\s*$"
)
FORM = (
    '"OUTCOME < X" (or >, <=, >=), OUTCOME a per-run outcome such as gdp@2035, '
    "X a number"
)
MAX_BOXES = 3
"""Boxes to look for: later boxes cover ever fewer runs of interest."""
FEW_VALUES = 12
"""A factor with at most this many values is shown by its values, not a range."""
EXTRA = "pip install 'townsim[ema]'"


@dataclass(frozen=True)
class Condition:
    """What makes a run of interest: an outcome compared with a threshold."""

    outcome: str
    operator: str
    threshold: float

    def __str__(self) -> str:
        return f"{self.outcome} {self.operator} {self.threshold:g}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        """Whether each value meets the condition."""
        return OPERATORS[self.operator](values, self.threshold)


@dataclass(frozen=True)
class Box:
    """One box PRIM chose: its statistics and the factors it restricts."""

    runs: int
    of_interest: int
    coverage: float
    density: float
    mass: float
    limits: pd.DataFrame
    """One row per restricted factor: its range or levels in the box and overall."""
    trajectory: pd.DataFrame
    """PRIM's peeling trajectory: each step's coverage, density, mass and runs."""


def parse_condition(text: str) -> Condition:
    """Read `OUTCOME < X` (or `>`, `<=`, `>=`).

    Raises:
        ExperimentError: If the text is not such a condition, naming it and the
            form allowed.
    """
    match = CONDITION.match(text)
    if match is None:
        raise ExperimentError(f"--discover {text!r}: not a condition; allowed: {FORM}")
    try:
        threshold = float(match["value"])
    except ValueError:
        threshold = math.nan
    if not math.isfinite(threshold):
        raise ExperimentError(
            f"--discover {text!r}: {match['value']!r} is not a finite number; "
            f"allowed: {FORM}"
        )
    return Condition(match["outcome"], match["operator"], threshold)


def discovery_section(
    results: Results, text: str | None, out: Path | None = None
) -> list[str]:
    """The report's scenario discovery section, or nothing without a condition.

    Writes `discovery.csv` (each box's restricted factors and statistics) and
    `discovery_trajectory.csv` (PRIM's peeling trajectories) to `out`.

    Raises:
        ExperimentError: If the condition is malformed, names no per-run outcome
            of the sweep, or the EMA Workbench is not installed.
    """
    if not text:
        return []
    condition = parse_condition(text)
    prim = _prim_module()
    values, factors = _runs(results, condition, text)
    known = ~np.isnan(values)
    interest = condition.holds(values[known])
    boxes = []
    if 0 < interest.sum() < interest.size:
        boxes = find_boxes(prim, factors[known].reset_index(drop=True), interest)
    if out is not None:
        _write(boxes, results, out)
    return _section(condition, interest, int((~known).sum()), boxes, results)


def _prim_module() -> Any:
    """The EMA Workbench's PRIM, or a one-line error saying how to install it."""
    with warnings.catch_warnings():
        # It warns on import when optional parallel back ends are missing.
        warnings.simplefilter("ignore")
        try:
            from ema_workbench.analysis import prim
        except ImportError:
            raise ExperimentError(
                "--discover: scenario discovery runs the EMA Workbench's PRIM, "
                f"which is not installed; install it with {EXTRA}"
            ) from None
    return prim


def _runs(
    results: Results, condition: Condition, text: str
) -> tuple[np.ndarray, pd.DataFrame]:
    """The outcome's value and the factors of every finished run."""
    if results.runs.empty:
        raise ExperimentError(f"--discover {text!r}: the sweep has no finished run")
    _, _, year = condition.outcome.partition("@")
    table = per_run(results, years=[int(year)] if year.isdigit() else [])
    if condition.outcome not in outcome_columns(table, results):
        raise ExperimentError(
            f"--discover {text!r}: {condition.outcome!r} is not a per-run outcome "
            f"of this sweep; allowed: {_allowed(results)}"
        )
    factors = table[results.factors].copy()
    for name in factors.columns:
        if not pd.api.types.is_numeric_dtype(factors[name]):
            factors[name] = factors[name].astype("category")
    return table[condition.outcome].to_numpy(float), factors


def _allowed(results: Results) -> str:
    """The per-run outcomes of a sweep, for an error message."""
    province = results.runs[results.runs["town"].isna()]
    yearly = province["year"].notna()
    scalar = sorted(province.loc[~yearly, "outcome"].unique())
    named = sorted(province.loc[yearly, "outcome"].unique())
    years = sorted(int(y) for y in province.loc[yearly, "year"].unique())
    parts = [", ".join(scalar)] if scalar else []
    if named:
        parts.append(
            f"NAME@YEAR with NAME one of {', '.join(named)} and YEAR one of "
            f"{', '.join(map(str, years))}"
        )
    return "; or ".join(parts)


def find_boxes(prim: Any, factors: pd.DataFrame, interest: np.ndarray) -> list[Box]:
    """Boxes PRIM finds one after another, each on the runs the others left.

    PRIM runs with the EMA Workbench's defaults (peeling and pasting 5% at a
    time, boxes of at least 5% of the runs), and each box is the one PRIM
    chooses: the last of its peeling trajectory, after pasting. The search
    stops at `MAX_BOXES`, or at a box that restricts no factor or is no denser
    in runs of interest than the whole design.
    """
    with warnings.catch_warnings():
        # Its pandas calls warn of pandas' future changes: nothing to act on here.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return _boxes(prim.Prim(factors, interest), factors, float(interest.mean()))


def _boxes(algorithm: Any, factors: pd.DataFrame, base_rate: float) -> list[Box]:
    boxes: list[Box] = []
    while len(boxes) < MAX_BOXES:
        found = algorithm.find_box()
        if found is None:
            break
        box = _box(found, algorithm.box_init, factors)
        if box.limits.empty or box.density <= base_rate:
            break
        boxes.append(box)
    return boxes


def _box(found: Any, initial: pd.DataFrame, factors: pd.DataFrame) -> Box:
    """PRIM's chosen box (the last on its trajectory) as plain tables."""
    trajectory = found.peeling_trajectory
    chosen = trajectory.iloc[-1]
    return Box(
        runs=int(chosen["n"]),
        of_interest=int(chosen["k"]),
        coverage=float(chosen["coverage"]),
        density=float(chosen["density"]),
        mass=float(chosen["mass"]),
        limits=_limits(found.box_lims[-1], initial, found.p_values[-1], factors),
        trajectory=trajectory[
            ["id", "n", "k", "coverage", "density", "mass", "res_dim"]
        ].reset_index(drop=True),
    )


def _limits(
    box: pd.DataFrame,
    initial: pd.DataFrame,
    quasi_p: dict[str, list[float]],
    factors: pd.DataFrame,
) -> pd.DataFrame:
    """One row per factor the box restricts, in the design's factor order."""
    rows = []
    for name in factors.columns:
        if name not in box.columns:
            continue
        low, high = box[name].iloc[0], box[name].iloc[1]
        full_low, full_high = initial[name].iloc[0], initial[name].iloc[1]
        if isinstance(low, set):
            if low == full_low:
                continue
            inside, values = sorted(low, key=str), sorted(full_low, key=str)
            low = high = full_low = full_high = math.nan
        else:
            if low <= full_low and high >= full_high:
                continue
            values = list(np.unique(factors[name].to_numpy()))
            inside = [v for v in values if low <= v <= high]
        row = {
            "factor": name,
            "low": float(low),
            "high": float(high),
            "levels": _listed(inside) if len(values) <= FEW_VALUES else "",
            "all_levels": _listed(values) if len(values) <= FEW_VALUES else "",
            "all_runs_low": float(full_low),
            "all_runs_high": float(full_high),
        }
        sides = quasi_p.get(name, [-1.0, -1.0])
        row["quasi_p_low"], row["quasi_p_high"] = (_p(side) for side in sides)
        rows.append(row)
    return pd.DataFrame(rows)


def _listed(values: list[Any]) -> str:
    return ", ".join(f"{v:g}" if isinstance(v, int | float) else str(v) for v in values)


def _p(value: float) -> float:
    """A quasi-p value, NaN for a side of the range PRIM left alone (-1)."""
    return float(value) if value >= 0 else math.nan


CSV_COLUMNS = (
    "box",
    "factor",
    "role",
    "low",
    "high",
    "levels",
    "all_levels",
    "all_runs_low",
    "all_runs_high",
    "quasi_p_low",
    "quasi_p_high",
    "runs",
    "runs_of_interest",
    "coverage",
    "density",
    "mass",
)
TRAJECTORY_COLUMNS = ("box", "id", "n", "k", "coverage", "density", "mass", "res_dim")


def _write(boxes: list[Box], results: Results, out: Path) -> None:
    """Each box's restricted factors, and PRIM's trajectories, as CSV files."""
    roles = factor_roles(results)
    limits, steps = [pd.DataFrame()], [pd.DataFrame()]
    for number, box in enumerate(boxes, start=1):
        limits.append(
            box.limits.assign(
                box=number,
                role=box.limits["factor"].map(roles),
                runs=box.runs,
                runs_of_interest=box.of_interest,
                coverage=box.coverage,
                density=box.density,
                mass=box.mass,
            )
        )
        steps.append(box.trajectory.assign(box=number))
    table = pd.concat(limits, ignore_index=True).reindex(columns=list(CSV_COLUMNS))
    table.to_csv(out / "discovery.csv", index=False)
    trajectory = pd.concat(steps, ignore_index=True)
    trajectory.reindex(columns=list(TRAJECTORY_COLUMNS)).to_csv(
        out / "discovery_trajectory.csv", index=False
    )


def _section(
    condition: Condition,
    interest: np.ndarray,
    missing: int,
    boxes: list[Box],
    results: Results,
) -> list[str]:
    count, total = int(interest.sum()), int(interest.size)
    lines = [
        f"## Scenario discovery: {condition}",
        "",
        f"{count} of {total} finished runs ({count / max(total, 1):.0%}) have "
        f"`{condition}`"
        + (f" ({missing} more have no value and are left out)" if missing else "")
        + ". PRIM (the EMA Workbench's) looked for ranges of the factors where "
        "these runs gather. Each box is the one PRIM chooses, the last of its "
        "peeling trajectory; coverage is the share of all runs of interest inside "
        "the box, density the share of the box's runs that are of interest. A "
        "restriction's quasi-p is the chance of a density this high without it "
        "(PRIM's binomial test): a large one may be noise.",
        "",
    ]
    if count in (0, total):
        which = "No run" if count == 0 else "Every run"
        return [*lines, f"{which} has `{condition}`: there is nothing to discover.", ""]
    if not boxes:
        return [
            *lines,
            "PRIM found no box that restricts a factor and holds more runs of "
            "interest than the design as a whole: they are spread over it.",
            "",
        ]
    roles = factor_roles(results)
    for number, box in enumerate(boxes, start=1):
        lines += _box_lines(number, box, roles)
    lines += [
        "Each box's restricted factors: `discovery.csv`; PRIM's peeling "
        "trajectories, to choose a box with more coverage and less density: "
        "`discovery_trajectory.csv`.",
        "",
    ]
    return lines


def _box_lines(number: int, box: Box, roles: dict[str, str]) -> list[str]:
    lines = [
        f"### Box {number}: {box.runs} runs, {box.of_interest} of interest; "
        f"coverage {box.coverage:.0%}, density {box.density:.0%}",
        "",
        "| factor | role | in the box | over all runs | quasi-p |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in box.limits.itertuples():
        if row.levels:
            inside, whole = row.levels, row.all_levels
        else:
            inside = _range(row.low, row.high, row.all_runs_low, row.all_runs_high)
            whole = f"{row.all_runs_low:.4g} to {row.all_runs_high:.4g}"
        chance = np.nanmin([row.quasi_p_low, row.quasi_p_high, np.inf])
        lines.append(
            f"| {row.factor} | {roles[row.factor]} | {inside} | {whole} | "
            f"{chance:.2g} |"
        )
    lines.append("")
    return lines


def _range(low: float, high: float, full_low: float, full_high: float) -> str:
    """A box's range of a factor, naming only the sides it restricts."""
    if low <= full_low:
        return f"up to {high:.4g}"
    if high >= full_high:
        return f"from {low:.4g}"
    return f"{low:.4g} to {high:.4g}"
