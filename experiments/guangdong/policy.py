"""The 2020 plan and the levers: does today's policy reach it, which mix helps most?

Computes, from the province and lever runs, each run's yearly output and
platform coverage, the plan's figures per run (mean ± s.d.), the paired output
differences against today's policy, and which same-budget mix moves output and
coverage fastest; the report renders the tables, the verdict and the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from agents.certification import certified_by
from experiments.guangdong.comparisons import of, series
from experiments.guangdong.function_models import POLICIES, TODAY
from experiments.guangdong.over_seeds import mean_sd, paired
from scenarios import Scenario

PROVINCE_GDP = 2.77e6
"""Output of the towns at the start, M yuan, 2015 prices (Wang 2018)."""
PLAN_TOWNS = 500
"""Towns the 2020 plan counts (Wang 2018)."""


def listed_in(s: Scenario, year: int) -> int:
    """Towns the scenario has certified by the end of `year` (start and joined)."""
    return s.province.towns + certified_by(s, year)


def plan_share(s: Scenario) -> float:
    """The scenario's listed towns in the plan year over the plan's 500."""
    return listed_in(s, s.plan.year) / PLAN_TOWNS


def frames(rows: pd.DataFrame, start: float | None = None) -> list[pd.DataFrame]:
    """Each run's yearly output and coverage; output rescaled to `start` if given.

    Output is at current prices (`gdp_nominal`), as the plan's targets are.
    """
    found = []
    for gdp, coverage in zip(
        series(rows, "gdp_nominal"), series(rows, "platform_coverage"), strict=True
    ):
        frame = pd.DataFrame({"gdp": gdp, "coverage": coverage})
        if start is not None:
            frame["gdp"] = frame["gdp"] * start / frame["gdp"].iloc[0]
        found.append(frame)
    return found


def lever_frames(levers: pd.DataFrame, start: float | None) -> dict[str, list]:
    """The runs of every lever mix, in the order of `POLICIES`."""
    return {label: frames(of(levers, "policy", label), start) for label in POLICIES}


def first_year(values: pd.Series, target: float) -> float:
    """First year a yearly series reaches `target` (NaN if never)."""
    reached = values[values >= target]
    return float(reached.index.min()) if len(reached) else float("nan")


def plan_outcomes(frame: pd.DataFrame, s: Scenario) -> dict[str, float]:
    """The plan figures of one run: 2020 values and the years targets are met."""
    plan = s.plan
    per_town = plan.gdp_target * plan_share(s) if plan.gdp_target else np.nan
    year = plan.year if plan.year in frame.index else frame.index.max()
    return {
        f"output {year}, trillion yuan, current prices": frame.loc[year, "gdp"] / 1e6,
        f"coverage {year}, %": 100 * frame.loc[year, "coverage"],
        "year output > 4 trillion": first_year(frame["gdp"], plan.gdp_target or np.inf),
        "year output > 4 tn x towns/500": first_year(frame["gdp"], per_town),
        "year coverage > 90%": first_year(frame["coverage"], plan.coverage_target),
    }


def summarise(runs: list[pd.DataFrame], s: Scenario) -> dict[str, str]:
    """Mean ± s.d. over runs of each plan outcome; never-reached years counted."""
    outcomes = pd.DataFrame([plan_outcomes(f, s) for f in runs])
    row = {}
    for column in outcomes:
        found = outcomes[column]
        text = mean_sd(found)
        missing = int(found.isna().sum())
        if missing:
            text += f" (not by {s.run.end_year} in {missing}/{len(found)})"
        row[column] = text
    return row


def output_in(runs: list[pd.DataFrame], year: int) -> np.ndarray:
    """Each run's output in `year` (the last year if the run ends before)."""
    return np.array([f.loc[min(year, f.index.max()), "gdp"] for f in runs])


def lever_table(levers: dict[str, list[pd.DataFrame]], s: Scenario) -> pd.DataFrame:
    """The plan figures of every mix, and its 2020 output against today's (paired)."""
    table = pd.DataFrame({k: summarise(v, s) for k, v in levers.items()}).T
    base = output_in(levers[TODAY], 2020)
    texts = []
    for runs in levers.values():
        mean, se = paired(output_in(runs, 2020), base)
        texts.append(f"{mean / 1e3:+.0f} ± {se / 1e3:.0f}")
    table["output 2020 minus today's, bn yuan, current prices (paired)"] = texts
    return table


@dataclass
class LeverVerdict:
    """Which same-budget mix raises the plan year's output most, and how clearly."""

    best: str
    gain: tuple[float, float]
    """Its paired output difference from today's policy, mean and s.e., M yuan."""
    clear: bool
    below: bool
    """Whether every same-budget mix stays below the plan's output on average."""
    soonest: str
    """The mix that covers the plan's share of towns first."""
    covered: dict[str, float]
    """Mean year each mix reaches the coverage target (inf if some run never)."""


def lever_verdict(levers: dict[str, list[pd.DataFrame]], s: Scenario) -> LeverVerdict:
    """Compare the same-budget mixes with today's policy on output and coverage."""
    same = {k: v for k, v in levers.items() if "programme" not in k}
    base = output_in(same[TODAY], s.plan.year)
    diffs = {k: paired(output_in(v, s.plan.year), base) for k, v in same.items()}
    best = max((k for k in same if k != TODAY), key=lambda k: diffs[k][0])
    mean, se = diffs[best]
    covered = {
        k: float(
            np.mean(
                [
                    np.nan_to_num(
                        first_year(f["coverage"], s.plan.coverage_target), nan=np.inf
                    )
                    for f in v
                ]
            )
        )
        for k, v in same.items()
    }
    reached = max(output_in(v, s.plan.year).mean() for v in same.values())
    return LeverVerdict(
        best=best,
        gain=(mean, se),
        clear=mean > 2 * se,
        below=reached < (s.plan.gdp_target or np.inf),
        soonest=min(covered, key=covered.get),
        covered=covered,
    )
