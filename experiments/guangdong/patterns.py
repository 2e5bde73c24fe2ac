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


NULLS = {
    "town": "adopter labels reshuffled among each town's live firms",
    "town and degree": (
        "adopter labels reshuffled among the live firms of one town with the "
        "same number of ties"
    ),
}
"""The null models of the join-count test: what each reshuffle keeps."""


def join_count_test(
    adopted: np.ndarray,
    pairs: np.ndarray,
    strata: np.ndarray,
    permutations: int,
    rng: np.random.Generator,
) -> Clustering:
    """Join-count test of adopter labels on a network against stratified reshuffles.

    `adopted` and `strata` hold one entry per node; `pairs` the ties as rows
    of two node indices. The statistic counts ties whose two ends are both
    adopters. Each reshuffle permutes the labels within every stratum (nodes
    sorted by stratum, then by a uniform key), so the null keeps each stratum's
    number of adopters and the network itself. One-sided p-value with the +1
    correction.
    """
    adopted = np.asarray(adopted, dtype=bool)
    observed = int((adopted[pairs[:, 0]] & adopted[pairs[:, 1]]).sum())
    order = np.argsort(strata, kind="stable")
    _, stratum = np.unique(np.asarray(strata)[order], return_inverse=True)
    sorted_labels = adopted[order]
    labels = np.empty_like(adopted)
    null = np.empty(permutations)
    for n in range(permutations):
        shuffle = np.argsort(stratum + rng.random(stratum.size), kind="stable")
        labels[order] = sorted_labels[shuffle]
        null[n] = (labels[pairs[:, 0]] & labels[pairs[:, 1]]).sum()
    p = (1 + int((null >= observed).sum())) / (permutations + 1)
    return Clustering(
        observed=observed,
        expected=float(null.mean()),
        sd=float(null.std(ddof=1)),
        p_value=p,
        ties=int(pairs.shape[0]),
        adopters=float(adopted.mean()),
    )


def adoption_clustering(
    model: TownModel,
    level: int,
    permutations: int,
    rng: np.random.Generator,
    null: str = "town",
) -> Clustering:
    """Permutation test: do adopters (level >= `level`) tie with each other more?

    Join-count test (`join_count_test`) on the live firms' partner network.
    With `null = "town"` adopter labels are reshuffled among each town's live
    firms (the null keeps every town's adoption share); with `"town and
    degree"` among the live firms of a town with the same number of ties, so
    that adopters having more ties (cross-border ties need a level) does not
    count as clustering.
    """
    f = model.firms
    live = np.flatnonzero(f.alive)
    slot_to_node = np.full(f.alive.size, -1, dtype=np.int64)
    slot_to_node[live] = np.arange(live.size)
    pairs = slot_to_node[tie_pairs(model)]
    town = f.town[live].astype(np.int64)
    if null == "town":
        strata = town
    elif null == "town and degree":
        strata = town * (int(f.ties.max(initial=0)) + 1) + f.ties[live]
    else:
        raise ValueError(f"unknown null {null!r}: one of {list(NULLS)}")
    adopted = f.level[live] >= level
    return join_count_test(adopted, pairs, strata, permutations, rng)


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
    """Continuous power-law MLE of the CCDF exponent above a given `xmin`, with s.e.

    Clauset, Shalizi and Newman (2009), eq. 3.1 less one: alpha_ccdf = n /
    sum(log(x / xmin)). With `xmin` the (k+1)-th largest value this is the
    Hill estimator of the top k, so it is no second opinion on its own:
    `power_law_fit` also chooses `xmin`.
    """
    x = np.asarray(values, dtype=float)
    x = x[x >= xmin]
    alpha = x.size / float(np.log(x / xmin).sum())
    return float(alpha), float(alpha / np.sqrt(x.size))


@dataclass
class PowerLawFit:
    """A continuous power law fitted above a chosen `xmin` (CCDF exponent)."""

    alpha: float
    """Exponent of the complementary CDF, P(S >= s) ~ s^-alpha (pdf: alpha + 1)."""
    se: float
    xmin: float
    tail: int
    """Values at or above `xmin`."""
    ks: float
    """Kolmogorov-Smirnov distance of the tail from the fitted law."""
    share: float
    """Share of all values in the tail."""


def power_law_fit(
    values: np.ndarray, candidates: int = 200, min_tail: int = 50
) -> PowerLawFit:
    """Power-law tail by the method of Clauset, Shalizi and Newman (2009).

    For each candidate `xmin` the exponent is the continuous maximum-likelihood
    estimate above it, alpha_ccdf = n / sum(log(x / xmin)) (their eq. 3.1 less
    one), and the chosen `xmin` is the one whose tail is closest to its fitted
    law in Kolmogorov-Smirnov distance (their section 3.3). Candidates are the
    distinct values at `candidates` evenly spaced quantiles of log size, from
    the smallest up to the one that leaves `min_tail` values above it (a grid
    instead of every distinct value, to keep a province of 100,000 firms fast).
    Unlike the Hill estimator on a fixed top share, the tail's extent is
    estimated, so the two estimates differ where the distribution is not a
    power law from the top share down. The s.e. is alpha / sqrt(n) (their
    eq. 3.2), given `xmin`.
    """
    x = np.sort(np.asarray(values, dtype=float))
    x = x[x > 0]
    if x.size < min_tail + 1:
        raise ValueError(f"{x.size} positive values: a tail fit needs {min_tail + 1}")
    logs = np.log(x)
    top = x.size - min_tail
    grid = np.unique(
        np.searchsorted(x, np.exp(np.linspace(logs[0], logs[top], candidates)))
    )
    suffix = np.concatenate([np.cumsum(logs[::-1])[::-1], [0.0]])
    best: PowerLawFit | None = None
    for start in grid[grid <= top]:
        start = int(np.searchsorted(x, x[start]))  # ties: the whole value in the tail
        n = x.size - start
        xmin = x[start]
        alpha = n / (suffix[start] - n * np.log(xmin))
        if not np.isfinite(alpha) or alpha <= 0:
            continue
        tail = x[start:]
        empirical = np.arange(n) / n  # share of the tail below each value
        fitted = 1.0 - (tail / xmin) ** (-alpha)
        ks = float(
            max(
                np.max(np.abs(fitted - empirical)),
                np.max(np.abs(fitted - (np.arange(1, n + 1) / n))),
            )
        )
        if best is None or ks < best.ks:
            se = float(alpha / np.sqrt(n))
            best = PowerLawFit(float(alpha), se, float(xmin), n, ks, n / x.size)
    if best is None:
        raise ValueError("no candidate xmin gave a finite exponent")
    return best


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
