"""`townsim`: runs write their files; bad input exits 2 and writes nothing."""

import errno
import json

import pandas as pd
import pytest

from experiments.cli import main
from scenarios import load_scenario

SMALL = ["--set", "towns=3", "--set", "firms_per_town=20", "--set", "end_year=2018"]


def test_run_prints_a_summary_and_writes_tables_and_manifest(tmp_path, capsys):
    out = tmp_path / "run"
    assert (
        main(["run", "talent", "--seed", "5", "--quiet", "--out", str(out), *SMALL])
        == 0
    )
    printed = capsys.readouterr().out
    assert "Towns per dimension" in printed
    assert "Platform coverage" in printed
    assert "Output (value added, 2016 prices)" in printed
    assert "Output (value added, current prices)" in printed
    assert "Output growth 2017-2018, % a year" in printed
    assert sorted(p.name for p in out.iterdir()) == [
        "firms.parquet",
        "growth.parquet",
        "manifest.json",
        "series.parquet",
        "towns.parquet",
    ]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 5
    assert manifest["scenario"]["name"] == "talent"
    assert manifest["scenario"]["province"]["towns"] == 3
    assert manifest["code_version"]
    assert {"mesa", "numpy", "pandas"} <= set(manifest["packages"])
    towns = pd.read_parquet(out / "towns.parquet")
    assert sorted(towns["year"].unique()) == [2016, 2017, 2018]
    assert len(towns) == 3 * 3
    series = pd.read_parquet(out / "series.parquet")
    assert len(series) == 2 * 4 + 1
    growth = pd.read_parquet(out / "growth.parquet")
    assert growth["year"].tolist() == [2017, 2018]


def test_the_manifest_scenario_reproduces_the_run(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert main(["run", "--seed", "9", "--quiet", "--out", str(first), *SMALL]) == 0
    manifest = json.loads((first / "manifest.json").read_text())
    again = tmp_path / "again.toml"
    again.write_text(_toml(manifest["scenario"]))
    assert (
        main(["run", str(again), "--seed", "9", "--quiet", "--out", str(second)]) == 0
    )
    pd.testing.assert_frame_equal(
        pd.read_parquet(first / "towns.parquet"),
        pd.read_parquet(second / "towns.parquet"),
    )


def _toml(data: dict, prefix: str = "") -> str:
    """Just enough TOML for a dumped scenario (tables, lists, scalars, no None)."""
    lines, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            continue
        elif value is not None:
            lines.append(f"{key} = {json.dumps(value)}")
    for key, value in tables:
        name = f"{prefix}{key}"
        scalars = {k: v for k, v in value.items() if not isinstance(v, dict)}
        lines.append(f"[{name}]")
        lines.append(_toml(scalars))
        for sub, table in value.items():
            if isinstance(table, dict):
                lines.append(f"[{name}.{sub}]")
                lines.append(_toml(table))
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--set", "government.talnt=0.5"],
            ["government.talnt", "did you mean 'talent'"],
        ),
        (["--set", "towns=-3"], ["error: --set: key 'province.towns'", ">= 1"]),
        (
            ["--set", "end_year=2012"],
            ["baseline.toml with --set: run.end_year = 2012 must be after"],
        ),
        (["--set", "run.schedule=agnets"], ["run.schedule", "agnets", "'agents'"]),
        (["--set", "noequals"], ["--set", "KEY=VALUE"]),
    ],
)
def test_bad_overrides_exit_2_with_one_clear_message(tmp_path, capsys, args, expected):
    out = tmp_path / "never"
    assert main(["run", "--quiet", "--out", str(out), *args]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("townsim: error: ")
    assert "Traceback" not in captured.err
    for text in expected:
        assert text in captured.err
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('name = "x"\n[province\n', ["not valid TOML", "line 2"]),
        (
            "[province]\nfirm_per_town = 3\n",
            ["province.firm_per_town", "firms_per_town"],
        ),
        ('[province]\ntowns = "many"\n', ["province.towns", "'many'", "int"]),
        ("[economy]\nunit_cost = 9\n", ["economy.unit_cost", "9", "<= 2"]),
    ],
)
def test_bad_files_exit_2_naming_the_file(tmp_path, capsys, content, expected):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    out = tmp_path / "never"
    assert main(["run", str(path), "--quiet", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    for text in expected:
        assert text in err
    assert not out.exists()


def test_missing_file_and_unknown_scenario_exit_2(tmp_path, capsys):
    assert main(["run", str(tmp_path / "missing.toml"), "--quiet"]) == 2
    assert "file not found" in capsys.readouterr().err
    assert main(["run", "baselin", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'baseline'" in err
    assert "shipped:" in err


def test_a_failed_write_leaves_the_previous_results_and_no_staging(
    tmp_path, monkeypatch, capsys
):
    out = tmp_path / "out"
    assert main(["run", "--quiet", "--out", str(out), *SMALL]) == 0
    before = (out / "manifest.json").read_text()

    def broken(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(pd.DataFrame, "to_parquet", broken)
    capsys.readouterr()
    assert main(["run", "--quiet", "--seed", "1", "--out", str(out), *SMALL]) == 1
    err = capsys.readouterr().err
    assert err.startswith("townsim: error: No space left on device: ")
    assert "series.parquet" in err and err.count("\n") == 1
    assert (out / "manifest.json").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_every_shipped_scenario_is_listed(capsys):
    assert main(["scenarios"]) == 0
    listed = capsys.readouterr().out
    for name in (
        "baseline",
        "talent",
        "funding",
        "ip",
        "platform",
        "balanced",
        "adaptive",
    ):
        assert name in listed
        assert load_scenario(name).description in listed


def test_run_refuses_an_output_folder_with_other_files(tmp_path, capsys):
    out = tmp_path / "mine"
    (out / "otherrun").mkdir(parents=True)
    (out / "notes.txt").write_text("keep me")
    assert main(["run", "--quiet", "--out", str(out), *SMALL]) == 2
    err = capsys.readouterr().err
    assert str(out) in err
    assert "not townsim results" in err
    assert (out / "notes.txt").read_text() == "keep me"
    assert (out / "otherrun").is_dir()


def test_policy_change_that_zeroes_every_lever_is_rejected_up_front(tmp_path, capsys):
    path = tmp_path / "zero.toml"
    path.write_text(
        'extends = "baseline"\n[[policy_changes]]\nyear = 2018\n'
        "talent = 0\nfunding = 0\nip = 0\nplatform = 0\n"
    )
    assert main(["run", str(path), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "policy_changes.0" in err
    assert "at least one lever weight must be positive" in err
