"""Where the listed towns' output growth comes from, year by year.

The change of the certified towns' output over a year is split, exactly, into
what the model's mechanisms explain and what it takes from outside:

- `certified`: output of the towns that joined the list that year;
- `entry`: output of the firms founded that year;
- `exit`: output, the year before, of the firms that left (negative);
- `upgrading`: survivors' higher digital levels (the level gain, and the
  customized demand a higher level reaches);
- `knowledge`: survivors' knowledge (ties, platforms, universities, R&D);
- `demand`: survivors' size, which grows with demand and its shocks
  (`Scenario.demand_growth`: `economy.market_growth` and the part that
  follows the province's GDP; `economy.size_volatility`);
- `customized_shift`: the shift of demand towards customized products at the
  survivors' levels (`economy.customized_*`);
- `prices`: the change of the price index (`prices.deflator_growth`), which
  turns real growth into nominal growth.

A survivor's output is size x efficiency x productivity x level gain x
knowledge gain x market reach (7.9), so its change is the product of one
ratio per factor; the change in yuan is shared out by the logarithmic mean
(each factor gets `L(y1, y0) x ln(ratio)`), which adds up exactly. All parts
are in M yuan a year at start-year prices, `prices` excepted, which is the
nominal change less the real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

if TYPE_CHECKING:
    from agents.world import World

PARTS = (
    "certified",
    "entry",
    "exit",
    "upgrading",
    "knowledge",
    "demand",
    "customized_shift",
)
"""The parts of the real change, in the order the table lists them."""
EXPLAINED = ("certified", "entry", "exit", "upgrading", "knowledge")
"""Parts the model's own mechanisms make; the others come from outside."""


@dataclass(frozen=True)
class Snapshot:
    """The live firms of the listed towns at a year end, and what set their output."""

    year: int
    id: NDArray[np.int64]
    town: NDArray[np.int64]
    output: NDArray[np.float64]
    level: NDArray[np.int64]
    knowledge: NDArray[np.float64]
    customized: float
    listed: NDArray[np.bool_]
    price: float

    @classmethod
    def of(cls, world: World) -> Snapshot:
        """The state at the current year end."""
        f = world.firms
        alive = np.flatnonzero(f.alive)
        order = np.argsort(f.id[alive], kind="stable")
        slots = alive[order]
        return cls(
            year=round(world.year),
            id=f.id[slots].copy(),
            town=f.town[slots].copy(),
            output=f.output[slots].astype(float),
            level=f.level[slots].astype(np.int64),
            knowledge=f.knowledge[slots].astype(float),
            customized=float(world.customized_share),
            listed=world.towns.certified.copy(),
            price=world.settings.price_index(world.year),
        )

    @property
    def listed_output(self) -> float:
        """Output of the listed towns' firms."""
        return float(self.output[self.listed[self.town]].sum())


def log_mean(after: NDArray[np.float64], before: NDArray[np.float64]) -> NDArray:
    """Logarithmic mean of two positive arrays (their common value where equal)."""
    ratio = np.log(after / before)
    same = np.abs(ratio) < 1e-12
    return np.where(same, before, (after - before) / np.where(same, 1.0, ratio))


def factors(
    world: World, before: Snapshot, after: Snapshot, a: NDArray, b: NDArray
) -> dict[str, NDArray[np.float64]]:
    """Log-ratios of each survivor's output factors (rows `a` of after, `b` of before).

    Size is what output implies once level, knowledge and reach are known,
    so the ratios multiply to the output ratio exactly.
    """
    r = world.rates
    fit = r.customized_fit
    l0, l1 = before.level[b], after.level[a]
    c0, c1 = before.customized, after.customized

    def reach(c: float, level: NDArray) -> NDArray:
        return (1.0 - c) + c * fit[level - 1]

    def level_gain(level: NDArray) -> NDArray:
        return 1.0 + r.level_gain * (level - 1)

    def knowledge_gain(k: NDArray) -> NDArray:
        return 1.0 + r.knowledge_gain * k

    upgrading = np.log(level_gain(l1) / level_gain(l0) * reach(c0, l1) / reach(c0, l0))
    knowledge = np.log(
        knowledge_gain(after.knowledge[a]) / knowledge_gain(before.knowledge[b])
    )
    shift = np.log(reach(c1, l1) / reach(c0, l1))
    total = np.log(after.output[a] / before.output[b])
    return {
        "upgrading": upgrading,
        "knowledge": knowledge,
        "customized_shift": shift,
        "demand": total - upgrading - knowledge - shift,
    }


def decompose(world: World, before: Snapshot, after: Snapshot) -> dict[str, float]:
    """One year's change of the listed towns' output, part by part (M yuan a year)."""
    kept = before.listed & after.listed  # towns listed at both ends
    joined = after.listed & ~before.listed
    now = kept[after.town]
    then = kept[before.town]
    _, a, b = np.intersect1d(
        after.id, before.id, assume_unique=True, return_indices=True
    )  # ids are unique: no sort to drop repeats
    survive = now[a] & then[b]
    a, b = a[survive], b[survive]
    born = now.copy()
    born[a] = False
    gone = then.copy()
    gone[b] = False
    weight = log_mean(after.output[a], before.output[b])
    parts = {
        "certified": float(after.output[joined[after.town]].sum()),
        "entry": float(after.output[born].sum()),
        "exit": -float(before.output[gone].sum()),
    }
    for name, ratio in factors(world, before, after, a, b).items():
        parts[name] = float((weight * ratio).sum())
    real0, real1 = before.listed_output, after.listed_output
    row = {"year": after.year, "output_before": real0}
    row |= {name: parts[name] for name in PARTS}
    row["output_after"] = real1
    row["prices"] = real1 * after.price - real0 * before.price - (real1 - real0)
    row["nominal_before"] = real0 * before.price
    row["nominal_after"] = real1 * after.price
    return row


def growth_table(rows: list[dict[str, float]]) -> pd.DataFrame:
    """The yearly decomposition as a table, one row per year (M yuan a year)."""
    return pd.DataFrame(rows, columns=GROWTH_COLUMNS)


GROWTH_COLUMNS = (
    "year",
    "output_before",
    *PARTS,
    "output_after",
    "prices",
    "nominal_before",
    "nominal_after",
)
"""The growth table's columns: real output at the two year ends (start-year
prices), the parts of its change, the price effect, and nominal output."""
