"""The Guangdong scenario holds the published figures, and its calibration works."""

from __future__ import annotations

import numpy as np
import pytest

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
    """Every seed starts on the data: 2.77 trillion yuan, 9 and 141 towns.

    Only the agents within each town are drawn: the enterprises above
    designated size, to which the size tail is fitted on the mean of seeds 1
    to 4, stay within 5% of 30,000 for each seed.
    """
    s = load_scenario("guangdong")
    ratio = s.scale.gross_output_ratio
    starts = [calibrate.initial_state(s, seed) for seed in (1, 2)]
    for start in starts:
        assert start.town_output.sum() == pytest.approx(2.77e6, rel=1e-9)
        value = ratio * start.town_output
        assert (value >= 1e5).sum() == 9
        assert (value >= 1e4).sum() == 141
        above = calibrate.above_size_count([start], ratio, s.scale.firms_per_agent)
        assert abs(above / 30_000 - 1) < 0.05
    np.testing.assert_allclose(
        np.sort(starts[0].town_output), np.sort(starts[1].town_output), rtol=1e-9
    )
    assert not np.array_equal(starts[0].agent_output, starts[1].agent_output)


def test_the_shipped_scale_is_the_closed_form_one():
    """Nine towns above 100 bn and 141 above 10 bn fix spread and ratio."""
    spread = calibrate.town_spread()
    s = load_scenario("guangdong")
    assert s.province.town_size_spread == round(spread, 4)
    assert s.scale.gross_output_ratio == round(calibrate.gross_ratio(spread), 4)
    # the 9th and 10th largest towns' quantiles straddle 100 bn, ten times
    # the value between the 141st and 142nd
    big, large = (calibrate.quantile_between(k, 399) for k in (9, 141))
    assert np.exp(spread * (big - large)) == pytest.approx(10.0, rel=1e-12)


@pytest.fixture
def tiny_guangdong(tmp_path):
    """Guangdong's figures for 12 of its 399 towns: output and counts in share."""
    path = tmp_path / "guangdong12.toml"
    path.write_text(
        'extends = "guangdong"\nname = "guangdong12"\n[province]\n'
        f"towns = 12\nfirms_per_town = 250\nstart_output = {2.77e6 * 12 / 399}\n"
    )
    return path


def test_calibration_fits_the_size_tail_on_a_tiny_province(tiny_guangdong):
    result = calibrate.calibrate(load_scenario(tiny_guangdong), [1])
    spread = calibrate.town_spread()
    assert result.values["town_size_spread"] == round(spread, 4)
    assert result.values["gross_output_ratio"] == round(
        calibrate.gross_ratio(spread), 4
    )
    assert (
        calibrate.TAIL_BOUNDS[0] < result.values["size_tail"] < calibrate.TAIL_BOUNDS[1]
    )
    fit = result.fit
    row = fit.loc["enterprises above size"]
    assert row["target"] == pytest.approx(30_000 * 12 / 399)
    assert abs(row["seed 1"] / row["target"] - 1) < 0.01
    gdp = fit.loc["GDP, trillion yuan"]
    assert gdp["seed 1"] == pytest.approx(gdp["target"], rel=1e-9)


def test_calibration_script_runs_on_a_tiny_province(tiny_guangdong, tmp_path, capsys):
    out = tmp_path / "calibration.md"
    args = ["--scenario", str(tiny_guangdong), "--seeds", "1", "--out", str(out)]
    assert calibrate.main(args) == 0
    text = out.read_text()
    assert "| GDP, trillion yuan |" in text and "| `size_tail` |" in text
    assert "Calibration" in capsys.readouterr().out


def test_calibration_on_fewer_towns_starts_them_on_their_share(tmp_path):
    """--towns N starts the sample on N / 399 of the province's output.

    Started on the whole 2.77 trillion yuan, every agent was above designated
    size at any tail, and Brent's method found no sign change.
    """
    out = tmp_path / "calibration.md"
    args = ["--towns", "12", "--firms", "250", "--seeds", "1", "--out", str(out)]
    assert calibrate.main(args) == 0
    gdp = next(line for line in out.read_text().splitlines() if "GDP" in line)
    assert gdp.split("|")[2:4] == [" 0.08 ", " 0.08 "]  # target and seed 1


def test_apply_rewrites_only_the_calibrated_values(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text("[economy]\n# keep me\nsize_tail = 1.1  # note\nsize_min = 10\n")
    calibrate.apply(path, {"size_tail": 0.9, "size_min": 3.5})
    assert path.read_text() == (
        "[economy]\n# keep me\nsize_tail = 0.9  # note\nsize_min = 3.5\n"
    )
