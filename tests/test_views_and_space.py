"""Firm views (eager or lazy) and the town cells they sit in."""

import numpy as np
import pandas as pd

from agents import Enterprise
from model import TownModel

SMALL = {"towns": 3, "firms_per_town": 30, "end_year": 2020}


def test_lazy_views_give_the_same_results_and_make_agents_on_demand():
    eager = TownModel(rng=4, views="all", **SMALL)
    lazy = TownModel(rng=4, views="lazy", **SMALL)
    assert len(eager.agents_by_type[Enterprise]) == 90
    assert Enterprise not in lazy.agents_by_type
    eager.run()
    lazy.run()
    pd.testing.assert_frame_equal(eager.town_frame(), lazy.town_frame())
    slot = next(iter(lazy.enterprises))
    firm = lazy.enterprises[slot]
    assert firm.cell is lazy.grid[int(lazy.firms.town[slot])]
    assert firm.level == int(lazy.firms.level[slot])
    assert len(lazy.agents_by_type[Enterprise]) == 1


def test_every_live_firm_has_one_agent_in_its_town_cell():
    model = TownModel(rng=2, **SMALL)
    model.run()
    alive = np.flatnonzero(model.firms.alive)
    agents = model.agents_by_type[Enterprise]
    assert sorted(a.slot for a in agents) == alive.tolist()
    for town in range(model.n_towns):
        in_cell = [a for a in model.grid[town].agents if isinstance(a, Enterprise)]
        assert sorted(a.slot for a in in_cell) == sorted(
            a.slot for a in model.enterprises.in_town(town)
        )
        assert all(model.firms.town[a.slot] == town for a in in_cell)


def test_a_view_reads_and_writes_its_row():
    model = TownModel(rng=1, **SMALL)
    firm = model.enterprises[0]
    firm.knowledge = 0.75
    assert model.firms.knowledge[0] == 0.75
    state = firm.state
    assert state["knowledge"] == 0.75
    assert set(state["partners"]) == set(
        model.firms.partners[0][model.firms.partners[0] >= 0]
    )
    assert any("level" in line.lower() for line in firm.explain())


def test_town_cell_removes_agents_in_any_order():
    model = TownModel(rng=3, **SMALL)
    cell = model.grid[0]
    firms = model.enterprises.in_town(0)
    for firm in firms[::3]:
        firm.remove()
    remaining = {id(a) for a in cell.agents}
    assert all(id(f) not in remaining for f in firms[::3])
    assert all(id(f) in remaining for f in firms[1::3])
    assert all(cell.agents[cell._where[a]] is a for a in cell.agents)
