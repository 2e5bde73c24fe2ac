"""The app's page: SolaraViz's Step/Play/Reset, the settings, the views, the About.

Mesa's `ModelController` (the controller SolaraViz puts in its sidebar) steps,
plays and resets the model; Reset rebuilds it as `AppModel(**controls)` from the
controls edited here. Every view reads Mesa's update counter, so it redraws after
each step; the clock, the buttons and the two views that follow a step are
islands (`viz.island`), so that a step redraws them and not the whole page.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import markdown
import reacton.core
import solara
import solara.lab
from mesa.visualization.utils import force_update, update_counter

from agents import Enterprise
from scenarios import INDUSTRIES, PLATFORM_KINDS, REGIONS
from viz import charts
from viz.compare import CompareTab
from viz.controls import (
    ONE_TOWN_CEILING,
    PRESETS,
    SCENARIOS,
    AppModel,
    advance,
    agents_step_seconds,
    build,
    check_controls,
    default_controls,
    describe_controls,
    end_message,
    pick_scenario,
    settings_tag,
    towns_limit,
    with_settings,
)
from viz.inspector import Section, inspect_firm
from viz.island import Island
from viz.networks import LEVEL_LABELS, firm_network, town_network
from viz.rules import RULE_TOPICS, RULES_OF_SECTION, RulesTab
from viz.widgets import ChartView, DrawerKeeper, NetworkView, drawing

TITLE = "Professional towns climbing to Internet+"
CSS = """
.townsim-text { padding: 4px 8px; }
.townsim-text strong { font-weight: 700; }
.townsim-about { max-width: 56em; }
.townsim-text table { border-collapse: collapse; font-size: 13px; margin: 4px 0 12px; }
.townsim-text td, .townsim-text th { padding: 1px 8px; border-bottom: 1px solid #eee; }
.townsim-text h2 { font-size: 20px; margin: 18px 0 6px; }
.townsim-text p, .townsim-text li { font-size: 14px; }
.townsim-grid {
  display: grid; gap: 12px; align-items: start; margin-bottom: 12px;
  grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr));
}
.townsim-grid > * { min-width: 0; }
.townsim-chart { max-width: 720px; }
.townsim-note { font-size: 13px; color: #616161; }
/* The "runs on Solara" banner sits over the page's bottom right corner. */
div:has(> b > a[href="https://solara.dev"]) { display: none !important; }
/* A phone's drawer opens below the app bar, so its menu button can close it. */
.v-navigation-drawer--is-mobile {
  top: 56px !important; max-height: calc(100% - 56px) !important;
  box-shadow: 0 0 0 100vmax rgba(0, 0, 0, 0.3) !important;
}
@media (max-width: 600px) {
  .v-navigation-drawer { min-width: 0 !important; width: 88vw !important; }
  .townsim-text table { font-size: 12px; }
  .v-toolbar__title { font-size: 16px; }
}
"""
ABOUT = (Path(__file__).parent / "about.md").read_text(encoding="utf-8")

SLIDERS = (
    ("towns", "Towns", 1, 60, 1),
    ("firms_per_town", "Firms per town", 10, 300, 10),
    ("budget_share", "Budget, share of town GDP", 0.0, 0.03, 0.001),
    ("talent", "Lever weight: talent", 0.0, 1.0, 0.05),
    ("funding", "Lever weight: funding", 0.0, 1.0, 0.05),
    ("ip", "Lever weight: IP protection", 0.0, 1.0, 0.05),
    ("platform", "Lever weight: platforms", 0.0, 1.0, 0.05),
)
"""Key, label, minimum, maximum and step of each slider (a data scenario may
offer more towns: `towns_limit`)."""
DATES = (
    "Dates on the x axis: x = 2019 is the end of 2019 (the run starts at the end of "
    "its start year). A quarter is drawn where it ends: 2019 Q1 (January to March) "
    "at 2018.25, 2019 Q4 at 2019. The clock in the sidebar names the quarter just "
    "simulated."
)
"""The date convention of every chart, said under the charts and in About."""
SLOW_STEP_S = 1.0
"""A step longer than this on the agents schedule is announced before Reset."""


def clock_label(model: AppModel) -> str:
    """The simulated date on screen: the end of the start year, then quarters."""
    if model.steps == 0:
        return f"End of {model.settings.run.start_year}"
    per_year = model.rates.steps_per_year
    part = (model.steps - 1) % per_year + 1
    if per_year == 4:
        return f"{model.calendar_year} Q{part}"
    return f"{model.calendar_year}, step {part} of {per_year}"


TABS = ("Province", "Town and firms", "Rules", "Compare", "About")


@solara.component
def TownsimApp(model: solara.Reactive[AppModel] | None = None) -> None:
    """The whole app; pass a reactive model to drive it from outside (tests)."""
    initial = solara.use_memo(
        lambda: build(default_controls()) if model is None else None, []
    )
    own = solara.use_reactive(initial)
    model = model if model is not None else own
    controls = solara.use_reactive(dict(model.value.controls))
    town = solara.use_reactive(0)
    firm = solara.use_reactive(None)  # the selected firm's agent, which follows it
    lesson = solara.use_reactive(({}, ""))  # a preset's controls and its lesson
    tab = solara.use_reactive(0)
    rule = solara.use_reactive(RULE_TOPICS[0])

    def start(new_controls: dict[str, Any], text: str) -> None:
        """Apply a whole set of controls and start a run with them."""
        controls.set(new_controls)
        model.value.retire()  # a play loop of the old controller may still hold it
        model.set(build(new_controls))
        choose_town(0)
        lesson.set((new_controls, text))

    def choose_town(number: int) -> None:
        """Select a town; the inspector's firm belonged to the old one."""
        town.set(number)
        firm.set(None)

    def show_rules(topic: str) -> None:
        """Open the Rules tab at one decision's rules."""
        rule.set(topic)
        tab.set(TABS.index("Rules"))

    solara.Title(TITLE)
    solara.Style(CSS)
    DrawerKeeper()
    with solara.AppBar():
        solara.AppBarTitle(TITLE)
    with solara.Sidebar():
        RunCard(model, controls)
        PresetCard(start)
        SettingsCard(model.value, controls)
    current = model.value
    previous = previous_run(current)
    solara.use_effect(lambda: firm.set(None), [current])  # a new run: other firms
    selected = min(town.value, current.n_towns - 1)
    preset_controls, text = lesson.value
    if text and preset_controls == current.controls:
        solara.Info(text, dense=True)
    with solara.lab.Tabs(value=tab.value, on_value=tab.set, lazy=True):
        with solara.lab.Tab(TABS[0]):
            Island(
                ProvinceTab,
                model=current,
                previous=previous,
                town=selected,
                select_town=choose_town,
            )
        with solara.lab.Tab(TABS[1]):
            Island(
                TownTab,
                model=current,
                town=selected,
                select_town=choose_town,
                firm=firm.value,
                select_firm=firm.set,
                show_rules=show_rules,
            )
        with solara.lab.Tab(TABS[2]):
            RulesTab(rule)
        with solara.lab.Tab(TABS[3]):
            CompareTab(controls.value)
        with solara.lab.Tab(TABS[4]):
            Prose(ABOUT, classes=["townsim-about"])


@solara.component
def RunCard(
    model: solara.Reactive[AppModel],
    controls: solara.Reactive[dict[str, Any]],
) -> None:
    """The clock, Step / Play / Reset, and what the run so far can be saved as.

    Only the clock and the buttons follow each step, in an island of their own
    (`viz.island`): a step leaves the rest of the card, and the sidebar, as they
    are, which keeps a step's redraw small when a class shares a server.
    """
    play_interval = solara.use_reactive(200)
    steps_per_click = solara.use_reactive(1)
    current = model.value
    with solara.Card("Run"):
        Island(
            RunNow,
            run=current,
            model=model,
            controls=controls,
            play_interval=play_interval,
            steps_per_click=steps_per_click,
        )
        solara.SliderInt(
            f"Steps per Step click: {steps_per_click.value}",
            value=steps_per_click,
            min=1,
            max=20,
        )
        solara.SliderInt(
            f"Pause while playing: {play_interval.value} ms",
            value=play_interval,
            min=0,
            max=1000,
            step=50,
        )
        DataDownloads(current)
        if controls.value != current.controls:
            solara.Warning(
                "Settings changed: press Reset to start a run with them.", dense=True
            )


@solara.component
def RunNow(
    run: AppModel,
    model: solara.Reactive[AppModel],
    controls: solara.Reactive[dict[str, Any]],
    play_interval: solara.Reactive[int],
    steps_per_click: solara.Reactive[int],
) -> None:
    """The clock and the buttons: what a step changes in the sidebar.

    The run comes from the page as well as from `model`, so that a new run
    redraws the clock in the page's own pass, before the views that show it.
    """
    with solara.Column(gap="0px"):
        Clock(run)
        RunButtons(model, controls, play_interval, steps_per_click)


@solara.component
def Clock(run: AppModel) -> None:
    """The simulated date, the step count, and a message once the run is over."""
    update_counter.get()  # the run moved in place: redraw
    with solara.Column(gap="0px"):
        solara.Text(clock_label(run), classes=["townsim-year"], style="font-size: 24px")
        solara.Text(
            f"step {run.steps} of {run.settings.steps}", classes=["townsim-step"]
        )
        if run.finished and not run.retired:
            solara.Success(end_message(run), dense=True, classes=["townsim-end"])


@solara.component
def RunButtons(
    model: solara.Reactive[AppModel],
    controls: solara.Reactive[dict[str, Any]],
    play_interval: solara.Reactive[int],
    steps_per_click: solara.Reactive[int],
) -> None:
    """Reset, Play/Pause and Step, which never run past the end or after a pause.

    Play steps in a background thread, as Mesa's ModelController does, and asks
    before every step whether it is still playing this run: a Pause, a Reset or
    a preset stops it at once. What is playing is a run, not a flag, so a new
    run (Reset, preset) always starts paused.
    """
    update_counter.get()  # the run moved in place: its end may have come
    run = model.value
    played = solara.use_reactive(None)  # the run Play is playing, None when paused
    render_context = reacton.core.get_render_context()

    def redraw() -> None:
        """Every view that follows the run, redrawn in one pass, not one each."""
        with render_context:
            force_update()

    playing = played.value is run  # a new run (Reset, preset) is never playing

    def still_playing() -> bool:
        return played.value is run and model.value is run

    def play() -> None:
        while still_playing() and not run.finished:
            time.sleep(play_interval.value / 1000)
            advance(run, steps_per_click.value, still_playing)
            redraw()
        if played.value is run:
            played.set(None)

    solara.lab.use_task(play, dependencies=[played.value, run], prefer_threaded=True)

    def step() -> None:
        advance(run, steps_per_click.value, lambda: model.value is run)
        redraw()

    def reset() -> None:
        played.set(None)
        run.retire()
        model.set(build(controls.value))

    problem = check_controls(controls.value)
    with solara.Row(justify="space-between"):
        solara.Button(
            label="Reset", color="primary", on_click=reset, disabled=problem is not None
        )
        solara.Button(
            label="❚❚" if playing else "▶",
            color="primary",
            on_click=lambda: played.set(None if playing else run),
            disabled=run.finished,
        )
        solara.Button(
            label="Step",
            color="primary",
            on_click=step,
            disabled=playing or run.finished,
        )


@solara.component
def DataDownloads(model: AppModel) -> None:
    """The run so far as tables that name its settings, in the file and its name."""
    stem = settings_tag(model.controls)
    with solara.Row(gap="4px", style="flex-wrap: wrap"):
        solara.FileDownload(
            lambda: with_settings(model.town_frame(), model.controls).to_csv(
                index=False
            ),
            filename=f"towns-{stem}.csv",
            label="Towns (CSV)",
        )
        solara.FileDownload(
            lambda: with_settings(model.model_frame(), model.controls).to_csv(
                index=False
            ),
            filename=f"province-{stem}.csv",
            label="Province (CSV)",
        )


@solara.component
def PresetCard(start: Callable[[dict[str, Any], str], None]) -> None:
    """Ready-made settings for a class; each starts its run at once."""
    with solara.Card("Classroom presets"):
        for preset in PRESETS:
            solara.Button(
                preset.title,
                on_click=lambda p=preset: start(p.controls(), f"{p.title}: {p.lesson}"),
                text=True,
                color="primary",
                style="text-transform: none",
            )


@solara.component
def SettingsCard(model: AppModel, controls: solara.Reactive[dict[str, Any]]) -> None:
    """Scenario, sliders, seed and schedule: what the next Reset builds.

    A slider always keeps the value it shows; settings that cannot make a run
    are explained, and Reset waits until they can.
    """
    values = controls.value
    problem = check_controls(values)

    def change(key: str, value: Any) -> None:
        controls.set({**values, key: value})

    with solara.Card("Settings (apply with Reset)"):
        solara.Select(
            "Scenario",
            values=list(SCENARIOS),
            value=values["scenario_name"],
            on_value=lambda name: controls.set(pick_scenario(values, name)),
        )
        solara.Text(
            describe_controls(values), classes=["townsim-note", "townsim-description"]
        )
        for key, label, low, high, step in SLIDERS:
            if key == "towns":
                high = towns_limit(values["scenario_name"])
            slider = solara.SliderFloat if isinstance(step, float) else solara.SliderInt
            slider(
                f"{label}: {values[key]:g}",
                value=values[key],
                min=low,
                max=high,
                step=step,
                on_value=lambda v, key=key: change(key, v),
            )
        if problem:
            solara.Error(problem, dense=True)
        if values["towns"] == 1:
            solara.Text(ONE_TOWN_CEILING, classes=["townsim-note"])
        solara.InputInt(
            "Seed",
            value=values["seed"],
            on_value=lambda v: change("seed", max(0, int(v or 0))),
            continuous_update=True,
        )
        solara.Select(
            "Schedule",
            values=["vectorized", "agents"],
            value=values["schedule"],
            on_value=lambda v: change("schedule", v),
        )
        if values["schedule"] == "agents":
            seconds = agents_step_seconds(values)
            note = (
                "The agents schedule steps every firm one by one (about 0.9 ms "
                f"per firm): about {seconds:.1f} s per step with these settings."
            )
            if seconds > SLOW_STEP_S:
                solara.Warning(
                    note + " The page will not answer while a step runs; use fewer "
                    "towns or firms, or the vectorized schedule, for a class.",
                    dense=True,
                    classes=["townsim-slow"],
                )
            else:
                solara.Text(note, classes=["townsim-note"])


def previous_run(current: AppModel) -> AppModel | None:
    """The run on screen before this one, kept so that charts can compare the two."""
    runs = solara.use_ref([None, None])  # [previous, current]
    if runs.current[1] is not current:
        runs.current = [runs.current[1], current]
    return runs.current[0]


@solara.component
def ProvinceTab(
    model: AppModel,
    previous: AppModel | None,
    town: int,
    select_town: Callable[[int], None],
) -> None:
    """The town map, the climb and the plan figures, with the previous run dashed."""
    update_counter.get()  # the model changed in place: redraw
    with solara.Div(classes=["townsim-grid"]):
        with solara.Card("Towns of the province"):
            NetworkView(
                **drawing(town_network(model), width=480, height=360),
                selected=town,
                event_select=select_town,
            )
            solara.Text(
                f"Selected: town {town} (see the Town and firms tab). Click a town "
                "to select it; hover for its figures.",
                style="font-size: 13px",
            )
        ChartView(**drawing(charts.towns_chart(model, previous)))
        ChartView(**drawing(charts.levels_chart(model, previous)))
        ChartView(**drawing(charts.gdp_chart(model, previous)))
        ChartView(**drawing(charts.coverage_chart(model, previous)))
    if model.n_towns == 1:
        solara.Text(ONE_TOWN_CEILING, classes=["townsim-note"])
    solara.Text(DATES, classes=["townsim-note", "townsim-dates"])


@solara.component
def TownTab(
    model: AppModel,
    town: int,
    select_town: Callable[[int], None],
    firm: Enterprise | None,
    select_firm: Callable[[Enterprise | None], None],
    show_rules: Callable[[str], None],
) -> None:
    """One town: its systems against the province, its firms, one firm's reasons.

    The selection is the firm's agent, not its slot: slots are reused by
    start-ups and move when the town blocks widen, the agent stays with its firm.
    """
    update_counter.get()  # the model changed in place: redraw
    slot = firm.slot if firm is not None and selected_agent(model, firm) else -1
    if model.n_towns > 1:
        solara.SliderInt(
            f"Town {town}",
            value=town,
            min=0,
            max=model.n_towns - 1,
            on_value=select_town,
        )
    solara.Text(f"Town {town}: {town_summary(model, town)}", style="font-size: 14px")
    with solara.Div(classes=["townsim-grid"]):
        with solara.Card(f"Firms of town {town}"):
            NetworkView(
                **drawing(firm_network(model, town, slot), width=480, height=360),
                selected=slot,
                event_select=lambda s: select_firm(model.enterprises[s]),
            )
            solara.Text(
                "Rings by level (traditional outside, Internet+ in the centre), "
                "sectors by chain stage, size by workforce. Click a firm: its ties "
                "turn bold.",
                style="font-size: 13px",
            )
        with solara.Card("Firm inspector", classes=["townsim-inspector"]):
            Inspector(model, slot, show_rules)
        ChartView(**drawing(charts.systems_chart(model, town)))
        ChartView(**drawing(charts.town_levels_chart(model, town)))
        ChartView(**drawing(charts.coordination_chart(model, town)))
    solara.Text(DATES, classes=["townsim-note"])


def town_summary(model: AppModel, town: int) -> str:
    """One line about a town: industry, region, dimension, firms, output, platforms."""
    t = model.towns
    built = [
        kind.replace("_", " ")
        for kind, yes in zip(PLATFORM_KINDS, t.platform_built[town], strict=True)
        if yes
    ]
    return (
        f"{INDUSTRIES[t.industry[town]].replace('_', ' ')} town in "
        f"{REGIONS[t.region[town]].replace('_', ' ')}; dimension "
        f"{LEVEL_LABELS[t.dimension[town] - 1]}; {t.firms[town]} firms; output "
        f"{t.gdp[town]:,.0f} M yuan/yr; platforms: {', '.join(built) or 'none'}"
    )


def selected_agent(model: AppModel, firm: Enterprise) -> bool:
    """Whether the selected agent still views a live firm (it leaves with it)."""
    return firm.model is model and model.enterprises.get(firm.slot) is firm


@solara.component
def Inspector(model: AppModel, slot: int, show_rules: Callable[[str], None]) -> None:
    """A firm's state and its last decisions, section by section."""
    update_counter.get()  # the model changed in place: redraw
    if slot < 0:
        Prose(
            "Click a firm in the network to see its state and why it did what it "
            "did at its last step."
        )
        return
    for section in inspect_firm(model, slot):
        SectionView(section)
        topic = RULES_OF_SECTION.get(section.title)
        if topic is not None:
            solara.Button(
                f"Rules: {topic}",
                on_click=lambda topic=topic: show_rules(topic),
                text=True,
                small=True,
                color="primary",
                classes=["townsim-rule-link"],
                style="text-transform: none",
            )


@solara.component
def SectionView(section: Section) -> None:
    """One inspector section as a sentence and a small table."""
    lines = [f"**{section.title}.** {section.summary}"]
    if section.rows:
        lines += ["", "| | | |", "|---|---|---|"]
        lines += [f"| {a} | {b} | {c} |" for a, b, c in section.rows]
    Prose("\n".join(lines))


def html_of(text: str) -> str:
    """Markdown as HTML, made on the server.

    Solara's Markdown component would load KaTeX from a CDN in the browser, and
    the app must work with no internet.
    """
    page = markdown.markdown(text, extensions=["tables"])
    return page.replace('<a href="http', '<a target="_blank" rel="noopener" href="http')


@solara.component
def Prose(text: str, classes: list[str] | None = None) -> None:
    """A block of text written in Markdown."""
    solara.HTML(
        tag="div",
        unsafe_innerHTML=html_of(text),
        classes=["townsim-text", *(classes or [])],
    )
