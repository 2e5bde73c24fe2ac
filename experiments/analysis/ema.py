"""Exports for the EMA Workbench: its `(experiments, outcomes)` pair and tarball.

The tarball has the layout `ema_workbench.save_results` writes since EMA
Workbench 3.0, so `ema_workbench.load_results` reads it as if EMA had run the
sweep: `experiments.csv`; one file per outcome, named as EMA's outcome classes
name them (`NAME.cls` for a run outcome, one value per line; `NAME.csv` for a
yearly outcome, one row per run); and `metadata.json`, each outcome's class and
file and each experiment column's dtype. EMA's experiments carry no roles, so a
`factors.csv` beside them says which factor is an uncertainty and which a lever;
EMA ignores it.

EMA groups runs by `scenario`, a combination of uncertainty values, and
`policy`, a combination of lever values (regret, for one, compares policies
within a scenario). Both are numbered here in design order; the design point
has its own column, `point`.
"""

from __future__ import annotations

import json
import tarfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.results import Results, outcome_columns, per_run, seed_text

RUN_COLUMNS = ("point", "replication", "seed", "run_id")
"""Experiment columns that identify a run rather than describe its inputs."""
EMA_COLUMNS = ("scenario", "policy", "model")
"""The columns EMA's own experiments end with."""
METADATA_VERSION = 0.1
"""The version `ema_workbench.save_results` (3.0) writes into `metadata.json`."""


def factor_roles(results: Results) -> dict[str, str]:
    """Each factor's role for EMA: `uncertainty` or `lever`.

    A split's shares are levers: the analyst chooses how to divide the budget.
    """
    return {
        factor["name"]: "uncertainty" if factor["role"] == "uncertainty" else "lever"
        for factor in results.manifest["design"]["factors"]
    }


def to_ema(results: Results) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The EMA Workbench's `(experiments, outcomes)` pair, one row per finished run.

    `experiments` holds the uncertainties, then the levers (as EMA orders
    them), the run's `point`, `replication`, `seed` (as text: see `seed_text`)
    and `run_id`, and EMA's `scenario`, `policy` and `model`; text columns are
    categorical, as EMA makes them. `outcomes` maps each run outcome to an (n,)
    array and each yearly outcome to an (n, years) array, with `TIME` holding
    the years.
    """
    if results.runs.empty:
        return pd.DataFrame(), {}
    table = per_run(results, years=[])
    roles = factor_roles(results)
    uncertainties = [name for name, role in roles.items() if role == "uncertainty"]
    levers = [name for name, role in roles.items() if role == "lever"]
    experiments = _categorical(table[[*uncertainties, *levers]].copy())
    points = table["point"].to_numpy(np.int64)
    experiments["point"] = points
    experiments["replication"] = table["replication"].to_numpy(np.int64)
    experiments["seed"] = pd.Categorical(seed_text(table["seed"]))
    experiments["run_id"] = pd.Categorical(table["run_id"].astype(str))
    experiments["scenario"] = _numbered(results.design, uncertainties, points)
    experiments["policy"] = _numbered(results.design, levers, points)
    experiments["model"] = pd.Categorical(
        [results.manifest["experiment"]["model"]] * len(table)
    )
    outcomes = {
        name: table[name].to_numpy(float) for name in outcome_columns(table, results)
    }
    outcomes.update(_yearly(results, table["run_id"]))
    return experiments, outcomes


def _categorical(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns as categories: EMA reads every text column back as one."""
    for name in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[name]):
            frame[name] = frame[name].astype("category")
    return frame


def _numbered(
    design: pd.DataFrame, columns: list[str], points: np.ndarray
) -> pd.Categorical:
    """Number each distinct combination of `columns` in design order, per run.

    Numbered over the whole design, not the finished runs, so a failed run does
    not renumber the others; with no such columns every run shares number 0.
    """
    if not columns:
        return pd.Categorical(np.zeros(len(points), dtype=np.int64))
    numbers = design.groupby(columns, sort=False, dropna=False).ngroup()
    by_point = pd.Series(numbers.to_numpy(np.int64), index=design["point"])
    return pd.Categorical(by_point.reindex(points).to_numpy(np.int64))


def _yearly(results: Results, run_ids: pd.Series) -> dict[str, np.ndarray]:
    """Province outcomes over the years as (runs, years) arrays on one year grid."""
    runs = results.runs
    province = runs[runs["town"].isna() & runs["year"].notna()]
    if province.empty:
        return {}
    years = np.sort(province["year"].unique())
    arrays = {}
    for name, rows in province.groupby("outcome", sort=False):
        grid = rows.pivot(index="run_id", columns="year", values="value")
        arrays[str(name)] = grid.reindex(index=run_ids, columns=years).to_numpy(float)
    arrays["TIME"] = np.tile(years.astype(float), (len(run_ids), 1))
    return arrays


def save_ema(results: Results, path: Path) -> Path:
    """Write the `(experiments, outcomes)` pair as EMA 3.0's `save_results` does.

    `ema_workbench.load_results(path)` reads it back for PRIM, CART and regret.
    """
    experiments, outcomes = to_ema(results)
    listed = []
    with tarfile.open(path, "w:gz") as archive:
        _add(archive, "experiments.csv", experiments.to_csv(index=False))
        for name, values in outcomes.items():
            kind, filename = _outcome_file(name, values)
            text = pd.DataFrame(values).to_csv(header=False, index=False)
            _add(archive, filename, text)
            listed.append([kind, name, filename])
        metadata = {
            "version": METADATA_VERSION,
            "outcomes": listed,
            "experiments": {k: v.name for k, v in experiments.dtypes.items()},
        }
        _add(archive, "metadata.json", json.dumps(metadata))
        _add(archive, "factors.csv", factor_table(results).to_csv(index=False))
    return path


def _outcome_file(name: str, values: np.ndarray) -> tuple[str, str]:
    """EMA's outcome class for an array and the file name that class gives it."""
    if values.ndim == 1:
        return "ScalarOutcome", f"{name}.cls"
    return "ArrayOutcome", f"{name}.csv"


def factor_table(results: Results) -> pd.DataFrame:
    """One row per factor: its name, its role for EMA and its split, if any."""
    factors = results.manifest["design"]["factors"]
    roles = factor_roles(results)
    return pd.DataFrame(
        {
            "name": [f["name"] for f in factors],
            "role": [roles[f["name"]] for f in factors],
            "split": [f["role"].partition(":")[2] for f in factors],
        }
    )


def _add(archive: tarfile.TarFile, name: str, text: str) -> None:
    data = text.encode("utf-8")
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, BytesIO(data))
