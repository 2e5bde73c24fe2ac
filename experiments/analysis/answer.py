"""The answer a sweep gives to its question: paired verdicts, said in words.

Design points are compared as the runs were made. Under common random numbers
(`seeding = "common"`) replication r of every point shares one seed, so the runs
form a randomized block design: points by replications, fitted as
`value = point + replication + noise`. The residual variance of that fit is the
noise left in a paired difference, with (points - 1) x (replications - 1)
degrees of freedom, far more than the replications alone give. Under
independent seeds the within-point variance plays that part. Every interval
below is a t-interval on that one variance (Montgomery, *Design and Analysis of
Experiments*, ch. 4), and the best option's lead counts as clear only when it
survives a Bonferroni correction for having picked the best of all points.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from experiments.analysis.factorial import fmt
from experiments.analysis.results import (
    Results,
    noise_share,
    outcome_columns,
    replicate_matrix,
)

SPENDING = "M yuan (start-year prices)"
"""The unit of money spent: the model's money is real, at start-year prices."""
POWER = 0.8
"""The power at which the smallest detectable difference is stated."""

WORDS = {"more": "more is better", "less": "less is better", "neither": "no better way"}
BETTER_TO_DIRECTION = {"higher": "more", "lower": "less", "neither": "neither"}


@dataclass(frozen=True)
class Noise:
    """Replication noise of one outcome: the variance of one run about its point.

    Attributes:
        variance: Residual variance of one run (the point and, with common
            seeds, the replication removed).
        df: Its degrees of freedom.
        replications: Runs per design point.
        paired: True when the points share seeds (common random numbers).
        share: Share of the runs' total variance that this noise makes.
    """

    variance: float
    df: int
    replications: int
    paired: bool
    share: float

    def standard_error(self, n_a: float = 1, n_b: float = 1) -> float:
        """Standard error of the difference of two means over n_a and n_b points."""
        return float(np.sqrt(self.variance / self.replications * (1 / n_a + 1 / n_b)))

    def t(self, level: float, comparisons: int = 1) -> float:
        """The two-sided t quantile at `level`, Bonferroni-corrected."""
        tail = (1 - level) / (2 * max(comparisons, 1))
        return float(stats.t.ppf(1 - tail, max(self.df, 1)))

    def detectable(self, level: float) -> float:
        """The smallest difference between two points found with `POWER`."""
        power = float(stats.t.ppf(POWER, max(self.df, 1)))
        return (self.t(level) + power) * self.standard_error()


def replication_noise(matrix: np.ndarray, paired: bool) -> Noise | None:
    """The noise of a (points, replications) matrix; None without replication.

    Only points with every replication finished enter the fit, so that the
    blocks stay balanced.
    """
    complete = matrix[~np.isnan(matrix).any(axis=1)]
    points, reps = complete.shape
    if points < 2 or reps < 2:
        return None
    residual = complete - complete.mean(axis=1, keepdims=True)
    if paired:
        residual -= residual.mean(axis=0, keepdims=True)
        df = (points - 1) * (reps - 1)
    else:
        df = points * (reps - 1)
    variance = float(np.sum(residual**2) / df)
    return Noise(variance, df, reps, paired, noise_share(matrix))


@dataclass(frozen=True)
class Contrast:
    """A difference of means with its interval."""

    estimate: float
    low: float
    high: float

    @property
    def clear(self) -> bool:
        """True when the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def text(self, unit: str = "") -> str:
        """The difference and its interval, signed, in the outcome's unit."""
        scale, suffix = CHANGE_UNITS.get(unit, (1.0, f" {plain(unit)}" if unit else ""))
        estimate, low, high = (scale * x for x in (self.estimate, self.low, self.high))
        sign = "+" if estimate > 0 else ""
        return f"{sign}{fmt(estimate)} [{fmt(low)}, {fmt(high)}]{suffix}"


CHANGE_UNITS = {"share": (100.0, " percentage points"), "year": (1.0, " years")}
"""How a difference of a unit reads: shares in percentage points, years counted."""


def amount(value: float, unit: str) -> str:
    """A value in its unit: shares as percentages, years as dates."""
    if unit == "share":
        return f"{100 * value:.3g}%"
    if unit == "year":
        return f"{value:.1f}".removesuffix(".0")
    return fmt(value) + (f" {plain(unit)}" if unit else "")


