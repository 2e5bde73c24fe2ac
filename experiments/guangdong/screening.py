"""Morris screening of the Guangdong scenario's assumed parameters: one run.

The sweep `experiments/screening.toml` varies every parameter the ODD lists as
an assumption of the dynamics (section 8) over a range around its value and
runs this function on a sample of the province's towns from the end of 2015 to
2020, the years the record and the plan speak of. Scalar keys are set to the
factor's value; for a key holding a list or a table the factor is a multiplier
of the scenario's values (`SCALED`), clipped to each value's allowed range,
and for the two sets of shares it is the first share, the others rescaled so
that they still sum to 1 (`FIRST_SHARE`). Integer keys are rounded.

Outcomes, measured on the listed towns: real output growth a year, 2015-2020;
the part of it the model's own mechanisms explain (`model.growth`); platform
coverage, towns at dimension 2 or more and firms at level 3 or more in 2020.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.guangdong.calibrate import PROVINCE_TOWNS
from experiments.guangdong.markdown_tables import markdown_table
from model import TownModel
from model.growth import EXPLAINED
from scenarios import Scenario, build_scenario, load_scenario

SCALED = {
    "economy.size_min": (1e-9, 1e4),
    "economy.infrastructure_start": (0.0, 1.0),
    "enterprise.upgrade_cost": (0.0, np.inf),
    "enterprise.talent_needed": (0.0, 1.0),
    "enterprise.infrastructure_needed": (0.0, 1.0),
    "platform.build_cost": (0.0, np.inf),
}
"""Keys whose factor multiplies the scenario's value(s), and their bounds."""
FIRST_SHARE = {
    "province.region_shares": "pearl_river_delta",
    "enterprise.initial_levels": 0,
}
"""Keys whose factor is one share (by key or position); the rest keep proportions."""
INTEGERS = (
    "province.towns_per_city",
    "economy.customized_midyear",
    "university.per_region",
)
SAMPLE_TOWNS = 40
END_YEAR = 2020


def scaled(value: Any, factor: float, bounds: tuple[float, float]) -> Any:
    """A value, a list or a table times `factor`, clipped to `bounds`."""
    low, high = bounds
    if isinstance(value, dict):
        return {k: float(np.clip(v * factor, low, high)) for k, v in value.items()}
    if isinstance(value, list):
        return [float(np.clip(v * factor, low, high)) for v in value]
    return float(np.clip(value * factor, low, high))


def first_share(values: Any, first: Any, share: float) -> Any:
    """Shares with `first` set to `share` and the others rescaled to sum to 1."""
    if isinstance(values, dict):
        rest = sum(v for k, v in values.items() if k != first)
        return {
            k: share if k == first else v * (1 - share) / rest
            for k, v in values.items()
        }
    rest = sum(values) - values[first]
    return [
        share if i == first else v * (1 - share) / rest for i, v in enumerate(values)
    ]


def overrides(base: Scenario, factors: dict[str, float]) -> dict[str, Any]:
    """The scenario overrides the factors stand for."""
    data = base.model_dump()
    found: dict[str, Any] = {}
    for key, factor in factors.items():
        section, name = key.split(".")
        value = data[section][name]
        if key in SCALED:
            found[key] = scaled(value, factor, SCALED[key])
        elif key in FIRST_SHARE:
            found[key] = first_share(value, FIRST_SHARE[key], factor)
        elif key in INTEGERS:
            found[key] = round(factor)
        else:
            found[key] = factor
    return found


def sample(towns: int = SAMPLE_TOWNS, end_year: int = END_YEAR) -> Scenario:
    """The Guangdong scenario on a sample of its towns, starting on their share."""
    base = load_scenario("guangdong")
    share = towns / PROVINCE_TOWNS
    return build_scenario(
        base.model_dump(),
        {
            "towns": towns,
            "start_output": base.province.start_output * share,
            "end_year": end_year,
            "views": "lazy",
        },
        origin="guangdong sample",
    )


