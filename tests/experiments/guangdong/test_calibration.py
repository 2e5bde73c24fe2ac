"""The Guangdong scenario holds the published figures, and its calibration works."""

from __future__ import annotations

from experiments.guangdong import calibrate
from model import TownModel
from scenarios import load_scenario


def test_guangdong_scenario_holds_the_papers_figures():
    s = load_scenario("guangdong")
    assert s.province.towns == 399
    assert s.run.start_year == 2015
    assert s.plan.gdp_target == 4_000_000
    assert s.plan.coverage_target == 0.9
    assert abs(sum(s.province.region_shares.values()) - 1) < 1e-9
    assert s.scale.firms_per_agent >= 1 and s.scale.gross_output_ratio >= 1


def test_older_scenarios_keep_the_neutral_scale():
    s = load_scenario("baseline")
    assert s.scale.firms_per_agent == 1.0 and s.scale.gross_output_ratio == 1.0


def test_a_scaled_down_guangdong_run_works():
    model = TownModel("guangdong", rng=3, towns=5, firms_per_town=30, end_year=2017)
    towns = model.run().town_frame()
    assert sorted(towns["year"].unique()) == [2015, 2016, 2017]
    assert (towns["gdp"] > 0).all()


def test_calibrated_province_matches_the_figures_at_the_start():
    """Two seeds of the whole province at the start, against calibration targets.

    Tolerances: total output within 10% of 2.77 trillion yuan (seed spread in
    docs/calibration.md is about 5%); towns above 100 bn yuan of output value
    between 5 and 14 (target 9); above 10 bn between 120 and 165 (target 141).
    """
    s = load_scenario("guangdong")
    ratio = s.scale.gross_output_ratio
    for seed in (1, 2):
        start = calibrate.initial_state(s, seed)
        assert abs(start.town_output.sum() / 2.77e6 - 1) < 0.10
        value = ratio * start.town_output
        assert 5 <= (value >= 1e5).sum() <= 14
        assert 120 <= (value >= 1e4).sum() <= 165


def test_calibration_script_runs_on_a_tiny_province(tmp_path, capsys):
    out = tmp_path / "calibration.md"
    args = ["--towns", "12", "--firms", "20", "--seeds", "1", "--out", str(out)]
    assert calibrate.main(args) == 0
    text = out.read_text()
    assert "| GDP, trillion yuan |" in text and "size_tail" in text
    assert "Calibration" in capsys.readouterr().out


def test_apply_rewrites_only_the_calibrated_values(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("[economy]\n# keep me\nsize_tail = 1.1  # note\nsize_min = 10\n")
    calibrate.apply(path, {"size_tail": 0.9, "size_min": 3.5})
    assert path.read_text() == (
        "[economy]\n# keep me\nsize_tail = 0.9  # note\nsize_min = 3.5\n"
    )
