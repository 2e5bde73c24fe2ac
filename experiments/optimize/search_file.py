"""Search files: which levers to tune, against which scenarios, for which goals.

A search file (TOML) is an experiment file's sibling: it names a base scenario,
the levers to tune (ranges or levels), the uncertainties from which a number of
scenarios is drawn, the seeds every candidate runs in every scenario, the
objectives (an outcome, a direction and a robustness measure each) and the
settings of the evolutionary search. It is validated like an experiment file: a
bad file stops with one message naming the file, the key, the value and what is
allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from experiments.sweeps.experiment_file import (
    TOWNSIM,
    ExperimentError,
    Factor,
    Strict,
    lists_as_levels,
)
from experiments.sweeps.outcomes import BY_NAME, catalogue_names
from scenarios.loading import did_you_mean, explain, read_toml

ROBUSTNESS = ("mean", "percentile", "regret", "satisficing")


class Objective(Strict):
    """One goal: an outcome in a year, which way is better, and how to be robust."""

    outcome: str = Field(
        description="'name@year' for a yearly outcome, 'name' for a run outcome"
    )
    direction: Literal["max", "min"] = Field(description="maximise or minimise it")
    robustness: Literal["mean", "percentile", "regret", "satisficing"] = Field(
        "mean",
        description="mean over scenarios, a percentile, the largest regret against "
        "the best candidate per scenario, or the share of scenarios meeting a "
        "threshold",
    )
    percentile: float | None = Field(
        None, gt=0, lt=100, description="with robustness = 'percentile'"
    )
    threshold: float | None = Field(
        None, description="with robustness = 'satisficing': the value to meet"
    )

    @field_validator("outcome")
    @classmethod
    def _name_at_year(cls, text: str) -> str:
        name, at, year = text.partition("@")
        if not name or (at and not year.isdigit()):
            raise ValueError("write 'name@year' (e.g. 'gdp@2035') or 'name'")
        return text

    @model_validator(mode="after")
    def _settings_match(self) -> Objective:
        needs = {"percentile": "percentile", "satisficing": "threshold"}
        for measure, key in needs.items():
            given = getattr(self, key) is not None
            if self.robustness == measure and not given:
                raise ValueError(f"robustness = {measure!r} needs {key} = ...")
            if self.robustness != measure and given:
                raise ValueError(
                    f"{key} goes with robustness = {measure!r}, not {self.robustness!r}"
                )
        return self

    @property
    def name(self) -> str:
        """The outcome's name, without the year."""
        return self.outcome.partition("@")[0]

    @property
    def year(self) -> int | None:
        """The outcome's year, or None for an outcome of the whole run."""
        year = self.outcome.partition("@")[2]
        return int(year) if year else None


class AlgorithmSettings(Strict):
    """The evolutionary search: which algorithm, how large, how long, which seed."""

    kind: Literal["nsga2", "nsga3"] = Field(
        "nsga2", description="NSGA-II, or NSGA-III for four or more objectives"
    )
    population: int = Field(20, ge=4, le=10_000, description="candidates a generation")
    generations: int = Field(10, ge=1, le=10_000, description="generations to run")
    seed: int = Field(0, ge=0, lt=2**32, description="the search's random seed")


class SearchFile(Strict):
    """A complete, validated search file."""

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
        default_factory=dict,
        description="fixed scenario overrides; a function model's fixed arguments",
    )
    levers: dict[str, Factor] = Field(
        min_length=1,
        description="what the search tunes: per key { range = [low, high] } "
        "or a list of levels",
    )
    uncertainties: dict[str, Factor] = Field(
        default_factory=dict,
        description="what nobody controls: per key { range = [low, high] } "
        "or a list of levels",
    )
    scenarios: Annotated[int, Field(ge=1, le=10_000)] = Field(
        1, description="scenarios drawn from the uncertainties (Latin hypercube)"
    )
    seeds: Annotated[int, Field(ge=1, le=10_000)] = Field(
        1, description="runs per candidate and scenario, each with its own seed"
    )
    root_seed: Annotated[int, Field(ge=0, lt=2**63)] = Field(
        0, description="seeds of the runs and the draw of the scenarios"
    )
    objectives: dict[str, Objective] = Field(
        min_length=1, description="per name: outcome, direction, robustness"
    )
    algorithm: AlgorithmSettings = Field(
        default_factory=AlgorithmSettings,
        description="kind, population, generations, seed",
    )

    @field_validator("levers", "uncertainties", mode="before")
    @classmethod
    def _lists_are_levels(cls, table: Any) -> Any:
        """A plain list of values is a factor's levels."""
        return lists_as_levels(table)

    @model_validator(mode="after")
    def _consistent(self) -> SearchFile:
        for role, table in (
            ("levers", self.levers),
            ("uncertainties", self.uncertainties),
        ):
            for key, factor in table.items():
                if factor.steps is not None:
                    raise ValueError(
                        f"key '{role}.{key}': steps has no use in a search; "
                        "allowed: { range = [low, high] } or a list of levels"
                    )
        if self.scenarios > 1 and not self.uncertainties:
            raise ValueError(
                f"key 'scenarios' = {self.scenarios}: there are no [uncertainties] to "
                "draw them from; allowed: 1, or add [uncertainties]"
            )
        if self.model != TOWNSIM and ":" not in self.model:
            raise ValueError(
                f"model = {self.model!r}: allowed: 'townsim' or 'module:function'"
            )
        if self.algorithm.kind == "nsga3" and len(self.objectives) < 2:
            raise ValueError(
                "key 'algorithm.kind' = 'nsga3': NSGA-III needs two objectives or "
                "more; allowed: 'nsga2' for one objective"
            )
        for name, objective in self.objectives.items():
            if self.model == TOWNSIM:
                _check_outcome(name, objective)
        return self


def _check_outcome(name: str, objective: Objective) -> None:
    """The outcome exists in the catalogue and has a year exactly when it needs one."""
    key = f"key 'objectives.{name}.outcome' = {objective.outcome!r}"
    known = catalogue_names()
    if objective.name not in BY_NAME:
        hint = did_you_mean(objective.name, known)
        raise ValueError(
            f"{key}: unknown outcome {objective.name!r}{hint}; allowed: "
            + ", ".join(known)
        )
    kind = BY_NAME[objective.name].kind
    if kind == "town":
        raise ValueError(
            f"{key}: {objective.name!r} has a value per town, not one per run; "
            "allowed: a yearly outcome as 'name@year' or a run outcome"
        )
    if kind == "yearly" and objective.year is None:
        raise ValueError(
            f"{key}: a yearly outcome needs its year; allowed: "
            f"'{objective.name}@YEAR', e.g. '{objective.name}@2035'"
        )
    if kind == "run" and objective.year is not None:
        raise ValueError(
            f"{key}: {objective.name!r} has one value per run; allowed: "
            f"{objective.name!r} without a year"
        )


def read_search(path: str | Path) -> SearchFile:
    """Read and validate a search file.

    Raises:
        ExperimentError: If the file is missing, not TOML, or invalid, with the
            file, the key, the value and what is allowed.
    """
    path = Path(path)
    data = read_toml(path, ExperimentError)
    try:
        return SearchFile.model_validate(data)
    except ValidationError as error:
        raise ExperimentError(explain(error, str(path), SearchFile)) from None
