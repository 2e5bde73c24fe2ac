"""Exit and entry (agents/demography.py) on the hand-built world.

Expected results are worked out by hand from ODD 5, 7.10 and 7.12; the random
numbers are fixed (`worlds.Draws`: uniform numbers `u` = 0.5 and normal ones 0,
unless a test names a firm's, a town's or a place's number).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from worlds import Draws, HandWorld

from agents.base import ALL, slots_of_places
from agents.demography import (
    SIZE_FACTOR_MAX,
    assign_ids,
    capped_totals,
    enter_startups,
    exit_hazard,
    exit_if_failing,
    found_firms,
    make_room,
    retire_firms,
)
from agents.streams import Purpose, Streams
from agents.ties import CROSS_INDUSTRY, CROSS_TOWN, VERTICAL

TOWN_1 = 1 << 32
"""The id of town 1's first firm (slot 4): ids are town << 32 | serial."""


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


def test_a_firm_acting_alone_closes_only_itself():
    """In the agents schedule each firm draws only its own exit."""
    w = HandWorld(streams=Draws(u=0.0))  # every place chosen, every hazard fires
    w.set_rates(base_exit=0.1)
    exit_if_failing(w, np.array([2]))
    alive = [True, True, False, False, True, True, False, False]
    assert w.firms.alive.tolist() == alive
    assert w.enterprises.died_slots == [2] and w.tally.exits == 1


# --- the exit hazard (ODD 7.10) ---------------------------------------------------


def by_hand(size: float, mean: float, age: float, base: float = 0.1) -> float:
    """ODD 7.10 at the default elasticity (0.2), excess (1) and years (2)."""
    return base * min(3.0, (size / mean) ** -0.2) * (1.0 + np.exp(-age / 2.0))


def test_the_exit_hazard_falls_with_size_and_age_as_the_odd_says():
    mature = 1e9  # years: the young firm's excess has faded
    assert exit_hazard(0.1, 1.0, mature, 0.2, 1.0, 2.0) == pytest.approx(0.1)
    # half the town's mean size: 2 ** 0.2 = 1.15 times the base
    assert exit_hazard(0.1, 0.5, mature, 0.2, 1.0, 2.0) == pytest.approx(0.1 * 2**0.2)
    # a newborn has 1 + excess times it, fading over the young years
    assert exit_hazard(0.1, 1.0, 0.0, 0.2, 1.5, 2.0) == pytest.approx(0.25)
    assert exit_hazard(0.1, 1.0, 2.0, 0.2, 1.5, 2.0) == pytest.approx(
        0.1 * (1.0 + 1.5 * np.exp(-1.0))
    )
    # the size factor stops at 3: a firm 1/240 of the mean is just under it
    assert exit_hazard(0.1, 1 / 240, mature, 0.2, 0.0, 2.0) == pytest.approx(
        0.1 * 240**0.2
    )
    assert 240**0.2 < SIZE_FACTOR_MAX == 3.0
    assert exit_hazard(0.1, 1e-3, mature, 0.2, 0.0, 2.0) == pytest.approx(0.3)
    assert exit_hazard(0.1, 0.0, mature, 0.2, 0.0, 2.0) == pytest.approx(0.3)
    sizes = np.array([0.01, 1.0, 100.0])
    assert exit_hazard(0.1, sizes, mature, 0.0, 0.0, 2.0).tolist() == [0.1] * 3


@settings(max_examples=200, deadline=None)
@given(
    size=st.floats(0.0, 1e6),
    bigger=st.floats(1.0, 100.0),
    age=st.floats(0.0, 100.0),
    older=st.floats(0.0, 50.0),
    elasticity=st.floats(0.0, 2.0),
    excess=st.floats(0.0, 20.0),
    years=st.floats(0.01, 50.0),
)
def test_the_exit_hazard_stays_under_the_bound_it_is_thinned_at_and_falls(
    size, bigger, age, older, elasticity, excess, years
):
    def hazard(size: float, age: float) -> float:
        return float(exit_hazard(0.01, size, age, elasticity, excess, years))

    h = hazard(size, age)
    assert 0.0 < h <= 0.01 * SIZE_FACTOR_MAX * (1.0 + excess) * (1 + 1e-12)
    assert hazard(size * bigger, age) <= h * (1 + 1e-12)
    assert hazard(size, age + older) <= h * (1 + 1e-12)


