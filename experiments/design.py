"""Experiment files and their designs: which runs a sweep makes, and with what seeds.

An experiment file (TOML) names a base scenario, the levers and uncertainties to
vary (each a range or a list of levels), a design (full factorial, Latin
hypercube, Sobol/Saltelli or Morris), the replications per design point, one root
seed, the years to record and the outcomes of interest. It is validated like a
scenario: a bad file stops with one message naming the file, the key, the value
and what is allowed. Every design is sampled in the unit hypercube and then mapped
onto the factors, so that the analysis can read the same unit coordinates.
"""

from __future__ import annotations

import difflib
import hashlib
import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from experiments.outcomes import catalogue_names
from scenarios import Scenario, ScenarioError, build_scenario, load_scenario
from scenarios.loading import read_toml, resolve_key

TOWNSIM = "townsim"
Level = float | int | bool | str


class ExperimentError(ScenarioError):
    """Bad experiment input; the message names file, key, value and what is allowed."""


class Strict(BaseModel):
    """A strict block of the experiment file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(Strict):
    """A lever or uncertainty: a range [low, high] or a list of levels."""

    range: tuple[float, float] | None = Field(None, description="[low, high]")
    levels: list[Level] | None = Field(None, min_length=1, description="the values")
    steps: int | None = Field(
        None, ge=2, le=1000, description="evenly spaced levels of a range (factorial)"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Factor:
        if (self.range is None) == (self.levels is None):
            raise ValueError("give either range = [low, high] or levels = [...]")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range {list(self.range)}: low must be below high")
        if self.steps is not None and self.range is None:
            raise ValueError("steps goes with a range, not with levels")
        return self


class Split(Strict):
    """A fixed total shared between several keys, e.g. a budget between levers."""

    keys: list[str] = Field(min_length=2, description="the keys sharing the total")
    step: float = Field(
        0.25, gt=0, le=0.5, description="grid step of each share (1/step an integer)"
    )
    total: float = Field(1.0, gt=0, description="what the shares add up to")

    @model_validator(mode="after")
    def _whole_steps(self) -> Split:
        if abs(1 / self.step - round(1 / self.step)) > 1e-9:
            raise ValueError(f"step {self.step}: 1/step must be a whole number")
        return self


class DesignSettings(Strict):
    """How design points are chosen."""

    kind: Literal["factorial", "lhs", "sobol", "morris"] = Field(
        "factorial", description="the design"
    )
    samples: int | None = Field(
        None,
        ge=1,
        le=1_000_000,
        description="lhs: points; sobol: base samples N (a power of 2); "
        "morris: trajectories",
    )
    second_order: bool = Field(False, description="sobol: second-order indices too")
    levels: int = Field(4, ge=2, le=100, description="morris: grid levels (even)")

    @model_validator(mode="after")
    def _samples_fit(self) -> DesignSettings:
        if self.kind != "factorial" and self.samples is None:
            raise ValueError(f"design {self.kind!r} needs samples")
        if self.kind == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"samples = {self.samples}: sobol needs a power of 2")
        if self.kind == "morris" and self.levels % 2:
            raise ValueError(f"levels = {self.levels}: morris needs an even number")
        return self


class AnalysisSettings(Strict):
    """What `townsim analyze` reports by default."""

    years: list[int] | None = Field(
        None, description="years whose yearly outcomes get indices (default: last)"
    )
    resamples: int = Field(300, ge=10, le=100_000, description="bootstrap draws")
    conf_level: float = Field(0.95, gt=0.5, lt=1, description="confidence level")


class Experiment(Strict):
    """A complete, validated experiment file."""

    name: str = Field(
        max_length=80,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="letters, digits, '_', '.' and '-': it names the results folder",
    )
    description: str = ""
    model: str = Field(
        TOWNSIM, description="'townsim', or 'module:function' for a plain function"
    )
    scenario: str | None = Field(None, description="base scenario: name or file")
    set: dict[str, Any] = Field(
        default_factory=dict, description="fixed scenario overrides"
    )
    levers: dict[str, Factor] = Field(default_factory=dict)
    uncertainties: dict[str, Factor] = Field(default_factory=dict)
    splits: dict[str, Split] = Field(default_factory=dict)
    design: DesignSettings = Field(default_factory=DesignSettings)
    replications: Annotated[int, Field(ge=1, le=10_000)] = 1
    root_seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    seeding: Literal["independent", "common"] = Field(
        "independent",
        description="independent seeds per run, or common random numbers: "
        "replication r uses the same seed at every design point",
    )
    years: list[int] | None = Field(None, description="years to record (default all)")
    outcomes: list[str] | None = Field(None, description="outcomes (default all)")
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)

    @field_validator("levers", "uncertainties", mode="before")
    @classmethod
    def _lists_are_levels(cls, table: Any) -> Any:
        """A plain list of values is a factor's levels."""
        if not isinstance(table, dict):
            return table
        return {
            k: {"levels": v} if isinstance(v, list) else v for k, v in table.items()
        }

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if not (self.levers or self.uncertainties or self.splits):
            raise ValueError(
                "vary something: add [levers], [uncertainties] or [splits]"
            )
        if self.splits and self.design.kind != "factorial":
            raise ValueError(
                f"splits need design.kind = 'factorial', not {self.design.kind!r}"
            )
        if self.model == TOWNSIM:
            unknown = sorted(set(self.outcomes or ()) - set(catalogue_names()))
            if unknown:
                hint = _did_you_mean(unknown[0], catalogue_names())
                raise ValueError(
                    f"outcomes: unknown outcome {unknown[0]!r}{hint}; "
                    f"allowed: {', '.join(catalogue_names())}"
                )
        elif ":" not in self.model:
            raise ValueError(
                f"model = {self.model!r}: allowed: 'townsim' or 'module:function'"
            )
        return self


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
        data = {
            "experiment": self.experiment.model_dump(
                mode="json", exclude={"description", "analysis"}
            ),
            "base": self.base,
        }
        return _hash(data)

    def specs(self) -> Iterator[RunSpec]:
        """Every run of the plan, point by point, made lazily."""
        base_hash = _hash({"model": self.experiment.model, "base": self.base})
        reps = self.experiment.replications
        for point, params in enumerate(self.values):
            for rep in range(reps):
                seed = run_seed(
                    self.experiment.root_seed, point, rep, self.experiment.seeding
                )
                # The point and replication keep ids unique when two design points
                # coincide (levels drawn from a sampled design) under common seeds.
                run_id = _hash(
                    {
                        "base": base_hash,
                        "params": params,
                        "seed": seed,
                        "at": [point, rep],
                    }
                )
                yield RunSpec(run_id[:20], point, rep, seed, params)


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


