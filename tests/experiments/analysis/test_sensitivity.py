"""Sensitivity indices on the Ishigami function, whose indices are known."""

import numpy as np
import pytest

from experiments.analysis.morris import morris_indices
from experiments.analysis.sobol import first_and_total, sobol_indices
from experiments.sweeps.experiment_file import DesignSettings
from experiments.sweeps.samplers import sample_unit
from experiments.sweeps.toys import ISHIGAMI_S1, ISHIGAMI_ST, ishigami_value

PROBLEM = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[0, 1]] * 3}


def ishigami_matrix(unit: np.ndarray, replications: int, noise: float, seed: int):
    x = -np.pi + 2 * np.pi * unit
    clean = np.array([ishigami_value(*row) for row in x])
    rng = np.random.default_rng(seed)
    return clean[:, None] + noise * rng.standard_normal((len(clean), replications))


def test_sobol_indices_of_the_ishigami_function_match_the_analytic_values():
    design = DesignSettings(kind="sobol", samples=2048)
    unit = sample_unit(design, 3, root_seed=1)
    matrix = ishigami_matrix(unit, replications=3, noise=0.5, seed=2)
    found = sobol_indices(PROBLEM, matrix, resamples=200, seed=3)
    for index, truth in (("S1", ISHIGAMI_S1), ("ST", ISHIGAMI_ST)):
        rows = found[found["index"] == index].set_index("factor")
        estimate = rows.loc[["x1", "x2", "x3"], "estimate"].to_numpy()
        assert estimate == pytest.approx(truth, abs=0.05), (index, estimate)
        low = rows.loc[["x1", "x2", "x3"], "low"].to_numpy()
        high = rows.loc[["x1", "x2", "x3"], "high"].to_numpy()
        assert np.all(low <= high)
        assert np.all(high - low < 0.25)
        assert np.mean((low - 0.03 <= truth) & (np.array(truth) <= high + 0.03)) == 1


def test_replication_noise_widens_the_intervals():
    design = DesignSettings(kind="sobol", samples=256)
    unit = sample_unit(design, 3, root_seed=4)
    quiet = sobol_indices(PROBLEM, ishigami_matrix(unit, 2, 0.0, 5), resamples=150)
    noisy = sobol_indices(PROBLEM, ishigami_matrix(unit, 2, 4.0, 5), resamples=150)
    width = lambda f: (f["high"] - f["low"]).mean()  # noqa: E731
    assert width(noisy) > 1.2 * width(quiet)


def test_morris_indices_are_salibs_and_rank_the_ishigami_inputs():
    from SALib.analyze import morris

    design = DesignSettings(kind="morris", samples=60, levels=4)
    unit = sample_unit(design, 3, root_seed=6)
    matrix = ishigami_matrix(unit, replications=2, noise=0.0, seed=7)
    salib = morris.analyze(PROBLEM, unit, matrix[:, 0], num_levels=4, seed=1)
    found = morris_indices(PROBLEM, unit, matrix, resamples=100).set_index("factor")
    assert found["estimate"].to_numpy() == pytest.approx(salib["mu_star"], rel=1e-12)
    assert found["estimate"].idxmin() == "x3" or found.loc["x3", "mu"] != 0
    assert (found["low"] <= found["estimate"] + 1e-9).all()


def test_the_bootstrap_uses_salibs_sobol_estimators():
    from SALib.analyze import sobol

    design = DesignSettings(kind="sobol", samples=256)
    unit = sample_unit(design, 3, root_seed=12)
    y = ishigami_matrix(unit, replications=1, noise=0.0, seed=0)[:, 0]
    standard = (y - y.mean()) / y.std()  # sobol.analyze standardizes its input
    a, b, ab, _ = sobol.separate_output_values(standard, 3, 256, False)
    first, total = first_and_total(a, ab, b)
    salib = sobol.analyze(PROBLEM, y, calc_second_order=False, seed=1)
    assert first == pytest.approx(salib["S1"], rel=1e-12)
    assert total == pytest.approx(salib["ST"], rel=1e-12)


def test_second_order_indices_find_the_ishigami_interaction():
    design = DesignSettings(kind="sobol", samples=1024, second_order=True)
    unit = sample_unit(design, 3, root_seed=8)
    matrix = ishigami_matrix(unit, replications=1, noise=0.0, seed=9)
    found = sobol_indices(PROBLEM, matrix, second_order=True, resamples=50)
    s2 = found[found["index"] == "S2"].set_index("factor")["estimate"]
    assert s2["x1 x x3"] == pytest.approx(0.2437, abs=0.06)
    assert abs(s2["x1 x x2"]) < 0.06 and abs(s2["x2 x x3"]) < 0.06


def test_pawn_matches_salib_and_puts_the_dummy_last_on_a_clear_function():
    from SALib.analyze import pawn

    from experiments.analysis.pawn import pawn_indices, pawn_median

    unit = np.random.default_rng(10).random((400, 3))
    y = ishigami_matrix(unit, replications=1, noise=0.0, seed=0)[:, 0]
    salib = pawn.analyze(PROBLEM, unit, y, S=10, seed=1)["median"]
    assert pawn_median(unit, y) == pytest.approx(salib, abs=0.01)
    linear = unit @ np.array([3.0, 2.0, 0.0])
    matrix = np.column_stack([linear, linear]) + 0.01
    found = pawn_indices(PROBLEM, unit, matrix, resamples=50)
    pawn_rows = found[found["index"] == "pawn"].set_index("factor")
    assert pawn_rows["estimate"].idxmax() == "x1"
    assert pawn_rows.loc["x2", "low"] > pawn_rows.loc["(dummy)", "high"]
    assert pawn_rows.loc["x3", "estimate"] < pawn_rows.loc["x2", "low"]
    inside = (pawn_rows["low"] <= pawn_rows["estimate"] + 1e-12) & (
        pawn_rows["estimate"] <= pawn_rows["high"] + 1e-12
    )
    assert inside.all()