def test_the_hazard_closes_chosen_firms_whose_own_number_is_below_it():
    """Thinning: places chosen at the bound, then each firm's own number.

    The bound is 0.1 * 3 * (1 + 1) = 0.6 a step; a chosen firm closes when its
    own number (draw 1 of its id) times 0.6 is below its hazard. The numbers
    sit 1% either side of hazard / 0.6. Firm 5's place (9: town 1's places
    start at 8) is not chosen, so its number 0 is never read.
    """
    hazards = {
        0: by_hand(100, 170 / 3, 5.0),
        1: by_hand(50, 170 / 3, 0.5),
        2: by_hand(20, 170 / 3, 2.0),
        4: by_hand(80, 60, 10.0),
        5: by_hand(40, 60, 1.0),
    }
    ids = {0: 0, 1: 1, 2: 2, 4: TOWN_1, 5: TOWN_1 + 1}
    share = {0: 0.99, 1: 1.01, 2: 0.5, 4: 1.01, 5: 0.0}
    numbers = {(ids[s], 1): share[s] * hazards[s] / 0.6 for s in ids}
    numbers |= {ids[s]: 0.0 for s in ids}  # draw 0 is not the firm's number
    draws = Draws(u=0.5, by={Purpose.EXIT: numbers}, places={Purpose.EXIT: {9: 0.9}})
    w = HandWorld(streams=draws)
    w.set_rates(base_exit=0.1)
    exit_if_failing(w, ALL)
    ((chance, places, _),) = draws.asked("chosen", Purpose.EXIT)
    assert chance == pytest.approx(0.6, rel=1e-12) and places == 16
    alive = [False, True, False, False, True, True, False, False]
    assert w.firms.alive.tolist() == alive
    assert w.enterprises.died_slots == [0, 2]
    t = w.tally
    assert (t.exits, t.failures, t.young_exits, t.infant_exits) == (2, 0, 1, 0)
    assert w.ledger.flows["exits"].tolist() == [2.0, 0.0]


# --- entry (ODD 7.12) -------------------------------------------------------------


def entry_world(town_0: float, town_1: float) -> HandWorld:
    """Start-ups drawn with the towns' numbers `town_0` and `town_1`.

    Margins 6 / 50 = 0.12 and 10 / 40 = 0.25: shares min(1, margin / 0.15) =
    0.8 and 1, times 0.5 + 0.5 * D: 0.64 and 0.5. Expected entrants per step:
    0.5 * 3 * 0.64 = 0.96 in town 0 and 0.5 * 2 * 0.5 = 0.5 in town 1.
    """
    w = HandWorld(streams=Draws(u=0.5, by={Purpose.ENTRY: {0: town_0, 1: town_1}}))
    f, towns = w.firms, w.towns
    f.profit[[0, 1, 2, 4, 5]] = [3.0, 2.0, 1.0, 4.0, 6.0]
    f.profit[3] = 100.0  # a free slot's stale value is never counted
    towns.gdp[:] = [50.0, 40.0]
    towns.coordination[:] = [0.6, 0.0]
    w.set_rates(entry=0.5)
    return w


@pytest.mark.parametrize("count", [0, 1, 2, 3])
@pytest.mark.parametrize("side", [-1, 1])
def test_the_number_of_startups_is_the_poisson_quantile_of_the_towns_number(
    count, side
):
    """Just below P(N <= k) the quantile is k, just above it k + 1."""
    number = stats.poisson.cdf(count, 0.96) + side * 1e-7
    w = entry_world(number, 0.1)  # 0.1 < P(N = 0) = 0.61 in town 1: none
    enter_startups(w)
    assert w.streams.asked("uniform", Purpose.ENTRY) == [[0, 1]]
    expected = count if side < 0 else count + 1
    assert w.ledger.flows["entries"].tolist() == [expected, 0.0]
    assert w.tally.entries == expected


