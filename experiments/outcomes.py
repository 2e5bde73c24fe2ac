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

LEVERS = ("talent", "funding", "ip", "platform")
PLATFORM_COLUMNS = (
    "platform_public_service",
    "platform_innovation_centre",
    "platform_ecommerce",
)


@dataclass(frozen=True)
class Outcome:
    """A named measure of a run, with its kind and meaning."""

    name: str
    kind: str
    """'yearly' (per recorded year), 'town' (per town) or 'run' (one value)."""
    unit: str
    meaning: str


def _yearly(towns: pd.DataFrame) -> dict[str, pd.Series]:
    """Province values per year, computed once per run for every yearly outcome."""
    by_year = towns.groupby("year", sort=True)
    firms = by_year["firms"].sum().clip(lower=1)
    level3 = by_year[["firms_level_3", "firms_level_4"]].sum().sum(axis=1)
    covered = towns[list(PLATFORM_COLUMNS)].any(axis=1).groupby(towns["year"]).mean()
    members = (towns["member_share"] * towns["firms"]).groupby(towns["year"]).sum()
    spent = {lever: by_year[f"spent_{lever}"].sum() for lever in LEVERS}
    dimension = towns["dimension"]
    return {
        "share_dim3plus": (dimension >= 3).groupby(towns["year"]).mean(),
        "share_dim4": (dimension >= 4).groupby(towns["year"]).mean(),
        "mean_dimension": by_year["dimension"].mean(),
        "share_firms_level3plus": level3 / firms,
        "gdp": by_year["gdp"].sum(),
        "coordination": by_year["coordination"].mean(),
        "platform_coverage": covered,
        "member_share": members / firms,
        "firms": by_year["firms"].sum().astype(float),
        **{f"spent_{lever}": series for lever, series in spent.items()},
        "spent_total": sum(spent.values()),
    }


CATALOGUE: tuple[Outcome, ...] = (
    Outcome("share_dim3plus", "yearly", "share", "towns at dimension 3 or 4"),
    Outcome("share_dim4", "yearly", "share", "towns at dimension 4 (Internet+)"),
    Outcome("mean_dimension", "yearly", "1-4", "mean dimension of the towns"),
    Outcome("share_firms_level3plus", "yearly", "share", "live firms at level 3 or 4"),
    Outcome("gdp", "yearly", "M yuan/yr", "output of all towns"),
    Outcome("coordination", "yearly", "0-1", "mean coupling coordination degree D"),
    Outcome("platform_coverage", "yearly", "share", "towns with any platform"),
    Outcome("member_share", "yearly", "share", "live firms in a platform"),
    Outcome("firms", "yearly", "firms", "live firms"),
    *(
        Outcome(f"spent_{lever}", "yearly", "M yuan/yr", f"spent on the {lever} lever")
        for lever in LEVERS
    ),
    Outcome("spent_total", "yearly", "M yuan/yr", "spent on all four levers"),
    Outcome("year_dim3", "town", "year", "first year the town is at dimension 3+"),
    Outcome("year_dim4", "town", "year", "first year the town is at dimension 4"),
    Outcome(
        "first_year_dim3",
        "run",
        "year",
        "mean over towns of the first year at dimension 3+; a town that never "
        "gets there counts as the year after the run (censored)",
    ),
    Outcome(
        "first_year_dim4",
        "run",
        "year",
        "as first_year_dim3, for dimension 4 (censored the same way)",
    ),
    Outcome("gdp_growth", "run", "per year", "compound yearly growth of output"),
    *(
        Outcome(f"total_spent_{lever}", "run", "M yuan", f"{lever} spending, all years")
        for lever in LEVERS
    ),
    Outcome("total_spent", "run", "M yuan", "spending on all levers, all years"),
)
BY_NAME = {outcome.name: outcome for outcome in CATALOGUE}


def catalogue_names() -> list[str]:
    """Names of the outcomes a townsim sweep can record."""
    return [outcome.name for outcome in CATALOGUE]


def first_year_at(towns: pd.DataFrame, dimension: int) -> pd.Series:
    """Per town, the first recorded year at `dimension` or above (NaN if never)."""
    reached = towns[towns["dimension"] >= dimension]
    first = reached.groupby("town")["year"].min()
    return first.reindex(np.sort(towns["town"].unique())).astype(float)


def _run_values(
    towns: pd.DataFrame, yearly: dict[str, pd.Series]
) -> dict[str, Callable[[], float]]:
    years = yearly["gdp"].index
    first, last = int(years.min()), int(years.max())
    after_start = yearly["gdp"].index > first

    def censored_mean(dimension: int) -> float:
        return float(first_year_at(towns, dimension).fillna(last + 1).mean())

    def growth() -> float:
        gdp = yearly["gdp"]
        if last == first or gdp.loc[first] <= 0:
            return float("nan")
        return float((gdp.loc[last] / gdp.loc[first]) ** (1 / (last - first)) - 1)

    values: dict[str, Callable[[], float]] = {
        "first_year_dim3": lambda: censored_mean(3),
        "first_year_dim4": lambda: censored_mean(4),
        "gdp_growth": growth,
        "total_spent": lambda: float(yearly["spent_total"][after_start].sum()),
    }
    for lever in LEVERS:
        values[f"total_spent_{lever}"] = lambda lever=lever: float(
            yearly[f"spent_{lever}"][after_start].sum()
        )
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
    names = outcomes or catalogue_names()
    yearly = _yearly(towns)
    run_values = _run_values(towns, yearly)
    parts = []
    for name in names:
        kind = BY_NAME[name].kind
        if kind == "yearly":
            series = yearly[name]
            if years is not None:
                series = series[series.index.isin(years)]
            parts.append(_rows(name, series.index, None, series.to_numpy()))
        elif kind == "town":
            first = first_year_at(towns, int(name[-1]))
            parts.append(_rows(name, None, first.index, first.to_numpy()))
        else:
            parts.append(_rows(name, None, None, np.array([run_values[name]()])))
    return pd.concat(parts, ignore_index=True)


def rows_from_mapping(values: dict[str, object]) -> pd.DataFrame:
    """Tidy rows from a plain function's result: scalars or {year: value} maps."""
    parts = []
    for name, value in values.items():
        if isinstance(value, dict):
            years = np.array(list(value), dtype=np.int64)
            parts.append(_rows(name, years, None, np.array(list(value.values()))))
        else:
            parts.append(_rows(name, None, None, np.array([value])))
    return pd.concat(parts, ignore_index=True)


def _rows(
    name: str,
    years: object | None,
    towns: object | None,
    values: np.ndarray,
) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "outcome": np.full(n, name, dtype=object),
            "year": pd.array(
                np.asarray(years) if years is not None else [None] * n, dtype="Int32"
            ),
            "town": pd.array(
                np.asarray(towns) if towns is not None else [None] * n, dtype="Int32"
            ),
            "value": np.asarray(values, dtype=np.float64),
        }
    )
