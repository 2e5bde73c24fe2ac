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
    found_firms,
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
    f.subsidy_claim[0] = 0.8
    f.member[4] = 1
    f.university[2] = 0
    w.set_rates(base_exit=0.0, tie_credit=0.01, platform_credit=0.15)
    t = w.tally  # counts of firms that acted before in this step
    t.exits, t.failures, t.young_exits, t.infant_exits = 5, 4, 3, 2
    return w


def test_a_firm_leaves_when_funds_claim_and_credit_are_used_up():
    w = failing_world()
    exit_if_failing(w, ALL)
    # credit: base output (0.4 M yuan a worker) times 0.01 a partner and 0.15
    # for a platform member. Firm 0: -1 + 0.8 claimed + 40 * 0.01 = 0.2, stays;
    # firm 2: -1 + 8 * 0.01 = -0.92, leaves; firm 4: -3 + 32 * 0.15 = 1.8, stays
    f = w.firms
    assert f.alive.tolist() == [True, True, False, False, True, True, False, False]
    assert w.partners_of(1) == [0] and f.ties[1] == 1
    assert (f.partners[2] == -1).all() and f.ties[2] == 0
    assert (f.size[2], f.funds[2], f.university[2]) == (0.0, 0.0, -1)
    assert w.ledger.flows["exit_funds"].tolist() == [-1.0, 0.0]
    assert w.ledger.flows["exits"].tolist() == [1.0, 0.0]
    t = w.tally
    assert (t.exits, t.failures, t.young_exits, t.infant_exits) == (6, 5, 4, 2)
    assert w.enterprises.died_slots == [2]


def test_the_background_hazard_closes_firms_and_a_failing_one_leaves_once():
    w = failing_world()
    w.firms.age[0] = 3.0  # young means younger than 3 years
    w.set_rates(base_exit=1.0)
    exit_if_failing(w, ALL)
    assert not w.firms.alive.any()
    assert not (w.firms.partners >= 0).any() and not w.firms.ties.any()
    t = w.tally
    # ages 3, 0.5, 2, 10, 1: three under 3 years, one under 1
    assert (t.exits, t.failures, t.young_exits, t.infant_exits) == (10, 5, 6, 3)
    assert w.ledger.flows["exits"].tolist() == [3.0, 2.0]
    assert w.ledger.flows["exit_funds"].tolist() == [-1.0 + 3.0 - 1.0, -3.0 + 10.0]
    assert sorted(w.enterprises.died_slots) == [0, 1, 2, 4, 5]


def test_firms_leaving_together_cut_their_ties_once_and_free_their_partners():
    w = HandWorld()
    w.tie(0, 1, VERTICAL)
    w.tie(1, 2, CROSS_INDUSTRY)
    w.tie(0, 4, CROSS_TOWN)
    w.firms.member[0] = 3
    w.firms.subsidy_claim[[0, 1]] = 0.3
    retire_firms(w, np.array([0, 1]))
    f = w.firms
    assert f.subsidy_claim[[0, 1]].tolist() == [0.0, 0.0]
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


def test_a_lone_startup_copies_up_to_level_3_and_losses_keep_entrants_away():
    w = entry_world(1, 0)
    f, towns = w.firms, w.towns
    towns.gdp[0] = 0.5  # a tiny town: margin 0.06 / 0.5 = 0.12, as before
    f.profit[[0, 1, 2]] = [0.03, 0.02, 0.01]
    f.profit[[4, 5]] = [-4.0, 1.0]
    towns.share_at_least[0] = [1.0, 1.0, 0.9, 0.8, 0.7, 0.0]
    w.tally.entries = 4  # firms that entered earlier in the step
    enter_startups(w)
    (lam,) = w.rng.calls[[c[0] for c in w.rng.calls].index("poisson")][2]
    assert lam.tolist() == pytest.approx([0.96, 0.0], rel=1e-12)
    assert w.enterprises.born_slots == [3]
    # u = 0.5 is below the shares at levels >= 2, >= 3 and >= 4: the start-up
    # copies level 3, the highest it may
    assert f.level[3] == 3 and f.alive[3]
    assert w.tally.entries == 5
    assert w.ledger.flows["entries"].tolist() == [1.0, 0.0]


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


# --- founding (ODD 5 and 7.12) ----------------------------------------------------


def odd_revenue(size, efficiency, level, knowledge, customized):
    """Yearly output by ODD 7.9, at the default economy."""
    fit = np.array([0.3, 0.4, 1.0, 1.2])[level - 1]
    gain = (1 + 0.12 * (level - 1)) * (1 + 0.3 * knowledge)
    return size * efficiency * 0.4 * gain * ((1 - customized) + customized * fit)