def plain(unit: str) -> str:
    """A unit as a sentence reads it: 'M yuan/yr (start-year prices)'."""
    head, comma, note = unit.partition(", ")
    return f"{head} ({note})" if comma else unit


def contrast(
    noise: Noise,
    difference: float,
    n_a: float = 1,
    n_b: float = 1,
    level: float = 0.95,
    comparisons: int = 1,
) -> Contrast:
    """A difference of two means over n_a and n_b points, with its interval."""
    half = noise.t(level, comparisons) * noise.standard_error(n_a, n_b)
    return Contrast(difference, difference - half, difference + half)


@dataclass(frozen=True)
class Verdict:
    """Which option is best for one outcome, and how sure the sweep is of it."""

    outcome: str
    direction: str
    unit: str
    means: pd.Series
    """Mean over replications of each point, best first."""
    lead: Contrast | None
    """Best minus runner-up, signed so that positive is better."""
    contenders: int
    """Points not clearly worse than the best (Bonferroni over the others)."""
    noise: Noise | None
    cost: pd.Series | None
    """Mean total spending of each point, where the sweep records it."""

    @property
    def best(self) -> int:
        """The best point."""
        return int(self.means.index[0])

    @property
    def runner_up(self) -> int | None:
        """The second-best point."""
        return int(self.means.index[1]) if len(self.means) > 1 else None


def verdict(
    results: Results,
    table: pd.DataFrame,
    outcome: str,
    direction: str,
    level: float = 0.95,
) -> Verdict:
    """Rank the points of one outcome and judge the best one's lead."""
    matrix = _matrix(results, table, outcome)
    paired = results.manifest["design"]["seeding"] == "common"
    noise = replication_noise(matrix, paired)
    means = pd.Series(point_means(matrix)).dropna()
    means = means.sort_values(ascending=direction == "less", kind="stable")
    sign = -1.0 if direction == "less" else 1.0
    lead, contenders = None, len(means)
    if noise is not None and len(means) > 1:
        gaps = sign * (means.iloc[0] - means)
        lead = contrast(noise, float(gaps.iloc[1]), level=level)
        contenders = count_contenders(gaps.to_numpy(), noise, level)
    cost = None
    if "total_spent" in table and outcome != "total_spent":
        cost = table.groupby("point")["total_spent"].mean()
    return Verdict(
        outcome,
        direction,
        _unit(results, outcome),
        means,
        lead,
        contenders,
        noise,
        cost,
    )


