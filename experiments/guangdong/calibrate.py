"""Calibrate the Guangdong scenario to the published figures of its start year.

Four parameters are tuned, each to the figure it controls most, on the initial
province (the state at the end of the start year, built from the scenario's
draws, the model's own initialization):

- `economy.size_tail` (Pareto tail of agent size): the spread of town output,
  the ratio of the 9th to the 141st largest town's output = 100 bn / 10 bn;
- `economy.size_min` (agent workforce scale): total output 2.77 trillion yuan;
- `scale.gross_output_ratio`: 141 towns above 10 bn yuan of output value;
- `scale.firms_per_agent`: about 30,000 enterprises above designated size.

The tail is found by Brent's method (scipy.optimize.brentq) on the mean over
seeds (common random numbers) of the log ratio of order statistics; for each
tail, the size scale is rescaled until total output matches (output is close to
proportional to it). The two scale parameters are then solved in closed form or
by Brent's method. Usage: `python -m experiments.guangdong.calibrate [--apply]`.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from experiments.guangdong.markdown_tables import markdown_table
from experiments.runs.provenance import code_version
from model import TownModel
from scenarios import Scenario, build_scenario, load_scenario
from scenarios.loading import scenario_path

PROVINCE_TOWNS = 399
"""Towns the figures count (Wang 2018; Economic Daily 2016)."""

TARGETS = {
    "gdp": 2.77e6,  # M yuan per year, Wang 2018
    "over_100bn": 9,  # towns, Economic Daily 2016
    "over_10bn": 141,  # towns, Economic Daily 2016
    "above_size": 30_000,  # enterprises above designated size, Economic Daily 2016
}
BIG, LARGE = 1e5, 1e4
"""100 bn and 10 bn yuan of output value, in M yuan."""

ABOVE_SIZE_REVENUE = 20.0
"""M yuan of main-business revenue a year: the 'designated size' since 2011."""

TAIL_BOUNDS = (0.7, 1.6)
SMALLEST_REAL_FIRM = 1.0
"""Workers of the smallest real enterprise: an agent of the smallest size cannot
stand for more real firms than its workforce divided by this."""
DEFAULT_SEEDS = (1, 2, 3, 4)


@dataclass(frozen=True)
class Targets:
    """The figures scaled to a province of `towns` towns (a sample of the 399)."""

    towns: int

    @property
    def share(self) -> float:
        """Fraction of the 399 towns the run holds."""
        return self.towns / PROVINCE_TOWNS

    @property
    def gdp(self) -> float:
        """Total output target, M yuan per year."""
        return TARGETS["gdp"] * self.share

    @property
    def above_size(self) -> float:
        """Enterprises above designated size."""
        return TARGETS["above_size"] * self.share

    def rank(self, key: str) -> int:
        """The order statistic (1 = largest town) a count target points to."""
        return max(1, round(TARGETS[key] * self.share))


@dataclass
class Start:
    """The initial province of one seed: town outputs and agent outputs."""

    seed: int
    town_output: np.ndarray
    agent_output: np.ndarray


def initial_state(scenario: Scenario, seed: int, **params: float) -> Start:
    """Build the model (no step) and read the outputs of its initial state."""
    model = TownModel(scenario, rng=seed, views="lazy", **params)
    alive = model.firms.alive
    return Start(seed, model.towns.gdp.copy(), model.firms.output[alive].copy())


def kth_largest(values: np.ndarray, k: int) -> float:
    """The k-th largest value (k = 1 is the maximum)."""
    return float(np.sort(values)[-k])


def fit_size_min(
    scenario: Scenario, seeds: Sequence[int], tail: float, target: float
) -> tuple[float, list[Start]]:
    """Rescale `size_min` until mean initial output over seeds hits `target`.

    Output is proportional to size except where the size cap binds, so a few
    fixed-point rescalings converge.
    """
    size_min = scenario.economy.size_min
    for _ in range(6):
        starts = [
            initial_state(scenario, s, size_tail=tail, size_min=size_min) for s in seeds
        ]
        total = np.mean([st.town_output.sum() for st in starts])
        factor = target / total
        size_min = float(np.clip(size_min * factor, 1e-3, 1e4))
        if abs(factor - 1) < 1e-4:
            break
    return size_min, starts


def spread_gap(
    scenario: Scenario, seeds: Sequence[int], tail: float, targets: Targets
) -> float:
    """Mean log(9th / 141st largest town output) minus log(10), at fitted scale."""
    _, starts = fit_size_min(scenario, seeds, tail, targets.gdp)
    big, large = targets.rank("over_100bn"), targets.rank("over_10bn")
    ratios = [
        np.log(kth_largest(st.town_output, big) / kth_largest(st.town_output, large))
        for st in starts
    ]
    return float(np.mean(ratios) - np.log(BIG / LARGE))


def fit_gross_ratio(starts: list[Start], targets: Targets) -> float:
    """Output-value ratio that puts the 141st and 9th towns on their thresholds."""
    big, large = targets.rank("over_100bn"), targets.rank("over_10bn")
    logs = [
        np.log(LARGE / kth_largest(st.town_output, large))
        + np.log(BIG / kth_largest(st.town_output, big))
        for st in starts
    ]
    return float(np.exp(np.mean(logs) / 2))


def above_size_count(starts: list[Start], ratio: float, per_agent: float) -> float:
    """Mean enterprises above designated size when each agent is `per_agent` firms."""
    counts = [
        per_agent * np.sum(ratio * st.agent_output / per_agent >= ABOVE_SIZE_REVENUE)
        for st in starts
    ]
    return float(np.mean(counts))


def fit_firms_per_agent(
    starts: list[Start], ratio: float, targets: Targets, most: float
) -> tuple[float, bool]:
    """Smallest agent scale in [1, most] matching the above-size count.

    Returns the scale and whether it meets the count; if no scale in range
    does, the one closest to it. The count is not monotone in the scale (at
    large scales only the few giant agents still hold firms above the
    threshold), so a log grid finds the first crossing and Brent's method
    refines it.
    """

    def gap(log_k: float) -> float:
        count = above_size_count(starts, ratio, float(np.exp(log_k)))
        return float(np.log(max(count, 1e-9) / targets.above_size))

    grid = np.linspace(0.0, np.log(max(most, 1.0)), 41)
    gaps = np.array([gap(x) for x in grid])
    crossing = np.flatnonzero(np.sign(gaps[:-1]) != np.sign(gaps[1:]))
    if crossing.size == 0:
        return float(np.exp(grid[np.argmin(np.abs(gaps))])), False
    i = crossing[0]
    return float(np.exp(brentq(gap, grid[i], grid[i + 1], xtol=1e-4))), True


@dataclass
class Calibration:
    """Tuned values, the fit per seed, and whether every target could be met."""

    values: dict[str, float]
    fit: pd.DataFrame
    exact: bool


def calibrate(scenario: Scenario, seeds: Sequence[int]) -> Calibration:
    """Tune the four parameters of the module docstring on `seeds`."""
    targets = Targets(scenario.province.towns)
    tail = brentq(
        lambda a: spread_gap(scenario, seeds, a, targets), *TAIL_BOUNDS, xtol=1e-4
    )
    size_min, starts = fit_size_min(scenario, seeds, tail, targets.gdp)
    ratio = fit_gross_ratio(starts, targets)
    most = size_min / SMALLEST_REAL_FIRM
    per_agent, exact = fit_firms_per_agent(starts, ratio, targets, most)
    values = {
        "size_tail": round(float(tail), 4),
        "size_min": round(size_min, 2),
        "gross_output_ratio": round(ratio, 3),
        "firms_per_agent": round(per_agent, 2),
    }
    tuned = load_scenario_with(scenario, values)
    return Calibration(values, fit_table(tuned, seeds, targets), exact)


def load_scenario_with(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario with the tuned values set."""
    return build_scenario(scenario.model_dump(), values, origin=scenario.name)


