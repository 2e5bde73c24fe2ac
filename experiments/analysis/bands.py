"""Bands over posterior draws: the table, the summary in words and the chart.

A band is the spread of a figure over the draws: its median and the 5-95% (and
25-75%) range of the draws. A draw is one parameter set from the posterior,
run with its own seed, so the range holds the parameters' uncertainty and the
model's own randomness together; it is not a confidence interval of the median.
Quantiles interpolate linearly between the sorted draws (numpy's and pandas'
default), in bands.csv and in the summary alike.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from experiments.runs.posterior import Posterior
from experiments.sweeps.outcomes import BY_NAME
from scenarios import Scenario

QUANTILES = {"median": 0.5, "p5": 0.05, "p25": 0.25, "p75": 0.75, "p95": 0.95}


def band_table(values: pd.DataFrame) -> pd.DataFrame:
    """Per outcome and year: median, 5, 25, 75, 95% of the draws, and their count."""
    grouped = values.groupby(["outcome", "year"])["value"]
    table = pd.DataFrame(
        {name: grouped.quantile(q) for name, q in QUANTILES.items()}
    ).join(grouped.size().rename("draws"))
    table = table.reset_index()
    table.insert(2, "unit", [BY_NAME[name].unit for name in table["outcome"]])
    return table


def _wide(values: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """One outcome as draws by years."""
    rows = values[values["outcome"] == outcome]
    return rows.pivot(index="draw", columns="year", values="value")


def _band(numbers: pd.Series, scale: float = 1.0, fmt: str = ",.1f") -> str:
    """'median [p5-p95]' of a figure over the draws."""
    x = numbers.to_numpy(float) * scale
    low, mid, high = np.percentile(x, [5, 50, 95])
    return f"{mid:{fmt}} [{low:{fmt}}-{high:{fmt}}]"


def summary_text(
    scenario: Scenario,
    posterior: Posterior,
    values: pd.DataFrame,
    seed: int,
    asked: int,
) -> str:
    """The summary of a run over posterior draws: each figure as median [5-95%]."""
    gdp, nominal = _wide(values, "gdp"), _wide(values, "gdp_nominal")
    n = len(gdp)
    years = list(gdp.columns)
    first, last = int(years[0]), int(years[-1])
    plan = scenario.plan
    in_plan = first <= plan.year <= last
    lines = [
        f"Scenario {scenario.name!r}, {n} posterior draws"
        + (f" of {asked} ({asked - n} failed)" if n < asked else "")
        + f": {scenario.province.towns} towns x {scenario.province.firms_per_town} "
        f"firms, {first}-{last}; draw i's seed derived from seed {seed} and i "
        "(draws.csv)",
        f"Posterior: {posterior.describe()}",
        "Each figure: median over the draws [5%-95% of the draws]. A draw is one "
        "parameter set from the posterior with its own seed: the range holds the "
        "parameters' uncertainty and the model's randomness.",
        "",
        f"Output (value added, {first} prices): {_band(gdp[first], 1e-3)} bn yuan "
        f"in {first} -> {_band(gdp[last], 1e-3)} bn yuan in {last} (real)",
        "Output (value added, current prices): "
        + (
            f"{_band(nominal[plan.year], 1e-3)} bn yuan in {plan.year} (plan year); "
            if in_plan and plan.year != last
            else ""
        )
        + f"{_band(nominal[last], 1e-3)} bn yuan in {last}",
        f"Towns per dimension in {last}: "
        + "; ".join(
            f"{d}D {_band(_wide(values, f'towns_dim{d}')[last], fmt=',.0f')}"
            for d in (1, 2, 3, 4)
        ),
    ]
    if in_plan:
        coverage = _wide(values, "platform_coverage")[plan.year]
        lines.append(
            f"Platform coverage (towns with a platform) in {plan.year}: "
            f"{_band(coverage, 100, ',.0f')}%"
        )
        met = int((coverage >= plan.coverage_target).sum())
        lines.append(
            f"Plan {plan.year}: coverage >= {100 * plan.coverage_target:.0f}%: met "
            f"in {met} of {n} draws"
        )
        if plan.gdp_target is not None:
            reached = int((nominal[plan.year] >= plan.gdp_target).sum())
            lines.append(
                f"Plan {plan.year}: output >= {plan.gdp_target / 1e6:,.2f} trillion "
                f"yuan at current prices: met in {reached} of {n} draws"
            )
    table = posterior.summary().map(lambda v: f"{v:.4g}")
    lines += ["", "Posterior parameters (weighted over its particles):"]
    lines.append(table.to_string())
    return "\n".join(lines)


def chart_png(scenario: Scenario, values: pd.DataFrame) -> bytes:
    """Output over the years, real and nominal: median, 25-75% and 5-95% bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    start = scenario.run.start_year
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    panels = (
        ("gdp", f"bn yuan a year, {start} prices", "Output, real"),
        ("gdp_nominal", "bn yuan a year, current prices", "Output, nominal"),
    )
    for ax, (outcome, unit, title) in zip(axes, panels, strict=True):
        wide = _wide(values, outcome) / 1e3
        q = wide.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).T
        years = q.index.to_numpy(float)
        ax.fill_between(years, q[0.05], q[0.95], alpha=0.15, color="C0", label="5-95%")
        ax.fill_between(years, q[0.25], q[0.75], alpha=0.3, color="C0", label="25-75%")
        ax.plot(years, q[0.5], color="C0", label="median")
        target = scenario.plan.gdp_target
        if outcome == "gdp_nominal" and target is not None:
            ax.axhline(target / 1e3, color="C3", ls="--", lw=1, label="plan target")
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(unit)
        ax.set_xlabel("year (end of)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize=8, loc="upper left")
    fig.suptitle(
        f"{scenario.name}: {len(wide)} posterior draws (bands: share of the draws)",
        fontsize=10,
    )
    fig.tight_layout()
    sink = io.BytesIO()
    fig.savefig(sink, format="png", dpi=110)
    plt.close(fig)
    return sink.getvalue()
