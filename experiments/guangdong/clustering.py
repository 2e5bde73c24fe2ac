"""Adoption clusters along ties: the join-count tests of each run, summarised.

Computes, for the reference variant and for imitation of partners switched off,
each checkpoint year's and level's permutation tests over the runs; the report
renders the table and the figure.
"""

from __future__ import annotations

import pandas as pd

from experiments.guangdong.comparisons import of
from experiments.guangdong.function_models import (
    CLUSTERING_FIELDS,
    CURVE_LEVELS,
    REFERENCE,
)
from experiments.guangdong.over_seeds import mean_sd
from experiments.guangdong.patterns import Clustering

COMPARED = (REFERENCE, "no imitation of partners")
"""The variants whose clustering is compared: contagion along ties on and off."""

Tests = dict[tuple[int, int], list[Clustering]]
"""Permutation tests by (year, level), one per run that had the level in range."""


def clustering_tests(mechanisms: pd.DataFrame) -> dict[str, Tests]:
    """The tests of each compared variant's runs, by (year, level)."""
    return {name: _tests(of(mechanisms, "variant", name)) for name in COMPARED}


def _tests(rows: pd.DataFrame) -> Tests:
    found: Tests = {}
    for level in CURVE_LEVELS:
        prefix = f"clustering_level{level}_"
        part = rows[rows["outcome"].str.startswith(prefix)]
        for (year, _), run in part.groupby(["year", "replication"], sort=True):
            value = dict(zip(run["outcome"], run["value"], strict=True))
            fields = {name: value[prefix + name] for name in CLUSTERING_FIELDS}
            fields["observed"], fields["ties"] = (
                int(fields["observed"]),
                int(fields["ties"]),
            )
            found.setdefault((int(year), level), []).append(Clustering(**fields))
    return dict(sorted(found.items()))


def significant(tests: list[Clustering]) -> str:
    """How many runs' permutation tests reject chance at 5%, as 'k/n'."""
    return f"{sum(t.p_value < 0.05 for t in tests)}/{len(tests)}"


def clustering_table(tests: dict[str, Tests]) -> pd.DataFrame:
    """Per variant, year and level: the join-count ratio, z and p over runs."""
    rows = []
    for name, by_key in tests.items():
        for (year, level), found in by_key.items():
            rows.append(
                {
                    "runs": name,
                    "year": year,
                    "level >=": level,
                    "adopters": mean_sd(t.adopters for t in found),
                    "observed / expected": mean_sd(t.ratio for t in found),
                    "z": mean_sd(t.z for t in found),
                    "seeds with p < 0.05": significant(found),
                }
            )
    return pd.DataFrame(rows)
