"""The province's space: a Mesa Network whose cells are towns.

A town cell holds a thousand firms or more and sees firms leave every quarter.
Mesa's cell removes an agent by a linear search of its list; this cell keeps each
agent's position so that a removal takes constant time. Order within a cell has
no meaning in the model.
"""

from __future__ import annotations

from typing import Any

from mesa.discrete_space import Cell


class TownCell(Cell):
    """A town's cell with constant-time removal of agents."""

    __slots__ = ("_where",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._where: dict[Any, int] = {}

    def add_agent(self, agent: Any) -> None:
        """Add an agent and remember where it sits in the cell's list."""
        super().add_agent(agent)
        self._where[agent] = len(self._agents) - 1

    def remove_agent(self, agent: Any) -> None:
        """Remove an agent by moving the cell's last agent into its place."""
        index = self._where.pop(agent)
        last = self._agents.pop()
        if last is not agent:
            self._agents[index] = last
            self._where[last] = index
        self.empty = self.is_empty
