"""The app without a browser: Solara renders its widgets in this process.

Buttons are clicked and sliders moved on the widgets themselves, so these tests
check the app's wiring (Step, Reset, presets, selection, inspector) quickly; the
browser test checks that the front end draws it.
"""

import json
import re

import ipyvue
import ipyvuetify as v
import numpy as np
import pytest
import solara

from agents.demography import make_room, retire_firms
from agents.enterprise import consider_upgrade, hire_talent, learn
from agents.ties import revise_ties
from viz import charts
from viz.charts import PREVIOUS
from viz.controls import (
    PRESETS,
    AppModel,
    advance,
    build,
    check_controls,
    default_controls,
    describe_controls,
    pick_scenario,
    settings_tag,
    with_settings,
)
from viz.inspector import firm_upgrade_terms, inspect_firm
from viz.networks import firm_network, firm_positions, town_network
from viz.page import TownsimApp, clock_label, selected_agent

SMALL = {**default_controls(), "towns": 4, "firms_per_town": 30}


@pytest.fixture
def app():
    model = solara.reactive(build(SMALL))
    _, rc = solara.render(
        solara.AppLayout(children=[TownsimApp(model=model)]), handle_error=False
    )
    yield model, rc
    rc.close()


def click(rc, label):
    rc.find(v.Btn, children=[label]).widget.click()


def year_shown(rc):
    return rc.find(v.Html, class_="townsim-year").widget.children[0]


def slider(rc, label_start):
    found = [w for w in rc.find(v.Slider).widgets if w.label.startswith(label_start)]
    assert len(found) == 1, [w.label for w in rc.find(v.Slider).widgets]
    return found[0]


def drawn(widget):
    """What a chart or network view was given to draw."""
    return json.loads(widget.spec)


def vue_views(rc):
    """The network views on screen (Vue templates with nodes)."""
    return [
        w
        for w in rc.find(ipyvue.VueTemplate).widgets
        if hasattr(w, "spec") and "nodes" in drawn(w)
    ]


def markdown(rc):
    """The html of every block of text on screen."""
    return [w.unsafe_innerHTML or "" for w in rc.find(solara.widgets.HTML).widgets]


def test_step_advances_the_model_and_the_year_shown(app):
    model, rc = app
    assert year_shown(rc) == "End of 2016"
    click(rc, "Step")
    assert model.value.steps == 1
    assert year_shown(rc) == "2017 Q1"
    click(rc, "Step")
    assert model.value.steps == 2
    assert year_shown(rc) == "2017 Q2"


def test_slider_change_then_reset_rebuilds_the_model_with_the_new_value(app):
    model, rc = app
    click(rc, "Step")
    slider(rc, "Towns").v_model = 6
    slider(rc, "Lever weight: platforms").v_model = 0.6
    assert model.value.n_towns == 4  # nothing changes before Reset
    rc.find(v.Alert).assert_not_empty()  # but the app says so
    click(rc, "Reset")
    new = model.value
    assert new.n_towns == 6
    assert new.steps == 0
    assert new.settings.government.platform == pytest.approx(0.6)
    assert new.controls["towns"] == 6
    assert year_shown(rc) == "End of 2016"
    legends = [
        str(drawn(w)["legend"])
        for w in rc.find(ipyvue.VueTemplate).widgets
        if hasattr(w, "spec") and "shapes" in drawn(w)
    ]
    assert sum(PREVIOUS in legend for legend in legends) >= 3  # the run before, dashed


def test_seed_and_scenario_reach_the_model(app):
    model, rc = app
    rc.find(v.TextField, label="Seed").widget.v_model = "7"
    rc.find(v.Select, label="Scenario").widget.v_model = "platform"
    click(rc, "Reset")
    assert model.value.seed == 7
    assert model.value.controls["scenario_name"] == "platform"
    assert model.value.settings.government.platform == pytest.approx(0.7)
    assert model.value.n_towns == 4  # picking a scenario keeps the province size


def test_levers_that_cannot_make_a_model_are_refused_in_a_users_words(app):
    model, rc = app
    for lever in ("talent", "funding", "IP protection", "platforms"):
        slider(rc, f"Lever weight: {lever}").v_model = 0.0
    reason = rc.find(v.Alert, type="error").widget.children[0]
    assert "lever weights are 0" in reason
    assert "GovernmentSettings" not in reason and "allowed" not in reason
    platforms = slider(rc, "Lever weight: platforms")
    assert platforms.v_model == 0.0 and platforms.label.endswith(": 0")  # they agree
    assert rc.find(v.Btn, children=["Reset"]).widget.disabled
    slider(rc, "Lever weight: platforms").v_model = 0.5
    assert rc.find(v.Alert, type="error").widgets == []
    click(rc, "Reset")
    assert model.value.settings.government.platform == pytest.approx(0.5)


