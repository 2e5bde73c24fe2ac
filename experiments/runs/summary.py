"""The compact text summary `townsim run` prints after a run."""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.runs.single_run import RunResult
from model.growth import EXPLAINED, PARTS
from model.reporting import PLATFORM_COLUMNS, platform_coverage

MILESTONES = (2020, 2025, 2030, 2035)


def milestone_years(towns: pd.DataFrame) -> list[int]:
    """The start year, the milestone years inside the run, and the end year."""
    years = sorted(towns["year"].unique())
    chosen = [years[0], *(y for y in MILESTONES if years[0] < y < years[-1]), years[-1]]
    return sorted(set(chosen))


def dimension_table(towns: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Towns at each dimension in each of `years`."""
    table = (
        towns[towns["year"].isin(years)]
        .pivot_table(index="year", columns="dimension", values="town", aggfunc="count")
        .reindex(columns=[1, 2, 3, 4], fill_value=0)
        .fillna(0)
        .astype(int)
    )
    table.columns = [f"{d}D" for d in table.columns]
    return table


def level_table(towns: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Share of firms at each digital level in each of `years`, in percent."""
    counts = (
        towns[towns["year"].isin(years)]
        .groupby("year")[[f"firms_level_{lv}" for lv in (1, 2, 3, 4)]]
        .sum()
    )
    shares = 100 * counts.div(counts.sum(axis=1), axis=0)
    shares.columns = [f"L{lv}%" for lv in (1, 2, 3, 4)]
    return shares.round(1)


def summarize(result: RunResult) -> str:
    """A few lines a person can read: dimensions, levels, output, platforms, plan."""
    s, towns = result.scenario, result.towns
    plan = s.plan
    years = milestone_years(towns)
    by_year = towns.groupby("year")
    gdp = by_year["gdp"].sum()
    gdp_nominal = by_year["gdp_nominal"].sum()
    coverage = by_year.apply(
        lambda t: platform_coverage(t[list(PLATFORM_COLUMNS)]), include_groups=False
    )
    first, last = years[0], years[-1]
    growth = (gdp[last] / gdp[first]) ** (1 / (last - first)) - 1
    table = dimension_table(towns, years).join(level_table(towns, years))
    table["D"] = by_year["coordination"].mean().reindex(years).round(2)
    lines = [
        f"Scenario {s.name!r}, seed {result.seed}: {s.province.towns} towns x "
        f"{s.province.firms_per_town} firms, {s.run.start_year}-{s.run.end_year}, "
        f"{s.run.schedule} schedule, {result.seconds:.1f} s",
        "",
        "Towns per dimension, firms per level (%), mean coordination D:",
        table.to_string(),
        "",
        f"Output (value added, {first} prices): {gdp[first] / 1e3:,.1f} bn yuan in "
        f"{first} -> {gdp[last] / 1e3:,.1f} bn yuan in {last} "
        f"({100 * growth:+.1f}% a year, real)",
        f"Output (value added, current prices): {gdp_nominal[last] / 1e3:,.1f} bn "
        f"yuan in {last} (prices x{s.price_index(last):.3f} since {first})",
        f"Platform coverage (towns with a platform): {100 * coverage[first]:.0f}% in "
        f"{first} -> {100 * coverage[last]:.0f}% in {last}",
    ]
    listed = by_year["town"].count()
    if listed[last] != listed[first]:
        lines.append(
            f"Certified towns: {listed[first]} in {first} -> {listed[last]} in {last}"
            + (
                f" ({listed[plan.year]} in {plan.year})"
                if first < plan.year < last
                else ""
            )
        )
    if first <= plan.year <= last:
        met = coverage[plan.year] >= plan.coverage_target
        lines.append(
            f"Plan {plan.year}: coverage {100 * coverage[plan.year]:.0f}% vs target "
            f"{100 * plan.coverage_target:.0f}% ({'met' if met else 'not met'})"
        )
        if plan.gdp_target is not None:
            reached = gdp_nominal[plan.year] >= plan.gdp_target
            lines.append(
                f"Plan {plan.year}: output {gdp_nominal[plan.year] / 1e6:,.2f} "
                f"trillion yuan at current prices vs target "
                f"{plan.gdp_target / 1e6:,.2f} trillion "
                f"({'met' if reached else 'not met'})"
            )
    reached = {
        d: towns.loc[towns["dimension"] >= d].groupby("town")["year"].min()
        for d in (2, 3, 4)
    }
    parts = [
        f"{d}D: {len(r)}/{towns['town'].nunique()} towns"
        + (f", median year {np.median(r):g}" if len(r) else "")
        for d, r in reached.items()
    ]
    lines.append("Ever reached: " + "; ".join(parts))
    lines += ["", *growth_lines(result.growth, plan.year)]
    return "\n".join(lines)


def growth_lines(growth: pd.DataFrame, until: int) -> list[str]:
    """Where output growth came from up to `until` (or the end), % a year.

    Each part is its yearly contribution over the years' output at their
    start, averaged over the years: the parts add up to the mean real growth,
    and prices to the difference between nominal and real growth.
    """
    years = (
        growth[growth["year"] <= until] if (growth["year"] <= until).any() else growth
    )
    if years.empty:
        return []
    base = years["output_before"].to_numpy()
    share = {
        name: 100 * float(np.mean(years[name].to_numpy() / base))
        for name in (*PARTS, "prices")
    }
    explained = sum(share[name] for name in EXPLAINED)
    outside = sum(share[name] for name in PARTS if name not in EXPLAINED)
    first, last = int(years["year"].min()), int(years["year"].max())
    return [
        f"Output growth {first}-{last}, % a year (real parts, then prices):",
        "  model: "
        + ", ".join(f"{name} {share[name]:+.1f}" for name in EXPLAINED)
        + f" (= {explained:+.1f})",
        "  outside: "
        + ", ".join(
            f"{name} {share[name]:+.1f}" for name in PARTS if name not in EXPLAINED
        )
        + f", prices {share['prices']:+.1f} (= {outside + share['prices']:+.1f})",
    ]
