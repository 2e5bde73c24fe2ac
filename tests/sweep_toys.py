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
