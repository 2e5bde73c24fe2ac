"""Sweeps: designs, seeds, bad experiment files, resume after a kill, determinism."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment, run_seed

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "experiments" / "smoke.toml"
TINY = """
[set]
"province.towns" = 3
"province.firms_per_town" = 25
"run.end_year" = {end}
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def tidy(folder: Path) -> pd.DataFrame:
    frame = pd.read_parquet(folder / "runs")
    keys = ["run_id", "outcome", "year", "town"]
    return frame.sort_values(keys).reset_index(drop=True)


# --- Designs and seeds ----------------------------------------------------------


def test_smoke_is_a_16_run_factorial_with_two_replications():
    plan = load_experiment(SMOKE)
    assert plan.runs == 16
    assert plan.experiment.replications >= 2
    specs = list(plan.specs())
    assert len({s.run_id for s in specs}) == 16
    assert len({s.seed for s in specs}) == 16
    assert [s.run_id for s in load_experiment(SMOKE).specs()] == [
        s.run_id for s in specs
    ]


@pytest.mark.parametrize(
    ("design", "rows"),
    [
        ('kind = "lhs"\nsamples = 20', 20),
        ('kind = "sobol"\nsamples = 16', 16 * (2 + 2)),
        ('kind = "sobol"\nsamples = 16\nsecond_order = true', 16 * (2 * 2 + 2)),
        ('kind = "morris"\nsamples = 5', 5 * (2 + 1)),
    ],
)
def test_sampled_designs_have_the_expected_points_within_bounds(tmp_path, design, rows):
    path = write(
        tmp_path,
        f"""
name = "d"
root_seed = 3
{TINY.format(end=2018)}
[design]
{design}
[levers]
"government.talent" = {{ range = [0.1, 0.9] }}
[uncertainties]
"province.towns" = {{ range = [2, 6] }}
""",
    )
    plan = load_experiment(path)
    assert plan.points == rows
    talent = np.array([p["government.talent"] for p in plan.values])
    towns = [p["province.towns"] for p in plan.values]
    assert talent.min() >= 0.1 and talent.max() <= 0.9
    assert all(isinstance(t, int) and 2 <= t <= 6 for t in towns)
    again = load_experiment(path)
    assert again.values == plan.values


def test_a_budget_split_enumerates_every_share_on_the_grid(tmp_path):
    path = write(
        tmp_path,
        f"""
name = "split"
{TINY.format(end=2018)}
[splits.budget]
keys = ["government.talent", "government.funding", "government.ip",
        "government.platform"]
step = 0.25
[levers]
"government.budget_share" = [0.003, 0.006]
""",
    )
    plan = load_experiment(path)
    assert plan.points == 35 * 2  # C(4 + 3, 3) compositions of 4 quarters
    for point in plan.values:
        shares = [
            point[f"government.{k}"] for k in ("talent", "funding", "ip", "platform")
        ]
        assert sum(shares) == pytest.approx(1.0)


def test_seeds_come_from_the_root_seed_and_common_seeds_repeat_across_points():
    assert run_seed(1, 0, 0, "independent") != run_seed(1, 1, 0, "independent")
    assert run_seed(1, 0, 0, "common") == run_seed(1, 7, 0, "common")
    assert run_seed(1, 0, 0, "common") != run_seed(1, 0, 1, "common")
    assert run_seed(1, 3, 2, "independent") == run_seed(1, 3, 2, "independent")
    assert 0 <= run_seed(2**62, 5, 5, "independent") < 2**63


def test_the_catalogue_measures_levels_knowledge_flows_and_protection():
    from experiments.sweeps.outcomes import measure
    from model import TownModel

    model = TownModel("ip", rng=3, towns=3, firms_per_town=30, end_year=2019).run()
    towns = model.town_frame()
    names = ["mean_firm_level", "knowledge_shared", "ip_protection"]
    rows = measure(towns, [*names, "total_knowledge_leaked"], years=[2019])
    value = rows.set_index("outcome")["value"]
    alive = model.firms.alive
    assert value["mean_firm_level"] == model.firms.level[alive].mean()
    last = towns[towns["year"] == 2019]
    assert value["knowledge_shared"] == pytest.approx(last["shared"].sum())
    assert value["ip_protection"] == pytest.approx(last["ip_protection"].mean())
    assert value["total_knowledge_leaked"] == pytest.approx(towns["leaked"].sum())


