"""Scenario validation and loading (scenarios/schema.py, scenarios/loading.py).

A bad scenario must fail with a ScenarioError whose message names where the input
came from (the origin: a file path, "defaults", ...), the key, the value and
what is allowed. The CLI is not tested here; `--set KEY=VALUE` is tested through
`parse_assignment`, which is what the CLI calls.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from model import TownModel
from scenarios import (
    REGIONS,
    Scenario,
    ScenarioError,
    build_scenario,
    leaf_paths,
    load_scenario,
    parse_assignment,
    shipped_scenarios,
)

ORIGIN = "my_scenario.toml"


def error_of(data: dict, overrides: dict | None = None) -> str:
    with pytest.raises(ScenarioError) as caught:
        build_scenario(data, overrides, origin=ORIGIN)
    assert isinstance(caught.value, ValueError)
    return str(caught.value)


def assert_names(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} missing from message:\n{message}"


# --- defaults ----------------------------------------------------------------


def test_defaults_are_a_valid_scenario():
    scenario = load_scenario()
    assert isinstance(scenario, Scenario)
    assert scenario == build_scenario({})
    assert (
        scenario.steps
        == (scenario.run.end_year - scenario.run.start_year)
        * scenario.run.steps_per_year
    )
    assert sum(scenario.province.region_shares.values()) == pytest.approx(1.0)
    assert sum(scenario.enterprise.initial_levels) == pytest.approx(1.0)


def test_default_scenario_survives_a_round_trip():
    dumped = Scenario().model_dump()
    assert Scenario.model_validate(dumped) == Scenario()


def test_model_accepts_a_scenario_object_plus_overrides():
    model = TownModel(Scenario(), rng=1, towns=2, firms_per_town=5)
    assert model.settings.province.towns == 2


def test_model_accepts_a_scenario_object_alone():
    scenario = load_scenario(None, {"towns": 2, "firms_per_town": 5})
    model = TownModel(scenario, rng=1)
    assert model.settings is scenario


# --- overrides by field name and dotted path -----------------------------------


def test_unique_field_names_map_to_dotted_paths():
    paths = leaf_paths()
    assert paths["towns"] == "province.towns"
    assert paths["funding"] == "government.funding"
    assert paths["legal_protection"] == "ip.legal_protection"
    assert len(set(paths.values())) == len(paths)
    for leaf, path in paths.items():
        assert path.rsplit(".", 1)[-1] == leaf


def test_overrides_by_name_and_by_path_are_the_same():
    by_name = load_scenario(None, {"towns": 7, "funding": 0.9, "schedule": "agents"})
    by_path = load_scenario(
        None,
        {"province.towns": 7, "government.funding": 0.9, "run.schedule": "agents"},
    )
    assert by_name == by_path
    assert by_name.province.towns == 7
    assert by_name.government.funding == 0.9
    assert by_name.run.schedule == "agents"


def test_model_keyword_overrides():
    model = TownModel(rng=1, towns=2, firms_per_town=6, **{"government.talent": 0.5})
    assert model.settings.province.towns == 2
    assert model.settings.government.talent == 0.5
    assert model.n_towns == 2
    assert int(model.firms.alive.sum()) == 12


def test_dotted_path_into_a_table():
    scenario = load_scenario(None, {"province.region_shares": {"east": 1.0}})
    assert scenario.province.region_shares == {"east": 1.0}


def test_dotted_override_of_one_table_entry_keeps_the_others():
    model = TownModel(
        rng=1, towns=2, firms_per_town=5, **{"economy.infrastructure_start.north": 0.3}
    )
    start = model.settings.economy.infrastructure_start
    assert start["north"] == 0.3
    assert set(start) == set(REGIONS)


def test_unknown_region_in_infrastructure_start_is_a_scenario_error():
    message = error_of({"economy": {"infrastructure_start": {"nort": 0.3}}})
    assert_names(message, ORIGIN, "infrastructure_start", "nort", "north")


def test_bad_override_fails_when_the_model_is_built():
    with pytest.raises(ScenarioError, match="firms_per_town"):
        TownModel(rng=1, firms_per_twn=5)


# --- validation messages -------------------------------------------------------


def test_unknown_key_names_origin_and_suggests_the_close_match():
    message = error_of({"province": {"tows": 4}})
    assert_names(message, ORIGIN, "'province.tows'", "unknown key")
    assert re.search(r"did you mean 'towns'\?", message)
    assert_names(message, "firms_per_town", "region_shares")  # what is allowed


def test_unknown_section_key():
    message = error_of({"goverment": {"talent": 0.5}})
    assert_names(message, ORIGIN, "goverment", "did you mean 'government'?")


def test_unknown_override_key_suggests_the_close_match():
    message = error_of({}, {"firms_per_twn": 3})
    assert_names(message, ORIGIN, "'firms_per_twn'", "did you mean 'firms_per_town'?")
    message = error_of({}, {"government.talnt": 0.5})
    assert_names(message, "government.talnt", "did you mean 'talent'?")


def test_unknown_key_far_from_any_name_has_no_hint():
    message = error_of({"province": {"zzzzqqq": 4}})
    assert_names(message, ORIGIN, "zzzzqqq", "unknown key")
    assert "did you mean" not in message


def test_wrong_type_names_key_value_and_type():
    message = error_of({"province": {"towns": "many"}})
    assert_names(message, ORIGIN, "'province.towns'", "'many'", "int")


def test_out_of_range_names_key_value_and_bounds():
    message = error_of({"province": {"towns": 0}})
    assert_names(message, ORIGIN, "'province.towns'", "= 0", ">= 1", "<= 5000")
    message = error_of({}, {"legal_protection": 1.5})
    assert_names(message, ORIGIN, "ip.legal_protection", "1.5", "<= 1")


def test_choice_names_the_allowed_values():
    message = error_of({"run": {"schedule": "fast"}})
    assert_names(message, ORIGIN, "run.schedule", "'fast'", "'vectorized'", "'agents'")


def test_list_of_wrong_length():
    message = error_of({"enterprise": {"innovation_p": [0.05, 0.02]}})
    assert_names(message, ORIGIN, "enterprise.innovation_p", "[0.05, 0.02]", "3")


def test_bad_item_of_a_list_names_its_position():
    message = error_of({"enterprise": {"upgrade_cost": [0.05, "x", 0.08]}})
    assert_names(message, ORIGIN, "enterprise.upgrade_cost.1", "'x'", "number")


def test_region_shares_must_sum_to_one():
    shares = {"pearl_river_delta": 0.5, "east": 0.25, "west": 0.125, "north": 0.0625}
    message = error_of({"province": {"region_shares": shares}})
    assert_names(message, ORIGIN, "province.region_shares", "add up to 1")


def test_region_shares_message_names_the_value():
    shares = {"pearl_river_delta": 0.5, "east": 0.25, "west": 0.125, "north": 0.0625}
    message = error_of({"province": {"region_shares": shares}})
    assert_names(message, *(repr(v) for v in shares.values()))


def test_unknown_region_names_the_allowed_ones():
    message = error_of({"province": {"region_shares": {"pearl": 1.0}}})
    assert_names(message, ORIGIN, "region_shares", "'pearl'", *REGIONS)


@pytest.mark.parametrize(
    "field",
    ["upgrade_cost", "talent_needed", "absorptive_needed", "infrastructure_needed"],
)
def test_per_level_requirements_must_not_decrease(field):
    falling = [0.05, 0.02, 0.08]
    message = error_of({"enterprise": {field: falling}})
    assert_names(message, ORIGIN, f"enterprise.{field}", str(falling), "not decrease")
    flat = [0.05, 0.05, 0.05]
    scenario = build_scenario({"enterprise": {field: flat}})
    assert getattr(scenario.enterprise, field) == flat


def test_initial_levels_must_sum_to_one():
    message = error_of({"enterprise": {"initial_levels": [0.5, 0.5, 0.5, 0.0]}})
    assert_names(message, ORIGIN, "enterprise.initial_levels", "[0.5, 0.5, 0.5", "1")


def test_years_in_order():
    message = error_of({"run": {"start_year": 2020, "end_year": 2020}})
    assert_names(message, ORIGIN, "end_year", "start_year")


def test_some_lever_weight_must_be_positive():
    zero = {"talent": 0, "funding": 0, "ip": 0, "platform": 0}
    message = error_of({"government": zero})
    assert_names(message, ORIGIN, "government", "lever weight")


def test_policy_change_errors_name_the_entry():
    message = error_of({"policy_changes": [{"year": 2020, "talnt": 0.3}]})
    assert_names(message, ORIGIN, "policy_changes.0.talnt", "did you mean 'talent'?")
    message = error_of({"policy_changes": [{"year": 2020, "talent": 3}]})
    assert_names(message, ORIGIN, "policy_changes.0.talent", "= 3")
    assert_names(message, "less than or equal to 1")


def test_misspelt_choice_suggests_the_close_one():
    message = error_of({"run": {"schedule": "agent"}})
    assert_names(message, ORIGIN, "run.schedule", "did you mean 'agents'?")


def test_a_missing_key_is_named_without_its_table():
    message = error_of({"policy_changes": [{"talent": 0.3}]})
    assert_names(message, ORIGIN, "'policy_changes.0.year'", "Field required")
    assert "'policy_changes.0.year' =" not in message


def test_section_given_a_scalar():
    message = error_of({"ip": 5})
    assert_names(message, ORIGIN, "'ip'", "= 5")


def test_every_error_is_reported():
    message = error_of({"province": {"towns": 0, "tows": 3}})
    assert len(message.splitlines()) == 2
    assert all(line.startswith(ORIGIN) for line in message.splitlines())


# --- policy schedule ---------------------------------------------------------


def test_policy_changes_apply_from_their_year_in_order():
    scenario = build_scenario(
        {
            "government": {"budget_share": 0.003, "talent": 0.2},
            "policy_changes": [
                {"year": 2025, "talent": 0.9},
                {"year": 2020, "talent": 0.5, "budget_share": 0.01},
            ],
        }
    )
    assert scenario.government_in(2019).talent == 0.2
    assert scenario.government_in(2020).talent == 0.5
    assert scenario.government_in(2024).budget_share == 0.01
    assert scenario.government_in(2030).talent == 0.9
    assert scenario.government_in(2030).budget_share == 0.01


# --- --set KEY=VALUE ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("province.towns=10", "province.towns", 10),
        ("funding=0.9", "funding", 0.9),
        ("schedule=agents", "schedule", "agents"),  # not TOML: kept as a string
        ('name="two words"', "name", "two words"),
        ("innovation_p=[0.1, 0.2, 0.3]", "innovation_p", [0.1, 0.2, 0.3]),
        (" allocation = adaptive ", "allocation", "adaptive"),
        ("a=b=c", "a", "b=c"),
        ("province.region_shares={east=1.0}", "province.region_shares", {"east": 1.0}),
    ],
)
def test_parse_assignment(text, key, value):
    assert parse_assignment(text) == (key, value)


@pytest.mark.parametrize("text", ["towns", "=5", " =5", ""])
def test_parse_assignment_needs_key_and_equals(text):
    with pytest.raises(ScenarioError, match="KEY=VALUE"):
        parse_assignment(text)


def test_assignments_feed_the_scenario():
    overrides = dict(
        parse_assignment(t) for t in ["towns=3", "schedule=agents", "funding=0.75"]
    )
    scenario = load_scenario(None, overrides)
    assert scenario.province.towns == 3
    assert scenario.run.schedule == "agents"
    assert scenario.government.funding == 0.75


def test_assignment_with_a_bad_value_is_explained():
    message = error_of({}, dict([parse_assignment("towns=lots")]))
    assert_names(message, ORIGIN, "province.towns", "'lots'", "int")


# --- files -------------------------------------------------------------------


def test_load_a_toml_file(tmp_path: Path):
    path = tmp_path / "mine.toml"
    path.write_text(
        'name = "mine"\n[province]\ntowns = 3\n[government]\nfunding = 0.7\n',
        encoding="utf-8",
    )
    scenario = load_scenario(path, {"firms_per_town": 9})
    assert scenario.name == "mine"
    assert scenario.province.towns == 3
    assert scenario.province.firms_per_town == 9
    assert scenario.government.funding == 0.7
    model = TownModel(str(path), rng=1, firms_per_town=5)
    assert model.n_towns == 3


def test_errors_in_a_file_name_the_file(tmp_path: Path):
    path = tmp_path / "bad.toml"
    path.write_text("[province]\ntows = 3\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert_names(str(caught.value), str(path), "province.tows", "did you mean")


def test_invalid_toml_names_the_file(tmp_path: Path):
    path = tmp_path / "broken.toml"
    path.write_text("[province\ntowns = \n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert_names(str(caught.value), str(path), "TOML")


def test_missing_file(tmp_path: Path):
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert_names(str(caught.value), str(path), "not found")


def test_unknown_scenario_name():
    with pytest.raises(ScenarioError, match="no such scenario"):
        load_scenario("surely_not_a_shipped_scenario_name")


def test_extends_must_be_a_name(tmp_path: Path):
    path = tmp_path / "ext.toml"
    path.write_text("extends = 3\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert_names(str(caught.value), "extends", "3")


# --- shipped scenarios ----------------------------------------------------------

SHIPPED = shipped_scenarios()
NAMED_IN_THE_README = (
    "adaptive",
    "balanced",
    "baseline",
    "funding",
    "guangdong",
    "ip",
    "platform",
    "talent",
)


def test_the_scenarios_the_readme_names_are_shipped():
    assert set(NAMED_IN_THE_README) <= set(SHIPPED), SHIPPED


@pytest.mark.parametrize("name", sorted(set(SHIPPED) | set(NAMED_IN_THE_README)))
def test_shipped_scenario_loads_and_runs_a_year(name):
    scenario = load_scenario(name)
    assert isinstance(scenario, Scenario)
    model = TownModel(name, rng=1, towns=2, firms_per_town=8)
    for _ in range(model.rates.steps_per_year):
        model.step()
    assert len(model.town_frame()) == 2 * 2


def test_a_file_can_extend_a_shipped_scenario(tmp_path: Path):
    path = tmp_path / "child.toml"
    path.write_text('extends = "talent"\n[province]\ntowns = 2\n', encoding="utf-8")
    child = load_scenario(path)
    parent = load_scenario("talent")
    assert child.province.towns == 2
    assert child.government == parent.government
    assert child.government != load_scenario(None).government


# --- extends chains --------------------------------------------------------------


def test_files_that_extend_each_other_in_a_circle_are_refused(tmp_path: Path):
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "a.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "a.toml")
    assert_names(str(caught.value), "'extends'", "a.toml -> b.toml -> a.toml")


def test_a_file_that_extends_itself_is_refused(tmp_path: Path):
    path = tmp_path / "self.toml"
    path.write_text('extends = "self.toml"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert_names(str(caught.value), str(path), "'extends'", "circle")


def test_a_relative_extends_is_found_beside_the_file(tmp_path: Path, monkeypatch):
    folder = tmp_path / "mine"
    (folder / "bases").mkdir(parents=True)
    (folder / "bases" / "base.toml").write_text(
        'extends = "talent"\n[province]\ntowns = 2\n', encoding="utf-8"
    )
    (folder / "child.toml").write_text(
        'extends = "bases/base.toml"\n[province]\nfirms_per_town = 9\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # not the file's folder
    child = load_scenario(folder / "child.toml")
    assert (child.province.towns, child.province.firms_per_town) == (2, 9)
    assert child.government == load_scenario("talent").government


@pytest.mark.parametrize(
    ("extends", "expected"),
    [
        ("missing.toml", ["file not found", "missing.toml"]),
        ("basline", ["no such shipped scenario", "did you mean 'baseline'"]),
    ],
)
def test_a_missing_extends_names_the_file_and_the_key(tmp_path, extends, expected):
    path = tmp_path / "child.toml"
    path.write_text(f'extends = "{extends}"\n', encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    key = f"key 'extends' = '{extends}'"
    assert_names(str(caught.value), str(path), key, *expected)


# --- numbers are numbers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"plan.gdp_target": float("inf")}, ["'plan.gdp_target'", "finite"]),
        ({"economy.productivity": float("nan")}, ["'economy.productivity'", "finite"]),
        ({"towns": True}, ["'province.towns'", "not true or false"]),
        ({"talent": True}, ["'government.talent'", "not true or false"]),
        ({"towns": "20"}, ["'province.towns'", "not the text '20'"]),
        (
            {"customized_fit": [0.3, 0.4, True, 1.2]},
            ["'economy.customized_fit'", "not true or false (at 2)"],
        ),
    ],
)
def test_infinite_boolean_and_textual_numbers_are_refused(overrides, expected):
    assert_names(error_of({}, overrides), *expected)


def test_whole_floats_are_still_read_as_whole_numbers():
    assert load_scenario(None, {"towns": 20.0}).province.towns == 20


def test_an_override_error_names_the_override():
    with pytest.raises(ScenarioError) as caught:
        load_scenario("talent", {"towns": -3}, overrides_origin="--set")
    message = str(caught.value)
    assert message.startswith("--set: key 'province.towns' = -3")
    assert "talent.toml" not in message