def test_startups_come_where_firms_earn_and_cooperate():
    # numbers 0.5 and 0.95: P(N <= 0) < 0.5 <= P(N <= 1) at 0.96 start-ups
    # expected, P(N <= 1) < 0.95 <= P(N <= 2) at 0.5
    assert stats.poisson.cdf(0, 0.96) < 0.5 <= stats.poisson.cdf(1, 0.96)
    assert stats.poisson.cdf(1, 0.5) < 0.95 <= stats.poisson.cdf(2, 0.5)
    w = entry_world(0.5, 0.95)
    f, towns = w.firms, w.towns
    f.profit[[0, 1, 2]] = [30.0, 20.0, 10.0]  # the same margin, a larger town:
    towns.gdp[0] = 500.0  # its start-up stays under a tenth of its output
    towns.size_scale[:] = [2.0, 1.0]  # town 0's firms were scaled up at the start
    enter_startups(w)
    # start-ups take the first free slots of their town's block
    assert f.alive.tolist() == [True] * 8
    assert w.enterprises.born_slots == [3, 6, 7]
    assert f.id[[3, 6, 7]].tolist() == [3, TOWN_1 + 2, TOWN_1 + 3]
    assert towns.founded.tolist() == [4, 4]
    # u = 0.5 copies a firm at level >= 2 in town 0 (share 2/3), not at
    # level >= 3 (1/3); in town 1 the share at level >= 2 is 0.5 (not above u)
    assert f.level[[3, 6, 7]].tolist() == [2, 1, 1]
    assert f.industry[[3, 6, 7]].tolist() == [4, 7, 7]  # u > 0.2: the leading one
    assert f.stage[[3, 6, 7]].tolist() == [1, 1, 1]  # floor(0.5 * 3)
    size = 10 * 0.5 * 0.5 ** (-1 / 1.1)  # half a Pareto size at u, tail 1.1
    assert f.size[[3, 6, 7]].tolist() == pytest.approx(
        [2 * size, size, size], rel=1e-12
    )
    assert f.knowledge[[3, 6, 7]].tolist() == pytest.approx(
        [0.2 * 1.5 * 0.5, 0.2 * 0.5, 0.2 * 0.5], rel=1e-12
    )
    assert f.talent[[3, 6, 7]].tolist() == pytest.approx([0.02 * 1.25] * 3)
    efficiency = np.exp(-0.5 * 0.2**2)  # lognormal with mean 1 at z = 0
    output = 2 * size * efficiency * 0.4 * 1.12 * (1 + 0.3 * 0.15) * (0.8 + 0.2 * 0.4)
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


def test_a_lone_startup_copies_up_to_level_3_and_is_cut_to_the_share_cap():
    w = entry_world(0.5, 0.999)
    f, towns = w.firms, w.towns
    towns.gdp[0] = 0.5  # a tiny town: margin 0.06 / 0.5 = 0.12, as before
    f.profit[[0, 1, 2]] = [0.03, 0.02, 0.01]
    f.profit[[4, 5]] = [-4.0, 1.0]  # town 1 makes losses: nobody enters
    towns.share_at_least[0] = [1.0, 1.0, 0.9, 0.8, 0.7, 0.0]
    w.tally.entries = 4  # firms that entered earlier in the step
    enter_startups(w)
    assert w.enterprises.born_slots == [3]
    # u = 0.5 is below the shares at levels >= 2, >= 3 and >= 4: the start-up
    # copies level 3, the highest it may
    assert f.level[3] == 3 and f.alive[3]
    # at level 3 it would sell 9.4 workers * 0.98 * 0.4 * 1.24 * 1.06 = 4.8 M
    # yuan, more than a tenth of its town's 0.5: it is cut to 0.05
    size = 10 * 0.5 * 0.5 ** (-1 / 1.1)
    output = size * np.exp(-0.02) * 0.4 * 1.24 * (1 + 0.3 * 0.2) * 1.0
    assert f.output[3] == pytest.approx(0.05, rel=1e-12)
    assert f.size[3] == pytest.approx(size * 0.05 / output, rel=1e-12)
    assert f.funds[3] == pytest.approx(0.005, rel=1e-12)
    assert w.ledger.flows["entry_funds"].tolist() == pytest.approx([0.005, 0.0])
    assert w.tally.entries == 5
    assert w.ledger.flows["entries"].tolist() == [1.0, 0.0]


