"""Planning an experiment: its design points, its runs and their seeds.

Every sampled design is drawn in the unit hypercube (`samplers`) and then mapped
onto the factors, so that the analysis can read the same unit coordinates; a
factorial design enumerates levels and splits. Each factor is checked against
the scenario schema before anything runs, and every run's seed derives from the
experiment's root seed.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import numpy as np

from experiments.runs.posterior import Posterior, read_posterior
from experiments.sweeps.experiment_file import (
    TOWNSIM,
    Experiment,
    ExperimentError,
    Level,
    Split,
    read_experiment,
)
from experiments.sweeps.samplers import sample_unit
from scenarios import (
    DEFAULT_SCENARIO,
    Scenario,
    ScenarioError,
    build_scenario,
    load_scenario,
)
from scenarios.loading import did_you_mean, resolve_key

TABLES = {"lever": "levers", "uncertainty": "uncertainties"}
"""The experiment file's table of each role of factor, for error messages."""


@dataclass(frozen=True)
class Variable:
    """One input of the design: its column name and how a unit value maps onto it."""

    name: str
    role: str
    low: float | None = None
    high: float | None = None
    levels: tuple[Level, ...] | None = None
    integer: bool = False

    def value(self, unit: float) -> Level:
        """The factor value at a unit coordinate in [0, 1]."""
        if self.levels is not None:
            index = min(int(unit * len(self.levels)), len(self.levels) - 1)
            return self.levels[index]
        value = self.low + unit * (self.high - self.low)
        return round(value) if self.integer else float(value)

    @property
    def numeric(self) -> bool:
        """True when every value is a number (else the column holds text)."""
        return self.levels is None or all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in self.levels
        )


@dataclass(frozen=True)
class RunSpec:
    """One run of a sweep: a design point, a replication and its seed."""

    run_id: str
    point: int
    replication: int
    seed: int
    params: dict[str, Level]
    draw: int | None = None
    """The posterior draw the run uses, if any."""
    posterior: dict[str, float] = field(default_factory=dict)
    """The draw's values: they override the base scenario beneath `params`."""


@dataclass
class Plan:
    """A validated experiment with its design: everything needed to make the runs."""

    experiment: Experiment
    source: str
    variables: list[Variable]
    unit: np.ndarray
    """Design points in unit coordinates, one row per point (splits excluded)."""
    values: list[dict[str, Level]]
    """Factor values of each design point."""
    base: dict[str, Any] | None
    """The base scenario, resolved and validated (None for a plain function)."""
    outcomes: list[str] | None
    years: list[int] | None
    problem: dict[str, Any] = field(default_factory=dict)
    """The SALib problem of the sampled factors (unit bounds)."""
    arguments: dict[str, Any] = field(default_factory=dict)
    """A function model's fixed keyword arguments (the file's `[set]`)."""
    posterior: Posterior | None = None
    """The posterior whose draw r replication r of every point uses."""

    @property
    def points(self) -> int:
        """Number of design points."""
        return len(self.values)

    @property
    def runs(self) -> int:
        """Number of runs: points times replications."""
        return self.points * self.experiment.replications

    @property
    def columns(self) -> list[Variable]:
        """Factor columns of the results: sampled factors and split keys."""
        split_keys = [
            Variable(key, f"split:{name}")
            for name, split in self.experiment.splits.items()
            for key in split.keys
        ]
        return [*self.variables, *split_keys]

    def fingerprint(self) -> str:
        """A hash of everything that shapes the results: a folder holds one plan."""
        wording = {"description", "question", "answers", "analysis", "posterior"}
        data = {
            "experiment": self.experiment.model_dump(mode="json", exclude=wording),
            "base": self.base,
        }
        if self.posterior is not None:  # its content counts, not where it lies
            data["posterior"] = posterior_record(self.posterior, short=True)
        return digest(data)

    def specs(self) -> Iterator[RunSpec]:
        """Every run of the plan, point by point, made lazily."""
        shared = {"model": self.experiment.model, "base": self.base}
        if self.arguments:
            shared["arguments"] = self.arguments
        base_hash = digest(shared)
        reps = self.experiment.replications
        factorial = self.experiment.design.kind == "factorial"
        drawn = self.drawn()
        for point, params in enumerate(self.values):
            # A factorial point is known by its values, so that adding levels
            # keeps every finished run; a sampled point by its place in the
            # design, which also keeps two coinciding points two runs.
            where: Any = params if factorial else point
            for rep in range(reps):
                seed = run_seed(
                    self.experiment.root_seed, where, rep, self.experiment.seeding
                )
                at = [rep] if factorial else [point, rep]
                identity = {"base": base_hash, "params": params, "seed": seed, "at": at}
                if drawn:
                    identity["posterior"] = drawn[rep]
                run_id = digest(identity)[:20]
                if not drawn:
                    yield RunSpec(run_id, point, rep, seed, params)
                else:
                    yield RunSpec(run_id, point, rep, seed, params, rep, drawn[rep])

    def drawn(self) -> list[dict[str, float]]:
        """The posterior draw of each replication (none without a posterior).

        Draw r comes from the root seed and r alone: the same at every point,
        and kept when replications grow.
        """
        if self.posterior is None:
            return []
        root = self.experiment.root_seed
        return [
            self.posterior.draw(rep, root)
            for rep in range(self.experiment.replications)
        ]


