"""Running searches on toy models: the front, determinism, executors, resume."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from sweep_files import ROOT, write

from experiments.cli import main
from experiments.optimize.front import figures
from experiments.optimize.problem import load_problem
from experiments.optimize.search import run_search

TOY = """
name = "toy"
model = "{model}"
scenarios = 3
seeds = 2
root_seed = 3
[levers]
effort = {{ range = [0.0, 1.0] }}
spread = [0.0, 0.5, 1.0]
[uncertainties]
pressure = {{ range = [0.5, 1.5] }}
[objectives.gain]
outcome = "gain"
direction = "max"
robustness = "percentile"
percentile = 10
[objectives.cost]
outcome = "cost"
direction = "min"
robustness = "regret"
[algorithm]
population = {population}
generations = {generations}
seed = 5
"""


def toy(tmp_path, model="experiments.sweeps.toys:tradeoff", population=8, gens=4):
    text = TOY.format(model=model, population=population, generations=gens)
    return write(tmp_path, text, "toy.toml")


def search_table(path, out, **options):
    problem = load_problem(path)
    archive, summary = run_search(problem, out, progress=False, **options)
    return figures(problem, archive), summary


@pytest.fixture(scope="module")
def one_worker(tmp_path_factory):
    folder = tmp_path_factory.mktemp("toy")
    table, summary = search_table(toy(folder), folder / "one", workers=1)
    return folder, table, summary


def test_a_toy_search_writes_its_front_as_table_chart_and_words(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["optimize", str(toy(tmp_path)), "--out", str(out), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "4 generations" in said and "0 failed" in said
    front = pd.read_csv(out / "front.csv")
    candidates = pd.read_csv(out / "candidates.csv")
    assert 2 <= len(front) < len(candidates)
    assert {"effort", "spread", "gain", "gain:mean", "cost:worst"} <= set(front)
    # Spread only costs: a candidate with spread is on the front only where no
    # candidate without spread reaches its effort.
    assert (front["spread"] == 0.0).any() and (candidates["spread"] > 0).any()
    lean = candidates.loc[candidates["spread"] == 0.0, "effort"].max()
    assert (front.loc[front["spread"] > 0, "effort"] > lean).all()
    # On a front of two objectives, more gain costs more.
    ordered = front.sort_values("cost")
    assert ordered["gain"].is_monotonic_increasing
    assert (out / "front.png").stat().st_size > 10_000
    report = (out / "report.md").read_text()
    assert f"{len(candidates)} distinct candidates were evaluated" in report
    assert "3 scenarios x 2 seeds = 6 runs" in report
    assert "Compromise" in report and "Best on gain" in report
    assert "largest regret in cost" in report
    assert len(list((out / "runs").glob("*.parquet"))) == 6 * len(candidates)


def test_the_same_file_gives_the_same_front_on_one_and_two_workers(
    one_worker, tmp_path
):
    folder, table, _ = one_worker
    two, _ = search_table(toy(folder), tmp_path / "two", workers=2)
    pd.testing.assert_frame_equal(two, table)


def test_a_dask_cluster_gives_the_same_front_as_the_process_pool(one_worker, tmp_path):
    from distributed import LocalCluster

    folder, table, _ = one_worker
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        found, _ = search_table(toy(folder), tmp_path / "dask", scheduler=cluster)
    pd.testing.assert_frame_equal(found, table)


def test_a_rerun_runs_nothing_and_finds_the_same_front(one_worker):
    folder, table, first = one_worker
    again, summary = search_table(toy(folder), folder / "one", workers=1)
    assert summary.runs.done == 0
    assert summary.runs.skipped == first.runs.skipped + first.runs.done
    pd.testing.assert_frame_equal(again, table)


def test_more_generations_continue_where_the_search_stopped(one_worker):
    folder, table, _ = one_worker
    longer, summary = search_table(toy(folder, gens=5), folder / "one", workers=1)
    known = longer[longer["candidate"].isin(table["candidate"])]
    assert len(known) == len(table)
    assert summary.runs.done == 6 * (len(longer) - len(table))


def test_nsga3_searches_with_reference_directions_that_fit_the_population(tmp_path):
    path = toy(tmp_path)
    path.write_text(path.read_text().replace("seed = 5", 'seed = 5\nkind = "nsga3"'))
    table, summary = search_table(path, tmp_path / "out", workers=1)
    assert summary.generations == 4 and len(table) > 8
    front = table[table["on_front"]]
    assert (front["spread"] == 0.0).any()
    # Spread only costs: a candidate with spread is on the front only where no
    # candidate without spread reaches its effort.
    lean = table.loc[table["spread"] == 0.0, "effort"].max()
    assert (front.loc[front["spread"] > 0, "effort"] > lean).all()


def test_candidates_with_a_failed_run_stay_off_the_front(tmp_path):
    table, summary = search_table(
        toy(tmp_path, model="sweep_toys:fragile_tradeoff"), tmp_path / "out", workers=1
    )
    broken = table["failed_runs"] > 0
    assert broken.any() and (table.loc[broken, "effort"] > 0.8).all()
    assert not table.loc[broken, "on_front"].any()
    assert table["on_front"].any()
    assert summary.runs.failed == 6 * broken.sum()


def _start(path, out) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'tests'}"}
    command = [sys.executable, "-m", "experiments.cli", "optimize", str(path)]
    return subprocess.Popen(
        [*command, "--workers", "1", "--out", str(out), "--quiet"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_runs(out, count, process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        runs = out / "runs"
        if runs.exists() and len(list(runs.glob("*.parquet"))) >= count:
            return
        time.sleep(0.02)
    raise AssertionError("the search did not get going")


@pytest.mark.slow
def test_a_search_killed_midway_resumes_to_the_same_front(tmp_path):
    path = toy(tmp_path, model="sweep_toys:slow_tradeoff", population=6, gens=3)
    out = tmp_path / "killed"
    process = _start(path, out)
    _wait_for_runs(out, 40, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = len(list((out / "runs").glob("*.parquet")))
    assert before >= 40, "the kill came too early"

    assert main(["optimize", str(path), "--out", str(out), "--quiet"]) == 0
    resumed = pd.read_csv(out / "candidates.csv")
    assert before < 6 * len(resumed), "the kill came too late to test anything"
    assert not resumed["candidate"].duplicated().any()
    problem = load_problem(path)
    levers = resumed[["effort", "spread"]].to_dict("records")
    expected = {s.run_id for lever in levers for s in problem.specs(lever)}
    assert {p.stem for p in (out / "runs").glob("*.parquet")} == expected
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert sessions[-1]["done"] == len(expected) - before

    main(["optimize", str(path), "--out", str(tmp_path / "whole"), "--quiet"])
    whole = pd.read_csv(tmp_path / "whole" / "front.csv")
    pd.testing.assert_frame_equal(pd.read_csv(out / "front.csv"), whole)


def test_an_outcome_a_function_model_does_not_return_exits_2_naming_it(
    tmp_path, capsys
):
    path = toy(tmp_path, population=4, gens=1)
    path.write_text(path.read_text().replace('outcome = "gain"', 'outcome = "gian"'))
    command = ["optimize", str(path), "--out", str(tmp_path / "out"), "--quiet"]
    assert main([*command, "--workers", "1"]) == 2
    message = capsys.readouterr().err
    assert "'objectives.gain.outcome' = 'gian'" in message
    assert "they have: cost, gain" in message


def test_the_search_driver_does_not_import_the_model():
    code = (
        "import sys\n"
        "from experiments.optimize.problem import load_problem\n"
        "from experiments.optimize.search import make_algorithm, run_search\n"
        "problem = load_problem('experiments/optimize_budget.toml')\n"
        "make_algorithm(problem)\n"
        "print(sorted(m for m in ('mesa', 'model') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]", result.stderr
