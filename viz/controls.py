"""What the app's controls set, the model they build, and the classroom presets.

The app keeps its settings as one flat dict of named controls. Mesa's SolaraViz
Reset rebuilds a model as `type(model)(**controls)`, so `AppModel` takes exactly
those names and turns them into a scenario, a seed and overrides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from model import TownModel
from scenarios import (
    DEFAULT_SCENARIO,
    DEFAULT_SEED,
    LEVERS,
    ScenarioError,
    load_scenario,
    shipped_scenarios,
)

POLICY_CONTROLS = ("budget_share", *LEVERS)
"""Controls a scenario sets when it is picked: the budget and its split."""


def scenario_policy(name: str) -> dict[str, float]:
    """The budget and lever weights a shipped scenario starts with."""
    government = load_scenario(name).government
    return {key: getattr(government, key) for key in POLICY_CONTROLS}


def default_controls(scenario_name: str = DEFAULT_SCENARIO) -> dict[str, Any]:
    """Every control at the value a shipped scenario gives it, and the default seed."""
    scenario = load_scenario(scenario_name)
    return {
        "scenario_name": scenario_name,
        "seed": DEFAULT_SEED,
        "towns": scenario.province.towns,
        "firms_per_town": scenario.province.firms_per_town,
        **scenario_policy(scenario_name),
        "schedule": scenario.run.schedule,
    }


def pick_scenario(controls: dict[str, Any], name: str) -> dict[str, Any]:
    """Controls after picking a scenario: its policy, the user's province and seed."""
    return {**controls, "scenario_name": name, **scenario_policy(name)}


def check_controls(controls: dict[str, Any]) -> str | None:
    """Why these controls cannot make a model (None if they can)."""
    try:
        load_scenario(controls["scenario_name"], overrides_of(controls))
    except ScenarioError as error:
        return str(error).split(": ", 1)[-1]
    return None


def overrides_of(controls: dict[str, Any]) -> dict[str, Any]:
    """The scenario overrides a set of controls stands for."""
    skip = ("scenario_name", "seed")
    return {key: value for key, value in controls.items() if key not in skip}


class AppModel(TownModel):
    """A TownModel made from the app's controls, which it keeps for display.

    Args:
        scenario_name: Shipped scenario the run starts from.
        seed: Seed of every random draw of the run.
        towns: Number of towns.
        firms_per_town: Initial firms in each town.
        budget_share: Each town government's yearly budget, share of its GDP.
        talent: Weight of the talent lever.
        funding: Weight of the funding lever.
        ip: Weight of the IP protection lever.
        platform: Weight of the platform lever.
        schedule: `vectorized` (all firms at once) or `agents` (one by one).
    """

    def __init__(
        self,
        *,
        scenario_name: str = DEFAULT_SCENARIO,
        seed: int = DEFAULT_SEED,
        towns: int = 20,
        firms_per_town: int = 100,
        budget_share: float = 0.003,
        talent: float = 0.2,
        funding: float = 0.5,
        ip: float = 0.1,
        platform: float = 0.2,
        schedule: str = "vectorized",
    ) -> None:
        controls = {
            "scenario_name": scenario_name,
            "seed": int(seed),
            "towns": int(towns),
            "firms_per_town": int(firms_per_town),
            "budget_share": float(budget_share),
            "talent": float(talent),
            "funding": float(funding),
            "ip": float(ip),
            "platform": float(platform),
            "schedule": schedule,
        }
        super().__init__(scenario_name, rng=int(seed), **overrides_of(controls))
        self.controls = controls
        """The controls this model was built from."""
        self.retired = False

    def retire(self) -> None:
        """End this run for good, so that a play loop still holding it stops."""
        self.retired = True
        self.running = False

    def step(self) -> None:
        """Advance one step, unless the run was retired for a new one."""
        if not self.retired:
            super().step()


def build(controls: dict[str, Any]) -> AppModel:
    """A fresh model from a dict of controls."""
    return AppModel(**controls)


@dataclass(frozen=True)
class Preset:
    """A ready-made setting for a class, with what to look for when it runs."""

    title: str
    lesson: str
    scenario_name: str
    changes: dict[str, Any] = field(default_factory=dict)

    def controls(self) -> dict[str, Any]:
        """All controls of this preset."""
        return {**default_controls(self.scenario_name), **self.changes}


ONE_TOWN = {"towns": 1, "firms_per_town": 150, "seed": 7}
"""The town every single-town preset uses: same seed, same firms at the start."""

PRESETS = (
    Preset(
        "One town, no policy",
        "Nobody spends anything. Watch the S-curves of the firm levels: a few firms "
        "climb on their own initiative, then imitation takes over. The platform "
        "index stays at zero, so coordination D and the town's dimension stay low.",
        DEFAULT_SCENARIO,
        {**ONE_TOWN, "budget_share": 0.0},
    ),
    Preset(
        "Same town, platform push",
        "The same town and seed, with 70% of the budget on platforms and a "
        "provincial programme from 2018. Compare the platform index, the share of "
        "members and when the town reaches each dimension with the run before.",
        "platform",
        ONE_TOWN,
    ),
    Preset(
        "Weak IP protection",
        "The same town with nothing spent on IP enforcement: protection stays at the "
        "legal floor. Firms show partners little and much leaks to imitators. Note "
        "the knowledge shared and leaked in the firm inspector and the index chart.",
        DEFAULT_SCENARIO,
        {**ONE_TOWN, "ip": 0.0},
    ),
    Preset(
        "Strong IP protection",
        "The same town with 70% of a larger budget on enforcement: protection near "
        "its maximum. Partners share more, less leaks, licences cost more. Which run "
        "climbs faster, and why?",
        "ip",
        {**ONE_TOWN, "budget_share": 0.01},
    ),
)

SCENARIOS = tuple(shipped_scenarios())
