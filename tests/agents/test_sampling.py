"""The samplers of agents/sampling.py and agents/partners.py match naive draws.

Each sampler claims the distribution of a naive draw: one Bernoulli trial per
position (`bernoulli_positions`, `thinned_successes`, `sample_ties`), a
uniformly random order within groups (`first_per_group`), a uniform pick
(`random_firm_in`). The tests draw many times and compare the frequencies with
what the naive draw gives, by Pearson's chi-square test. Each comparison
rejects a correct sampler with probability `ALPHA` = 1e-4 (about 0.2% for the
whole module), so a failure means a biased sampler, not bad luck; the seeds are
fixed, so a given sampler passes or fails every time.

Power: with 10,000 draws of 50 positions at p = 0.05, a success rate 10% too
high or too low is rejected with probability > 0.999 (noncentral chi-square,
noncentrality 263 on 50 degrees of freedom), 5% off with probability 0.85
(19 of 20 seeds tried); a position that is never (or always) drawn, as when
the gaps start one position late, is rejected with certainty.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from agents.base import ALL
from agents.partners import sample_ties
from agents.sampling import (
    Directory,
    bernoulli_positions,
    first_per_group,
    random_firm_in,
    thinned_successes,
)
from agents.tables import Firms

ALPHA = 1e-4
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


# --- bernoulli_positions ----------------------------------------------------------

N = 50


def positions_drawn(p: float, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [bernoulli_positions(rng, N, p) for _ in range(DRAWS)]


@pytest.mark.parametrize("p", [0.01, 0.05, 0.15, 0.3])  # geometric gaps below 0.2
def test_every_position_succeeds_with_chance_p(p):
    drawn = positions_drawn(p, seed=1)
    for positions in drawn[:100]:
        assert positions.dtype.kind == "i"
        assert np.all(np.diff(positions) > 0), "positions not strictly rising"
        assert positions.size == 0 or (positions[0] >= 0 and positions[-1] < N)
    counts = np.bincount(np.concatenate(drawn), minlength=N)
    assert independent_counts(counts, DRAWS, p) > ALPHA, counts


@pytest.mark.parametrize("p", [0.01, 0.05, 0.15, 0.3])
def test_the_number_and_the_first_and_last_successes_are_those_of_naive_draws(p):
    drawn = positions_drawn(p, seed=2)
    k = np.arange(N + 1)
    number = np.bincount([d.size for d in drawn], minlength=N + 1)
    assert one_of_many(number, stats.binom.pmf(k, N, p)) > ALPHA, "how many"
    # first success at position j: (1 - p)^j p; none: (1 - p)^N (outcome N)
    first = np.bincount([d[0] if d.size else N for d in drawn], minlength=N + 1)
    at = (1 - p) ** k[:N] * p
    assert one_of_many(first, np.r_[at, (1 - p) ** N]) > ALPHA, "first"
    last = np.bincount([d[-1] if d.size else N for d in drawn], minlength=N + 1)
    assert one_of_many(last, np.r_[at[::-1], (1 - p) ** N]) > ALPHA, "last"


def test_neighbouring_positions_are_independent():
    p = 0.1
    drawn = positions_drawn(p, seed=3)
    pairs = np.zeros((2, 2))  # outcomes of positions 20 and 21
    for positions in drawn:
        hit = np.isin([20, 21], positions)
        pairs[int(hit[0]), int(hit[1])] += 1
    joint = np.outer([1 - p, p], [1 - p, p]).ravel()
    assert one_of_many(pairs.ravel(), joint) > ALPHA, pairs


def test_no_trials_or_no_chance_give_no_successes_and_certainty_all():
    rng = np.random.default_rng(0)
    assert bernoulli_positions(rng, 0, 0.5).size == 0
    assert bernoulli_positions(rng, 10, 0.0).size == 0
    assert bernoulli_positions(rng, 10, 1.0).tolist() == list(range(10))


# --- thinned_successes ------------------------------------------------------------


@pytest.mark.parametrize("top", [0.05, 0.4])
def test_thinned_trials_succeed_with_their_own_chances(top):
    chances = top * np.linspace(0.0, 1.0, N)  # from 0 to the top chance
    rng = np.random.default_rng(4)
    asked: list[np.ndarray] = []

    def chance_of(positions: np.ndarray) -> np.ndarray:
        asked.append(positions)
        return chances[positions]

    drawn = [thinned_successes(rng, N, top, chance_of) for _ in range(DRAWS)]
    counts = np.bincount(np.concatenate(drawn), minlength=N)
    assert independent_counts(counts, DRAWS, chances) > ALPHA, counts
    # only the candidates' chances are computed: about top * N per draw
    assert sum(a.size for a in asked) < 1.1 * top * N * DRAWS


# --- sample_ties ------------------------------------------------------------------


def partner_table(slots: int, width: int, seed: int) -> Firms:
    """Firms whose tie slots are filled at random (with arbitrary partners)."""
    firms = Firms.empty(slots, width)
    filled = np.random.default_rng(seed).random((slots, width)) < 0.5
    firms.partners[filled] = 0
    return firms


@pytest.mark.parametrize("chance", [0.02, 0.3])
@pytest.mark.parametrize("acting", ["all", "few", "many"])
def test_each_filled_tie_slot_of_the_acting_firms_is_drawn_with_the_chance(
    chance, acting
):
    firms = partner_table(slots=40, width=3, seed=5)
    idx = {
        "all": ALL,
        "few": np.array([3, 7, 8, 21, 30]),  # fewer than a quarter: own rows
        "many": np.arange(1, 40, 2),  # half: drawn over the table, then kept
    }[acting]
    rng = np.random.default_rng(6)
    counts = np.zeros(firms.partners.shape)
    for _ in range(DRAWS // 2):
        owners, cols = sample_ties(firms, idx, chance, rng)
        np.add.at(counts, (owners, cols), 1)
    mine = np.zeros(firms.partners.shape, dtype=bool)
    mine[idx] = True
    p = np.where(mine & (firms.partners >= 0), chance, 0.0)
    assert independent_counts(counts, DRAWS // 2, p) > ALPHA


# --- first_per_group and random picks ---------------------------------------------


def test_first_per_group_picks_every_subset_of_a_group_alike():
    groups = np.repeat(np.array([0, 1, 2]), [5, 3, 4])
    room = np.array([2, 3, 0])
    rng = np.random.default_rng(7)
    subsets = {pair: i for i, pair in enumerate(itertools.combinations(range(5), 2))}
    seen = np.zeros(len(subsets))
    for _ in range(DRAWS):
        picked = first_per_group(groups, room, rng)
        assert picked[5:8].all() and not picked[8:].any()  # room for all, none
        seen[subsets[tuple(np.flatnonzero(picked[:5]))]] += 1
    assert one_of_many(seen, np.full(len(subsets), 1 / len(subsets))) > ALPHA, seen


def test_a_random_firm_of_a_town_is_any_of_its_live_firms_alike():
    alive = np.zeros(12, dtype=bool)
    alive[[0, 2, 3, 5, 6, 7, 8, 11]] = True  # towns of 4 slots: 3, 3 and 2 firms
    directory = Directory.of(np.zeros((3, 3)), np.zeros(0, np.int64), 4)
    directory.refresh(alive, np.array([3, 3, 2]))
    rng = np.random.default_rng(8)
    town = np.repeat(np.arange(3), DRAWS // 3)
    met = random_firm_in(directory, rng, town)
    for t, firms in enumerate([[0, 2, 3], [5, 6, 7], [8, 11]]):
        here = met[town == t]
        assert set(here.tolist()) == set(firms)
        counts = np.array([(here == firm).sum() for firm in firms])
        assert one_of_many(counts, np.full(len(firms), 1 / len(firms))) > ALPHA