def test_a_preset_starts_its_run_and_says_what_to_look_for(app):
    model, rc = app
    click(rc, "Step")
    preset = PRESETS[1]
    click(rc, preset.title)
    assert model.value.steps == 0
    assert model.value.controls == preset.controls()
    assert model.value.n_towns == 1
    assert any(preset.title in str(w.children) for w in rc.find(v.Alert).widgets)
    click(rc, "Step")  # the new controller can step the new model
    assert model.value.steps == 1


def test_clicking_a_town_and_a_firm_fills_the_inspector(app):
    model, rc = app
    click(rc, "Step")
    (town_view,) = vue_views(rc)
    town_view.vue_select(2)
    rc.find(v.Tabs).widget.v_model = 1  # the "Town and firms" tab
    (firm_view,) = vue_views(rc)
    slot = drawn(firm_view)["nodes"][0]["id"]
    assert model.value.firms.town[slot] == 2
    assert not any("Upgrade decision" in text for text in markdown(rc))
    firm_view.vue_select(slot)
    assert firm_view.selected == slot
    assert any("Upgrade decision" in text for text in markdown(rc))


def test_the_about_panel_follows_the_netlogo_info_tab(app):
    _, rc = app
    rc.find(v.Tabs).widget.v_model = 4
    text = " ".join(markdown(rc))
    for heading in (
        "What is it?",
        "How it works",
        "How to use it",
        "Things to notice",
        "Things to try",
        "Extending the model",
    ):
        assert heading in text


