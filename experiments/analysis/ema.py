"""Exports for the EMA Workbench: its `(experiments, outcomes)` pair and tarball."""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.results import Results, outcome_columns, per_run


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
