"""Scenarios: the validated description of a run, and the shipped TOML files."""

from scenarios.loading import (
    ScenarioError,
    build_scenario,
    leaf_paths,
    load_scenario,
    parse_assignment,
    shipped_scenarios,
)
from scenarios.schema import (
    DEFAULT_SCENARIO,
    DEFAULT_SEED,
    INDUSTRIES,
    LEVEL_NAMES,
    LEVELS,
    LEVERS,
    PLATFORM_KINDS,
    REGIONS,
    STAGES,
    Scenario,
)

__all__ = [
    "DEFAULT_SCENARIO",
    "DEFAULT_SEED",
    "INDUSTRIES",
    "LEVELS",
    "LEVEL_NAMES",
    "LEVERS",
    "PLATFORM_KINDS",
    "REGIONS",
    "STAGES",
    "Scenario",
    "ScenarioError",
    "build_scenario",
    "leaf_paths",
    "load_scenario",
    "parse_assignment",
    "shipped_scenarios",
]
