"""Sobol first-order and total indices of a Saltelli design, with their intervals.

The indices are SALib's, on the mean of each design point's replications; the
intervals come from a two-stage bootstrap: replications within each design point,
then the base rows of the design.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.results import bootstrap_means, interval


def sobol_indices(
    problem: dict[str, Any],
    matrix: np.ndarray,
    second_order: bool = False,
    resamples: int = 300,
    conf_level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """First-order and total Sobol indices with replication-aware intervals.

    Args:
        problem: The SALib problem (names, bounds).
        matrix: Outcome values as (design points in Saltelli order, replications).
        second_order: Whether the design holds the second-order blocks.
        resamples: Bootstrap draws.
        conf_level: Confidence level of the intervals.
        seed: Seed of the bootstrap.

    Returns:
        One row per factor and index (S1, ST): estimate, low, high.
    """
    from SALib.analyze import sobol

    names, dims = problem["names"], problem["num_vars"]
    means = np.nanmean(matrix, axis=1)
    step = 2 * dims + 2 if second_order else dims + 2
    base = means.size // step
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        point = sobol.analyze(
            problem,
            means,
            calc_second_order=second_order,
            num_resamples=resamples if second_order else 10,
            conf_level=conf_level,
            seed=seed,
        )
    rng = np.random.default_rng(seed)
    draws = bootstrap_means(matrix, resamples, rng)
    first, total = np.empty((resamples, dims)), np.empty((resamples, dims))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib warns on a draw that does not vary
        for b in range(resamples):
            rows = rng.integers(0, base, base)
            a, bb, ab, _ = sobol.separate_output_values(
                draws[b], dims, base, second_order
            )
            first[b], total[b] = first_and_total(a[rows], ab[rows], bb[rows])
    frames = []
    for index, estimate, sample in (
        ("S1", point["S1"], first),
        ("ST", point["ST"], total),
    ):
        low, high = interval(sample, conf_level)
        frames.append(
            pd.DataFrame(
                {
                    "factor": names,
                    "index": index,
                    "estimate": estimate,
                    "low": low,
                    "high": high,
                }
            )
        )
    if second_order:
        frames.append(_second_order(names, point))
    return pd.concat(frames, ignore_index=True)


def _second_order(names: list[str], point: Any) -> pd.DataFrame:
    """SALib's second-order indices; intervals from its bootstrap of design rows."""
    rows = []
    for i, j in itertools.combinations(range(len(names)), 2):
        estimate, half = point["S2"][i, j], point["S2_conf"][i, j]
        rows.append(
            {
                "factor": f"{names[i]} x {names[j]}",
                "index": "S2",
                "estimate": estimate,
                "low": estimate - half,
                "high": estimate + half,
            }
        )
    return pd.DataFrame(rows)


def first_and_total(
    a: np.ndarray, ab: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """SALib's first-order (Saltelli 2010) and total (Jansen) estimators per factor.

    The bootstrap draws its own base rows from replication-resampled outputs,
    which `sobol.analyze` cannot be given, so it calls SALib's estimators directly.

    Args:
        a: Outputs at the A matrix, shape (N,).
        ab: Outputs at A with column i from B, shape (N, dims).
        b: Outputs at the B matrix, shape (N,).
    """
    from SALib.analyze.sobol import first_order, total_order

    columns = range(ab.shape[1])
    first = [first_order(a, ab[:, i], b) for i in columns]
    total = [total_order(a, ab[:, i], b) for i in columns]
    return np.array(first, dtype=float), np.array(total, dtype=float)
