"""The record the Guangdong dynamics are fitted to, and the keys fitted.

Shared by the fit (`fit_dynamics`) and its page (`calibration_report`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

HINDCAST = "guangdong_2010"
"""The scenario the fit runs: Guangdong's towns from 2010 to 2020."""

PRIORS: dict[str, tuple[float, float]] = {
    "economy.demand_elasticity": (0.5, 2.5),
    "economy.base_exit": (0.0, 0.08),
    "economy.entry_rate": (0.0, 0.15),
    "certification.entrant_size": (0.1, 1.5),
    "province.start_output": (1.2e6, 1.45e6),
}
"""Uniform priors (low, high) of the fitted keys: wide around plausible values.

The 2010 output is a nuisance key: "more than 1.2 trillion yuan, about 28% of
GDP" fixes it only roughly, and a start fixed too low would push the growth
keys up.
"""

SHIPPED = (
    "economy.demand_elasticity",
    "economy.base_exit",
    "economy.entry_rate",
    "certification.entrant_size",
)
"""The fitted keys the `guangdong` scenario takes; the entrants' size is the
hindcast's candidates left at the end of 2015, measured on each particle's run
(`entrant_size_2015`)."""


@dataclass(frozen=True)
class Target:
    """One figure of the record: its value and whether it is a lower bound."""

    name: str
    label: str
    value: float
    lower_bound: bool = False

    def error(self, simulated: float) -> float:
        """Relative miss; a lower bound is missed only from below."""
        gap = (simulated - self.value) / self.value
        return min(gap, 0.0) if self.lower_bound else gap


TARGETS = (
    Target("output_2011", "output 2011, trillion yuan (current prices)", 1.65),
    Target("output_2012", "output 2012, trillion yuan (current prices)", 1.8, True),
    Target("output_2015", "output 2015, trillion yuan (current prices)", 2.77),
    Target("over_100bn_2015", "towns above 100 bn yuan of output value, 2015", 9),
    Target("over_10bn_2015", "towns above 10 bn yuan of output value, 2015", 141),
    Target("above_size_2015", "enterprises above designated size, 2015", 30_000),
    Target("output_2020", "output 2020, trillion yuan (current prices)", 4.0, True),
)
"""The record (ODD 6.1): output is value added at current prices. 2011: 31% of
Guangdong's 5.32 trillion yuan of GDP."""

HELD_OUT = ("output_2012",)
"""Targets a second fit leaves out, to test how well it predicts them."""

YEARS = range(2010, 2021)
"""The hindcast's years: the record's 2010 to the plan's 2020."""


@dataclass(frozen=True)
class Distance:
    """Root of the summed squared relative misses of the fitted targets."""

    fitted: tuple[str, ...]

    def __call__(self, simulated: Mapping[str, float], _record: object) -> float:
        """The distance of a simulation's summary from the record."""
        by_name = {t.name: t for t in TARGETS}
        misses = [by_name[n].error(simulated[n]) for n in self.fitted]
        return float(np.sqrt(np.sum(np.square(misses))))


def observed() -> dict[str, float]:
    """The record as pyabc's observed summary (the distance reads only targets)."""
    return {t.name: t.value for t in TARGETS}
