"""Scenarios: the validated description of a run, and the shipped TOML files."""

from scenarios.loading import (
    ScenarioError,
    build_scenario,
    leaf_paths,
    load_scenario,
    parse_assignment,
    shipped_scenarios,
)
from scenarios.schema import INDUSTRIES, LEVERS, PLATFORM_KINDS, REGIONS, Scenario

__all__ = [
    "INDUSTRIES",
    "LEVERS",
    "PLATFORM_KINDS",
    "REGIONS",
    "Scenario",
    "ScenarioError",
    "build_scenario",
    "leaf_paths",
    "load_scenario",
    "parse_assignment",
    "shipped_scenarios",
]
