"""The growth decomposition (model/growth.py, ODD 4.11): each year's change of
the listed towns' output is split, exactly, into parts with their own
parameters, and a part vanishes when its mechanism is knocked out."""

from __future__ import annotations

import numpy as np
import pytest

from model import TownModel
from model.growth import PARTS

SMALL = {
    "towns": 6,
    "firms_per_town": 30,
    "min_firms_per_town": 10,
    "start_output": 6000.0,
    "town_size_spread": 0.8,
    "end_year": 2021,
    "certification.candidate_share": 0.5,
    "certification.rate": 0.2,
}


def growth_of(**changes):
    return TownModel(rng=5, views="lazy", **{**SMALL, **changes}).run().growth_frame()


def test_the_parts_add_up_to_the_change_of_real_and_nominal_output():
    model = TownModel(rng=5, views="lazy", **SMALL).run()
    growth = model.growth_frame()
    assert growth["year"].tolist() == list(range(2017, 2022))
    parts = growth[list(PARTS)].sum(axis=1)
    np.testing.assert_allclose(
        growth["output_before"] + parts, growth["output_after"], rtol=1e-9
    )
    # the listed towns' output is the series' real output at each year end
    series = model.model_frame().set_index("year")["gdp"]
    np.testing.assert_allclose(
        growth["output_after"], series.loc[growth["year"].astype(float)], rtol=1e-9
    )
    nominal = growth["output_after"] - growth["output_before"] + growth["prices"]
    np.testing.assert_allclose(
        nominal, growth["nominal_after"] - growth["nominal_before"], rtol=1e-9
    )
    assert (growth["certified"] > 0).sum() == 3  # 1.2 a year: 1, 2, then all 3
    assert (growth["exit"] <= 0).all() and (growth["entry"] >= 0).all()


def test_each_part_vanishes_without_its_mechanism():
    flat_fit = {"customized_fit": [1.0, 1.0, 1.0, 1.0]}
    no_gain = growth_of(level_gain=0.0, **flat_fit)
    assert no_gain["upgrading"].abs().max() == pytest.approx(0.0, abs=1e-6)
    assert no_gain["customized_shift"].abs().max() == pytest.approx(0.0, abs=1e-6)
    assert growth_of()["upgrading"].abs().max() > 1.0
    no_knowledge = growth_of(knowledge_gain=0.0)
    assert no_knowledge["knowledge"].abs().max() == pytest.approx(0.0, abs=1e-6)
    assert no_knowledge["prices"].gt(0).all()
    assert growth_of(deflator_growth=0.0)["prices"].abs().max() == 0.0
    unlisted = growth_of(**{"certification.candidate_share": 0.0})
    assert (unlisted["certified"] == 0).all()


def test_demand_is_the_survivors_size_growth():
    """Without market growth or size shocks survivors keep their size."""
    still = growth_of(market_growth=0.0, size_volatility=0.0)
    assert still["demand"].abs().max() < 1e-6 * still["output_before"].min()
    growing = growth_of(market_growth=0.05, size_volatility=0.0)
    share = growing["demand"] / growing["output_before"]
    assert share.min() > 0.03


def test_demand_follows_the_provinces_gdp_by_its_elasticity():
    """Demand grows by elasticity x GDP growth of each year; 0 elasticity ignores it.

    Output is sold before the step's size change, so a year's output growth
    carries the last quarter of the year before: 2017 has three quarters of
    its 4%, 2019 one quarter of 2018's 4% and three of its 16%.
    """
    path = {2017: 0.02, 2019: 0.08}  # 2018 keeps 2017's, 2020 on keep 2019's
    still = {"market_growth": 0.0, "size_volatility": 0.0, "gdp_growth": path}
    following = growth_of(demand_elasticity=2.0, **still).set_index("year")
    share = following["demand"] / following["output_before"]
    quarter = [1.04**0.25 - 1, 1.16**0.25 - 1]
    expected = {
        2017: (1 + quarter[0]) ** 3 - 1,
        2018: 0.04,
        2019: (1 + quarter[0]) * (1 + quarter[1]) ** 3 - 1,
        2020: 0.16,
        2021: 0.16,
    }
    for year, value in expected.items():
        assert share[year] == pytest.approx(value, abs=0.005), year
    ignored = growth_of(demand_elasticity=0.0, **still)
    assert ignored["demand"].abs().max() < 1e-6 * ignored["output_before"].min()
