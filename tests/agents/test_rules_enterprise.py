"""The firm rules of agents/enterprise.py and the rate conversion of agents/base.py.

Each rule is a pure function, so it is checked against its formula at a few
points and against the properties the ODD gives it (ranges, monotonicity,
the IP trade-off) over many random inputs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from agents import demography, economy, ties
from agents import enterprise as ent
from agents.enterprise import Gate
from agents.rates import growth_per_step, per_step

unit = st.floats(0.0, 1.0, allow_nan=False)
positive = st.floats(1e-3, 1e3, allow_nan=False)
steps = st.integers(1, 52)


def unit_arrays(n: int = 16) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float64, n, elements=unit)


# --- per-step rates (agents/base.py) -----------------------------------------


@given(yearly=unit, n=steps)
def test_per_step_compounds_back_to_the_yearly_probability(yearly, n):
    p = per_step(yearly, n)
    assert 0.0 <= p <= yearly + 1e-12
    assert 1.0 - (1.0 - p) ** n == pytest.approx(yearly, abs=1e-12)


def test_per_step_examples_and_clipping():
    assert per_step(0.5, 1) == pytest.approx(0.5)
    assert per_step(0.75, 2) == pytest.approx(0.5)
    assert per_step(0.0, 4) == 0.0
    assert per_step(1.0, 4) == 1.0
    np.testing.assert_allclose(per_step(np.array([-0.5, 1.5]), 4), [0.0, 1.0])


@given(rate=st.floats(-0.5, 1.0), n=steps)
def test_growth_per_step_compounds_back_to_the_yearly_rate(rate, n):
    g = growth_per_step(rate, n)
    assert (1.0 + g) ** n == pytest.approx(1.0 + rate, rel=1e-9, abs=1e-12)


# --- absorptive capacity and imitation ---------------------------------------


def test_absorptive_capacity_formula():
    assert ent.absorptive_capacity(0.05, 0.4, 0.1) == pytest.approx(0.45)
    assert ent.absorptive_capacity(0.0, 0.0, 0.1) == 0.0
    # talent beyond the reference adds nothing more
    assert ent.absorptive_capacity(0.1, 1.0, 0.1) == pytest.approx(1.0)
    assert ent.absorptive_capacity(0.9, 1.0, 0.1) == pytest.approx(1.0)


@given(talent=unit_arrays(), knowledge=unit_arrays(), ref=st.floats(0.01, 1.0))
def test_absorptive_capacity_in_unit_interval_and_monotone(talent, knowledge, ref):
    a = ent.absorptive_capacity(talent, knowledge, ref)
    assert np.all((a >= 0.0) & (a <= 1.0))
    more_talent = ent.absorptive_capacity(np.minimum(1, talent + 0.1), knowledge, ref)
    more_knowledge = ent.absorptive_capacity(
        talent, np.minimum(1, knowledge + 0.1), ref
    )
    assert np.all(more_talent >= a - 1e-12)
    assert np.all(more_knowledge >= a - 1e-12)


def test_imitation_share_without_partners_uses_town_peers_only():
    assert ent.imitation_share(1.0, 0.25, False, 0.8) == pytest.approx(0.25)
    assert ent.imitation_share(1.0, 0.25, True, 0.8) == pytest.approx(0.85)
    assert ent.imitation_share(0.0, 0.25, True, 0.0) == pytest.approx(0.25)


@given(partners=unit_arrays(), peers=unit_arrays(), has=st.booleans(), w=unit)
def test_imitation_share_is_a_mixture_of_partners_and_peers(partners, peers, has, w):
    share = ent.imitation_share(partners, peers, np.full(partners.size, has), w)
    low, high = np.minimum(partners, peers), np.maximum(partners, peers)
    assert np.all(share >= low - 1e-12)
    assert np.all(share <= high + 1e-12)


# --- adoption hazard (Bass) --------------------------------------------------


def test_adoption_probability_is_bass_without_policy():
    # p + q * imitation, the Bass (1969) hazard
    p = ent.adoption_probability(0.03, 0.38, 0.5, 0.0, False, 1.0, 0.5)
    assert p == pytest.approx(0.03 + 0.38 * 0.5)


def test_adoption_probability_subsidy_and_membership_raise_initiative_only():
    base = ent.adoption_probability(0.03, 0.38, 0.5, 0.0, False, 2.0, 0.5)
    subsidised = ent.adoption_probability(0.03, 0.38, 0.5, 0.5, False, 2.0, 0.5)
    member = ent.adoption_probability(0.03, 0.38, 0.5, 0.0, True, 2.0, 0.5)
    assert subsidised == pytest.approx(base + 0.03 * 2.0 * 0.5)
    assert member == pytest.approx(base + 0.03 * 0.5)
    # with no innovation term, policy changes nothing (it scales p, not q)
    assert ent.adoption_probability(0.0, 0.38, 0.5, 0.5, True, 2.0, 0.5) == (
        pytest.approx(0.38 * 0.5)
    )


@given(
    p=unit,
    q=unit,
    imitation=unit_arrays(),
    subsidy=unit,
    member=st.booleans(),
    s_eff=st.floats(0, 10),
    p_eff=st.floats(0, 10),
)
def test_adoption_probability_is_a_probability_and_monotone(
    p, q, imitation, subsidy, member, s_eff, p_eff
):
    prob = ent.adoption_probability(p, q, imitation, subsidy, member, s_eff, p_eff)
    assert np.all((prob >= 0.0) & (prob <= 1.0))
    more_imitation = ent.adoption_probability(
        p, q, np.minimum(1, imitation + 0.1), subsidy, member, s_eff, p_eff
    )
    more_subsidy = ent.adoption_probability(
        p, q, imitation, subsidy + 0.1, member, s_eff, p_eff
    )
    as_member = ent.adoption_probability(p, q, imitation, subsidy, True, s_eff, p_eff)
    for raised in (more_imitation, more_subsidy, as_member):
        assert np.all(raised >= prob - 1e-12)


# --- upgrade gates -----------------------------------------------------------


def _gates(**changes: float) -> int:
    values = {
        "funds": 1.0,
        "own_cost": 0.5,
        "talent": 0.1,
        "talent_needed": 0.05,
        "absorptive": 0.5,
        "absorptive_needed": 0.3,
        "infrastructure": 0.6,
        "infrastructure_needed": 0.45,
    }
    return int(ent.upgrade_blockers(**(values | changes)))


def test_upgrade_blockers_one_bit_per_gate():
    assert _gates() == 0
    assert _gates(funds=0.4) == Gate.FUNDS
    assert _gates(talent=0.01) == Gate.TALENT
    assert _gates(absorptive=0.2) == Gate.ABSORPTION
    assert _gates(infrastructure=0.3) == Gate.INFRASTRUCTURE
    everything = _gates(funds=0.0, talent=0.0, absorptive=0.0, infrastructure=0.0)
    assert (
        everything == Gate.FUNDS | Gate.TALENT | Gate.ABSORPTION | Gate.INFRASTRUCTURE
    )


def test_upgrade_blockers_exactly_enough_is_enough():
    assert _gates(funds=0.5, talent=0.05, absorptive=0.3, infrastructure=0.45) == 0


def test_blocker_bits_are_distinct_and_all_explained():
    bits = [Gate.FUNDS, Gate.TALENT, Gate.ABSORPTION, Gate.INFRASTRUCTURE, Gate.TOP]
    assert len(set(bits)) == len(bits)
    assert all(b & (b - 1) == 0 for b in bits)  # powers of two
    assert set(Gate.TEXT) == set(bits)


# --- knowledge ---------------------------------------------------------------


def test_learning_gain_formula():
    assert ent.learning_gain(0.5, 0.2, 0.6, 0.5, 0.4) == pytest.approx(
        0.5 * 0.4 * 0.5 * 0.4
    )
    assert ent.learning_gain(0.5, 0.7, 0.6, 0.5, 0.4) == 0.0  # nothing to learn


@given(
    absorb=unit_arrays(),
    own=unit_arrays(),
    source=unit_arrays(),
    openness=unit,
    rate=unit,
)
def test_learning_gain_never_lowers_and_never_overshoots(
    absorb, own, source, openness, rate
):
    gain = ent.learning_gain(absorb, own, source, openness, rate)
    assert np.all(gain >= 0.0)
    # closing part of the gap: the learner never ends beyond its source
    assert np.all(own + gain <= np.maximum(own, source) + 1e-12)
    assert np.all(gain[source <= own] == 0.0)


@given(ip=unit, floor=unit, maximum=unit)
def test_ip_protection_trade_off_sharing_rises_leakage_falls(ip, floor, maximum):
    share, leak = ent.sharing(ip, floor), ent.leakage(ip, maximum)
    assert floor - 1e-12 <= share <= 1.0 + 1e-12
    assert -1e-12 <= leak <= maximum + 1e-12
    higher = min(1.0, ip + 0.1)
    assert ent.sharing(higher, floor) >= share - 1e-12
    assert ent.leakage(higher, maximum) <= leak + 1e-12


def test_sharing_and_leakage_end_points():
    assert ent.sharing(0.0, 0.2) == pytest.approx(0.2)
    assert ent.sharing(1.0, 0.2) == pytest.approx(1.0)
    assert ent.leakage(0.0, 0.3) == pytest.approx(0.3)
    assert ent.leakage(1.0, 0.3) == pytest.approx(0.0)


@given(knowledge=unit_arrays(), rd=unit, leak=unit)
def test_own_research_bounded_and_discouraged_by_leaks(knowledge, rd, leak):
    gain = ent.own_research(knowledge, rd, leak)
    assert np.all(gain >= 0.0)
    assert np.all(knowledge + gain <= 1.0 + 1e-12)
    assert np.all(ent.own_research(knowledge, rd, min(1.0, leak + 0.1)) <= gain + 1e-12)
    assert ent.own_research(1.0, rd, leak) == 0.0


# --- economy -----------------------------------------------------------------


def test_revenue_formula():
    value = economy.revenue(100, 1.0, 3, 0.5, 1.0, 0.4, 0.4, 0.12, 0.3)
    expected = 100 * 0.4 * (1 + 0.12 * 2) * (1 + 0.3 * 0.5) * (0.6 + 0.4 * 1.0)
    assert value == pytest.approx(expected)


@given(
    size=st.floats(1, 1e4),
    knowledge=unit,
    customized=unit,
    level_gain=st.floats(0, 2),
    knowledge_gain=st.floats(0, 5),
)
def test_revenue_grows_with_level_and_knowledge(
    size, knowledge, customized, level_gain, knowledge_gain
):
    fit = np.array([0.3, 0.4, 1.0, 1.2])
    levels = np.arange(1, 5)
    sales = economy.revenue(
        size, 1.0, levels, knowledge, fit, customized, 0.4, level_gain, knowledge_gain
    )
    assert np.all(sales > 0)
    assert np.all(np.diff(sales) >= -1e-9 * sales[:-1])
    args = (fit, customized, 0.4, level_gain, knowledge_gain)
    smarter = economy.revenue(size, 1.0, levels, min(1, knowledge + 0.1), *args)
    assert np.all(smarter >= sales - 1e-9)


def test_customized_demand_rewards_levels_3_and_4_only():
    fit = np.array([0.3, 0.4, 1.0, 1.2])
    levels = np.arange(1, 5)
    low = economy.revenue(10, 1.0, levels, 0.2, fit, 0.1, 0.4, 0.12, 0.3)
    high = economy.revenue(10, 1.0, levels, 0.2, fit, 0.6, 0.4, 0.12, 0.3)
    assert np.all(high[:2] < low[:2])  # levels 1-2 lose as demand turns custom
    assert high[2] == pytest.approx(low[2])  # full fit: indifferent
    assert high[3] > low[3]


def test_operating_cost_formula():
    # 100 workers at 0.4 M yuan each: 40 M yuan of base output a year
    args = (0.4, 0.85, 0.12, 0.005, 0.01, 0.03)
    alone = economy.operating_cost(100, 0.05, 0, 0, *args)
    assert alone == pytest.approx(40 * 0.85 + 0.05 * 100 * 0.12)
    tied = economy.operating_cost(100, 0.05, 3, 0, *args)
    assert tied - alone == pytest.approx(3 * 0.005 * 40 - 3 * 0.01 * 40 * 0.85)
    member = economy.operating_cost(100, 0.05, 3, 1, *args)
    assert tied - member == pytest.approx(0.03 * 40 * 0.85)


def test_revenue_scales_with_inborn_efficiency():
    args = (3, 0.5, 1.0, 0.4, 0.4, 0.12, 0.3)
    base = economy.revenue(100, 1.0, *args)
    assert economy.revenue(100, 0.8, *args) == pytest.approx(0.8 * base)
    assert economy.revenue(100, 1.25, *args) == pytest.approx(1.25 * base)


def test_credit_line_from_partners_and_platform():
    # 50 workers at 0.4 M yuan each: 20 M yuan of base output a year
    assert economy.credit_line(50, 0, 0, 0.4, 0.02, 0.05) == 0.0
    assert economy.credit_line(50, 3, 0, 0.4, 0.02, 0.05) == pytest.approx(20 * 0.06)
    assert economy.credit_line(50, 3, 2, 0.4, 0.02, 0.05) == pytest.approx(20 * 0.11)
    sizes, ties = np.array([10.0, 50.0]), np.array([1, 6])
    line = economy.credit_line(sizes, ties, np.array([1, 0]), 0.4, 0.02, 0.05)
    np.testing.assert_allclose(line, [4 * 0.07, 20 * 0.12])


def test_credit_keeps_an_embedded_firm_in_the_market():
    funds = -1.0  # a loss the firm's own money no longer covers
    alone = funds + economy.credit_line(50, 0, 0, 0.4, 0.02, 0.05)
    embedded = funds + economy.credit_line(50, 6, 1, 0.4, 0.02, 0.05)
    assert demography.exits(alone, 0.9, 0.01) and not demography.exits(
        embedded, 0.9, 0.01
    )


def test_exits_on_negative_funds_or_background_hazard():
    funds = np.array([-0.1, 0.0, 5.0, 5.0])
    draw = np.array([0.9, 0.9, 0.9, 0.001])
    np.testing.assert_array_equal(demography.exits(funds, draw, 0.01), [1, 0, 0, 1])


# --- ties --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("same_town", "same_industry", "same_stage", "kind"),
    [
        (True, True, False, ties.VERTICAL),
        (True, True, True, ties.HORIZONTAL),
        (True, False, False, ties.CROSS_INDUSTRY),
        (True, False, True, ties.CROSS_INDUSTRY),
        (False, True, True, ties.CROSS_TOWN),
        (False, True, False, ties.CROSS_TOWN),
        (False, False, True, ties.CROSS_TOWN),
        (False, False, False, ties.CROSS_TOWN),
    ],
)
def test_tie_kind_table(same_town, same_industry, same_stage, kind):
    assert int(ties.tie_kind(same_town, same_industry, same_stage)) == kind


def test_tie_kinds_are_named_in_order():
    kinds = (ties.VERTICAL, ties.HORIZONTAL, ties.CROSS_INDUSTRY, ties.CROSS_TOWN)
    assert [ties.TIE_KINDS[k] for k in kinds] == [
        "vertical",
        "horizontal",
        "cross_industry",
        "cross_town",
    ]


@given(
    kind=st.sampled_from([0, 1, 2, 3]),
    a=st.integers(1, 4),
    b=st.integers(1, 4),
    need=st.integers(1, 4),
)
def test_cross_border_ties_need_both_firms_high(kind, a, b, need):
    possible = bool(ties.tie_possible(kind, a, b, need))
    if kind in (ties.VERTICAL, ties.HORIZONTAL):
        assert possible
    else:
        assert possible == (min(a, b) >= need)
    assert possible == bool(ties.tie_possible(kind, b, a, need))


@given(a=unit, b=unit)
def test_tie_acceptance_is_a_symmetric_geometric_mean(a, b):
    accept = ties.tie_acceptance(a, b)
    assert accept == pytest.approx(ties.tie_acceptance(b, a))
    assert min(a, b) - 1e-12 <= accept <= max(a, b) + 1e-12
    assert ties.tie_acceptance(a, a) == pytest.approx(a)


@given(ip=unit_arrays(), member=arrays(np.bool_, 16))
def test_trust_target_in_unit_interval_and_raised_by_protection_and_platforms(
    ip, member
):
    target = ties.trust_target(ip, member)
    assert np.all((target >= 0.2 - 1e-12) & (target <= 1.0 + 1e-12))
    assert np.all(ties.trust_target(ip, True) >= target - 1e-12)
    assert np.all(ties.trust_target(np.minimum(1, ip + 0.1), member) >= target - 1e-12)


def test_one_tie_per_firm_keeps_the_first_proposal_even_in_a_cycle():
    from agents.partners import _one_tie_per_firm, distinct_pairs

    a, b = np.array([1, 2, 3, 4]), np.array([2, 3, 1, 5])
    scratch = np.full(8, np.iinfo(np.intp).max)
    assert _one_tie_per_firm(a, b, scratch).tolist() == [True, False, False, True]
    assert (scratch == np.iinfo(np.intp).max).all()  # left as it was found
    assert _one_tie_per_firm(b, a, scratch).tolist() == [True, False, False, True]
    kept = distinct_pairs(np.array([1, 2, 1]), np.array([2, 1, 3]), np.array([0, 0, 1]))
    assert [x.tolist() for x in kept] == [[1, 1], [2, 3], [0, 1]]
