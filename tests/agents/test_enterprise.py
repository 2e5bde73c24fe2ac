"""The firm's behaviours (agents/enterprise.py) on the hand-built world.

Each test sets the values it relies on, runs one behaviour over every slot, and
compares with figures worked out by hand from the ODD's formulas (sections 3.2,
7.5 and 7.7-7.9). The hand world's firms are listed in `worlds.FIRMS`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from worlds import Draws, HandWorld

from agents.base import ALL
from agents.enterprise import (
    STEP,
    Gate,
    consider_upgrade,
    hire_talent,
    hiring_terms,
    learn,
    learning_terms,
    produce,
    upgrade_terms,
)
from agents.streams import Purpose
from agents.ties import CROSS_TOWN, VERTICAL

ODD = Path(__file__).resolve().parents[2] / "docs" / "ODD.md"


def approx(values: list[float]) -> object:
    return pytest.approx(values, rel=1e-12, abs=1e-15)


# --- hiring (ODD 7.5) -------------------------------------------------------------


def test_hiring_rations_a_short_pool_pro_rata_and_fills_a_deep_one(pieces):
    w = HandWorld()
    w.set_rates(talent_attrition=0.1)
    w.towns.talent_pool[:] = [0.0, 1.0]
    hire_talent(w, ALL)
    # town 0: talent 0.02, 0.05, 0.09 keeps 90%: 0.018, 0.045, 0.081; its firms
    # (100, 50, 20 workers) lose 0.2 + 0.25 + 0.18 = 0.63 FTE, of which half
    # comes back to the empty pool (0.315), and ask 0.63 FTE to reach their next
    # step's need (0.02, 0.05, 0.09): each gets half of what it asked for
    f = w.firms
    assert f.talent[[0, 1, 2]].tolist() == approx([0.019, 0.0475, 0.0855])
    # town 1: 0.03 and 0.1 keep 0.027 and 0.09, at or above their needs (0.02,
    # and level 4 keeps the 3->4 need 0.09): nobody hires, the pool gets half
    # of 0.24 + 0.4 FTE
    assert f.talent[[4, 5]].tolist() == approx([0.027, 0.09])
    assert w.towns.talent_pool.tolist() == approx([0.0, 1.32])


def test_hiring_from_a_deep_pool_reaches_exactly_the_next_need(pieces):
    w = HandWorld()
    w.set_rates(talent_attrition=0.1)
    w.towns.talent_pool[:] = [10.0, 0.0]
    hire_talent(w, ALL)
    assert w.firms.talent[[0, 1, 2]].tolist() == approx([0.02, 0.05, 0.09])
    # 10 + 0.315 returning - 0.63 hired
    assert w.towns.talent_pool[0] == pytest.approx(9.685, rel=1e-12)


# --- learning (ODD 7.7) -----------------------------------------------------------


def learning_world() -> HandWorld:
    """Firm 0 learns from every source; firm 4 only by its own research."""
    w = HandWorld(steps_per_year=4)
    w.set_rates(
        learning=0.5,
        platform_learning=0.2,
        project_learning=0.4,
        rd=0.1,
        sharing_floor=0.2,
        leakage_max=0.3,
        talent_reference=0.1,
        licence_cost=2.0,
    )
    f, towns = w.firms, w.towns
    f.knowledge[[0, 1, 2, 4, 5]] = [0.2, 1.0, 1.0, 0.3, 1.0]
    f.talent[[0, 4]] = [0.05, 0.03]
    f.member[0] = 1
    f.university[0] = 0  # knowledge 0.7
    w.tie(0, 1, VERTICAL)
    w.tie(0, 4, CROSS_TOWN)
    towns.ip_protection[:] = [0.5, 1.0]
    towns.platform_knowledge[:] = [0.9, 0.9]  # firm 4 is no member
    return w


def test_learning_adds_every_source_at_the_sources_openness(pieces):
    w = learning_world()
    learn(w, ALL)
    # firm 0: absorptive capacity 0.5 * min(1, 0.05 / 0.1) + 0.5 * 0.2 = 0.35.
    # Openness is the source's: 0.2 + 0.8 * 0.5 = 0.6 in town 0, 1.0 in town 1;
    # leakage 0.3 * (1 - 0.5) = 0.15 a year in town 0, 0 in town 1.
    ties = 0.35 * 0.5 * ((1.0 - 0.2) * 0.6 + (0.3 - 0.2) * 1.0)  # 0.1015
    platform = 0.35 * (0.9 - 0.2) * 0.6 * 0.2  # 0.0294
    project = 0.35 * (0.7 - 0.2) * 1.0 * 0.4  # 0.07
    leaks = 0.35 * (0.4 - 0.2) * (1 - 0.85**0.25)  # the yearly 0.15 per quarter
    research = 0.1 * (1 - 0.2) * (1 - 0.15)  # 0.068
    f = w.firms
    assert f.knowledge[0] == pytest.approx(
        0.2 + ties + platform + project + leaks + research, rel=1e-12
    )
    # firm 4 (absorptive 0.3) is ahead of its partner and of its town's mean,
    # and nothing leaks at full protection: only research, at full effort
    assert f.knowledge[4] == pytest.approx(0.3 + 0.1 * 0.7, rel=1e-12)
    assert f.knowledge[[1, 2, 5]].tolist() == [1.0, 1.0, 1.0]
    # licences: 2 M yuan per knowledge unit and 1,000 workers at protection 0.5
    licence = 2.0 * 0.5 * (ties + platform) * 100 / 1000
    assert f.funds[0] == pytest.approx(5.0 - licence, rel=1e-12)
    assert f.funds[[1, 2, 4, 5]].tolist() == [3.0, 2.0, 4.0, 10.0]
    flows = w.ledger.flows
    assert flows["licences"].tolist() == approx([licence, 0.0])
    assert flows["shared"].tolist() == approx([ties + platform, 0.0])
    assert flows["leaked"].tolist() == approx([leaks, 0.0])


def test_learning_reads_the_partners_knowledge_from_before_anyone_learnt(pieces):
    """Synchronous updating: firm 1 learns from firm 0's old knowledge."""
    w = HandWorld()
    w.set_rates(learning=0.5, rd=0.0, leakage_max=0.0, talent_reference=0.1)
    f = w.firms
    f.knowledge[[0, 1, 2, 4, 5]] = [0.5, 0.2, 1.0, 1.0, 1.0]
    f.talent[[0, 1]] = [0.1, 0.1]
    w.tie(0, 2, VERTICAL)  # 0 learns from 2 ...
    w.tie(1, 0, VERTICAL)  # ... and 1 from 0
    w.towns.ip_protection[:] = 1.0  # everything is shown
    w.towns.mean_knowledge[:] = 0.0
    learn(w, ALL)
    # absorptive capacity: 0.5 + 0.5 * knowledge
    assert f.knowledge[0] == pytest.approx(0.5 + 0.75 * 0.5 * 0.5, rel=1e-12)
    assert f.knowledge[1] == pytest.approx(0.2 + 0.6 * 0.5 * 0.3, rel=1e-12)


