"""A search file made runnable: its levers, scenarios, seeds and runs.

The levers and uncertainties are checked against the scenario schema by the
sweep planner, so a search file fails on a bad key exactly as an experiment file
does. The scenarios are a Latin hypercube over the uncertainties and the seeds
derive from the root seed; both are fixed for the whole search, so every
candidate meets the same scenarios with the same seeds (common random numbers),
and a run's id depends only on what it runs: a candidate proposed twice, or
again after a kill, finds its runs already stored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments.optimize.search_file import SearchFile, read_search
from experiments.sweeps.experiment_file import (
    TOWNSIM,
    DesignSettings,
    Experiment,
    ExperimentError,
    Level,
)
from experiments.sweeps.plan import RunSpec, Variable, plan, run_seed
from experiments.sweeps.samplers import sample_unit
from experiments.sweeps.worker import Task


@dataclass
class Problem:
    """A validated search with its scenarios and seeds: what every candidate runs."""

    search: SearchFile
    source: str
    levers: list[Variable]
    uncertainties: list[Variable]
    scenarios: list[dict[str, Level]]
    """Uncertainty values of each scenario (one empty scenario without any)."""
    seeds: list[int]
    """The seed of each replication, the same in every scenario."""
    base: dict[str, Any] | None
    task: Task

    @property
    def runs_per_candidate(self) -> int:
        """Scenarios times seeds."""
        return len(self.scenarios) * len(self.seeds)

    def fingerprint(self) -> str:
        """A hash of what shapes the stored runs and the search's path.

        The description and the number of generations are left out: a search
        replays the same generations, so one given more generations continues
        in the same folder.
        """
        search = self.search.model_dump(mode="json", exclude={"description"})
        search["algorithm"].pop("generations")
        return digest({"search": search, "base": self.base})

    def lever_values(self, unit: np.ndarray) -> dict[str, Level]:
        """A candidate's lever values from its coordinates in the unit cube."""
        return {
            v.name: v.value(float(u)) for v, u in zip(self.levers, unit, strict=True)
        }

    def specs(self, levers: dict[str, Level]) -> list[RunSpec]:
        """Every run of one candidate: scenario by scenario, seed by seed.

        `point` holds the scenario and `replication` the seed's number, so a run
        file says which scenario and seed it ran; its factor columns hold the
        lever and uncertainty values.
        """
        shared = digest(
            {
                "model": self.task.model,
                "base": self.task.base,
                "arguments": self.task.arguments,
                "outcomes": self.task.outcomes,
                "years": self.task.years,
            }
        )
        found = []
        for point, scenario in enumerate(self.scenarios):
            params = {**levers, **scenario}
            for replication, seed in enumerate(self.seeds):
                run_id = digest({"base": shared, "params": params, "seed": seed})
                found.append(RunSpec(run_id[:20], point, replication, seed, params))
        return found


def load_problem(path: str | Path) -> Problem:
    """Read, validate and plan a search file.

    Raises:
        ExperimentError: If the file is missing, not TOML, or invalid, with the
            file, the key, the value and what is allowed.
    """
    path = Path(path)
    return make_problem(read_search(path), str(path), path.parent)


def make_problem(search: SearchFile, source: str, folder: Path = Path()) -> Problem:
    """Check a search against the scenario schema; draw its scenarios and seeds."""
    experiment = Experiment(
        name=search.name,
        model=search.model,
        scenario=search.scenario,
        set=search.set,
        levers=search.levers,
        uncertainties=search.uncertainties,
        design=DesignSettings(kind="lhs", samples=1),
        root_seed=search.root_seed,
    )
    planned = plan(experiment, source=source, folder=folder)
    levers = [v for v in planned.variables if v.role == "lever"]
    uncertainties = [v for v in planned.variables if v.role == "uncertainty"]
    if planned.base is not None:
        _check_years(search, planned.base["run"], source)
    names = sorted({o.name for o in search.objectives.values()})
    years = sorted({o.year for o in search.objectives.values() if o.year is not None})
    task = Task(
        model=search.model,
        base=planned.base,
        outcomes=tuple(names) if search.model == TOWNSIM else None,
        years=tuple(years) if search.model == TOWNSIM and years else None,
        factors=tuple((v.name, v.numeric) for v in planned.variables),
        arguments=planned.arguments,
    )
    return Problem(
        search=search,
        source=source,
        levers=levers,
        uncertainties=uncertainties,
        scenarios=_scenarios(search, uncertainties),
        seeds=[
            run_seed(search.root_seed, 0, rep, "common") for rep in range(search.seeds)
        ],
        base=planned.base,
        task=task,
    )


def _scenarios(
    search: SearchFile, uncertainties: list[Variable]
) -> list[dict[str, Level]]:
    """A Latin hypercube of the uncertainties, drawn from the root seed."""
    if not uncertainties:
        return [{}]
    design = DesignSettings(kind="lhs", samples=search.scenarios)
    unit = sample_unit(design, len(uncertainties), search.root_seed)
    return [
        {v.name: v.value(float(u)) for v, u in zip(uncertainties, row, strict=True)}
        for row in unit
    ]


def _check_years(search: SearchFile, run: dict[str, Any], source: str) -> None:
    first, last = run["start_year"], run["end_year"]
    for name, objective in search.objectives.items():
        if objective.year is not None and not first <= objective.year <= last:
            raise ExperimentError(
                f"{source}: key 'objectives.{name}.outcome' = "
                f"{objective.outcome!r}: year {objective.year} is outside the run; "
                f"allowed: {first} to {last}"
            )


def digest(data: Any) -> str:
    """A stable hash of JSON-like data (keys sorted)."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
