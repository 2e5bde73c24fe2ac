"""The town table keeps a town's leading industry apart from the industry index."""

from __future__ import annotations

from model import TownModel
from scenarios.schema import INDUSTRIES


def test_town_table_names_the_leading_industry_and_keeps_the_index_a_number():
    towns = TownModel(towns=3, firms_per_town=20, rng=1).run().town_frame()
    assert set(towns["leading_industry"]) <= set(INDUSTRIES)
    assert towns["industry"].dtype.kind == "f"
    assert towns["industry"].between(0.0, 1.0).all()
