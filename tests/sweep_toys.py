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
