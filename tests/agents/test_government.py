"""The government's allocation, platform building and subsidy settlement.

agents/government.py on the hand-built world, with results worked out by hand
from ODD 7.2 and 7.11. Quarterly steps: the smoothing of IP spending and of the
expected upgrade outlay closes 1 - 0.5 ** (1/4) of the gap per step.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import HandWorld

from agents.government import govern, invest_in_platforms, settle_subsidies
from scenarios.schema import GovernmentSettings

QUARTER = 1 - 0.5**0.25
"""Share of a gap that a half-yearly smoothing closes in a quarter."""

POLICY = {
    "budget_share": 0.01,
    "province_budget": 2.0,
    "talent": 0.4,
    "funding": 0.3,
    "ip": 0.2,
    "platform": 0.1,
    "talent_cost": 0.5,
    "subsidy_cap": 0.5,
}


def governed_world(**policy: object) -> HandWorld:
    w = HandWorld(steps_per_year=4)
    w.free(5)  # town 1 keeps one firm
    w.policy = GovernmentSettings(**(POLICY | policy))
    towns = w.towns
    towns.gdp[:] = [100.0, 40.0]
    towns.upgrade_outlay[:] = [3.6, 0.0]
    towns.talent_pool[:] = [1.0, 0.0]
    towns.ip_spending[:] = [0.1, 0.0]
    return w


def approx(values: object) -> object:
    return pytest.approx(np.asarray(values, dtype=float), rel=1e-12, abs=1e-15)


def test_the_budget_is_split_over_the_levers_and_each_buys_its_target():
    w = governed_world()
    govern(w, np.arange(2))
    towns, flows = w.towns, w.ledger.flows
    # budget per quarter: (0.01 * GDP + 2) / 4 = 0.75 and 0.6 M yuan, split
    # 0.4 / 0.3 / 0.2 / 0.1 over talent, funding, IP and platforms
    assert towns.lever_weights.tolist() == [[0.4, 0.3, 0.2, 0.1]] * 2
    assert flows["spent_talent"].tolist() == approx([0.3, 0.24])
    assert flows["spent_ip"].tolist() == approx([0.15, 0.12])
    assert flows["spent_platform"].tolist() == approx([0.075, 0.06])
    # talent: 0.5 M yuan per IT worker
    assert towns.talent_pool.tolist() == approx([1.0 + 0.3 / 0.5, 0.24 / 0.5])
    # IP: yearly spending per firm 0.15 * 4 / 3 = 0.2 and 0.12 * 4 / 1 = 0.48,
    # smoothed, then protection 0.3 + 0.7 * (1 - exp(-spending / 0.02))
    spending = [0.1 + QUARTER * (0.2 - 0.1), QUARTER * 0.48]
    assert towns.ip_spending.tolist() == approx(spending)
    protection = [0.3 + 0.7 * (1 - np.exp(-x / 0.02)) for x in spending]
    assert towns.ip_protection.tolist() == approx(protection)
    # funding: the quarter's money waits for claims; the offer spreads the
    # yearly funding (0.9) over the expected outlay (3.6), and offers the cap
    # where no upgrade was seen yet
    assert towns.funding_pool.tolist() == approx([0.225, 0.18])
    assert towns.subsidy_offer.tolist() == approx([0.25, 0.5])
    # platforms: all of it goes to the first kind while none is built
    assert towns.platform_capital.tolist() == approx([[0.075, 0, 0], [0.06, 0, 0]])
    assert not towns.platform_built.any()


def test_a_government_acting_alone_changes_only_its_town():
    w = governed_world()
    govern(w, np.array([1]))
    assert w.towns.talent_pool.tolist() == approx([1.0, 0.48])
    assert w.towns.ip_spending[0] == 0.1 and w.towns.subsidy_offer[0] == 0.0
    assert w.ledger.flows["spent_talent"].tolist() == approx([0.0, 0.24])


# The lever of each system (ODD 7.2.2), the systems in the ODD's order (7.14)
LEVER_OF = {
    "management": "talent",
    "enterprises": "ip",
    "chain": "funding",
    "industry": "ip",
    "platforms": "platform",
    "government_university": "talent",
}


@pytest.mark.parametrize("weakest", range(6), ids=list(LEVER_OF))
def test_an_adaptive_government_tilts_to_its_weakest_systems_lever(weakest):
    w = governed_world(allocation="adaptive", adaptive_tilt=0.5)
    w.towns.indices[:] = 0.5
    w.towns.indices[:, weakest] = 0.1
    govern(w, np.arange(2))
    lever = ["talent", "funding", "ip", "platform"].index(
        list(LEVER_OF.values())[weakest]
    )
    expected = 0.5 * np.array([0.4, 0.3, 0.2, 0.1])
    expected[lever] += 0.5
    assert w.towns.lever_weights.tolist() == approx([expected.tolist()] * 2)


# --- platforms (ODD 7.2.5) --------------------------------------------------------


def platform_world() -> HandWorld:
    w = HandWorld()
    w.set_rates(build_cost=np.array([1.0, 2.0, 0.5]), platform_depreciation=0.1)
    return w


def test_platform_money_builds_the_next_kind_and_runs_the_built_ones():
    w = platform_world()
    towns = w.towns
    towns.platform_built[1, 0] = True
    towns.platform_capital[1, :2] = [1.0, 0.4]
    invest_in_platforms(w, np.arange(2), np.array([1.2, 1.0]))
    # town 0 builds the public service platform with all of it; town 1 puts
    # half into the innovation centre and half into the running platform,
    # after 10% depreciation of both
    assert towns.platform_capital.tolist() == approx(
        [[1.2, 0.0, 0.0], [0.9 + 0.5, 0.36 + 0.5, 0.0]]
    )
    assert towns.platform_built.tolist() == [[True, False, False]] * 2


def test_platforms_are_built_strictly_in_order():
    w = platform_world()
    towns = w.towns
    towns.platform_built[0, 0] = True
    towns.platform_capital[0, :2] = [1.4, 0.86]
    invest_in_platforms(w, np.array([0]), np.array([4.0]))
    # the innovation centre reaches its cost (0.774 + 2 >= 2); e-commerce,
    # though cheaper (0.5), waits its turn
    assert towns.platform_capital[0].tolist() == approx([1.26 + 2, 0.774 + 2, 0])
    assert towns.platform_built[0].tolist() == [True, True, False]
    invest_in_platforms(w, np.array([0]), np.array([1.0]))
    assert towns.platform_built[0].tolist() == [True, True, True]


def test_once_all_are_built_the_money_runs_them_equally():
    w = platform_world()
    towns = w.towns
    towns.platform_built[:] = [[True, True, True], [True, True, False]]
    towns.platform_capital[:] = [[1.0, 2.0, 0.5], [1.0, 2.0, 0.0]]
    invest_in_platforms(w, np.arange(2), np.array([0.9, 0.4]))
    # town 0: a third each; town 1: half to build e-commerce, a quarter each
    assert towns.platform_capital.tolist() == approx(
        [[1.2, 2.1, 0.75], [0.9 + 0.1, 1.8 + 0.1, 0.2]]
    )


# --- subsidy settlement (ODD 7.11) ------------------------------------------------


def test_claims_are_paid_in_full_or_pro_rata_and_the_outlay_is_smoothed():
    w = HandWorld(steps_per_year=4)
    f, towns = w.firms, w.towns
    towns.funding_pool[:] = [1.0, 5.0]
    f.subsidy_claim[[0, 1, 4]] = [0.8, 0.4, 0.5]
    towns.step_outlay[:] = [2.0, 1.0]
    towns.upgrade_outlay[:] = [4.0, 0.0]
    settle_subsidies(w)
    # town 0's claims (1.2) exceed its pool (1.0): each gets 1 / 1.2 of its claim
    assert f.funds[[0, 1, 2, 4, 5]].tolist() == approx(
        [5.0 + 0.8 / 1.2, 3.0 + 0.4 / 1.2, 2.0, 4.5, 10.0]
    )
    assert not f.subsidy_claim.any()
    assert towns.funding_pool.tolist() == approx([0.0, 4.5])
    # the step's outlay as a yearly rate (8, 4) pulls the expectation
    assert towns.upgrade_outlay.tolist() == approx(
        [4.0 + QUARTER * (8.0 - 4.0), QUARTER * 4.0]
    )
    assert towns.step_outlay.tolist() == [0.0, 0.0]
    assert w.ledger.flows["subsidies"].tolist() == approx([1.0, 0.5])
    assert w.ledger.flows["spent_funding"].tolist() == approx([1.0, 0.5])