def test_new_firms_are_drawn_as_the_odd_says():
    draws = Draws(
        random=[[0.1, 0.5, 0.9], [0.0, 0.5, 0.9999]],  # related industry; size
        integers=[[5, 1, 12], [0, 1, 2]],  # industry offset; stage
        lognormal=[[0.9, 1.0, 1.1], [0.5, 1.0, 4.0]],  # efficiency; knowledge
        uniform=[[1.0, 1.2, 1.5]],  # talent above the need
        normal=[[-0.5, 0.0, 0.7]],  # trust around its start
    )
    w = HandWorld(rng=draws)
    f, slots = w.firms, np.array([3, 6, 7])
    # what the firms that left these slots left behind
    f.member[slots], f.university[slots], f.blocked[slots] = 3, 0, 4
    f.project_left[slots] = f.subsidy_claim[slots] = 0.5
    f.adoption_probability[slots], f.upgraded_at[slots] = 0.3, 2015.0
    levels = np.array([1, 2, 4])
    found_firms(
        w.settings,
        w.towns,
        f,
        slots,
        levels,
        draws,
        np.array([1.0, 2.0, 3.0]),
        0.2,
        0.3,
    )
    calls = [(method, args) for method, _, args in draws.calls]
    assert [method for method, _ in calls] == [
        "random",
        "integers",
        "random",
        "integers",
        "lognormal",
        "lognormal",
        "uniform",
        "normal",
    ]
    # 13 industries, 3 stages, efficiency lognormal of mean 1 and s.d. 0.2 in
    # logs, knowledge s.d. 0.3 in logs, talent 1 to 1.5 times its need, trust
    # 0.05 around its start (ODD 5)
    assert [args for _, args in calls[1::2]] == [(1, 13), (0, 3), (0, 0.3), (0, 0.05)]
    assert calls[4][1] == pytest.approx((-0.5 * 0.2**2, 0.2))
    assert calls[6][1] == (1.0, 1.5)
    assert f.alive[slots].all() and f.level[slots].tolist() == [1, 2, 4]
    # related industry below 0.2: town 0's furniture (4) plus 5 is 9
    assert f.industry[slots].tolist() == [9, 7, 7]
    assert f.stage[slots].tolist() == [0, 1, 2]
    # Pareto sizes from 10 workers, tail 1.1, at most 20,000
    sizes = [10.0, 10 * 0.5 ** (-1 / 1.1), 20_000.0]
    assert f.size[slots].tolist() == pytest.approx(sizes, rel=1e-12)
    assert f.efficiency[slots].tolist() == [0.9, 1.0, 1.1]
    # knowledge 0.2 grows by half of it a level, times the draw, at most 1
    assert f.knowledge[slots].tolist() == pytest.approx([0.1, 0.3, 1.0], rel=1e-12)
    # talent: the start share (0.02) or the level's need, times the draw
    assert f.talent[slots].tolist() == pytest.approx([0.02, 0.024, 0.135], rel=1e-12)
    assert f.trust[slots].tolist() == pytest.approx([0.0, 0.4, 1.0])  # 0.4 + 0.05z
    assert f.age[slots].tolist() == [1.0, 2.0, 3.0]
    output = odd_revenue(
        np.array(sizes),
        np.array([0.9, 1.0, 1.1]),
        levels,
        np.array([0.1, 0.3, 1.0]),
        0.2,
    )
    assert f.output[slots].tolist() == pytest.approx(output.tolist(), rel=1e-12)
    costs = np.array(sizes) * (0.4 * 0.85 + np.array([0.02, 0.024, 0.135]) * 0.12)
    assert f.profit[slots].tolist() == pytest.approx((output - costs).tolist())
    assert f.funds[slots].tolist() == pytest.approx((0.3 * output).tolist())
    assert f.member[slots].tolist() == f.blocked[slots].tolist() == [0, 0, 0]
    assert f.university[slots].tolist() == [-1, -1, -1]
    assert (
        f.project_left[slots].tolist() == f.subsidy_claim[slots].tolist() == [0.0] * 3
    )
    assert f.adoption_probability[slots].tolist() == [0.0] * 3
    assert np.isnan(f.upgraded_at[slots]).all()
    assert (f.partners[slots] == -1).all() and (f.tie_kind[slots] == -1).all()
    assert not f.ties[slots].any()
