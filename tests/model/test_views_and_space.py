"""Firm views (eager or lazy) and the town cells they sit in."""

import numpy as np
import pandas as pd

from agents import Enterprise
from agents.tables import Blocks
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
    first = firm.explain()[0]
    assert first.startswith(f"Level {firm.level}; yearly chance to climb "), first


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


def test_regrouped_blocks_keep_every_firm_and_its_ties():
    model = TownModel(rng=5, **SMALL)
    model.run()
    f, old = model.firms, model.blocks
    new = Blocks(width=old.width + np.array([7, 0, 3]), most=old.most + 7)
    wider = f.regrouped(old, new)
    slots = np.flatnonzero(f.alive)
    moved = old.moved_to(new)[slots]
    assert wider.alive.sum() == slots.size and wider.alive[moved].all()
    for name in ("id", "size", "knowledge", "funds", "level", "efficiency", "ties"):
        np.testing.assert_array_equal(
            getattr(wider, name)[moved], getattr(f, name)[slots]
        )
    np.testing.assert_array_equal(wider.town[moved], f.town[slots])
    # partner lists point at the partners' new slots, in the same columns
    new_of = dict(zip(slots.tolist(), moved.tolist(), strict=True))
    assert f.ties[slots].sum() > 50
    for slot, to in zip(slots, moved, strict=True):
        expected = [new_of[p] if p >= 0 else -1 for p in f.partners[slot].tolist()]
        assert wider.partners[to].tolist() == expected
    assert (wider.partners[~wider.alive] == -1).all()
    assert (wider.town == new.town_of_slots).all()


def test_town_blocks_widen_as_towns_fill_up_to_the_headroom():
    params = {"towns": 3, "firms_per_town": 40, "headroom": 0.5, "entry_rate": 0.6}
    model = TownModel(rng=1, views="all", end_year=2030, **params)
    # 5% room at the start, widening up to 50%
    assert model.blocks.width.tolist() == [42] * 3
    assert model.blocks.most.tolist() == [60] * 3
    fixed = ("id", "town", "industry", "stage", "efficiency")
    while model.running and (model.blocks.width == 42).all():
        before = {a: [getattr(a, k) for k in fixed] for a in model.enterprises.values()}
        model.step()
    assert (model.blocks.width > 42).any(), "no town filled its first block"
    # the agents that lived through the widening view the same firms as before
    kept = [a for a in before if model.enterprises.get(a.slot) is a]
    assert len(kept) > 100
    assert all([getattr(a, k) for k in fixed] == before[a] for a in kept)
    model.run()
    counts = np.bincount(model.firms.town[model.firms.alive], minlength=3)
    width = model.blocks.width
    assert (width <= 60).all() and (counts <= width).all()
    assert (
        sorted(a.slot for a in model.agents_by_type[Enterprise])
        == np.flatnonzero(model.firms.alive).tolist()
    )