def run_seed(root: int, point: int, replication: int, seeding: str) -> int:
    """The seed of one run, derived from the root seed with numpy's SeedSequence.

    Independent seeding gives every run its own stream; common seeding gives
    replication r the same stream at every design point (common random numbers),
    which sharpens comparisons between points.
    """
    key = (1, replication) if seeding == "common" else (1, point, replication)
    state = np.random.SeedSequence(root, spawn_key=key).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def design_seed(root: int) -> int:
    """The seed of the design's sampler, apart from every run's seed."""
    state = np.random.SeedSequence(root, spawn_key=(0,)).generate_state(1, np.uint64)
    return int(state[0] >> np.uint64(1))


def load_experiment(path: str | Path) -> Plan:
    """Read, validate and plan an experiment file.

    Raises:
        ExperimentError: If the file is missing, not TOML, or invalid, with the
            file, the key, the value and what is allowed.
    """
    path = Path(path)
    data = read_toml(path, ExperimentError)
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as error:
        raise ExperimentError(explain(error, str(path))) from None
    return plan(experiment, source=str(path), folder=path.parent)


def plan(
    experiment: Experiment, source: str = "experiment", folder: Path = Path()
) -> Plan:
    """Check an experiment against the scenario schema and sample its design."""
    base = None
    variables = _variables(experiment, source)
    if experiment.model == TOWNSIM:
        scenario = _base_scenario(experiment, source, folder)
        variables = [_typed(v, scenario, source) for v in variables]
        for name, split in experiment.splits.items():
            _check_split(name, split, scenario, source)
        base = scenario.model_dump(mode="json")
        _check_years(experiment, scenario, source)
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
    )


