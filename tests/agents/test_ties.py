"""Trust, tie ending and partner search (agents/ties.py) on the hand-built world.

The random numbers are fixed (`worlds.Draws`): an event with chance c happens
when its number is below c. A partner search tries the slot of rank
floor(8 x) of the town's block at full width (8 places, 4 slots open) for a
seeker's number x, until it finds a live firm; a far search goes to the
town's neighbour. Expected ties are worked out by hand from ODD 7.6.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import Draws, HandWorld

from agents.base import ALL
from agents.streams import Purpose
from agents.ties import (
    CROSS_INDUSTRY,
    CROSS_TOWN,
    HORIZONTAL,
    PICK_TRIES,
    VERTICAL,
    drop_ties,
    random_firm_in,
    revise_ties,
    seek_partner,
    update_trust,
    warm_up_ties,
)

TOWN_1 = 1 << 32
IDS = {0: 0, 1: 1, 2: 2, 4: TOWN_1, 5: TOWN_1 + 1}
"""The live firms' ids by slot: town << 32 | serial."""


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


def tied_world(u: float, **draws: dict) -> HandWorld:
    w = HandWorld(streams=Draws(u=u, **draws))
    w.tie(0, 1, VERTICAL)
    w.tie(0, 2, CROSS_INDUSTRY)
    w.tie(4, 5, HORIZONTAL)
    w.firms.trust[[0, 1, 2, 4, 5]] = [0.9, 0.9, 0.4, 0.1, 0.9]
    w.set_rates(tie_decay=1.0)  # every tie is reviewed
    return w


def test_a_reviewed_tie_ends_less_often_the_more_its_firms_trust():
    w = tied_world(u=0.6)
    drop_ties(w, ALL)
    # a reviewed tie ends when its number < 1 - 0.5 * sqrt(trust * trust'):
    # (0, 1): 1 - 0.5 * 0.9 = 0.55, kept; (0, 2): 1 - 0.5 * 0.6 = 0.7, ended;
    # (4, 5): 1 - 0.5 * 0.3 = 0.85, ended
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [], []]
    assert w.kinds_of(0) == [VERTICAL]
    assert w.firms.ties[[0, 1, 2, 4, 5]].tolist() == [1, 1, 0, 0, 0]
    assert (w.firms.tie_kind[w.firms.partners < 0] == -1).all()
    # each tie is decided once, by its lower slot, with one number per pair
    assert w.streams.asked("pair_uniform", Purpose.TIE_END) == [
        [(0, 1), (0, 2), (TOWN_1, TOWN_1 + 1)]
    ]


def test_a_tie_is_reviewed_at_its_place_in_the_lower_firms_row():
    """Places: 3 a slot (its partner columns), the slot's place times 3 on.

    Firm 0's column 1 (place 1) holds its tie to firm 2; firm 1's column 0
    (place 3) its tie to firm 0, which firm 0 decides; firm 4's column 0
    (place 8 * 3 = 24) its tie to firm 5, not chosen at 0.9.
    """
    chosen = {1: 0.1, 3: 0.1, 24: 0.9}
    pairs = {(0, 1, 1): 0.0, (0, 2, 1): 0.0, (TOWN_1, TOWN_1 + 1, 1): 0.0}
    w = tied_world(
        u=0.5,
        by={Purpose.TIE_END: pairs | {(0, 2): 0.99}},  # draw 0 is not the pair's
        places={Purpose.TIE_END: chosen},
    )
    w.set_rates(tie_decay=0.3)
    drop_ties(w, ALL)
    assert w.streams.asked("chosen", Purpose.TIE_END) == [(0.3, 48, 0)]
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]


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


# --- meeting a random firm of a town ----------------------------------------------


def test_a_seeker_tries_slots_of_the_block_at_full_width_until_one_holds_a_firm():
    """Numbers per try: rank floor(8 x); ranks 4 to 7 lie past the open slots."""
    tries = {
        (0, 0): 3 / 8,  # free slot 3 ...
        (0, 1): 6 / 8,  # ... a place past the block's width ...
        (0, 2): 2 / 8,  # ... then firm 2
        (1, 0): 0.0,  # firm 0 at once
        (TOWN_1, 0): 1 / 8 + 0.01,  # town 1's rank 1: firm 5
        (2, 0): 0.0,  # (town 1's slot 4 for firm 2's far search)
    }
    draws = Draws(u=0.9, by={Purpose.PARTNER: tries})  # 0.9: rank 7, a miss
    w = HandWorld(streams=draws)
    seekers = np.array([0, 1, TOWN_1, 2, TOWN_1 + 1])
    town = np.array([0, 0, 1, 1, 0])
    met = random_firm_in(w, draws, seekers, town)
    # the last seeker misses on every try and gives up after PICK_TRIES
    assert met.tolist() == [2, 0, 5, 4, -1]
    asked = draws.asked("uniform", Purpose.PARTNER)
    assert len(asked) == PICK_TRIES == 16
    assert asked[:4] == [
        seekers.tolist(),
        [0, TOWN_1 + 1],
        [0, TOWN_1 + 1],
        [TOWN_1 + 1],
    ]


def test_a_town_without_live_firms_is_not_searched():
    w = HandWorld()
    w.free(4, 5)
    met = random_firm_in(w, w.streams, np.array([0, 1]), np.array([1, 1]))
    assert met.tolist() == [-1, -1]
    assert w.streams.asked("uniform", Purpose.PARTNER) == []


