"""Prices: the model's output is real, and a price path makes it nominal."""

from __future__ import annotations

import pytest

from model import TownModel
from scenarios import build_scenario


def test_price_index_is_one_at_the_start_and_compounds_the_deflator():
    s = build_scenario({}, {"run.start_year": 2015, "prices.deflator_growth": 0.01})
    assert s.price_index(2015) == 1.0
    assert s.price_index(2020) == pytest.approx(1.01**5, rel=1e-12)
    assert s.price_index(2015.25) == pytest.approx(1.01**0.25, rel=1e-12)


def test_nominal_output_is_real_output_at_the_years_prices():
    model = TownModel(towns=3, firms_per_town=20, end_year=2019, rng=2)
    model.settings.prices.deflator_growth = 0.05
    model.run()
    start = model.settings.run.start_year
    towns = model.town_frame()
    index = (1.05 ** (towns["year"] - start)).to_numpy()
    assert towns["gdp_nominal"].to_numpy() == pytest.approx(
        towns["gdp"].to_numpy() * index, rel=1e-12
    )
    series = model.model_frame()
    index = 1.05 ** (series["year"] - start)
    assert series["gdp_nominal"].to_numpy() == pytest.approx(
        (series["gdp"] * index).to_numpy(), rel=1e-12
    )
    assert series["gdp_nominal"].iloc[-1] > series["gdp"].iloc[-1]


def test_prices_change_no_rule():
    real = TownModel(towns=3, firms_per_town=20, end_year=2019, rng=3).run()
    dear = TownModel(
        towns=3, firms_per_town=20, end_year=2019, rng=3, deflator_growth=0.2
    ).run()
    assert dear.town_frame()["gdp"].equals(real.town_frame()["gdp"])
