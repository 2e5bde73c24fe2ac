"""Reading a sweep back: sensitivity indices, fan charts, a report and exports.

A sweep's folder reads as one tidy table; this module turns it into what a
policy analyst asks for. Sobol and Morris indices come from SALib on the mean of
each design point's replications; their confidence intervals come from a
two-stage bootstrap that resamples the design (base rows or trajectories) and,
within each design point, the replications, so that the intervals widen when the
model's own noise is large against the factors' effects. Latin hypercube sweeps
get SALib's moment-independent PAWN indices; factorial sweeps a table of design
points and main effects with intervals over replications.
"""

from __future__ import annotations

import itertools
import json
import math
import tarfile
import warnings
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.sweeps.experiment_file import ExperimentError
from experiments.sweeps.results_store import DESIGN, FAILURES, MANIFEST, RUNS

KEYS = ("run_id", "point", "replication", "seed")


@dataclass
class Results:
    """A sweep's folder, read: manifest, design, tidy run rows and failures."""

    folder: Path
    manifest: dict[str, Any]
    design: pd.DataFrame
    runs: pd.DataFrame
    failures: pd.DataFrame

    @property
    def factors(self) -> list[str]:
        """Factor columns, in design order."""
        return [f["name"] for f in self.manifest["design"]["factors"]]

    @property
    def sampled(self) -> list[str]:
        """The factors of the SALib problem (sampled designs)."""
        return list(self.manifest["design"]["problem"]["names"])

    @property
    def kind(self) -> str:
        """The design: factorial, lhs, sobol or morris."""
        return self.manifest["design"]["kind"]


def load_results(folder: str | Path) -> Results:
    """Read a sweep's results folder (finished or not).

    Raises:
        ExperimentError: If the folder is not a sweep's results folder.
    """
    folder = Path(folder)
    if not (folder / MANIFEST).is_file():
        raise ExperimentError(
            f"{folder}: not a sweep results folder (no {MANIFEST}); "
            "run `townsim sweep EXPERIMENT.toml --out FOLDER` first"
        )
    manifest = json.loads((folder / MANIFEST).read_text())
    design = pd.read_parquet(folder / DESIGN)
    return Results(
        folder=folder,
        manifest=manifest,
        design=design,
        runs=_read_folder(folder / RUNS),
        failures=_read_folder(folder / FAILURES),
    )


