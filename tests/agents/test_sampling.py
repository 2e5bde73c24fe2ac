"""The picks of agents/sampling.py and the partner pick of agents/ties.py.

Each pick turns uniform numbers of the streams into a choice that must have
the distribution of a naive draw: a uniformly random order within groups
(`first_per_group`), a uniformly random live firm of a town (`random_firm_in`),
a neighbour or a university of a region. The statistical tests compare
frequencies with the naive draw's by Pearson's chi-square test, rejecting a
correct pick with probability `ALPHA` = 1e-4 each; the seeds are fixed.

Power: with 10,000 picks of a subset of 2 among 5 (10 subsets), a subset
picked 10% too often or too rarely is rejected with probability 0.5 and 20%
with probability > 0.99; with 30,000 partner searches, a live firm met 10%
too rarely (or never: a slot the search cannot reach) with probability > 0.99.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import sparse, stats
from worlds import HandWorld

from agents.demography import make_room
from agents.sampling import (
    Directory,
    first_per_group,
    random_neighbour_town,
    random_university,
)
from agents.streams import Purpose, Streams
from agents.ties import PICK_TRIES, random_firm_in

ALPHA = 1e-4
DRAWS = 10_000


def one_of_many(observed: np.ndarray, probabilities: np.ndarray) -> float:
    """P-value of multinomial counts (chi-square)."""
    observed = np.asarray(observed, float)
    return float(stats.chisquare(observed, probabilities * observed.sum()).pvalue)


# --- first_per_group ----------------------------------------------------------------


def test_first_per_group_takes_the_lowest_numbers_of_each_group():
    groups = np.array([1, 0, 1, 0, 0, 2])
    room = np.array([1, 2, 0])
    draw = np.array([0.5, 0.9, 0.2, 0.1, 0.3, 0.0])
    # group 0: numbers 0.9, 0.1, 0.3: room for one, the 0.1; group 1: both;
    # group 2: no room
    picked = first_per_group(groups, room, draw)
    assert picked.tolist() == [True, False, True, True, False, False]
    assert first_per_group(np.zeros(0, np.intp), room, np.zeros(0)).size == 0


def test_first_per_group_picks_every_subset_of_a_group_alike():
    groups = np.repeat(np.array([0, 1, 2]), [5, 3, 4])
    room = np.array([2, 3, 0])
    streams = Streams.of(7)
    ids = np.arange(12) * 11
    subsets = {pair: i for i, pair in enumerate(itertools.combinations(range(5), 2))}
    seen = np.zeros(len(subsets))
    for t in range(DRAWS):
        order = streams.uniform(Purpose.JOIN_ORDER, ids, time=t)
        picked = first_per_group(groups, room, order)
        assert picked[5:8].all() and not picked[8:].any()  # room for all, none
        seen[subsets[tuple(np.flatnonzero(picked[:5]))]] += 1
    assert one_of_many(seen, np.full(len(subsets), 1 / len(subsets))) > ALPHA, seen


# --- a random live firm of a town -------------------------------------------------

SEEKERS = 30_000


def picks(w: HandWorld, seed: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Each of SEEKERS seekers' pick in town 0 or 1 (alternately), and the towns."""
    town = np.arange(SEEKERS) % 2
    seekers = np.arange(SEEKERS, dtype=np.int64) * 5 + 1
    return random_firm_in(w, Streams.of(seed), seekers, town), town


@pytest.mark.parametrize("full", [False, True])
def test_a_random_firm_of_a_town_is_any_of_its_live_firms_alike(full):
    """Blocks of 4 open slots and 8 places: 3 (or 4, a full block) and 2 firms."""
    w = HandWorld()
    if full:  # a firm in town 0's last open slot
        w.firms.alive[3], w.firms.id[3], w.towns.firms[0] = True, 3, 4
    met, town = picks(w)
    town_0 = [0, 1, 2, 3] if full else [0, 1, 2]
    for t, firms, most in ((0, town_0, 8), (1, [4, 5], 8)):
        here = met[town == t]
        # a search gives up after PICK_TRIES empty slots
        missed = (1 - len(firms) / most) ** PICK_TRIES  # 0.0005 for 3 firms of 8
        gave_up = (here == -1).sum()
        assert stats.binomtest(gave_up, here.size, missed).pvalue > ALPHA
        found = here[here >= 0]
        assert set(found.tolist()) == set(firms)
        counts = np.array([(found == firm).sum() for firm in firms])
        assert one_of_many(counts, np.full(len(firms), 1 / len(firms))) > ALPHA


def test_a_pick_stays_when_another_firm_of_the_town_leaves_or_the_block_widens():
    w = HandWorld()
    before, _ = picks(w)
    w.free(1)  # firm 1 leaves town 0
    after, _ = picks(w)
    kept = before != 1
    assert (~kept).sum() > SEEKERS / 2 / 4  # about a third of town 0's seekers
    np.testing.assert_array_equal(after[kept], before[kept])
    # those who met firm 1 try on: another live firm of the town, or nobody
    moved = after[~kept]
    assert set(moved.tolist()) <= {0, 2, -1} and (moved >= 0).mean() > 0.9
    # a wider block: the same firms in their new slots
    make_room(w, np.array([7, 0]))
    assert w.blocks.width.tolist() == [7, 5]  # town 1's widens too
    wider, _ = picks(w)
    slot_now = w.enterprises.moves[-1]
    np.testing.assert_array_equal(
        wider, np.where(after >= 0, np.take(slot_now, after), -1)
    )


def test_another_seed_meets_other_firms():
    w = HandWorld()
    one, _ = picks(w, seed=1)
    other, _ = picks(w, seed=2)
    assert (one != other).mean() > 0.5


# --- a neighbour, a university ---------------------------------------------------


def test_a_random_neighbour_is_any_neighbour_and_an_isolated_town_stays():
    # town 0 neighbours 1 and 2; town 3 has none
    adjacency = sparse.csr_array(
        (np.ones(4), ([0, 0, 1, 2], [1, 2, 0, 0])), shape=(4, 4)
    )
    directory = Directory.of(adjacency, np.zeros(0, np.int64), 4)
    draw = np.array([0.0, 0.49, 0.5, 0.99, 0.7, 0.3])
    town = np.array([0, 0, 0, 0, 1, 3])
    assert random_neighbour_town(directory, draw, town).tolist() == [1, 1, 2, 2, 0, 3]


def test_a_random_university_is_any_of_the_regions_and_none_without_one():
    # universities 0 and 2 in region 1, university 1 in region 0; region 2 none
    directory = Directory.of(sparse.csr_array((3, 3)), np.array([1, 0, 1]), 4)
    draw = np.array([0.2, 0.49, 0.5, 0.9, 0.9])
    region = np.array([1, 1, 1, 0, 2])
    assert random_university(directory, draw, region).tolist() == [0, 0, 2, 1, -1]
    empty = Directory.of(sparse.csr_array((3, 3)), np.zeros(0, np.int64), 4)
    assert random_university(empty, draw[:2], region[:2]).tolist() == [-1, -1]