# --- Bad experiment files -------------------------------------------------------------

NAME = 'name = "x"\n'
LEVER = '[levers]\n"government.talent" = [0.1]\n'
RANGE = '[levers]\n"government.talent" = { range = [0, 1] }\n'
BAD = [
    (NAME + "desing = {}\n" + LEVER, ["'desing'", "did you mean 'design'"]),
    (
        NAME + '[design]\nkind = "sobel"\nsamples = 8\n' + RANGE,
        ["'design.kind'", "'sobel'", "sobol"],
    ),
    (
        NAME + '[levers]\n"government.talnt" = [0.1, 0.2]',
        ["'government.talnt'", "did you mean 'talent'"],
    ),
    (
        NAME + '[levers]\n"government.talent" = [0.1, 2.0]',
        ["'government.talent'", "2.0", "allowed", "<= 1"],
    ),
    (
        NAME + '[design]\nkind = "sobol"\nsamples = 10\n' + RANGE,
        ["'design'", "power of 2"],
    ),
    (
        NAME + '[design]\nkind = "lhs"\nsamples = 4\n[splits.b]\n'
        'keys = ["government.talent", "government.ip"]',
        ["splits need design.kind = 'factorial'"],
    ),
    (
        NAME + '[levers]\n"government.talent" = { range = [0.1, 0.5] }',
        ["'levers.government.talent'", "steps"],
    ),
    (NAME + "replications = 0\n" + LEVER, ["'replications'", "0", ">= 1"]),
    (NAME + 'outcomes = ["gpd"]\n' + LEVER, ["'gpd'", "did you mean 'gdp'"]),
    (
        NAME + "years = [2050]\n" + LEVER,
        ["'years'", "2050", "allowed: 2016 to 2035"],
    ),
    (
        NAME + '[set]\n"province.towns" = -1\n' + LEVER,
        ["'province.towns'", "-1", ">= 1"],
    ),
    (NAME + "[levers\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_experiment_files_exit_2_naming_file_key_value_and_what_is_allowed(
    tmp_path, capsys, text, expected
):
    path = write(tmp_path, text, "bad.toml")
    assert main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    message = capsys.readouterr().err
    assert message.startswith("townsim: error: ")
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)
    assert not (tmp_path / "out").exists()