def _read_folder(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return pd.DataFrame()
    import pyarrow.dataset as ds

    table = ds.dataset(files, format="parquet").to_table()
    return table.to_pandas().sort_values(["point", "replication"], kind="stable")


# --- Tables an analyst works with -------------------------------------------


def analysis_years(results: Results) -> list[int]:
    """Years whose yearly outcomes get indices: as set, else the last recorded."""
    chosen = results.manifest["experiment"]["analysis"].get("years")
    if chosen:
        return list(chosen)
    years = results.runs["year"].dropna()
    return [int(years.max())] if len(years) else []


def per_run(results: Results, years: list[int] | None = None) -> pd.DataFrame:
    """One row per finished run: keys, factors, run outcomes and yearly outcomes.

    Yearly outcomes appear as `name@year` for each of `years` (default: the
    analysis years); town outcomes are summarized by their run outcomes.
    """
    runs = results.runs
    if runs.empty:
        return pd.DataFrame(columns=[*KEYS, *results.factors])
    years = analysis_years(results) if years is None else years
    keys = runs[[*KEYS, *results.factors]].drop_duplicates("run_id")
    province = runs[runs["town"].isna()]
    scalar = province[province["year"].isna()]
    wide = scalar.pivot(index="run_id", columns="outcome", values="value")
    yearly = province[province["year"].isin(years)]
    if not yearly.empty:
        named = yearly.assign(
            outcome=yearly["outcome"] + "@" + yearly["year"].astype(int).astype(str)
        )
        wide = wide.join(
            named.pivot(index="run_id", columns="outcome", values="value"),
            how="outer",
        )
    table = keys.merge(wide.reset_index(), on="run_id", how="left")
    return table.sort_values(["point", "replication"]).reset_index(drop=True)


def outcome_columns(table: pd.DataFrame, results: Results) -> list[str]:
    """The outcome columns of a per-run table."""
    return [c for c in table.columns if c not in (*KEYS, *results.factors)]


def replicate_matrix(
    table: pd.DataFrame, outcome: str, points: int, replications: int
) -> np.ndarray:
    """Values of one outcome as (points, replications), NaN where a run is missing."""
    matrix = np.full((points, replications), np.nan)
    matrix[table["point"].to_numpy(), table["replication"].to_numpy()] = table[
        outcome
    ].to_numpy(dtype=float)
    return matrix


def noise_share(matrix: np.ndarray) -> float:
    """Share of the runs' variance that is replication noise within design points."""
    counts = np.sum(~np.isnan(matrix), axis=1)
    usable = counts >= 2
    total = np.nanvar(matrix, ddof=1) if np.sum(counts) > 1 else np.nan
    if not usable.any() or not total > 0:
        return float("nan")
    within = np.nanvar(matrix[usable], axis=1, ddof=1).mean()
    return float(min(within / total, 1.0))


def _bootstrap_means(
    matrix: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Design-point means with replications resampled: shape (draws, points)."""
    points, reps = matrix.shape
    pick = rng.integers(0, reps, size=(draws, points, reps))
    sampled = np.take_along_axis(matrix[None, :, :], pick, axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(sampled, axis=2)
    fallback = np.nanmean(matrix, axis=1)
    return np.where(np.isnan(means), fallback[None, :], means)


def _interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    tail = 100 * (1 - level) / 2
    return np.nanpercentile(draws, tail, axis=0), np.nanpercentile(
        draws, 100 - tail, axis=0
    )


# --- Sensitivity indices ------------------------------------------------------


def sobol_indices(
    problem: dict[str, Any],
    matrix: np.ndarray,
    second_order: bool = False,
    resamples: int = 300,
    conf_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """First-order and total Sobol indices with replication-aware intervals.

    Args:
        problem: The SALib problem (names, bounds).
        matrix: Outcome values as (design points in Saltelli order, replications).
        second_order: Whether the design holds the second-order blocks.
        resamples: Bootstrap draws.
        conf_level: Confidence level of the intervals.
        seed: Seed of the bootstrap.

    Returns:
        One row per factor and index (S1, ST): estimate, low, high.
    """
    from SALib.analyze import sobol

    names, dims = problem["names"], problem["num_vars"]
    means = np.nanmean(matrix, axis=1)
    step = 2 * dims + 2 if second_order else dims + 2
    base = means.size // step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = sobol.analyze(
            problem,
            means,
            calc_second_order=second_order,
            num_resamples=resamples if second_order else 10,
            conf_level=conf_level,
            seed=seed,
        )
    rng = np.random.default_rng(seed)
    draws = _bootstrap_means(matrix, resamples, rng)
    first, total = np.empty((resamples, dims)), np.empty((resamples, dims))
    for b in range(resamples):
        rows = rng.integers(0, base, base)
        a, bb, ab, _ = sobol.separate_output_values(draws[b], dims, base, second_order)
        first[b], total[b] = saltelli_jansen(a[rows], ab[rows], bb[rows])
    frames = []
    for index, estimate, sample in (
        ("S1", point["S1"], first),
        ("ST", point["ST"], total),
    ):
        low, high = _interval(sample, conf_level)
        frames.append(
            pd.DataFrame(
                {
                    "factor": names,
                    "index": index,
                    "estimate": estimate,
                    "low": low,
                    "high": high,
                }
            )
        )
    if second_order:
        frames.append(_second_order(names, point))
    return pd.concat(frames, ignore_index=True)


def _second_order(names: list[str], point: Any) -> pd.DataFrame:
    """SALib's second-order indices; intervals from its bootstrap of design rows."""
    rows = []
    for i, j in itertools.combinations(range(len(names)), 2):
        estimate, half = point["S2"][i, j], point["S2_conf"][i, j]
        rows.append(
            {
                "factor": f"{names[i]} x {names[j]}",
                "index": "S2",
                "estimate": estimate,
                "low": estimate - half,
                "high": estimate + half,
            }
        )
    return pd.DataFrame(rows)


def saltelli_jansen(
    a: np.ndarray, ab: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """First-order (Saltelli 2010) and total (Jansen) estimators, as SALib's.

    Args:
        a: Outputs at the A matrix, shape (N,).
        ab: Outputs at A with column i from B, shape (N, dims).
        b: Outputs at the B matrix, shape (N,).
    """
    variance = np.var(np.r_[a, b])
    if not variance > np.finfo(float).eps:
        return np.zeros(ab.shape[1]), np.zeros(ab.shape[1])
    first = np.mean(b[:, None] * (ab - a[:, None]), axis=0) / variance
    total = 0.5 * np.mean((a[:, None] - ab) ** 2, axis=0) / variance
    return first, total


def elementary_effects(x: np.ndarray, y: np.ndarray, dims: int) -> np.ndarray:
    """Morris elementary effects per trajectory and factor, shape (r, dims)."""
    steps = dims + 1
    trajectories = x.shape[0] // steps
    effects = np.full((trajectories, dims), np.nan)
    for t in range(trajectories):
        xs, ys = x[t * steps : (t + 1) * steps], y[..., t * steps : (t + 1) * steps]
        dx = np.diff(xs, axis=0)
        moved = np.argmax(np.abs(dx), axis=1)
        delta = dx[np.arange(dims), moved]
        effects[t, moved] = np.diff(ys, axis=-1) / delta
    return effects


def morris_indices(
    problem: dict[str, Any],
    unit: np.ndarray,
    matrix: np.ndarray,
    levels: int = 4,
    resamples: int = 300,
    conf_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Morris mu*, mu and sigma with replication-aware intervals for mu*.

    Effects are per full range of each factor (the design's unit coordinates).
    """
    from SALib.analyze import morris

    names, dims = problem["names"], problem["num_vars"]
    means = np.nanmean(matrix, axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = morris.analyze(
            problem, unit, means, num_resamples=10, num_levels=levels, seed=seed
        )
    rng = np.random.default_rng(seed)
    draws = _bootstrap_means(matrix, resamples, rng)
    trajectories = unit.shape[0] // (dims + 1)
    mu_star = np.empty((resamples, dims))
    for b in range(resamples):
        effects = elementary_effects(unit, draws[b], dims)
        pick = rng.integers(0, trajectories, trajectories)
        mu_star[b] = np.nanmean(np.abs(effects[pick]), axis=0)
    low, high = _interval(mu_star, conf_level)
    return pd.DataFrame(
        {
            "factor": names,
            "index": "mu_star",
            "estimate": np.asarray(point["mu_star"], dtype=float),
            "low": low,
            "high": high,
            "mu": np.asarray(point["mu"], dtype=float),
            "sigma": np.asarray(point["sigma"], dtype=float),
        }
    )


def pawn_median(x: np.ndarray, y: np.ndarray, slices: int = 10) -> np.ndarray:
    """PAWN index of each column of `x`: median KS distance over its slices.

    Each factor's range is cut into `slices` quantile slices; in each, the
    Kolmogorov-Smirnov distance between the outcome's distribution in the slice
    and over all runs is measured, and the median over slices is the index (as
    SALib's `pawn.analyze`, whose `median` this reproduces, but fast enough to
    bootstrap).
    """
    grid = np.sort(y)
    overall = np.searchsorted(grid, grid, side="right") / y.size
    cuts = np.linspace(0, 1, slices + 1)
    found = np.empty(x.shape[1])
    for column in range(x.shape[1]):
        values = x[:, column]
        edges = np.quantile(values, cuts)
        slot = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, slices - 1)
        distances = []
        for part in range(slices):
            inside = np.sort(y[slot == part])
            if inside.size:
                local = np.searchsorted(inside, grid, side="right") / inside.size
                distances.append(np.abs(local - overall).max())
        found[column] = np.median(distances)
    return found


def pawn_indices(
    problem: dict[str, Any],
    unit: np.ndarray,
    matrix: np.ndarray,
    resamples: int = 300,
    conf_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """PAWN indices, with a dummy factor, and a first-order S1 for an LHS sweep.

    PAWN compares the outcome's distribution with and without each factor held
    in a slice of its range; it needs no special design. Small samples give
    every factor a positive PAWN value, so a dummy factor (random numbers the
    model never saw) is measured alongside: a factor at or below the dummy shows
    no effect. Intervals come from the same two-stage bootstrap as Sobol's
    (design points, then replications within them), as basic bootstrap
    intervals around a bias-corrected estimate. S1 is SALib's estimate from
    the given sample, with SALib's bootstrap interval.
    """
    from SALib.analyze import delta

    means = np.nanmean(matrix, axis=1)
    keep = ~np.isnan(means)
    rng = np.random.default_rng(seed)
    x = np.column_stack([unit[keep], rng.random(int(keep.sum()))])
    point = pawn_median(x, means[keep])
    draws = _bootstrap_means(matrix[keep], resamples, rng)
    sample = np.empty((resamples, x.shape[1]))
    for b, values in enumerate(draws):
        rows = rng.integers(0, len(values), len(values))
        sample[b] = pawn_median(x[rows], values[rows])
    # Resampling repeats runs, which inflates KS distances: correct the estimate
    # by the draws' lean and reflect them around it (the basic bootstrap).
    upper, lower = _interval(sample, conf_level)
    low, high = np.clip(2 * point - lower, 0, None), 2 * point - upper
    point = np.clip(2 * point - np.median(sample, axis=0), 0, None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = delta.analyze(
            problem,
            unit[keep],
            means[keep],
            num_resamples=100,
            method="sobol",
            seed=int(seed % 2**31),
        )
    s1, half = np.asarray(first["S1"], float), np.asarray(first["S1_conf"], float)
    names = [*problem["names"], DUMMY]
    return pd.DataFrame(
        {
            "factor": [*names, *problem["names"]],
            "index": ["pawn"] * len(names) + ["S1"] * len(problem["names"]),
            "estimate": [*point, *s1],
            "low": [*low, *(s1 - half)],
            "high": [*high, *(s1 + half)],
        }
    )


DUMMY = "(dummy)"
"""A factor the model never saw: PAWN values at or below it mean no effect."""


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


# --- Factorial designs ----------------------------------------------------------


def better(results: Results, outcome: str) -> str:
    """Which way is better for an outcome column: 'higher', 'lower' or 'neither'."""
    name = outcome.split("@", 1)[0]
    return results.manifest.get("outcomes", {}).get(name, {}).get("better", "neither")


def point_table(
    results: Results, table: pd.DataFrame, outcome: str, level: float = 0.95
) -> pd.DataFrame:
    """Each design point's mean of one outcome with a t-interval over replications.

    Sorted best first where the outcome has a better direction, else highest first.
    """
    from scipy import stats

    grouped = table.groupby("point")[outcome]
    summary = grouped.agg(["mean", "std", "count"])
    t = stats.t.ppf(0.5 + level / 2, np.maximum(summary["count"] - 1, 1))
    half = t * summary["std"] / np.sqrt(summary["count"])
    summary["low"], summary["high"] = summary["mean"] - half, summary["mean"] + half
    if "total_spent" in table and outcome != "total_spent":
        summary["cost"] = table.groupby("point")["total_spent"].mean()
    points = results.design.set_index("point")[results.factors]
    ascending = better(results, outcome) == "lower"
    return points.join(summary, how="inner").sort_values("mean", ascending=ascending)


def fmt(value: float) -> str:
    """A number as a person reads it: thousands separated, four digits otherwise."""
    if value != value:
        return "-"
    if abs(value) >= 1e4:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def main_effects(results: Results, table: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """Mean outcome at each level of each factor, averaged over the other factors."""
    rows = []
    for factor in results.factors:
        by_level = table.groupby(factor)[outcome].agg(["mean", "count"])
        for value, row in by_level.iterrows():
            rows.append(
                {
                    "factor": factor,
                    "level": value,
                    "mean": row["mean"],
                    "runs": int(row["count"]),
                }
            )
    return pd.DataFrame(rows)


# --- Charts ----------------------------------------------------------------------


def fan_chart(
    results: Results, outcome: str, path: Path, by: str | None = None
) -> Path:
    """Percentile bands of a yearly outcome over the years, across runs (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results.runs[
        (results.runs["outcome"] == outcome) & results.runs["town"].isna()
    ]
    fig, ax = plt.subplots(figsize=(7, 4))
    groups = _groups(rows, by) if by else [("all runs", rows)]
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for n, (label, group) in enumerate(groups):
        q = group.groupby("year")["value"].quantile([0.05, 0.25, 0.5, 0.75, 0.95])
        q = q.unstack()
        colour = colours[n % len(colours)]
        if not by:
            ax.fill_between(
                q.index, q[0.05], q[0.95], color=colour, alpha=0.15, label="5-95%"
            )
        ax.fill_between(
            q.index,
            q[0.25],
            q[0.75],
            color=colour,
            alpha=0.3,
            label="25-75%" if not by else None,
        )
        ax.plot(q.index, q[0.5], color=colour, label=f"median, {label}")
    unit = results.manifest.get("outcomes", {}).get(outcome, {})
    ax.set_title(f"{outcome}: {unit.get('meaning', '')}", fontsize=10)
    ax.set_xlabel("year")
    ax.set_ylabel(unit.get("unit", outcome))
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _groups(rows: pd.DataFrame, by: str) -> list[tuple[str, pd.DataFrame]]:
    values = rows[by]
    if values.dtype == object or values.nunique() <= 6:
        return [(f"{by} = {v}", g) for v, g in rows.groupby(by)]
    bins = pd.qcut(values, 3, duplicates="drop")
    return [(f"{by} in {b}", g) for b, g in rows.groupby(bins, observed=True)]


MAIN_INDEX = {"sobol": "ST", "morris": "mu_star", "lhs": "pawn"}


def indices_chart(indices: pd.DataFrame, main: str, path: Path) -> Path | None:
    """One panel per outcome: each factor's main index with its interval (PNG)."""
    rows = indices[(indices["index"] == main) & indices["factor"].notna()]
    outcomes = list(dict.fromkeys(rows["outcome"]))
    if not outcomes:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(3, len(outcomes))
    lines = math.ceil(len(outcomes) / cols)
    factors = rows["factor"].nunique()
    fig, axes = plt.subplots(
        lines, cols, figsize=(4.2 * cols, (0.35 * factors + 1.2) * lines), squeeze=False
    )
    for ax, outcome in zip(axes.ravel(), outcomes, strict=False):
        part = rows[rows["outcome"] == outcome].sort_values("estimate")
        error = [part["estimate"] - part["low"], part["high"] - part["estimate"]]
        ax.barh(
            part["factor"],
            part["estimate"],
            xerr=np.clip(error, 0, None),
            color="#4c72b0",
            ecolor="#333333",
            capsize=2,
        )
        ax.set_title(outcome, fontsize=9)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(outcomes) :]:
        ax.axis("off")
    fig.suptitle(f"{main} with intervals", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def distributions(table: pd.DataFrame, outcomes: list[str], path: Path) -> Path:
    """Histograms of the per-run outcomes (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    rows = max(1, math.ceil(len(outcomes) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows))
    for ax, outcome in zip(np.ravel(axes), outcomes, strict=False):
        values = table[outcome].dropna()
        ax.hist(values, bins=min(30, max(5, values.size // 4)), color="#4c72b0")
        ax.set_title(outcome, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in np.ravel(axes)[len(outcomes) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --- Exports -----------------------------------------------------------------------


def to_ema(results: Results) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The EMA Workbench's `(experiments, outcomes)` pair, one row per finished run.

    `experiments` holds the factors and EMA's `scenario`, `policy` and `model`
    columns; `outcomes` maps each run outcome to an (n,) array and each yearly
    outcome to an (n, years) array, with `TIME` holding the years.
    """
    runs = results.runs
    if runs.empty:
        return pd.DataFrame(), {}
    table = per_run(results, years=[])
    levers = [
        f["name"]
        for f in results.manifest["design"]["factors"]
        if f["role"] == "lever" or f["role"].startswith("split")
    ]
    experiments = table[results.factors].copy()
    experiments["scenario"] = table["point"].to_numpy()
    policy = table[levers].astype(str).agg("|".join, axis=1) if levers else None
    experiments["policy"] = pd.factorize(policy)[0] if policy is not None else 0
    experiments["model"] = "townsim"
    outcomes: dict[str, np.ndarray] = {}
    for name in outcome_columns(table, results):
        outcomes[name] = table[name].to_numpy(float)
    province = runs[runs["town"].isna() & runs["year"].notna()]
    order = table["run_id"]
    for name, rows in province.groupby("outcome", sort=False):
        grid = rows.pivot(index="run_id", columns="year", values="value")
        outcomes[name] = grid.reindex(order).to_numpy(float)
        if "TIME" not in outcomes:
            years = grid.columns.to_numpy(float)
            outcomes["TIME"] = np.tile(years, (len(order), 1))
    return experiments, outcomes


def save_ema(results: Results, path: Path) -> Path:
    """Write the `(experiments, outcomes)` pair as EMA's `save_results` tarball.

    `ema_workbench.load_results(path)` reads it back for PRIM and CART.
    """
    experiments, outcomes = to_ema(results)
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, "experiments.csv", experiments.to_csv(index=False))
        meta = experiments.dtypes.astype(str).to_csv(header=False)
        _add(archive, "experiments metadata.csv", meta)
        shapes = "\n".join(f"{k},{v.shape}" for k, v in outcomes.items())
        _add(archive, "outcomes metadata.csv", shapes)
        for key, values in outcomes.items():
            text = pd.DataFrame(values).to_csv(header=False, index=False)
            _add(archive, f"{key}.csv", text)
    return path


def _add(archive: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, BytesIO(data))


# --- The report ----------------------------------------------------------------------


def analyze(
    folder: str | Path,
    out: str | Path | None = None,
    by: str | None = None,
    resamples: int | None = None,
    tidy_csv: bool = False,
) -> Path:
    """Write indices, charts, exports and a Markdown report of a sweep.

    Args:
        folder: The sweep's results folder.
        out: The report folder (default: `folder/report`).
        by: A factor to split the fan charts by.
        resamples: Bootstrap draws (default: the experiment's `analysis`).
        tidy_csv: Also write every row of every run to `runs.csv`.

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
    table = per_run(results)
    indices = sensitivity(results, table, resamples) if len(table) else pd.DataFrame()
    if not indices.empty:
        indices.to_csv(out / "indices.csv", index=False)
        indices_chart(indices, MAIN_INDEX[results.kind], out / "indices.png")
    table.to_csv(out / "per_run.csv", index=False)
    if tidy_csv and len(results.runs):
        results.runs.to_csv(out / "runs.csv", index=False)
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
        distributions(table, outcomes, out / "distributions.png")
    if len(results.runs):
        save_ema(results, out / "ema_results.tar.gz")
    text = report_text(results, table, indices, charts, out)
    (out / "report.md").write_text(text)
    return out / "report.md"


def report_text(
    results: Results,
    table: pd.DataFrame,
    indices: pd.DataFrame,
    charts: list[Path],
    out: Path,
) -> str:
    """The Markdown report: what was run, what matters most, charts, failures."""
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
        "",
    ]
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
    lines += [
        "## Files",
        "",
        "- `indices.csv`: every index with its interval (tidy)",
        "- `per_run.csv`: one row per finished run, factors and outcomes",
        "- `ema_results.tar.gz`: `ema_workbench.load_results()` reads it (PRIM, CART)",
        "",
    ]
    return "\n".join(lines)


def _factor_text(factor: dict[str, Any]) -> str:
    if factor.get("levels"):
        return f"{factor['name']} ({factor['role']}) in {factor['levels']}"
    if factor.get("low") is not None:
        return (
            f"{factor['name']} ({factor['role']}) from {factor['low']} to "
            f"{factor['high']}"
        )
    return f"{factor['name']} ({factor['role']})"


def _indices_section(results: Results, indices: pd.DataFrame) -> list[str]:
    main = MAIN_INDEX[results.kind]
    level = results.manifest["experiment"]["analysis"]["conf_level"]
    lines = [
        "## Which factor matters most",
        "",
        f"Ranked by {main} ({int(level * 100)}% intervals from a bootstrap over "
        "the design and, within each design point, over replications). "
        "'Noise' is the share of the runs' variance that comes from replication "
        "noise within design points; when it is large, add replications.",
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
    lines += _width_note(valid[valid["index"] == main], results.kind)
    notes = indices[indices["note"].notna()]
    if len(notes):
        lines += ["Not analysed:", ""]
        lines += [f"- {row.outcome}: {row.note}" for row in notes.itertuples()]
        lines.append("")
    if len(valid):
        lines += [
            "### All indices",
            "",
            "| outcome | factor | index | estimate | low | high |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {row.outcome} | {row.factor} | {row.index} | {row.estimate:.3g} | "
            f"{row.low:.3g} | {row.high:.3g} |"
            for row in valid.itertuples()
        ]
        lines.append("")
    return lines


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


def _width_note(ranked: pd.DataFrame, kind: str) -> list[str]:
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
        f"small to rank the factors with confidence. Replication noise is "
        f"{noise:.0%} of the variance, so more {more} would help most.",
        "",
    ]


def _factorial_section(results: Results, table: pd.DataFrame) -> list[str]:
    level = results.manifest["experiment"]["analysis"]["conf_level"]
    lines = [
        "## Design points",
        "",
        "Best first for outcomes with a better direction (lower for the years "
        "towns take, higher for the others), highest first for spending. `cost` "
        "is the mean money spent over the run (`total_spent`, M yuan).",
        "",
    ]
    for outcome in outcome_columns(table, results):
        ranked = point_table(results, table, outcome, level)
        if ranked["mean"].nunique() <= 1:
            continue
        direction = {"higher": "higher is better", "lower": "lower is better"}
        lines += [f"### {outcome} ({direction.get(better(results, outcome), 'cost')})"]
        lines.append("")
        header = [*results.factors, "mean", f"{int(level * 100)}% interval", "runs"]
        header += ["cost"] if "cost" in ranked else []
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for _, row in ranked.head(10).iterrows():
            cells = [str(row[f]) for f in results.factors]
            cells += [
                fmt(row["mean"]),
                f"[{fmt(row['low'])}, {fmt(row['high'])}]",
                str(int(row["count"])),
            ]
            cells += [fmt(row["cost"])] if "cost" in ranked else []
            lines.append("| " + " | ".join(cells) + " |")
        if len(ranked) > 10:
            lines.append(f"\n({len(ranked) - 10} more points in `per_run.csv`.)")
        effects = main_effects(results, table, outcome)
        lines += ["", "Main effects (mean over the other factors):", ""]
        for factor, group in effects.groupby("factor", sort=False):
            parts = ", ".join(f"{r.level}: {fmt(r.mean)}" for r in group.itertuples())
            lines.append(f"- {factor}: {parts}")
        lines.append("")
    return lines
