"""Firm-size tails over the run, by two estimators, against no size shocks.

The start draws sizes from a Pareto law (ODD 5), so a heavy tail at the start
is an input. What the run can show is how the tail moves from there, year by
year, with proportional size shocks (Gibrat growth) and without them
(`economy.size_volatility = 0`), on the same seeds. Two estimators that differ
in how they pick the tail: Hill's on a fixed top 10%, and the continuous
maximum-likelihood power law above an `xmin` chosen by the Kolmogorov-Smirnov
distance (Clauset, Shalizi and Newman 2009, `patterns.power_law_fit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.guangdong.comparisons import of
from experiments.guangdong.function_models import NO_SIZE_SHOCKS, REFERENCE
from experiments.guangdong.over_seeds import mean_sd, paired, paired_text
from experiments.guangdong.patterns import PowerLawFit, hill, power_law_fit

HILL_SHARE = 0.1
"""Top share of firms the Hill estimator uses."""
PROVINCE = "whole province"

Samples = dict[str, dict[int, list[np.ndarray]]]
"""Firm sizes by variant (or the province), year, then run in replication order."""


def sizes(rows: pd.DataFrame, year: int) -> list[np.ndarray]:
    """Each run's firm sizes in `year`, in replication order."""
    part = rows[(rows["outcome"] == "firm_size") & (rows["year"] == year)]
    return [run["value"].to_numpy() for _, run in part.groupby("replication")]


def size_samples(mechanisms: pd.DataFrame, province: pd.DataFrame) -> Samples:
    """The recorded sizes of the compared variants by year, and the province's start."""
    found: Samples = {}
    for name in (REFERENCE, NO_SIZE_SHOCKS):
        rows = of(mechanisms, "variant", name)
        years = sorted(rows.loc[rows["outcome"] == "firm_size", "year"].unique())
        found[name] = {int(y): sizes(rows, int(y)) for y in years}
    start = province.loc[province["outcome"] == "firm_size", "year"]
    if len(start):
        found[PROVINCE] = {int(start.min()): sizes(province, int(start.min()))}
    return found


@dataclass
class Tails:
    """Both estimates of every sample, their table, and the knock-out contrast."""

    hill: dict[str, dict[int, np.ndarray]]
    fits: dict[str, dict[int, list[PowerLawFit]]]
    table: pd.DataFrame
    contrast: pd.DataFrame
    """Per later year: each variant's change since the start, and their difference."""
    change: dict[str, dict[str, tuple[float, float]]]
    """Per estimator and variant: change of the exponent from start to end."""
    shocks_add: dict[str, tuple[float, float]]
    """Per estimator: the reference's change less the knock-out's (mean, s.e.)."""


def tails(samples: Samples) -> Tails:
    """Hill and Clauset-Shalizi-Newman exponents of every sample; the contrasts."""
    hills = {
        name: {
            y: np.array([hill(s, HILL_SHARE) for s in runs]) for y, runs in by.items()
        }
        for name, by in samples.items()
    }
    fits = {
        name: {y: [power_law_fit(s) for s in runs] for y, runs in by.items()}
        for name, by in samples.items()
    }
    estimates = {
        "Hill": hills,
        "CSN": {
            name: {y: np.array([f.alpha for f in found]) for y, found in by.items()}
            for name, by in fits.items()
        },
    }
    change, shocks_add, rows = {}, {}, []
    for estimator, by_name in estimates.items():
        change[estimator] = {}
        for name in (REFERENCE, NO_SIZE_SHOCKS):
            years = sorted(by_name[name])
            change[estimator][name] = paired(
                by_name[name][years[-1]], by_name[name][years[0]]
            )
        ref, off = by_name[REFERENCE], by_name[NO_SIZE_SHOCKS]
        start = min(ref)
        for year in sorted(ref)[1:]:
            shift_ref, shift_off = ref[year] - ref[start], off[year] - off[start]
            rows.append(
                {
                    "estimator": estimator,
                    "year": year,
                    f"change since {start}, with shocks": paired_text(
                        ref[year], ref[start]
                    ),
                    f"change since {start}, no shocks": paired_text(
                        off[year], off[start]
                    ),
                    "shocks add (paired)": paired_text(shift_ref, shift_off),
                }
            )
        end = max(ref)
        shocks_add[estimator] = paired(ref[end] - ref[start], off[end] - off[start])
    return Tails(
        hill=hills,
        fits=fits,
        table=tail_table(samples, hills, fits),
        contrast=pd.DataFrame(rows),
        change=change,
        shocks_add=shocks_add,
    )


def tail_table(
    samples: Samples,
    hills: dict[str, dict[int, np.ndarray]],
    fits: dict[str, dict[int, list[PowerLawFit]]],
) -> pd.DataFrame:
    """Per sample and year: firms, both exponents, the chosen tail, spread."""
    rows = []
    for name, by in samples.items():
        for year, runs in by.items():
            found = fits[name][year]
            rows.append(
                {
                    "runs": name,
                    "year": year,
                    "firms (mean)": f"{np.mean([s.size for s in runs]):,.0f}",
                    "Hill, top 10%": mean_sd(hills[name][year]),
                    "CSN alpha": mean_sd(f.alpha for f in found),
                    "CSN s.e. (mean)": f"{np.mean([f.se for f in found]):.3f}",
                    "CSN tail share": mean_sd(f.share for f in found),
                    "CSN KS distance": mean_sd(f.ks for f in found),
                    "largest / median": mean_sd(s.max() / np.median(s) for s in runs),
                }
            )
    return pd.DataFrame(rows)
