"""What the app's controls set, the model they build, and the classroom presets.

The app keeps its settings as one flat dict of named controls. Mesa's SolaraViz
Reset rebuilds a model as `type(model)(**controls)`, so `AppModel` takes exactly
those names and turns them into a scenario, a seed and overrides.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
    """Controls after picking a scenario: its policy, and its province if it has one.

    Most scenarios keep the user's towns and seed. A scenario built on data (the
    Guangdong start: its towns' output is a statistic) brings its own towns and
    firms, since its plan figures are about all of those towns.
    """
    chosen = {**controls, "scenario_name": name, **scenario_policy(name)}
    province = load_scenario(name).province
    if province.start_output is not None:
        chosen |= {"towns": province.towns, "firms_per_town": province.firms_per_town}
    return chosen


def towns_limit(scenario_name: str) -> int:
    """Most towns the slider offers: 60, or all of a data scenario's towns."""
    return max(MAX_TOWNS, load_scenario(scenario_name).province.towns)


MAX_TOWNS = 60
"""Towns a classroom run offers by default: big enough for a map, fast to step."""

LEVER_WORDS = "at least one lever weight must be positive"


def check_controls(controls: dict[str, Any]) -> str | None:
    """Why these controls cannot make a model, in a user's words (None if they can).

    The scenario loader speaks of keys and types for people editing files; the
    app's users moved a slider, so the reason names the slider and what to do.
    The answer is remembered: every redraw of the buttons asks again, and a
    class asks about the same few settings.
    """
    return _reason(tuple(sorted(controls.items())))


@functools.lru_cache(maxsize=1024)
def _reason(items: tuple[tuple[str, Any], ...]) -> str | None:
    controls = dict(items)
    try:
        load_scenario(controls["scenario_name"], overrides_of(controls))
    except ScenarioError as error:
        text = str(error)
        if LEVER_WORDS in text:
            return (
                "All four lever weights are 0, so the budget has nowhere to go. "
                "Give at least one lever a weight above 0."
            )
        reason = text.split(": ", 2)[-1].split("; allowed", 1)[0]
        return f"These settings cannot make a run: {reason}."
    return None


def changed_policy(controls: dict[str, Any]) -> list[str]:
    """How the budget and lever sliders differ from the picked scenario's own."""
    own = scenario_policy(controls["scenario_name"])
    return [
        f"{POLICY_WORDS[key]} {controls[key]:g} (scenario: {own[key]:g})"
        for key in POLICY_CONTROLS
        if abs(controls[key] - own[key]) > 1e-12
    ]


POLICY_WORDS = {
    "budget_share": "budget",
    "talent": "talent weight",
    "funding": "funding weight",
    "ip": "IP weight",
    "platform": "platform weight",
}


def describe_controls(controls: dict[str, Any]) -> str:
    """The scenario's description, and what the sliders changed in it."""
    text = load_scenario(controls["scenario_name"]).description
    changes = changed_policy(controls)
    if changes:
        text += ". Changed by the sliders: " + "; ".join(changes) + "."
    return text


def agents_step_seconds(controls: dict[str, Any]) -> float:
    """A rough time of one step on the agents schedule: about 0.9 ms per firm."""
    return 0.0009 * controls["towns"] * controls["firms_per_town"]


def settings_tag(controls: dict[str, Any]) -> str:
    """A file-name part that tells two runs' settings apart."""
    c = controls
    return (
        f"{c['scenario_name']}-towns{c['towns']}x{c['firms_per_town']}"
        f"-budget{c['budget_share']:g}-talent{c['talent']:g}-funding{c['funding']:g}"
        f"-ip{c['ip']:g}-platform{c['platform']:g}-{c['schedule']}-seed{c['seed']}"
    )


def with_settings(frame: pd.DataFrame, controls: dict[str, Any]) -> pd.DataFrame:
    """A results table with the run's settings as its first columns.

    A downloaded file then says which run it holds, wherever it is copied.
    Settings are named `setting.KEY`, apart from results of the same name (the
    `towns` setting is how many are simulated, the `towns` result how many are
    listed that year).
    """
    settings = pd.DataFrame(
        {f"setting.{key}": [value] * len(frame) for key, value in controls.items()}
    )
    return pd.concat([settings, frame.reset_index(drop=True)], axis=1)


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

    @property
    def finished(self) -> bool:
        """Whether the run has reached its end year (or was retired)."""
        return self.retired or self.steps >= self.settings.steps

    def step(self) -> None:
        """Advance one step, unless the run was retired for a new one."""
        if not self.retired:
            super().step()


def advance(model: AppModel, steps: int, keep_going: Callable[[], bool]) -> int:
    """Step a run up to `steps` times; never past its end, never once told to stop.

    `keep_going` is asked before every step, so that a Pause pressed between two
    steps of a click is obeyed at once. Returns the steps taken.
    """
    taken = 0
    while taken < steps and not model.finished and keep_going():
        model.step()
        taken += 1
    return taken


def end_message(model: AppModel) -> str:
    """What the app says when a run is over."""
    return (
        f"The run has reached its end: the end of {model.settings.run.end_year} "
        f"(step {model.steps} of {model.settings.steps}). Press Reset or pick a "
        "preset to start another."
    )


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

ONE_TOWN_CEILING = (
    "A lone town stops at dimension 3: Internet+ (dimension 4) needs ties to other "
    "towns, and there are none."
)
"""Why a one-town run never shows dimension 4, said wherever it could puzzle."""

PRESETS = (
    Preset(
        "One town, no policy",
        "Nobody spends anything. Watch the S-curves of the firm levels: a few firms "
        "climb on their own initiative, then imitation takes over. The platform "
        "index stays at zero, so coordination D and the town's dimension stay low. "
        + ONE_TOWN_CEILING,
        DEFAULT_SCENARIO,
        {**ONE_TOWN, "budget_share": 0.0},
    ),
    Preset(
        "Same town, platform push",
        "The same town and seed, with 70% of the budget on platforms and a "
        "provincial programme from 2018. Compare the platform index, the share of "
        "members and when the town reaches each dimension with the run before. "
        + ONE_TOWN_CEILING,
        "platform",
        ONE_TOWN,
    ),
    Preset(
        "Weak IP protection",
        "The same town with nothing spent on IP enforcement: protection stays at the "
        "legal floor. Firms show partners little and much leaks to imitators. Click "
        "a firm on the Town and firms tab: its Learning section says what share of "
        "its knowledge it shows partners and how much leaks; compare the Firms per "
        "level chart with the next preset's.",
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
