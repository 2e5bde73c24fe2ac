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
    Each bootstrap draw hands SALib's `morris.analyze` the drawn trajectories
    with replication-resampled outputs.
    """
    names, dims = problem["names"], problem["num_vars"]
    means = np.nanmean(matrix, axis=1)
    point = _salib_morris(problem, unit, means, levels, seed)
    rng = np.random.default_rng(seed)
    draws = bootstrap_means(matrix, resamples, rng)
    steps = dims + 1
    rows = np.arange(unit.shape[0] // steps * steps).reshape(-1, steps)
    mu_star = np.empty((resamples, dims))
    for b in range(resamples):
        pick = rows[rng.integers(0, len(rows), len(rows))].ravel()
        mu_star[b] = _salib_morris(problem, unit[pick], draws[b][pick], levels)[
            "mu_star"
        ]
    low, high = interval(mu_star, conf_level)
    return pd.DataFrame(
        {
            "factor": names,
            "index": "mu_star",
            "estimate": point["mu_star"],
            "low": low,
            "high": high,
            "mu": point["mu"],
            "sigma": point["sigma"],
        }
    )


def _salib_morris(
    problem: dict[str, Any],
    unit: np.ndarray,
    values: np.ndarray,
    levels: int,
    seed: int = 0,
) -> dict[str, Any]:
    """SALib's Morris indices of one output, its own (unused) intervals kept small."""
    from SALib.analyze import morris

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found = morris.analyze(
            dict(problem), unit, values, num_resamples=10, num_levels=levels, seed=seed
        )
    return {
        key: np.asarray(found[key], dtype=float) for key in ("mu_star", "mu", "sigma")
    }
