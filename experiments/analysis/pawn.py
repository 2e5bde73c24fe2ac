"""PAWN indices of a Latin hypercube sweep, against a dummy factor, and its S1.

PAWN (Pianosi and Wagener 2015) compares the outcome's distribution with and
without each factor held in a slice of its range; it needs no special design.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.results import bootstrap_means, interval

DUMMY = "(dummy)"
"""A factor the model never saw: PAWN values at or below it mean no effect."""


def pawn_median(x: np.ndarray, y: np.ndarray, slices: int = 10) -> np.ndarray:
    """PAWN index of each column of `x`: median KS distance over its slices.

    Each factor's range is cut into `slices` quantile slices; in each, the
    Kolmogorov-Smirnov distance between the outcome's distribution in the slice
    and over all runs is measured, and the median over slices is the index.

    SALib's `pawn.analyze` computes the same statistic, but the bootstrap
    recomputes it hundreds of times per outcome and SALib's runs scipy's
    `ks_2samp` with its p-value for every slice, about twenty times slower. Its
    half-open slices also leave each factor's largest value out of the last
    slice, and repeated points from resampling can empty a slice. This version
    puts every point in one slice, so it can differ from SALib's by one point's
    share of a slice (about 0.01 on 400 points; a test compares them). The
    point estimate uses it too, since the bias correction subtracts the draws'
    median from it.
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
    draws = bootstrap_means(matrix[keep], resamples, rng)
    sample = np.empty((resamples, x.shape[1]))
    for b, values in enumerate(draws):
        rows = rng.integers(0, len(values), len(values))
        sample[b] = pawn_median(x[rows], values[rows])
    # Resampling repeats runs, which inflates KS distances: correct the estimate
    # by the draws' lean and reflect them around it (the basic bootstrap).
    upper, lower = interval(sample, conf_level)
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
