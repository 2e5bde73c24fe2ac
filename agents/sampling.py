"""Picks the rules share: within groups, a town's neighbour, a university.

Each pick turns uniform numbers from `agents.streams` into a choice, so that
it is keyed by purpose, step and entity like every draw of the model.
Picking a partner among a town's live firms is the partner search's
(`agents.ties.random_firm_in`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse


def first_per_group(
    groups: NDArray[np.intp], room: NDArray[np.int64], draw: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """Pick at most `room[g]` members of each group `g`, lowest `draw` first.

    Only the groups with more members than room are ordered.
    """
    picked = np.ones(groups.size, dtype=bool)
    full = np.bincount(groups, minlength=room.size) > room
    crowded = np.flatnonzero(full[groups])
    if crowded.size == 0:
        return picked
    groups, draw = groups[crowded], draw[crowded]
    order = np.argsort(groups + draw)  # by group, in the order of the draws
    sorted_groups = groups[order]
    starts = np.searchsorted(sorted_groups, sorted_groups, side="left")
    rank = np.empty(groups.size, dtype=np.int64)
    rank[order] = np.arange(groups.size) - starts
    picked[crowded] = rank < room[groups]
    return picked


@dataclass
class Directory:
    """Who is where: each town's neighbours, each region's universities."""

    adjacency: sparse.csr_array
    """The town graph as a sparse 0/1 matrix, for neighbour sums."""
    university_start: NDArray[np.intp]
    university_count: NDArray[np.intp]
    university_order: NDArray[np.intp]

    @classmethod
    def of(
        cls, adjacency: sparse.csr_array, university_region: NDArray, regions: int
    ) -> Directory:
        """Index the town graph (a sparse 0/1 matrix) and the universities."""
        order = np.argsort(university_region, kind="stable")
        count = np.bincount(university_region, minlength=regions)
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        return cls(adjacency, start, count, order)


def random_neighbour_town(
    directory: Directory, draw: NDArray[np.float64], town: NDArray[np.intp]
) -> NDArray[np.intp]:
    """A random neighbour of each town (itself if isolated), one `draw` each."""
    indptr, indices = directory.adjacency.indptr, directory.adjacency.indices
    if indices.size == 0:
        return town
    degree = indptr[town + 1] - indptr[town]
    pick = indptr[town] + (draw * degree).astype(np.intp)
    return np.where(degree > 0, indices[np.minimum(pick, indices.size - 1)], town)


def random_university(
    directory: Directory, draw: NDArray[np.float64], region: NDArray[np.intp]
) -> NDArray[np.intp]:
    """A random university of each region (-1 where it has none), one `draw` each."""
    start, count = directory.university_start, directory.university_count
    order = directory.university_order
    pick = (draw * count[region]).astype(np.intp)
    slot = np.minimum(start[region] + pick, max(order.size - 1, 0))
    return np.where(count[region] > 0, order[slot] if order.size else -1, -1)
