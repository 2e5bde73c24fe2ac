"""Bad input and faults: exit 2 or 1 with one line, before anything is simulated.

Each case checks the exit code, that stderr is one line naming the problem
(never a traceback), and what is left on disk.
"""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from sweep_files import ROOT, TINY, unwritable, write

import experiments.cli
import experiments.runs.single_run as single_run
from experiments.cli import main

SMALL = ["--set", "towns=3", "--set", "firms_per_town=20", "--set", "end_year=2018"]
HUGE = ["--set", "towns=5000", "--set", "firms_per_town=100000"]


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _simulating_fails(monkeypatch):
    def refused(*args, **kwargs):
        raise AssertionError("simulated before the checks were done")

    monkeypatch.setattr(single_run, "run_scenario", refused)


def test_a_negative_seed_is_bad_input(tmp_path, capsys, monkeypatch):
    _simulating_fails(monkeypatch)
    out = tmp_path / "out"
    assert main(["run", "--seed", "-1", "--quiet", "--out", str(out), *SMALL]) == 2
    assert "--seed -1: allowed: a whole number, 0 or more" in one_line(capsys)
    assert not out.exists()


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        ("file/out", "lies under"),
        ("file", "is a file"),
        (".", "is the folder you are in"),
        ("..", "is the folder you are in"),
    ],
)
def test_an_unusable_output_place_is_refused_before_simulating(
    tmp_path, capsys, monkeypatch, place, expected
):
    _simulating_fails(monkeypatch)
    (tmp_path / "file").write_text("mine")
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here" if place in (".", "..") else tmp_path)
    assert main(["run", "--quiet", "--out", place, *SMALL]) == 2
    line = one_line(capsys)
    assert line.startswith(f"townsim: error: {place}: ") and expected in line
    assert (tmp_path / "file").read_text() == "mine"


def test_an_unwritable_parent_is_refused_before_simulating(
    tmp_path, capsys, monkeypatch
):
    _simulating_fails(monkeypatch)
    place = unwritable(tmp_path)
    assert main(["run", "--quiet", "--out", str(place / "out"), *SMALL]) == 2
    assert "cannot write in" in one_line(capsys)


def test_a_run_too_big_for_memory_is_refused_saying_how_much_it_needs(
    tmp_path, capsys, monkeypatch
):
    _simulating_fails(monkeypatch)
    out = tmp_path / "out"
    assert main(["run", "--quiet", "--out", str(out), *HUGE]) == 2
    line = one_line(capsys)
    assert "province.towns = 5000 x province.firms_per_town = 100000" in line
    assert "needs at least 162.5 GB of memory" in line
    assert not out.exists()


def test_a_sweep_too_big_for_memory_is_refused_before_its_folder_exists(
    tmp_path, capsys
):
    big = TINY.format(end=2020).replace("= 3", "= 5000").replace("= 25", "= 100000")
    experiment = write(
        tmp_path, f'name = "big"\n{big}\n[levers]\n"government.talent" = [0.2, 0.8]\n'
    )
    out = tmp_path / "out"
    assert main(["sweep", str(experiment), "--workers", "1", "--out", str(out)]) == 2
    line = one_line(capsys)
    assert line.startswith(f"townsim: error: {experiment}: province.towns = 5000")
    assert not out.exists()


def test_a_disk_fault_is_exit_1_in_one_line(tmp_path, capsys, monkeypatch):
    def full(self, path, *args, **kwargs):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    out = tmp_path / "out"
    assert main(["run", "--quiet", "--out", str(out), *SMALL]) == 1
    assert "No space left on device: " in one_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (MemoryError(), "out of memory; choose fewer towns or firms per town"),
        (RuntimeError("singular matrix"), "RuntimeError: singular matrix"),
    ],
)
def test_any_other_fault_is_exit_1_in_one_line(
    tmp_path, capsys, monkeypatch, error, expected
):
    def fails(*args, **kwargs):
        raise error

    monkeypatch.setattr(single_run, "run_scenario", fails)
    assert main(["run", "--quiet", "--out", str(tmp_path / "out"), *SMALL]) == 1
    assert one_line(capsys) == f"townsim: error: {expected}\n"


def test_ctrl_c_while_starting_up_is_one_line(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(experiments.cli, "build_parser", interrupted)
    assert main(["scenarios"]) == 130
    assert one_line(capsys) == "townsim: interrupted\n"


def test_a_pipe_closed_early_loses_no_results_and_prints_no_traceback(tmp_path):
    out = tmp_path / "out"
    command = [sys.executable, "-m", "experiments.cli", "run", "--quiet"]
    shell = f"{' '.join([*command, '--out', str(out), *SMALL])} | head -c 1"
    done = subprocess.run(
        ["bash", "-c", shell], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert len(pd.read_parquet(out / "towns.parquet")) > 0


def test_result_folders_are_as_open_as_the_umask_allows(tmp_path):
    out = tmp_path / "out"
    old = os.umask(0o022)
    try:
        assert main(["run", "--quiet", "--out", str(out), *SMALL]) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o755


def _complete(folder: Path, marker: str) -> None:
    folder.mkdir()
    for name in single_run.RESULT_FILES:
        (folder / name).write_text(marker)


def test_an_unfinished_staging_folder_is_removed_and_reported(tmp_path, capsys):
    out = tmp_path / "out"
    left = tmp_path / ".out.new-1234abcd"
    left.mkdir()
    (left / "series.parquet").write_bytes(b"PAR1 truncated")
    assert main(["run", "--quiet", "--out", str(out), *SMALL]) == 0
    err = capsys.readouterr().err
    assert f"removed {left.name}, left by an interrupted run" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_replacement_killed_between_its_renames_is_completed(tmp_path):
    out = tmp_path / "out"
    _complete(tmp_path / ".out.old-00000001", "old")
    _complete(tmp_path / ".out.new-00000002", "new")
    said = single_run.recover(out)
    assert (out / "manifest.json").read_text() == "new"
    assert len(said) == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_recovery_leaves_a_users_own_folders_alone(tmp_path):
    mine = tmp_path / ".out.new-mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert single_run.recover(tmp_path / "out") == []
    assert (mine / "notes.txt").read_text() == "mine"


def test_without_an_atomic_exchange_the_old_results_go_only_after_the_new_arrive(
    tmp_path, monkeypatch
):
    out = tmp_path / "out"
    assert main(["run", "--quiet", "--out", str(out), *SMALL]) == 0
    monkeypatch.setattr(single_run, "exchange", lambda first, second: False)
    assert main(["run", "--quiet", "--seed", "7", "--out", str(out), *SMALL]) == 0
    assert '"seed": 7' in (out / "manifest.json").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