def test_knowledge_never_passes_one():
    w = HandWorld()
    w.set_rates(learning=1.0, rd=1.0, leakage_max=0.0)
    w.firms.knowledge[0] = 0.5
    w.tie(0, 2, VERTICAL)
    w.firms.knowledge[2] = 1.0
    learn(w, ALL)  # research alone would close the whole gap
    assert w.firms.knowledge[0] == 1.0


# --- upgrading (ODD 7.8) ----------------------------------------------------------


TOWN_1 = 1 << 32
"""The id of town 1's first firm (slot 4)."""


def upgrade_world(numbers: dict[int, float] | None = None, **kw: int) -> HandWorld:
    """Firm 0 has two partners, one ahead of it; firm 1 is a platform member.

    `numbers` are the firms' upgrade numbers by id (0.99 for the others).
    """
    draws = Draws(u=0.99, by={Purpose.UPGRADE: numbers or {}})
    w = HandWorld(streams=draws, **kw)
    w.tie(0, 1, VERTICAL)
    w.tie(0, 4, CROSS_TOWN)
    w.firms.member[1] = 1
    towns = w.towns
    towns.subsidy_offer[:] = [0.25, 0.0]
    towns.share_at_least[1] = [1.0, 1.0, 0.6, 0.4, 0.2, 0.0]  # as last observed
    towns.step_outlay[:] = [1.0, 0.0]  # spent by firms that acted before
    return w


