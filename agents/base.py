"""What all agents share: rates per step, and Mesa agents that are views on arrays.

The model keeps each kind of agent's state in columnar numpy arrays (one row a
slot). A Mesa agent object only remembers its slot; its attributes read and write
that row. So the `agents` schedule, the app's inspector and a user at the prompt
see ordinary Mesa agents, while the `vectorized` schedule works on whole columns.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def per_step(yearly: ArrayLike, steps_per_year: int) -> np.ndarray | float:
    """Turn a yearly probability (or share closed per year) into a per-step one.

    Args:
        yearly: Probability of the event within one year, in [0, 1].
        steps_per_year: Steps in one year.
    """
    return 1.0 - (1.0 - np.clip(yearly, 0.0, 1.0)) ** (1.0 / steps_per_year)


def growth_per_step(yearly: ArrayLike, steps_per_year: int) -> np.ndarray | float:
    """Turn a yearly growth rate into the per-step rate that compounds to it."""
    return (1.0 + np.asarray(yearly)) ** (1.0 / steps_per_year) - 1.0


def bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Positions of the successes among `n` Bernoulli(`p`) trials, in order.

    Drawn by geometric gaps, so the cost grows with the successes, not the trials:
    the same distribution as `np.flatnonzero(rng.random(n) < p)`.
    """
    if n == 0 or p <= 0.0:
        return np.zeros(0, dtype=np.intp)
    if p >= 0.2:
        return np.flatnonzero(rng.random(n) < p)
    found, last = [], -1
    while True:
        batch = int(n * p + 6.0 * np.sqrt(n * p) + 16)
        positions = last + np.cumsum(rng.geometric(p, size=batch))
        found.append(positions[positions < n])
        if positions[-1] >= n:
            return np.concatenate(found)
        last = int(positions[-1])


class Column:
    """An agent attribute that is one cell of a column in the model's state table.

    Args:
        table: Name of the model attribute holding the state table.
        name: Column name in that table; defaults to the attribute's own name.
    """

    def __init__(self, table: str, name: str | None = None) -> None:
        self.table = table
        self.name = name

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = self.name or name

    def __get__(self, agent: Any, owner: type | None = None) -> Any:
        if agent is None:
            return self
        column = getattr(getattr(agent.model, self.table), self.name)
        return column[agent.slot].item() if column.ndim == 1 else column[agent.slot]

    def __set__(self, agent: Any, value: Any) -> None:
        getattr(getattr(agent.model, self.table), self.name)[agent.slot] = value


class ArrayView:
    """Mixin for agents that are views on a row `slot` of a state table."""

    slot: int

    @property
    def slots(self) -> np.ndarray:
        """This agent's row as a one-element index array, for the behaviours."""
        return np.array([self.slot])


def state_of(agent: Any, table: str) -> dict[str, Any]:
    """All columns of an agent's row, for inspection and display."""
    return {
        name: value.__get__(agent)
        for klass in reversed(type(agent).__mro__)
        for name, value in vars(klass).items()
        if isinstance(value, Column) and value.table == table
    }
