"""Statistics of the patterns the model is validated against.

Plain functions of arrays and model tables, shared by the validation runs
(`function_models`), the report's sections and the statistical tests: a Bass
model fitted to a level's adoption curve, a permutation test of adoption
clustering on the partner network, tail estimates of firm sizes, firm demography
from the province series, and survival of the initial firms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit

from model import indices
from scenarios import LEVELS

if TYPE_CHECKING:
    from model import TownModel


# --- adoption curves and the Bass model -------------------------------------------


def year_ends(series: pd.DataFrame) -> pd.DataFrame:
    """The series at year ends (and the initial state)."""
    return series[series["year"] == series["year"].round()].reset_index(drop=True)


def share_at_least(series: pd.DataFrame) -> np.ndarray:
    """Share of live firms at level >= L, one row per step, columns L = 1..4.

    `model.indices.share_at_least` of the series' counts per level.
    """
    counts = series[[f"firms_level_{k}" for k in LEVELS]].to_numpy()
    return indices.share_at_least(counts)[:, 1 : len(LEVELS) + 1]


def bass(t: np.ndarray, p: float, q: float, m: float, f0: float) -> np.ndarray:
    """Cumulative Bass adoption (Bass 1969) that starts from the share `f0` at t = 0.

    The solution of dF/dt = (p + q F / m)(m - F) with F(0) = f0: level 2 is
    already under way at the start, so its curve is fitted from where it stands
    instead of from zero.
    """
    start = min(f0 / m, 1.0 - 1e-12)
    c = (1.0 - start) / (1.0 + (q / p) * start)
    e = c * np.exp(-(p + q) * np.asarray(t, dtype=float))
    return m * (1.0 - e) / (1.0 + (q / p) * e)


@dataclass
class BassFit:
    """Fitted Bass coefficients (per year), the start share and the fit."""

    p: float
    q: float
    m: float
    f0: float
    r2: float
    rmse: float

    @property
    def ratio(self) -> float:
        """Q / p: imitation against innovation; above 1 the curve is S-shaped."""
        return self.q / self.p

    def curve(self, t: np.ndarray) -> np.ndarray:
        """The fitted cumulative share at times `t` (years since the start)."""
        return bass(t, self.p, self.q, self.m, self.f0)


def fit_bass(years: np.ndarray, share: np.ndarray) -> BassFit:
    """Least-squares Bass fit of a cumulative adoption share over the years.

    The curve starts at the observed first share; p, q and the ceiling m are
    fitted, with p and q positive and m between the largest share and 1.
    """
    t = np.asarray(years, dtype=float) - float(years[0])
    y = np.asarray(share, dtype=float)
    f0, top = float(y[0]), max(float(y.max()), 1e-3)

    def model(tt: np.ndarray, p: float, q: float, m: float) -> np.ndarray:
        return bass(tt, p, q, m, f0)

    start = (0.01, 0.4, min(1.0, top * 1.05))
    bounds = ([1e-6, 1e-4, top], [1.0, 5.0, 1.0 + 1e-9])
    params, _ = curve_fit(model, t, y, p0=start, bounds=bounds, maxfev=20_000)
    residual = y - model(t, *params)
    total = float(((y - y.mean()) ** 2).sum())
    r2 = 1.0 - float((residual**2).sum()) / total if total > 0 else float("nan")
    rmse = float(np.sqrt((residual**2).mean()))
    return BassFit(*map(float, params), f0=f0, r2=r2, rmse=rmse)


def peak_year(years: np.ndarray, share: np.ndarray) -> float:
    """Year of the fastest rise of a cumulative share (yearly differences)."""
    rise = np.diff(share)
    return float(years[1:][int(np.argmax(rise))])


# --- clustering of adoption on the partner network --------------------------------


def tie_pairs(model: TownModel) -> np.ndarray:
    """Each tie between two live firms once, as (slot, slot) rows."""
    f = model.firms
    rows, cols = np.nonzero(f.partners >= 0)
    a, b = rows, f.partners[rows, cols].astype(np.int64)
    keep = (a < b) & f.alive[a] & f.alive[b]
    return np.column_stack([a[keep], b[keep]])


@dataclass
class Clustering:
    """Ties joining two adopters: observed, under reshuffles, and the test."""

    observed: int
    expected: float
    sd: float
    p_value: float
    ties: int
    adopters: float

    @property
    def ratio(self) -> float:
        """Observed over expected adopter-adopter ties."""
        return self.observed / self.expected if self.expected else float("nan")

    @property
    def z(self) -> float:
        """Standardised excess of adopter-adopter ties."""
        return (self.observed - self.expected) / self.sd if self.sd else float("nan")


def adoption_clustering(
    model: TownModel, level: int, permutations: int, rng: np.random.Generator
) -> Clustering:
    """Permutation test: do adopters (level >= `level`) tie with each other more?

    The statistic counts ties whose two ends are both adopters (a join count).
    Adopter labels are reshuffled among each town's live firms, so the null
    keeps every town's adoption share and the network itself: only who adopted
    within a town is random. One-sided p-value with the +1 correction.
    """
    f = model.firms
    pairs = tie_pairs(model)
    live = np.flatnonzero(f.alive)
    adopted = f.level >= level
    observed = int((adopted[pairs[:, 0]] & adopted[pairs[:, 1]]).sum())
    town = f.town[live]
    order = np.argsort(town, kind="stable")
    live, town = live[order], town[order]
    bounds = np.flatnonzero(np.diff(town)) + 1
    groups = np.split(np.arange(live.size), bounds)
    null = np.empty(permutations)
    labels = adopted.copy()
    for n in range(permutations):
        shuffled = adopted[live].copy()
        for g in groups:
            shuffled[g] = rng.permutation(shuffled[g])
        labels[live] = shuffled
        null[n] = (labels[pairs[:, 0]] & labels[pairs[:, 1]]).sum()
    p = (1 + int((null >= observed).sum())) / (permutations + 1)
    return Clustering(
        observed=observed,
        expected=float(null.mean()),
        sd=float(null.std(ddof=1)),
        p_value=p,
        ties=int(pairs.shape[0]),
        adopters=float(adopted[live].mean()),
    )


# --- heavy tails --------------------------------------------------------------------


def ccdf(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted values and the share of values at least as large (empirical CCDF)."""
    x = np.sort(np.asarray(values, dtype=float))
    return x, 1.0 - np.arange(x.size) / x.size