HAZARDS = [
    # Bass hazard p * (1 + 1 * offer + 0.5 * member) + q * imitation, where a
    # firm with partners weighs the share of them above its level by 0.5 and
    # the town's share at its next level by 0.5
    0.03 * 1.25 + 0.38 * (0.5 * 1 / 2 + 0.5 * 2 / 3),  # firm 0: one of two ahead
    0.02 * 1.75 + 0.38 * (0.5 * 0 + 0.5 * 1 / 3),  # firm 1: its partner is not
    0.01 * 1.25 + 0.38 * 0.0,  # firm 2: no partner; nobody at level 4 in town 0
    0.03 * 1.0 + 0.38 * (0.5 * 0 + 0.5 * 0.6),  # firm 4: a partner at its level
    0.0,  # firm 5: at the top
]


def test_upgrade_hazards_and_gates_are_stored_for_every_firm(pieces):
    w = upgrade_world()  # u = 0.99: nobody climbs
    consider_upgrade(w, ALL)
    f = w.firms
    assert f.adoption_probability[[0, 1, 2, 4, 5]].tolist() == approx(HAZARDS)
    # firm 2 needs infrastructure 0.7 for the 3->4 step (town 0 has 0.6); firm 5
    # is at the top, and town 1's 0.4 would block it too
    assert f.blocked[[0, 1, 2, 4, 5]].tolist() == [
        0,
        0,
        Gate.INFRASTRUCTURE,
        0,
        Gate.INFRASTRUCTURE | Gate.TOP,
    ]
    assert f.level[[0, 1, 2, 4, 5]].tolist() == [1, 2, 3, 1, 4]


def test_upgrade_gates_each_block_on_their_own():
    w = upgrade_world()
    f = w.firms
    f.funds[0] = 1.49  # the 1->2 step costs 0.02 * 100 = 2, less the 25% offer
    f.talent[1] = 0.05 - 2e-9  # below the need by more than rounding
    f.talent[4], f.knowledge[4] = 0.02, 0.09  # absorptive 0.1 + 0.045 < 0.15
    consider_upgrade(w, ALL)
    assert f.blocked[[0, 1, 4]].tolist() == [Gate.FUNDS, Gate.TALENT, Gate.ABSORPTION]
    f.funds[0], f.talent[1] = 1.5, 0.05 - 5e-10  # exactly enough; rounding
    consider_upgrade(w, ALL)
    assert f.blocked[[0, 1]].tolist() == [0, 0]


def test_a_firm_deciding_alone_sets_only_its_own_hazard():
    w = upgrade_world()
    consider_upgrade(w, np.array([4]))
    f = w.firms
    assert f.adoption_probability[[0, 1, 2, 4, 5]].tolist() == approx(
        [0, 0, 0, HAZARDS[3], 0]
    )


def test_upgrading_firms_climb_one_level_pay_and_claim_the_offer(pieces):
    # a firm no gate blocks climbs when its own number is below its hazard
    # (a year a step): firms 0 and 4 just below theirs, firm 1 just above;
    # firm 2's number 0 is never read, since a gate blocks it
    numbers = {0: 0.99 * HAZARDS[0], 1: 1.01 * HAZARDS[1], 2: 0.0}
    w = upgrade_world(numbers | {TOWN_1: 0.99 * HAZARDS[3]})
    consider_upgrade(w, ALL)
    assert w.streams.asked("uniform", Purpose.UPGRADE) == [[0, 1, TOWN_1]]
    f = w.firms
    assert f.level[[0, 1, 2, 4, 5]].tolist() == [2, 2, 3, 2, 4]
    assert f.funds[[0, 1, 4]].tolist() == approx([5.0 - 2.0, 3.0, 4.0 - 1.6])
    assert f.subsidy_claim[[0, 1, 4]].tolist() == approx([0.25 * 2.0, 0.0, 0.0])
    assert f.upgraded_at[0] == f.upgraded_at[4] == w.year
    assert np.isnan(f.upgraded_at[[1, 2, 5]]).all()
    assert w.ledger.flows["upgrades"].tolist() == approx([2.0, 1.6])
    assert w.towns.step_outlay.tolist() == approx([1.0 + 2.0, 1.6])