def fit_table(
    scenario: Scenario, seeds: Sequence[int], targets: Targets
) -> pd.DataFrame:
    """Target against achieved figure, per seed and on average."""
    ratio = scenario.scale.gross_output_ratio
    per_agent = scenario.scale.firms_per_agent
    rows = {}
    for seed in seeds:
        st = initial_state(scenario, seed)
        value = ratio * st.town_output
        rows[f"seed {seed}"] = {
            "GDP, trillion yuan": st.town_output.sum() / 1e6,
            "towns > 100 bn yuan": int((value >= BIG).sum()),
            "towns > 10 bn yuan": int((value >= LARGE).sum()),
            "enterprises above size": above_size_count([st], ratio, per_agent),
        }
    table = pd.DataFrame(rows)
    table["mean"] = table.mean(axis=1)
    table.insert(
        0,
        "target",
        [
            targets.gdp / 1e6,
            TARGETS["over_100bn"] * targets.share,
            TARGETS["over_10bn"] * targets.share,
            targets.above_size,
        ],
    )
    table["tuned by"] = [
        "size_min",
        "size_tail",
        "gross_output_ratio",
        "firms_per_agent",
    ]
    return table


def apply(path: Path, values: dict[str, float]) -> None:
    """Write the tuned values into the scenario file, keeping its comments."""
    text = path.read_text()
    for key, value in values.items():
        text, n = re.subn(
            rf"^{key} = [^\n#]*?(?=\s*(#|$))",
            f"{key} = {value:g}",
            text,
            count=1,
            flags=re.M,
        )
        if n != 1:
            raise ValueError(f"{path}: no line '{key} = ...' to update")
    path.write_text(text)