def posterior_record(posterior: Posterior, short: bool = False) -> dict[str, Any]:
    """What a sweep records of its posterior: its checksum and model version.

    Unless `short`, also the file, its keys and how it was made.
    """
    record = {
        "sha256": posterior.sha256,
        "model_version": posterior.meta["model_version"],
    }
    if not short:
        record |= {
            "file": str(posterior.path),
            "keys": posterior.keys,
            "particles": len(posterior.weights),
            "scenario": posterior.meta.get("scenario"),
            "method": posterior.meta.get("method"),
            "command": posterior.meta.get("command"),
        }
    return record


def describe(plan_: Plan, shown: int = 5) -> str:
    """A few lines saying what a sweep would run, for `townsim sweep --dry-run`."""
    exp = plan_.experiment
    lines = [
        f"{exp.name}: {exp.design.kind} design, {plan_.points} points x "
        f"{exp.replications} replications = {plan_.runs} runs "
        f"(root seed {exp.root_seed}, {exp.seeding} seeds)",
        f"model: {exp.model}"
        + (f", base scenario {exp.scenario or 'baseline'}" if plan_.base else ""),
    ]
    if plan_.posterior is not None:
        post = plan_.posterior
        lines.append(
            f"  posterior    {', '.join(post.keys)}: replication r uses draw r of "
            f"{post.path} ({len(post.weights)} particles)"
        )
    for v in plan_.columns:
        if v.levels is not None:
            what = f"levels {list(v.levels)}"
        elif v.low is not None:
            what = f"from {v.low} to {v.high}" + (
                " (whole numbers)" if v.integer else ""
            )
        else:
            what = "share of a split"
        lines.append(f"  {v.role:12s} {v.name}: {what}")
    lines.append(f"first {min(shown, plan_.points)} design points:")
    lines += [f"  {n}: {values}" for n, values in enumerate(plan_.values[:shown])]
    return "\n".join(lines)


def run_seed(
    root: int, point: int | dict[str, Level], replication: int, seeding: str
) -> int:
    """The seed of one run, derived from the root seed with numpy's SeedSequence.

    Independent seeding gives every run its own stream; common seeding gives
    replication r the same stream at every design point (common random numbers),
    which sharpens comparisons between points. `point` is the design point's
    number, or its factor values (factorial designs), whose hash then keys it.
    """
    if seeding == "common":
        key: tuple[int, ...] = (1, replication)
    elif isinstance(point, dict):
        number = int(digest(point)[:16], 16)
        key = (2, number >> 32, number & 0xFFFFFFFF, replication)
    else:
        key = (1, point, replication)
    state = np.random.SeedSequence(root, spawn_key=key).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


