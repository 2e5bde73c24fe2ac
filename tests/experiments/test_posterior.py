"""Posterior files: written and read back, refused when unusable, drawn by weight,
run as bands (`townsim run --posterior N`) and used as a sweep's uncertainty."""

import contextlib
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sweep_files import write

from experiments.cli import main
from experiments.runs.posterior import (
    METADATA,
    PosteriorError,
    read_posterior,
    write_posterior,
)
from experiments.runs.provenance import model_version
from experiments.sweeps.draws import DrawPlan
from experiments.sweeps.outcomes import BY_NAME
from experiments.sweeps.plan import draw_seed, load_experiment
from scenarios import load_scenario

_POSTERIOR = ["run", "baseline", "--posterior"]
TINY = ["--set", "firms_per_town=20", "--set", "end_year=2018"]
META = {"scenario": "baseline", "method": "test particles", "command": "make it"}
TOWNS = pd.DataFrame({"province.towns": [2.0, 3.0, 4.0]})
"""A posterior whose draws show in every run: the number of towns."""


def _file(tmp_path, particles=TOWNS, weights=(0.2, 0.3, 0.5), name="post.parquet"):
    return write_posterior(tmp_path / name, particles, list(weights), META)


def _restamp(path, **changes):
    """Rewrite a posterior's metadata (as another code version would have)."""
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[METADATA]) | changes
    table = table.replace_schema_metadata({METADATA: json.dumps(meta).encode()})
    pq.write_table(table, path)


def _towns_per_draw(out) -> pd.Series:
    """Listed towns at the start of each draw's run, from its stored rows."""
    runs = pd.read_parquet(out / "runs")
    first = runs[runs["year"] == runs["year"].min()]
    counted = first[first["outcome"].str.startswith("towns_dim")]
    return counted.groupby("draw")["value"].sum()


def test_a_posterior_reads_back_as_written_with_its_provenance(tmp_path):
    particles = pd.DataFrame(
        {"economy.market_growth": [0.0, 0.02, 0.04], "economy.base_exit": [0.01] * 3}
    )
    path = _file(tmp_path, particles, (1, 2, 1))
    posterior = read_posterior(path, load_scenario("baseline"))
    pd.testing.assert_frame_equal(posterior.particles, particles)
    np.testing.assert_allclose(posterior.weights, [0.25, 0.5, 0.25])
    assert posterior.meta["model_version"] == model_version()
    assert posterior.meta["scenario"] == "baseline"
    assert posterior.meta["command"] == "make it"
    assert posterior.meta["code_version"] and posterior.meta["created"]
    assert posterior.point() == {
        "economy.market_growth": 0.02,
        "economy.base_exit": 0.01,
    }
    summary = posterior.summary()
    assert summary.loc["economy.market_growth", "mean"] == pytest.approx(0.02)
    assert summary.loc["economy.market_growth", "sd"] == pytest.approx(0.02**0.5 / 10)
    assert summary.loc["economy.market_growth", "5%"] == 0.0
    assert summary.loc["economy.market_growth", "95%"] == 0.04
    assert [p.name for p in tmp_path.iterdir()] == ["post.parquet"]  # no temporary


