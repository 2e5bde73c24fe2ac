"""Staged S-curves: Bass fits of each level's adoption and the order of the peaks.

Computes from the reference variant's yearly shares of firms at level L or
above; the report renders the table, the reading and the figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.guangdong.comparisons import of, series
from experiments.guangdong.function_models import CURVE_LEVELS, REFERENCE
from experiments.guangdong.over_seeds import mean_sd
from experiments.guangdong.patterns import fit_bass, peak_year


@dataclass
class SCurves:
    """Bass fits per level and run, their summary and the curves themselves."""

    years: np.ndarray
    curves: dict[int, list[np.ndarray]]
    """Per level, each run's share of firms at the level or above, by year."""
    fits: list[dict[str, Any]]
    """One entry per level and run: level, replication, Bass fit, peak year."""
    table: pd.DataFrame
    staged: float
    """Share of runs whose levels peak in order (2, then 3, then 4)."""
    runs: int
    at_bound: dict[int, int]
    """Per level, runs whose fitted p sits at its lower bound."""
    unturned: int
    """Runs whose level 4 still accelerates at the end."""


def s_curves(mechanisms: pd.DataFrame) -> SCurves:
    """Fit Bass curves to every run of the reference variant, level by level."""
    rows = of(mechanisms, "variant", REFERENCE)
    fits, curves = [], {}
    shares = {level: series(rows, f"share_level{level}plus") for level in CURVE_LEVELS}
    runs = len(shares[CURVE_LEVELS[0]])
    years = shares[CURVE_LEVELS[0]][0].index.to_numpy()
    for replication in range(runs):
        for level in CURVE_LEVELS:
            share = shares[level][replication]
            x, y = share.index.to_numpy(), share.to_numpy()
            fits.append(
                {
                    "level": level,
                    "replication": replication,
                    "fit": fit_bass(x, y),
                    "peak": peak_year(x, y),
                }
            )
            curves.setdefault(level, []).append(y)
    return SCurves(
        years=years,
        curves=curves,
        fits=fits,
        table=fit_table(fits),
        staged=staged_share(fits, runs),
        runs=runs,
        at_bound={
            level: sum(x["fit"].p < 1e-5 for x in fits if x["level"] == level)
            for level in CURVE_LEVELS
        },
        unturned=sum(
            x["peak"] >= max(y["peak"] for y in fits) for x in fits if x["level"] == 4
        ),
    )


def fit_table(fits: list[dict[str, Any]]) -> pd.DataFrame:
    """Mean ± s.d. over runs of each level's Bass coefficients, fit and peak."""
    columns = {
        "p (per year)": lambda x: x["fit"].p,
        "q (per year)": lambda x: x["fit"].q,
        "q/p": lambda x: x["fit"].ratio,
        "ceiling m": lambda x: x["fit"].m,
        "R²": lambda x: x["fit"].r2,
        "RMSE": lambda x: x["fit"].rmse,
        "year of fastest rise": lambda x: x["peak"],
    }
    table = pd.DataFrame(
        {
            level: {
                name: mean_sd(get(x) for x in fits if x["level"] == level)
                for name, get in columns.items()
            }
            for level in CURVE_LEVELS
        }
    ).T
    table.index.name = "level >= L"
    return table


def staged_share(fits: list[dict[str, Any]], runs: int) -> float:
    """Share of runs whose levels peak in order, ties allowed."""
    peaks = [
        [x["peak"] for x in fits if x["replication"] == replication]
        for replication in range(runs)
    ]
    return float(np.mean([p[0] <= p[1] <= p[2] for p in peaks]))
