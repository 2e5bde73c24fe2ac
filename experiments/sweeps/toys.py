"""Toy models with known answers, for checking a sweep and its analysis end to end.

An experiment file names one with `model = "experiments.sweeps.toys:ishigami"`; the
sweep then runs a plain function instead of the town model, and `townsim
analyze` should recover the function's known Sobol indices.
"""

from __future__ import annotations

import math

import numpy as np

ISHIGAMI_A, ISHIGAMI_B = 7.0, 0.1
ISHIGAMI_S1 = (0.3139, 0.4424, 0.0)
"""Analytic first-order indices of the Ishigami function (a=7, b=0.1)."""
ISHIGAMI_ST = (0.5576, 0.4424, 0.2437)
"""Analytic total indices of the Ishigami function (a=7, b=0.1)."""


def ishigami_value(x1: float, x2: float, x3: float) -> float:
    """The Ishigami function on [-pi, pi]^3, a standard sensitivity benchmark."""
    return (
        math.sin(x1)
        + ISHIGAMI_A * math.sin(x2) ** 2
        + ISHIGAMI_B * x3**4 * math.sin(x1)
    )


def ishigami(x1: float, x2: float, x3: float, seed: int, noise: float = 0.0) -> dict:
    """Ishigami plus optional Gaussian noise drawn from the run's seed.

    The noise stands in for a stochastic model's replication noise.
    """
    value = ishigami_value(x1, x2, x3)
    if noise:
        value += noise * float(np.random.default_rng(seed).standard_normal())
    return {"y": value}


def tradeoff(
    effort: float, spread: float, seed: int, pressure: float = 1.0, noise: float = 0.0
) -> dict:
    """Two goals in conflict, for checking a search: gain costs effort.

    `gain` = pressure * effort and `cost` = effort**2 + spread: more effort buys
    gain at a rising cost, and spread only costs. Every candidate with the least
    spread is on the Pareto front (maximise gain, minimise cost) and none with
    more is. `pressure` plays an uncertainty; `noise` a stochastic model's noise.
    """
    gain = pressure * effort
    if noise:
        gain += noise * float(np.random.default_rng(seed).standard_normal())
    return {"gain": gain, "cost": effort**2 + spread}