def test_the_model_version_follows_the_model_code_and_nothing_else(
    tmp_path, monkeypatch
):
    from experiments.runs import provenance

    for name in ("agents/a.py", "model/m.py", "scenarios/schema.py", "viz/v.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text('"""A rule."""\n')
    monkeypatch.setattr(provenance, "ROOT", tmp_path)
    first = provenance.model_version()
    assert len(first) == 16 and int(first, 16) >= 0
    (tmp_path / "viz/v.py").write_text("changed = True\n")
    assert provenance.model_version() == first  # not the model's code
    (tmp_path / "model/m.py").write_text('"""A rule, reworded."""\n')
    second = provenance.model_version()
    assert second != first  # even a docstring counts
    (tmp_path / "scenarios/schema.py").write_text("x = 1\n")
    assert provenance.model_version() not in (first, second)


def test_a_run_manifest_records_the_model_version(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--quiet", "--out", str(out), "--set", "towns=2", *TINY]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model_version"] == model_version()


def test_draw_i_does_not_depend_on_how_many_draws_there_are(tmp_path):
    posterior = read_posterior(_file(tmp_path), load_scenario("baseline"))
    few, many = posterior.draws(5, seed=7), posterior.draws(60, seed=7)
    pd.testing.assert_frame_equal(few, many.iloc[:5])
    assert posterior.draw(3, 7) == few.iloc[3].to_dict()
    assert not posterior.draws(60, seed=8).equals(many)  # the seed matters


def test_draws_pick_particles_as_often_as_their_weights_say(tmp_path):
    weights = np.array([0.1, 0.2, 0.0, 0.7])
    particles = pd.DataFrame({"province.towns": [1.0, 2.0, 3.0, 4.0]})
    posterior = read_posterior(
        _file(tmp_path, particles, weights), load_scenario("baseline")
    )
    n = 2000
    drawn = posterior.draws(n, seed=2024)["province.towns"]
    counts = drawn.value_counts().reindex([1.0, 2.0, 3.0, 4.0], fill_value=0)
    expected = n * weights
    sd = np.sqrt(n * weights * (1 - weights))
    assert counts[3.0] == 0  # weight 0: never drawn
    assert np.all(np.abs(counts.to_numpy() - expected) <= 3 * sd + 1e-9), counts


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        ("missing", ["no such posterior file"]),
        ("not_parquet", ["not a Parquet file"]),
        ("no_metadata", ["not a townsim posterior"]),
        (
            "old_model",
            ["made by model version 0123456789abcdef, this code is", "rerun `make it`"],
        ),
        ("other_scenario", ["made for scenario 'talent', applied to 'baseline'"]),
        ("unknown_key", ["column: key 'economy.market_grwth'", "unknown key"]),
        ("short_key", ["key 'market_growth': write it as 'economy.market_growth'"]),
        ("out_of_range", ["key 'economy.base_exit' = 1.5", "<= 1"]),
        ("fraction", ["key 'province.towns' = 2.5", "integer", "row 1"]),
        ("negative_weight", ["column 'weight': value -1.0 in row 1"]),
        ("zero_weights", ["column 'weight': the weights sum to 0"]),
        ("nan_weight", ["column 'weight': value nan in row 0"]),
        ("drawn_and_set", ["--set towns=3: province.towns is a parameter of"]),
    ],
)
def test_an_unusable_posterior_exits_2_in_one_line_before_anything_is_written(
    tmp_path, capsys, make, expected
):
    path = tmp_path / "post.parquet"
    extra = []
    if make == "not_parquet":
        path.write_text("particles\n")
    elif make == "no_metadata":
        TOWNS.assign(weight=1 / 3).to_parquet(path)
    elif make in ("old_model", "other_scenario"):
        _file(tmp_path)
        key = "model_version" if make == "old_model" else "scenario"
        _restamp(
            path, **{key: "0123456789abcdef" if key == "model_version" else "talent"}
        )
    elif make in ("unknown_key", "short_key", "out_of_range"):
        column = {
            "unknown_key": "economy.market_grwth",
            "short_key": "market_growth",
            "out_of_range": "economy.base_exit",
        }[make]
        _file(
            tmp_path,
            pd.DataFrame({column: [0.01, 1.5 if make == "out_of_range" else 0.02]}),
            (1, 1),
        )
    elif make == "fraction":  # within the column's range, yet no whole number
        _file(tmp_path, pd.DataFrame({"province.towns": [2.0, 2.5, 4.0]}))
    elif make.endswith(("weight", "weights")):
        _file(tmp_path)
        bad = {
            "negative_weight": [0.5, -1.0, 0.5],
            "zero_weights": [0.0, 0.0, 0.0],
            "nan_weight": [np.nan, 0.5, 0.5],
        }[make]
        table = pq.read_table(path)
        frame = table.to_pandas().assign(weight=bad)
        pq.write_table(
            pq.read_table(path)
            .from_pandas(frame, preserve_index=False)
            .replace_schema_metadata(table.schema.metadata),
            path,
        )
    elif make == "drawn_and_set":
        _file(tmp_path)
        extra = ["--set", "towns=3"]
    out = tmp_path / "out"
    code = main(
        [
            *_POSTERIOR,
            "2",
            "--posterior-file",
            str(path),
            "--quiet",
            "--out",
            str(out),
            *TINY,
            *extra,
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("townsim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    if make != "drawn_and_set":
        assert str(path) in err
    for text in expected:
        assert text in err
    assert not out.exists()


def test_the_reader_refuses_a_posterior_of_another_scenario(tmp_path):
    path = _file(tmp_path)
    with pytest.raises(PosteriorError, match="made for scenario 'baseline'"):
        read_posterior(path, load_scenario("talent"))


def _run(tmp_path, out, draws, workers, path, capsys):
    code = main(
        [
            *_POSTERIOR,
            str(draws),
            "--posterior-file",
            str(path),
            "--seed",
            "11",
            "--quiet",
            "--workers",
            str(workers),
            "--out",
            str(out),
            *TINY,
        ]
    )
    assert code == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_run_posterior_writes_runs_draws_bands_chart_and_prints_bands(tmp_path, capsys):
    path = _file(tmp_path)
    out = tmp_path / "draws"
    printed = _run(tmp_path, out, 3, 2, path, capsys)
    assert len(list((out / "runs").glob("*.parquet"))) == 3
    assert len((out / "checksums.jsonl").read_text().splitlines()) == 3
    table = pd.read_csv(out / "draws.csv")
    assert table["draw"].tolist() == [0, 1, 2]
    assert table["seed"].tolist() == [draw_seed(11, i) for i in range(3)]
    posterior = read_posterior(path, load_scenario("baseline"))
    assert table["province.towns"].tolist() == [
        posterior.draw(i, 11)["province.towns"] for i in range(3)
    ]
    # Each draw's values reach its run: its number of towns is the drawn one.
    assert _towns_per_draw(out).tolist() == table["province.towns"].tolist()
    bands = pd.read_csv(out / "bands.csv")
    gdp = bands[bands["outcome"] == "gdp"].set_index("year")
    _check_gdp_bands(out, gdp, printed, draws=[0, 1, 2])
    assert gdp["unit"].iloc[0] == "M yuan/yr, start-year prices"
    units = bands.drop_duplicates("outcome").set_index("outcome")["unit"]
    assert units.to_dict() == {name: BY_NAME[name].unit for name in units.index}
    assert (out / "output.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "3 posterior draws" in printed
    assert "draw i's seed derived from seed 11 and i" in printed
    assert "bn yuan in 2016 -> " in printed and "(real)" in printed
    assert "Output (value added, current prices)" in printed
    assert "Towns per dimension in 2018: 1D " in printed
    assert printed.count("median over the draws [5%-95% of the draws]") == 1
    assert (out / "summary.txt").read_text() in printed + "\n"


def test_two_seeds_share_no_draw_seed_and_no_draw_takes_the_plain_runs(tmp_path):
    posterior = read_posterior(_file(tmp_path), load_scenario("baseline"))
    scenario = load_scenario("baseline")
    eleven = [s.seed for s in DrawPlan(scenario, posterior, 20, 11).specs()]
    twelve = [s.seed for s in DrawPlan(scenario, posterior, 20, 12).specs()]
    assert not set(eleven) & set(twelve)
    assert 11 not in eleven and 12 not in twelve
    assert len(set(eleven)) == 20
    assert (
        DrawPlan(scenario, posterior, 20, 11).fingerprint()
        != DrawPlan(scenario, posterior, 20, 12).fingerprint()
    )


def test_a_seed_beyond_64_bits_still_runs_its_draws(tmp_path, capsys):
    path = _file(tmp_path)
    out = tmp_path / "draws"
    seed = 2**64 + 5
    code = main(
        [
            *_POSTERIOR,
            "1",
            "--posterior-file",
            str(path),
            "--seed",
            str(seed),
            "--quiet",
            "--out",
            str(out),
            *TINY,
        ]
    )
    assert code == 0, capsys.readouterr().err
    table = pd.read_csv(out / "draws.csv")
    assert table["seed"].tolist() == [draw_seed(seed, 0)]
    assert 0 <= draw_seed(seed, 0) < 2**63


def _check_gdp_bands(out, gdp, printed, draws):
    """bands.csv and the printed output band are the draws' quantiles of gdp.

    The rule is numpy's default: linear interpolation between the sorted draws.
    """
    runs = pd.read_parquet(out / "runs")
    rows = runs[runs["outcome"] == "gdp"]
    wide = rows.pivot(index="draw", columns="year", values="value")
    assert wide.index.tolist() == draws
    assert (gdp["draws"] == len(draws)).all()
    for year, column in wide.items():
        low, q25, mid, q75, high = np.percentile(column, [5, 25, 50, 75, 95])
        row = gdp.loc[year]
        assert [row["p5"], row["p25"], row["median"], row["p75"], row["p95"]] == (
            pytest.approx([low, q25, mid, q75, high], rel=1e-12)
        )
    first, last = wide.columns.min(), wide.columns.max()

    def band(year):
        low, mid, high = np.percentile(wide[year] / 1e3, [5, 50, 95])
        return f"{mid:,.1f} [{low:,.1f}-{high:,.1f}]"

    assert (
        f"Output (value added, {first} prices): {band(first)} bn yuan in {first} "
        f"-> {band(last)} bn yuan in {last} (real)"
    ) in printed


def test_draws_are_the_same_whatever_the_workers_and_grow_in_place(tmp_path, capsys):
    path = _file(tmp_path)
    one, two = tmp_path / "one", tmp_path / "two"
    _run(tmp_path, one, 3, 1, path, capsys)
    _run(tmp_path, two, 2, 2, path, capsys)
    before = {p.name: p.read_bytes() for p in (two / "runs").glob("*.parquet")}
    _run(tmp_path, two, 3, 2, path, capsys)  # one more draw, the two kept
    after = {p.name: p.read_bytes() for p in (two / "runs").glob("*.parquet")}
    assert len(after) == 3 and all(after[name] == b for name, b in before.items())
    pd.testing.assert_frame_equal(
        pd.read_csv(one / "bands.csv"), pd.read_csv(two / "bands.csv")
    )
    pd.testing.assert_frame_equal(
        pd.read_csv(one / "draws.csv"), pd.read_csv(two / "draws.csv")
    )


SWEEP = """
name = "posterior_sweep"
scenario = "baseline"
replications = {reps}
root_seed = 3
seeding = "common"
posterior = "post.parquet"
outcomes = ["towns_dim1", "towns_dim2", "towns_dim3", "towns_dim4", "gdp"]
years = [2016]
[set]
"province.firms_per_town" = 20
"run.end_year" = 2017
{set}
[levers]
"government.talent" = [0.1, 0.6]
{levers}
"""


def _sweep(tmp_path, reps=3, set_="", levers=""):
    return write(tmp_path, SWEEP.format(reps=reps, set=set_, levers=levers))


def test_a_sweep_runs_posterior_draw_r_in_replication_r_of_every_point(
    tmp_path, capsys
):
    path = _file(tmp_path)
    experiment = _sweep(tmp_path)
    out = tmp_path / "sweep"
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 0
    runs = pd.read_parquet(out / "runs")
    keys = runs.drop_duplicates("run_id").sort_values(["point", "replication"])
    posterior = read_posterior(path, load_scenario("baseline"))
    for _, run in keys.iterrows():
        r = run["replication"]
        assert run["draw"] == r
        assert run["posterior.province.towns"] == posterior.draw(r, 3)["province.towns"]
    paired = keys.pivot(index="replication", columns="point", values="seed")
    assert (paired[0] == paired[1]).all()  # common seeds stay common
    first = runs[(runs["year"] == 2016) & runs["outcome"].str.startswith("towns_dim")]
    towns = first.groupby("run_id")["value"].sum()
    drawn = keys.set_index("run_id")["posterior.province.towns"]
    assert (towns == drawn.reindex(towns.index)).all()  # the draw reached the run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["posterior"]["sha256"] == posterior.sha256
    assert manifest["posterior"]["model_version"] == model_version()
    # More replications: the finished runs keep their draws and files.
    _sweep(tmp_path, reps=4)
    before = set((out / "runs").glob("*.parquet"))
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 0
    assert before < set((out / "runs").glob("*.parquet"))
    grown = pd.read_parquet(out / "runs").drop_duplicates("run_id")
    assert sorted(grown["draw"].unique()) == [0, 1, 2, 3]
    capsys.readouterr()
    assert main(["analyze", str(out)]) == 0  # posterior columns are not factors
    per_run = pd.read_csv(out / "report" / "per_run.csv")
    assert {"draw", "posterior.province.towns"} <= set(per_run.columns)


def test_the_fingerprint_holds_the_posterior_content(tmp_path):
    path = _file(tmp_path)
    experiment = _sweep(tmp_path, reps=2)
    before = load_experiment(experiment).fingerprint()
    _file(tmp_path, weights=(0.5, 0.3, 0.2))
    assert load_experiment(experiment).fingerprint() != before
    assert path.exists()


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ({"levers": '"province.towns" = [2, 3]'}, "levers.province.towns"),
        ({"set_": '"towns" = 3'}, "set.towns"),
    ],
)
def test_a_sweep_refuses_a_key_both_drawn_and_set_or_varied(
    tmp_path, capsys, where, line
):
    _file(tmp_path)
    experiment = _sweep(tmp_path, **where)
    out = tmp_path / "never"
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert f"{experiment}: key '{line}'" in err
    assert "parameter of the posterior" in err
    assert not out.exists()


def test_run_posterior_refuses_a_folder_of_other_results(tmp_path, capsys):
    path = _file(tmp_path)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    _run(tmp_path, tmp_path / "draws", 1, 1, path, capsys)
    for out, seed in ((foreign, "11"), (tmp_path / "draws", "12")):
        before = sorted(p.name for p in out.iterdir())
        code = main(
            [
                *_POSTERIOR,
                "1",
                "--posterior-file",
                str(path),
                "--seed",
                seed,
                "--quiet",
                "--out",
                str(out),
                *TINY,
            ]
        )
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and str(out) in err, err
        assert sorted(p.name for p in out.iterdir()) == before


def test_a_draw_is_the_plain_run_of_its_values_and_seed(tmp_path, capsys):
    particles = pd.DataFrame({"economy.market_growth": [0.0, 0.08]})
    path = _file(tmp_path, particles, (0.5, 0.5))
    _run(tmp_path, tmp_path / "draws", 2, 1, path, capsys)
    drawn = pd.read_csv(tmp_path / "draws" / "draws.csv").set_index("draw")
    runs = pd.read_parquet(tmp_path / "draws" / "runs")
    for draw in (0, 1):
        growth, seed = drawn.loc[draw, "economy.market_growth"], drawn.loc[draw, "seed"]
        plain = tmp_path / f"plain{draw}"
        assert (
            main(
                [
                    "run",
                    "baseline",
                    "--seed",
                    str(seed),
                    "--quiet",
                    "--out",
                    str(plain),
                    *TINY,
                    "--set",
                    f"economy.market_growth={growth}",
                ]
            )
            == 0
        )
        towns = pd.read_parquet(plain / "towns.parquet")
        mine = runs[(runs["draw"] == draw) & (runs["outcome"] == "gdp")]
        np.testing.assert_allclose(
            mine.sort_values("year")["value"], towns.groupby("year")["gdp"].sum()
        )


@pytest.fixture
def failing(monkeypatch):
    """Runs in this process, where the draws in the returned set raise."""
    from experiments.sweeps import driver, worker

    broken: set[int] = set()
    simulate = worker._simulate

    def maybe_fail(task, spec):
        if spec.draw in broken:
            raise RuntimeError(f"draw {spec.draw} broke")
        return simulate(task, spec)

    @contextlib.contextmanager
    def in_process(model, workers, scheduler):
        with ThreadPoolExecutor(1) as executor:
            yield executor, 1, lambda: None

    monkeypatch.setattr(worker, "_simulate", maybe_fail)
    monkeypatch.setattr(driver, "executor_for", in_process)
    return broken


def _draws(path, out, n, *extra):
    return main(
        [
            *_POSTERIOR,
            str(n),
            "--posterior-file",
            str(path),
            "--seed",
            "11",
            "--quiet",
            "--out",
            str(out),
            *TINY,
            *extra,
        ]
    )


def test_failed_draws_run_again_with_retry_failed_only(tmp_path, capsys, failing):
    path = _file(tmp_path)
    out = tmp_path / "draws"
    failing.add(1)
    assert _draws(path, out, 3) == 1
    printed = capsys.readouterr().out
    assert "--retry-failed" in printed
    assert len(list((out / "failures").glob("*.parquet"))) == 1
    failing.clear()
    assert _draws(path, out, 3) == 1  # a plain rerun keeps the failure
    assert len(list((out / "runs").glob("*.parquet"))) == 2
    capsys.readouterr()
    assert _draws(path, out, 3, "--retry-failed") == 0, capsys.readouterr().err
    assert len(list((out / "runs").glob("*.parquet"))) == 3
    assert not list((out / "failures").glob("*.parquet"))


def test_retry_failed_goes_with_posterior(tmp_path, capsys):
    assert main(["run", "--retry-failed", "--out", str(tmp_path / "x")]) == 2
    assert "--retry-failed: goes with --posterior N" in capsys.readouterr().err


def test_a_rerun_takes_a_folder_a_kill_left_with_temporaries(tmp_path, capsys):
    path = _file(tmp_path)
    out = tmp_path / "draws"
    out.mkdir()
    (out / ".manifest.json.4242.tmp").write_text("{")  # killed writing its manifest
    assert _draws(path, out, 1) == 0, capsys.readouterr().err
    # Killed writing a run's file and a table, later.
    (out / "runs" / ".abc.parquet.4242.tmp").write_bytes(b"PAR1")
    (out / ".bands.csv.4242.tmp").write_text("outcome")
    assert _draws(path, out, 2) == 0, capsys.readouterr().err
    assert not list(out.rglob("*.tmp"))
    assert len(list((out / "runs").glob("*.parquet"))) == 2


def test_run_files_without_a_checksum_line_are_adopted(tmp_path, capsys):
    path = _file(tmp_path)
    out = tmp_path / "draws"
    assert _draws(path, out, 2) == 0
    (out / "checksums.jsonl").unlink()  # as an older townsim left them
    before = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    assert _draws(path, out, 2) == 0, capsys.readouterr().err
    lines = (out / "checksums.jsonl").read_text().splitlines()
    assert sorted(json.loads(line)["file"] for line in lines) == sorted(
        f"runs/{name}" for name in before
    )
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == before


def test_an_unwritable_out_exits_2(tmp_path, capsys, monkeypatch):
    from experiments.sweeps import results_store

    def refuse(path, payload):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(results_store, "write_atomic", refuse)
    out = tmp_path / "draws"
    assert _draws(_file(tmp_path), out, 1) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write the results folder" in err, err
    assert str(out) in err


def test_the_draws_fingerprint_holds_the_outcomes_and_the_seeding(
    tmp_path, monkeypatch
):
    from experiments.sweeps import draws

    posterior = read_posterior(_file(tmp_path), load_scenario("baseline"))
    plan = DrawPlan(load_scenario("baseline"), posterior, 2, 11)
    before = plan.fingerprint()
    monkeypatch.setattr(draws, "OUTCOMES", (*draws.OUTCOMES, "firms"))
    assert plan.fingerprint() != before
    monkeypatch.undo()
    assert plan.fingerprint() == before
    monkeypatch.setattr(draws, "DRAW_SEEDING", "draw i runs with seed root_seed + i")
    assert plan.fingerprint() != before


def test_the_posterior_checksum_is_of_its_content_not_its_file(tmp_path):
    scenario = load_scenario("baseline")
    path = _file(tmp_path)
    first = read_posterior(path, scenario).sha256
    _restamp(path, created="2001-01-01T00:00:00+00:00", code_version="other")
    assert read_posterior(path, scenario).sha256 == first
    _file(tmp_path)  # written again: a new date, the same particles
    assert read_posterior(path, scenario).sha256 == first
    _file(tmp_path, weights=(0.3, 0.2, 0.5))
    assert read_posterior(path, scenario).sha256 != first
    _file(tmp_path, particles=TOWNS.assign(**{"province.towns": [2.0, 3.0, 5.0]}))
    assert read_posterior(path, scenario).sha256 != first


def test_a_posterior_of_another_version_of_its_scenario_warns_in_one_line(
    tmp_path, capsys
):
    fitted = load_scenario("baseline")
    path = write_posterior(tmp_path / "p.parquet", TOWNS, (1, 1, 1), META, fitted)
    held = read_posterior(path, fitted).meta
    assert held["scenario_hash"] and "province.towns" not in held["scenario_values"]
    assert capsys.readouterr().err == ""
    # The posterior's own key may differ: the draws set it anyway.
    read_posterior(path, load_scenario("baseline", {"province.towns": 7}))
    assert capsys.readouterr().err == ""
    changed = load_scenario("baseline", {"economy.market_growth": 0.05})
    posterior = read_posterior(path, changed)  # a warning, not an error
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"townsim: warning: {path}: made for another version of")
    assert "scenario 'baseline' (keys economy.market_growth differ)" in err
    assert err.rstrip().endswith("its draws may no longer fit it")
    assert posterior.keys == ["province.towns"]


def test_a_sweep_grows_with_its_posterior_moved(tmp_path, capsys):
    path = _file(tmp_path)
    experiment = _sweep(tmp_path, reps=2)
    out = tmp_path / "sweep"
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 0
    before = set((out / "runs").glob("*.parquet"))
    (tmp_path / "moved").mkdir()
    path.rename(tmp_path / "moved" / "post.parquet")
    text = experiment.read_text().replace('"post.parquet"', '"moved/post.parquet"')
    experiment.write_text(text.replace("replications = 2", "replications = 3"))
    code = main(["sweep", str(experiment), "--out", str(out), "--quiet"])
    assert code == 0, capsys.readouterr().err
    assert before < set((out / "runs").glob("*.parquet"))
    assert len(list((out / "runs").glob("*.parquet"))) == 6


def test_ctrl_c_after_the_draws_ran_says_they_are_kept(tmp_path, capsys, monkeypatch):
    from experiments.analysis import bands

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bands, "summary_text", interrupted)
    out = tmp_path / "draws"
    assert _draws(_file(tmp_path), out, 1) == 130
    err = capsys.readouterr().err
    assert err == (
        f"townsim: interrupted: finished draws are kept in {out}/; run the same "
        "command to resume\n"
    )
    assert len(list((out / "runs").glob("*.parquet"))) == 1


def test_a_posterior_valid_particle_by_particle_is_taken(tmp_path):
    # Each particle keeps its years in order; the column of start years beside
    # the scenario's end year would not.
    particles = pd.DataFrame(
        {"run.start_year": [2016.0, 2040.0], "run.end_year": [2035.0, 2045.0]}
    )
    path = _file(tmp_path, particles, (1, 1))
    posterior = read_posterior(path, load_scenario("baseline"))
    assert posterior.particles["run.start_year"].tolist() == [2016.0, 2040.0]


def test_a_report_over_a_posterior_says_what_the_spread_holds(tmp_path, capsys):
    path = _file(tmp_path)
    experiment = _sweep(tmp_path, reps=3)
    text = experiment.read_text().replace("years = [2016]", "years = [2017]")
    experiment.write_text(text.replace('outcomes = ["towns_dim1", ', "outcomes = ["))
    out = tmp_path / "sweep"
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 0
    assert main(["analyze", str(out)]) == 0, capsys.readouterr().err
    report = (out / "report" / "report.md").read_text()
    assert "Replication noise" not in report
    spread = "spread over replications (model randomness and posterior draws)"
    assert report.count(spread) >= 2, report
    assert report.count(str(path)) == 1


def test_a_failed_draw_exits_1_and_the_bands_hold_the_others(tmp_path, capsys, failing):
    path = _file(tmp_path)
    out = tmp_path / "draws"
    failing.add(1)
    assert _draws(path, out, 3) == 1
    printed = capsys.readouterr().out
    assert "2 posterior draws of 3 (1 failed)" in printed
    assert f"Failed draws and their tracebacks: {out}/failures/" in printed
    failures = pd.read_parquet(out / "failures")
    assert failures["draw"].tolist() == [1]
    assert "RuntimeError: draw 1 broke" in failures["error"].iloc[0]
    bands = pd.read_csv(out / "bands.csv")
    gdp = bands[bands["outcome"] == "gdp"].set_index("year")
    _check_gdp_bands(out, gdp, printed, draws=[0, 2])
    assert (out / "summary.txt").read_text() in printed + "\n"