def test_a_missing_experiment_file_exits_2(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_a_folder_of_another_experiment_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text(json.dumps({"fingerprint": "other"}))
    assert main(["sweep", str(SMOKE), "--out", str(out), "--quiet"]) == 2
    assert "another experiment" in capsys.readouterr().err


# --- Running: determinism, resume, failures ------------------------------------------


@pytest.fixture(scope="module")
def smoke_one_worker(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke") / "one"
    summary = run_sweep(load_experiment(SMOKE), out, workers=1, progress=False)
    assert summary.done == 16 and summary.complete
    return out


def test_two_workers_give_the_same_results_as_one(smoke_one_worker, tmp_path):
    out = tmp_path / "two"
    run_sweep(load_experiment(SMOKE), out, workers=2, progress=False)
    pd.testing.assert_frame_equal(tidy(out), tidy(smoke_one_worker))
    assert len(list((out / "runs").glob("*.parquet"))) == 16


def test_a_dask_cluster_gives_the_same_results_as_the_process_pool(
    smoke_one_worker, tmp_path
):
    from distributed import LocalCluster

    out = tmp_path / "dask"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        run_sweep(load_experiment(SMOKE), out, scheduler=cluster, progress=False)
    pd.testing.assert_frame_equal(tidy(out), tidy(smoke_one_worker))


def test_results_read_as_one_table_with_pandas_and_duckdb(smoke_one_worker):
    import duckdb

    frame = pd.read_parquet(smoke_one_worker / "runs")
    assert frame["run_id"].nunique() == 16
    assert {
        "seed",
        "point",
        "replication",
        "government.talent",
        "outcome",
        "value",
    } <= set(frame.columns)
    glob = str(smoke_one_worker / "runs" / "*.parquet")
    count = duckdb.sql(f"select count(*) from '{glob}'").fetchall()[0][0]
    assert count == len(frame)
    seeds = duckdb.sql(f"select count(distinct seed) from '{glob}'").fetchall()[0][0]
    assert seeds == 16
    manifest = json.loads((smoke_one_worker / "manifest.json").read_text())
    assert manifest["design"]["root_seed"] == 2024
    assert manifest["code_version"] and "SALib" in manifest["packages"]


def test_a_rerun_skips_finished_runs(smoke_one_worker, capsys):
    assert main(["sweep", str(SMOKE), "--out", str(smoke_one_worker), "--quiet"]) == 0
    assert "0 runs done now, 16 found done" in capsys.readouterr().out


def _start(experiment: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "experiments.cli",
            "sweep",
            str(experiment),
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _wait_for_runs(out: Path, count: int, process: subprocess.Popen) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = (
            len(list((out / "runs").glob("*.parquet")))
            if (out / "runs").exists()
            else 0
        )
        if found >= count:
            return found
        time.sleep(0.02)
    raise AssertionError("the sweep did not get going")


SLOW = """
name = "slow"
replications = 2
root_seed = 5
{tiny}
[levers]
"government.talent" = [0.1, 0.3, 0.5, 0.7]
"government.ip" = [0.1, 0.4]
"""


def test_a_sweep_killed_with_sigkill_resumes_to_exactly_the_full_set(tmp_path):
    experiment = write(tmp_path, SLOW.format(tiny=TINY.format(end=2024)))
    out = tmp_path / "out"
    process = _start(experiment, out)
    _wait_for_runs(out, 2, process)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL
    before = len(list((out / "runs").glob("*.parquet")))
    assert 2 <= before < 16, "the kill came too late to test anything"

    resume = ["sweep", str(experiment), "--out", str(out), "--quiet", "--workers", "2"]
    assert main(resume) == 0
    expected = {spec.run_id for spec in load_experiment(experiment).specs()}
    files = {p.stem for p in (out / "runs").iterdir()}
    assert files == expected
    frame = tidy(out)
    assert not frame.duplicated(["run_id", "outcome", "year", "town"]).any()
    assert frame["run_id"].nunique() == 16
    sessions = json.loads((out / "manifest.json").read_text())["sessions"]
    assert sessions[-1]["skipped"] == before
    assert sessions[-1]["done"] == 16 - before


def test_ctrl_c_stops_cleanly_and_a_rerun_finishes(tmp_path):
    experiment = write(tmp_path, SLOW.format(tiny=TINY.format(end=2024)))
    out = tmp_path / "out"
    process = _start(experiment, out)
    _wait_for_runs(out, 1, process)
    os.killpg(process.pid, signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err.decode()
    assert "run the same command to resume" in err.decode()
    assert not list((out / "runs").glob(".*.tmp"))
    resume = ["sweep", str(experiment), "--out", str(out), "--quiet", "--workers", "2"]
    assert main(resume) == 0
    assert len(list((out / "runs").glob("*.parquet"))) == 16


FLAKY = """
name = "flaky"
model = "sweep_toys:flaky"
replications = 2
[levers]
x = [0.1, 0.5, 0.9]
"""


def test_a_run_that_raises_is_recorded_as_failed_and_the_others_finish(
    tmp_path, capsys
):
    experiment = write(tmp_path, FLAKY)
    out = tmp_path / "out"
    assert (
        main(["sweep", str(experiment), "--out", str(out), "--workers", "2", "--quiet"])
        == 1
    )
    printed = capsys.readouterr().out
    assert "2 failed" in printed
    runs = pd.read_parquet(out / "runs")
    assert runs["run_id"].nunique() == 4
    assert set(runs["x"]) == {0.1, 0.5}
    failures = pd.read_parquet(out / "failures")
    assert len(failures) == 2
    assert set(failures["x"]) == {0.9}
    assert all("ValueError: x = 0.9 is too large" in e for e in failures["error"])

    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 1
    assert "0 runs done now, 4 found done, 2 failed" in capsys.readouterr().out
    assert (
        main(["sweep", str(experiment), "--out", str(out), "--quiet", "--retry-failed"])
        == 1
    )
    assert len(list((out / "failures").glob("*.parquet"))) == 2
    assert len(list((out / "runs").glob("*.parquet"))) == 4


@pytest.mark.parametrize(
    "name", ["smoke", "lever_importance", "budget_split", "ip_tradeoff"]
)
def test_the_example_experiments_are_valid(name):
    plan = load_experiment(ROOT / "experiments" / f"{name}.toml")
    assert plan.runs >= 16


BY_TOWN = """
name = "by_town"
model = "sweep_toys:by_town"
replications = 2
[set]
scale = 10.0
towns = 3
[levers]
x = [0.1, 0.2]
"""


def test_a_function_model_gets_the_set_arguments_and_may_return_its_own_rows(
    tmp_path,
):
    out = tmp_path / "out"
    summary = run_sweep(
        load_experiment(write(tmp_path, BY_TOWN)), out, workers=1, progress=False
    )
    assert summary.done == 4 and summary.complete
    runs = pd.read_parquet(out / "runs")
    y = runs[runs["outcome"] == "y"].set_index("x")["value"]
    assert y.loc[0.2].tolist() == pytest.approx([2.0, 2.0])
    towns = runs[(runs["outcome"] == "per_town") & (runs["x"] == 0.1)]
    assert sorted(towns["town"].unique()) == [0, 1, 2]
    assert towns.groupby("town")["value"].first().tolist() == pytest.approx([0, 1, 2])
    other = load_experiment(write(tmp_path, BY_TOWN.replace("10.0", "5.0"), "b.toml"))
    ids = {s.run_id for s in load_experiment(tmp_path / "exp.toml").specs()}
    assert ids.isdisjoint(s.run_id for s in other.specs())


def test_a_function_argument_cannot_be_both_set_and_varied(tmp_path, capsys):
    text = BY_TOWN.replace("towns = 3", "towns = 3\nx = 1")
    assert main(["sweep", str(write(tmp_path, text)), "--dry-run"]) == 2
    assert "'set.x': also varied" in capsys.readouterr().err


CRASH = """
name = "crash"
model = "sweep_toys:crash"
replications = 2
[levers]
x = [0.1, 0.3, 0.5, 0.9]
"""


def test_a_run_that_kills_its_worker_is_recorded_as_failed_and_the_others_finish(
    tmp_path,
):
    experiment = write(tmp_path, CRASH)
    out = tmp_path / "out"
    summary = run_sweep(load_experiment(experiment), out, workers=2, progress=False)
    assert summary.done == 6 and summary.failed == 2
    failures = pd.read_parquet(out / "failures")
    assert set(failures["x"]) == {0.9}
    assert all("worker process died" in e for e in failures["error"])
    assert set(pd.read_parquet(out / "runs")["x"]) == {0.1, 0.3, 0.5}


def test_the_sweep_driver_does_not_import_the_model_or_plotting():
    code = (
        "import sys\n"
        "from experiments.cli import build_parser\n"
        "from experiments.sweeps.plan import load_experiment\n"
        "from experiments.sweeps.driver import run_sweep\n"
        "from experiments.sweeps.worker import task_of\n"
        f"task_of(load_experiment({str(SMOKE)!r}))\n"
        "print(sorted(m for m in ('mesa', 'model', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_a_dry_run_says_what_would_run_and_runs_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(SMOKE), "--out", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "factorial design, 8 points x 2 replications = 16 runs" in printed
    assert "government.talent: levels [0.1, 0.6]" in printed
    assert not out.exists()
