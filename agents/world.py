"""What a behaviour may read and call: the `World` protocol.

Behaviours and Mesa agent classes are typed against `World`, never against the
model that implements it (`model.TownModel`), so the rules sit strictly below
the model: they see the tables, the rates, the clock and the random generator,
and tell the firms' agent registry who was born, moved or died.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from mesa.discrete_space import Network
from numpy.typing import NDArray

from agents.rates import Rates
from agents.sampling import Directory
from agents.streams import Streams
from agents.tables import (
    Blocks,
    Firms,
    Ledger,
    Platforms,
    Tally,
    Towns,
    Universities,
)
from scenarios.schema import GovernmentSettings, Scenario


class FirmRegistry(Protocol):
    """The firms' Mesa agents, told when firms enter, leave or change slots."""

    def born(self, slots: NDArray[np.intp]) -> None:
        """New firms took these slots."""

    def died(self, slots: NDArray[np.intp]) -> None:
        """These firms left."""

    def moved(self, slots: NDArray[np.intp]) -> None:
        """Town blocks widened: the firm in slot s now sits in `slots[s]`."""


class World(Protocol):
    """The state and services every behaviour works with.

    `firms` and `blocks` change when town blocks widen (`make_room`); the
    rest is fixed for the run or updated in place.
    """

    settings: Scenario
    rates: Rates
    streams: Streams
    """Every random number a behaviour draws (`agents.streams`)."""
    firms: Firms
    towns: Towns
    universities: Universities
    platforms: Platforms
    ledger: Ledger
    tally: Tally
    directory: Directory
    enterprises: FirmRegistry
    grid: Network
    n_towns: int
    blocks: Blocks
    """Where each town's firms sit in the firm table."""
    year: float
    """Model time: the start year plus the steps taken, in years."""
    policy: GovernmentSettings
    """The government settings in force this calendar year."""
    customized_share: float
    """Share of demand that wants customized products this step."""
