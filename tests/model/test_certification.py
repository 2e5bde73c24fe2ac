"""Certification of towns (agents/certification.py, ODD 7.17): candidates are
simulated from the start and the largest join the list at a steady pace."""

from __future__ import annotations

import numpy as np

from agents.certification import certified_by
from model import TownModel
from scenarios import build_scenario

LISTED = {
    "towns": 8,
    "firms_per_town": 20,
    "min_firms_per_town": 5,
    "start_output": 8000.0,
    "town_size_spread": 0.8,
    "end_year": 2022,
    "certification.candidate_share": 0.5,
    "certification.rate": 0.125,
}


def test_the_pace_is_a_running_total_that_stops_with_the_candidates():
    s = build_scenario({}, {**LISTED, "start_year": 2015, "certification.rate": 0.2})
    # 8 x 0.2 = 1.6 towns a year: 2, 3, 5, then the 4 candidates are all in
    assert [certified_by(s, y) for y in range(2015, 2020)] == [0, 2, 3, 4, 4]


def test_the_largest_candidates_join_each_year_and_get_the_towns_policy():
    model = TownModel(rng=4, views="lazy", **LISTED)
    start = model.settings.run.start_year
    candidates = np.flatnonzero(~model.towns.certified)
    assert candidates.size == 4
    model.run()
    towns = model.town_frame(candidates=True)
    listed = model.town_frame()
    counts = listed.groupby("year")["town"].count()
    # 8 towns, one more each year until the 4 candidates are in
    assert counts.tolist() == [8, 9, 10, 11, 12, 12, 12]
    for year in range(start + 1, start + 5):
        joined = towns[(towns["year"] == year) & (towns["certified_year"] == year)]
        waiting = towns[(towns["year"] == year) & (towns["certified_year"] == -1)]
        assert len(joined) == 1
        assert joined["gdp"].min() >= waiting["gdp"].max() or waiting.empty
    # before it is certified a town spends nothing on the levers; after, it does
    spent = [c for c in towns.columns if c.startswith("spent_")]
    before = towns[towns["certified_year"] == -1]
    assert (before[spent].to_numpy() == 0).all()
    after = towns[(towns["certified_year"] > start) & (towns["year"] == 2022)]
    assert len(after) == 4 and (after[spent].sum(axis=1) > 0).all()
    series = model.model_frame()
    assert series["towns"].iloc[0] == 8 and series["towns"].iloc[-1] == 12


def test_without_candidates_every_town_is_listed_from_the_start():
    quiet = {**LISTED, "certification.candidate_share": 0.0}
    model = TownModel(rng=4, views="lazy", **quiet).run()
    towns = model.town_frame(candidates=True)
    assert (towns["certified_year"] == model.settings.run.start_year).all()
