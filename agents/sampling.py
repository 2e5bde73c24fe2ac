"""Random draws the rules share: rare events, picks in groups, random partners.

Besides rare events and picks within groups, a random town neighbour, live
firm or university is drawn here from the province's `Directory`.

Rare events (a tie ending, a firm closing by the background hazard) are drawn
by geometric gaps and thinning, so the cost grows with the events, not with the
firms; the distribution is that of one Bernoulli draw per trial.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse


def bernoulli_positions(rng: np.random.Generator, n: int, p: float) -> np.ndarray:
    """Positions of the successes among `n` Bernoulli(`p`) trials, in order.

    Drawn by geometric gaps, so the cost grows with the successes, not the trials:
    the same distribution as `np.flatnonzero(rng.random(n) < p)`.
    """
    if n == 0 or p <= 0.0:
        return np.zeros(0, dtype=np.intp)
    if p >= 0.2:
        return np.flatnonzero(rng.random(n) < p)
    found, last = [], -1
    while True:
        batch = int(n * p + 6.0 * np.sqrt(n * p) + 16)
        positions = last + np.cumsum(rng.geometric(p, size=batch))
        found.append(positions[positions < n])
        if positions[-1] >= n:
            return np.concatenate(found)
        last = int(positions[-1])


def thinned_successes(
    rng: np.random.Generator,
    n: int,
    top: float,
    chance_of: Callable[[NDArray[np.intp]], ArrayLike],
) -> NDArray[np.intp]:
    """Positions of the successes among `n` Bernoulli trials with chances <= `top`.

    Thinning: candidates succeed at the `top` chance, then each is kept with its
    own chance over `top`. The same distribution as drawing every trial, but
    `chance_of(positions)` is computed for the candidates only.
    """
    candidates = bernoulli_positions(rng, n, top)
    keep = rng.random(candidates.size) * top < chance_of(candidates)
    return candidates[keep]


def first_per_group(
    groups: NDArray[np.intp], room: NDArray[np.int64], rng: np.random.Generator
) -> NDArray[np.bool_]:
    """Pick, in random order, at most `room[g]` members of each group `g`."""
    if groups.size == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(groups + rng.random(groups.size))  # by group, random within
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(groups.size, dtype=np.int64)
    rank[order] = np.arange(groups.size) - starts
    return rank < room[groups]


@dataclass
class Directory:
    """Who is where: each town's neighbours and live firms, each region's universities.

    Built with the province; `refresh` re-indexes the live firms, which the
    model does at the end of every step (firms meet partners among the firms
    alive at the step's start).
    """

    adjacency: sparse.csr_array
    """The town graph as a sparse 0/1 matrix, for neighbour sums."""
    university_start: NDArray[np.intp]
    university_count: NDArray[np.intp]
    university_order: NDArray[np.intp]
    live_slots: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    live_first: NDArray[np.intp] = field(default_factory=lambda: np.zeros(0, np.intp))
    live_count: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def of(
        cls, adjacency: sparse.csr_array, university_region: NDArray, regions: int
    ) -> Directory:
        """Index the town graph (a sparse 0/1 matrix) and the universities."""
        order = np.argsort(university_region, kind="stable")
        count = np.bincount(university_region, minlength=regions)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        return cls(adjacency, start, count, order)

    def refresh(self, alive: NDArray[np.bool_], per_town: NDArray[np.int64]) -> None:
        """Index the live firms: `alive` per slot, `per_town` live firms per town."""
        self.live_slots = np.flatnonzero(alive)
        self.live_count = per_town
        self.live_first = np.concatenate([[0], np.cumsum(per_town)[:-1]])


def random_neighbour_town(
    directory: Directory, rng: np.random.Generator, town: NDArray[np.intp]
) -> NDArray[np.intp]:
    """A random neighbour of each town in the town network (itself if isolated)."""
    indptr, indices = directory.adjacency.indptr, directory.adjacency.indices
    if indices.size == 0:
        return town
    degree = indptr[town + 1] - indptr[town]
    pick = indptr[town] + (rng.random(town.size) * degree).astype(np.intp)
    return np.where(degree > 0, indices[np.minimum(pick, indices.size - 1)], town)


def random_firm_in(
    directory: Directory, rng: np.random.Generator, town: NDArray[np.intp]
) -> NDArray[np.intp]:
    """A random live firm of each town, as of the step's start (-1 if none)."""
    live, first = directory.live_slots, directory.live_first
    count = directory.live_count[town]
    pick = first[town] + (rng.random(town.size) * count).astype(np.intp)
    return np.where(count > 0, live[np.minimum(pick, max(live.size - 1, 0))], -1)


def random_university(
    directory: Directory, rng: np.random.Generator, region: NDArray[np.intp]
) -> NDArray[np.intp]:
    """A random university of each region (-1 where the region has none)."""
    start, count = directory.university_start, directory.university_count
    order = directory.university_order
    pick = (rng.random(region.size) * count[region]).astype(np.intp)
    slot = np.minimum(start[region] + pick, max(order.size - 1, 0))
    return np.where(count[region] > 0, order[slot] if order.size else -1, -1)
