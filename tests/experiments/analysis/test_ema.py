"""The EMA Workbench export: EMA 3.0's layout, roles, scenarios and policies, seeds."""

import io
import json
import tarfile
import warnings

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.ema import save_ema, to_ema
from experiments.analysis.results import load_results, seed_text
from experiments.cli import build_parser, main
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment

SPLIT = """
name = "split"
model = "sweep_toys:split_budget"
replications = 2
root_seed = 5
[design]
kind = "factorial"
[splits.budget]
keys = ["a", "b"]
step = 0.5
[uncertainties]
growth = [0.0, 0.1]
"""


@pytest.fixture(scope="module")
def split_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("split")
    experiment = folder / "split.toml"
    experiment.write_text(SPLIT)
    out = folder / "out"
    summary = run_sweep(load_experiment(experiment), out, workers=1, progress=False)
    assert summary.complete and summary.done == 3 * 2 * 2
    return out


def test_scenario_numbers_uncertainties_and_policy_numbers_levers(split_sweep):
    experiments, _ = to_ema(load_results(split_sweep))
    assert list(experiments.columns) == [
        "growth",
        "a",
        "b",
        "point",
        "replication",
        "seed",
        "run_id",
        "scenario",
        "policy",
        "model",
    ]
    for _, runs in experiments.groupby("scenario", observed=True):
        assert runs["growth"].nunique() == 1
    for _, runs in experiments.groupby("policy", observed=True):
        assert runs[["a", "b"]].drop_duplicates().shape[0] == 1
    assert experiments["scenario"].nunique() == 2
    assert experiments["policy"].nunique() == 3
    pairs = experiments[["scenario", "policy"]].drop_duplicates()
    assert len(pairs) == experiments["point"].nunique() == 6
    assert sorted(experiments["replication"].unique()) == [0, 1]


def test_runs_keep_their_id_replication_and_seed(split_sweep):
    results = load_results(split_sweep)
    experiments, _ = to_ema(results)
    recorded = results.runs.drop_duplicates("run_id").set_index("run_id")
    for row in experiments.itertuples():
        assert int(row.seed) == recorded.loc[row.run_id, "seed"]
        assert row.replication == recorded.loc[row.run_id, "replication"]
        assert row.point == recorded.loc[row.run_id, "point"]


def members(path):
    with tarfile.open(path, "r:gz") as archive:
        return {m.name: archive.extractfile(m).read().decode() for m in archive}


def test_the_tarball_has_ema_3_layout_and_marks_levers_and_uncertainties(
    split_sweep, tmp_path
):
    files = members(save_ema(load_results(split_sweep), tmp_path / "ema.tar.gz"))
    assert "experiments metadata.csv" not in files
    metadata = json.loads(files["metadata.json"])
    assert metadata["version"] == 0.1
    assert ["ScalarOutcome", "y", "y.cls"] in metadata["outcomes"]
    assert ["ArrayOutcome", "path", "path.csv"] in metadata["outcomes"]
    assert ["ArrayOutcome", "TIME", "TIME.csv"] in metadata["outcomes"]
    assert metadata["experiments"]["growth"] == "float64"
    assert metadata["experiments"]["seed"] == "category"
    assert len(files["y.cls"].splitlines()) == 12
    factors = pd.read_csv(io.StringIO(files["factors.csv"]))
    assert factors.fillna("").to_dict("records") == [
        {"name": "growth", "role": "uncertainty", "split": ""},
        {"name": "a", "role": "lever", "split": "budget"},
        {"name": "b", "role": "lever", "split": "budget"},
    ]


def test_seeds_in_csv_files_survive_a_spreadsheet(split_sweep, tmp_path):
    args = ["analyze", str(split_sweep), "--out", str(tmp_path), "--tidy-csv"]
    assert main(args) == 0
    recorded = load_results(split_sweep).runs.drop_duplicates("run_id")
    expected = dict(zip(recorded["run_id"], recorded["seed"], strict=True))
    for name in ("per_run.csv", "runs.csv"):
        table = pd.read_csv(tmp_path / name, dtype={"seed": str})
        assert not table["seed"].str.fullmatch(r"\d{16,}").any()
        read = dict(zip(table["run_id"], table["seed"].map(int), strict=False))
        assert read == expected
    csv = members(tmp_path / "ema_results.tar.gz")["experiments.csv"]
    experiments = pd.read_csv(io.StringIO(csv), dtype={"seed": str})
    assert not experiments["seed"].str.fullmatch(r"\d{16,}").any()


def test_ema_workbench_reads_the_export_back_exactly(split_sweep, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ema = pytest.importorskip("ema_workbench")
    results = load_results(split_sweep)
    experiments, outcomes = to_ema(results)
    loaded, read = ema.load_results(str(save_ema(results, tmp_path / "e.tar.gz")))
    pd.testing.assert_frame_equal(loaded, experiments)
    assert list(read) == list(outcomes)
    for name, values in outcomes.items():
        np.testing.assert_array_equal(read[name], values)
    assert read["TIME"][0].tolist() == [2020.0, 2021.0]


def test_a_seed_copied_from_a_csv_file_reruns_with_townsim_run():
    seed = 4526344847478541731
    written = seed_text(pd.Series([seed])).iloc[0]
    assert written == "4_526_344_847_478_541_731"
    assert build_parser().parse_args(["run", "--seed", written]).seed == seed
