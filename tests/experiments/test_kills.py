"""Kills at many seeded instants: results stay whole, resume is exact, nothing lingers.

A single run replacing earlier results is killed (SIGKILL) at every one of its
file-system steps in turn, and at random instants; a sweep's driver alone is
killed at random instants, leaving its fork server and workers to the tether.
After each kill:

- the output place holds the complete old or the complete new results;
- running the same command again completes, with no duplicates and the same
  numbers as an uninterrupted run;
- no process of ours survives, and no socket folder is left behind.

Four instants of each kind run in every test session; `TOWNSIM_KILLS=50` runs
fifty of each.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_files import ROOT, TINY, survivors, tidy, write

import experiments.runs.single_run as single_run
from experiments.cli import main
from experiments.runs.single_run import recover
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment
from experiments.sweeps.results_store import check_folder

KILLS = int(os.environ.get("TOWNSIM_KILLS", "4"))
"""Random kill instants of each kind (`TOWNSIM_KILLS=50` for the long suite)."""
TABLES = ("series", "towns", "firms")
SMALL = ["--set", "towns=4", "--set", "firms_per_town=60", "--set", "end_year=2021"]
SWEEP = """
name = "killed"
replications = 2
root_seed = 9
{tiny}
[levers]
"government.talent" = [0.1, 0.3, 0.5, 0.7]
"government.ip" = [0.1, 0.4]
"""


def _command(out: Path, seed: int) -> list[str]:
    return ["run", "--quiet", "--seed", str(seed), "--out", str(out), *SMALL]


def _start(args: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "experiments.cli", *args],
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLES}


def _no_survivors(group: int) -> list[str]:
    deadline = time.monotonic() + 15
    while (left := survivors(group)) and time.monotonic() < deadline:
        time.sleep(0.05)
    if left:
        os.killpg(group, signal.SIGKILL)
    return left


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Complete old results (seed 1), new ones (seed 2), and a run's duration."""
    folder = tmp_path_factory.mktemp("runs")
    assert main(_command(folder / "old", 1)) == 0
    started = time.monotonic()
    process = _start(_command(folder / "new", 2))
    assert process.wait() == 0, process.stderr.read()
    return folder / "old", folder / "new", time.monotonic() - started


def _assert_old_or_new(out: Path, old: Path, new: Path) -> None:
    seed = json.loads((out / "manifest.json").read_text())["seed"]
    assert seed in (1, 2)
    expected = _tables(old if seed == 1 else new)
    for name, frame in _tables(out).items():
        pd.testing.assert_frame_equal(frame, expected[name])


def _assert_resumes(place: Path, out: Path, new: Path) -> None:
    assert main(_command(out, 2)) == 0
    assert [p.name for p in place.iterdir()] == ["out"]  # leftovers cleaned
    for name, frame in _tables(out).items():
        pd.testing.assert_frame_equal(frame, _tables(new)[name])


STEPS = ("exchange", "fsync_path", "sync_tree", "write_durably", "recover")
"""The file-system steps of writing results, each a place to be killed."""


def _killed_at(step: int, args: list[str], exchange: bool) -> int:
    """Run `townsim` in a forked child that kills itself at its `step`th step.

    Returns:
        The child's exit code, or minus the signal that ended it.
    """
    child = os.fork()
    if child == 0:  # the child: count steps, die at the chosen one
        count = [0]

        def crashing(function):
            def counted(*args, **kwargs):
                count[0] += 1
                if count[0] == step:
                    os.kill(os.getpid(), signal.SIGKILL)
                return function(*args, **kwargs)

            return counted

        try:
            for name in STEPS:
                setattr(single_run, name, crashing(getattr(single_run, name)))
            if not exchange:
                single_run.exchange = crashing(lambda first, second: False)
            single_run.shutil.rmtree = crashing(shutil.rmtree)
            Path.rename = crashing(Path.rename)
            Path.mkdir = crashing(Path.mkdir)
            sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115
            os._exit(main(args))
        except BaseException:
            os._exit(3)
    deadline = time.monotonic() + 60
    while not (ended := os.waitpid(child, os.WNOHANG))[0]:
        if time.monotonic() > deadline:  # a lock held by another thread at the fork
            os.kill(child, signal.SIGKILL)
            pytest.fail(f"the child killed at step {step} hung")
        time.sleep(0.01)
    return os.waitstatus_to_exitcode(ended[1])


@pytest.mark.filterwarnings(
    "ignore:This process .* is multi-threaded:DeprecationWarning"
)
@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two renames"])
def test_a_run_killed_at_each_step_of_replacing_results(tmp_path, runs, exchange):
    old, new, _ = runs
    step = 0
    while True:
        step += 1
        place = tmp_path / str(step)
        shutil.copytree(old, place / "out")
        out = place / "out"
        code = _killed_at(step, _command(out, 2), exchange)
        if not exchange and not out.exists():  # killed between the two renames
            assert "put back complete results" in recover(out)[0]
        _assert_old_or_new(out, old, new)
        _assert_resumes(place, out, new)
        if code == 0:
            break
        assert code == -signal.SIGKILL
    assert step >= 8  # every step of the write was reached, then a whole run


@pytest.mark.parametrize("seed", range(KILLS))
def test_a_run_killed_at_a_random_instant(tmp_path, runs, seed):
    old, new, seconds = runs
    out = tmp_path / "out"
    shutil.copytree(old, out)
    process = _start(_command(out, 2))
    time.sleep(random.Random(seed).uniform(0, seconds * 1.1))
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not _no_survivors(process.pid)
    _assert_old_or_new(out, old, new)
    _assert_resumes(tmp_path, out, new)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """The experiment, its uninterrupted results, and a sweep's duration."""
    folder = tmp_path_factory.mktemp("sweep")
    experiment = write(folder, SWEEP.format(tiny=TINY.format(end=2022)))
    started = time.monotonic()
    process = _start(
        [
            "sweep",
            str(experiment),
            "--workers",
            "2",
            "--out",
            str(folder / "whole"),
            "--quiet",
        ]
    )
    assert process.wait() == 0, process.stderr.read()
    return experiment, tidy(folder / "whole"), time.monotonic() - started


@pytest.mark.parametrize("seed", range(KILLS))
def test_a_sweep_whose_driver_is_killed_at_a_random_instant(
    tmp_path, sweep, seed, request
):
    experiment, whole, seconds = sweep
    sockets = Path(tempfile.mkdtemp(prefix="k", dir="/tmp"))  # short: sockets go here
    request.addfinalizer(lambda: shutil.rmtree(sockets, ignore_errors=True))
    out = tmp_path / "out"
    args = ["sweep", str(experiment), "--workers", "2", "--out", str(out), "--quiet"]
    process = _start(args, {**os.environ, "TMPDIR": str(sockets)})
    time.sleep(random.Random(seed).uniform(0, seconds * 1.1))
    os.kill(process.pid, signal.SIGKILL)  # the driver alone, not its group
    process.wait()
    assert not _no_survivors(process.pid)
    deadline = time.monotonic() + 10
    while list(sockets.glob("townsim-*/pymp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(sockets.glob("townsim-*/pymp-*"))
    for path in (out / "runs").glob("*.parquet") if (out / "runs").exists() else []:
        pd.read_parquet(path)  # every run file under its own name is whole
    summary = run_sweep(load_experiment(experiment), out, workers=1, progress=False)
    assert summary.complete and not check_folder(out).bad
    resumed = tidy(out)
    assert resumed.groupby("run_id").ngroups == 16
    assert not resumed.duplicated().any()
    pd.testing.assert_frame_equal(resumed, whole)
