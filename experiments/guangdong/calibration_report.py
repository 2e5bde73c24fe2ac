"""docs/calibration.md: the start's fit and the dynamics' posterior, in one page.

The page is written from the ABC-SMC database and the posterior-predictive runs
of `experiments.guangdong.fit_dynamics`; its figures go beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from experiments.guangdong.calibrate import fit_table
from experiments.guangdong.markdown_tables import markdown_table
from experiments.guangdong.record import (
    HELD_OUT,
    HINDCAST,
    PRIORS,
    TARGETS,
    YEARS,
    Target,
)
from scenarios import load_scenario

BANDS = (0.05, 0.5, 0.95)
"""The quantiles every band reports: the median and the 90% range."""


@dataclass(frozen=True)
class Fit:
    """What the page reports: the posterior, its run and its predictive draws."""

    particles: pd.DataFrame
    generations: list[pd.DataFrame]
    """Per fit (the main fit, the check): its generations."""
    draws: pd.DataFrame
    check: pd.DataFrame
    """Predictive draws of the fit that leaves out `HELD_OUT`."""
    workers: str
    versions: dict[str, str]
    command: str


def weighted_quantiles(
    values: np.ndarray, weights: np.ndarray, qs: Sequence[float]
) -> np.ndarray:
    """Quantiles of a weighted sample (the midpoint rule on the sorted weights)."""
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) - 0.5 * weights[order]
    return np.interp(qs, cum / weights.sum(), values[order])


def point_estimate(particles: pd.DataFrame, keys: Sequence[str]) -> dict[str, float]:
    """The posterior's weighted median of each of `keys`."""
    w = particles["weight"].to_numpy()
    return {
        k: float(weighted_quantiles(particles[k].to_numpy(), w, [0.5])[0]) for k in keys
    }


def posterior_table(particles: pd.DataFrame) -> pd.DataFrame:
    """Prior range, posterior median and 90% interval per fitted key."""
    w = particles["weight"].to_numpy()
    rows = {}
    for key, (low, high) in PRIORS.items():
        q5, q50, q95 = weighted_quantiles(particles[key].to_numpy(), w, BANDS)
        rows[f"`{key}`"] = {
            "prior (uniform)": f"{low:g} - {high:g}",
            "posterior median": f"{q50:.3g}",
            "90% interval": f"{q5:.3g} - {q95:.3g}",
        }
    return pd.DataFrame(rows).T


def target_table(fit: Fit) -> pd.DataFrame:
    """Each target against its posterior-predictive median and 90% band.

    The held-out targets get a second row: the prediction of the fit that
    left them out.
    """
    rows = {}
    for t in TARGETS:
        rows[t.label] = _against(t, fit.draws[t.name].to_numpy(), "fitted")
        if t.name in HELD_OUT:
            row = _against(t, fit.check[t.name].to_numpy(), "held out")
            rows[f"{t.label}, fit without it"] = row
    return pd.DataFrame(rows).T


def _against(t: Target, got: np.ndarray, role: str) -> dict[str, str]:
    """One target's row: the record, the predictive median, band and hits."""
    q5, q50, q95 = (_figure(q) for q in np.quantile(got, BANDS))
    hits = np.mean([abs(t.error(x)) <= 0.05 for x in got])
    return {
        "record": ("> " if t.lower_bound else "") + _figure(t.value),
        "in the fit": role,
        "predicted median": q50,
        "90% band": f"{q5} - {q95}",
        "draws within 5% (or above the bound)": f"{hits:.0%}",
    }


def growth_check(draws: pd.DataFrame) -> pd.DataFrame:
    """Real output growth of the towns, 2011-2015 and 2016-2020, against GDP's."""
    s = load_scenario(HINDCAST)
    rows = {}
    for first, last in ((2010, 2015), (2015, 2020)):
        years = last - first
        real = [draws[f"nominal_{y}"] / s.price_index(y) for y in (first, last)]
        towns = np.quantile((real[1] / real[0]) ** (1 / years) - 1, BANDS)
        gdp = np.prod([1 + s.economy.gdp_growth[y] for y in range(first + 1, last + 1)])
        rows[f"{first + 1}-{last}"] = {
            "towns, median (% a year)": f"{100 * towns[1]:.1f}",
            "towns, 90% band": f"{100 * towns[0]:.1f} - {100 * towns[2]:.1f}",
            "Guangdong's GDP (% a year)": f"{100 * (gdp ** (1 / years) - 1):.1f}",
        }
    return pd.DataFrame(rows).T


