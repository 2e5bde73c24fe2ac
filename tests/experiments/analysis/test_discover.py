"""Scenario discovery: `townsim analyze --discover` finds where runs of interest are."""

import re
import sys
import warnings

import pandas as pd
import pytest

from experiments.analysis.discover import parse_condition
from experiments.cli import main
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.experiment_file import ExperimentError
from experiments.sweeps.plan import load_experiment

CORNER = """
name = "corner"
model = "sweep_toys:corner"
replications = 1
root_seed = 3
[design]
kind = "lhs"
samples = 300
[uncertainties]
a = { range = [0.0, 1.0] }
[levers]
b = { range = [0.0, 1.0] }
"""


def needs_ema():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pytest.importorskip("ema_workbench")


@pytest.fixture(scope="module")
def corner_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corner")
    experiment = folder / "corner.toml"
    experiment.write_text(CORNER)
    out = folder / "out"
    summary = run_sweep(load_experiment(experiment), out, workers=1, progress=False)
    assert summary.complete
    return out


def test_prim_finds_the_corner_where_runs_of_interest_are(corner_sweep, tmp_path):
    needs_ema()
    args = ["analyze", str(corner_sweep), "--out", str(tmp_path)]
    assert main([*args, "--discover", "y > 0.5"]) == 0
    boxes = pd.read_csv(tmp_path / "discovery.csv")
    first = boxes[boxes["box"] == 1].set_index("factor")
    assert set(first.index) == {"a", "b"}
    assert first.loc["a", "role"] == "uncertainty"
    assert first.loc["b", "role"] == "lever"
    assert first.loc["a", "low"] == pytest.approx(0.6, abs=0.02)
    assert first.loc["b", "high"] == pytest.approx(0.4, abs=0.02)
    assert first["coverage"].iloc[0] > 0.9
    assert first["density"].iloc[0] > 0.9
    share = pd.read_csv(tmp_path / "per_run.csv")["y"].mean()
    runs = int(first["runs"].iloc[0])
    assert runs == pytest.approx(300 * share, rel=0.1)
    text = (tmp_path / "report.md").read_text()
    assert "## Scenario discovery: y > 0.5" in text
    assert f"### Box 1: {runs} runs" in text
    assert re.search(r"\| a \| uncertainty \| from 0\.(59|60)\d* \|", text)
    assert re.search(r"\| b \| lever \| up to 0\.(39|40)\d* \|", text)
    trajectory = pd.read_csv(tmp_path / "discovery_trajectory.csv")
    assert trajectory["coverage"].iloc[0] == 1.0
    assert trajectory["mass"].is_monotonic_decreasing


def test_a_condition_no_run_meets_is_said_in_words(corner_sweep, tmp_path):
    needs_ema()
    args = ["analyze", str(corner_sweep), "--out", str(tmp_path)]
    assert main([*args, "--discover", "y >= 2"]) == 0
    text = (tmp_path / "report.md").read_text()
    assert "No run has `y >= 2`: there is nothing to discover." in text
    assert pd.read_csv(tmp_path / "discovery.csv").empty


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("y >> 1", ["'y >> 1'", "not a condition", '"OUTCOME < X"']),
        ("y", ["'y'", "not a condition", "<=, >="]),
        ("y < lots", ["'lots' is not a finite number", '"OUTCOME < X"']),
        ("y < inf", ["'inf' is not a finite number"]),
    ],
)
def test_malformed_conditions_exit_2_with_one_line(
    corner_sweep, capsys, condition, expected
):
    assert main(["analyze", str(corner_sweep), "--discover", condition]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    for part in expected:
        assert part in error


def test_an_unknown_outcome_exits_2_naming_the_outcomes_there_are(corner_sweep, capsys):
    needs_ema()
    assert main(["analyze", str(corner_sweep), "--discover", "gdp@2035 < 1"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "'gdp@2035' is not a per-run outcome of this sweep; allowed: y" in error


def test_without_the_ema_workbench_one_line_says_how_to_install_it(
    corner_sweep, capsys, monkeypatch
):
    for name in ("ema_workbench", "ema_workbench.analysis"):
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["analyze", str(corner_sweep), "--discover", "y > 0.5"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "pip install 'townsim[ema]'" in error


@pytest.mark.parametrize(
    ("text", "outcome", "operator", "threshold"),
    [
        ("gdp@2035 < 5000", "gdp@2035", "<", 5000.0),
        ("share_dim3plus@2035>=0.5", "share_dim3plus@2035", ">=", 0.5),
        ("  first_year_dim3 <= 2030 ", "first_year_dim3", "<=", 2030.0),
        ("gdp_growth > -1e-3", "gdp_growth", ">", -0.001),
    ],
)
def test_conditions_read_with_or_without_spaces(text, outcome, operator, threshold):
    condition = parse_condition(text)
    assert (condition.outcome, condition.operator) == (outcome, operator)
    assert condition.threshold == threshold


def test_a_condition_is_an_error_of_the_input():
    with pytest.raises(ExperimentError, match="not a condition"):
        parse_condition("gdp = 5")