def hill(values: np.ndarray, tail_share: float = 0.1) -> float:
    """Hill estimate of the Pareto tail exponent from the largest `tail_share`."""
    x = np.sort(np.asarray(values, dtype=float))[::-1]
    k = max(int(tail_share * x.size), 2)
    return float(1.0 / np.mean(np.log(x[:k] / x[k])))


def pareto_mle(values: np.ndarray, xmin: float) -> tuple[float, float]:
    """Continuous power-law MLE of the CCDF exponent above `xmin`, with its s.e.

    Clauset, Shalizi and Newman (2009): alpha_ccdf = n / sum(log(x / xmin)).
    """
    x = np.asarray(values, dtype=float)
    x = x[x >= xmin]
    alpha = x.size / float(np.log(x / xmin).sum())
    return float(alpha), float(alpha / np.sqrt(x.size))


# --- demography ----------------------------------------------------------------------


PREFIXES = {"all": "", "infant": "infant_", "young": "young_"}
"""Age classes the model series count directly (firms at risk, exits)."""
DIFFERENCES = {"adolescent": ("young", "infant"), "older": ("all", "young")}
"""Age classes that are one counted class less another."""


def class_counts(series: pd.DataFrame, group: str) -> tuple[pd.Series, pd.Series]:
    """Firms at risk and exits of one age class, per step (initial row left out)."""
    s = series.iloc[1:]
    if group in PREFIXES:
        return s[f"{PREFIXES[group]}firms"], s[f"{PREFIXES[group]}exits"]
    (firms, exits), (less_firms, less_exits) = (
        class_counts(series, g) for g in DIFFERENCES[group]
    )
    return firms - less_firms, exits - less_exits


def per_firm_year(events: pd.Series, firms: pd.Series, steps_per_year: int) -> float:
    """Events over the firm-years at risk across a run."""
    return float(events.sum() / max(firms.sum() / steps_per_year, 1))


def exit_rate(series: pd.DataFrame, group: str, steps_per_year: int) -> float:
    """Exits over firm-years at risk across a run, for one age class of firms."""
    firms, exits = class_counts(series, group)
    return per_firm_year(exits, firms, steps_per_year)


def failure_rate(series: pd.DataFrame, steps_per_year: int) -> float:
    """Exits because funds and credit ran out, over firm-years, across a run."""
    s = series.iloc[1:]
    return per_firm_year(s["failures"], s["firms"], steps_per_year)


def yearly_demography(series: pd.DataFrame, steps_per_year: int) -> pd.DataFrame:
    """Per simulated year: exit rates overall and by age class, and the entry rate.

    Age classes: infant (first year), young (under `YOUNG_AGE` years, infants
    included), adolescent (young but past the first year) and older. Rates are
    exits in the year over the mean number of firms at risk in the class across
    its steps; the first row of the series (the initial state) is left out.
    """
    s = series.iloc[1:].copy()
    s["year_no"] = np.arange(len(s)) // steps_per_year + 1
    s["old_firms"] = s["firms"] - s["young_firms"]
    s["old_exits"] = s["exits"] - s["young_exits"]
    s["adolescent_firms"] = s["young_firms"] - s["infant_firms"]
    s["adolescent_exits"] = s["young_exits"] - s["infant_exits"]
    classes = ["young", "old", "infant", "adolescent"]
    sums = s.groupby("year_no")[
        ["exits", "entries", *(f"{c}_exits" for c in classes)]
    ].sum()
    means = s.groupby("year_no")[["firms", *(f"{c}_firms" for c in classes)]].mean()
    rates = {
        f"{c}_exit_rate": sums[f"{c}_exits"] / means[f"{c}_firms"].clip(lower=1)
        for c in classes
    }
    return pd.DataFrame(
        {
            "exit_rate": sums["exits"] / means["firms"],
            **rates,
            "entry_rate": sums["entries"] / means["firms"],
        }
    )


def survival_of_initial_firms(model: TownModel) -> float:
    """Share of the firms alive at the start that are still alive at the end.

    Start-ups enter at age 0, so a live firm at least as old as the run is one of
    the initial firms.
    """
    s = model.settings
    elapsed = model.steps / s.run.steps_per_year
    f = model.firms
    survivors = int((f.alive & (f.age >= elapsed - 1e-9)).sum())
    return survivors / (s.province.towns * s.province.firms_per_town)
