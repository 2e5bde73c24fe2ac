"""Firm demography: the early shake-out, exit rates by age, survival by variant.

Computes, from the mechanism runs, the yearly exit rates of the reference
variant, exit rates by age class over the run, and survival, failure and young
firms' exit rates of the embeddedness knock-outs paired with the reference's
(same seeds). The shake-out and the fall of exit with age are also measured
with the exit hazard flat in size and age (`economy.exit_size_elasticity = 0`,
`economy.exit_young_excess = 0`): what is left there is what selection on
inborn efficiency and thin start-up funds produces; the difference is what the
hazard's form assumes. The report renders the tables, the verdicts and the
figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from experiments.guangdong.comparisons import of, series, values
from experiments.guangdong.function_models import (
    FLAT_EXIT_HAZARD,
    NO_PARTNER_IMITATION,
    REFERENCE,
)
from experiments.guangdong.over_seeds import diff_text, mean_sd, paired, paired_text
from model.reporting import YOUNG_AGE

EARLY_YEARS = 3
"""Years of the run counted as early: the shake-out of the start population."""

AGE_CLASSES = {
    "infant": "first year",
    "adolescent": f"age 1 to {YOUNG_AGE:g} years",
    "older": f"{YOUNG_AGE:g} years and older",
}
YEARLY = (
    "exit_rate",
    "infant_exit_rate",
    "adolescent_exit_rate",
    "old_exit_rate",
    "entry_rate",
)
"""The yearly rates the figure draws."""

Paired = tuple[float, float]

EMBEDDEDNESS = (
    REFERENCE,
    NO_PARTNER_IMITATION,
    "no partner search",
    "no platforms",
    "no platform services",
)
"""The variants compared for survival: ties and platforms knocked out."""
HAZARD_COMPARED = (REFERENCE, FLAT_EXIT_HAZARD)
CONTRASTS = {
    "shakeout": f"exit rate, first {EARLY_YEARS} years minus later years",
    "infant": f"exit rate, first year minus age 1 to {YOUNG_AGE:g}",
    "adolescent": f"exit rate, age 1 to {YOUNG_AGE:g} minus {YOUNG_AGE:g} and older",
}
"""The demographic patterns as paired contrasts within a run (per year)."""


@dataclass
class Demography:
    """The demography table, the paired differences behind its verdicts, the rates."""

    table: pd.DataFrame
    shakeout: Paired
    infant: Paired
    adolescent: Paired
    survival: dict[str, Paired]
    failures: dict[str, Paired]
    young: dict[str, Paired]
    yearly: list[pd.DataFrame]
    """Each reference run's yearly rates (`YEARLY`), one row per year of the run."""
    by_hazard: dict[str, dict[str, np.ndarray]]
    """Per variant of `HAZARD_COMPARED` and contrast of `CONTRASTS`: each run's."""
    hazard_table: pd.DataFrame


def by_variant(
    mechanisms: pd.DataFrame, outcome: str, names: tuple[str, ...] = EMBEDDEDNESS
) -> dict[str, np.ndarray]:
    """One value per run of `outcome` for variants `names`, in replication order."""
    found = values(mechanisms, outcome, "variant")
    return {name: found.loc[name].sort_index().to_numpy() for name in names}


def yearly_rates(
    mechanisms: pd.DataFrame, variant: str = REFERENCE
) -> list[pd.DataFrame]:
    """Each run's yearly rates, indexed by the year of the run (1, 2, ...)."""
    rows = of(mechanisms, "variant", variant)
    columns = {name: series(rows, name) for name in YEARLY}
    frames = []
    for n in range(len(columns[YEARLY[0]])):
        frame = pd.DataFrame({name: found[n] for name, found in columns.items()})
        frames.append(frame.set_axis(np.arange(1, len(frame) + 1)))
    return frames


