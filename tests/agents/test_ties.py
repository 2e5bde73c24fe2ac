"""Trust, tie ending and partner search (agents/ties.py) on the hand-built world.

The draws are fixed (`worlds.Draws`): with every uniform draw at `u`, a
partner search meets the town's live firm at position floor(u * count) of the
town's list, a far search goes to the town's neighbour, and an event with
chance c happens when u < c. Expected ties are worked out by hand from ODD 7.6.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import Draws, HandWorld

from agents.base import ALL
from agents.ties import (
    CROSS_INDUSTRY,
    CROSS_TOWN,
    HORIZONTAL,
    VERTICAL,
    drop_ties,
    revise_ties,
    seek_partner,
    update_trust,
    warm_up_ties,
)


def test_trust_moves_toward_what_protection_and_platforms_promise(pieces):
    w = HandWorld()
    w.set_rates(trust_speed=0.5)
    w.towns.ip_protection[:] = [0.3, 0.8]
    w.firms.member[1] = 1
    update_trust(w, ALL)
    # targets: 0.2 + 0.5 * 0.3 = 0.35 in town 0 (0.65 for the member, firm 1),
    # 0.2 + 0.5 * 0.8 = 0.6 in town 1; trust 0.4 closes half the gap
    assert w.firms.trust[[0, 1, 2, 4, 5]].tolist() == pytest.approx(
        [0.375, 0.525, 0.375, 0.5, 0.5], rel=1e-12
    )


def test_a_firm_revising_its_ties_alone_moves_only_its_own_trust():
    w = HandWorld()
    w.set_rates(trust_speed=0.5, tie_decay=0.0, search=0.0)
    revise_ties(w, np.array([0]))
    assert w.firms.trust[[0, 1, 2, 4, 5]].tolist() == pytest.approx(
        [0.375, 0.4, 0.4, 0.4, 0.4], rel=1e-12
    )


# --- ending ties ------------------------------------------------------------------


def tied_world(u: float) -> HandWorld:
    w = HandWorld(rng=Draws(u=u))
    w.tie(0, 1, VERTICAL)
    w.tie(0, 2, CROSS_INDUSTRY)
    w.tie(4, 5, HORIZONTAL)
    w.firms.trust[[0, 1, 2, 4, 5]] = [0.9, 0.9, 0.4, 0.1, 0.9]
    w.set_rates(tie_decay=1.0)  # every tie is reviewed
    return w


def test_a_reviewed_tie_ends_less_often_the_more_its_firms_trust():
    w = tied_world(u=0.6)
    drop_ties(w, ALL)
    # a reviewed tie ends when u < 1 - 0.5 * sqrt(trust * trust'):
    # (0, 1): 1 - 0.5 * 0.9 = 0.55, kept; (0, 2): 1 - 0.5 * 0.6 = 0.7, ended;
    # (4, 5): 1 - 0.5 * 0.3 = 0.85, ended
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [], []]
    assert w.kinds_of(0) == [VERTICAL]
    assert w.firms.ties[[0, 1, 2, 4, 5]].tolist() == [1, 1, 0, 0, 0]
    assert (w.firms.tie_kind[w.firms.partners < 0] == -1).all()
    # each tie is decided once, by its lower slot: three draws, not six
    assert w.rng.sizes("random")[-1] == 3


def test_no_tie_ends_without_decay():
    w = tied_world(u=0.0)
    w.set_rates(tie_decay=0.0)
    drop_ties(w, ALL)
    assert w.firms.ties[[0, 1, 2, 4, 5]].tolist() == [2, 1, 1, 1, 1]


def test_a_firm_acting_alone_decides_only_the_ties_it_owns():
    """In the agents schedule each firm reviews the ties to higher slots."""
    w = tied_world(u=0.0)  # any reviewed tie ends
    drop_ties(w, np.array([5]))
    assert w.partners_of(5) == [4]
    drop_ties(w, np.array([4]))
    assert w.partners_of(5) == [] and w.partners_of(4) == []
    assert w.partners_of(0) == [1, 2]


# --- searching for partners -------------------------------------------------------


def searching_world(
    linked: bool = True, u: float = 0.5, queue: tuple = (), **rates: float
) -> HandWorld:
    """Everyone searches in town; free slot 3 keeps a departed firm's traits."""
    w = HandWorld(rng=Draws(u=u, random=list(queue)), linked=linked)
    f = w.firms
    f.trust[:] = 0.64  # acceptance sqrt(0.64 * 0.64) = 0.64 > u
    f.industry[3], f.stage[3], f.level[3] = 4, 0, 2  # never met, never searching
    w.set_rates(**({"search": 1.0, "far_search": 0.0} | rates))
    return w


