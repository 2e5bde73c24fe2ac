"""The app's charts, drawn from a model's public results.

Province charts read Mesa's DataCollector series (one value per step); town
charts read the town table and the towns' current indices. Each function returns
the plain description of an SVG chart (see `viz.svg`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from agents.systems import SYSTEMS
from viz.networks import LEVEL_COLOURS, LEVEL_LABELS
from viz.svg import Chart

if TYPE_CHECKING:
    from model import TownModel

PLAN_BASE_YEAR = 2015
PLAN_START_GDP = 2.77
"""Provincial towns' GDP at the end of 2015, trillion yuan, current prices
(Economic Daily 2016; Wang 2018 quotes it for 2016)."""
PLAN_GDP = 4.0
"""The 2020 plan's GDP target for the towns, trillion yuan, current prices
(Wang 2018)."""
SYSTEM_LABELS = (*(system.label for system in SYSTEMS), "coordination D")
TOWN_COLOUR, MEAN_COLOUR, PLAN_COLOUR = "#1e88e5", "#9e9e9e", "#e53935"
STACK = (LEVEL_COLOURS, LEVEL_LABELS)
"""Colours and names of the four levels, bottom of a stack first."""
PREVIOUS_COLOUR = "#212121"
PREVIOUS = "previous run (dashed)"
"""Legend of the run before the last Reset or preset, drawn dashed."""
PREVIOUS_DASH = "6,3"


def series(model: TownModel, name: str) -> np.ndarray:
    """One province series, one value per step, from Mesa's DataCollector."""
    return np.asarray(model.datacollector.model_vars[name], dtype=float)


def _time_chart(model: TownModel, title: str, y_range: tuple[float, float]) -> Chart:
    """A chart over the whole run, so the x axis does not jump as time passes."""
    run = model.settings.run
    chart = Chart(title, (run.start_year, run.end_year), y_range)
    chart.axes(x_format="{:.0f}")
    return chart


def towns_chart(model: TownModel, previous: TownModel | None = None) -> dict[str, Any]:
    """Towns at each dimension over the years (stacked)."""
    chart = _time_chart(model, "Towns per dimension", (0, model.n_towns))
    chart.stack(series(model, "year"), layers(model, "towns_dimension"), *STACK)
    if previous is not None and previous.n_towns == model.n_towns:
        _previous_bounds(chart, previous, layers(previous, "towns_dimension"))
    return chart.spec()


def levels_chart(model: TownModel, previous: TownModel | None = None) -> dict[str, Any]:
    """Share of live firms at each digital level over the years (stacked)."""
    chart = _time_chart(model, "Firms per digital level (share)", (0, 1))
    chart.stack(series(model, "year"), level_shares(model), *STACK)
    if previous is not None:
        _previous_bounds(chart, previous, level_shares(previous))
    return chart.spec()


def layers(model: TownModel, prefix: str) -> np.ndarray:
    """The four series `prefix_1` ... `prefix_4`, one row each."""
    return np.array([series(model, f"{prefix}_{k}") for k in (1, 2, 3, 4)])


def level_shares(model: TownModel) -> np.ndarray:
    """Share of live firms at each level, one row per level."""
    counts = layers(model, "firms_level")
    return counts / np.maximum(counts.sum(axis=0), 1.0)


def _previous_bounds(chart: Chart, previous: TownModel, stacked: np.ndarray) -> None:
    """The previous run's boundaries between levels, to compare the climb with.

    A boundary that lies on the frame all along (no firm above or below it) would
    hide under the axis: it is left out, and the legend names the run only when
    a boundary is drawn.
    """
    years = series(previous, "year")
    if years.size < 2:
        return
    top = chart.y_range[1]
    drawn = 0
    for bound in np.cumsum(stacked, axis=0)[:-1]:
        if np.all(bound <= 1e-9) or np.all(bound >= top - 1e-9):
            continue
        chart.line(years, bound, PREVIOUS_COLOUR, "", width=1.6, dash=PREVIOUS_DASH)
        drawn += 1
    if drawn:
        chart.legend.append([f"{PREVIOUS}: level boundaries", PREVIOUS_COLOUR, "dash"])


def _previous_line(
    chart: Chart, previous: TownModel, values: np.ndarray, colour: str, name: str
) -> None:
    """One series of the previous run, dashed in its own colour, with its name."""
    years = series(previous, "year")
    if years.size < 2:
        return
    if not chart.line(years, values, colour, "", width=1.6, dash=PREVIOUS_DASH):
        return
    low, high = chart.y_range
    on_axis = np.all(np.isclose(values, low)) or np.all(np.isclose(values, high))
    where = f" ({low:g} throughout, on the axis)" if on_axis else ""
    chart.legend.append([f"{PREVIOUS}: {name}{where}", colour, "dash"])


def plan_path(start_year: int, plan_year: int) -> tuple[np.ndarray, np.ndarray]:
    """The plan's output path, as a multiple of the start year's output.

    The plan took the towns from 2.77 trillion yuan (2015) to 4 trillion (2020),
    both at current prices, about 7.6% a year; the model's towns are compared
    with that growth in current prices.
    """
    growth = (PLAN_GDP / PLAN_START_GDP) ** (1 / (2020 - PLAN_BASE_YEAR))
    years = np.arange(start_year, plan_year + 1, dtype=float)
    return years, growth ** (years - start_year)