DRAW_KEY = 3
"""The spawn key's first entry for posterior draws; sweeps' runs use 1 and 2."""
DRAW_SEEDING = (
    "draw i runs with seed SeedSequence(root_seed, spawn_key=(3, i)): the first "
    "64-bit word of its state, halved"
)
"""The rule of `draw_seed`, in words, as a draws folder's manifest records it."""


def draw_seed(root: int, draw: int) -> int:
    """The seed of posterior draw `draw` under `townsim run --posterior`.

    Derived as `run_seed` derives a sweep's seeds, with a key of its own: two
    root seeds share no draw's stream, no draw runs with the plain run's seed
    (the root itself), and every seed fits a signed 64-bit column.
    """
    key = (DRAW_KEY, draw)
    state = np.random.SeedSequence(root, spawn_key=key).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def load_experiment(path: str | Path) -> Plan:
    """Read, validate and plan an experiment file.

    Raises:
        ExperimentError: If the file is missing, not TOML, or invalid, with the
            file, the key, the value and what is allowed.
    """
    path = Path(path)
    return plan(read_experiment(path), source=str(path), folder=path.parent)


def plan(
    experiment: Experiment, source: str = "experiment", folder: Path = Path()
) -> Plan:
    """Check an experiment against the scenario schema and sample its design."""
    base, arguments, posterior = None, {}, None
    variables = _variables(experiment, source)
    if experiment.model != TOWNSIM:
        arguments = _arguments(experiment, variables, source)
    else:
        scenario = _base_scenario(experiment, source, folder)
        variables = [_typed(v, scenario, source) for v in variables]
        for name, split in experiment.splits.items():
            _check_split(name, split, scenario, source)
        base = scenario.model_dump(mode="json")
        _check_years(experiment, scenario, source)
        if experiment.posterior is not None:
            posterior = _posterior(experiment, scenario, source, folder)
            _check_no_collision(experiment, variables, posterior, source)
    unit = sample_unit(experiment.design, len(variables), experiment.root_seed)
    values = _values(experiment, variables, unit)
    problem = {
        "num_vars": len(variables),
        "names": [v.name for v in variables],
        "bounds": [[0.0, 1.0]] * len(variables),
    }
    return Plan(
        experiment=experiment,
        source=source,
        variables=variables,
        unit=unit,
        values=values,
        base=base,
        outcomes=experiment.outcomes,
        years=experiment.years,
        problem=problem,
        arguments=arguments,
        posterior=posterior,
    )


def _posterior(
    experiment: Experiment, scenario: Scenario, source: str, folder: Path
) -> Posterior:
    """The experiment's posterior file, found beside the experiment file."""
    path = Path(experiment.posterior or "")
    if not path.is_absolute():
        path = folder / path
    try:
        return read_posterior(path, scenario)
    except ScenarioError as error:
        raise ExperimentError(f"{source}: key 'posterior': {error}") from None


def _check_no_collision(
    experiment: Experiment,
    variables: list[Variable],
    posterior: Posterior,
    source: str,
) -> None:
    """A posterior parameter is drawn, never also set or varied by the file."""
    drawn = set(posterior.keys)
    keys = {resolve_key(k, f"{source}, set"): f"set.{k}" for k in experiment.set}
    keys |= {v.name: f"{TABLES[v.role]}.{v.name}" for v in variables}
    keys |= {
        k: f"splits.{n}" for n, split in experiment.splits.items() for k in split.keys
    }
    for path, where in keys.items():
        if path in drawn:
            raise ExperimentError(
                f"{source}: key '{where}': {path} is a parameter of the posterior "
                f"{posterior.path}, drawn for every run; drop it here, or use a "
                "posterior without it"
            )


