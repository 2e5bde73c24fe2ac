"""Search files: bad files exit 2 and explain; good ones plan scenarios and runs."""

import pytest
from sweep_files import ROOT, write

from experiments.cli import main
from experiments.optimize.problem import load_problem

HEAD = """name = "x"
[set]
"province.towns" = 3
"province.firms_per_town" = 25
"run.end_year" = 2020
"""
LEVER = '[levers]\n"government.talent" = { range = [0.1, 0.9] }\n'
GOAL = '[objectives.out]\noutcome = "gdp@2020"\ndirection = "max"\n'


def goal(outcome: str, direction: str = "max") -> str:
    return f'[objectives.out]\noutcome = "{outcome}"\ndirection = "{direction}"\n'


BAD = [
    (
        HEAD + LEVER + goal("gpd@2020"),
        ["'objectives.out.outcome'", "'gpd@2020'", "did you mean 'gdp'", "allowed"],
    ),
    (
        HEAD + LEVER + goal("gdp"),
        ["'objectives.out.outcome' = 'gdp'", "needs its year", "'gdp@YEAR'"],
    ),
    (
        HEAD + LEVER + goal("total_spent@2020", "min"),
        ["'total_spent@2020'", "one value per run", "without a year"],
    ),
    (
        HEAD + LEVER + goal("year_dim3", "min"),
        ["'year_dim3'", "a value per town", "allowed: a yearly outcome"],
    ),
    (
        HEAD + LEVER + goal("gdp@2030"),
        ["'objectives.out.outcome' = 'gdp@2030'", "allowed: 2016 to 2020"],
    ),
    (HEAD + LEVER + goal("gdp@20x0"), ["'gdp@20x0'", "write 'name@year'"]),
    (
        HEAD + LEVER + GOAL + 'robustness = "percentile"\n',
        ["'objectives.out'", "needs percentile"],
    ),
    (
        HEAD + LEVER + GOAL + "threshold = 3.0\n",
        ["'objectives.out'", "threshold goes with robustness = 'satisficing'"],
    ),
    (
        HEAD + LEVER + GOAL + 'robustness = "regrets"\n',
        ["'objectives.out.robustness' = 'regrets'", "did you mean 'regret'"],
    ),
    (HEAD + LEVER + goal("gdp@2020", "up"), ["'objectives.out.direction'", "'max'"]),
    (
        HEAD + LEVER + GOAL + 'robustness = "percentile"\npercentile = 100\n',
        ["'objectives.out.percentile' = 100", "< 100"],
    ),
    (
        HEAD + LEVER + GOAL + "[algorithm]\npopulation = 2\n",
        ["'algorithm.population' = 2", ">= 4"],
    ),
    (
        HEAD + LEVER + GOAL + '[algorithm]\nkind = "nsga4"\n',
        ["'algorithm.kind' = 'nsga4'", "'nsga2'"],
    ),
    (
        HEAD + LEVER + GOAL + '[algorithm]\nkind = "nsga3"\n',
        ["'algorithm.kind' = 'nsga3'", "two objectives or more"],
    ),
    ("scenarios = 4\n" + HEAD + LEVER + GOAL, ["'scenarios' = 4", "[uncertainties]"]),
    ("seeds = 0\n" + HEAD + LEVER + GOAL, ["'seeds' = 0", ">= 1"]),
    (HEAD + GOAL, ["'levers'", "Field required"]),
    (HEAD + LEVER, ["'objectives'", "Field required"]),
    (
        HEAD
        + '[levers]\n"government.talent" = { range = [0.1, 0.9], steps = 3 }\n'
        + GOAL,
        ["'levers.government.talent'", "steps has no use"],
    ),
    (
        HEAD + '[levers]\n"government.talnt" = { range = [0.1, 0.9] }\n' + GOAL,
        ["'government.talnt'", "did you mean 'talent'"],
    ),
    (
        HEAD + '[levers]\n"government.talent" = { range = [0.1, 2.0] }\n' + GOAL,
        ["'government.talent' = 2.0", "<= 1"],
    ),
    ("generation = 3\n" + HEAD + LEVER + GOAL, ["'generation'", "unknown key"]),
    (HEAD + "[levers\n", ["not valid TOML"]),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_search_files_exit_2_naming_file_key_value_and_what_is_allowed(
    tmp_path, capsys, text, expected
):
    path = write(tmp_path, text, "bad.toml")
    assert main(["optimize", str(path), "--out", str(tmp_path / "out")]) == 2
    message = capsys.readouterr().err
    assert message.startswith("townsim: error: ")
    assert message.count("\n") == 1, message
    assert str(path) in message
    for part in expected:
        assert part in message, (part, message)
    assert not (tmp_path / "out").exists()


def test_a_missing_search_file_exits_2(tmp_path, capsys):
    assert main(["optimize", str(tmp_path / "nope.toml")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_a_folder_of_a_sweep_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"fingerprint": "other"}')
    path = write(tmp_path, HEAD + LEVER + GOAL)
    assert main(["optimize", str(path), "--out", str(out), "--quiet"]) == 2
    assert "holds results of another search or sweep" in capsys.readouterr().err


def uncertain(tmp_path, **replace) -> str:
    text = (
        'name = "x"\nscenarios = 4\nseeds = 2\nroot_seed = 9\n'
        + HEAD.removeprefix('name = "x"\n')
        + LEVER
        + '[uncertainties]\n"government.budget_share" = { range = [0.002, 0.008] }\n'
        + GOAL
        + "[algorithm]\ngenerations = 3\n"
    )
    for old, new in replace.items():
        text = text.replace(old, new)
    return write(tmp_path, text)


def test_scenarios_and_seeds_are_drawn_once_and_shared_by_every_candidate(tmp_path):
    problem = load_problem(uncertain(tmp_path))
    assert len(problem.scenarios) == 4 and len(problem.seeds) == 2
    shares = [s["government.budget_share"] for s in problem.scenarios]
    assert all(0.002 <= s <= 0.008 for s in shares)
    assert len(set(shares)) == 4
    one = problem.specs({"government.talent": 0.2})
    other = problem.specs({"government.talent": 0.7})
    assert len(one) == 8 and len({s.run_id for s in one}) == 8
    assert [s.seed for s in one] == [s.seed for s in other]
    assert [s.params["government.budget_share"] for s in one] == [
        s.params["government.budget_share"] for s in other
    ]
    assert not {s.run_id for s in one} & {s.run_id for s in other}
    again = load_problem(uncertain(tmp_path))
    assert [s.run_id for s in again.specs({"government.talent": 0.2})] == [
        s.run_id for s in one
    ]


def test_more_generations_continue_the_same_search_and_a_new_seed_does_not(tmp_path):
    problem = load_problem(uncertain(tmp_path))
    longer = load_problem(uncertain(tmp_path, **{"generations = 3": "generations = 9"}))
    assert longer.fingerprint() == problem.fingerprint()
    reseeded = load_problem(uncertain(tmp_path, **{"root_seed = 9": "root_seed = 1"}))
    assert reseeded.fingerprint() != problem.fingerprint()


def test_the_shipped_search_is_valid():
    problem = load_problem(ROOT / "experiments" / "optimize_budget.toml")
    assert len(problem.search.objectives) >= 2
    assert problem.runs_per_candidate >= 2