def _figure(value: float) -> str:
    """A count with thousands separators, a small figure with three digits."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _generations(table: pd.DataFrame) -> pd.DataFrame:
    """A fit's generations for the page: minutes instead of seconds."""
    shown = table.assign(wall_time=(table["wall_time"] / 60).map("{:.1f}".format))
    shown["acceptance"] = shown["acceptance"].map("{:.1%}".format)
    shown["epsilon"] = shown["epsilon"].map("{:.4f}".format)
    return shown.rename(columns={"wall_time": "minutes"}).set_index("t")


def plot_marginals(particles: pd.DataFrame, path: Path) -> None:
    """One weighted histogram per fitted key, over its prior range."""
    fig, axes = plt.subplots(1, len(PRIORS), figsize=(3.2 * len(PRIORS), 2.8))
    for ax, (key, (low, high)) in zip(axes, PRIORS.items(), strict=True):
        ax.hist(
            particles[key],
            bins=15,
            range=(low, high),
            weights=particles["weight"],
            color="tab:blue",
            alpha=0.8,
        )
        ax.set_xlim(low, high)
        ax.set_title(key, fontsize=9)
        ax.set_yticks([])
    axes[0].set_ylabel("posterior weight")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_pairs(particles: pd.DataFrame, path: Path) -> None:
    """Every pair of fitted keys: particles sized by weight, over the priors."""
    keys = list(PRIORS)
    n = len(keys)
    fig, axes = plt.subplots(n, n, figsize=(2.3 * n, 2.3 * n))
    size = 400 * particles["weight"] / particles["weight"].max()
    for i, row in enumerate(keys):
        for j, col in enumerate(keys):
            ax = axes[i, j]
            if i == j:
                ax.hist(particles[col], bins=12, weights=particles["weight"])
                ax.set_yticks([])
            else:
                ax.scatter(particles[col], particles[row], s=size, alpha=0.5)
                ax.set_ylim(*PRIORS[row])
            ax.set_xlim(*PRIORS[col])
            if i == n - 1:
                ax.set_xlabel(col.split(".")[-1], fontsize=8)
            if j == 0:
                ax.set_ylabel(row.split(".")[-1], fontsize=8)
            ax.tick_params(labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_predictive(draws: pd.DataFrame, path: Path) -> None:
    """Output and towns over 2010-2020: predictive bands against the record."""
    years = list(YEARS)
    fig, (out, towns) = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, prefix in ((out, "nominal"), (towns, "towns")):
        series = draws[[f"{prefix}_{y}" for y in years]].to_numpy()
        lo, mid, hi = np.quantile(series, BANDS, axis=0)
        q25, q75 = np.quantile(series, (0.25, 0.75), axis=0)
        ax.fill_between(years, lo, hi, alpha=0.2, color="tab:blue", label="5-95%")
        ax.fill_between(years, q25, q75, alpha=0.35, color="tab:blue", label="25-75%")
        ax.plot(years, mid, color="tab:blue", label="median")
        ax.set_xticks(years[::2])
    out.errorbar([2010, 2015], [1.2, 2.77], fmt="o", color="black", label="record")
    out.scatter(
        [2012, 2020], [1.8, 4.0], marker="^", color="black", label="record, lower bound"
    )
    out.set_ylabel("output, trillion yuan (current prices)")
    out.legend(fontsize=8, loc="upper left")
    towns.scatter([2010, 2015], [309, 399], color="black", label="record")
    towns.scatter([2020], [500], marker="x", color="black", label="plan")
    towns.set_ylabel("certified towns")
    towns.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def page(fit: Fit, figures: Path, docs: Path) -> str:
    """The Markdown page; writes its figures into `figures` first."""
    figures.mkdir(parents=True, exist_ok=True)
    plot_marginals(fit.particles, figures / "marginals.png")
    plot_pairs(fit.particles, figures / "pairs.png")
    plot_predictive(fit.draws, figures / "predictive.png")
    rel = figures.relative_to(docs)
    gens, check_gens = (_generations(g) for g in fit.generations)
    minutes = sum(g["wall_time"].sum() for g in fit.generations) / 60
    simulations = sum(int(g["simulations"].sum()) for g in fit.generations)
    point = point_estimate(fit.particles)
    start = fit_table(load_scenario("guangdong"), (1, 2, 3, 4))
    return "\n".join(
        [
            "# Calibration of the Guangdong scenario",
            "",
            "Regenerate this page, its figures, the posterior sample and the "
            "scenario's point estimate with one command (about an hour on 2 cores):",
            "",
            f"    {fit.command}",
            "",
            f"Made with code version `{fit.versions['code_version']}` (model version "
            f"`{fit.versions['model_version']}`). Money is value added; the record "
            "is at current prices, so the model's real output (at the start "
            "year's prices) is converted with `prices.deflator_growth`.",
            "",
            "## The start: the 2015 cross-section",
            "",
            "The end-2015 state is data (`python -m experiments.guangdong.calibrate`,"
            " ODD 6.2): the towns' outputs are the quantiles of a lognormal scaled "
            "to 2.77 trillion yuan, the same for every seed; the spread and the "
            "gross-output ratio are closed forms, the agents' size tail is fitted. "
            "Seeds 1-4, listed towns at the start:",
            "",
            markdown_table(start),
            "",
            "## The dynamics: ABC-SMC on the 2010-2020 hindcast",
            "",
            "`scenarios/guangdong_2010.toml` starts from the 309 towns of 2010 "
            "(1.2 trillion yuan; the 2015 shape of the towns, assumed) and runs "
            "the Guangdong scenario's rules to 2020, certifying 18 towns a year. "
            "pyabc's ABC-SMC (`experiments/guangdong/fit_dynamics.py`) accepts "
            "parameters whose run comes within a shrinking distance of the "
            "record: the root of the summed squared relative misses of the fitted "
            "targets, where a lower bound ('more than') is missed only from below. "
            "Each simulation's seed comes from its parameters. The fitted keys and "
            "their posterior:",
            "",
            markdown_table(posterior_table(fit.particles)),
            "",
            "The scenario uses the posterior's weighted median: "
            + ", ".join(f"`{k}` = {v:.4g}" for k, v in point.items())
            + ". The sample itself ships as `scenarios/posteriors/guangdong.parquet`"
            " (particles and weights, with the code and model versions that made "
            "it); `townsim run guangdong --posterior N` and a sweep's `posterior` "
            "key draw from it.",
            "",
            "![marginals](" + str(rel / "marginals.png") + ")",
            "",
            "Pairs (dot size: weight); a ridge means the record cannot tell the "
            "two keys apart, only their combination:",
            "",
            "![pairs](" + str(rel / "pairs.png") + ")",
            "",
            "### Each target against the posterior-predictive runs",
            "",
            f"{len(fit.draws)} posterior draws (by weight), each run with a new "
            "seed (seeds 1 onward):",
            "",
            markdown_table(target_table(fit)),
            "",
            "![predictive](" + str(rel / "predictive.png") + ")",
            "",
            "### Outside the fit",
            "",
            "A second fit left the 2012 figure out; its prediction of it is the "
            "table's last row. The towns' real growth "
            "against Guangdong's real GDP growth (the GDP path is an input of "
            "demand, the towns' growth is not):",
            "",
            markdown_table(growth_check(fit.draws)),
            "",
            "### The run",
            "",
            f"Both fits took {simulations:,} simulations in {minutes:.0f} "
            f"min on {fit.workers}. The main fit, by generation (epsilon: "
            "the distance a particle had to come within):",
            "",
            markdown_table(gens),
            "",
            "The fit that leaves out the 2012 figure:",
            "",
            markdown_table(check_gens),
            "",
            "### What the fit can and cannot say",
            "",
            "- The 2010 towns are assumed to have the 2015 shape; the hindcast's "
            "2015 cross-section is a fitted target, not data it starts from.",
            "- The 2020 figure is the plan's lower bound, not an outcome: the fit "
            "only asks not to fall short of it.",
            "- Demand after 2020 follows an assumed 5% a year of GDP growth "
            "(`economy.gdp_growth`): forecasts to 2035 are as good as that path.",
            "- ABC-SMC schedules simulations as workers free up: a rerun gives a "
            "statistically equivalent sample, not the same particles.",
            "",
        ]
    )
