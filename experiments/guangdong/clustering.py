"""Adoption clusters along ties: join-count tests against two nulls and knock-outs.

Each run tests, at each checkpoint year and level, whether adopters tie with
adopters more than reshuffled labels would: among each town's live firms, and
among the live firms of a town with the same number of ties (a null that keeps
degree, so that adopters merely having more ties is not counted as
clustering). The excess over the stratified null is compared, on the same
seeds, with the runs that knock out contagion along ties (imitation of
partners) and the rule that cross-border ties need a level (which makes
adopters tie with adopters by selection, not influence), and both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.guangdong.comparisons import of
from experiments.guangdong.function_models import (
    CLUSTERING_FIELDS,
    CURVE_LEVELS,
    NO_CONTAGION_NOR_RULE,
    NO_CROSS_BORDER_RULE,
    NO_PARTNER_IMITATION,
    REFERENCE,
    clustering_outcome,
)
from experiments.guangdong.over_seeds import mean_sd, paired
from experiments.guangdong.patterns import NULLS, Clustering

KNOCK_OUTS = (NO_PARTNER_IMITATION, NO_CROSS_BORDER_RULE, NO_CONTAGION_NOR_RULE)
COMPARED = (REFERENCE, *KNOCK_OUTS)
"""The variants whose clustering is compared."""
STRATIFIED = "town and degree"
"""The null the contrasts are measured against."""

Tests = dict[tuple[int, int], list[Clustering]]
"""Permutation tests by (year, level), one per run that had the level in range,
in replication order."""
ByNull = dict[str, Tests]
Replications = dict[tuple[int, int], list[int]]
"""The replications behind each list of `Tests`, in the same order."""


def clustering_tests(mechanisms: pd.DataFrame) -> dict[str, ByNull]:
    """The tests of each compared variant's runs, by null, then (year, level)."""
    return {
        name: {null: _tests(of(mechanisms, "variant", name), null)[0] for null in NULLS}
        for name in COMPARED
    }


def tested_runs(mechanisms: pd.DataFrame) -> dict[str, Replications]:
    """Per compared variant, the replications tested at each (year, level)."""
    return {
        name: _tests(of(mechanisms, "variant", name), STRATIFIED)[1]
        for name in COMPARED
    }


def _tests(rows: pd.DataFrame, null: str) -> tuple[Tests, Replications]:
    found: Tests = {}
    runs: Replications = {}
    for level in CURVE_LEVELS:
        names = {clustering_outcome(level, null, f): f for f in CLUSTERING_FIELDS}
        part = rows[rows["outcome"].isin(names)]
        for (year, rep), run in part.groupby(["year", "replication"], sort=True):
            value = {
                names[o]: v for o, v in zip(run["outcome"], run["value"], strict=True)
            }
            value["observed"], value["ties"] = (
                int(value["observed"]),
                int(value["ties"]),
            )
            found.setdefault((int(year), level), []).append(Clustering(**value))
            runs.setdefault((int(year), level), []).append(int(rep))
    return dict(sorted(found.items())), runs


def significant(tests: list[Clustering]) -> str:
    """How many runs' permutation tests reject chance at 5%, as 'k/n'."""
    return f"{sum(t.p_value < 0.05 for t in tests)}/{len(tests)}"


def ratios(tests: list[Clustering]) -> np.ndarray:
    """Each run's observed over expected adopter-adopter ties."""
    return np.array([t.ratio for t in tests])


def clustering_table(tests: dict[str, ByNull]) -> pd.DataFrame:
    """Per variant, year and level: the join-count ratio under each null."""
    rows = []
    for name, by_null in tests.items():
        for key, found in by_null["town"].items():
            stratified = by_null[STRATIFIED].get(key, [])
            rows.append(
                {
                    "runs": name,
                    "year": key[0],
                    "level >=": key[1],
                    "adopters": mean_sd(t.adopters for t in found),
                    "ratio, town null": mean_sd(ratios(found)),
                    "ratio, town-and-degree null": mean_sd(ratios(stratified)),
                    "z, town-and-degree null": mean_sd(t.z for t in stratified),
                    "seeds with p < 0.05": significant(stratified),
                }
            )
    return pd.DataFrame(rows)


@dataclass
class Contrast:
    """What a knock-out takes from the excess over the stratified null."""

    knock_out: str
    year: int
    level: int
    excess: float
    """The reference's mean ratio less 1 (the stratified null)."""
    taken: tuple[float, float]
    """Reference ratio minus the knock-out's, paired over seeds (mean, s.e.)."""

    @property
    def share(self) -> float:
        """Share of the reference's excess that the knock-out takes away."""
        return self.taken[0] / self.excess if self.excess else float("nan")


def contrasts(
    tests: dict[str, ByNull], runs: dict[str, Replications]
) -> list[Contrast]:
    """Every knock-out's paired contrast with the reference, by year and level.

    Paired on the replications where both had the level in range (a rare
    level may be out of range in some runs).
    """
    ref = tests[REFERENCE][STRATIFIED]
    found = []
    for name in KNOCK_OUTS:
        off = tests[name][STRATIFIED]
        for key, ref_tests in ref.items():
            if key not in off:
                continue
            a = dict(zip(runs[REFERENCE][key], ratios(ref_tests), strict=True))
            b = dict(zip(runs[name][key], ratios(off[key]), strict=True))
            common = sorted(set(a) & set(b))
            if len(common) < 2:
                continue
            x = np.array([a[r] for r in common])
            y = np.array([b[r] for r in common])
            found.append(Contrast(name, key[0], key[1], x.mean() - 1, paired(x, y)))
    return found


def contrast_table(found: list[Contrast]) -> pd.DataFrame:
    """The contrasts as a table: excess, what each knock-out takes, its share."""
    return pd.DataFrame(
        [
            {
                "knock-out": c.knock_out,
                "year": c.year,
                "level >=": c.level,
                "excess over null (reference)": f"{c.excess:.3f}",
                "taken by the knock-out (paired)": f"{c.taken[0]:+.3f} ± "
                f"{c.taken[1]:.2g}",
                "share of the excess": f"{100 * c.share:.0f}%",
            }
            for c in found
        ]
    )