def report(result: Calibration, seeds: Sequence[int], source: str) -> str:
    """A Markdown page: what was tuned to what, the values and the fit."""
    lines = [
        "# Calibration of the Guangdong scenario",
        "",
        f"Generated by `python -m experiments.guangdong.calibrate` on `{source}` (code "
        f"version `{code_version()}`), seeds {', '.join(map(str, seeds))}; each "
        "figure is the initial state (end of the start year) of the model built "
        "with that seed. Counts of towns use output value (model output times "
        "`gross_output_ratio`).",
        "",
        "| parameter | value |",
        "| --- | --- |",
        *(f"| `{k}` | {v:g} |" for k, v in result.values.items()),
        "",
        markdown_table(result.fit),
        "",
    ]
    if not result.exact:
        lines.append(
            "No agent scale matches the above-size count: an agent of the "
            "smallest size cannot stand for more real firms than it has workers "
            f"({SMALLEST_REAL_FIRM:g} per firm at least), and within that range the "
            "count stays below its target; the scale closest to it is used."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: calibrate, print the fit, optionally write the scenario."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="guangdong")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(DEFAULT_SEEDS))
    parser.add_argument("--towns", type=int, help="calibrate on fewer towns")
    parser.add_argument("--firms", type=int, help="agents per town")
    parser.add_argument("--apply", action="store_true", help="update the TOML file")
    parser.add_argument("--out", type=Path, help="write the fit as Markdown here")
    args = parser.parse_args(argv)
    overrides = {
        k: v
        for k, v in {"towns": args.towns, "firms_per_town": args.firms}.items()
        if v is not None
    }
    if args.apply and overrides:
        parser.error("--apply writes the full province's values: drop --towns/--firms")
    scenario = load_scenario(args.scenario, overrides)
    result = calibrate(scenario, args.seeds)
    text = report(result, args.seeds, args.scenario)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    if args.apply:
        apply(scenario_path(args.scenario), result.values)
    return 0


if __name__ == "__main__":
    os.nice(10)  # long and CPU-bound: leave the machine to interactive work first
    raise SystemExit(main())
