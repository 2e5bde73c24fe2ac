"""The answer of a search: its Pareto front as a table, a chart and words.

Every figure here is computed again over the whole search, so regret compares a
candidate with the best candidate of the search in each scenario. Only candidates
whose runs all finished can be on the front.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.optimize import robustness
from experiments.optimize.problem import Problem
from experiments.optimize.search import Archive, SearchSummary
from experiments.optimize.search_file import Objective
from experiments.sweeps.outcomes import BY_NAME
from scenarios import LEVERS

ALGORITHMS = {"nsga2": "NSGA-II", "nsga3": "NSGA-III"}
FRONT_CSV, CANDIDATES_CSV, FRONT_PNG, REPORT_MD = (
    "front.csv",
    "candidates.csv",
    "front.png",
    "report.md",
)


def figures(problem: Problem, archive: Archive) -> pd.DataFrame:
    """One row per candidate: its levers, failures and figures per objective.

    For each objective: the robustness figure (column named after the objective),
    and the mean, worst and best value over the scenarios.
    """
    table = pd.DataFrame(archive.levers)
    table.insert(0, "candidate", archive.ids)
    table.insert(1, "generation", archive.generation)
    table["failed_runs"] = archive.failed
    for n, (name, objective) in enumerate(problem.search.objectives.items()):
        values = archive.matrix(n)
        table[name] = robustness.measure(values, objective)
        low, high = _extremes(values)
        worst, best = (low, high) if objective.direction == "max" else (high, low)
        table[f"{name}:mean"] = values.mean(axis=1)
        table[f"{name}:worst"] = worst
        table[f"{name}:best"] = best
    table["on_front"] = pareto_mask(minimised(problem, table))
    return table


def _extremes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the lowest and highest value over scenarios, NaN where all failed."""
    empty = np.isnan(values).all(axis=1)
    filled = np.where(empty[:, None], 0.0, values)
    low, high = np.nanmin(filled, axis=1), np.nanmax(filled, axis=1)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def minimised(problem: Problem, table: pd.DataFrame) -> np.ndarray:
    """The figures as minimised, NaN where a candidate has a failed run."""
    columns = [
        robustness.to_minimise(table[name].to_numpy(dtype=float), objective)
        for name, objective in problem.search.objectives.items()
    ]
    result = np.column_stack(columns)
    result[table["failed_runs"].to_numpy() > 0] = np.nan
    return result


def pareto_mask(minimise: np.ndarray) -> np.ndarray:
    """True for rows no other row dominates (rows with NaN are never on the front).

    A row dominates another when it is no worse on every column and better on one.
    """
    valid = ~np.isnan(minimise).any(axis=1)
    mask = valid.copy()
    for i in np.flatnonzero(valid):
        others = minimise[valid]
        dominated = (others <= minimise[i]).all(axis=1) & (others < minimise[i]).any(
            axis=1
        )
        mask[i] = not dominated.any()
    return mask


def compromise(minimise: np.ndarray) -> int:
    """The front's compromise: the point nearest the ideal point.

    Each objective is first scaled to [0, 1] over the front (0 its best, 1 its
    worst), so that no objective weighs more for its units.
    """
    low, high = minimise.min(axis=0), minimise.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    distance = np.sqrt((((minimise - low) / span) ** 2).sum(axis=1))
    return int(np.argmin(distance))


def label(objective: Objective, name: str) -> str:
    """An axis label: the measure, the outcome and its unit."""
    outcome = objective.name + (f" in {objective.year}" if objective.year else "")
    unit = BY_NAME[objective.name].unit if objective.name in BY_NAME else "model units"
    if objective.robustness == "satisficing":
        sign = ">=" if objective.direction == "max" else "<="
        return (
            f"{name}: share of scenarios with {outcome} {sign} {objective.threshold:g}"
        )
    if objective.robustness == "percentile":
        what = f"{objective.percentile:g}th percentile over scenarios of"
    else:
        what = {"mean": "mean over scenarios of", "regret": "largest regret in"}[
            objective.robustness
        ]
    return f"{name}: {what} {outcome} ({unit})"


def write_report(
    problem: Problem, archive: Archive, summary: SearchSummary, out: str | Path
) -> Path:
    """Write candidates.csv, front.csv, front.png and report.md; return the report."""
    out = Path(out)
    table = figures(problem, archive)
    table.to_csv(out / CANDIDATES_CSV, index=False)
    front = table[table["on_front"]].drop(columns="on_front").reset_index(drop=True)
    front.to_csv(out / FRONT_CSV, index=False)
    chart(problem, table, out / FRONT_PNG)
    path = out / REPORT_MD
    path.write_text(report_text(problem, table, summary))
    return path


