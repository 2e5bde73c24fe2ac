"""Sweeps that grow: more replications or samples reuse every finished run."""

from __future__ import annotations

import pandas as pd
import pytest
from sweep_files import write

from experiments.cli import main
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment

FACTORIAL = """
name = "grow"
model = "sweep_toys:flaky"
replications = {reps}
seeding = "{seeding}"
[levers]
x = {levels}
"""
SAMPLED = """
name = "grow_sampled"
model = "experiments.sweeps.toys:ishigami"
replications = 1
[design]
kind = "{kind}"
samples = {samples}
[uncertainties]
x1 = {{ range = [-3.14, 3.14] }}
x2 = {{ range = [-3.14, 3.14] }}
x3 = {{ range = [-3.14, 3.14] }}
"""


def sweep(path, out):
    return run_sweep(load_experiment(path), out, workers=1, progress=False)


def values(out) -> pd.DataFrame:
    runs = pd.read_parquet(out / "runs")
    runs = runs[runs["outcome"] == "y"]
    return runs.sort_values("run_id")[["run_id", "point", "replication", "value"]]


@pytest.mark.parametrize("seeding", ["independent", "common"])
def test_more_replications_reuse_every_finished_run(tmp_path, capsys, seeding):
    path = write(tmp_path, FACTORIAL.format(reps=2, seeding=seeding, levels=[0.1, 0.3]))
    out = tmp_path / "out"
    assert sweep(path, out).done == 4
    before = values(out)
    path.write_text(FACTORIAL.format(reps=3, seeding=seeding, levels=[0.1, 0.3]))
    grown = sweep(path, out)
    assert "growing" in capsys.readouterr().out
    assert (grown.done, grown.skipped) == (2, 4)  # only replication 2 of each point
    after = values(out)
    assert before.merge(after, on=list(before.columns)).shape[0] == 4  # untouched
    fresh = tmp_path / "fresh"
    sweep(path, fresh)
    pd.testing.assert_frame_equal(
        after.reset_index(drop=True), values(fresh).reset_index(drop=True)
    )
    assert main(["analyze", str(out)]) == 0
    assert "3 replications = 6 runs" in (out / "report" / "report.md").read_text()


def test_a_sobol_design_grows_and_a_latin_hypercube_is_refused(tmp_path, capsys):
    path = write(tmp_path, SAMPLED.format(kind="sobol", samples=8))
    out = tmp_path / "sobol"
    assert sweep(path, out).done == 8 * 5
    path.write_text(SAMPLED.format(kind="sobol", samples=16))
    grown = sweep(path, out)
    assert (grown.done, grown.skipped) == (16 * 5 - 8 * 5, 8 * 5)

    lhs = write(tmp_path, SAMPLED.format(kind="lhs", samples=8), "lhs.toml")
    assert main(["sweep", str(lhs), "--out", str(tmp_path / "lhs"), "--quiet"]) == 0
    lhs.write_text(SAMPLED.format(kind="lhs", samples=16))
    assert main(["sweep", str(lhs), "--out", str(tmp_path / "lhs"), "--quiet"]) == 2
    message = capsys.readouterr().err
    assert (
        "design.samples: a lhs design of 16 points does not begin with the 8" in message
    )


@pytest.mark.parametrize("seeding", ["independent", "common"])
def test_more_levels_reuse_every_finished_run_and_number_new_points_last(
    tmp_path, capsys, seeding
):
    path = write(tmp_path, FACTORIAL.format(reps=2, seeding=seeding, levels=[0.1, 0.5]))
    out = tmp_path / "out"
    sweep(path, out)
    before = values(out)
    path.write_text(FACTORIAL.format(reps=2, seeding=seeding, levels=[0.1, 0.3, 0.5]))
    grown = sweep(path, out)
    assert "levers.x.levels [0.1, 0.5] -> [0.1, 0.3, 0.5]" in capsys.readouterr().out
    assert (grown.done, grown.skipped) == (2, 4)
    after = values(out)
    assert before.merge(after, on=list(before.columns)).shape[0] == 4
    design = pd.read_parquet(out / "design.parquet")
    assert design["x"].tolist() == [0.1, 0.5, 0.3]  # the new point comes last
    assert sorted(after.loc[after["point"] == 2, "run_id"]) == sorted(
        set(after["run_id"]) - set(before["run_id"])
    )
    fresh = tmp_path / "fresh"
    sweep(path, fresh)  # the same runs, numbered in the file's order
    same = ["run_id", "replication", "value"]
    pd.testing.assert_frame_equal(
        after[same].reset_index(drop=True), values(fresh)[same].reset_index(drop=True)
    )
    assert sweep(path, out).done == 0  # and a rerun keeps the folder's numbering
    assert pd.read_parquet(out / "design.parquet")["x"].tolist() == [0.1, 0.5, 0.3]


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        ({"reps": 1}, "replications 2 -> 1: finished runs would be left out"),
        ({"levels": [0.1, 0.5]}, "no longer holds the finished point {'x': 0.3}"),
        ({"seeding": "common"}, "seeding independent -> common"),
    ],
)
def test_a_change_that_would_invalidate_runs_is_refused_naming_it(
    tmp_path, capsys, edit, expected
):
    settings = {"reps": 2, "seeding": "independent", "levels": [0.1, 0.3]}
    path = write(tmp_path, FACTORIAL.format(**settings))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 0
    path.write_text(FACTORIAL.format(**(settings | edit)))
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    message = capsys.readouterr().err
    assert expected in message, message
    assert message.count("\n") == 1


SPLIT = """
name = "grow_split"
model = "sweep_toys:split_budget"
replications = 1
[splits.budget]
keys = ["a", "b"]
step = {step}
[levers]
growth = [0.0]
"""


def test_a_finer_split_keeps_the_shares_already_run(tmp_path, capsys):
    path = write(tmp_path, SPLIT.format(step=0.5))
    out = tmp_path / "out"
    assert sweep(path, out).done == 3  # shares 0, 0.5, 1
    path.write_text(SPLIT.format(step=0.25))
    grown = sweep(path, out)
    assert "splits.budget.step 0.5 -> 0.25" in capsys.readouterr().out
    assert (grown.done, grown.skipped) == (2, 3)  # 0.25 and 0.75 are new
    design = pd.read_parquet(out / "design.parquet")
    assert design["a"].tolist() == [0.0, 0.5, 1.0, 0.25, 0.75]