def test_startups_widen_the_town_blocks_when_a_town_is_full():
    w = entry_world(0.95, 0.1)  # 3 start-ups in town 0, none in town 1
    enter_startups(w)
    # town 0 needs 3 + 3 slots: its block widens from 4 to max(6, 4 * 1.1) = 6,
    # and town 1's along with it, to ceil(4 * 1.1) = 5
    assert w.blocks.width.tolist() == [6, 5]
    assert w.enterprises.moves == [[0, 1, 2, 3, 6, 7, 8, 9]]
    f = w.firms
    assert f.size.size == 11
    assert f.size[[6, 7]].tolist() == [80.0, 40.0]
    assert f.id[[6, 7]].tolist() == [TOWN_1, TOWN_1 + 1]
    assert w.enterprises.born_slots == [3, 4, 5]
    assert f.alive.tolist() == [True] * 8 + [False] * 3


def test_blocks_widen_together_by_at_least_a_tenth_up_to_the_headroom():
    w = HandWorld()
    w.tie(0, 4, CROSS_TOWN)
    make_room(w, np.array([4, 2]))
    assert w.blocks.width.tolist() == [4, 4] and w.enterprises.moves == []
    make_room(w, np.array([5, 0]))
    assert w.blocks.width.tolist() == [5, 5]  # both to ceil(4 * 1.1)
    make_room(w, np.array([20, 6]))
    assert w.blocks.width.tolist() == [8, 6]  # town 0 at its most (8)
    make_room(w, np.array([20, 6]))  # full, or wide enough: nothing moves
    assert w.enterprises.moves == [
        [0, 1, 2, 3, 5, 6, 7, 8],
        [0, 1, 2, 3, 4, 8, 9, 10, 11, 12],
    ]
    f = w.firms
    assert f.alive.size == 14 and f.town.tolist() == [0] * 8 + [1] * 6
    assert np.flatnonzero(f.alive).tolist() == [0, 1, 2, 8, 9]
    assert f.id[[8, 9]].tolist() == [TOWN_1, TOWN_1 + 1]
    assert w.partners_of(0) == [8] and w.partners_of(8) == [0]
    # places stay with their firms: firm 5's place (9) names its new slot
    assert slots_of_places(w, np.array([1, 9]))[0].tolist() == [1, 9]


# --- founding (ODD 5 and 7.12) ----------------------------------------------------


def odd_revenue(size, efficiency, level, knowledge, customized):
    """Yearly output by ODD 7.9, at the default economy."""
    fit = np.array([0.3, 0.4, 1.0, 1.2])[level - 1]
    gain = (1 + 0.12 * (level - 1)) * (1 + 0.3 * knowledge)
    return size * efficiency * 0.4 * gain * ((1 - customized) + customized * fit)


def test_each_town_numbers_its_new_firms_in_turn():
    w = HandWorld()
    f = w.firms
    assign_ids(w.towns, f, np.array([6, 3, 7]))
    assert f.id[[3, 6, 7]].tolist() == [3, TOWN_1 + 2, TOWN_1 + 3]
    assert w.towns.founded.tolist() == [4, 4]
    # an id is never reused: a firm in a freed slot gets its town's next serial
    w.free(5)
    assign_ids(w.towns, f, np.array([5]))
    assert f.id[5] == TOWN_1 + 4 and w.towns.founded.tolist() == [4, 5]
    assert (f.id[f.id >= 0] >> 32).tolist() == f.town[f.id >= 0].tolist()
    assert np.unique(f.id[f.id >= 0]).size == 8