@pytest.mark.parametrize(("share", "climbs"), [(0.999, True), (1.001, False)])
def test_a_quarter_draws_against_the_hazard_that_compounds_to_the_yearly_one(
    share, climbs
):
    # at four steps a year, firm 0's yearly hazard h is 1 - (1 - h) ** 0.25 a step
    quarterly = 1.0 - (1.0 - HAZARDS[0]) ** 0.25
    w = upgrade_world({0: share * quarterly}, steps_per_year=4)
    consider_upgrade(w, ALL)
    assert w.firms.adoption_probability[0] == pytest.approx(HAZARDS[0], rel=1e-12)
    assert w.firms.level[[0, 1, 4]].tolist() == [2 if climbs else 1, 2, 1]


# --- the terms records the inspector shows ----------------------------------------


def test_the_terms_records_hold_each_step_of_the_rules():
    w = upgrade_world()
    t = upgrade_terms(w, np.array([0, 5]), np.array([1.0, 0.0]))
    assert (t.p.tolist(), t.q.tolist()) == ([0.03, 0.0], [0.38, 0.0])
    assert t.partners.tolist() == [2, 0] and t.ahead.tolist() == [1.0, 0.0]
    assert t.peer_share.tolist() == approx([2 / 3, 0.2])  # at the next level or up
    assert t.imitation.tolist() == approx([0.5 * 1 / 2 + 0.5 * 2 / 3, 0.2])
    assert t.offer.tolist() == [0.25, 0.0] and t.member.tolist() == [False, False]
    assert t.hazard.tolist() == approx([HAZARDS[0], 0.0])
    has_needs = {
        bit: (np.asarray(a).tolist(), np.asarray(b).tolist())
        for bit, (a, b) in t.gates.items()
    }
    assert has_needs == {
        Gate.FUNDS: ([5.0, 10.0], approx([2.0 * 0.75, 0.08 * 40])),
        Gate.TALENT: ([0.02, 0.1], [0.02, 0.09]),
        Gate.ABSORPTION: (approx([0.2, 0.9]), [0.15, 0.45]),
        Gate.INFRASTRUCTURE: ([0.6, 0.4], [0.1, 0.7]),
    }
    assert t.blocked.tolist() == [0, Gate.INFRASTRUCTURE | Gate.TOP]
    # a firm whose one partner is above it: half partners, half town peers
    one = upgrade_terms(w, np.array([4]), np.array([1.0]))
    assert one.imitation.tolist() == approx([0.5 * 1.0 + 0.5 * 0.6])

    w.set_rates(talent_attrition=0.1)
    h = hiring_terms(w, np.array([0, 1]))
    assert h.kept.tolist() == approx([0.018, 0.045])
    assert h.lost.tolist() == approx([0.2, 0.25])
    assert h.target.tolist() == [0.02, 0.05]
    assert h.gap.tolist() == approx([0.002, 0.005])

    w = learning_world()
    g = learning_terms(w, np.array([0, 4]), np.array([0.58, 0.0]))
    assert g.absorptive.tolist() == approx([0.35, 0.3])
    assert g.from_ties.tolist() == approx([0.35 * 0.5 * 0.58, 0.0])
    assert g.from_platform.tolist() == approx([0.35 * 0.7 * 0.6 * 0.2, 0.0])
    assert g.from_project.tolist() == approx([0.35 * 0.5 * 0.4, 0.0])
    assert g.from_leaks.tolist() == approx([0.35 * 0.2 * (1 - 0.85**0.25), 0.0])
    assert g.research.tolist() == approx([0.1 * 0.8 * 0.85, 0.1 * 0.7])


# --- production (ODD 7.9) ---------------------------------------------------------