def test_inspector_rebuilds_the_models_upgrade_record_with_its_rules():
    model = build(SMALL)
    for _ in range(6):
        model.step()
    idx = np.flatnonzero(model.firms.alive)
    for behaviour in (hire_talent, revise_ties, learn):  # the state the decision sees
        behaviour(model, idx)
    slots = idx[:: max(1, idx.size // 40)]
    terms = {
        int(s): firm_upgrade_terms(model, model.enterprises[int(s)]) for s in slots
    }
    consider_upgrade(model, idx)
    for slot, t in terms.items():
        assert t.hazard[0] == model.firms.adoption_probability[slot]
        assert t.blocked[0] == model.firms.blocked[slot]


def test_inspector_covers_every_decision_and_a_firm_that_left():
    model = build(SMALL)
    for _ in range(4):
        model.step()
    slot = int(np.flatnonzero(model.firms.alive)[0])
    titles = [section.title for section in inspect_firm(model, slot)]
    assert titles == [
        f"Firm {slot}",
        "Hiring IT talent",
        "Upgrade decision",
        "Learning",
        "Ties",
        "Production and exit",
        "State variables",
    ]
    gone = int(np.flatnonzero(~model.firms.alive)[0])
    assert inspect_firm(model, gone)[0].title == "Firm gone"


def test_networks_show_every_town_and_every_live_firm_of_a_town():
    model = build(SMALL)
    for _ in range(8):
        model.step()
    towns = town_network(model)
    assert len(towns["nodes"]) == model.n_towns
    assert len(towns["edges"]) == model.graph.number_of_edges()
    firms = firm_network(model, 1)
    start = model.blocks.start
    alive = model.firms.alive[start[1] : start[2]]
    assert len(firms["nodes"]) == alive.sum() == model.towns.firms[1]
    ids = {node["id"] for node in firms["nodes"]}
    assert all(model.firms.town[i] == 1 for i in ids)
    chosen = max(ids, key=lambda slot: model.firms.ties[slot])
    bold = [e for e in firm_network(model, 1, chosen)["edges"] if e[5] == 2.5]
    assert len(bold) == model.firms.ties[chosen]  # every tie of the chosen firm


def test_charts_span_the_run_and_draw_every_series():
    model = build(SMALL)
    for _ in range(8):
        model.step()
    for spec in (
        charts.towns_chart(model),
        charts.levels_chart(model),
        charts.gdp_chart(model),
        charts.coverage_chart(model),
        charts.systems_chart(model, 0),
        charts.town_levels_chart(model, 0),
        charts.coordination_chart(model, 0),
    ):
        assert spec["shapes"] and spec["legend"]
        assert all(np.isfinite(t[0]) and np.isfinite(t[1]) for t in spec["texts"])


def test_clock_counts_quarters_from_the_end_of_the_start_year():
    model = build(SMALL)
    labels = [clock_label(model)]
    for _ in range(5):
        model.step()
        labels.append(clock_label(model))
    assert labels == [
        "End of 2016",
        "2017 Q1",
        "2017 Q2",
        "2017 Q3",
        "2017 Q4",
        "2018 Q1",
    ]


def test_presets_are_valid_and_the_ip_pair_differs_in_protection():
    for preset in PRESETS:
        assert check_controls(preset.controls()) is None
    weak, strong = (build(p.controls()) for p in PRESETS[2:4])
    for model in (weak, strong):
        for _ in range(8):
            model.step()
    assert strong.towns.ip_protection[0] > weak.towns.ip_protection[0] + 0.2


def test_one_town_without_policy_stays_at_the_first_dimension():
    model = build(PRESETS[0].controls())
    model.run()
    assert model.towns.platform_built.sum() == 0
    assert set(model.town_frame()["dimension"]) == {1}


def test_app_model_is_rebuilt_from_its_own_controls():
    model = build(SMALL)
    again = AppModel(**model.controls)
    assert again.controls == model.controls
    assert np.array_equal(again.firms.size, model.firms.size)


def test_a_retired_run_no_longer_steps():
    model = build(SMALL)
    model.step()
    model.retire()
    model.step()
    assert model.year == 2016.25  # Mesa still counts the call, the model does not move
    assert len(model.model_frame()) == 2
    assert not model.running


def test_the_selected_firm_is_followed_as_blocks_widen_and_dropped_when_it_leaves():
    model = build(SMALL)
    slot = int(model.blocks.start[2]) + 3  # a firm of town 2: its slot moves
    agent = model.enterprises[slot]
    efficiency = agent.efficiency
    place = firm_positions(model, np.array([slot]))
    old = model.blocks
    make_room(model, old.width + 5)  # as if start-ups were due everywhere
    assert (model.blocks.width > old.width).all() and agent.slot != slot
    assert agent.slot == old.moved_to(model.blocks)[slot]
    assert selected_agent(model, agent) and agent.efficiency == efficiency
    now = firm_positions(model, np.array([agent.slot]))
    np.testing.assert_array_equal(np.ravel(now), np.ravel(place))  # drawn in place
    retire_firms(model, np.array([agent.slot]))
    assert not selected_agent(model, agent)
    assert not selected_agent(build(SMALL), agent)  # another run: another firm


def test_steps_per_click_stop_exactly_at_the_end_and_say_so(app):
    model, rc = app
    slider(rc, "Steps per Step click").v_model = 20
    end = model.value.settings.steps
    for _ in range(end // 20 + 2):
        if rc.find(v.Btn, children=["Step"]).widget.disabled:
            break
        click(rc, "Step")
    assert model.value.steps == end
    assert model.value.year == model.value.settings.run.end_year
    assert len(model.value.model_frame()) == end + 1  # nothing past the end
    assert rc.find(v.Btn, children=["Step"]).widget.disabled
    assert rc.find(v.Btn, children=["▶"]).widget.disabled
    message = rc.find(v.Alert, class_="townsim-end").widget.children[0]
    assert "reached its end" in message and "2035" in message


def test_advance_asks_before_every_step_so_a_pause_lands_no_step():
    model = build(SMALL)
    asked = []

    def keep_going():
        asked.append(model.steps)
        return len(asked) <= 2  # paused after two steps of a five-step click

    assert advance(model, 5, keep_going) == 2
    assert model.steps == 2
    assert advance(model, 5, lambda: False) == 0 and model.steps == 2


def test_the_inspector_forgets_a_firm_of_another_town(app):
    model, rc = app
    click(rc, "Step")
    rc.find(v.Tabs).widget.v_model = 1
    (firm_view,) = vue_views(rc)
    firm_view.vue_select(drawn(firm_view)["nodes"][0]["id"])
    assert any("Upgrade decision" in text for text in markdown(rc))
    slider(rc, "Town 0").v_model = 2
    assert not any("Upgrade decision" in text for text in markdown(rc))
    (firm_view,) = vue_views(rc)
    assert all(model.value.firms.town[n["id"]] == 2 for n in drawn(firm_view)["nodes"])


def test_the_description_says_what_a_preset_changed(app):
    _, rc = app
    click(rc, PRESETS[0].title)  # the baseline with no budget
    (text,) = [
        w.children[0]
        for w in rc.find(v.Html, tag="span").widgets
        if "townsim-description" in (w.class_ or "")
    ]
    assert "budget 0 (scenario: 0.003)" in text


def test_the_guangdong_scenario_brings_its_own_towns_and_plan():
    controls = pick_scenario(SMALL, "guangdong")
    assert controls["towns"] == 399 and controls["firms_per_town"] == 250
    assert pick_scenario(SMALL, "platform")["towns"] == SMALL["towns"]


def test_downloads_name_and_record_their_settings():
    first, second = (p.controls() for p in PRESETS[2:4])
    assert settings_tag(first) != settings_tag(second)
    model = build(SMALL)
    model.step()
    frame = with_settings(model.model_frame(), model.controls)
    assert len(frame) == 2
    assert (frame["setting.scenario_name"] == "baseline").all()
    assert (frame["setting.towns"] == 4).all()
    assert (frame["setting.seed"] == model.seed).all()
    assert frame.columns.is_unique
    assert list(frame.columns[-2:]) == list(model.model_frame().columns[-2:])


def test_the_agents_schedule_warns_before_a_slow_step(app):
    _, rc = app
    rc.find(v.Select, label="Schedule").widget.v_model = "agents"
    assert rc.find(v.Alert, class_="townsim-slow").widgets == []  # 4 x 30 firms
    slider(rc, "Towns").v_model = 60
    slider(rc, "Firms per town").v_model = 300
    warning = rc.find(v.Alert, class_="townsim-slow").widget.children[0]
    assert "16.2 s per step" in warning
    assert "Changed" not in describe_controls(SMALL)  # the scenario's own policy


def test_the_inspector_speaks_in_words_and_says_when_figures_are_from():
    model = build({**SMALL, "firms_per_town": 60})
    for _ in range(30):
        model.step()
    f, alive = model.firms, np.flatnonzero(model.firms.alive)
    top = next(s for s in alive if f.level[s] == 4)
    outsider = next(
        s for s in alive if f.industry[s] != model.towns.industry[f.town[s]]
    )
    texts = {}
    for slot in alive:
        sections = inspect_firm(model, int(slot))
        text = " ".join(
            f"{x.summary} " + " ".join(" ".join(row) for row in x.rows)
            for x in sections
        )
        assert not re.search(r"\de[-+]\d", text), text  # no powers of ten
        assert not re.search(r"\bA [aeiou]", text)  # "an upstream", not "a"
        state = dict((row[0], row[1]) for row in sections[-1].rows)
        assert state["member"] == "none" or not state["member"].isdigit()
        assert not state["university"].lstrip("-").isdigit()
        assert not state["blocked"].isdigit()
        texts[int(slot)] = text
    assert "next level" not in texts[int(top)]
    assert "leading industry is" in texts[int(outsider)]
    upgrade = inspect_firm(model, int(alive[0]))[2]
    assert "At its last decision" in upgrade.summary and "now" in upgrade.summary
    names = [row[0] for row in upgrade.rows]
    assert "chance to climb now" in names and "at its last decision" in names


def test_previous_runs_are_drawn_dashed_off_the_frame_and_named_per_series():
    before, now = build(PRESETS[0].controls()), build(PRESETS[1].controls())
    one_point = charts.levels_chart(now, before)["legend"]
    assert not [item for item in one_point if len(item) > 2]  # nothing to draw yet
    for _ in range(12):
        before.step()
        now.step()
    coverage = charts.coverage_chart(now, before)
    dashed = [item[0] for item in coverage["legend"] if len(item) > 2]
    assert dashed == [  # no policy before: nothing built, said since it is hidden
        f"{PREVIOUS}: towns with a platform (0 throughout, on the axis)",
        f"{PREVIOUS}: firms in a platform (0 throughout, on the axis)",
    ]
    towns = charts.towns_chart(now, before)  # one town, always at dimension 1
    assert not [item for item in towns["legend"] if len(item) > 2]
    levels = charts.levels_chart(now, before)
    assert [item for item in levels["legend"] if len(item) > 2]
    frame = (levels["height"] - 26, 26)  # bottom and top of the plot, in pixels
    for shape in levels["shapes"]:
        if shape[4] == charts.PREVIOUS_DASH:
            rows = {float(p.split(",")[1]) for p in shape[0][1:].split(" L")}
            assert not rows <= set(frame)  # not lying on the frame all along


TINY = {**SMALL, "towns": 2, "firms_per_town": 20}


def test_compare_runs_through_the_sweep_worker_as_the_app_would():
    from experiments.sweeps.outcomes import measure
    from viz.compare import run_outcome

    app_run = build({**TINY, "seed": 11}).run()
    rows = measure(app_run.town_frame(), ["platform_coverage"], [2035])
    assert run_outcome(TINY, 11, "platform_coverage") == rows["value"].iloc[0]


def test_compare_pairs_seeds_and_says_what_the_interval_means():
    from viz.compare import compare

    same = compare(TINY, TINY, 2, "mean_firm_level")
    assert np.array_equal(same.a, same.b)  # common seeds: no luck between them
    assert "includes 0" in same.meaning()
    none = {**TINY, "budget_share": 0.0}
    push = {**pick_scenario(TINY, "platform"), "budget_share": 0.03}
    apart = compare(none, push, 2, "platform_coverage")
    assert (apart.a == 0).all() and (apart.b > 0).all()
    mean, low, high = apart.difference()
    assert low <= mean <= high
    counted = []
    assert compare(none, push, 3, "gdp_growth", counted.append, lambda: True) is None
    assert counted == []
