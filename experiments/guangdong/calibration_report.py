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
    SHIPPED,
    TARGETS,
    YEARS,
    Distance,
    Target,
    observed,
)
from scenarios import load_scenario

BANDS = (0.05, 0.5, 0.95)
"""The quantiles every band reports: the median and the 90% range."""


@dataclass(frozen=True)
class Fit:
    """What the page reports: the posterior, its run and its predictive draws."""

    particles: pd.DataFrame
    """The main fit's last generation: keys, `weight` and each run's summary."""
    generations: list[pd.DataFrame]
    """Per fit (the main fit, the check): its generations."""
    stopped: list[str]
    """Per fit: the stopping rule that ended it."""
    draws: pd.DataFrame
    check: pd.DataFrame
    """Predictive draws of the fit that leaves out `HELD_OUT`."""
    at_point: pd.DataFrame
    """The point estimate's runs, one per seed."""
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
    """Prior range, posterior median and 90% interval per fitted key.

    A last row gives the entrants' size as the 2015 scenario takes it.
    """
    w = particles["weight"].to_numpy()
    rows = {}
    ranges = {**PRIORS, "entrant_size_2015": None}
    for key, prior in ranges.items():
        q5, q50, q95 = weighted_quantiles(particles[key].to_numpy(), w, BANDS)
        name = f"`{key}`" if prior else ENTRANTS_2015
        rows[name] = {
            "prior (uniform)": (
                f"{_figure(prior[0])} - {_figure(prior[1])}" if prior else "derived"
            ),
            "posterior median": _figure(q50),
            "90% interval": f"{_figure(q5)} - {_figure(q95)}",
        }
    return pd.DataFrame(rows).T


ENTRANTS_2015 = (
    "`guangdong`'s `certification.entrant_size` (the candidates left in 2015)"
)


