"""Outcomes of interest, measured from a finished run's town table.

Three kinds, all landing in one tidy long table (outcome, year, town, value):
yearly outcomes have a value per recorded year, town outcomes a value per town,
and run outcomes one value per run. Each is defined here once, from the columns of
`TownModel.town_frame()`, so a sweep and a person reading the table agree on what
a name means. Nothing here imports Mesa: the sweep driver reads the catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scenarios import LEVELS, LEVERS


@dataclass(frozen=True)
class Outcome:
    """A named measure of a run, with its kind and meaning."""

    name: str
    kind: str
    """'yearly' (per recorded year), 'town' (per town) or 'run' (one value)."""
    unit: str
    meaning: str
    better: str = "higher"
    """Which way is better for policy: 'higher', 'lower' or 'neither' (costs)."""


def _yearly(towns: pd.DataFrame) -> dict[str, pd.Series]:
    """Province values per year, computed once per run for every yearly outcome."""
    from model.reporting import PLATFORM_COLUMNS, has_platform  # workers only

    years, slot = np.unique(towns["year"].to_numpy(), return_inverse=True)
    count = np.bincount(slot).astype(float)

    def total(values: object) -> np.ndarray:
        weights = np.asarray(values, dtype=float)
        return np.bincount(slot, weights=weights, minlength=len(years))

    firms = total(towns["firms"])
    levels = [total(towns[f"firms_level_{level}"]) for level in LEVELS]
    level3 = levels[2] + levels[3]
    covered = has_platform(towns[list(PLATFORM_COLUMNS)].to_numpy())
    dimension = towns["dimension"].to_numpy()
    spent = {lever: total(towns[f"spent_{lever}"]) for lever in LEVERS}
    values = {
        "share_dim3plus": total(dimension >= 3) / count,
        "share_dim4": total(dimension >= 4) / count,
        "mean_dimension": total(dimension) / count,
        **{f"towns_dim{d}": total(dimension == d) for d in (1, 2, 3, 4)},
        "share_firms_level3plus": level3 / np.maximum(firms, 1),
        "gdp": total(towns["gdp"]),
        "gdp_nominal": total(towns["gdp_nominal"]),
        "coordination": total(towns["coordination"]) / count,
        "platform_coverage": total(covered) / count,
        "member_share": total(towns["member_share"] * towns["firms"])
        / np.maximum(firms, 1),
        "firms": firms,
        "mean_firm_level": sum(n * c for n, c in enumerate(levels, 1))
        / np.maximum(sum(levels), 1),
        "knowledge_shared": total(towns["shared"]),
        "knowledge_leaked": total(towns["leaked"]),
        "ip_protection": total(towns["ip_protection"]) / count,
        **{f"spent_{lever}": series for lever, series in spent.items()},
        "spent_total": sum(spent.values()),
    }
    index = pd.Index(years.astype(int), name="year")
    return {name: pd.Series(v, index=index) for name, v in values.items()}


CATALOGUE: tuple[Outcome, ...] = (
    Outcome("share_dim3plus", "yearly", "share", "towns at dimension 3 or 4"),
    Outcome("share_dim4", "yearly", "share", "towns at dimension 4 (Internet+)"),
    Outcome("mean_dimension", "yearly", "1-4", "mean dimension of the towns"),
    *(
        Outcome(
            f"towns_dim{d}",
            "yearly",
            "towns",
            f"listed towns at dimension {d}",
            "higher" if d >= 3 else "neither",
        )
        for d in (1, 2, 3, 4)
    ),
    Outcome("share_firms_level3plus", "yearly", "share", "live firms at level 3 or 4"),
    Outcome(
        "gdp", "yearly", "M yuan/yr, start-year prices", "output of all towns (real)"
    ),
    Outcome(
        "gdp_nominal",
        "yearly",
        "M yuan/yr, current prices",
        "output of all towns (nominal)",
        "neither",
    ),
    Outcome("coordination", "yearly", "0-1", "mean coupling coordination degree D"),
    Outcome("platform_coverage", "yearly", "share", "towns with any platform"),
    Outcome("member_share", "yearly", "share", "live firms in a platform"),
    Outcome("firms", "yearly", "firms", "live firms", "neither"),
    Outcome("mean_firm_level", "yearly", "1-4", "mean digital level of live firms"),
    Outcome(
        "knowledge_shared",
        "yearly",
        "knowledge",
        "knowledge firms gained from partners and platforms that year",
    ),
    Outcome(
        "knowledge_leaked",
        "yearly",
        "knowledge",
        "knowledge firms gained from spillovers (leaks) that year",
        "neither",
    ),
    Outcome(
        "ip_protection", "yearly", "0-1", "mean effective IP protection", "neither"
    ),
    *(
        Outcome(
            f"spent_{lever}",
            "yearly",
            "M yuan/yr, start-year prices",
            f"spent on the {lever} lever",
            "neither",
        )
        for lever in LEVERS
    ),
    Outcome(
        "spent_total",
        "yearly",
        "M yuan/yr, start-year prices",
        "spent on all four levers",
        "neither",
    ),
    Outcome(
        "year_dim3", "town", "year", "first year the town is at dimension 3+", "lower"
    ),
    Outcome(
        "year_dim4", "town", "year", "first year the town is at dimension 4", "lower"
    ),
    Outcome(
        "first_year_dim3",
        "run",
        "year",
        "mean over towns of the first year at dimension 3+; a town that never "
        "gets there counts as the year after the run (censored)",
        "lower",
    ),
    Outcome(
        "first_year_dim4",
        "run",
        "year",
        "as first_year_dim3, for dimension 4 (censored the same way)",
        "lower",
    ),
    Outcome("gdp_growth", "run", "per year", "compound yearly growth of output"),
    *(
        Outcome(
            f"total_spent_{lever}",
            "run",
            "M yuan, start-year prices",
            f"{lever} spending, all years",
            "neither",
        )
        for lever in LEVERS
    ),
    Outcome(
        "total_spent",
        "run",
        "M yuan, start-year prices",
        "spending on all levers, all years",
        "neither",
    ),
    Outcome(
        "total_knowledge_shared",
        "run",
        "knowledge",
        "knowledge gained from partners and platforms, all years",
    ),
    Outcome(
        "total_knowledge_leaked",
        "run",
        "knowledge",
        "knowledge gained from spillovers, all years",
        "neither",
    ),
)
BY_NAME = {outcome.name: outcome for outcome in CATALOGUE}


def catalogue_kinds() -> dict[str, str]:
    """Each outcome's kind: 'yearly', 'town' or 'run'."""
    return {o.name: o.kind for o in CATALOGUE}


