"""Staged S-curves: Bass fits of each level's adoption, against imitation knocked out.

Fits a Bass curve to every run's yearly share of firms at level L or above,
for the reference variant and for the variants that knock imitation out (all of
it, `imitation_q = 0`, or only imitation of partners, `partner_weight = 0`), on
the same seeds. A Bass curve fits the gates' S as well as imitation's (the
gates on funds, talent, absorptive capacity and infrastructure let firms in
over time), so the report shows what imitation adds: the paired difference in
fitted q, in the share adopted and in the year of fastest rise, level by level.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from experiments.guangdong.comparisons import of, series
from experiments.guangdong.function_models import (
    CURVE_LEVELS,
    NO_IMITATION,
    NO_PARTNER_IMITATION,
    REFERENCE,
)
from experiments.guangdong.over_seeds import mean_sd, paired, paired_text
from experiments.guangdong.patterns import BassFit, fit_bass, peak_year

KNOCK_OUTS = (NO_IMITATION, NO_PARTNER_IMITATION)
"""The variants compared with the reference: imitation off, partners' off."""
MIDDLE_YEAR = 2025
"""The year whose adoption share is compared (mid-run)."""


@dataclass
class Fits:
    """One variant's runs: shares by level and run, Bass fits and peak years."""

    years: np.ndarray
    curves: dict[int, np.ndarray]
    """Per level, runs x years of the share of firms at the level or above."""
    fits: dict[int, list[BassFit]]
    peaks: dict[int, np.ndarray]

    def q(self, level: int) -> np.ndarray:
        """Each run's fitted q (per year) at `level`."""
        return np.array([f.q for f in self.fits[level]])

    def share_in(self, level: int, year: int) -> np.ndarray:
        """Each run's share at `level` or above in `year` (the last year if later)."""
        column = int(np.searchsorted(self.years, min(year, self.years[-1])))
        return self.curves[level][:, column]


@dataclass
class SCurves:
    """Bass fits per variant, level and run, their summaries and contrasts."""

    variants: dict[str, Fits]
    table: pd.DataFrame
    """Mean ± s.d. over runs of the reference's fits, by level."""
    contrasts: pd.DataFrame
    """Reference minus each knock-out, paired over seeds (mean ± s.e.)."""
    added_q: dict[str, dict[int, tuple[float, float]]]
    """Per knock-out and level: what imitation adds to fitted q (mean, s.e.)."""
    staged: float
    """Share of reference runs whose levels peak in order (2, then 3, then 4)."""
    runs: int
    at_bound: dict[int, int]
    """Per level, reference runs whose fitted p sits at its lower bound."""
    unturned: int
    """Reference runs whose level 4 still accelerates at the end."""

    @property
    def years(self) -> np.ndarray:
        """The years of the curves."""
        return self.variants[REFERENCE].years


def fits_of(rows: pd.DataFrame) -> Fits:
    """Bass fits of every run of one variant, level by level."""
    shares = {level: series(rows, f"share_level{level}plus") for level in CURVE_LEVELS}
    years = shares[CURVE_LEVELS[0]][0].index.to_numpy()
    n = min(len(s) for found in shares.values() for s in found)
    curves = {
        level: np.array([s.to_numpy()[:n] for s in found])
        for level, found in shares.items()
    }
    years = years[:n]
    return Fits(
        years=years,
        curves=curves,
        fits={lv: [fit_bass(years, y) for y in c] for lv, c in curves.items()},
        peaks={
            lv: np.array([peak_year(years, y) for y in c]) for lv, c in curves.items()
        },
    )


def s_curves(mechanisms: pd.DataFrame) -> SCurves:
    """Fit the reference and the imitation knock-outs; contrast them per level."""
    variants = {
        name: fits_of(of(mechanisms, "variant", name))
        for name in (REFERENCE, *KNOCK_OUTS)
    }
    ref = variants[REFERENCE]
    runs = len(ref.fits[CURVE_LEVELS[0]])
    return SCurves(
        variants=variants,
        table=fit_table(ref),
        contrasts=contrast_table(variants),
        added_q={
            name: {lv: paired(ref.q(lv), variants[name].q(lv)) for lv in CURVE_LEVELS}
            for name in KNOCK_OUTS
        },
        staged=staged_share(ref),
        runs=runs,
        at_bound={lv: sum(f.p < 1e-5 for f in ref.fits[lv]) for lv in CURVE_LEVELS},
        unturned=int((ref.peaks[4] >= ref.years[-1]).sum()),
    )


def fit_table(found: Fits) -> pd.DataFrame:
    """Mean ± s.d. over runs of each level's Bass coefficients, fit and peak."""
    columns: dict[str, Any] = {
        "p (per year)": lambda f, _: f.p,
        "q (per year)": lambda f, _: f.q,
        "ceiling m": lambda f, _: f.m,
        "R²": lambda f, _: f.r2,
        "RMSE": lambda f, _: f.rmse,
        "year of fastest rise": lambda _, peak: peak,
    }
    table = pd.DataFrame(
        {
            level: {
                name: mean_sd(
                    get(f, peak)
                    for f, peak in zip(
                        found.fits[level], found.peaks[level], strict=True
                    )
                )
                for name, get in columns.items()
            }
            for level in CURVE_LEVELS
        }
    ).T
    table.index.name = "level >= L"
    return table


def contrast_table(variants: dict[str, Fits]) -> pd.DataFrame:
    """Per knock-out and level: its fits, and the reference minus it (paired)."""
    ref, end = variants[REFERENCE], int(variants[REFERENCE].years[-1])
    rows = []
    for name in KNOCK_OUTS:
        off = variants[name]
        for level in CURVE_LEVELS:
            rows.append(
                {
                    "knock-out": name,
                    "level >=": level,
                    "q, knocked out": mean_sd(off.q(level)),
                    "R², knocked out": mean_sd(f.r2 for f in off.fits[level]),
                    "q added": paired_text(ref.q(level), off.q(level)),
                    f"share {MIDDLE_YEAR} added": paired_text(
                        ref.share_in(level, MIDDLE_YEAR),
                        off.share_in(level, MIDDLE_YEAR),
                    ),
                    f"share {end} added": paired_text(
                        ref.share_in(level, end), off.share_in(level, end)
                    ),
                    "fastest rise, years earlier": paired_text(
                        off.peaks[level], ref.peaks[level]
                    ),
                }
            )
    return pd.DataFrame(rows)


def staged_share(found: Fits) -> float:
    """Share of runs whose levels peak in order, ties allowed."""
    peaks = np.column_stack([found.peaks[level] for level in CURVE_LEVELS])
    return float(np.mean(np.all(np.diff(peaks, axis=1) >= 0, axis=1)))