def test_production_sells_pays_costs_and_fees_grows_and_ages(pieces):
    w = HandWorld(steps_per_year=4, streams=Draws(z=0.5))
    w.free(1, 2, 5)
    w.tie(0, 4, CROSS_TOWN)
    f = w.firms
    f.university[0] = 0
    f.member[4] = 1
    w.set_rates(size_drift=0.01, size_shock=0.1)
    produce(w, ALL)
    # base output 0.4 M yuan per worker; customized share 0.2, fit 0.3 at level 1
    sales = [
        100 * 1.0 * 0.4 * (1 + 0.3 * 0.2) * (0.8 + 0.2 * 0.3),  # 36.464
        80 * 1.0 * 0.4 * (1 + 0.3 * 0.3) * (0.8 + 0.2 * 0.3),  # 29.9968
    ]
    costs = [
        40 * (0.85 * (1 - 0.015) + 0.005) + 0.02 * 100 * 0.12,  # one tie
        32 * (0.85 * (1 - 0.015 - 0.05) + 0.005) + 0.03 * 80 * 0.12,  # and services
    ]
    fees = [0.2, 0.0]  # firm 0 runs a university project
    assert f.output[[0, 4]].tolist() == approx(sales)
    assert f.profit[[0, 4]].tolist() == approx(
        [s - c for s, c in zip(sales, costs, strict=True)]
    )
    quarter = [(s - c - fee) / 4 for s, c, fee in zip(sales, costs, fees, strict=True)]
    assert f.funds[[0, 4]].tolist() == approx([5.0 + quarter[0], 4.0 + quarter[1]])
    growth = np.exp(0.01 + 0.1 * 0.5)  # Gibrat: drift plus shock times z
    pieces_asked = w.streams.asked("normal", Purpose.SIZE)  # one call per piece
    shocks = [i for piece in pieces_asked for i in piece]
    assert shocks == [0, TOWN_1]  # by id, live firms only
    assert f.size[[0, 4]].tolist() == pytest.approx([100 * growth, 80 * growth])
    assert f.age[[0, 4]].tolist() == approx([5.25, 10.25])
    assert w.ledger.flows["profits"].tolist() == approx(
        [(sales[0] - costs[0]) / 4, (sales[1] - costs[1]) / 4]
    )
    assert w.ledger.flows["projects"].tolist() == approx([0.05, 0.0])
    free = [1, 2, 3, 5, 6, 7]
    assert f.output[free].tolist() == f.funds[free].tolist() == [0.0] * 6


# --- a firm's quarter (ODD 3.2) ---------------------------------------------------


def test_a_firm_climbs_on_what_it_learnt_earlier_in_the_same_quarter(pieces):
    """Learning comes before the upgrade decision in a firm's step.

    Firm 0's absorptive capacity (0.5 * 0.02 / 0.1 + 0.5 * 0.08 = 0.14) is
    below the 0.15 the first step needs; its own research (0.1 * 0.92 * 0.79)
    and the town's spillovers this quarter lift it above, and with a certain
    hazard it climbs in the same quarter.
    """
    w = HandWorld()
    w.firms.knowledge[0] = 0.08
    w.set_rates(
        rd=0.1,
        innovation_p=np.array([1.0, 1.0, 1.0, 0.0]),
        talent_attrition=0.0,
        search=0.0,
        tie_decay=0.0,
        base_exit=0.0,
        size_shock=0.0,
    )
    before = upgrade_terms(w, np.array([0]), np.zeros(1))
    assert before.blocked.tolist() == [Gate.ABSORPTION] and before.hazard[0] == 1.0
    for behaviour in STEP:
        behaviour(w, ALL)
    assert w.firms.knowledge[0] > 0.1
    assert w.firms.level[0] == 2


def test_the_step_runs_the_behaviours_in_the_odds_order():
    text = ODD.read_text(encoding="utf-8")
    section = text.split("### 3.2 ")[1].split("\n### ")[0]
    listed = re.findall(r"^\d+\. `(\w+)`", section, flags=re.MULTILINE)
    assert listed == [
        "hire_talent",
        "revise_ties",
        "learn",
        "consider_upgrade",
        "produce",
        "exit_if_failing",
    ]
    assert [behaviour.__name__ for behaviour in STEP] == listed
