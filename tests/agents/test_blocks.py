"""Ragged town blocks (agents/tables.py `Blocks`) and the places draws name.

Town t owns the slots `start[t]` to `start[t] + width[t] - 1` and, at full
width, the places `place_start[t]` on (`most[t]` of them). Worked out by hand
on three towns of widths 2, 3, 1 and most 4, 3, 5:

    slots   0 1 | 2 3 4 | 5
    places  0 1 2 3 | 4 5 6 | 7 8 9 10 11
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.base import (
    ALL,
    blocks,
    per_firm,
    place_count,
    slots_of_places,
    town_sum,
    town_totals,
)
from agents.tables import Blocks, Firms


def ragged() -> Blocks:
    return Blocks(width=np.array([2, 3, 1]), most=np.array([4, 3, 5]))


def world_of(b: Blocks) -> SimpleNamespace:
    """The parts of a world the block functions read."""
    firms = Firms.empty(b.slots, 2)
    firms.town[:] = b.town_of_slots
    return SimpleNamespace(blocks=b, firms=firms, n_towns=b.width.size)


def test_a_towns_slots_and_places():
    b = ragged()
    assert b.start.tolist() == [0, 2, 5, 6] and b.slots == 6
    assert b.place_start.tolist() == [0, 4, 7, 12] and b.places == 12
    assert b.town_of_slots.tolist() == [0, 0, 1, 1, 1, 2]
    w = world_of(b)
    assert place_count(w) == 12 and place_count(w, 3) == 36
    # the places past a block's width name no slot yet
    slots, entry = slots_of_places(w, np.arange(12))
    assert slots.tolist() == [0, 1, 2, 3, 4, 5] and entry.tolist() == [0] * 6
    # three entries a slot (say partner columns): place 3 s + k is entry k
    slots, entry = slots_of_places(w, np.array([0, 5, 9, 13, 20, 21]), per_slot=3)
    assert slots.tolist() == [0, 1, 2, 4, 5]  # place 9: town 0's rank 3, dropped
    assert entry.tolist() == [0, 2, 1, 2, 0]


def test_blocks_widen_together_when_one_is_short_by_a_tenth_or_more_to_their_most():
    b = ragged()
    assert b.widened(np.array([2, 3, 1])) is None  # wide enough
    assert b.widened(np.array([0, 9, 0])) is None  # town 1 is at its most
    # town 2 is short: every block grows to ceil(1.1 x width) = 3, 4, 2 or to
    # what it needs, at most its most (town 1's 3)
    assert b.widened(np.array([2, 5, 2])).width.tolist() == [3, 3, 2]
    assert b.widened(np.array([3, 0, 0])).width.tolist() == [3, 3, 2]
    assert b.widened(np.array([10, 0, 3])).width.tolist() == [4, 3, 3]
    # at least a tenth at a time: a block of 20 needing 21 grows to 22
    big = Blocks(width=np.array([20]), most=np.array([30]))
    assert big.widened(np.array([21])).width.tolist() == [22]
    assert big.widened(np.array([21])).most.tolist() == [30]


def test_a_slot_moves_to_the_same_rank_of_its_towns_wider_block():
    b = ragged()
    wider = b.widened(np.array([3, 0, 4]))
    assert wider.width.tolist() == [3, 3, 4]
    assert b.moved_to(wider).tolist() == [0, 1, 3, 4, 5, 6]
    # a slot's place does not change: it names the moved slot
    w, w_wider = world_of(b), world_of(wider)
    places = np.array([0, 1, 4, 5, 6, 7])  # the places of slots 0 to 5
    assert slots_of_places(w, places)[0].tolist() == list(range(6))
    assert slots_of_places(w_wider, places)[0].tolist() == [0, 1, 3, 4, 5, 6]


def test_regrouped_firms_keep_their_rank_state_and_partners():
    b = ragged()
    firms = world_of(b).firms
    firms.alive[[0, 2, 4, 5]] = True
    firms.size[[0, 2, 4, 5]] = [1.0, 2.0, 3.0, 4.0]
    firms.partners[0] = [4, 5]
    firms.partners[4, 0] = firms.partners[5, 0] = 0
    wider = b.widened(np.array([3, 0, 4]))
    assert wider.width.tolist() == [3, 3, 4]
    moved = firms.regrouped(b, wider)
    assert np.flatnonzero(moved.alive).tolist() == [0, 3, 5, 6]
    assert moved.size[[0, 3, 5, 6]].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert moved.town.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]
    assert moved.partners[0].tolist() == [5, 6]
    assert moved.partners[[5, 6], 0].tolist() == [0, 0]
    assert (moved.partners[[1, 2, 4, 7, 8, 9]] == -1).all()
    assert (moved.id[[1, 2, 4, 7, 8, 9]] == -1).all()


def test_pieces_are_runs_of_whole_blocks_of_about_the_size_asked():
    b = ragged()
    pieces = [(s.start, s.stop, t.start, t.stop) for s, t in b.pieces(3)]
    assert pieces == [(0, 2, 0, 1), (2, 5, 1, 2), (5, 6, 2, 3)]
    assert [(s.start, s.stop) for s, _ in b.pieces(100)] == [(0, 6)]
    assert [(t.start, t.stop) for _, t in b.pieces(1)] == [(0, 1), (1, 2), (2, 3)]
    assert b.towns_in(slice(2, 6)) == slice(1, 3)
    assert b.pieces(3) is b.pieces(3)  # kept with the blocks


block_sizes = st.lists(
    st.tuples(st.integers(1, 9), st.integers(0, 5)), min_size=1, max_size=12
)


@settings(max_examples=100, deadline=None)
@given(sizes=block_sizes, piece=st.integers(1, 30), seed=st.integers(0, 2**16))
def test_sums_over_pieces_of_ragged_blocks_are_the_towns_sums(sizes, piece, seed):
    b = Blocks(
        width=np.array([w for w, _ in sizes]),
        most=np.array([w + extra for w, extra in sizes]),
    )
    world = world_of(b)
    rng = np.random.default_rng(seed)
    values = rng.random(b.slots)
    world.firms.alive[:] = rng.random(b.slots) < 0.7
    expected = np.bincount(b.town_of_slots, weights=values, minlength=b.width.size)
    per_town = rng.random(b.width.size)
    covered = []
    for slots, towns in b.pieces(piece):
        covered.extend(range(slots.start, slots.stop))
        assert slots.start == b.start[towns.start] and slots.stop == b.start[towns.stop]
        assert slots.stop - slots.start <= piece or towns.stop - towns.start == 1
        np.testing.assert_allclose(
            town_totals(world, slots, values[slots]), expected[towns], rtol=1e-12
        )
        np.testing.assert_array_equal(
            per_firm(world, slots, per_town), per_town[b.town_of_slots[slots]]
        )
    assert covered == list(range(b.slots))
    np.testing.assert_allclose(town_totals(world, ALL, values), expected, rtol=1e-12)
    live = np.where(world.firms.alive, values, 0.0)
    np.testing.assert_allclose(
        town_sum(world, values),
        np.bincount(b.town_of_slots, weights=live, minlength=b.width.size),
        rtol=1e-12,
    )
    # an index array of slots sums by the firms' towns
    some = np.flatnonzero(rng.random(b.slots) < 0.5)
    np.testing.assert_allclose(
        town_totals(world, some, values[some]),
        np.bincount(b.town_of_slots[some], values[some], minlength=b.width.size),
    )
    assert next(iter(blocks(world, some))) is some


@settings(max_examples=100, deadline=None)
@given(sizes=block_sizes, needed=st.lists(st.integers(0, 20), min_size=12))
def test_widened_blocks_grow_together_and_move_every_slot_within_its_town(
    sizes, needed
):
    b = Blocks(
        width=np.array([w for w, _ in sizes]),
        most=np.array([w + extra for w, extra in sizes]),
    )
    need = np.array(needed[: b.width.size])
    wider = b.widened(need)
    short = (need > b.width) & (b.width < b.most)
    if wider is None:
        assert not short.any()
        return
    assert np.all(wider.width <= b.most) and np.all(wider.most == b.most)
    assert np.all(wider.width >= np.minimum(np.maximum(need, b.width), b.most))
    at_least = np.minimum(np.ceil(1.1 * b.width), b.most)
    assert np.all(wider.width >= at_least)  # every block, by a tenth at least
    assert np.all(wider.width[short] > b.width[short])
    moved = b.moved_to(wider)
    assert np.all(np.diff(moved) > 0)  # slot order is kept
    assert np.all(wider.town_of_slots[moved] == b.town_of_slots)
    rank = np.arange(b.slots) - b.start[b.town_of_slots]
    assert np.all(moved - wider.start[b.town_of_slots] == rank)
