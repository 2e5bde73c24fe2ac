"""A sweep's folder, read: its manifest, design, tidy run rows and failures.

A sweep's folder reads as one tidy table; the functions here turn it into the
tables every method starts from (one row per run, or one outcome as design
points by replications) and the bootstrap shared by the indices' intervals.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.sweeps.experiment_file import ExperimentError
from experiments.sweeps.results_store import (
    DESIGN,
    FAILURES,
    RUNS,
    check_folder,
    read_manifest,
)

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
    def drawn(self) -> list[str]:
        """The posterior draw's columns (`draw`, `posterior.KEY`): not factors."""
        keys = (self.manifest.get("posterior") or {}).get("keys", [])
        return ["draw", *(f"posterior.{key}" for key in keys)] if keys else []

    @property
    def spread(self) -> str:
        """The spread over replications within a point, named for a sentence's start.

        With a posterior each replication has its own draw, so the spread
        holds the parameters' uncertainty as well as the model's randomness.
        """
        if self.manifest.get("posterior"):
            return "The spread over replications (model randomness and posterior draws)"
        return "Replication noise"

    @property
    def keys(self) -> list[str]:
        """Every column that says which run a row is of: not an outcome."""
        return [*KEYS, *self.factors, *self.drawn]

    @property
    def sampled(self) -> list[str]:
        """The factors of the SALib problem (sampled designs)."""
        return list(self.manifest["design"]["problem"]["names"])

    @property
    def kind(self) -> str:
        """The design: factorial, lhs, sobol or morris."""
        return self.manifest["design"]["kind"]


def load_results(folder: str | Path) -> Results:
    """Read a sweep's results folder (finished or not), every file checked first.

    Only run and failure files that match their checksums are read (files of
    an older townsim, without checksums, must read in full as their run).

    Raises:
        ExperimentError: If the folder is not a sweep's results folder, its
            manifest or design is damaged, or a run file fails its check.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ExperimentError(f"{folder}: no such folder")
    manifest = read_manifest(folder, needed=("experiment", "design"))
    check = check_folder(folder)
    if check.bad:
        source = manifest.get("source", "EXPERIMENT.toml")
        raise ExperimentError(
            f"{folder}: {len(check.bad)} file{'s' if len(check.bad) > 1 else ''} "
            f"failed the check: {check.bad_text()}; run `townsim sweep {source} "
            f"--out {folder}` to set them aside and run them again"
        )
    try:
        design = pd.read_parquet(folder / DESIGN)
    except (OSError, ValueError) as error:
        raise ExperimentError(
            f"{folder / DESIGN}: unreadable ({str(error).splitlines()[0][:120]}); "
            f"run `townsim sweep {manifest.get('source', 'EXPERIMENT.toml')} --out "
            f"{folder}` to write it again"
        ) from None
    return Results(
        folder=folder,
        manifest=manifest,
        design=design,
        runs=_read_files(folder / RUNS, check.good[RUNS]),
        failures=_read_files(folder / FAILURES, check.good[FAILURES]),
    )


def _read_files(folder: Path, ids: set[str]) -> pd.DataFrame:
    files = [folder / f"{run_id}.parquet" for run_id in sorted(ids)]
    if not files:
        return pd.DataFrame()
    import pyarrow.dataset as ds

    table = ds.dataset(files, format="parquet").to_table()
    return table.to_pandas().sort_values(["point", "replication"], kind="stable")


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
        return pd.DataFrame(columns=results.keys)
    years = analysis_years(results) if years is None else years
    keys = runs[results.keys].drop_duplicates("run_id")
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


def seed_text(seeds: pd.Series) -> pd.Series:
    """Seeds as digit-grouped text (`3_993_368_745_454_784_503`).

    Run seeds have up to 19 digits and spreadsheets keep 15, so a seed written as
    a number comes back rounded. Grouped with underscores it stays text in a
    spreadsheet, and Python's `int()` (so `townsim run --seed`) reads it as is.
    """
    unique = pd.unique(seeds)
    return seeds.map({seed: f"{int(seed):_d}" for seed in unique}).astype(str)


def with_text_seeds(table: pd.DataFrame) -> pd.DataFrame:
    """A copy of a table for CSV, its `seed` column as text that spreadsheets keep."""
    if "seed" not in table:
        return table
    return table.assign(seed=seed_text(table["seed"]))


def outcome_columns(table: pd.DataFrame, results: Results) -> list[str]:
    """The outcome columns of a per-run table."""
    return [c for c in table.columns if c not in results.keys]


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


def bootstrap_means(
    matrix: np.ndarray, draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Design-point means with replications resampled: shape (draws, points).

    The first stage of every index's bootstrap: each draw resamples the
    replications within every design point, so replication noise widens the
    intervals.
    """
    points, reps = matrix.shape
    pick = rng.integers(0, reps, size=(draws, points, reps))
    sampled = np.take_along_axis(matrix[None, :, :], pick, axis=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(sampled, axis=2)
    fallback = np.nanmean(matrix, axis=1)
    return np.where(np.isnan(means), fallback[None, :], means)


def interval(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The percentile interval of bootstrap draws (one column per index)."""
    tail = 100 * (1 - level) / 2
    return np.nanpercentile(draws, tail, axis=0), np.nanpercentile(
        draws, 100 - tail, axis=0
    )
