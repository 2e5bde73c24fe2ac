"""Factorial sweeps: design points ranked with intervals, and number formats."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.analysis.results import Results


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
    if abs(value) >= 1e3:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def number(value: float, unit: str) -> str:
    """A value in a table: a year as a date (no thousands separator), else `fmt`."""
    if unit == "year" and value == value:
        return f"{value:.1f}".removesuffix(".0")
    return fmt(value)
