"""Exit and entry (agents/demography.py) on the hand-built world.

Expected results are worked out by hand from ODD 7.10 and 7.12; the draws of
start-ups are fixed (`worlds.Draws`: uniform draws `u` = 0.5, normal draws 0).
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import Draws, HandWorld

from agents.base import ALL
from agents.demography import (
    enter_startups,
    exit_if_failing,
    make_room,
    retire_firms,
)
from agents.ties import CROSS_INDUSTRY, CROSS_TOWN, VERTICAL


def failing_world() -> HandWorld:
    w = HandWorld()
    w.tie(0, 1, VERTICAL)
    w.tie(1, 2, CROSS_INDUSTRY)
    f = w.firms
    f.funds[[0, 2, 4]] = [-1.0, -1.0, -3.0]
    f.subsidy_claim[0] = 0.5
    f.member[4] = 1
    f.university[2] = 0
    w.set_rates(base_exit=0.0, tie_credit=0.05, platform_credit=0.15)
    return w


def test_a_firm_leaves_when_funds_claim_and_credit_are_used_up():
    w = failing_world()
    exit_if_failing(w, ALL)
    # credit: base output (0.4 M yuan a worker) times 0.05 a partner and 0.15
    # for a platform member. Firm 0: -1 + 0.5 claimed + 40 * 0.05 = 1.5, stays;
    # firm 2: -1 + 8 * 0.05 = -0.6, leaves; firm 4: -3 + 32 * 0.15 = 1.8, stays
    f = w.firms
    assert f.alive.tolist() == [True, True, False, False, True, True, False, False]
    assert w.partners_of(1) == [0] and f.ties[1] == 1
    assert (f.partners[2] == -1).all() and f.ties[2] == 0
    assert (f.size[2], f.funds[2], f.university[2]) == (0.0, 0.0, -1)
    assert w.ledger.flows["exit_funds"].tolist() == [-1.0, 0.0]
    assert w.ledger.flows["exits"].tolist() == [1.0, 0.0]
    t = w.tally
    assert (t.exits, t.failures, t.young_exits, t.infant_exits) == (1, 1, 1, 0)
    assert w.enterprises.died_slots == [2]


def test_the_background_hazard_closes_firms_and_a_failing_one_leaves_once():
    w = failing_world()
    w.set_rates(base_exit=1.0)
    exit_if_failing(w, ALL)
    assert not w.firms.alive.any()
    assert not (w.firms.partners >= 0).any() and not w.firms.ties.any()
    t = w.tally
    # ages 5, 0.5, 2, 10, 1: three under 3 years, one under 1
    assert (t.exits, t.failures, t.young_exits, t.infant_exits) == (5, 1, 3, 1)
    assert w.ledger.flows["exits"].tolist() == [3.0, 2.0]
    assert w.ledger.flows["exit_funds"].tolist() == [-1.0 + 3.0 - 1.0, -3.0 + 10.0]
    assert sorted(w.enterprises.died_slots) == [0, 1, 2, 4, 5]


def test_firms_leaving_together_cut_their_ties_once_and_free_their_partners():
    w = HandWorld()
    w.tie(0, 1, VERTICAL)
    w.tie(1, 2, CROSS_INDUSTRY)
    w.tie(0, 4, CROSS_TOWN)
    w.firms.member[0] = 3
    retire_firms(w, np.array([0, 1]))
    f = w.firms
    assert f.ties.tolist() == [0] * 8
    assert (f.partners == -1).all() and (f.tie_kind == -1).all()
    assert f.member[0] == 0 and f.alive[[2, 4, 5]].all()
    assert w.ledger.flows["exit_funds"].tolist() == [8.0, 0.0]
    assert w.tally.exits == 2


# --- entry ------------------------------------------------------------------------


def entry_world(*counts: int) -> HandWorld:
    w = HandWorld(rng=Draws(u=0.5, poisson=[list(counts)]))
    f, towns = w.firms, w.towns
    f.profit[[0, 1, 2, 4, 5]] = [3.0, 2.0, 1.0, 4.0, 6.0]
    f.profit[3] = 100.0  # a free slot's stale value is never counted
    towns.gdp[:] = [50.0, 40.0]
    towns.coordination[:] = [0.6, 0.0]
    w.set_rates(entry=0.5)
    return w


def test_startups_come_where_firms_earn_and_cooperate():
    w = entry_world(1, 2)
    enter_startups(w)
    # margins 6 / 50 = 0.12 and 10 / 40 = 0.25: shares min(1, margin / 0.15) =
    # 0.8 and 1, times 0.5 + 0.5 * D: 0.8 and 0.5. Expected entrants per step:
    # 0.5 * 3 * 0.64 and 0.5 * 2 * 0.5
    (lam,) = w.rng.calls[[c[0] for c in w.rng.calls].index("poisson")][2]
    assert lam.tolist() == pytest.approx([0.96, 0.5], rel=1e-12)
    f = w.firms
    # start-ups take the first free slots of their town's block
    assert f.alive.tolist() == [True] * 8
    assert w.enterprises.born_slots == [3, 6, 7]
    # u = 0.5 copies a firm at level >= 2 in town 0 (share 2/3), not at
    # level >= 3 (1/3); in town 1 the share at level >= 2 is 0.5 (not above u)
    assert f.level[[3, 6, 7]].tolist() == [2, 1, 1]
    assert f.industry[[3, 6, 7]].tolist() == [4, 7, 7]  # u > 0.2: the leading one
    assert f.stage[[3, 6, 7]].tolist() == [1, 1, 1]  # floor(0.5 * 3)
    size = 10 * 0.5 * 0.5 ** (-1 / 1.1)  # half a Pareto size at u, tail 1.1
    assert f.size[[3, 6, 7]].tolist() == pytest.approx([size] * 3, rel=1e-12)
    assert f.knowledge[[3, 6, 7]].tolist() == pytest.approx(
        [0.2 * 1.5 * 0.5, 0.2 * 0.5, 0.2 * 0.5], rel=1e-12
    )
    assert f.talent[[3, 6, 7]].tolist() == pytest.approx([0.02 * 1.25] * 3)
    efficiency = np.exp(-0.5 * 0.2**2)  # lognormal with mean 1 at z = 0
    output = size * efficiency * 0.4 * 1.12 * (1 + 0.3 * 0.15) * (0.8 + 0.2 * 0.4)
    assert f.output[3] == pytest.approx(output, rel=1e-12)
    assert f.funds[3] == pytest.approx(0.1 * output, rel=1e-12)
    assert f.age[[3, 6, 7]].tolist() == [0.0] * 3
    assert (f.partners[[3, 6, 7]] == -1).all() and not f.ties[[3, 6, 7]].any()
    assert f.university[[3, 6, 7]].tolist() == [-1] * 3
    assert w.ledger.flows["entries"].tolist() == [1.0, 2.0]
    assert w.ledger.flows["entry_funds"].tolist() == pytest.approx(
        [f.funds[3], f.funds[6] + f.funds[7]], rel=1e-12
    )
    assert w.tally.entries == 3


def test_startups_widen_the_town_blocks_when_a_town_is_full():
    w = entry_world(3, 0)
    enter_startups(w)
    # town 0 needs 3 + 3 slots: blocks widen from 4 to max(6, 4 * 1.1) = 6
    assert w.capacity == 6 and w.enterprises.moves == [(4, 6)]
    f = w.firms
    assert f.size.size == 12
    assert f.size[[6, 7]].tolist() == [80.0, 40.0]  # town 1's firms moved along
    assert w.enterprises.born_slots == [3, 4, 5]
    assert f.alive.tolist() == [True] * 8 + [False] * 4


def test_blocks_widen_by_at_least_a_tenth_and_at_most_to_the_headroom():
    w = HandWorld()
    make_room(w, np.array([4, 2]))
    assert w.capacity == 4 and w.enterprises.moves == []
    make_room(w, np.array([5, 0]))
    assert w.capacity == 5  # ceil(4 * 1.1)
    make_room(w, np.array([20, 0]))
    assert w.capacity == 8 == w.max_capacity
    make_room(w, np.array([20, 0]))
    assert w.enterprises.moves == [(4, 5), (5, 8)]
    assert w.firms.alive.size == 16
    assert np.flatnonzero(w.firms.alive).tolist() == [0, 1, 2, 8, 9]