def test_a_search_in_town_meets_a_firm_and_ties_by_kind():
    w = searching_world(
        queue=(
            np.zeros(8),  # every slot is a candidate searcher ...
            np.zeros(8),  # ... and searches if it holds a firm with room
            np.full(5, 0.5),  # far if below far_search (0): never
            np.zeros(0),  # no neighbouring town to draw
            np.full(5, 0.5),  # whom each meets in its town's list
            np.full(5, 0.5),  # accepted if below sqrt(trust * trust')
        )
    )
    seek_partner(w, ALL)
    # everyone searches in town: town 0's list is 0, 1, 2 and u = 0.5 meets
    # firm 1; town 1's is 4, 5 and meets firm 5. Firm 1 and 5 meet themselves;
    # firm 2 (industry 2) would tie across industries, which needs both firms at
    # level 3 or more (firm 1 is at level 2)
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]
    assert w.kinds_of(0) == w.kinds_of(1) == [VERTICAL]  # same industry, stages 0, 1
    assert w.kinds_of(4) == w.kinds_of(5) == [HORIZONTAL]  # same stage


def test_the_first_live_firm_of_a_town_can_be_met():
    w = searching_world(u=0.0)
    seek_partner(w, ALL)
    # u = 0 meets the first of each town's list: firms 0 and 4
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]


def test_a_firm_without_a_free_tie_slot_neither_searches_nor_is_taken():
    w = searching_world()
    for other in (2, 4, 5):
        w.tie(1, other, CROSS_TOWN)  # firm 1, whom town 0's firms meet, is full
    seek_partner(w, ALL)
    assert w.partners_of(0) == [] and w.partners_of(1) == [2, 4, 5]
    assert w.partners_of(4) == [1, 5]
    w = searching_world()
    for other in (2, 4, 5):
        w.tie(0, other, CROSS_TOWN)  # firm 0 is full: it does not search
    seek_partner(w, ALL)
    assert w.partners_of(0) == [2, 4, 5] and w.partners_of(1) == []


def test_a_far_search_into_a_town_without_firms_meets_nobody():
    w = searching_world(far_search=1.0, cross_border_level=1)
    w.free(4, 5)
    seek_partner(w, ALL)
    assert not w.firms.ties.any()


def test_proposals_to_the_same_firm_are_formed_in_rounds():
    w = searching_world(cross_border_level=2)
    seek_partner(w, ALL)
    # firm 2's cross-industry proposal is now allowed; firm 1 takes firm 0 in
    # the first round and firm 2 in the second
    assert w.partners_of(1) == [0, 2]
    assert w.kinds_of(1) == [VERTICAL, CROSS_INDUSTRY]
    assert w.partners_of(2) == [1] and w.kinds_of(2) == [CROSS_INDUSTRY]


def test_a_far_search_meets_a_firm_of_the_neighbouring_town():
    w = searching_world(far_search=1.0, cross_border_level=2)
    seek_partner(w, ALL)
    # town 0's firms meet firm 5, town 1's meet firm 1; cross-town ties need
    # both firms at level 2 or more: (1, 5), (2, 5) and (5, 1), the last the
    # same pair as the first
    assert w.partners_of(5) == [1, 2]
    assert w.kinds_of(5) == [CROSS_TOWN, CROSS_TOWN]
    assert [w.partners_of(s) for s in (0, 1, 2, 4)] == [[], [5], [5], []]


def test_a_far_search_from_an_isolated_town_stays_at_home():
    w = searching_world(far_search=1.0, linked=False)
    seek_partner(w, ALL)
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]


@pytest.mark.parametrize(("u", "partners"), [(0.55, [1]), (0.65, [])])
def test_platform_members_search_more_often(u, partners):
    w = searching_world(u=u, search=0.3, search_boost=1.0)
    w.firms.trust[:] = 0.81  # acceptance 0.81 > u
    w.firms.member[0] = 1
    seek_partner(w, ALL)
    # a member searches with chance 0.3 * (1 + 1) = 0.6, the others with 0.3
    assert w.partners_of(0) == partners
    assert w.firms.ties.sum() == 2 * len(partners)


@pytest.mark.parametrize(
    ("linked", "draw", "partner"), [(True, 0.59, 5), (True, 0.6, 1), (False, 0.59, 1)]
)
def test_members_of_a_linked_town_search_further(linked, draw, partner):
    everyone = [np.zeros(8), np.full(8, 0.5)]  # all five firms search
    w = searching_world(
        queue=(*everyone, np.full(5, draw)),  # the draws for a far search
        search=0.6,
        search_boost=1.0,
        far_search=0.3,
        link_boost=1.0,
        cross_border_level=1,
    )
    w.firms.member[0] = 1
    w.towns.linked[0] = linked
    seek_partner(w, ALL)
    # a member of a linked town searches far with chance 0.3 * (1 + 1) = 0.6,
    # everyone else with 0.3: only firm 0 may meet firm 5 in the next town
    assert w.partners_of(0) == [partner]
    assert w.partners_of(2) == [1]  # a non-member searches at home
    assert w.partners_of(4) == [5]


def test_warm_up_searches_with_certainty_and_restores_the_rates():
    w = searching_world()
    w.set_rates(search=0.0)
    rates = w.rates
    warm_up_ties(w)
    assert w.rates is rates
    # eight rounds of the in-town search above: the same pairs meet again and
    # are not tied twice
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]
