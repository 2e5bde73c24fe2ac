"""The firms' Mesa agents: made for every firm, or only for the firms asked about.

A Mesa agent costs about 10 microseconds to make and to remove, which at half a
million firms (and their start-ups) is most of a run's time. With
`run.views = "lazy"` a firm's `Enterprise` is made the first time someone asks for
it (`model.enterprises[slot]`, the app's inspector), and results are the same:
the vectorized schedule reads arrays, not agents. The `agents` schedule always
makes every view, since Mesa's `shuffle_do` steps through them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from agents.enterprise import Enterprise

if TYPE_CHECKING:
    from agents.world import World


class FirmViews(Mapping[int, Enterprise]):
    """Live firms' `Enterprise` agents by slot, made eagerly or on first use.

    Args:
        model: The model whose firm table the agents view.
        lazy: Make an agent only when it is first asked for.
    """

    def __init__(self, model: World, lazy: bool) -> None:
        self.model = model
        self.lazy = lazy
        self._made: dict[int, Enterprise] = {}

    def __getitem__(self, slot: int) -> Enterprise:
        view = self._made.get(slot)
        if view is None:
            if not self.model.firms.alive[slot]:
                raise KeyError(f"no live firm in slot {slot}")
            view = self._made[slot] = Enterprise(self.model, slot)
        return view

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self.model.firms.alive).tolist())

    def __len__(self) -> int:
        return int(self.model.firms.alive.sum())

    def in_town(self, town: int) -> list[Enterprise]:
        """The agents of one town's live firms."""
        f, start = self.model.firms, self.model.blocks.start
        block = np.flatnonzero(f.alive[start[town] : start[town + 1]])
        return [self[int(slot)] for slot in block + start[town]]

    def born(self, slots: NDArray[np.intp]) -> None:
        """New firms took these slots: make their agents unless lazy."""
        if not self.lazy:
            for slot in slots.tolist():
                self[slot]

    def moved(self, slots: NDArray[np.intp]) -> None:
        """Town blocks widened: the agents follow their firms to `slots[slot]`."""
        made = {}
        for slot, view in self._made.items():
            view.slot = int(slots[slot])
            made[view.slot] = view
        self._made = made

    def died(self, slots: NDArray[np.intp]) -> None:
        """These firms left: remove the agents that were made."""
        if len(self._made) < slots.size:  # few agents made (lazy): check those
            alive = self.model.firms.alive
            gone = [slot for slot in self._made if not alive[slot]]
        else:
            gone = [slot for slot in slots.tolist() if slot in self._made]
        for slot in gone:
            self._made.pop(slot).remove()