def gdp_chart(model: TownModel, previous: TownModel | None = None) -> dict[str, Any]:
    """Output against the 2020 plan: as an index, or in yuan when a target is set.

    Both are at current prices (`gdp_nominal`), as the plan's targets are.
    """
    plan, start = model.settings.plan, model.settings.run.start_year
    years, gdp = series(model, "year"), series(model, "gdp_nominal")
    if plan.gdp_target is None:
        plan_years, path = plan_path(start, plan.year)
        values = gdp / max(gdp[0], 1e-9)
        before = None
        if previous is not None:
            old = series(previous, "gdp_nominal")
            before = (series(previous, "year"), old / max(old[0], 1e-9))
        highest = max(
            values.max(), path.max(), 0 if before is None else before[1].max()
        )
        chart = _time_chart(
            model,
            f"Output at current prices, {start} = 1, against the plan",
            (0, float(highest) * 1.1),
        )
        chart.line(years, values, TOWN_COLOUR, "model towns")
        chart.line(plan_years, path, PLAN_COLOUR, "plan: 2.77 to 4 tn yuan", dash="5,4")
        if before is not None:
            _previous_line(chart, previous, before[1], PREVIOUS_COLOUR, "model towns")
    else:
        values = gdp / 1e3
        target = plan.gdp_target / 1e3
        label = f"plan target {target:,.0f} bn"
        top = max(float(values.max()), target) * 1.1
        chart = _time_chart(
            model,
            "Output, bn yuan a year at current prices, against the plan",
            (0, top),
        )
        chart.line(years, values, TOWN_COLOUR, "model towns")
        chart.hline(target, PLAN_COLOUR, label)
    chart.vline(plan.year, label=f"plan {plan.year}")
    return chart.spec()


def coverage_chart(
    model: TownModel, previous: TownModel | None = None
) -> dict[str, Any]:
    """Share of towns with a platform against the plan's target, and firms in one."""
    plan = model.settings.plan
    chart = _time_chart(model, "Platform coverage against the target", (0, 1))
    years = series(model, "year")
    chart.line(
        years, series(model, "platform_coverage"), TOWN_COLOUR, "towns with a platform"
    )
    chart.line(
        years, series(model, "member_share"), LEVEL_COLOURS[1], "firms in a platform"
    )
    chart.hline(plan.coverage_target, PLAN_COLOUR, f"target {plan.coverage_target:.0%}")
    chart.vline(plan.year, label=f"plan {plan.year}")
    if previous is not None:
        for name, colour, label in (
            ("platform_coverage", "#0d47a1", "towns with a platform"),
            ("member_share", "#00695c", "firms in a platform"),
        ):
            _previous_line(chart, previous, series(previous, name), colour, label)
    return chart.spec()


def systems_chart(model: TownModel, town: int) -> dict[str, Any]:
    """One town's six system indices and D against the province's mean."""
    towns = model.towns
    mine = [*towns.indices[town], towns.coordination[town]]
    mean = [*towns.indices.mean(axis=0), towns.coordination.mean()]
    rows = len(mine)
    chart = Chart(
        f"Town {town}: six systems and D at the last year end",
        (0, 1),
        (rows, 0),
        left=138,
    )
    chart.axes(y_ticks=[], x_format="{:.1f}")
    for row, (label, value, average) in enumerate(
        zip(SYSTEM_LABELS, mine, mean, strict=True)
    ):
        chart.bar(
            0, value, row + 0.1, row + 0.5, TOWN_COLOUR, f"town {town}: {value:.2f}"
        )
        chart.bar(0, average, row + 0.5, row + 0.9, MEAN_COLOUR, f"mean: {average:.2f}")
        y = float(chart.py(row + 0.55))
        chart.text(chart.left - 6, y + 4, label, anchor="end", size=11)
    chart.legend = [[f"town {town}", TOWN_COLOUR], ["province mean", MEAN_COLOUR]]
    return chart.spec()


def town_levels_chart(model: TownModel, town: int) -> dict[str, Any]:
    """Share of one town's firms at each level, at each year end (its S-curves)."""
    frame = model.town_frame()
    here = frame[frame["town"] == town]
    counts = here[[f"firms_level_{k}" for k in (1, 2, 3, 4)]].to_numpy(float).T
    shares = counts / np.maximum(counts.sum(axis=0), 1.0)
    chart = _time_chart(model, f"Firms of town {town} per level (year ends)", (0, 1))
    chart.stack(here["year"].to_numpy(float), shares, *STACK)
    return chart.spec()


def coordination_chart(model: TownModel, town: int) -> dict[str, Any]:
    """Coordination D of one town and of the province's mean over the years."""
    chart = _time_chart(model, "Coordination D over the years", (0, 1))
    for low, band in ((0.3, "moderate"), (0.5, "high"), (0.8, "excellent")):
        chart.text(
            chart.left + 4, float(chart.py(low)) - 3, band, anchor="start", size=11
        )
    frame = model.town_frame()
    here = frame[frame["town"] == town]
    mean = frame.groupby("year")["coordination"].mean()
    chart.line(here["year"], here["coordination"], TOWN_COLOUR, f"town {town}")
    chart.dots(here["year"], here["coordination"], TOWN_COLOUR)
    chart.line(mean.index, mean.to_numpy(), MEAN_COLOUR, "province mean", dash="5,4")
    return chart.spec()
