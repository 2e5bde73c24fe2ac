"""Running sweeps: determinism over workers and executors, resume, failures."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_files import BY_TOWN, ROOT, SMOKE, TINY, survivors, tidy, write

from experiments.cli import main
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment


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


def _start(
    experiment: Path, out: Path, env: dict | None = None, workers: int = 1
) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "experiments.cli",
            "sweep",
            str(experiment),
            "--workers",
            str(workers),
            "--out",
            str(out),
            "--quiet",
        ],
        cwd=ROOT,
        env=env,
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


def test_a_killed_driver_takes_its_fork_server_workers_and_socket_folder_along(
    tmp_path, request
):
    experiment = write(tmp_path, SLOW.format(tiny=TINY.format(end=2024)))
    tmp = Path(tempfile.mkdtemp(prefix="t", dir="/tmp"))  # short: sockets live here
    request.addfinalizer(lambda: shutil.rmtree(tmp, ignore_errors=True))
    env = {**os.environ, "TMPDIR": str(tmp)}
    process = _start(experiment, tmp_path / "out", env, workers=2)
    _wait_for_runs(tmp_path / "out", 1, process)
    # driver, resource tracker, fork server, two workers (and, at times, a
    # worker being forked to replace one)
    before = survivors(process.pid)
    assert len(before) >= 5, before
    assert list(tmp.glob("townsim-*/pymp-*"))
    os.kill(process.pid, signal.SIGKILL)  # the driver alone, not its group
    process.wait()
    deadline = time.monotonic() + 10
    while survivors(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = survivors(process.pid)
    if left:
        os.killpg(process.pid, signal.SIGKILL)
    assert not left, f"outlived their driver: {left}"
    while list(tmp.glob("townsim-*/pymp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(tmp.glob("townsim-*/pymp-*"))


def test_a_temporary_folder_too_long_for_a_socket_is_passed_over(tmp_path):
    experiment = write(tmp_path, SLOW.format(tiny=TINY.format(end=2018)))
    tmp = tmp_path / ("long" * 20)  # with pytest's own, far past a socket's 107 bytes
    tmp.mkdir()
    process = _start(
        experiment, tmp_path / "out", {**os.environ, "TMPDIR": str(tmp)}, 2
    )
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()


def test_ctrl_c_stops_cleanly_and_a_rerun_finishes(tmp_path):
    experiment = write(tmp_path, SLOW.format(tiny=TINY.format(end=2030)))
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
