"""Plain model functions for the sweep tests (importable by worker processes)."""

from __future__ import annotations

import numpy as np


def flaky(x: float, seed: int) -> dict:
    """A model that raises for large x, and otherwise reports a value and a series."""
    if x > 0.7:
        raise ValueError(f"x = {x} is too large for this toy")
    rng = np.random.default_rng(seed)
    return {"y": x + 0.1 * rng.standard_normal(), "path": {2020: x, 2021: 2 * x}}


def crash(x: float, seed: int) -> dict:
    """A model whose worker process dies (as if killed for memory) for large x."""
    if x > 0.7:
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return {"y": x}


def by_town(x: float, seed: int, scale: float, towns: int) -> object:
    """A model returning its own rows: a value per town, scaled by a fixed argument."""
    from experiments.sweeps.outcomes import Rows

    rows = Rows()
    rows.add("y", np.array([scale * x]))
    rows.add(
        "per_town",
        scale * x * np.arange(towns, dtype=float),
        years=np.full(towns, 2020),
        towns=np.arange(towns),
    )
    return rows.frame()


OPTION_EFFECT = {"a": 0.0, "b": 0.5, "c": 1.0}
"""The true value of each option of `paired_choice`: c beats b by 0.5."""


def paired_choice(option: str, budget: float, seed: int, own: float = 0.1) -> dict:
    """An option's value, plus a large shock shared by every run of one seed.

    The shared shock (s.d. 1) cancels in a comparison paired by common seeds;
    the run's own noise (s.d. `own`) does not. The budget adds its value and
    costs ten times as much; an option 'a' leaves `reached` at 0 in every run.
    """
    shared = np.random.default_rng(seed).standard_normal()
    mine = np.random.default_rng([seed, ord(option), round(budget * 1000)])
    mine = mine.standard_normal()
    value = OPTION_EFFECT[option] + budget + shared + own * mine
    return {
        "value": value,
        "total_spent": 10.0 * budget,
        "reached": 0.0 if option == "a" else 1.0 + budget,
    }


def split_budget(a: float, b: float, growth: float, seed: int) -> dict:
    """A budget split between `a` and `b` under an uncertain growth rate."""
    noise = 0.01 * float(np.random.default_rng(seed).standard_normal())
    return {"y": a * (1 + growth) + 2 * b + noise, "path": {2020: a, 2021: a + b}}


def corner(a: float, b: float, seed: int) -> dict:
    """1 in the corner a > 0.6 and b < 0.4 of the unit square, else 0."""
    return {"y": float(a > 0.6 and b < 0.4)}


def slow_tradeoff(effort: float, spread: float, seed: int, pressure: float) -> dict:
    """The tradeoff toy taking 50 ms a run, so that a test can kill a search midway."""
    import time

    from experiments.sweeps.toys import tradeoff

    time.sleep(0.05)
    return tradeoff(effort, spread, seed, pressure)


def fragile_tradeoff(effort: float, spread: float, seed: int, pressure: float) -> dict:
    """The tradeoff toy failing above effort 0.8 (in every scenario)."""
    from experiments.sweeps.toys import tradeoff

    if effort > 0.8:
        raise ValueError(f"effort = {effort} breaks this toy")
    return tradeoff(effort, spread, seed, pressure)
