"""The validation report's comparisons as sweeps: sizes, plans, runs, results.

Each comparison (the mechanism variants, the IP-protection and far-search
sweeps, the whole province, the lever mixes) is a factorial plan over one factor
of a function model (`function_models`), run by the sweep engine into its own
results folder: runs go to worker processes, and a rerun resumes where the last
one stopped. Every plan has the same root seed and common seeds, so replication
r runs with the same seed in every comparison (common random numbers).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis.results import load_results
from experiments.guangdong.function_models import POLICIES, TODAY, VARIANTS
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.experiment_file import Experiment
from experiments.sweeps.plan import Plan, plan

FUNCTIONS = "experiments.guangdong.function_models"
ROOT_SEED = 2015
"""Root of every validation run's seed (numpy SeedSequence): the start year."""


@dataclass(frozen=True)
class Config:
    """Sizes and replications of the report's runs."""

    replications: int = 20
    towns: int = 30
    """Towns of the sample used for the mechanism patterns."""
    sweep_replications: int = 8
    sweep_towns: int = 10
    sweep_end: int = 2030
    permutations: int = 300
    checkpoints: tuple[int, ...] = (2020, 2025, 2030)
    province_replications: int = 5
    province_towns: int | None = None
    """Towns of the 'whole province' runs (None: the scenario's 399)."""
    policy_towns: int | None = None
    """Towns of the lever runs (None: the scenario's 399)."""
    policy_replications: int = 5
    ip_levels: tuple[float, ...] = tuple(np.round(np.linspace(0, 1, 11), 2))
    far_levels: tuple[float, ...] = (0.0, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8)
    overrides: dict[str, Any] = field(default_factory=dict)
    root_seed: int = ROOT_SEED


QUICK = Config(
    replications=2,
    towns=4,
    sweep_replications=2,
    sweep_towns=3,
    sweep_end=2018,
    permutations=20,
    checkpoints=(2017,),
    province_replications=1,
    province_towns=5,
    policy_towns=4,
    policy_replications=1,
    ip_levels=(0.0, 0.5, 1.0),
    far_levels=(0.0, 0.2),
    overrides={"firms_per_town": 30, "end_year": 2021},
)
"""A tiny configuration for tests: every section runs, no figure means much."""

Runs = dict[str, pd.DataFrame]
"""Each comparison's tidy outcome rows (a sweep's `runs/` folder), by name."""

NO_IP_SPENDING = {"government.ip": 0.0}
"""The IP sweeps hold protection at the legal floor: on the Guangdong towns the
IP lever's spending takes realised protection to 1 whatever the floor."""
SWEEPS: dict[str, tuple[str, dict[str, Any]]] = {
    "ip_protection": ("legal_protection", NO_IP_SPENDING),
    "ip_protection_sharing_fixed": (
        "legal_protection",
        {**NO_IP_SPENDING, "sharing_floor": 1.0, "leakage_max": 1.0},
    ),
    "far_search": ("far_search", {}),
    "far_search_no_rule": ("far_search", {"cross_border_level": 1}),
}
"""Each knowledge sweep: its factor (a scenario field, by its unique name) and
what it knocks out: openness independent of protection with leakage at its
largest (the face that could make an optimum at its strongest), and the rule
that cross-town ties need level `cross_border_level`. The IP lever's money goes
to the other levers in the IP sweeps (their weights are kept)."""
SWEEP_KEYS = {name: key for name, (key, _) in SWEEPS.items()}


def plans(cfg: Config) -> dict[str, Plan]:
    """Every comparison of the report, by the name of its results folder."""
    levels = {"legal_protection": cfg.ip_levels, "far_search": cfg.far_levels}
    knowledge = {
        name: _plan(
            cfg,
            name,
            "knowledge_run",
            {key: [float(level) for level in levels[key]]},
            cfg.sweep_replications,
            extra=extra,
            towns=cfg.sweep_towns,
            end_year=cfg.sweep_end,
        )
        for name, (key, extra) in SWEEPS.items()
    }
    return {
        "mechanisms": _plan(
            cfg,
            "mechanisms",
            "mechanism_run",
            {"variant": list(VARIANTS)},
            cfg.replications,
            towns=cfg.towns,
            checkpoints=list(cfg.checkpoints),
            permutations=cfg.permutations,
        ),
        **knowledge,
        "province": _plan(
            cfg,
            "province",
            "policy_run",
            {"policy": [TODAY]},
            cfg.province_replications,
            start_sizes=True,
            **towns_of(cfg.province_towns),
        ),
        "levers": _plan(
            cfg,
            "levers",
            "policy_run",
            {"policy": list(POLICIES)},
            cfg.policy_replications,
            **towns_of(cfg.policy_towns),
        ),
    }


def towns_of(count: int | None) -> dict[str, int]:
    """The override for a number of towns (none: the scenario's own)."""
    return {"towns": count} if count else {}


def _plan(
    cfg: Config,
    name: str,
    function: str,
    levers: dict[str, list[Any]],
    replications: int,
    extra: dict[str, Any] | None = None,
    **arguments: Any,
) -> Plan:
    """A factorial plan over one factor of a function model, with common seeds.

    `extra` overrides the scenario on top of the report's overrides.
    """
    experiment = Experiment.model_validate(
        {
            "name": f"validation-{name}",
            "description": f"validation report: {name.replace('_', ' ')}",
            "model": f"{FUNCTIONS}:{function}",
            "set": {"overrides": {**cfg.overrides, **(extra or {})}, **arguments},
            "levers": levers,
            "replications": replications,
            "root_seed": cfg.root_seed,
            "seeding": "common",
        }
    )
    return plan(experiment, source=f"validation {name}")


def run_all(
    cfg: Config, results: Path, workers: int | None = None, progress: bool = True
) -> Runs:
    """Run (or resume) every comparison and read back its tidy outcome rows.

    Raises:
        RuntimeError: If a run failed; its traceback is in the folder's failures/.
    """
    rows = {}
    for name, planned in plans(cfg).items():
        folder = Path(results) / name
        started = time.perf_counter()
        summary = run_sweep(planned, folder, workers=workers, progress=progress)
        if not summary.complete:
            raise RuntimeError(
                f"{folder}: {summary.failed + summary.earlier_failed} runs failed; "
                f"their tracebacks are in {folder / 'failures'}"
            )
        print(f"{name}: {time.perf_counter() - started:.0f} s", flush=True)
        rows[name] = load_results(folder).runs
    return rows


def values(rows: pd.DataFrame, outcome: str, by: str | None = None) -> pd.Series:
    """One value per run of a run outcome, indexed by (factor level,) replication."""
    part = rows[rows["outcome"] == outcome]
    index = [by, "replication"] if by else ["replication"]
    return part.set_index(index)["value"]


def series(rows: pd.DataFrame, outcome: str) -> list[pd.Series]:
    """A yearly outcome of each run, by year, in replication order."""
    part = rows[rows["outcome"] == outcome]
    return [
        run.set_index(run["year"].astype(int))["value"]
        for _, run in part.groupby("replication", sort=True)
    ]


def of(rows: pd.DataFrame, factor: str, level: Any) -> pd.DataFrame:
    """The rows of the runs at one level of the plan's factor."""
    return rows[rows[factor] == level]
