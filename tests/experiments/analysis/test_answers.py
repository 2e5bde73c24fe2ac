"""Worded answers: paired verdicts, effects with intervals, facts that always hold.

A toy (`sweep_toys.paired_choice`) knows the truth: option c beats b by 0.5, and
a seed's large shared shock cancels only where the runs share seeds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from experiments.analysis.answer import (
    Noise,
    count_contenders,
    factor_effects,
    interactions,
    replication_noise,
    sharp_facts,
    verdict,
)
from experiments.analysis.report import analyze
from experiments.analysis.results import load_results, per_run
from experiments.sweeps.driver import run_sweep
from experiments.sweeps.plan import load_experiment

CHOICE = """
name = "choice"
model = "sweep_toys:paired_choice"
question = "Which option is best, and is a bigger budget worth it?"
replications = 6
root_seed = 5
seeding = "{seeding}"
[answers]
value = "more"
reached = "more"
[levers]
option = ["a", "b", "c"]
budget = [0.0, 0.2]
"""


def sweep(tmp_path, seeding: str):
    path = tmp_path / f"{seeding}.toml"
    path.write_text(CHOICE.format(seeding=seeding))
    out = tmp_path / seeding
    run_sweep(load_experiment(path), out, workers=1, progress=False)
    results = load_results(out)
    return results, per_run(results)


@pytest.fixture(scope="module")
def common(tmp_path_factory):
    return sweep(tmp_path_factory.mktemp("common"), "common")


@pytest.fixture(scope="module")
def independent(tmp_path_factory):
    return sweep(tmp_path_factory.mktemp("independent"), "independent")


def test_noise_of_a_block_design_removes_points_and_seeds():
    # 3 points x 3 seeds: point effects, seed effects and one residual pattern
    residual = np.array([[1, -1, 0], [-1, 1, 0], [0, 0, 0]], dtype=float)
    matrix = np.array([0.0, 5.0, 9.0])[:, None] + [10.0, -3.0, 2.0] + residual
    paired = replication_noise(matrix, paired=True)
    assert paired.df == 4 and paired.variance == pytest.approx(4 / 4)
    unpaired = replication_noise(matrix, paired=False)
    assert unpaired.df == 6  # the seeds' effects now count as noise
    assert unpaired.variance > 20
    assert paired.standard_error() == pytest.approx(np.sqrt(2 * 1 / 3))
    assert paired.t(0.95) == pytest.approx(stats.t.ppf(0.975, 4))
    assert paired.t(0.95, comparisons=2) == pytest.approx(stats.t.ppf(0.9875, 4))
    assert replication_noise(matrix[:, :1], paired=True) is None


def test_picking_the_best_of_many_widens_the_margin_of_a_clear_lead():
    noise = Noise(variance=1.0, df=100, replications=4, paired=True, share=0.5)
    plain = noise.t(0.95) * noise.standard_error()  # about 1.40
    gaps = np.array([0.0, 1.6, 1.8, 2.5, 3.5, 4.0, 9.0])
    assert gaps[1] > plain  # clear against the runner-up alone ...
    corrected = noise.t(0.95, comparisons=6) * noise.standard_error()
    assert 1.8 < corrected < 2.5  # ... not once the best of 7 is picked (1.90)
    assert count_contenders(gaps, noise, 0.95) == 3
    assert count_contenders(gaps[:2], noise, 0.95) == 1


def test_common_seeds_make_the_true_winner_clear_and_independent_ones_do_not(
    common, independent
):
    paired = verdict(*common, "value", "more")
    unpaired = verdict(*independent, "value", "more")
    best = common[0].design.set_index("point").loc[paired.best]
    assert (best["option"], best["budget"]) == ("c", 0.2)
    assert paired.noise.paired and not unpaired.noise.paired
    # runner-up: c at budget 0 (0.2 behind) ; the paired interval holds the truth
    assert paired.lead.low < 0.2 < paired.lead.high
    assert paired.lead.clear and paired.contenders == 1
    assert not unpaired.lead.clear and unpaired.contenders > 1
    assert paired.noise.detectable(0.95) < 0.25 < unpaired.noise.detectable(0.95)


def test_effects_and_interactions_carry_paired_intervals(common):
    results, table = common
    effects = factor_effects(results, table, "value").set_index(["factor", "level"])
    # the own noise (s.d. 0.1) is all that is left: a mean over 12 runs has
    # s.d. 0.1 / sqrt(12), a difference of two such means sqrt(2) times that
    se = 0.1 * np.sqrt(2 / 12)
    c = effects.loc[("option", "c")]
    assert abs(c["effect"] - 1.0) < 3 * se
    assert (c["high"] - c["low"]) / 2 == pytest.approx(
        stats.t.ppf(0.975, 25) * se, rel=0.3
    )
    budget = effects.loc[("budget", 0.2)]  # 18 runs each way
    assert abs(budget["effect"] - 0.2) < 3 * 0.1 * np.sqrt(2 / 18)
    pairs = interactions(results, table, "value")
    row = pairs.iloc[0]
    assert row["low"] < 0.0 < row["high"]  # the toy adds, nothing interacts
    reached = interactions(results, table, "reached").iloc[0]
    assert reached["interaction"] == pytest.approx(0.2)  # the budget lifts c, not a


def test_a_level_that_pins_an_outcome_to_its_extreme_is_said_once(common):
    results, table = common
    facts = sharp_facts(results, table, ["reached", "value"])
    assert facts == [
        "Every run with option = a (12 runs) has reached = 0; the other runs "
        "range from 1 to 1.2."
    ]


def test_the_report_opens_with_the_answer_in_words(common):
    results, _ = common
    text = analyze(results.folder).read_text()
    answer = text.split("## Answer", 1)[1].split("## Design points", 1)[0]
    assert "> Which option is best, and is a bigger budget worth it?" in answer
    assert "**value** (more is better): best is option c, budget 0.2" in answer
    assert "paired by common random numbers" in answer
    assert "The lead is clear" in answer
    assert "Raising budget from 0 to 0.2 changes value by" in answer
    assert "Every run with option = a (12 runs) has reached = 0" in answer
    assert "Interactions" in text
    report = results.folder / "report"
    points = pd.read_csv(report / "points.csv")
    assert len(points) == 6 and (points["runs"] == 6).all()
    assert {"value:mean", "value:sd"} <= set(points.columns)
    listed = text.split("## Files", 1)[1]
    assert "`points.csv`" in listed and "`runs.csv`" not in listed
