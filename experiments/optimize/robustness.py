"""Robustness measures: one figure per candidate from its values over scenarios.

Every measure reads a matrix of values, one row per candidate and one column per
scenario (each cell already averaged over the seeds), in the outcome's own units.
A candidate with a missing value (a failed run) gets NaN. `to_minimise` turns a
figure into what the search minimises, whatever the direction.
"""

from __future__ import annotations

import numpy as np

from experiments.optimize.search_file import Objective


def mean(values: np.ndarray) -> np.ndarray:
    """The mean over scenarios: expected performance, scenarios equally likely."""
    return values.mean(axis=1)


def percentile(values: np.ndarray, q: float) -> np.ndarray:
    """The q-th percentile over scenarios (linear interpolation between them).

    A low percentile of something to maximise is a cautious figure: what the
    candidate achieves in all but the worst scenarios.
    """
    return np.percentile(values, q, axis=1)


def best_per_scenario(values: np.ndarray, direction: str) -> np.ndarray:
    """The best value any candidate reaches in each scenario (failures ignored)."""
    finite = np.where(
        np.isnan(values), -np.inf if direction == "max" else np.inf, values
    )
    return finite.max(axis=0) if direction == "max" else finite.min(axis=0)


def regret(values: np.ndarray, direction: str, best: np.ndarray) -> np.ndarray:
    """Savage's regret: the largest shortfall from the best candidate, over scenarios.

    Args:
        values: Candidates by scenarios.
        direction: 'max' or 'min'.
        best: The best value per scenario among the candidates compared
            (`best_per_scenario`); regret is relative to them.
    """
    shortfall = best - values if direction == "max" else values - best
    return shortfall.max(axis=1)


def satisficing(values: np.ndarray, direction: str, threshold: float) -> np.ndarray:
    """The share of scenarios in which the candidate meets the threshold.

    Meeting it means reaching at least the threshold (max) or staying at or below
    it (min). A candidate with a failed run gets NaN rather than a share.
    """
    met = values >= threshold if direction == "max" else values <= threshold
    share = met.mean(axis=1)
    return np.where(np.isnan(values).any(axis=1), np.nan, share)


def measure(
    values: np.ndarray, objective: Objective, best: np.ndarray | None = None
) -> np.ndarray:
    """The objective's robustness figure of each candidate (rows of `values`).

    Args:
        values: Candidates by scenarios, in the outcome's units.
        objective: Which measure, direction, percentile or threshold.
        best: For regret: the best value per scenario to compare against
            (default: the best among these candidates).
    """
    kind = objective.robustness
    if kind == "mean":
        return mean(values)
    if kind == "percentile":
        return percentile(values, objective.percentile)
    if kind == "regret":
        if best is None:
            best = best_per_scenario(values, objective.direction)
        return regret(values, objective.direction, best)
    return satisficing(values, objective.direction, objective.threshold)


def higher_is_better(objective: Objective) -> bool:
    """Whether a larger figure is better: regret is always a cost, a share a gain."""
    if objective.robustness == "regret":
        return False
    if objective.robustness == "satisficing":
        return True
    return objective.direction == "max"


def to_minimise(figures: np.ndarray, objective: Objective) -> np.ndarray:
    """The figures as the search minimises them (negated when larger is better)."""
    return -figures if higher_is_better(objective) else figures
