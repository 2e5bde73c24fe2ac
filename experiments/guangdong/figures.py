"""The validation report's figures, drawn from what the section modules computed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from experiments.guangdong.clustering import STRATIFIED, ByNull
from experiments.guangdong.demography import CONTRASTS, Demography
from experiments.guangdong.firm_sizes import Samples, Tails
from experiments.guangdong.function_models import (
    NO_IMITATION,
    NO_SIZE_SHOCKS,
    REFERENCE,
)
from experiments.guangdong.patterns import ccdf, fit_bass
from experiments.guangdong.policy import plan_share
from experiments.guangdong.s_curves import SCurves
from model.reporting import YOUNG_AGE
from scenarios import Scenario


def save_figure(fig: Any, path: Path) -> None:
    """Lay out, write and close one of the report's figures."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def mean_band(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over runs (rows) and twice its standard error."""
    n = data.shape[0]
    se = data.std(axis=0, ddof=1) / np.sqrt(n) if n > 1 else np.zeros(data.shape[1])
    return data.mean(axis=0), 2 * se


def plot_s_curves(found: SCurves, path: Path) -> None:
    """Adoption with imitation and without, and what imitation adds, by level."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    ref, off = found.variants[REFERENCE], found.variants[NO_IMITATION]
    years = found.years
    for i, level in enumerate(ref.curves):
        color = f"C{i}"
        on_mean = ref.curves[level].mean(axis=0)
        a.plot(years, on_mean, color=color, lw=2, label=f"level >= {level}")
        a.plot(years, off.curves[level].mean(axis=0), color=color, lw=1.5, ls="--")
        fit = fit_bass(years, on_mean)
        a.plot(years, fit.curve(years - years[0]), "k:", lw=0.8)
        mean, band = mean_band(ref.curves[level] - off.curves[level])
        b.plot(years, mean, color=color, lw=2, label=f"level >= {level}")
        b.fill_between(years, mean - band, mean + band, color=color, alpha=0.25)
    a.set(
        xlabel="year",
        ylabel="share of live firms at level L or above (0-1)",
        title="Adoption: imitation on (solid), q = 0 (dashed), Bass fit (dotted)",
    )
    b.axhline(0, color="k", lw=0.8)
    b.set(
        xlabel="year",
        ylabel="share of live firms, on minus off (0-1)",
        title="What imitation adds (paired, mean ± 2 s.e.)",
    )
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    a.title.set_fontsize(9)
    b.title.set_fontsize(9)
    save_figure(fig, path)


def plot_clustering(tests: dict[str, ByNull], path: Path) -> None:
    """Join-count ratio against the town-and-degree null, per variant, year, level."""
    fig, ax = plt.subplots(figsize=(9, 4))
    names = list(tests)
    keys = list(tests[names[0]][STRATIFIED])
    width = 0.8 / len(names)
    for j, name in enumerate(names):
        by_key = tests[name][STRATIFIED]
        for i, key in enumerate(keys):
            found = by_key.get(key, [])
            if not found:
                continue
            values = np.array([t.ratio for t in found])
            se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0
            ax.bar(
                i + (j - (len(names) - 1) / 2) * width,
                values.mean(),
                width,
                yerr=2 * se,
                color=f"C{j}",
                label=name if i == 0 else None,
            )
    ax.axhline(1.0, color="k", lw=0.8)
    labels = [f"{year}\nL>={level}" for year, level in keys]
    ax.set_xticks(range(len(keys)), labels, fontsize=8)
    ax.set(
        ylabel="observed / expected adopter-adopter ties (ratio)",
        title="Adopters tie with adopters, town-and-degree null (mean ± 2 s.e.)",
    )
    ax.title.set_fontsize(9)
    ax.legend(fontsize=7)
    save_figure(fig, path)


def plot_sizes(samples: Samples, found: Tails, path: Path) -> None:
    """The size CCDF at the start and end, and both tail exponents over the years."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    ref, off = samples[REFERENCE], samples[NO_SIZE_SHOCKS]
    first, last = min(ref), max(ref)
    for label, values in (
        (f"{first} (start)", ref[first][0]),
        (f"{last}, with size shocks", ref[last][0]),
        (f"{last}, no size shocks", off[last][0]),
    ):
        x, p = ccdf(values)
        a.loglog(x, p, ".", ms=2, label=label)
    a.set(
        xlabel="firm size (workers per agent)",
        ylabel="P(S >= s) (share of firms)",
        title="Firm sizes, one seed: complementary CDF",
    )
    a.legend(fontsize=8)
    for j, (name, style) in enumerate(((REFERENCE, "-"), (NO_SIZE_SHOCKS, "--"))):
        for k, (label, by_year) in enumerate(
            (
                ("Hill, top 10%", found.hill[name]),
                (
                    "CSN",
                    {
                        y: np.array([f.alpha for f in v])
                        for y, v in found.fits[name].items()
                    },
                ),
            )
        ):
            years = np.array(sorted(by_year))
            data = np.array([by_year[y] for y in years]).T
            mean, band = mean_band(data)
            b.errorbar(
                years + 0.3 * (2 * j + k - 1.5),
                mean,
                yerr=band,
                ls=style,
                marker="o",
                ms=3,
                color=f"C{k}",
                label=f"{label}, {'with' if j == 0 else 'no'} size shocks",
            )
    b.set(
        xlabel="year",
        ylabel="tail exponent alpha of P(S >= s) (dimensionless)",
        title="Tail exponent over the run (mean ± 2 s.e.)",
    )
    b.legend(fontsize=7)
    save_figure(fig, path)


