"""The outcome catalogue against the town table it measures."""

import pytest


def test_the_catalogue_measures_levels_knowledge_flows_and_protection():
    from experiments.sweeps.outcomes import measure
    from model import TownModel

    model = TownModel("ip", rng=3, towns=3, firms_per_town=30, end_year=2019).run()
    towns = model.town_frame()
    names = ["mean_firm_level", "knowledge_shared", "ip_protection"]
    rows = measure(towns, [*names, "total_knowledge_leaked"], years=[2019])
    value = rows.set_index("outcome")["value"]
    alive = model.firms.alive
    assert value["mean_firm_level"] == model.firms.level[alive].mean()
    last = towns[towns["year"] == 2019]
    assert value["knowledge_shared"] == pytest.approx(last["shared"].sum())
    assert value["ip_protection"] == pytest.approx(last["ip_protection"].mean())
    assert value["total_knowledge_leaked"] == pytest.approx(towns["leaked"].sum())