def screening_run(
    seed: int, towns: int = SAMPLE_TOWNS, end_year: int = END_YEAR, **factors: float
) -> dict[str, float]:
    """One run of the sample with the factors set; the outcomes of the module."""
    base = sample(towns, end_year)
    s = build_scenario(base.model_dump(), overrides(base, factors), origin="screening")
    model = TownModel(s, rng=seed).run()
    growth = model.growth_frame()
    base_output = growth["output_before"].to_numpy()
    explained = growth[list(EXPLAINED)].sum(axis=1).to_numpy()
    frame = model.town_frame()
    last = frame[frame["year"] == end_year]
    gdp = frame.groupby("year")["gdp"].sum()
    years = end_year - s.run.start_year
    levels = last[[f"firms_level_{lv}" for lv in (1, 2, 3, 4)]].sum()
    platforms = [c for c in last.columns if c.startswith("platform_")]
    return {
        "real_growth": float(
            (gdp[end_year] / gdp[s.run.start_year]) ** (1 / years) - 1
        ),
        "explained_growth": float(np.mean(explained / base_output)),
        "coverage": float(last[platforms].any(axis=1).mean()),
        "share_dim2plus": float((last["dimension"] >= 2).mean()),
        "share_level3plus": float(levels.iloc[2:].sum() / levels.sum()),
    }


OUTCOME_UNITS = {
    "real_growth": ("real growth", 100, "pp a year"),
    "explained_growth": ("explained growth", 100, "pp a year"),
    "coverage": ("coverage 2020", 100, "points"),
    "share_dim2plus": (">= 2D 2020", 100, "points"),
    "share_level3plus": ("L3+ 2020", 100, "points"),
}
"""The screened outcomes: label, factor to the shown unit, unit."""
INFLUENCE = 2.0
"""A key matters for an outcome when its mu* is at least this many times the
outcome's median mu* over keys: with one replication per design point most
keys' mu* is seed noise, and the median stands for that floor."""


def verdicts(indices: pd.DataFrame) -> pd.DataFrame:
    """Per key: mu* on each outcome (shown units) and the outcomes it matters for."""
    mu = indices[indices["index"] == "mu_star"].pivot(
        index="factor", columns="outcome", values="estimate"
    )
    ratio = mu / mu.median()
    table = pd.DataFrame(index=mu.index)
    for outcome, (label, factor, _) in OUTCOME_UNITS.items():
        table[label] = mu[outcome] * factor
    matters = ratio.ge(INFLUENCE)
    table["matters for"] = [
        ", ".join(OUTCOME_UNITS[o][0] for o in OUTCOME_UNITS if matters.loc[k, o])
        or "-"
        for k in mu.index
    ]
    order = ratio.max(axis=1).sort_values(ascending=False).index
    return table.loc[order].rename_axis("key")


def page(indices: pd.DataFrame, took: str) -> str:
    """docs/screening.md: the verdicts and how they were made."""
    table = verdicts(indices)
    units = "; ".join(f"{lab} in {unit}" for lab, _, unit in OUTCOME_UNITS.values())
    return "\n".join(
        [
            "# Morris screening of the assumed parameters (Guangdong, 2015-2020)",
            "",
            "Rerun: `townsim sweep experiments/screening.toml && townsim analyze "
            "results/sweeps/screening --out docs/screening && python -m "
            f"experiments.guangdong.screening docs/screening` ({took}). "
            f"{SAMPLE_TOWNS} of the 399 towns on their share of the output, "
            "8 trajectories of 37 points, one seed per point; every key over the "
            "range in `experiments/screening.toml` (lists and tables scaled, share "
            "sets by their first share). mu* is the mean absolute elementary "
            f"effect over the key's whole range ({units}). A key matters for an "
            f"outcome when its mu* is at least {INFLUENCE:g} times the outcome's "
            "median over keys (the seed-noise floor of a one-seed design). "
            "Intervals and the full report: `docs/screening/report.md`.",
            "",
            markdown_table(table, digits=2),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    """Write docs/screening.md from a screening analysis folder."""
    parser = argparse.ArgumentParser(description="the screening's verdicts")
    parser.add_argument("analysis", type=Path, help="folder with indices.csv")
    parser.add_argument("--took", default="about 5 minutes on two cores")
    args = parser.parse_args(argv)
    text = page(pd.read_csv(args.analysis / "indices.csv"), args.took)
    (args.analysis.parent / "screening.md").write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
