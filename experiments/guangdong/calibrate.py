"""Calibrate the Guangdong scenario's start to the published figures of its year.

The start is data (`province.start_output`): every seed starts on 2.77 trillion
yuan, its towns' outputs the quantiles of a lognormal. What is set here:

- `province.town_size_spread` (s.d. of log town output), in closed form: the
  lognormal whose quantiles put 9 towns above 100 bn and 141 above 10 bn yuan
  of output value is the one whose 390/399 and 258/399 quantiles (between the
  9th and 10th, and the 141st and 142nd largest towns) are ten times apart;
- `scale.gross_output_ratio` (output value per yuan of value added), in closed
  form: the ratio that puts the 258/399 quantile on 10 bn yuan;
- `economy.size_tail` (Pareto tail of agent size within a town), by Brent's
  method on the mean over seeds: about 30,000 enterprises above designated
  size, each agent standing for `scale.firms_per_agent` (1) real enterprises.

Usage: `python -m experiments.guangdong.calibrate [--apply]`.
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
from scipy.special import ndtri

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

TAIL_BOUNDS = (0.55, 2.0)
DEFAULT_SEEDS = (1, 2, 3, 4)


def quantile_between(rank: int, towns: int) -> float:
    """Standard normal quantile between the `rank`-th and next largest of `towns`.

    Town k (0 = smallest) sits at the (k + 1/2)/n quantile, so the boundary
    below the rank-th largest is at (n - rank)/n.
    """
    return float(ndtri((towns - rank) / towns))


def town_spread(towns: int = PROVINCE_TOWNS) -> float:
    """S.d. of log town output that puts the two counts ten times apart."""
    big = quantile_between(TARGETS["over_100bn"], towns)
    large = quantile_between(TARGETS["over_10bn"], towns)
    return float(np.log(BIG / LARGE) / (big - large))


def gross_ratio(spread: float, towns: int = PROVINCE_TOWNS) -> float:
    """Output value per yuan of value added that puts 141 towns above 10 bn."""
    quantiles = np.exp(spread * ndtri((np.arange(towns) + 0.5) / towns))
    scale = TARGETS["gdp"] / quantiles.sum()
    at_large = scale * np.exp(spread * quantile_between(TARGETS["over_10bn"], towns))
    return float(LARGE / at_large)


@dataclass
class Start:
    """The initial province of one seed: town outputs and agent outputs."""

    seed: int
    town_output: np.ndarray
    agent_output: np.ndarray


def initial_state(scenario: Scenario, seed: int, **params: float) -> Start:
    """Build the model (no step) and read the outputs of its initial state.

    Only the certified towns count: the figures are those of the listed towns.
    """
    model = TownModel(scenario, rng=seed, views="lazy", **params)
    listed = model.towns.certified
    firms = model.firms.alive & listed[model.firms.town]
    return Start(seed, model.towns.gdp[listed].copy(), model.firms.output[firms].copy())


def above_size_count(starts: list[Start], ratio: float, per_agent: float) -> float:
    """Mean enterprises above designated size when each agent is `per_agent` firms."""
    counts = [
        per_agent * np.sum(ratio * st.agent_output / per_agent >= ABOVE_SIZE_REVENUE)
        for st in starts
    ]
    return float(np.mean(counts))


def fit_tail(scenario: Scenario, seeds: Sequence[int], ratio: float) -> float:
    """The within-town size tail that gives the above-size count, on `seeds`."""
    target = TARGETS["above_size"] * scenario.province.towns / PROVINCE_TOWNS
    per_agent = scenario.scale.firms_per_agent

    def gap(tail: float) -> float:
        starts = [initial_state(scenario, s, size_tail=tail) for s in seeds]
        return float(np.log(above_size_count(starts, ratio, per_agent) / target))

    return float(brentq(gap, *TAIL_BOUNDS, xtol=1e-4))


@dataclass
class Calibration:
    """Tuned values, the fit per seed, and whether every target could be met."""

    values: dict[str, float]
    fit: pd.DataFrame
    exact: bool


def calibrate(scenario: Scenario, seeds: Sequence[int]) -> Calibration:
    """Set the three values of the module docstring for `scenario` on `seeds`."""
    spread = town_spread()
    ratio = gross_ratio(spread)
    data = {"town_size_spread": round(spread, 4), "gross_output_ratio": round(ratio, 4)}
    tail = fit_tail(load_scenario_with(scenario, data), seeds, ratio)
    values = {**data, "size_tail": round(tail, 4)}
    tuned = load_scenario_with(scenario, values)
    return Calibration(values, fit_table(tuned, seeds), exact=True)


def load_scenario_with(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario with the tuned values set."""
    return build_scenario(scenario.model_dump(), values, origin=scenario.name)


def fit_table(scenario: Scenario, seeds: Sequence[int]) -> pd.DataFrame:
    """Target against achieved figure, per seed and on average."""
    ratio = scenario.scale.gross_output_ratio
    per_agent = scenario.scale.firms_per_agent
    share = scenario.province.towns / PROVINCE_TOWNS
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
        [TARGETS[key] * share for key in ("gdp", "over_100bn", "over_10bn")]
        + [TARGETS["above_size"] * share],
    )
    table.loc["GDP, trillion yuan", "target"] /= 1e6
    table["set by"] = [
        "start_output (data)",
        "town_size_spread (closed form)",
        "gross_output_ratio (closed form)",
        "size_tail (fitted)",
    ]
    return table


def apply(path: Path, values: dict[str, float]) -> None:
    """Write the tuned values into the scenario file, keeping its comments."""
    text = path.read_text()
    for key, value in values.items():
        text, n = re.subn(
            rf"^{key} = [^\n#]*?(?=\s*(#|$))",
            f"{key} = {value:.10g}",
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
        "with that seed, its listed towns only. Output is value added at the "
        "prices of the start year (so nominal in that year); "
        "counts of towns use output value (value added times "
        "`gross_output_ratio`). The start is data: the towns' outputs are the "
        "quantiles of a lognormal scaled to 2.77 trillion yuan, the same for "
        "every seed (ODD 6.1); only the agents within each town are drawn.",
        "",
        "| parameter | value |",
        "| --- | --- |",
        *(f"| `{k}` | {v:g} |" for k, v in result.values.items()),
        "",
        markdown_table(result.fit),
        "",
    ]
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
    if args.towns is not None:  # a sample of the towns starts on its share
        whole = load_scenario(args.scenario).province.start_output
        if whole is not None:
            overrides["start_output"] = whole * args.towns / PROVINCE_TOWNS
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
