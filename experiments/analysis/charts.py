"""Charts of a sweep: fan charts over the years, indices, distributions (PNG)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis.results import Results


def fan_chart(
    results: Results, outcome: str, path: Path, by: str | None = None
) -> Path:
    """Percentile bands of a yearly outcome over the years, across runs (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows = results.runs[
        (results.runs["outcome"] == outcome) & results.runs["town"].isna()
    ]
    fig, ax = plt.subplots(figsize=(8.5, 4))
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
    ax.set_xlabel("year (end of)")
    ax.set_ylabel(unit.get("unit", outcome))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
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


def distributions(
    table: pd.DataFrame, outcomes: list[str], path: Path, units: dict[str, str]
) -> Path:
    """Histograms of the per-run outcomes, each in its unit (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 4
    rows = max(1, math.ceil(len(outcomes) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows))
    for ax, outcome in zip(np.ravel(axes), outcomes, strict=False):
        values = table[outcome].dropna()
        ax.hist(values, bins=min(30, max(5, values.size // 4)), color="#4c72b0")
        ax.set_title(outcome, fontsize=8)
        ax.set_xlabel(units.get(outcome.split("@", 1)[0], "value"), fontsize=7)
        ax.set_ylabel("runs", fontsize=7)
        ax.tick_params(labelsize=7)
    for ax in np.ravel(axes)[len(outcomes) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
