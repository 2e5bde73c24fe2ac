"""`townsim analyze`: indices, charts, exports and a Markdown report of a sweep.

Indices are computed per outcome by the design's method (Sobol, Morris, or PAWN
for a Latin hypercube); factorial sweeps get ranked design points and main
effects instead. Everything is written to the report folder.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.answer import (
    answer_outcomes,
    answer_section,
    factor_effects,
    interactions,
    point_summary,
    replication_noise,
)
from experiments.analysis.charts import distributions, fan_chart, indices_chart
from experiments.analysis.discover import discovery_section
from experiments.analysis.ema import save_ema
from experiments.analysis.factorial import better, fmt, number, point_table
from experiments.analysis.morris import morris_indices
from experiments.analysis.pawn import DUMMY, pawn_indices
from experiments.analysis.results import (
    Results,
    analysis_years,
    load_results,
    noise_share,
    outcome_columns,
    per_run,
    replicate_matrix,
    with_text_seeds,
)
from experiments.analysis.sobol import sobol_indices
from experiments.sweeps.experiment_file import ExperimentError

MAIN_INDEX = {"sobol": "ST", "morris": "mu_star", "lhs": "pawn"}
"""The index each design ranks factors by."""


def analyze(
    folder: str | Path,
    out: str | Path | None = None,
    by: str | None = None,
    resamples: int | None = None,
    tidy_csv: bool = False,
    discover: str | None = None,
) -> Path:
    """Write indices, charts, exports and a Markdown report of a sweep.

    Args:
        folder: The sweep's results folder.
        out: The report folder (default: `folder/report`).
        by: A factor to split the fan charts by.
        resamples: Bootstrap draws (default: the experiment's `analysis`).
        tidy_csv: Also write every row of every run to `runs.csv`.
        discover: A condition such as `gdp@2035 < 5000`: find where its runs
            gather with PRIM (needs the EMA Workbench).

    Returns:
        The path of `report.md`.

    Raises:
        ExperimentError: If the folder is not a sweep or `by` is not a factor.
    """
    results = load_results(folder)
    out = Path(out) if out else results.folder / "report"
    out.mkdir(parents=True, exist_ok=True)
    if by is not None and by not in results.factors:
        raise ExperimentError(
            f"--by {by!r}: not a factor of this sweep; allowed: "
            f"{', '.join(results.factors)}"
        )
    discovery = discovery_section(results, discover, out)
    table = per_run(results, report_years(results))
    indices = sensitivity(results, table, resamples) if len(table) else pd.DataFrame()
    if not indices.empty:
        indices.to_csv(out / "indices.csv", index=False)
        indices_chart(indices, MAIN_INDEX[results.kind], out / "indices.png")
    with_text_seeds(table).to_csv(out / "per_run.csv", index=False)
    if results.kind == "factorial" and len(table):
        save_factorial_tables(results, table, out)
    if tidy_csv and len(results.runs):
        with_text_seeds(results.runs).to_csv(out / "runs.csv", index=False)
    charts = []
    yearly = (
        sorted(results.runs.loc[results.runs["year"].notna(), "outcome"].unique())
        if len(results.runs)
        else []
    )
    for outcome in yearly:
        charts.append(fan_chart(results, outcome, out / f"fan_{outcome}.png", by))
    outcomes = outcome_columns(table, results)
    if outcomes and len(table):
        catalogue = results.manifest.get("outcomes", {})
        units = {k: v.get("unit", "") for k, v in catalogue.items()}
        distributions(table, outcomes, out / "distributions.png", units)
    if len(results.runs):
        save_ema(results, out / "ema_results.tar.gz")
    text = report_text(results, table, indices, charts, out, discovery)
    (out / "report.md").write_text(text)
    return out / "report.md"


def save_factorial_tables(results: Results, table: pd.DataFrame, out: Path) -> None:
    """Write points.csv, effects.csv and interactions.csv of a factorial sweep."""
    level = results.manifest["experiment"]["analysis"]["conf_level"]
    point_summary(results, table).to_csv(out / "points.csv", index=False)
    varying = [o for o in outcome_columns(table, results) if table[o].nunique() > 1]
    effects = [factor_effects(results, table, o, level) for o in varying]
    pairs = [interactions(results, table, o, level) for o in varying]
    if effects:
        pd.concat(effects).to_csv(out / "effects.csv", index=False)
    if any(len(p) for p in pairs):
        pd.concat(pairs).to_csv(out / "interactions.csv", index=False)


def report_years(results: Results) -> list[int]:
    """The analysis years and the years of the outcomes that answer the question."""
    if results.runs.empty:
        return []
    answers = results.manifest["experiment"].get("answers") or {}
    stated = {int(name.split("@")[1]) for name in answers if "@" in name}
    return sorted(set(analysis_years(results)) | stated)


def report_text(
    results: Results,
    table: pd.DataFrame,
    indices: pd.DataFrame,
    charts: list[Path],
    out: Path,
    discovery: list[str] | None = None,
) -> str:
    """The Markdown report: the answer, what matters most, charts, failures."""
    m = results.manifest
    exp, design = m["experiment"], m["design"]
    finished = table["run_id"].nunique() if len(table) else 0
    lines = [
        f"# Sweep report: {exp['name']}",
        "",
        *([exp["description"], ""] if exp.get("description") else []),
        f"- Design: {design['kind']}, {design['points']} points x "
        f"{design['replications']} replications = {design['runs']} runs "
        f"(root seed {design['root_seed']}, {design['seeding']} seeds)",
        f"- Finished: {finished}; failed: {len(results.failures)}; "
        f"missing: {design['runs'] - finished - len(results.failures)}",
        (
            f"- Model: townsim, base scenario {exp.get('scenario') or 'baseline'}"
            if exp["model"] == "townsim"
            else f"- Model: the function {exp['model']}"
        )
        + f"; code {m['code_version']}",
        "- Factors: " + "; ".join(_factor_text(f) for f in design["factors"]),
        *_posterior_line(m),
        "",
    ]
    level = exp["analysis"]["conf_level"]
    if results.kind == "factorial" and len(table):
        lines += answer_section(results, table, level)
    elif not indices.empty:
        lines += _indices_answer(results, table, indices)
    if not indices.empty:
        lines += _indices_section(results, indices)
    if results.kind == "factorial" and len(table):
        lines += _factorial_section(results, table)
    if charts:
        lines += ["## Outcomes over the years", ""]
        lines += [f"![{c.stem}]({c.relative_to(out)})" for c in charts]
        lines.append("")
    if (out / "distributions.png").exists():
        lines += ["## Distributions across runs", "", "![](distributions.png)", ""]
    if len(results.failures):
        lines += ["## Failed runs", ""]
        for _, row in results.failures.head(20).iterrows():
            last = row["error"].strip().splitlines()[-1]
            lines.append(
                f"- `{row['run_id']}` (point {row['point']}, "
                f"replication {row['replication']}): {last}"
            )
        lines.append("")
    lines += discovery or []
    files = [(name, what) for name, what in FILES if (out / name).exists()]
    lines += ["## Files", ""]
    lines += [f"- `{name}`: {what}" for name, what in files] or ["- none"]
    lines.append("")
    return "\n".join(lines)


FILES = (
    ("indices.csv", "every index with its interval (tidy)"),
    ("per_run.csv", "one row per finished run, factors and outcomes"),
    ("points.csv", "one row per design point: each outcome's mean, s.d. and runs"),
    (
        "effects.csv",
        "each factor level's effect against its first level, with intervals",
    ),
    ("interactions.csv", "two-way interactions with intervals"),
    ("runs.csv", "every row of every run (tidy)"),
    ("ema_results.tar.gz", "`ema_workbench.load_results()` reads it (PRIM, CART)"),
    ("discovery.csv", "the boxes of scenario discovery (PRIM)"),
    ("discovery_trajectory.csv", "PRIM's peeling trajectory"),
)
"""The files a report may write, with what each holds: only those written are listed."""


def _factor_text(factor: dict[str, Any]) -> str:
    if factor.get("levels"):
        return f"{factor['name']} ({factor['role']}) in {factor['levels']}"
    if factor.get("low") is not None:
        return (
            f"{factor['name']} ({factor['role']}) from {factor['low']} to "
            f"{factor['high']}"
        )
    return f"{factor['name']} ({factor['role']})"


def _posterior_line(manifest: dict[str, Any]) -> list[str]:
    """The posterior the replications ran over, named once (none without one)."""
    posterior = manifest.get("posterior")
    if not posterior:
        return []
    return [
        f"- Posterior: {posterior.get('file', '?')} (replication r of every point "
        "uses draw r): the spread over replications holds the model's randomness "
        "and the posterior draws"
    ]


def _indices_section(results: Results, indices: pd.DataFrame) -> list[str]:
    main = MAIN_INDEX[results.kind]
    level = results.manifest["experiment"]["analysis"]["conf_level"]
    lines = [
        "## Which factor matters most",
        "",
        f"Ranked by {main} ({int(level * 100)}% intervals from a bootstrap over "
        "the design and, within each design point, over replications). "
        "'Noise' is the share of the runs' variance that comes from "
        f"{results.spread[0].lower()}{results.spread[1:]} within design points; "
        "when it is large, add replications.",
        "",
    ]
    valid = indices[indices["factor"].notna()]
    headlines = [
        _headline(outcome, group[group["index"] == main])
        for outcome, group in valid.groupby("outcome", sort=False)
    ]
    if headlines:
        lines += [
            "| outcome | most important | estimate [interval] | next | clear lead "
            "| noise |",
            "| --- | --- | --- | --- | --- | --- |",
            *headlines,
            "",
        ]
    if headlines:
        lines += ["![indices](indices.png)", ""]
    if results.kind == "lhs":
        lines += [
            f"`{DUMMY}` is a factor the model never saw: with a finite sample every "
            "factor gets a positive PAWN value, and one that does not clearly "
            "exceed the dummy's shows no effect.",
            "",
        ]
    lines += _width_note(valid[valid["index"] == main], results.kind, results.spread)
    notes = indices[indices["note"].notna()]
    if len(notes):
        lines += ["Not analysed:", ""]
        lines += [f"- {row.outcome}: {row.note}" for row in notes.itertuples()]
        lines.append("")
    if len(valid):
        lines += [
            "### All indices",
            "",
        ]
        lines += _morris_note() if results.kind == "morris" else []
        morris = results.kind == "morris" and "mu" in valid
        extra = " mu | sigma |" if morris else ""
        lines += [
            "| outcome | factor | index | estimate | low | high |" + extra,
            "| --- | --- | --- | --- | --- | --- |" + " --- |" * (2 if morris else 0),
        ]
        for row in valid.itertuples():
            cells = f"| {row.outcome} | {row.factor} | {row.index} | "
            cells += f"{row.estimate:.3g} | {row.low:.3g} | {row.high:.3g} |"
            if morris:
                cells += f" {row.mu:.3g} | {row.sigma:.3g} |"
            lines.append(cells)
        lines.append("")
    return lines


def _morris_note() -> list[str]:
    return [
        "mu* ranks a factor by the size of its elementary effects; mu, their "
        "mean with sign, says which way the outcome moves when the factor rises "
        "(near 0 while mu* is large: effects of both signs); sigma, their spread, "
        "is large against mu* when the factor acts through interactions or a "
        "curve.",
        "",
    ]


def _headline(outcome: str, ranked: pd.DataFrame) -> str:
    """One row of the headline table: the top factor and whether it clearly leads."""
    ranked = ranked.sort_values("estimate", ascending=False)
    top = ranked.iloc[0]
    nxt = ranked.iloc[1] if len(ranked) > 1 else None
    lead = "yes" if nxt is not None and top["low"] > nxt["high"] else "no"
    return (
        f"| {outcome} | {top['factor']} | {top['estimate']:.3g} "
        f"[{top['low']:.3g}, {top['high']:.3g}] | "
        f"{nxt['factor'] if nxt is not None else '-'} | {lead} | "
        f"{top['noise_share']:.0%} |"
    )


def _width_note(ranked: pd.DataFrame, kind: str, spread: str) -> list[str]:
    """Say when intervals of shares of variance are too wide to rank factors."""
    if kind not in ("sobol", "lhs") or not len(ranked):
        return []
    width = (ranked["high"] - ranked["low"]).median()
    if not width > 0.3:
        return []
    noise = ranked["noise_share"].median()
    more = "replications" if noise > 0.5 else "design samples (design.samples)"
    return [
        f"The intervals are wide (median width {width:.2f}): the design is too "
        f"small to rank the factors with confidence. {spread} is "
        f"{noise:.0%} of the variance, so more {more} would help most.",
        "",
    ]


def _factorial_section(results: Results, table: pd.DataFrame) -> list[str]:
    level = results.manifest["experiment"]["analysis"]["conf_level"]
    percent = f"{int(level * 100)}%"
    lines = [
        "## Design points",
        "",
        "Best first for outcomes with a better direction, highest first for the "
        "others. `cost` is the mean money spent over the run (`total_spent`, "
        f"M yuan at start-year prices). The {percent} interval of a point's mean "
        "is a t-interval over its replications; effects and interactions are "
        "differences between points, with intervals from the replication noise "
        "left after removing each point and, under common random numbers, each "
        "replication's seed.",
        "",
        *_balance_caveat(results, table),
    ]
    flat = []
    for outcome in outcome_columns(table, results):
        ranked = point_table(results, table, outcome, level)
        if ranked["mean"].nunique() <= 1:
            flat.append(f"{outcome} (always {fmt(ranked['mean'].iloc[0])})")
            continue
        lines += _point_lines(results, ranked, outcome, percent)
        lines += _effect_lines(results, table, outcome, level)
    if flat:
        lines += ["Did not vary across the design points: " + ", ".join(flat), ""]
    return lines


DIRECTION_WORDS = {
    "higher": "higher is better",
    "lower": "lower is better",
    "neither": "no better direction, highest first",
}


def _point_lines(
    results: Results, ranked: pd.DataFrame, outcome: str, percent: str
) -> list[str]:
    unit = results.manifest.get("outcomes", {}).get(outcome.split("@")[0], {})
    unit_text = f", {unit['unit']}" if unit.get("unit") else ""
    lines = [
        f"### {outcome} ({DIRECTION_WORDS[better(results, outcome)]}{unit_text})",
        "",
    ]
    header = [*results.factors, "mean", f"{percent} interval", "runs"]
    header += ["cost"] if "cost" in ranked else []
    lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for _, row in ranked.head(10).iterrows():
        cells = [str(row[f]) for f in results.factors]
        cells += [
            number(row["mean"], unit.get("unit", "")),
            f"[{number(row['low'], unit.get('unit', ''))}, "
            f"{number(row['high'], unit.get('unit', ''))}]",
            str(int(row["count"])),
        ]
        cells += [fmt(row["cost"])] if "cost" in ranked else []
        lines.append("| " + " | ".join(cells) + " |")
    if len(ranked) > 10:
        lines.append(f"\n({len(ranked) - 10} more points in `points.csv`.)")
    return [*lines, ""]


def _effect_lines(
    results: Results, table: pd.DataFrame, outcome: str, level: float
) -> list[str]:
    """Main effects and two-way interactions of one outcome, with paired intervals."""
    catalogue = results.manifest.get("outcomes", {})
    unit = catalogue.get(outcome.split("@")[0], {}).get("unit", "")
    matrix = replicate_matrix(
        table, outcome, len(results.design), results.manifest["design"]["replications"]
    )
    noise = replication_noise(matrix, results.manifest["design"]["seeding"] == "common")
    if noise is None:
        lines = ["With one replication per point, effects have no intervals.", ""]
    else:
        lines = [
            f"{results.spread}: {noise.share:.0%} of the variance "
            f"({noise.df} degrees of freedom).",
            "",
        ]
    lines += [
        "| factor | level | mean over the other factors | effect against the first "
        "level [interval] |",
        "| --- | --- | --- | --- |",
    ]
    for row in factor_effects(results, table, outcome, level).itertuples():
        effect = "-" if row.effect == 0 and row.low != row.low else fmt(row.effect)
        if row.low == row.low:
            effect += f" [{fmt(row.low)}, {fmt(row.high)}]"
        mean = number(row.mean, unit)
        lines.append(f"| {row.factor} | {row.level} | {mean} | {effect} |")
    pairs = interactions(results, table, outcome, level)
    if len(pairs) and "low" in pairs:
        lines += [
            "",
            "Interactions (the first factor's effect, last level against first, "
            "at the second factor's last level minus at its first):",
            "",
        ]
        for row in pairs.itertuples():
            clear = "clear" if row.low > 0 or row.high < 0 else "not clear"
            lines.append(
                f"- {row.a} x {row.b}: {fmt(row.interaction)} "
                f"[{fmt(row.low)}, {fmt(row.high)}], {clear}"
            )
    return [*lines, ""]


def _indices_answer(
    results: Results, table: pd.DataFrame, indices: pd.DataFrame
) -> list[str]:
    """The opening of a sampled design's report: which factor drives each answer."""
    exp = results.manifest["experiment"]
    main = MAIN_INDEX[results.kind]
    lines = ["## Answer", ""]
    if exp.get("question"):
        lines += [f"> {exp['question']}", ""]
    wanted = answer_outcomes(results, outcome_columns(table, results))
    ranked = indices[(indices["index"] == main) & indices["factor"].notna()]
    for outcome in wanted or ranked["outcome"].unique():
        part = ranked[ranked["outcome"] == outcome]
        part = part[part["factor"] != DUMMY].sort_values("estimate", ascending=False)
        if part.empty:
            continue
        top = part.iloc[0]
        words = (
            f"**{outcome}**: {top['factor']} matters most ({main} "
            f"{top['estimate']:.3g} [{top['low']:.3g}, {top['high']:.3g}])"
        )
        if len(part) > 1:
            nxt = part.iloc[1]
            clear = top["low"] > nxt["high"]
            words += (
                f", {'clearly' if clear else 'but not clearly'} ahead of "
                f"{nxt['factor']} ({nxt['estimate']:.3g} [{nxt['low']:.3g}, "
                f"{nxt['high']:.3g}])"
            )
        lines += [
            words + f". {results.spread} is {top['noise_share']:.0%} of the variance.",
            "",
        ]
    return lines


def _balance_caveat(results: Results, table: pd.DataFrame) -> list[str]:
    """A warning when design points have unequal numbers of finished runs.

    Main effects average each level over the runs that finished; with some
    missing, the levels are averaged over different mixes of the other factors.
    """
    design = results.manifest["design"]
    counts = table.groupby("point")["run_id"].nunique()
    counts = counts.reindex(range(design["points"]), fill_value=0)
    if counts.nunique() <= 1:
        return []
    return [
        f"**Caveat:** {int(counts.sum())} of {design['runs']} runs finished, and "
        f"design points have from {counts.min()} to {counts.max()} runs, so the "
        "main effects below average each level over different mixes of the other "
        "factors and can show another factor's effect. Finish the sweep (run the "
        "same command again) before trusting them.",
        "",
    ]


def sensitivity(
    results: Results, table: pd.DataFrame, resamples: int | None = None
) -> pd.DataFrame:
    """Indices of every outcome column, tidy: outcome, factor, index, estimate, CI.

    Outcomes that do not vary, or whose design is incomplete (Sobol, Morris), are
    reported in the `note` column instead of getting misleading numbers.
    """
    settings = results.manifest["experiment"]["analysis"]
    draws = resamples or settings["resamples"]
    level = settings["conf_level"]
    design = results.manifest["design"]
    problem = design["problem"]
    if results.kind == "factorial" or not problem["num_vars"]:
        return pd.DataFrame()
    unit = results.design[[f"unit:{n}" for n in problem["names"]]].to_numpy(float)
    frames = []
    for outcome in outcome_columns(table, results):
        matrix = replicate_matrix(
            table, outcome, len(results.design), design["replications"]
        )
        note = _unusable(matrix, results.kind)
        if note:
            frames.append(pd.DataFrame({"outcome": [outcome], "note": [note]}))
            continue
        seed = _stable_seed(outcome)
        if results.kind == "sobol":
            found = sobol_indices(
                problem,
                matrix,
                results.manifest["experiment"]["design"]["second_order"],
                draws,
                level,
                seed,
            )
        elif results.kind == "morris":
            found = morris_indices(
                problem,
                unit,
                matrix,
                results.manifest["experiment"]["design"]["levels"],
                draws,
                level,
                seed,
            )
        else:
            found = pawn_indices(problem, unit, matrix, draws, level, seed)
        found.insert(0, "outcome", outcome)
        found["noise_share"] = noise_share(matrix)
        frames.append(found)
    if not frames:
        return pd.DataFrame()
    found = pd.concat(frames, ignore_index=True)
    return found.reindex(columns=list(dict.fromkeys([*INDEX_COLUMNS, *found.columns])))


INDEX_COLUMNS = (
    "outcome",
    "factor",
    "index",
    "estimate",
    "low",
    "high",
    "noise_share",
    "note",
)


def _stable_seed(text: str) -> int:
    import hashlib

    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)


def _unusable(matrix: np.ndarray, kind: str) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(matrix, axis=1) if matrix.size else matrix
    missing = int(np.isnan(means).sum()) if means.size else 0
    if missing and kind in ("sobol", "morris"):
        return f"{missing} design points have no finished run; indices need them all"
    values = means[~np.isnan(means)]
    if values.size < 2 or np.ptp(values) <= 1e-12 * max(1.0, np.abs(values).max()):
        return "does not vary across the design"
    return ""