def sample_unit(design: DesignSettings, dims: int, root_seed: int) -> np.ndarray:
    """Design points in [0, 1]^dims, one row each (none: factorial enumerates)."""
    seed = design_seed(root_seed)
    if dims == 0 or design.kind == "factorial":
        return np.zeros((0, dims))
    problem = {
        "num_vars": dims,
        "names": [f"x{i}" for i in range(dims)],
        "bounds": [[0.0, 1.0]] * dims,
    }
    if design.kind == "lhs":
        from scipy.stats import qmc

        return qmc.LatinHypercube(d=dims, rng=np.random.default_rng(seed)).random(
            design.samples
        )
    if design.kind == "sobol":
        from SALib.sample import sobol

        return sobol.sample(
            problem,
            design.samples,
            calc_second_order=design.second_order,
            seed=seed % 2**32,
        )
    if design.kind == "morris":
        from SALib.sample import morris

        return morris.sample(
            problem, design.samples, num_levels=design.levels, seed=seed % 2**32
        )
    raise ValueError(f"unknown design {design.kind!r}")


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
                    f"{source}: key '{role}s.{name}': varied twice; vary a key once"
                )
            seen.add(name)
            factor = spec
            if factor.levels is not None:
                variables.append(Variable(name, role, levels=tuple(factor.levels)))
            elif factorial:
                if factor.steps is None:
                    raise ExperimentError(
                        f"{source}: key '{role}s.{name}' = {{ range = "
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


def _base_scenario(experiment: Experiment, source: str, folder: Path) -> Scenario:
    name = experiment.scenario or "baseline"
    if name.endswith(".toml") and not Path(name).is_absolute():
        name = str(folder / name)
    try:
        return load_scenario(name, _resolved(experiment.set, f"{source}, set"))
    except ExperimentError:
        raise
    except ScenarioError as error:
        raise ExperimentError(f"{source}: scenario: {error}") from None


def _resolved(overrides: dict[str, Any], origin: str) -> dict[str, Any]:
    return {resolve_key(k, origin): v for k, v in overrides.items()}


def _typed(variable: Variable, scenario: Scenario, source: str) -> Variable:
    """Resolve the key, check its extremes against the schema, note integer fields."""
    origin = f"{source}, {variable.role}s"
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
    for key, years in (
        ("years", experiment.years),
        ("analysis.years", experiment.analysis.years),
    ):
        for year in years or ():
            if not first <= year <= last:
                raise ExperimentError(
                    f"{source}: key {key!r} = {years}: year {year} is outside the "
                    f"run; allowed: {first} to {last}"
                )


def explain(error: ValidationError, origin: str) -> str:
    """One readable line per problem: file, key, value and what is allowed."""
    lines = []
    for item in error.errors():
        loc = [str(p) for p in item["loc"]]
        key = ".".join(loc)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            hint = _did_you_mean(loc[-1], allowed)
            lines.append(
                f"{origin}: key {key!r}: unknown key{hint}; allowed in "
                f"{'.'.join(loc[:-1]) or 'the top level'}: {', '.join(allowed)}"
            )
            continue
        value = item.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        allowed = _allowed_text(loc)
        if len(loc) == 2 and loc[0] in ("levers", "uncertainties"):
            allowed = (
                "; allowed: a list of levels [a, b, ...] or { range = [low, high] }"
                " (with steps = N in a factorial design)"
            )
        if item["type"] == "literal_error" and isinstance(value, str):
            choices = item.get("ctx", {}).get("expected", "")
            hint = _did_you_mean(
                value, [c.strip(" '") for c in choices.replace(" or ", ",").split(",")]
            )
            message += hint
        if not key:
            lines.append(f"{origin}: {message}")
        else:
            lines.append(f"{origin}: key {key!r}{shown}: {message}{allowed}")
    return "\n".join(dict.fromkeys(lines))


_SECTIONS: dict[str, type[BaseModel]] = {
    "": Experiment,
    "design": DesignSettings,
    "analysis": AnalysisSettings,
}


def _section_of(parts: list[str]) -> type[BaseModel] | None:
    if not parts:
        return Experiment
    if parts[0] in ("levers", "uncertainties") and len(parts) == 2:
        return Factor
    if parts[0] == "splits" and len(parts) == 2:
        return Split
    return _SECTIONS.get(".".join(parts))


def _allowed_keys(parts: list[str]) -> list[str]:
    section = _section_of(parts)
    return sorted(section.model_fields) if section else []


def _allowed_text(loc: list[str]) -> str:
    section = _section_of(loc[:-1]) if loc else None
    info = section.model_fields.get(loc[-1]) if section else None
    if info is None:
        return ""
    bounds = []
    for meta in info.metadata:
        for attr, word in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
            if getattr(meta, attr, None) is not None:
                bounds.append(f"{word} {getattr(meta, attr)}")
    text = ""
    if bounds:
        text = f"; allowed: {' and '.join(bounds)}"
    if info.description:
        text += f" ({info.description})"
    return text


def _did_you_mean(word: str, choices: list[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


def _hash(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