def plot_sweeps(
    sweeps: dict[str, tuple[pd.DataFrame, str]],
    pairs: dict[str, tuple[str, str]],
    path: Path,
) -> None:
    """Mean knowledge and diffusion against each factor, as run and knocked out."""
    fig, axes = plt.subplots(2, len(pairs), figsize=(10, 6.5), sharex="col")
    units = {
        "knowledge": "mean knowledge of live firms (index 0-1)",
        "diffused": "knowledge shared + leaked (index units)",
    }
    for col, (label, names) in enumerate(pairs.items()):
        for style, name in zip(("-", "--"), names, strict=True):
            frame, key = sweeps[name]
            for row, outcome in enumerate(units):
                g = frame.groupby(key)[outcome]
                mean, se = g.mean(), g.std(ddof=1) / np.sqrt(g.count())
                axes[row, col].errorbar(
                    mean.index,
                    mean,
                    yerr=2 * se.fillna(0),
                    marker="o",
                    ms=3,
                    ls=style,
                    label="as run" if style == "-" else "knocked out",
                )
                axes[row, col].set(ylabel=units[outcome])
        axes[1, col].set(xlabel=label)
        axes[0, col].legend(fontsize=8)
    fig.suptitle("Knowledge at the end against IP protection and far search (±2 s.e.)")
    save_figure(fig, path)


def plot_demography(found: Demography, path: Path) -> None:
    """Yearly exit rates by age; the age contrasts with the hazard as is and flat."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    frames = found.yearly
    n = min(len(f) for f in frames)
    for column, label in (
        ("exit_rate", "all firms"),
        ("infant_exit_rate", "first year"),
        ("adolescent_exit_rate", f"age 1 to {YOUNG_AGE:g}"),
        ("old_exit_rate", "older"),
        ("entry_rate", "entry rate"),
    ):
        data = np.array([f[column].to_numpy()[:n] for f in frames])
        a.plot(np.arange(1, n + 1), data.mean(axis=0), marker=".", label=label)
    a.set(
        xlabel="year of the run",
        ylabel="exits (or entries) per firm-year",
        title="Firm demography",
    )
    a.legend(fontsize=8)
    keys = list(CONTRASTS)
    for j, (name, by_key) in enumerate(found.by_hazard.items()):
        for i, key in enumerate(keys):
            values = by_key[key]
            se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else 0
            b.bar(
                i + (j - 0.5) * 0.4,
                values.mean(),
                0.4,
                yerr=2 * se,
                color=f"C{j}",
                label=name if i == 0 else None,
            )
    b.axhline(0, color="k", lw=0.8)
    b.set_xticks(
        range(len(keys)),
        ["first 3 years\n- later", "first year\n- age 1-3", "age 1-3\n- older"],
        fontsize=8,
    )
    b.set(
        ylabel="difference in exits per firm-year",
        title="Patterns with the exit hazard as assumed and flat (mean ± 2 s.e.)",
    )
    b.title.set_fontsize(9)
    b.legend(fontsize=8)
    save_figure(fig, path)


def plot_policy(
    province: list[pd.DataFrame],
    levers: dict[str, list[pd.DataFrame]],
    s: Scenario,
    path: Path,
) -> None:
    """Output (current prices) and coverage over the years against the plan."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    for f in province:
        a.plot(f.index, f["gdp"] / 1e6, color="k", lw=1.5, alpha=0.6)
        b.plot(f.index, 100 * f["coverage"], color="k", lw=1.5, alpha=0.6)
    for i, (label, frames) in enumerate(levers.items()):
        gdp = np.mean([f["gdp"].to_numpy() for f in frames], axis=0)
        cov = np.mean([f["coverage"].to_numpy() for f in frames], axis=0)
        a.plot(frames[0].index, gdp / 1e6, lw=1, color=f"C{i}", label=label)
        b.plot(frames[0].index, 100 * cov, lw=1, color=f"C{i}")
    a.axhline(s.plan.gdp_target / 1e6, ls="--", color="r")
    a.axhline(s.plan.gdp_target / 1e6 * plan_share(s), ls=":", color="r")
    b.axhline(100 * s.plan.coverage_target, ls="--", color="r")
    for ax in (a, b):
        ax.axvline(s.plan.year, color="grey", lw=0.8)
    a.set(
        xlabel="year",
        ylabel="trillion yuan, current prices",
        title="Output (black: whole province)",
    )
    b.set(xlabel="year", ylabel="% of towns", title="Platform coverage")
    a.legend(fontsize=7)
    save_figure(fig, path)
