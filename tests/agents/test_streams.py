"""The random streams (agents/streams.py): uniform, independent, and kept by key.

Every random number of a run is a function of seed, purpose, time and entity.
The tests draw many numbers and compare their frequencies with what
independent uniform (or normal, or Bernoulli) draws give, by Pearson's
chi-square test. Each comparison rejects correct streams with probability
`ALPHA` = 1e-4 (about 0.3% for the whole module), so a failure means biased
or dependent streams, not bad luck; the seeds are fixed, so given streams
pass or fail every time.

Power: a pair of streams compared on a 10 x 10 grid of 100,000 pairs is
rejected with probability > 0.999 when their correlation is 0.03 or more
(noncentrality about 90 on 81 degrees of freedom); a uniform stream whose
density is 5% off on a tenth of the interval (100 bins, 200,000 numbers) with
probability > 0.99. For `chosen` (10,000 times 50 places), a chance 10% too
high or too low is rejected with probability > 0.999, 5% off with
probability 0.85; a place never (or always) chosen, with certainty.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats
from scipy.special import ndtri

from agents.streams import TIMELESS, Purpose, Streams

ALPHA = 1e-4
PAIRS = 100_000
DRAWS = 10_000


def independent_counts(counts: np.ndarray, trials: int, p: np.ndarray) -> float:
    """P-value of counts of independent Binomial(trials, p) events (chi-square)."""
    counts, p = np.asarray(counts, float), np.broadcast_to(p, np.shape(counts))
    on = (p > 0) & (p < 1)
    assert np.all(counts[p == 0] == 0), "an event of chance 0 happened"
    assert np.all(counts[p == 1] == trials), "an event of chance 1 failed"
    expected = trials * p[on]
    statistic = ((counts[on] - expected) ** 2 / (expected * (1 - p[on]))).sum()
    return float(stats.chi2.sf(statistic, on.sum()))


def one_of_many(observed: np.ndarray, probabilities: np.ndarray) -> float:
    """P-value of multinomial counts, pooling the rare outcomes (chi-square)."""
    observed = np.asarray(observed, float)
    expected = np.asarray(probabilities, float) * observed.sum()
    order = np.argsort(expected)
    rare = order[np.cumsum(expected[order]) < 10.0]  # pooled into one outcome
    common = np.setdiff1d(np.arange(observed.size), rare)
    obs = np.r_[observed[common], observed[rare].sum()]
    exp = np.r_[expected[common], expected[rare].sum()]
    if exp[-1] == 0:
        assert obs[-1] == 0, "an impossible outcome happened"
        obs, exp = obs[:-1], exp[:-1]
    return float(stats.chisquare(obs, exp).pvalue)


def uniform_fit(u: np.ndarray, bins: int = 100) -> float:
    """P-value of numbers in (0, 1) against the uniform distribution."""
    assert np.all((u > 0.0) & (u < 1.0)), "a number outside (0, 1)"
    counts = np.bincount((u * bins).astype(int), minlength=bins)
    return one_of_many(counts, np.full(bins, 1 / bins))


def independence(x: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """P-value of pairs of uniform numbers against independence (10 x 10 grid)."""
    cell = (x * bins).astype(int) * bins + (y * bins).astype(int)
    counts = np.bincount(cell, minlength=bins * bins)
    return one_of_many(counts, np.full(bins * bins, 1 / bins**2))


IDS = np.arange(PAIRS, dtype=np.int64) * 7 + 3  # ids need not be consecutive


def at(seed: int, time: int) -> Streams:
    """The streams of a run seed at a step."""
    s = Streams.of(seed)
    s.time = time
    return s


# --- uniform numbers -------------------------------------------------------------


def test_uniform_numbers_are_uniform_over_entities_and_over_times():
    s = Streams.of(1)
    assert uniform_fit(s.uniform(Purpose.SEARCH, np.arange(2 * PAIRS))) > ALPHA
    # one firm over 2,000 steps, 100 firms at a time
    times = np.concatenate(
        [s.uniform(Purpose.UPGRADE, np.arange(100), time=t) for t in range(2000)]
    )
    assert uniform_fit(times) > ALPHA


@pytest.mark.parametrize(
    "other",
    [
        "another purpose",
        "the next entity",
        "the next step",
        "another draw",
        "another seed",
        "another town, same serial",
    ],
)
def test_uniform_numbers_are_independent_across_keys(other):
    s = at(1, 5)
    first = s.uniform(Purpose.SEARCH, IDS)
    second = {
        "another purpose": lambda: s.uniform(Purpose.ACCEPT, IDS),
        "the next entity": lambda: s.uniform(Purpose.SEARCH, IDS + 1),
        "the next step": lambda: s.uniform(Purpose.SEARCH, IDS, time=6),
        "another draw": lambda: s.uniform(Purpose.SEARCH, IDS, draw=1),
        "another seed": lambda: at(2, 5).uniform(Purpose.SEARCH, IDS),
        "another town, same serial": lambda: s.uniform(Purpose.SEARCH, IDS + (1 << 32)),
    }[other]()
    assert np.all(first != second)
    assert independence(first, second) > ALPHA


def test_a_number_is_fixed_by_seed_purpose_time_and_entity_alone():
    s, again = Streams.of(4), Streams.of(4)
    ids = np.array([3, 7, 1 << 33])
    np.testing.assert_array_equal(
        s.uniform(Purpose.EXIT, ids), again.uniform(Purpose.EXIT, ids)
    )
    # the entity's number, not its position among those asked about
    assert s.uniform(Purpose.EXIT, ids)[1] == s.uniform(Purpose.EXIT, [7])[0]
    # the time is the streams' step unless given
    s.time = 12
    np.testing.assert_array_equal(
        s.uniform(Purpose.EXIT, ids), again.uniform(Purpose.EXIT, ids, time=12)
    )
    assert not np.any(s.uniform(Purpose.EXIT, ids) == again.uniform(Purpose.EXIT, ids))
    # timeless numbers are the same at every step
    np.testing.assert_array_equal(
        s.uniform(Purpose.FIRM_SIZE, ids, time=TIMELESS),
        again.uniform(Purpose.FIRM_SIZE, ids, time=TIMELESS),
    )
    assert Streams.of(4).seed != Streams.of(5).seed


def test_normal_numbers_are_standard_normal():
    z = Streams.of(2).normal(Purpose.SIZE, np.arange(2 * PAIRS))
    assert z.dtype == np.float32
    assert np.all(np.isfinite(z))
    assert np.abs(z).max() < 5.8  # 23 random bits: at most sqrt(-2 ln 2^-24)
    edges = ndtri(np.arange(1, 100) / 100)
    counts = np.bincount(np.searchsorted(edges, z), minlength=100)
    assert one_of_many(counts, np.full(100, 0.01)) > ALPHA


def test_a_pairs_number_is_the_same_both_ways_and_its_own():
    s = Streams.of(3)
    a, b = IDS, IDS[::-1] + 1
    both = s.pair_uniform(Purpose.TIE_END, a, b)
    np.testing.assert_array_equal(both, s.pair_uniform(Purpose.TIE_END, b, a))
    assert uniform_fit(both) > ALPHA
    assert independence(both, s.uniform(Purpose.TIE_END, np.minimum(a, b))) > ALPHA
    # a pair sharing one firm draws its own number
    other = s.pair_uniform(Purpose.TIE_END, a, b + 2)
    assert independence(both, other) > ALPHA
    again = s.pair_uniform(Purpose.TIE_END, a, b, draw=1)
    assert independence(both, again) > ALPHA


# --- places chosen for rare events ------------------------------------------------

N = 50
CHANCES = [0.01, 0.05, 0.15, 0.3]
"""Below 0.2 the gaps between places are geometric; from 0.2 each place is drawn."""


@functools.cache
def chosen_over_time(chance: float) -> tuple[np.ndarray, ...]:
    """The places chosen among N at each of DRAWS steps."""
    s = Streams.of(6)
    drawn = []
    for t in range(DRAWS):
        s.time = t
        drawn.append(s.chosen(Purpose.EXIT, chance, N))
    return tuple(drawn)


@pytest.mark.parametrize("chance", CHANCES)
def test_every_place_is_chosen_with_the_chance_at_every_step(chance):
    drawn = chosen_over_time(chance)
    for places in drawn[:200]:
        assert places.dtype == np.int64
        assert np.all(np.diff(places) > 0), "places not strictly rising"
        assert places.size == 0 or (places[0] >= 0 and places[-1] < N)
    counts = np.bincount(np.concatenate(drawn), minlength=N)
    assert independent_counts(counts, DRAWS, chance) > ALPHA, counts


@pytest.mark.parametrize("chance", CHANCES)
def test_the_number_and_the_first_and_last_places_are_those_of_bernoulli_draws(
    chance,
):
    drawn = chosen_over_time(chance)
    k = np.arange(N + 1)
    number = np.bincount([d.size for d in drawn], minlength=N + 1)
    assert one_of_many(number, stats.binom.pmf(k, N, chance)) > ALPHA, "how many"
    # first place j: (1 - p)^j p; none: (1 - p)^N (outcome N)
    first = np.bincount([d[0] if d.size else N for d in drawn], minlength=N + 1)
    at = (1 - chance) ** k[:N] * chance
    assert one_of_many(first, np.r_[at, (1 - chance) ** N]) > ALPHA, "first"
    last = np.bincount([d[-1] if d.size else N for d in drawn], minlength=N + 1)
    assert one_of_many(last, np.r_[at[::-1], (1 - chance) ** N]) > ALPHA, "last"


@pytest.mark.parametrize("chance", [0.05, 0.3])
def test_neighbouring_places_and_steps_are_independent(chance):
    drawn = chosen_over_time(chance)
    joint = np.outer([1 - chance, chance], [1 - chance, chance]).ravel()
    places = np.zeros((2, 2))  # places 20 and 21 at one step
    steps = np.zeros((2, 2))  # place 20 at two steps in a row
    for now, then in zip(drawn[1:], drawn[:-1], strict=True):
        hit = np.isin([20, 21], now)
        places[int(hit[0]), int(hit[1])] += 1
        steps[int(20 in then), int(hit[0])] += 1
    assert one_of_many(places.ravel(), joint) > ALPHA, places
    assert one_of_many(steps.ravel(), joint) > ALPHA, steps


def test_many_places_get_their_share_of_rare_events():
    s = Streams.of(7)
    counts = []
    for t in range(200):
        s.time = t
        counts.append(s.chosen(Purpose.TIE_END, 0.001, 1_000_000).size)
    # 200 binomial counts of mean 1,000: their sum is within 4 s.d. of 200,000
    assert abs(sum(counts) - 200_000) < 4 * np.sqrt(200_000 * 0.999)


def test_the_same_key_and_time_choose_the_same_places():
    s, again = at(8, 3), at(8, 3)
    first = s.chosen(Purpose.JOIN, 0.1, 1000, draw=2)
    np.testing.assert_array_equal(first, again.chosen(Purpose.JOIN, 0.1, 1000, 2))
    assert s.chosen(Purpose.JOIN, 0.1, 1000, draw=2) is first  # kept for the step
    s.time = 4
    later = s.chosen(Purpose.JOIN, 0.1, 1000, draw=2)
    assert not np.array_equal(later, first)
    s.time = 3  # back to the step: the same places, drawn anew
    np.testing.assert_array_equal(s.chosen(Purpose.JOIN, 0.1, 1000, draw=2), first)
    for other in (
        s.chosen(Purpose.JOIN, 0.1, 1000, draw=1),
        s.chosen(Purpose.PROJECT, 0.1, 1000, draw=2),
        at(9, 3).chosen(Purpose.JOIN, 0.1, 1000, draw=2),
    ):
        assert not np.array_equal(other, first)


def test_no_places_no_chance_or_certainty():
    s = Streams.of(0)
    assert s.chosen(Purpose.EXIT, 0.5, 0).size == 0
    assert s.chosen(Purpose.EXIT, 0.0, 10).size == 0
    assert s.chosen(Purpose.EXIT, 1.0, 10).tolist() == list(range(10))