def catalogue_names() -> list[str]:
    """Names of the outcomes a townsim sweep can record."""
    return [outcome.name for outcome in CATALOGUE]


def first_year_at(towns: pd.DataFrame, dimension: int) -> pd.Series:
    """Per town, the first recorded year at `dimension` or above (NaN if never)."""
    town = towns["town"].to_numpy()
    ids = np.unique(town)
    first = np.full(ids.size, np.inf)
    reached = towns["dimension"].to_numpy() >= dimension
    where = np.searchsorted(ids, town[reached])
    np.minimum.at(first, where, towns["year"].to_numpy()[reached].astype(float))
    first[np.isinf(first)] = np.nan
    return pd.Series(first, index=pd.Index(ids, name="town"))


def _run_values(
    towns: pd.DataFrame, yearly: dict[str, pd.Series]
) -> dict[str, Callable[[], float]]:
    gdp = yearly["gdp"]
    first, last = int(gdp.index.min()), int(gdp.index.max())
    after_start = np.asarray(gdp.index > first)

    def censored_mean(dimension: int) -> float:
        years = first_year_at(towns, dimension).to_numpy()
        return float(np.where(np.isnan(years), last + 1, years).mean())

    def growth() -> float:
        start, end = gdp.to_numpy()[0], gdp.to_numpy()[-1]
        if last == first or start <= 0:
            return float("nan")
        return float((end / start) ** (1 / (last - first)) - 1)

    def summed(name: str) -> Callable[[], float]:
        """A yearly flow summed over the years after the start."""
        return lambda: float(yearly[name].to_numpy()[after_start].sum())

    values: dict[str, Callable[[], float]] = {
        "first_year_dim3": lambda: censored_mean(3),
        "first_year_dim4": lambda: censored_mean(4),
        "gdp_growth": growth,
        "total_spent": summed("spent_total"),
        "total_knowledge_shared": summed("knowledge_shared"),
        "total_knowledge_leaked": summed("knowledge_leaked"),
    }
    for lever in LEVERS:
        values[f"total_spent_{lever}"] = summed(f"spent_{lever}")
    return values


def measure(
    towns: pd.DataFrame,
    outcomes: list[str] | None = None,
    years: list[int] | None = None,
) -> pd.DataFrame:
    """The tidy outcome rows of one run: outcome, year, town, value.

    Args:
        towns: The run's town table (`TownModel.town_frame()`).
        outcomes: Names from the catalogue (default: all of them).
        years: Years kept for yearly outcomes (default: every recorded year).
            Town and run outcomes always use the whole run.
    """
    rows = Rows()
    yearly = _yearly(towns)
    run_values = _run_values(towns, yearly)
    for name in outcomes or catalogue_names():
        kind = BY_NAME[name].kind
        if kind == "yearly":
            series = yearly[name]
            if years is not None:
                series = series[series.index.isin(years)]
            rows.add(name, series.to_numpy(), years=series.index.to_numpy())
        elif kind == "town":
            first = first_year_at(towns, int(name[-1]))
            rows.add(name, first.to_numpy(), towns=first.index.to_numpy())
        else:
            rows.add(name, np.array([run_values[name]()]))
    return rows.frame()


def rows_from_mapping(values: dict[str, object]) -> pd.DataFrame:
    """Tidy rows from a plain function's result: scalars or {year: value} maps."""
    rows = Rows()
    for name, value in values.items():
        if isinstance(value, dict):
            years = np.array(list(value), dtype=np.int64)
            rows.add(name, np.array(list(value.values()), dtype=float), years=years)
        else:
            rows.add(name, np.array([value], dtype=float))
    return rows.frame()


class Rows:
    """Collects outcome rows as arrays and makes one frame at the end (cheap)."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(
        self,
        name: str,
        values: np.ndarray,
        years: np.ndarray | None = None,
        towns: np.ndarray | None = None,
    ) -> None:
        """Add the rows of one outcome; missing years or towns are left empty."""
        empty = np.full(len(values), -1)
        self.parts.append(
            (
                name,
                np.asarray(values, dtype=float),
                empty if years is None else np.asarray(years),
                empty if towns is None else np.asarray(towns),
            )
        )

    def frame(self) -> pd.DataFrame:
        """The rows as a frame: outcome, year, town (nullable) and value."""
        names = np.concatenate(
            [np.full(len(p[1]), p[0], dtype=object) for p in self.parts]
        )
        values = np.concatenate([p[1] for p in self.parts])
        years = np.concatenate([p[2] for p in self.parts]).astype(np.int64)
        towns = np.concatenate([p[3] for p in self.parts]).astype(np.int64)
        return pd.DataFrame(
            {
                "outcome": names,
                "year": pd.arrays.IntegerArray(years.astype(np.int32), years < 0),
                "town": pd.arrays.IntegerArray(towns.astype(np.int32), towns < 0),
                "value": values,
            }
        )