def point_means(matrix: np.ndarray) -> np.ndarray:
    """Each point's mean over its finished replications (NaN where none finished)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a point with no run
        return np.nanmean(matrix, axis=1)


def count_contenders(gaps: np.ndarray, noise: Noise, level: float) -> int:
    """Points that cannot be told apart from the best, the best included.

    `gaps` are the shortfalls from the best (its own 0 included). The margin is
    a paired interval Bonferroni-corrected for comparing the best with every
    other point, since the best was picked from them all.
    """
    margin = noise.t(level, comparisons=len(gaps) - 1) * noise.standard_error()
    return int(np.sum(gaps <= margin))


def _matrix(results: Results, table: pd.DataFrame, outcome: str) -> np.ndarray:
    design = results.manifest["design"]
    return replicate_matrix(table, outcome, design["points"], design["replications"])


def _unit(results: Results, outcome: str) -> str:
    name = outcome.split("@", 1)[0]
    return results.manifest.get("outcomes", {}).get(name, {}).get("unit", "")


def option_text(results: Results, point: int) -> str:
    """A design point as its factor values, `name value` joined by commas."""
    row = results.design.set_index("point").loc[point]
    return ", ".join(f"{_short(f)} {_value(row[f])}" for f in results.factors)


def _short(factor: str) -> str:
    return factor.rsplit(".", 1)[-1]


def _value(value: object) -> str:
    return fmt(value) if isinstance(value, int | float) else str(value)


def verdict_text(results: Results, v: Verdict, level: float) -> str:
    """The verdict of one outcome as a paragraph."""
    how = WORDS[v.direction] + (f", {v.unit}" if v.unit else "")
    best = v.means.iloc[0]
    tied = int(np.sum(v.means.to_numpy() == best))
    if tied > 1:
        words = [
            f"**{v.outcome}** ({how}): {tied} of {len(v.means)} options reach the "
            f"best value, {amount(best, v.unit)} on average, among them "
            f"{option_text(results, v.best)}."
        ]
    else:
        words = [
            f"**{v.outcome}** ({how}): best is {option_text(results, v.best)}, "
            f"with {amount(best, v.unit)} on average."
        ]
    if v.lead is None or v.noise is None:
        words.append(
            "With one replication per point the sweep cannot tell luck from "
            "effect: add replications."
        )
        return " ".join(words)
    if v.noise.variance == 0:
        words.append("It did not vary between replications: the ranking is exact.")
        return " ".join(words)
    pairing = (
        "paired by common random numbers"
        if v.noise.paired
        else "independent seeds, not paired"
    )
    if tied == 1:
        words.append(
            f"It leads the runner-up ({option_text(results, v.runner_up)}) by "
            f"{v.lead.text(v.unit)} ({int(level * 100)}% interval, {pairing})."
        )
    n = len(v.means)
    if v.contenders <= 1:
        words.append(
            f"The lead is clear, even allowing for having picked the best of {n}."
        )
    elif v.lead.clear and tied == 1:
        words.append(
            "The lead over the runner-up is clear on its own, but allowing for "
            f"having picked the best of {n} options, {v.contenders} of them "
            "cannot be told apart from the best."
        )
    else:
        words.append(
            f"The lead is not clear: {v.contenders} of {n} options cannot be told "
            "apart from the best."
        )
    if v.cost is not None and tied == 1:
        extra = v.cost.loc[v.best] - v.cost.loc[v.runner_up]
        than = "more than" if extra > 0 else "less than"
        words.append(
            f"The best spends {fmt(v.cost.loc[v.best])} {SPENDING} over the run, "
            f"{fmt(abs(extra))} {SPENDING} {than} the runner-up."
        )
    words.append(
        f"{results.spread} is {_percent(v.noise.share)} of the variance; the sweep "
        f"can detect a difference of {_difference(v.noise.detectable(level), v.unit)} "
        f"between two options ({int(POWER * 100)}% power); four times the "
        "replications would halve that."
    )
    return " ".join(words)


def _percent(share: float) -> str:
    return "under 1%" if 0 < share < 0.005 else f"{share:.0%}"


def _difference(value: float, unit: str) -> str:
    scale, suffix = CHANGE_UNITS.get(unit, (1.0, f" {plain(unit)}" if unit else ""))
    return fmt(scale * value) + suffix


def lever_costs(
    results: Results, table: pd.DataFrame, outcomes: dict[str, str], level: float
) -> list[str]:
    """What raising each numeric lever from its lowest to its highest level buys.

    The change of each answer outcome and of total spending, with intervals,
    and the spending per unit gained; shares of a split are left to the
    design-point tables, since raising one lowers the others.
    """
    if "total_spent" not in table:
        return []
    lines = []
    for factor in _numeric_levers(results):
        spent = factor_effects(results, table, "total_spent", level)
        spent = spent[spent["factor"] == factor].iloc[-1]
        low, high = table[factor].min(), table[factor].max()
        for outcome in outcomes:
            if table[outcome].nunique() <= 1:
                continue
            effect = factor_effects(results, table, outcome, level)
            effect = effect[effect["factor"] == factor].iloc[-1]
            gained = Contrast(effect["effect"], effect["low"], effect["high"])
            cost = Contrast(spent["effect"], spent["low"], spent["high"])
            unit = _unit(results, outcome)
            line = (
                f"Raising {factor} from {_value(low)} to {_value(high)} changes "
                f"{outcome} by {gained.text(unit)}"
                f" and spending by {cost.text()} {SPENDING} over the run"
            )
            lines.append(
                line + _price(spent["effect"], gained, outcomes[outcome], unit)
            )
    return lines


def _price(spent: float, gained: Contrast, direction: str, unit: str) -> str:
    """Spending per unit gained, where the gain is clear and a gain."""
    sign = {"more": 1.0, "less": -1.0}.get(direction, 0.0)
    gain = sign * gained.estimate
    if not gained.clear or gain <= 0:
        return "; no clear gain." if sign else "."
    if unit == "share":
        return f": {fmt(spent / gain / 100)} M yuan per percentage point."
    if unit == "year":
        return f": {fmt(spent / gain)} M yuan per year sooner."
    return f": {fmt(spent / gain)} M yuan per {plain(unit) or 'unit'} gained."


def _numeric_levers(results: Results) -> list[str]:
    return [
        f["name"]
        for f in results.manifest["design"]["factors"]
        if f["role"] == "lever"
        and all(
            isinstance(v, int | float) and not isinstance(v, bool)
            for v in results.design[f["name"]]
        )
        and results.design[f["name"]].nunique() > 1
    ]


def answer_outcomes(results: Results, columns: list[str]) -> dict[str, str]:
    """The outcomes that answer the question, with their direction.

    As the experiment file states them (`[answers]`), else every outcome column
    whose catalogue entry says which way is better.
    """
    stated = results.manifest["experiment"].get("answers") or {}
    if stated:
        return {name: way for name, way in stated.items() if name in columns}
    catalogue = results.manifest.get("outcomes", {})
    found = {}
    for column in columns:
        better = catalogue.get(column.split("@", 1)[0], {}).get("better", "neither")
        if better != "neither":
            found[column] = BETTER_TO_DIRECTION[better]
    return found


def sharp_facts(
    results: Results, table: pd.DataFrame, outcomes: list[str]
) -> list[str]:
    """Sentences on factor levels that pin an outcome to its extreme in every run.

    For example: every run without platform money ends with no town at
    dimension 3. A level is said when all its runs share the sweep's lowest or
    highest value while other runs differ; levels of a numeric factor pinned
    alike are said together, and a statement implied by another (its runs a
    subset of the other's) is left out.
    """
    facts = []
    for outcome in outcomes:
        values = table[outcome]
        if values.isna().all() or values.nunique() <= 1:
            continue
        unit, found = _unit(results, outcome), []
        for factor in results.factors:
            for extreme in (values.min(), values.max()):
                levels = _pinned_levels(table, factor, outcome, extreme)
                if levels:
                    runs = table[factor].isin(levels)
                    found.append((runs, factor, levels, extreme))
        for runs, factor, levels, extreme in found:
            if any(
                (runs & ~other).sum() == 0 and (other & ~runs).any()
                for other, *_ in found
            ):
                continue  # implied by a wider statement
            rest = values[~runs]
            others = (
                f"every other run has {amount(rest.iloc[0], unit)}"
                if rest.nunique() == 1
                else f"the other runs range from {amount(rest.min(), unit)} to "
                f"{amount(rest.max(), unit)}"
            )
            facts.append(
                f"Every run with {_levels_text(table, factor, levels)} "
                f"({int(runs.sum())} runs) has {outcome} = {amount(extreme, unit)}; "
                f"{others}."
            )
    return facts


def _pinned_levels(
    table: pd.DataFrame, factor: str, outcome: str, extreme: float
) -> list[object]:
    """The levels of `factor` at which every run has `outcome` equal to `extreme`."""
    pinned = table.groupby(factor)[outcome].agg(lambda v: bool((v == extreme).all()))
    return [level for level, held in pinned.items() if held]


def _levels_text(table: pd.DataFrame, factor: str, levels: list[object]) -> str:
    """`factor = x`, `factor >= x`, `factor <= x` or `factor in [...]`."""
    every = sorted(table[factor].unique())
    if len(levels) == 1:
        return f"{factor} = {_value(levels[0])}"
    if levels == every[-len(levels) :]:
        return f"{factor} >= {_value(levels[0])}"
    if levels == every[: len(levels)]:
        return f"{factor} <= {_value(levels[-1])}"
    return f"{factor} in [{', '.join(_value(v) for v in levels)}]"


def factor_effects(
    results: Results, table: pd.DataFrame, outcome: str, level: float = 0.95
) -> pd.DataFrame:
    """Each factor level's mean and its difference from the factor's first level.

    Means are over the points at the level (and so over the other factors);
    the interval of a difference uses the replication noise.
    """
    matrix = _matrix(results, table, outcome)
    noise = replication_noise(matrix, results.manifest["design"]["seeding"] == "common")
    means = pd.Series(point_means(matrix), name=outcome)
    design = results.design.set_index("point")[results.factors].join(means)
    rows = []
    for factor in results.factors:
        grouped = design.groupby(factor, sort=True)[outcome].agg(["mean", "count"])
        first = grouped.iloc[0]
        for value, row in grouped.iterrows():
            effect = row["mean"] - first["mean"]
            found = (
                contrast(noise, effect, row["count"], first["count"], level)
                if noise is not None and value != grouped.index[0]
                else None
            )
            rows.append(
                {
                    "outcome": outcome,
                    "factor": factor,
                    "level": value,
                    "mean": row["mean"],
                    "points": int(row["count"]),
                    "effect": effect,
                    "low": found.low if found else np.nan,
                    "high": found.high if found else np.nan,
                }
            )
    return pd.DataFrame(rows)


def interactions(
    results: Results, table: pd.DataFrame, outcome: str, level: float = 0.95
) -> pd.DataFrame:
    """Two-way interactions: how much one factor's effect changes with another's.

    For factors A and B, the effect of A (its last level against its first) at
    B's last level minus that at B's first level. Shares of one split are not
    crossed with each other and are left out.
    """
    matrix = _matrix(results, table, outcome)
    noise = replication_noise(matrix, results.manifest["design"]["seeding"] == "common")
    means = pd.Series(point_means(matrix), name=outcome)
    design = results.design.set_index("point")[results.factors].join(means)
    roles = {f["name"]: f["role"] for f in results.manifest["design"]["factors"]}
    rows = []
    for a, b in combinations(results.factors, 2):
        if roles[a] == roles[b] and roles[a].startswith("split"):
            continue
        a_levels, b_levels = sorted(design[a].unique()), sorted(design[b].unique())
        if len(a_levels) < 2 or len(b_levels) < 2:
            continue
        corners = {
            (i, j): design.loc[(design[a] == x) & (design[b] == y), outcome]
            for i, x in enumerate((a_levels[0], a_levels[-1]))
            for j, y in enumerate((b_levels[0], b_levels[-1]))
        }
        if any(c.empty for c in corners.values()):
            continue
        m = {k: c.mean() for k, c in corners.items()}
        estimate = (m[1, 1] - m[0, 1]) - (m[1, 0] - m[0, 0])
        row = {"outcome": outcome, "a": a, "b": b, "interaction": estimate}
        if noise is not None:
            spread = np.sqrt(sum(1 / len(c) for c in corners.values()))
            half = (
                noise.t(level) * np.sqrt(noise.variance / noise.replications) * spread
            )
            row |= {"low": estimate - half, "high": estimate + half}
        rows.append(row)
    return pd.DataFrame(rows)


def answer_section(results: Results, table: pd.DataFrame, level: float) -> list[str]:
    """The report's opening: the question and its answer in words."""
    exp = results.manifest["experiment"]
    wanted = answer_outcomes(results, outcome_columns(table, results))
    lines = ["## Answer", ""]
    if exp.get("question"):
        lines += [f"> {exp['question']}", ""]
    if not wanted:
        return [
            *lines,
            "No outcome says which way is better: state them in the experiment "
            'file\'s `[answers]` (outcome = "more", "less" or "neither").',
            "",
        ]
    for outcome, direction in wanted.items():
        if direction == "neither" or table[outcome].nunique() <= 1:
            continue
        lines += [
            verdict_text(
                results, verdict(results, table, outcome, direction, level), level
            ),
            "",
        ]
    costs = lever_costs(results, table, wanted, level)
    if costs:
        lines += ["What the levers cost:", "", *[f"- {c}" for c in costs], ""]
    facts = sharp_facts(results, table, list(wanted))
    if facts:
        lines += ["What holds in every run:", "", *[f"- {f}" for f in facts], ""]
    unchanged = [o for o in wanted if table[o].nunique() <= 1]
    if unchanged:
        lines += [
            "Never varied across the sweep, so nothing to choose: "
            + ", ".join(
                f"{o} (always {amount(table[o].iloc[0], _unit(results, o))})"
                for o in unchanged
            )
            + ".",
            "",
        ]
    return lines


def point_summary(results: Results, table: pd.DataFrame) -> pd.DataFrame:
    """One row per design point: its factors and each outcome's mean, s.d., runs."""
    columns = [c for c in table.columns if c not in results.keys]
    grouped = table.groupby("point")[columns]
    summary = grouped.mean().add_suffix(":mean")
    summary = summary.join(grouped.std().add_suffix(":sd"))
    summary["runs"] = grouped.size()
    design = results.design.set_index("point")[results.factors]
    return design.join(summary, how="left").reset_index()
