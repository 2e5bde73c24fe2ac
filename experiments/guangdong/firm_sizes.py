"""Heavy-tailed firm sizes: tail exponents at the start and the end of the runs.

Computes from the firm sizes the runs record (the town sample's reference
variant at its start and end, the whole province at its start); the report
renders the table and the figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.guangdong.comparisons import of
from experiments.guangdong.function_models import REFERENCE
from experiments.guangdong.over_seeds import mean_sd
from experiments.guangdong.patterns import hill, pareto_mle


def sizes(rows: pd.DataFrame, year: int) -> list[np.ndarray]:
    """Each run's firm sizes in `year`, in replication order."""
    part = rows[(rows["outcome"] == "firm_size") & (rows["year"] == year)]
    return [run["value"].to_numpy() for _, run in part.groupby("replication")]


def size_samples(
    mechanisms: pd.DataFrame, province: pd.DataFrame
) -> dict[str, list[np.ndarray]]:
    """The samples of firm sizes the report compares, by label."""
    sample = of(mechanisms, "variant", REFERENCE)
    years = sample.loc[sample["outcome"] == "firm_size", "year"]
    start = province.loc[province["outcome"] == "firm_size", "year"]
    return {
        "sample, start": sizes(sample, int(years.min())),
        "sample, end": sizes(sample, int(years.max())),
        "whole province, start": sizes(province, int(start.min())),
    }


def tail_table(samples: dict[str, list[np.ndarray]]) -> pd.DataFrame:
    """Hill and maximum-likelihood tail exponents of each sample, over runs."""
    rows = {}
    for label, found in samples.items():
        if not found:
            continue
        mle = [pareto_mle(s, np.quantile(s, 0.9)) for s in found]
        rows[label] = {
            "firms (mean)": f"{np.mean([s.size for s in found]):,.0f}",
            "Hill, top 10%": mean_sd(hill(s, 0.1) for s in found),
            "MLE above 90th pct": mean_sd(a for a, _ in mle),
            "MLE s.e. (mean)": f"{np.mean([e for _, e in mle]):.3f}",
            "largest / median": mean_sd(s.max() / np.median(s) for s in found),
        }
    return pd.DataFrame(rows).T