def target_table(fit: Fit) -> pd.DataFrame:
    """Each target against its posterior-predictive median and 90% band.

    The held-out targets get a second row: the prediction of the fit that
    left them out.
    """
    rows = {}
    for t in TARGETS:
        rows[t.label] = {
            **_against(t, fit.draws[t.name].to_numpy(), "fitted"),
            "point estimate, 4 seeds": _figure(fit.at_point[t.name].mean()),
        }
        if t.name in HELD_OUT:
            row = _against(t, fit.check[t.name].to_numpy(), "held out")
            rows[f"{t.label}, fit without it"] = {**row, "point estimate, 4 seeds": ""}
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
    """Real output growth of a fixed set of towns against Guangdong's GDP.

    2011-2015: the towns listed in 2010; 2016-2020: those listed in 2015 (the
    list's growth left out). Real: at the start year's prices.
    """
    s = load_scenario(HINDCAST)
    rows = {}
    for first, last in ((2010, 2015), (2015, 2020)):
        years = last - first
        before = draws[f"nominal_{first}"] / s.price_index(first)
        after = draws[f"listed_{first}_in_{last}"] / s.price_index(last)
        towns = np.quantile((after / before) ** (1 / years) - 1, BANDS)
        gdp = np.prod([1 + s.economy.gdp_growth[y] for y in range(first + 1, last + 1)])
        rows[f"{first + 1}-{last}"] = {
            "towns, median (% a year)": f"{100 * towns[1]:.1f}",
            "towns, 90% band": f"{100 * towns[0]:.1f} - {100 * towns[2]:.1f}",
            "Guangdong's GDP (% a year)": f"{100 * (gdp ** (1 / years) - 1):.1f}",
            "what sets the towns' figure": (
                "fitted: the 2010 start and the 2011-2015 targets"
                if first == 2010
                else "the GDP path (input) times the fitted elasticity; only the "
                "plan's lower bound constrains it"
            ),
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
    shown["ess"] = shown["ess"].map(lambda x: "" if np.isnan(x) else f"{x:.0f}")
    shown = shown.rename(columns={"wall_time": "minutes", "ess": "effective size"})
    return shown.set_index("t")


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
    out.vlines(2010, 1.2, 1.45, color="black", label="2010: prior range")
    out.scatter([2011, 2015], [1.65, 2.77], color="black", label="record")
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
    return "\n".join(
        [
            "# Calibration of the Guangdong scenario",
            "",
            "Regenerate this page, its figures, the posterior sample and the "
            "scenario's point estimate with one command (about an hour on 2 cores; "
            "finished fits in its folder are reused while the code that made them "
            "holds):",
            "",
            f"    {fit.command}",
            "",
            f"Made with code version `{fit.versions['code_version']}` (model version "
            f"`{fit.versions['model_version']}`). Money is value added; the record "
            "is at current prices, so the model's real output (at the start "
            "year's prices) is converted with `prices.deflator_growth`.",
            "",
            *_start_section(),
            *_posterior_section(fit, rel),
            *_targets_section(fit, rel),
            *_run_section(fit),
            *_limits_section(),
        ]
    )


def _start_section() -> list[str]:
    start = fit_table(load_scenario("guangdong"), (1, 2, 3, 4))
    return [
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
    ]


def _posterior_section(fit: Fit, rel: Path) -> list[str]:
    shipped = point_estimate(fit.particles, [*SHIPPED[:-1], "entrant_size_2015"])
    shipped[SHIPPED[-1]] = shipped.pop("entrant_size_2015")
    return [
        "## The dynamics: ABC-SMC on the 2010-2020 hindcast",
        "",
        "`scenarios/guangdong_2010.toml` starts from the 309 towns of 2010 "
        "(given the 2015 shape of the towns, an assumption) and runs the "
        "Guangdong scenario's rules to 2020, today's policy included, "
        "certifying 18 towns a year. pyabc's ABC-SMC "
        "(`experiments/guangdong/fit_dynamics.py`) accepts parameters whose run "
        "comes within a shrinking distance (epsilon) of the record: the root of "
        "the summed squared relative misses of the targets, where a lower bound "
        "('more than') is missed only from below. Each simulation's seed comes "
        "from its parameters. The 2010 output is fitted as a nuisance key. The "
        "fitted keys and their posterior:",
        "",
        markdown_table(posterior_table(fit.particles)),
        "",
        "`guangdong` starts in 2015 with a fresh pool of candidate towns; its "
        "entrants' size is the hindcast's: the median output of the candidates "
        "still uncertified at the end of 2015 over the listed towns', measured "
        "on each particle's own run (last row). The scenario uses the "
        "posterior's weighted medians: "
        + ", ".join(f"`{k}` = {v:.4g}" for k, v in shipped.items())
        + ". The sample ships as `scenarios/posteriors/guangdong.parquet` "
        "(particles in those terms, weights, and the code and model versions "
        "that made it); `townsim run guangdong --posterior N` and a sweep's "
        "`posterior` key draw from it.",
        "",
        f"![marginals]({rel / 'marginals.png'})",
        "",
        "Pairs (dot size: weight); a ridge means the record cannot tell the "
        "two keys apart, only their combination:",
        "",
        f"![pairs]({rel / 'pairs.png'})",
        "",
    ]


def _targets_section(fit: Fit, rel: Path) -> list[str]:
    point = record_distance(fit.at_point)
    return [
        "### Each target against the posterior-predictive runs",
        "",
        f"{len(fit.draws)} posterior draws (by weight), each run with a new "
        "seed (seeds 1 onward); the last column is the point estimate (all "
        f"fitted keys at their weighted medians) over seeds 1-4, whose distance "
        f"from the record is {point.mean():.3f} (each seed: "
        + ", ".join(f"{d:.3f}" for d in point)
        + "). A second fit left the 2012 figure out: its prediction is the row "
        "below the fitted one.",
        "",
        markdown_table(target_table(fit)),
        "",
        f"![predictive]({rel / 'predictive.png'})",
        "",
        "### Growth against the province's",
        "",
        "Real growth of a fixed set of towns (those listed at the period's start) "
        "against Guangdong's real GDP growth. The towns' demand follows GDP by "
        "the fitted elasticity; after 2015 only the plan's lower bound "
        "constrains the fit, so the slowdown there is the GDP path's (an input), "
        "not the record's:",
        "",
        markdown_table(growth_check(fit.draws)),
        "",
    ]


def _run_section(fit: Fit) -> list[str]:
    gens, check_gens = (_generations(g) for g in fit.generations)
    minutes = sum(g["wall_time"].sum() for g in fit.generations) / 60
    simulations = sum(int(g["simulations"].sum()) for g in fit.generations)
    return [
        "### The run",
        "",
        f"Both fits took {simulations:,} simulations in {minutes:.0f} min on "
        f"{fit.workers} (t = -1 is the sample that sets the first epsilon; "
        "effective size: Kish's, of the weights). The main fit ended on "
        f"{fit.stopped[0]}:",
        "",
        markdown_table(gens),
        "",
        f"The fit that leaves out the 2012 figure ended on {fit.stopped[1]}:",
        "",
        markdown_table(check_gens),
        "",
    ]


def _limits_section() -> list[str]:
    return [
        "### What the fit can and cannot say",
        "",
        "- The 2010 towns are assumed to have the 2015 shape; the hindcast's "
        "2015 cross-section is a target it must reach, not data it starts from.",
        "- The 2020 figure is the plan's lower bound, not an outcome: the fit "
        "only asks not to fall short of it.",
        "- Demand after 2015 follows Guangdong's GDP path (data to 2024, an "
        "assumed 4.5% a year from 2025, `economy.gdp_growth`) by the fitted "
        "elasticity: forecasts to 2035 are as good as that path.",
        "- The hindcast runs today's policy from 2010.",
        "- ABC-SMC takes simulations as workers free up and proposes particles "
        "from fresh entropy: a rerun gives a statistically equivalent sample, "
        "not the same particles.",
        "",
    ]


def record_distance(runs: pd.DataFrame) -> np.ndarray:
    """Each run's distance from the whole record."""
    distance = Distance(tuple(t.name for t in TARGETS))
    record = observed()
    return np.array([distance(row, record) for row in runs.to_dict("records")])