def test_new_firms_are_drawn_by_their_ids_as_the_odd_says():
    slots, levels = np.array([3, 6, 7]), np.array([1, 2, 4])
    ids = [3, TOWN_1 + 2, TOWN_1 + 3]  # as `assign_ids` numbers them

    def of(*numbers: float) -> dict[int, float]:
        return dict(zip(ids, numbers, strict=True))

    draws = Draws(
        by={
            Purpose.RELATED: of(0.1, 0.0, 0.9),  # below 0.2: another industry
            Purpose.OTHER_INDUSTRY: of(0.35, 0.99, 0.0),  # 1 + floor(12 u) on
            Purpose.STAGE: of(0.0, 0.5, 0.9999),
            Purpose.FIRM_SIZE: of(1.0, 0.5, 1e-5),
            Purpose.EFFICIENCY: of(-0.5, 0.0, 0.5),  # standard normal numbers
            Purpose.KNOWLEDGE: of(0.0, -1.0, 5.0),
            Purpose.TALENT: of(0.0, 0.4, 1.0),
            Purpose.TRUST: of(-10.0, 0.0, 14.0),
        }
    )
    w = HandWorld(streams=draws)
    f = w.firms
    # what the firms that left these slots left behind
    f.member[slots], f.university[slots], f.blocked[slots] = 3, 0, 4
    f.project_left[slots] = f.subsidy_claim[slots] = 0.5
    f.adoption_probability[slots], f.upgraded_at[slots] = 0.3, 2015.0
    assign_ids(w.towns, f, slots)
    assert f.id[slots].tolist() == ids
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
    assert f.alive[slots].all() and f.level[slots].tolist() == [1, 2, 4]
    # related industries: town 0's furniture (4) shifted by 5 is 9, town 1's
    # ceramics (7) shifted by 12 is 19 - 13 = 6; 13 industries in all
    assert f.industry[slots].tolist() == [9, 6, 7]
    assert f.stage[slots].tolist() == [0, 1, 2]
    # Pareto sizes from 10 workers, tail 1.1, at most 20,000
    sizes = [10.0, 10 * 0.5 ** (-1 / 1.1), 20_000.0]
    assert 10 * 1e-5 ** (-1 / 1.1) > 20_000
    assert f.size[slots].tolist() == pytest.approx(sizes, rel=1e-12)
    # lognormal efficiency of mean 1 and log-s.d. 0.2
    efficiency = np.exp(-0.02 + 0.2 * np.array([-0.5, 0.0, 0.5]))
    assert f.efficiency[slots].tolist() == pytest.approx(efficiency, rel=1e-12)
    # knowledge 0.2 grows by half of it a level, times exp(0.3 z), at most 1
    knowledge = [0.2, 0.3 * np.exp(-0.3), 1.0]
    assert f.knowledge[slots].tolist() == pytest.approx(knowledge, rel=1e-12)
    # talent: the start share (0.02) or the level's need, times 1 + u / 2
    assert f.talent[slots].tolist() == pytest.approx([0.02, 0.024, 0.135], rel=1e-12)
    assert f.trust[slots].tolist() == pytest.approx([0.0, 0.4, 1.0])  # 0.4 + 0.05z
    assert f.age[slots].tolist() == [1.0, 2.0, 3.0]
    output = odd_revenue(np.array(sizes), efficiency, levels, np.array(knowledge), 0.2)
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


NEW = ("industry", "stage", "size", "efficiency", "knowledge", "talent", "trust")
"""The columns a founding draws."""


def founded(time: int, skip: int = 0) -> HandWorld:
    """Firms founded in slots 3 and 6 at `time`, town 1's serials `skip` later."""
    w = HandWorld(streams=Streams.of(3))
    w.streams.time = time
    w.towns.founded[1] += skip
    slots = np.array([3, 6])
    assign_ids(w.towns, w.firms, slots)
    found_firms(
        w.settings, w.towns, w.firms, slots, np.array([1, 1]), w.streams, 0.0, 0.2, 0.3
    )
    return w


