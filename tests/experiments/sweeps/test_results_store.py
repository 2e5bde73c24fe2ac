"""The results store trusts only what it can check, and refuses places it cannot use.

A power cut can leave a run file cut short or empty under its finished name;
these tests make such files by hand (a kill alone cannot: see test_faults.py).
"""

import fcntl
import hashlib
import json
import os

import pandas as pd
import pytest
from sweep_files import tidy, unwritable, write

from experiments.cli import main
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment
from experiments.sweeps.results_store import CHECKSUMS, check_folder, read_checksums

TOY = """
name = "toy"
model = "sweep_toys:flaky"
replications = 2
root_seed = 3
[levers]
x = [0.1, 0.2, 0.3, 0.4]
"""


@pytest.fixture
def sweep(tmp_path):
    experiment = write(tmp_path, TOY)
    out = tmp_path / "out"
    assert run_sweep(load_experiment(experiment), out, workers=1, progress=False).done
    return experiment, out


def run_files(out):
    return sorted((out / "runs").glob("*.parquet"))


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("townsim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_every_run_file_is_recorded_with_its_size_and_checksum(sweep):
    _, out = sweep
    lines = read_checksums(out)
    assert len(run_files(out)) == 8
    for path in run_files(out):
        entry = lines[f"runs/{path.name}"]
        payload = path.read_bytes()
        assert entry["bytes"] == len(payload)
        assert entry["sha256"] == hashlib.sha256(payload).hexdigest()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["store"] == {"format": 2, "checksums": CHECKSUMS}


def test_cut_short_and_empty_run_files_are_refused_then_quarantined_and_redone(
    sweep, capsys
):
    experiment, out = sweep
    before = tidy(out)
    cut, empty = run_files(out)[:2]
    cut.write_bytes(cut.read_bytes()[:100])
    empty.write_bytes(b"")

    assert main(["analyze", str(out)]) == 2
    err = one_line_error(capsys)
    assert f"runs/{cut.name} (100 of" in err and f"runs/{empty.name} (0 of" in err
    assert f"townsim sweep {experiment} --out {out}" in err
    assert not (out / "report").exists()

    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "2 runs done now, 6 found done" in captured.out
    assert "moved to" in captured.err and "quarantine" in captured.err
    assert sorted(p.name for p in (out / "quarantine" / "runs").iterdir()) == sorted(
        [cut.name, empty.name]
    )
    pd.testing.assert_frame_equal(tidy(out), before)
    assert main(["analyze", str(out)]) == 0


def test_a_damaged_file_whose_size_is_right_is_caught_by_its_checksum(sweep):
    _, out = sweep
    path = run_files(out)[0]
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    path.write_bytes(bytes(payload))
    assert check_folder(out).bad == [
        (f"runs/{path.name}", "content differs from its checksum")
    ]


def test_a_folder_of_an_older_townsim_is_checked_by_reading_and_adopted(sweep):
    experiment, out = sweep
    before = tidy(out)
    (out / CHECKSUMS).unlink()
    manifest = json.loads((out / "manifest.json").read_text())
    del manifest["store"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    (out / ".lock").write_text("")  # the old lock file
    cut = run_files(out)[0]
    cut.write_bytes(cut.read_bytes()[:-30])

    assert main(["analyze", str(out)]) == 2  # reads, refuses, writes nothing
    assert not (out / CHECKSUMS).exists()
    summary = run_sweep(load_experiment(experiment), out, workers=1, progress=False)
    assert (summary.skipped, summary.done) == (7, 1)
    assert set(read_checksums(out)) == {f"runs/{p.name}" for p in run_files(out)}
    assert json.loads((out / "manifest.json").read_text())["store"]["format"] == 2
    pd.testing.assert_frame_equal(tidy(out), before)


def test_a_checksum_line_cut_short_by_a_crash_is_skipped(sweep):
    _, out = sweep
    text = (out / CHECKSUMS).read_bytes()
    (out / CHECKSUMS).write_bytes(text[:-40])  # the last line, torn
    check = check_folder(out)
    assert not check.bad and len(check.unlisted) == 1
    assert len(check.good["runs"]) == 8


def test_resumed_folders_read_as_one_table_with_pandas_and_duckdb(sweep):
    import duckdb

    experiment, out = sweep
    run_files(out)[0].write_bytes(b"")
    run_sweep(load_experiment(experiment), out, workers=1, progress=False)
    frame = pd.read_parquet(out / "runs")
    assert frame["run_id"].nunique() == 8
    glob = str(out / "runs" / "*.parquet")
    assert duckdb.sql(f"select count(*) from '{glob}'").fetchall()[0][0] == len(frame)


# --- places a sweep cannot use ---------------------------------------------------


@pytest.mark.parametrize("place", ["a file", "under a file", "unwritable"])
def test_a_sweep_refuses_an_output_place_it_cannot_use(tmp_path, capsys, place):
    experiment = write(tmp_path, TOY)
    (tmp_path / "notes.txt").write_text("mine")
    out = {
        "a file": tmp_path / "notes.txt",
        "under a file": tmp_path / "notes.txt" / "out",
        "unwritable": unwritable(tmp_path) / "out",
    }[place]
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 2
    err = one_line_error(capsys)
    assert str(out) in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_damaged_manifest_is_named_by_sweep_and_by_analyze(sweep, capsys):
    experiment, out = sweep
    (out / "manifest.json").write_text('{"experiment": {"name": "toy"')
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 2
    err = one_line_error(capsys)
    assert f"{out / 'manifest.json'}: damaged" in err
    assert main(["analyze", str(out)]) == 2
    assert f"{out / 'manifest.json'}: damaged" in one_line_error(capsys)


def test_a_refused_sweep_leaves_nothing_behind(tmp_path, capsys):
    experiment = write(tmp_path, TOY)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    assert main(["sweep", str(experiment), "--out", str(mine), "--quiet"]) == 2
    assert "not sweep results" in one_line_error(capsys)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]

    bad = write(tmp_path, TOY.replace("= 2", "= true"), "bad.toml")
    assert main(["sweep", str(bad), "--out", str(tmp_path / "new"), "--quiet"]) == 2
    assert "'replications' = True: Input should be a number" in one_line_error(capsys)
    assert not (tmp_path / "new").exists()


def test_two_sweeps_cannot_write_one_folder(sweep, capsys):
    experiment, out = sweep
    handle = os.open(out, os.O_RDONLY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 2
        assert "another sweep is writing this folder" in one_line_error(capsys)
    finally:
        os.close(handle)
    assert not (out / ".lock").exists()


def test_infinite_values_never_reach_the_manifest(tmp_path, capsys):
    function = write(tmp_path, TOY + "[set]\nscale = inf\n", "f.toml")
    assert main(["sweep", str(function), "--out", str(tmp_path / "f")]) == 2
    assert "'scale' = inf is not a finite number" in one_line_error(capsys)
    town = write(
        tmp_path,
        'name = "t"\n[set]\n"plan.gdp_target" = inf\n[levers]\n"ip" = [0.1, 0.2]\n',
        "t.toml",
    )
    assert main(["sweep", str(town), "--out", str(tmp_path / "t")]) == 2
    assert "'plan.gdp_target' = inf is not a finite" in one_line_error(capsys)
    assert not (tmp_path / "f").exists() and not (tmp_path / "t").exists()
