"""Experiment files: what a sweep varies, how, and what it records, checked.

An experiment file (TOML) names a base scenario, the levers and uncertainties to
vary (each a range or a list of levels), a design (full factorial, Latin
hypercube, Sobol/Saltelli or Morris), the replications per design point, one root
seed, the years to record and the outcomes of interest. It is validated like a
scenario: a bad file stops with one message naming the file, the key, the value
and what is allowed.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from experiments.sweeps.outcomes import catalogue_kinds, catalogue_names
from scenarios import ScenarioError
from scenarios.loading import did_you_mean, explain, read_toml
from scenarios.schema import numbers_only

TOWNSIM = "townsim"
Level = float | int | bool | str
FACTOR = (
    "per key a list of levels [a, b, ...] or { range = [low, high] }, "
    "with steps = N in a factorial design"
)


def lists_as_levels(table: Any) -> Any:
    """A table of factors in which a plain list of values stands for its levels."""
    if not isinstance(table, dict):
        return table
    return {k: {"levels": v} if isinstance(v, list) else v for k, v in table.items()}


class ExperimentError(ScenarioError):
    """Bad experiment input; the message names file, key, value and what is allowed."""


class Strict(BaseModel):
    """A strict block of the experiment file: unknown keys are errors.

    Numbers must be finite, and given as numbers (not true/false or text).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        return numbers_only(value, cls.model_fields[info.field_name].annotation)


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
        if self.levels is not None and len(set(self.levels)) < len(self.levels):
            raise ValueError(f"levels {self.levels}: give each level once")
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
    question: str = Field("", description="the question the sweep answers, in words")
    answers: dict[str, Literal["more", "less", "neither"]] = Field(
        default_factory=dict,
        description="the outcomes that answer the question (name, or name@year for "
        "a yearly outcome), each with the better direction",
    )
    model: str = Field(
        TOWNSIM, description="'townsim', or 'module:function' for a plain function"
    )
    scenario: str | None = Field(None, description="base scenario: name or file")
    set: dict[str, Any] = Field(
        default_factory=dict,
        description="fixed scenario overrides; a function model's fixed arguments",
    )
    levers: dict[str, Factor] = Field(
        default_factory=dict, description="what policy controls; " + FACTOR
    )
    uncertainties: dict[str, Factor] = Field(
        default_factory=dict, description="what nobody controls; " + FACTOR
    )
    splits: dict[str, Split] = Field(
        default_factory=dict, description="shares of a fixed total, by name"
    )
    design: DesignSettings = Field(
        default_factory=DesignSettings,
        description="kind, samples, second_order (sobol), levels (morris)",
    )
    replications: Annotated[int, Field(ge=1, le=10_000)] = 1
    root_seed: Annotated[int, Field(ge=0, lt=2**63)] = 0
    posterior: str | None = Field(
        None,
        description="a posterior file (Parquet), relative to this file: "
        "replication r of every point uses its draw r",
    )
    seeding: Literal["independent", "common"] = Field(
        "independent",
        description="independent seeds per run, or common random numbers: "
        "replication r uses the same seed at every design point",
    )
    years: list[int] | None = Field(None, description="years to record (default all)")
    outcomes: list[str] | None = Field(None, description="outcomes (default all)")
    analysis: AnalysisSettings = Field(
        default_factory=AnalysisSettings,
        description="years, resamples and conf_level of townsim analyze",
    )

    @field_validator("levers", "uncertainties", mode="before")
    @classmethod
    def _lists_are_levels(cls, table: Any) -> Any:
        """A plain list of values is a factor's levels."""
        return lists_as_levels(table)

    @field_validator("set")
    @classmethod
    def _finite(cls, table: dict[str, Any]) -> dict[str, Any]:
        """A value the manifest cannot hold (inf, nan) is refused up front."""
        for key, value in table.items():
            if not _finite(value):
                raise ValueError(
                    f"{key!r} = {value!r} is not a finite number, which the "
                    "manifest (JSON) cannot hold"
                )
        return table

    @model_validator(mode="after")
    def _consistent(self) -> Experiment:
        if not (self.levers or self.uncertainties or self.splits):
            raise ValueError(
                "vary something: add [levers], [uncertainties] or [splits]"
            )
        for table, factors in (
            ("levers", self.levers),
            ("uncertainties", self.uncertainties),
        ):
            for name, factor in factors.items():
                if factor.steps is not None and self.design.kind != "factorial":
                    raise ValueError(
                        f"{table}.{name}: steps = {factor.steps} goes with a factorial "
                        f"design; a {self.design.kind} design samples the range "
                        "(design.levels sets the Morris grid)"
                    )
        if self.splits and self.design.kind != "factorial":
            raise ValueError(
                f"splits need design.kind = 'factorial', not {self.design.kind!r}"
            )
        if self.model == TOWNSIM:
            unknown = sorted(set(self.outcomes or ()) - set(catalogue_names()))
            if unknown:
                hint = did_you_mean(unknown[0], catalogue_names())
                raise ValueError(
                    f"outcomes: unknown outcome {unknown[0]!r}{hint}; "
                    f"allowed: {', '.join(catalogue_names())}"
                )
            self._check_answers()
        elif ":" not in self.model:
            raise ValueError(
                f"model = {self.model!r}: allowed: 'townsim' or 'module:function'"
            )
        elif self.posterior is not None:
            raise ValueError(
                f"posterior = {self.posterior!r}: goes with model = 'townsim', "
                "whose scenarios it draws"
            )
        return self

    def _check_answers(self) -> None:
        kinds = catalogue_kinds()
        recorded = set(self.outcomes or kinds)
        for name in self.answers:
            outcome, _, year = name.partition("@")
            where = f"answers: outcome {name!r}"
            if outcome not in recorded:
                hint = did_you_mean(outcome, sorted(recorded))
                raise ValueError(
                    f"{where}: not recorded by this sweep{hint}; "
                    f"allowed: {', '.join(sorted(recorded))}"
                )
            yearly = kinds[outcome] == "yearly"
            if yearly and not year.isdigit():
                raise ValueError(
                    f"{where}: a yearly outcome needs its year, {outcome}@YEAR"
                )
            if not yearly and year:
                raise ValueError(
                    f"{where}: {outcome} has one value per run; drop @{year}"
                )
            if yearly and self.years and int(year) not in self.years:
                raise ValueError(
                    f"{where}: year {year} is not recorded; allowed: {self.years}"
                )


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list | tuple):
        return all(_finite(item) for item in value)
    if isinstance(value, dict):
        return all(_finite(item) for item in value.values())
    return True


def read_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file.

    Raises:
        ExperimentError: If the file is missing, not TOML, or invalid, with the
            file, the key, the value and what is allowed.
    """
    path = Path(path)
    data = read_toml(path, ExperimentError)
    try:
        return Experiment.model_validate(data)
    except ValidationError as error:
        raise ExperimentError(explain(error, str(path), Experiment)) from None