def _values(
    experiment: Experiment, variables: list[Variable], unit: np.ndarray
) -> list[dict[str, Level]]:
    if experiment.design.kind != "factorial":
        return [
            {v.name: v.value(u) for v, u in zip(variables, row, strict=True)}
            for row in unit
        ]
    axes = [[{v.name: level} for level in v.levels] for v in variables]
    axes += [_split_grid(split) for split in experiment.splits.values()]
    return [
        {key: value for part in combo for key, value in part.items()}
        for combo in itertools.product(*axes)
    ]


def _split_grid(split: Split) -> list[dict[str, float]]:
    """Every way to share the total among the keys in whole steps (stars and bars)."""
    units, parts = round(1 / split.step), len(split.keys)
    grid = []
    for bars in itertools.combinations(range(units + parts - 1), parts - 1):
        edges = [-1, *bars, units + parts - 1]
        counts = [b - a - 1 for a, b in itertools.pairwise(edges)]
        grid.append(
            {
                key: round(split.total * count / units, 12)
                for key, count in zip(split.keys, counts, strict=True)
            }
        )
    return grid


def _variables(experiment: Experiment, source: str) -> list[Variable]:
    factorial = experiment.design.kind == "factorial"
    variables = []
    seen = {key for split in experiment.splits.values() for key in split.keys}
    for role, table in (
        ("lever", experiment.levers),
        ("uncertainty", experiment.uncertainties),
    ):
        for name, spec in table.items():
            if name in seen:
                raise ExperimentError(
                    f"{source}: key '{TABLES[role]}.{name}': varied twice; "
                    "vary a key once"
                )
            seen.add(name)
            factor = spec
            if factor.levels is not None:
                variables.append(Variable(name, role, levels=tuple(factor.levels)))
            elif factorial:
                if factor.steps is None:
                    raise ExperimentError(
                        f"{source}: key '{TABLES[role]}.{name}' = {{ range = "
                        f"{list(factor.range)} }}: a factorial design needs levels; "
                        f"allowed: levels = [...] or range with steps = N"
                    )
                grid = np.linspace(*factor.range, factor.steps)
                variables.append(
                    Variable(name, role, levels=tuple(float(x) for x in grid))
                )
            else:
                low, high = factor.range
                variables.append(Variable(name, role, low=low, high=high))
    return variables


def _arguments(
    experiment: Experiment, variables: list[Variable], source: str
) -> dict[str, Any]:
    """A function model's fixed keyword arguments: `[set]`, apart from the factors."""
    for variable in variables:
        if variable.name in experiment.set:
            raise ExperimentError(
                f"{source}: key 'set.{variable.name}': also varied; a function's "
                "argument is set or varied, not both"
            )
    _check_signature(experiment, variables, source)
    return dict(experiment.set)


def _check_signature(
    experiment: Experiment, variables: list[Variable], source: str
) -> None:
    """Refuse arguments the function does not take, or lacks, before any run."""
    function = _model_function(experiment.model, source)
    parameters = inspect.signature(function).parameters
    if any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
        return
    keys = {name: "set" for name in experiment.set}
    keys |= {v.name: TABLES[v.role] for v in variables}
    keys |= {
        k: f"splits.{n}" for n, split in experiment.splits.items() for k in split.keys
    }
    allowed = [name for name in parameters if name != "seed"]
    for name, table in keys.items():
        if name not in parameters or name == "seed":
            raise ExperimentError(
                f"{source}: key '{table}.{name}': {experiment.model} takes no "
                f"argument {name!r}{did_you_mean(name, allowed)}; allowed: "
                f"{', '.join(allowed)}"
            )
    for name, parameter in parameters.items():
        required = parameter.default is parameter.empty and parameter.kind in (
            parameter.POSITIONAL_OR_KEYWORD,
            parameter.KEYWORD_ONLY,
        )
        if required and name != "seed" and name not in keys:
            raise ExperimentError(
                f"{source}: {experiment.model} needs the argument {name!r}: "
                "give it in [set], or vary it"
            )


