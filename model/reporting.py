"""What the model reports: DataCollector series, the town table, firm snapshots.

Province series are Mesa DataCollector model reporters, one row per step. The
town table has one row per town and year-end, with the six indices, output,
firms by level and spending by lever: the tidy frame analysts and the app read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from agents.demography import INFANT_AGE, YOUNG_AGE
from agents.systems import SYSTEMS
from model.indices import level_counts
from scenarios.schema import INDUSTRIES, LEVELS, LEVERS, PLATFORM_KINDS, REGIONS

if TYPE_CHECKING:
    from agents.world import World


def listed_firms(model: World) -> NDArray[np.bool_]:
    """Live firms of the certified towns: the firms province figures count."""
    f = model.firms
    return f.alive & model.towns.certified[f.town]


def towns_at(dimension: int) -> Callable[[World], int]:
    """Reporter: number of certified towns at a dimension."""
    return lambda m: int(((m.towns.dimension == dimension) & m.towns.certified).sum())


def firms_at(level: int) -> Callable[[World], int]:
    """Reporter: number of the certified towns' live firms at a digital level."""
    return lambda m: int((listed_firms(m) & (m.firms.level == level)).sum())


PLATFORM_COLUMNS = tuple(f"platform_{kind}" for kind in PLATFORM_KINDS)
"""The town table's columns saying which kinds of platform a town has built."""


def has_platform(built: ArrayLike) -> NDArray[np.bool_]:
    """Which towns have at least one platform, from built flags (town x kind).

    The one definition of a covered town: the 2020 plan's coverage target
    (90%) counts towns with any platform.
    """
    return np.asarray(built, dtype=bool).any(axis=-1)


def platform_coverage(built: ArrayLike) -> float:
    """Share of towns with at least one platform (`has_platform`)."""
    return float(has_platform(built).mean())


def member_share(model: World) -> float:
    """Share of the certified towns' live firms that belong to a platform."""
    alive = listed_firms(model)
    return float((model.firms.member[alive] > 0).mean()) if alive.any() else 0.0


def nominal(model: World, real: float | np.ndarray) -> float | np.ndarray:
    """Output at the current step's prices, from output at start-year prices."""
    return real * model.settings.price_index(model.year)


def young_firms(model: World) -> int:
    """Live firms younger than `YOUNG_AGE`: the denominator of their exit rate."""
    f = model.firms
    return int((f.alive & (f.age < YOUNG_AGE)).sum())


def infant_firms(model: World) -> int:
    """Live firms in their first year (younger than `INFANT_AGE`)."""
    f = model.firms
    return int((f.alive & (f.age < INFANT_AGE)).sum())


def listed_gdp(model: World) -> float:
    """Output of the certified towns, M yuan a year at start-year prices."""
    return float(model.towns.gdp[model.towns.certified].sum())


MODEL_REPORTERS: dict[str, Any] = {
    "year": "year",
    "towns": lambda m: int(m.towns.certified.sum()),
    "firms": lambda m: int(listed_firms(m).sum()),
    "gdp": listed_gdp,
    "gdp_nominal": lambda m: float(nominal(m, listed_gdp(m))),
    "coordination": lambda m: float(m.towns.coordination[m.towns.certified].mean()),
    "platform_coverage": lambda m: platform_coverage(
        m.towns.platform_built[m.towns.certified]
    ),
    "member_share": member_share,
    "entries": lambda m: m.tally.entries,
    "exits": lambda m: m.tally.exits,
    "failures": lambda m: m.tally.failures,
    "young_firms": young_firms,
    "young_exits": lambda m: m.tally.young_exits,
    "infant_firms": infant_firms,
    "infant_exits": lambda m: m.tally.infant_exits,
    **{f"towns_dimension_{d}": towns_at(d) for d in LEVELS},
    **{f"firms_level_{level}": firms_at(level) for level in LEVELS},
}
"""Province-wide series, over the certified towns (`towns` of them) and their
firms; entries, exits and failures count every simulated firm, candidate towns'
included. `gdp` is yearly value added in million yuan at the
prices of `run.start_year` (real); `gdp_nominal` is the same at the year's
prices (`Scenario.price_index`)."""


def town_record(model: World) -> dict[str, np.ndarray]:
    """The town table's rows for this moment: one per town, as columns.

    `gdp` is value added at start-year prices, `gdp_nominal` at the year's.
    """
    towns, flows = model.towns, model.ledger.flows
    counts = level_counts(model)
    n = model.n_towns
    record: dict[str, np.ndarray] = {
        "town": np.arange(n),
        "year": np.full(n, round(model.year)),
        "certified_year": towns.certified_year.copy(),
        "leading_industry": np.array(INDUSTRIES)[towns.industry],
        "region": np.array(REGIONS)[towns.region],
        "dimension": towns.dimension.copy(),
        **{s.column: towns.indices[:, i].copy() for i, s in enumerate(SYSTEMS)},
        "coordination": towns.coordination.copy(),
        "external": towns.external.copy(),
        "gdp": towns.gdp.copy(),
        "gdp_nominal": nominal(model, towns.gdp),
        "firms": towns.firms.copy(),
        **{f"firms_level_{lv}": counts[:, k] for k, lv in enumerate(LEVELS)},
        "member_share": towns.member_share.copy(),
        **{
            column: towns.platform_built[:, k].copy()
            for k, column in enumerate(PLATFORM_COLUMNS)
        },
        "infrastructure": towns.infrastructure.copy(),
        "ip_protection": towns.ip_protection.copy(),
        "talent_pool": towns.talent_pool.copy(),
    }
    for name in ("entries", "exits", "subsidies", "shared", "leaked"):
        record[name] = flows[name].copy()
    for lever in LEVERS:
        record[f"spent_{lever}"] = flows[f"spent_{lever}"].copy()
    return record


FIRM_COLUMNS = (
    "id",
    "town",
    "industry",
    "stage",
    "size",
    "level",
    "knowledge",
    "talent",
    "funds",
    "trust",
    "output",
    "profit",
    "age",
    "member",
    "university",
    "adoption_probability",
    "blocked",
    "upgraded_at",
)


def firm_frame(model: World) -> pd.DataFrame:
    """The live firms, one row each: id, slot, state and number of partners."""
    f = model.firms
    slots = np.flatnonzero(f.alive)
    frame = pd.DataFrame({name: getattr(f, name)[slots] for name in FIRM_COLUMNS})
    frame.insert(0, "slot", slots)
    frame["partners"] = f.ties[slots]
    frame["industry"] = np.array(INDUSTRIES)[frame["industry"]]
    return frame