def within_run_contrasts(
    mechanisms: pd.DataFrame, variant: str
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """A variant's contrasts of `CONTRASTS` per run, and the rates behind them."""
    frames = yearly_rates(mechanisms, variant)
    early = np.array([f["exit_rate"].iloc[:EARLY_YEARS].mean() for f in frames])
    later = np.array([f["exit_rate"].iloc[EARLY_YEARS:].mean() for f in frames])
    by_age = {
        group: by_variant(mechanisms, f"exits_per_firm_year_{group}", (variant,))[
            variant
        ]
        for group in AGE_CLASSES
    }
    found = {
        "shakeout": early - later,
        "infant": by_age["infant"] - by_age["adolescent"],
        "adolescent": by_age["adolescent"] - by_age["older"],
    }
    return found, early, later, by_age


def hazard_table(by_hazard: dict[str, dict[str, np.ndarray]]) -> pd.DataFrame:
    """Each contrast with the exit hazard as assumed, flat, and their difference."""
    ref, flat = by_hazard[REFERENCE], by_hazard[FLAT_EXIT_HAZARD]
    return pd.DataFrame(
        [
            {
                "contrast (per year)": label,
                "hazard by size and age": paired_text(ref[key], 0 * ref[key]),
                "hazard flat (selection alone)": paired_text(flat[key], 0 * flat[key]),
                "what the hazard adds (paired)": paired_text(ref[key], flat[key]),
            }
            for key, label in CONTRASTS.items()
        ]
    )


def demography(mechanisms: pd.DataFrame) -> Demography:
    """Shake-out, exit rates by age, survival with mechanisms off."""
    frames = yearly_rates(mechanisms)
    by_hazard = {
        name: within_run_contrasts(mechanisms, name)[0] for name in HAZARD_COMPARED
    }
    _, early, later, by_age = within_run_contrasts(mechanisms, REFERENCE)
    measures = {
        "survival": by_variant(mechanisms, "survival_of_initial_firms"),
        "failures": by_variant(mechanisms, "failures_per_firm_year"),
        "young": by_variant(mechanisms, "exits_per_firm_year_young"),
    }
    against = {
        name: {
            k: paired(v, found[REFERENCE]) for k, v in found.items() if k != REFERENCE
        }
        for name, found in measures.items()
    }
    return Demography(
        table=demography_table(early, later, by_age, measures),
        shakeout=paired(early, later),
        infant=paired(by_age["infant"], by_age["adolescent"]),
        adolescent=paired(by_age["adolescent"], by_age["older"]),
        survival=against["survival"],
        failures=against["failures"],
        young=against["young"],
        yearly=frames,
        by_hazard=by_hazard,
        hazard_table=hazard_table(by_hazard),
    )


def demography_table(
    early: np.ndarray,
    later: np.ndarray,
    by_age: dict[str, np.ndarray],
    measures: dict[str, dict[str, np.ndarray]],
) -> pd.DataFrame:
    """Mean ± s.d. of every measure, with paired differences where they compare."""
    rows = [
        (f"exit rate, first {EARLY_YEARS} years (per year)", mean_sd(early), ""),
        ("exit rate, later years", mean_sd(later), diff_text(early, later)),
        *(
            (f"exit rate, {label}", mean_sd(by_age[group]), "")
            for group, label in AGE_CLASSES.items()
        ),
    ]
    rows[-2] = (*rows[-2][:2], diff_text(by_age["infant"], by_age["adolescent"]))
    rows[-1] = (*rows[-1][:2], diff_text(by_age["adolescent"], by_age["older"]))
    for label, key in (
        ("survival of initial firms", "survival"),
        ("failure rate", "failures"),
        ("young firms' exit rate", "young"),
    ):
        found = measures[key]
        for name in EMBEDDEDNESS:
            diff = "" if name == REFERENCE else diff_text(found[name], found[REFERENCE])
            rows.append((f"{label}: {name}", mean_sd(found[name]), diff))
    return pd.DataFrame(
        rows, columns=["measure", "mean ± s.d.", "paired difference ± s.e."]
    )