def test_a_new_firms_draws_follow_its_id_not_the_time_of_its_founding():
    now, later, other = founded(0), founded(9), founded(0, skip=1)
    for name in NEW:
        np.testing.assert_array_equal(
            getattr(now.firms, name)[[3, 6]], getattr(later.firms, name)[[3, 6]]
        )
    # slot 6 holds another firm (id TOWN_1 + 3): its own size and efficiency
    assert other.firms.id[6] == TOWN_1 + 3
    assert other.firms.size[3] == now.firms.size[3]
    assert other.firms.size[6] != now.firms.size[6]
    assert other.firms.efficiency[6] != now.firms.efficiency[6]


# --- the share cap (ODD 5) --------------------------------------------------------


def test_capped_totals_cut_the_largest_firms_to_the_share_cap():
    output = np.array([1.0, 10.0, 1.0, 1.0, 1.0, 3.0, 3.0, 2.0, 5.0, 1.0, 5.0, 4.0])
    town = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 4])
    cap = np.array([0.3, 0.5, 0.4, 0.5, 1.0])
    totals = capped_totals(output, town, cap)
    # town 0: the 10 is cut, T = 4 / (1 - 0.3) = 5.71, its firm at 1.71 and
    # every other firm (1) under it; town 1: nobody above half of 8; town 2:
    # both 5s cut, T = 1 / (1 - 2 * 0.4) = 5 (each at 2); town 3 has no
    # firms; town 4 has one, at a cap of 1
    assert totals.tolist() == pytest.approx([4 / 0.7, 8.0, 5.0, 0.0, 4.0], rel=1e-12)
    order = np.random.default_rng(0).permutation(output.size)
    assert capped_totals(output[order], town[order], cap).tolist() == pytest.approx(
        totals.tolist(), rel=1e-12
    )
    # a cap of one firm's share in equal parts: every firm at the smallest
    assert capped_totals(
        np.array([6.0, 2.0, 3.0]), np.zeros(3, int), np.array([1 / 3])
    )[0] == pytest.approx(6.0, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    firms=st.lists(
        st.tuples(st.integers(0, 3), st.floats(0.01, 1e4)), min_size=1, max_size=30
    ),
    share=st.floats(0.05, 1.0),
)
def test_capped_totals_solve_the_cap_equation(firms, share):
    """T = sum_i min(output_i, cap * T) and T > 0, for every town with firms.

    At a cap of exactly 1 / (the town's firms) every T up to n * (the
    smallest output) solves it: the largest is the town's total.
    """
    town = np.array([t for t, _ in firms])
    output = np.array([o for _, o in firms])
    count = np.bincount(town, minlength=4)
    cap = np.maximum(share, 1.0 / np.maximum(count, 1))
    totals = capped_totals(output, town, cap)
    for t in range(4):
        mine = output[town == t]
        if mine.size == 0:
            assert totals[t] == 0.0
            continue
        kept = np.minimum(mine, cap[t] * totals[t])
        assert kept.sum() == pytest.approx(totals[t], rel=1e-9)
        assert 0.0 < totals[t] <= mine.sum() * (1 + 1e-12)
        if mine.max() <= cap[t] * mine.sum():
            assert totals[t] == pytest.approx(mine.sum(), rel=1e-12)
        if cap[t] * mine.size <= 1.0 + 1e-12:
            assert totals[t] == pytest.approx(mine.size * mine.min(), rel=1e-9)


def test_capped_totals_at_equal_shares_keep_every_firm_at_the_smallest():
    """At a cap of 1/n, T = n * the smallest output: every firm is cut to it.

    As fit_towns sets for towns of fewer than 1 / agent_share_max agents. A
    giant firm next to small ones once cost their sum its precision, and the
    town's total came out 0.
    """
    total = capped_totals(
        np.array([1.0, 8192.0, 0.05]), np.zeros(3, dtype=np.intp), np.array([1 / 3])
    )
    assert total.tolist() == pytest.approx([0.15], rel=1e-9)
