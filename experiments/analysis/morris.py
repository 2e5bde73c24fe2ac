"""Morris elementary effects (mu*, mu, sigma) of a trajectory design, with intervals.

The indices are SALib's, on the mean of each design point's replications; the
intervals of mu* come from a two-stage bootstrap: replications within each design
point, then the trajectories.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.results import bootstrap_means, interval


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
    draws = bootstrap_means(matrix, resamples, rng)
    trajectories = unit.shape[0] // (dims + 1)
    mu_star = np.empty((resamples, dims))
    for b in range(resamples):
        effects = elementary_effects(unit, draws[b], dims)
        pick = rng.integers(0, trajectories, trajectories)
        mu_star[b] = np.nanmean(np.abs(effects[pick]), axis=0)
    low, high = interval(mu_star, conf_level)
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