def _model_function(reference: str, source: str) -> Any:
    module, _, name = reference.partition(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as error:
        raise ExperimentError(
            f"{source}: key 'model' = {reference!r}: cannot be imported ({error}); "
            "allowed: 'townsim' or 'module:function' importable from here"
        ) from None


def _base_scenario(experiment: Experiment, source: str, folder: Path) -> Scenario:
    name = experiment.scenario or DEFAULT_SCENARIO
    if name.endswith(".toml") and not Path(name).is_absolute():
        name = str(folder / name)
    try:
        base = load_scenario(name)
    except ScenarioError as error:
        raise ExperimentError(f"{source}: scenario: {error}") from None
    if not experiment.set:
        return base
    try:  # a bad [set] is the experiment file's fault, not the base scenario's
        overrides = _resolved(experiment.set, f"{source}, set")
        return build_scenario(
            base.model_dump(),
            overrides,
            origin=f"{source}, set",
            overrides_origin=f"{source}, set",
        )
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None


def _resolved(overrides: dict[str, Any], origin: str) -> dict[str, Any]:
    return {resolve_key(k, origin): v for k, v in overrides.items()}


def _typed(variable: Variable, scenario: Scenario, source: str) -> Variable:
    """Resolve the key, check its extremes against the schema, note integer fields."""
    origin = f"{source}, {TABLES[variable.role]}"
    try:
        path = resolve_key(variable.name, origin)
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None
    candidates = variable.levels or (variable.low, variable.high)
    _check_value(scenario, path, candidates[0], origin)
    integer = _is_integer(path)
    for value in candidates:
        _check_value(scenario, path, round(value) if integer else value, origin)
    return Variable(
        path,
        variable.role,
        low=variable.low,
        high=variable.high,
        levels=variable.levels,
        integer=integer and variable.levels is None,
    )


def _check_split(name: str, split: Split, scenario: Scenario, source: str) -> None:
    origin = f"{source}, splits.{name}"
    for key in split.keys:
        try:
            path = resolve_key(key, origin)
        except ScenarioError as error:
            raise ExperimentError(str(error)) from None
        if path != key:
            raise ExperimentError(f"{origin}: key {key!r}: write it as {path!r}")
        _check_value(scenario, path, split.total, origin)


def _check_value(scenario: Scenario, path: str, value: Any, origin: str) -> None:
    try:
        build_scenario(scenario.model_dump(), {path: value}, origin=origin)
    except ScenarioError as error:
        raise ExperimentError(str(error)) from None


def _is_integer(path: str) -> bool:
    """Whether the schema field at `path` holds whole numbers (keys in dicts: no)."""
    section: Any = Scenario
    *parents, leaf = path.split(".")
    for part in [*parents, leaf]:
        fields = getattr(section, "model_fields", {})
        if part not in fields:
            return False
        section = fields[part].annotation
    while get_origin(section) is Annotated:
        section = get_args(section)[0]
    return section is int


def _check_years(experiment: Experiment, scenario: Scenario, source: str) -> None:
    first, last = scenario.run.start_year, scenario.run.end_year
    stated = [int(name.split("@")[1]) for name in experiment.answers if "@" in name]
    for key, years in (
        ("years", experiment.years),
        ("analysis.years", experiment.analysis.years),
        ("answers", stated),
    ):
        for year in years or ():
            if not first <= year <= last:
                raise ExperimentError(
                    f"{source}: key {key!r} = {years}: year {year} is outside the "
                    f"run; allowed: {first} to {last}"
                )


def digest(data: Any) -> str:
    """SHA-256 of `data` as canonical JSON (sorted keys, no spaces), in hex."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
