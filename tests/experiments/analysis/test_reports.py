"""townsim analyze: reports, charts and exports of finished and partial sweeps."""

import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.analysis.ema import to_ema
from experiments.analysis.results import load_results, per_run
from experiments.cli import main
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment

SOBOL_TOY = """
name = "ishigami"
model = "experiments.sweeps.toys:ishigami"
replications = 2
root_seed = 11
[design]
kind = "sobol"
samples = 64
[uncertainties]
x1 = { range = [-3.141592653589793, 3.141592653589793] }
x2 = { range = [-3.141592653589793, 3.141592653589793] }
x3 = { range = [-3.141592653589793, 3.141592653589793] }
[analysis]
resamples = 100
"""


@pytest.fixture(scope="module")
def ishigami_sweep(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ishigami")
    experiment = folder / "ishigami.toml"
    experiment.write_text(SOBOL_TOY)
    out = folder / "out"
    summary = run_sweep(load_experiment(experiment), out, workers=2, progress=False)
    assert summary.complete and summary.done == 64 * 5 * 2
    return out


def test_analyze_writes_indices_report_and_exports_for_a_sobol_sweep(
    ishigami_sweep, capsys
):
    assert main(["analyze", str(ishigami_sweep)]) == 0
    report = ishigami_sweep / "report"
    assert "report.md" in capsys.readouterr().out
    indices = pd.read_csv(report / "indices.csv")
    assert set(indices["factor"]) == {"x1", "x2", "x3"}
    assert set(indices["index"]) == {"S1", "ST"}
    text = (report / "report.md").read_text()
    assert "Which factor matters most" in text
    assert "| y |" in text
    table = pd.read_csv(report / "per_run.csv")
    assert len(table) == 640
    assert (report / "distributions.png").read_bytes()[:4] == b"\x89PNG"
    assert (report / "indices.png").read_bytes()[:4] == b"\x89PNG"


def read_ema(path: Path) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Read EMA 3.0's save_results layout the way ema_workbench.load_results does."""
    with tarfile.open(path, "r:gz") as archive:
        experiments = pd.read_csv(archive.extractfile("experiments.csv"))
        metadata = json.loads(archive.extractfile("metadata.json").read())
        outcomes = {}
        for kind, name, filename in metadata["outcomes"]:
            values = pd.read_csv(archive.extractfile(filename), header=None)
            outcomes[name] = values.to_numpy().reshape(
                -1 if kind == "ScalarOutcome" else values.shape
            )
    return experiments, outcomes


FACTORIAL_TOY = """
name = "paths"
model = "sweep_toys:flaky"
replications = 3
[levers]
x = [0.1, 0.3, 0.5]
"""


def test_a_factorial_sweep_gets_ranked_points_fan_charts_and_an_ema_export(tmp_path):
    experiment = tmp_path / "paths.toml"
    experiment.write_text(FACTORIAL_TOY)
    out = tmp_path / "out"
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 0
    args = [
        "analyze",
        str(out),
        "--by",
        "x",
        "--out",
        str(tmp_path / "r"),
        "--tidy-csv",
    ]
    assert main(args) == 0
    assert len(pd.read_csv(tmp_path / "r" / "runs.csv")) == 9 * 3
    report = tmp_path / "r"
    text = (report / "report.md").read_text()
    assert "## Design points" in text
    assert "| factor | level | mean over the other factors | effect against" in text
    assert "![fan_path](fan_path.png)" in text
    assert (report / "fan_path.png").read_bytes()[:4] == b"\x89PNG"

    experiments, outcomes = read_ema(report / "ema_results.tar.gz")
    assert len(experiments) == 9
    assert {"x", "scenario", "policy", "model"} <= set(experiments.columns)
    assert outcomes["y"].shape == (9,)
    assert outcomes["path"].shape == (9, 2)
    assert outcomes["TIME"][0].tolist() == [2020, 2021]
    results = load_results(out)
    frame, arrays = to_ema(results)
    ordered = per_run(results, years=[]).sort_values("run_id")
    assert np.allclose(np.sort(arrays["y"]), np.sort(ordered["y"]))
    assert np.allclose(arrays["path"][:, 1], 2 * frame["x"])


def test_analyze_refuses_a_folder_that_is_not_a_sweep(tmp_path, capsys):
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not a sweep results folder" in capsys.readouterr().err


def test_analyze_refuses_an_unknown_by_factor(ishigami_sweep, capsys):
    assert main(["analyze", str(ishigami_sweep), "--by", "x9"]) == 2
    assert "allowed: x1, x2, x3" in capsys.readouterr().err


PARTIAL = """
name = "partial"
model = "sweep_toys:flaky"
[design]
kind = "sobol"
samples = 8
[uncertainties]
x = { range = [0.0, 1.0] }
"""


def test_a_sweep_with_failed_runs_is_reported_without_misleading_indices(tmp_path):
    experiment = tmp_path / "partial.toml"
    experiment.write_text(PARTIAL)
    out = tmp_path / "out"
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 1
    assert main(["analyze", str(out)]) == 0
    text = (out / "report" / "report.md").read_text()
    assert "Not analysed" in text
    assert "design points have no finished run" in text
    assert "## Failed runs" in text
    assert "ValueError: x = " in text


@pytest.mark.parametrize(
    ("design", "index"),
    [
        ('kind = "morris"\nsamples = 20', "mu_star"),
        ('kind = "lhs"\nsamples = 200', "pawn"),
    ],
)
def test_morris_and_latin_hypercube_sweeps_get_their_indices(tmp_path, design, index):
    text = SOBOL_TOY.replace('kind = "sobol"\nsamples = 64', design)
    experiment = tmp_path / "toy.toml"
    experiment.write_text(text.replace("replications = 2", "replications = 1"))
    out = tmp_path / "out"
    assert main(["sweep", str(experiment), "--out", str(out), "--quiet"]) == 0
    assert main(["analyze", str(out)]) == 0
    indices = pd.read_csv(out / "report" / "indices.csv")
    main_rows = indices[indices["index"] == index].set_index("factor")["estimate"]
    assert {"x1", "x2", "x3"} <= set(main_rows.index)
    assert main_rows["x3"] < max(main_rows["x1"], main_rows["x2"])
    assert f"Ranked by {index}" in (out / "report" / "report.md").read_text()
