"""The validation report's figures, drawn from what the section modules computed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.guangdong.clustering import Tests
from experiments.guangdong.patterns import ccdf, fit_bass
from experiments.guangdong.policy import PLAN_TOWNS
from model.reporting import YOUNG_AGE
from scenarios import Scenario


def save_figure(fig: Any, path: Path) -> None:
    """Lay out, write and close one of the report's figures."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_s_curves(years: np.ndarray, curves: dict[int, list], path: Path) -> None:
    """Mean share at level >= L over seeds with a Bass fit to the mean."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for level, ys in curves.items():
        n = min(len(y) for y in ys)
        data = np.array([y[:n] for y in ys])
        mean = data.mean(axis=0)
        line = ax.plot(years[:n], mean, lw=2, label=f"level >= {level}")[0]
        ax.fill_between(
            years[:n],
            data.min(axis=0),
            data.max(axis=0),
            alpha=0.2,
            color=line.get_color(),
        )
        fit = fit_bass(years[:n], mean)
        ax.plot(years[:n], fit.curve(years[:n] - years[0]), "k--", lw=0.8)
    ax.set(
        xlabel="year",
        ylabel="share of firms",
        title="Adoption by level (dashed: Bass fit)",
    )
    ax.legend()
    save_figure(fig, path)


def plot_clustering(tests: dict[str, Tests], path: Path) -> None:
    """Observed / expected adopter-adopter ties by year and level, both variants."""
    fig, ax = plt.subplots(figsize=(7, 3.8))
    width, first = 0.38, next(iter(tests))
    labels: list[str] = []
    for name, by_key in tests.items():
        shift = -0.2 if name == first else 0.2
        for i, (key, found) in enumerate(by_key.items()):
            ratios = [t.ratio for t in found]
            ax.bar(
                i + shift,
                np.mean(ratios),
                width,
                yerr=np.std(ratios),
                color="C0" if shift < 0 else "C1",
                label=name if i == 0 else None,
            )
            if shift < 0:
                labels.append(f"{key[0]}\nL>={key[1]}")
    ax.axhline(1.0, color="k", lw=0.8)
    ax.set_xticks(range(len(labels)), labels, fontsize=8)
    ax.set(ylabel="observed / expected ties", title="Adopters tie with adopters")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_sizes(samples: dict[str, list[np.ndarray]], path: Path) -> None:
    """Log-log CCDF of firm sizes, first run, start and end (and the province)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, found in samples.items():
        if found:
            x, p = ccdf(found[0])
            ax.loglog(
                x, p, ".", ms=2, label=label.replace("whole province", "province")
            )
    ax.set(
        xlabel="firm size (workers per agent)",
        ylabel="P(S >= s)",
        title="Firm sizes: complementary CDF",
    )
    ax.legend()
    save_figure(fig, path)


def plot_sweeps(
    ip: pd.DataFrame, far: pd.DataFrame, keys: tuple[str, str], path: Path
) -> None:
    """Mean knowledge and diffusion against IP protection and far search."""
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex="col")
    for col, (frame, key, label) in enumerate(
        (
            (ip, keys[0], "legal IP protection"),
            (far, keys[1], "far search share"),
        )
    ):
        for row, outcome in enumerate(("knowledge", "diffused")):
            g = frame.groupby(key)[outcome]
            mean, se = g.mean(), g.std(ddof=1) / np.sqrt(g.count())
            axes[row, col].errorbar(mean.index, mean, yerr=2 * se.fillna(0), marker="o")
            axes[row, col].set(ylabel=outcome)
        axes[1, col].set(xlabel=label)
    fig.suptitle(
        "Knowledge against IP protection and cross-town connectivity (±2 s.e.)"
    )
    save_figure(fig, path)


def plot_demography(frames: list[pd.DataFrame], path: Path) -> None:
    """Yearly exit rates, all, young and older firms, mean over seeds."""
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    n = min(len(f) for f in frames)
    for column, label in (
        ("exit_rate", "all firms"),
        ("infant_exit_rate", "first year"),
        ("adolescent_exit_rate", f"age 1 to {YOUNG_AGE:g}"),
        ("old_exit_rate", "older"),
        ("entry_rate", "entry rate"),
    ):
        data = np.array([f[column].to_numpy()[:n] for f in frames])
        ax.plot(np.arange(1, n + 1), data.mean(axis=0), marker=".", label=label)
    ax.set(xlabel="year of the run", ylabel="per year", title="Firm demography")
    ax.legend(fontsize=8)
    save_figure(fig, path)


def plot_policy(
    province: list[pd.DataFrame],
    levers: dict[str, list[pd.DataFrame]],
    s: Scenario,
    path: Path,
) -> None:
    """Output and coverage over the years against the plan's targets."""
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
    a.axhline(
        s.plan.gdp_target / 1e6 * s.province.towns / PLAN_TOWNS, ls=":", color="r"
    )
    b.axhline(100 * s.plan.coverage_target, ls="--", color="r")
    for ax in (a, b):
        ax.axvline(s.plan.year, color="grey", lw=0.8)
    a.set(xlabel="year", ylabel="trillion yuan", title="Output (black: whole province)")
    b.set(xlabel="year", ylabel="% of towns", title="Platform coverage")
    a.legend(fontsize=7)
    save_figure(fig, path)
