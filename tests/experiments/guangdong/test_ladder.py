"""The ladder's sensitivity (experiments/guangdong/ladder.py): re-reading a run's
town table with the scenario's own thresholds gives the model's dimensions, and
stricter thresholds never raise a town."""

from __future__ import annotations

import numpy as np

from experiments.guangdong import ladder
from model import TownModel
from scenarios import load_scenario

SMALL = {"towns": 12, "firms_per_town": 40, "end_year": 2028}


def test_the_scenarios_thresholds_give_back_the_models_dimensions():
    s = load_scenario(None, SMALL)
    towns = TownModel(s, rng=2, views="lazy").run().town_frame()
    assert towns["dimension"].max() >= 2
    again = ladder.dimensions(towns, s, s.ladder.firm_share, 1.0)
    np.testing.assert_array_equal(again, towns["dimension"].to_numpy())
    stricter = ladder.dimensions(towns, s, 0.9, 1.3)
    assert (stricter <= again).all() and (stricter < again).any()


def test_the_timeline_dates_a_rung_by_the_first_platform_when_d_waits_for_it():
    s = load_scenario(None, SMALL)
    towns = TownModel(s, rng=2, views="lazy").run().town_frame()
    row = ladder.timeline(towns, ladder.dimensions(towns, s, 0.0, 1.0))
    # with no firm share needed, dimension 2 waits only for D, and D is 0
    # until a town has a platform (the platform index is 0 before)
    assert row["2D in first platform year, %"] > 50
    assert set(row) >= {"2020 >= 2D, %", "median year 4D"}
