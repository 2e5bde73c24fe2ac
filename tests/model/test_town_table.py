"""The town table: one column per system index, named from the systems table."""

from __future__ import annotations

from agents.systems import SYSTEMS
from model import TownModel
from scenarios.schema import INDUSTRIES


def test_town_table_names_the_leading_industry_and_keeps_the_indices_apart():
    towns = TownModel(towns=3, firms_per_town=20, rng=1).run().town_frame()
    assert set(towns["leading_industry"]) <= set(INDUSTRIES)
    columns = [system.column for system in SYSTEMS]
    assert all(name.startswith("index_") for name in columns)
    assert not {"industry", "platforms", "enterprises"} & set(towns.columns)
    for name in columns:
        assert towns[name].dtype.kind == "f"
        assert towns[name].between(0.0, 1.0).all()