def chart(problem: Problem, table: pd.DataFrame, path: Path) -> Path:
    """Each pair of objectives: every candidate in grey, the front in colour."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = list(problem.search.objectives.items())
    pairs = [(a, b) for i, a in enumerate(objectives) for b in objectives[i + 1 :]] or [
        (objectives[0], objectives[0])
    ]
    cols = min(len(pairs), 3)
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(5.5 * cols, 4.5 * rows), squeeze=False
    )
    front = table[table["on_front"]]
    for ax, ((xn, xo), (yn, yo)) in zip(axes.flat, pairs, strict=False):
        ax.scatter(table[xn], table[yn], s=12, color="0.75", label="evaluated")
        ax.scatter(front[xn], front[yn], s=30, color="tab:blue", label="Pareto front")
        if len(front):
            pick = front.iloc[compromise(minimised(problem, front))]
            ax.scatter(
                [pick[xn]],
                [pick[yn]],
                s=160,
                marker="*",
                color="tab:red",
                label="compromise",
            )
        ax.set_xlabel(label(xo, xn), fontsize=8)
        ax.set_ylabel(label(yo, yn), fontsize=8)
        ax.legend(fontsize=7, loc="best")
    for ax in list(axes.flat)[len(pairs) :]:
        ax.set_visible(False)
    fig.suptitle(f"{problem.search.name}: Pareto front of {len(table)} candidates")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def report_text(problem: Problem, table: pd.DataFrame, summary: SearchSummary) -> str:
    """The search and its front in words, then the front as a table."""
    search = problem.search
    first = next(iter(search.objectives))
    front = table[table["on_front"]].sort_values(first).reset_index(drop=True)
    runs = summary.runs
    lines = [
        f"# {search.name}: robust policy search",
        "",
        search.description or "",
        "",
        f"{ALGORITHMS[search.algorithm.kind]} over {len(problem.levers)} levers, "
        f"population {search.algorithm.population}, "
        f"{search.algorithm.generations} generations, seed {search.algorithm.seed}. "
        f"{len(table)} distinct candidates were evaluated, each over "
        f"{len(problem.scenarios)} scenarios x {len(problem.seeds)} seeds = "
        f"{problem.runs_per_candidate} runs: {len(table) * problem.runs_per_candidate}"
        f" runs ({runs.done} run now, {runs.skipped} found stored or "
        "shared with an earlier candidate, "
        f"{runs.failed + runs.earlier_failed} failed). "
        f"{int((table['failed_runs'] > 0).sum())} candidates had a failed run and "
        "cannot be on the front.",
        "",
        "## Objectives",
        "",
        *[f"- {label(o, name)}; {_better(o)}" for name, o in search.objectives.items()],
        "",
    ]
    lines += _front_words(problem, front)
    lines += ["", "## Scenarios", "", *_scenario_lines(problem)]
    return "\n".join(lines) + "\n"


def _better(objective: Objective) -> str:
    return (
        "higher is better"
        if robustness.higher_is_better(objective)
        else ("lower is better")
    )


def _front_words(problem: Problem, front: pd.DataFrame) -> list[str]:
    objectives = problem.search.objectives
    if front.empty:
        return ["## Pareto front", "", "No candidate finished all its runs: no front."]
    lines = [
        "## Pareto front",
        "",
        f"{len(front)} candidates are on the front: none does better on one "
        "objective without doing worse on another.",
        "",
    ]
    minimise = minimised(problem, front)
    for n, name in enumerate(objectives):
        best = np.flatnonzero(minimise[:, n] == minimise[:, n].min())
        row = front.iloc[int(best[0])]
        tied = f" (one of {len(best)} tied)" if len(best) > 1 else ""
        lines.append(
            f"- Best on {name}{tied}: candidate {row['candidate']} with "
            f"{_levers(problem, row)}: {_figures(problem, row)}."
        )
    pick = front.iloc[compromise(minimise)]
    lines += [
        f"- Compromise (nearest the ideal point, each objective scaled over the "
        f"front): candidate {pick['candidate']} with {_levers(problem, pick)}: "
        f"{_figures(problem, pick)}.",
        "",
        "### Robustness figures of the front",
        "",
        "Each objective's figure, then its mean, worst and best value over the "
        "scenarios (each scenario's value is the mean over the seeds).",
        "",
    ]
    lines += _front_table(problem, front)
    return lines


def _levers(problem: Problem, row: pd.Series) -> str:
    text = ", ".join(f"{v.name} = {_number(row[v.name])}" for v in problem.levers)
    shares = budget_shares({v.name: row[v.name] for v in problem.levers})
    if shares:
        parts = ", ".join(f"{name} {share:.0%}" for name, share in shares.items())
        text += f" (shares of the budget: {parts})"
    return text


WEIGHTS = tuple(f"government.{lever}" for lever in LEVERS)
"""The lever weights, which the model divides by their sum."""


def budget_shares(values: dict[str, float]) -> dict[str, float] | None:
    """The four lever weights as the shares of the budget the model makes of them.

    None unless the search varies all four (a fixed weight would need the base
    scenario's value) and they add up to more than zero.
    """
    if not all(key in values for key in WEIGHTS):
        return None
    total = sum(float(values[key]) for key in WEIGHTS)
    if total <= 0:
        return None
    return {key.split(".", 1)[1]: float(values[key]) / total for key in WEIGHTS}


def _figures(problem: Problem, row: pd.Series) -> str:
    return "; ".join(
        f"{name} {_number(row[name])}" for name in problem.search.objectives
    )


def _front_table(problem: Problem, front: pd.DataFrame) -> list[str]:
    names = list(problem.search.objectives)
    header = ["candidate", *[v.name for v in problem.levers]]
    for name in names:
        header += [name, f"{name} mean", f"{name} worst", f"{name} best"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in front.iterrows():
        cells = [row["candidate"], *[_number(row[v.name]) for v in problem.levers]]
        for name in names:
            cells += [
                _number(row[name]),
                *(_number(row[f"{name}:{part}"]) for part in ("mean", "worst", "best")),
            ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def _scenario_lines(problem: Problem) -> list[str]:
    if not problem.uncertainties:
        return ["One scenario: the base scenario, no uncertainties varied."]
    return [
        f"- scenario {n}: "
        + ", ".join(f"{k} = {_number(v)}" for k, v in scenario.items())
        for n, scenario in enumerate(problem.scenarios)
    ]


def _number(value: object) -> str:
    """Four significant digits, whole numbers with thousands separators."""
    if isinstance(value, float | np.floating):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value)
