"""Experiment files: designs, seeds and splits; bad files exit 2 and explain."""

import json

import numpy as np
import pytest
from sweep_files import BY_TOWN, ROOT, SMOKE, TINY, write

from experiments.cli import main
from experiments.sweeps.plan import load_experiment, run_seed


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
    (
        NAME + LEVER + '[answers]\n"gpd@2035" = "more"\n',
        ["answers: outcome 'gpd@2035'", "did you mean 'gdp'"],
    ),
    (NAME + LEVER + '[answers]\ngdp = "more"\n', ["'gdp'", "gdp@YEAR"]),
    (
        NAME + LEVER + '[answers]\n"gdp@2030" = "better"\n',
        ["'answers.gdp@2030'", "'better'", "'more', 'less' or 'neither'"],
    ),
    (
        NAME + LEVER + '[answers]\n"gdp@2050" = "more"\n',
        ["'answers'", "2050", "allowed: 2016 to 2035"],
    ),
    (
        NAME
        + '[design]\nkind = "morris"\nsamples = 4\n'
        + RANGE.replace("] }", "], steps = 3 }"),
        ["steps = 3 goes with a factorial design"],
    ),
    (
        NAME + 'model = "experiments.sweeps.toys:ishigami"\n[set]\nnosie = 1\n'
        "[levers]\nx1 = [0.0]\nx2 = [0.0]\nx3 = [0.0]\n",
        ["'set.nosie'", "takes no argument 'nosie'", "did you mean 'noise'"],
    ),
    (
        NAME + 'model = "experiments.sweeps.toys:ishigami"\n[levers]\nx1 = [0.0]\n',
        ["needs the argument 'x2'", "give it in [set], or vary it"],
    ),
    (
        NAME + 'model = "experiments.sweeps.toys:nothing"\n[levers]\nx1 = [0.0]\n',
        ["key 'model' = 'experiments.sweeps.toys:nothing'", "cannot be imported"],
    ),
    (
        NAME + '[set]\n"province.townz" = 3\n' + LEVER,
        [", set: key 'province.townz'", "did you mean 'towns'"],
    ),
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


@pytest.mark.parametrize(
    "name", ["smoke", "lever_importance", "budget_split", "ip_tradeoff"]
)
def test_the_example_experiments_are_valid(name):
    plan = load_experiment(ROOT / "experiments" / f"{name}.toml")
    assert plan.runs >= 16


def test_a_function_argument_cannot_be_both_set_and_varied(tmp_path, capsys):
    text = BY_TOWN.replace("towns = 3", "towns = 3\nx = 1")
    assert main(["sweep", str(write(tmp_path, text)), "--dry-run"]) == 2
    assert "'set.x': also varied" in capsys.readouterr().err


def test_a_dry_run_says_what_would_run_and_runs_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(SMOKE), "--out", str(out), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "factorial design, 8 points x 2 replications = 16 runs" in printed
    assert "government.talent: levels [0.1, 0.6]" in printed
    assert not out.exists()