# --- searching for partners -------------------------------------------------------


def searching_world(
    linked: bool = True,
    u: float = 0.5,
    meet: float = 0.15,
    far: dict | None = None,
    **rates: float,
) -> HandWorld:
    """Everyone searches in town and tries rank floor(8 * `meet`) first.

    At `meet` = 0.15 (rank 1) town 0's firms meet firm 1, town 1's firm 5.
    Free slot 3 keeps a departed firm's traits. `far` gives the seekers'
    numbers for a far search.
    """
    by = {Purpose.PARTNER: {i: meet for i in IDS.values()}}
    if far is not None:
        by[Purpose.FAR_SEARCH] = far
    w = HandWorld(streams=Draws(u=u, by=by), linked=linked)
    f = w.firms
    f.trust[:] = 0.64  # acceptance sqrt(0.64 * 0.64) = 0.64 > u
    f.industry[3], f.stage[3], f.level[3] = 4, 0, 2  # never met, never searching
    w.set_rates(**({"search": 1.0, "far_search": 0.0} | rates))
    return w


def test_a_search_in_town_meets_a_firm_and_ties_by_kind():
    w = searching_world()
    seek_partner(w, ALL)
    # everyone searches in town: town 0's firms meet firm 1, town 1's firm 5.
    # Firm 1 and 5 meet themselves; firm 2 (industry 2) would tie across
    # industries, which needs both firms at level 3 or more (firm 1 is at 2)
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]
    assert w.kinds_of(0) == w.kinds_of(1) == [VERTICAL]  # same industry, stages 0, 1
    assert w.kinds_of(4) == w.kinds_of(5) == [HORIZONTAL]  # same stage
    # one number per firm and purpose, keyed by id (free slots: id -1)
    live_ids = [0, 1, 2, TOWN_1, TOWN_1 + 1]  # empty slots draw nothing
    assert w.streams.asked("uniform", Purpose.SEARCH) == [live_ids]
    assert w.streams.asked("uniform", Purpose.ACCEPT) == [list(IDS.values())]


def test_the_first_live_firm_of_a_town_can_be_met():
    w = searching_world(meet=0.0)
    seek_partner(w, ALL)
    # rank 0: firms 0 and 4, met by firms 1 and 5
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]


@pytest.mark.parametrize(("accept", "ties"), [(0.63, 2), (0.65, 0)])
def test_a_meeting_becomes_a_tie_with_the_chance_the_two_trusts_give(accept, ties):
    w = searching_world()
    w.streams.by[Purpose.ACCEPT] = {0: accept, TOWN_1: accept}
    w.streams.by[Purpose.PARTNER][1] = 0.0  # firm 1 meets firm 0 (a tie too)
    w.streams.by[Purpose.PARTNER][TOWN_1 + 1] = 0.0  # firm 5 meets firm 4
    w.streams.by[Purpose.ACCEPT] |= {1: 0.99, TOWN_1 + 1: 0.99}  # who say no
    seek_partner(w, ALL)
    # acceptance sqrt(0.64 * 0.64) = 0.64: the seekers 0 and 4 propose
    assert w.firms.ties.sum() == 2 * ties
    assert w.partners_of(0) == ([1] if ties else [])


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
    assert 0 not in w.streams.asked("uniform", Purpose.ACCEPT)[0]


def test_a_far_search_into_a_town_without_firms_meets_nobody():
    w = searching_world(far_search=1.0, cross_border_level=1)
    w.free(4, 5)
    seek_partner(w, ALL)
    assert not w.firms.ties.any()
    assert w.streams.asked("uniform", Purpose.PARTNER) == []


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
    ("linked", "number", "partner"),
    [(True, 0.59, 5), (True, 0.6, 1), (False, 0.59, 1)],
)
def test_members_of_a_linked_town_search_further(linked, number, partner):
    w = searching_world(
        far={i: number for i in IDS.values()},  # the numbers for a far search
        search=0.6,
        search_boost=1.0,
        far_search=0.3,
        link_boost=1.0,
        cross_border_level=1,
    )
    w.firms.member[0] = 1
    w.towns.linked[0] = linked
    seek_partner(w, ALL)
    # everyone searches (u = 0.5 < 0.6); a member of a linked town searches
    # far with chance 0.3 * (1 + 1) = 0.6, everyone else with 0.3: only firm 0
    # may meet firm 5 in the next town
    assert w.partners_of(0) == [partner]
    assert w.partners_of(2) == [1]  # a non-member searches at home
    assert w.partners_of(4) == [5]


class Timed(Draws):
    """Draws that note the time of every search."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.times: list[int] = []

    def uniform(self, purpose, entities, draw=0, time=None):
        if purpose == Purpose.SEARCH:
            self.times.append(self.time)
        return super().uniform(purpose, entities, draw, time)


def test_warm_up_searches_with_certainty_before_the_start_and_restores_the_rates():
    w = searching_world()
    w.streams = Timed(u=0.5, by={Purpose.PARTNER: {i: 0.15 for i in IDS.values()}})
    w.set_rates(search=0.0)
    rates = w.rates
    warm_up_ties(w)
    assert w.rates is rates and w.streams.time == 0
    # eight rounds at the times -8 to -1 of the in-town search above: the same
    # pairs meet again and are not tied twice
    assert w.streams.times == list(range(-8, 0))
    assert [w.partners_of(s) for s in (0, 1, 2, 4, 5)] == [[1], [0], [], [5], [4]]
