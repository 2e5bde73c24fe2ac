"""The six collaborative systems of a town, their coordination, and its dimension.

Each system index is in [0, 1]. The collaborative innovation index is the
coupling coordination degree D = sqrt(C * T) of regional studies, which is high
only when the six systems are high *together*. A town's dimension is the highest
level that enough of its firms have reached and that its coordination supports;
dimension 4 ("Internet+") also needs cross-town ties.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from agents import systems
from agents.base import town_mean, town_sum
from agents.ties import CROSS_TOWN
from agents.world import World
from scenarios.schema import LEVELS, REGIONS

F64 = NDArray[np.float64]


def coupling_coordination(indices: ArrayLike, weights: ArrayLike | None = None) -> F64:
    """Coupling coordination degree of the last axis: D = sqrt(C * T).

    C = n * (prod U)^(1/n) / sum U measures how even the systems are (1 when
    equal), T their (weighted) mean level. A town with any system at zero has D = 0.
    """
    u = np.clip(np.asarray(indices, dtype=float), 0.0, 1.0)
    n = u.shape[-1]
    total = u.sum(axis=-1)
    with np.errstate(divide="ignore"):
        geometric = np.exp(np.log(u).mean(axis=-1))
    coupling = np.divide(
        n * geometric, total, out=np.zeros_like(total), where=total > 0
    )
    w = (
        np.full(n, 1.0 / n)
        if weights is None
        else np.asarray(weights) / np.sum(weights)
    )
    return np.sqrt(coupling * (u @ w))


def ladder(
    share_at_least: ArrayLike,
    coordination: ArrayLike,
    external: ArrayLike,
    firm_share: float,
    coordination_needed: ArrayLike,
    external_needed: float,
) -> NDArray[np.int64]:
    """Dimension of each town: climbed in order, each rung needing the ones below.

    Args:
        share_at_least: Share of firms at level >= L, columns L = 0..5.
        coordination: Coupling coordination degree D per town.
        external: Share of firms with cross-town ties per town.
        firm_share: Share of firms needed at a level.
        coordination_needed: D needed for dimensions 2, 3 and 4.
        external_needed: Cross-town share needed for dimension 4.
    """
    shares = np.atleast_2d(share_at_least)
    coordination = np.asarray(coordination)
    rungs = [
        (shares[:, level] >= firm_share)
        & (coordination >= coordination_needed[level - 2])
        for level in (2, 3, 4)
    ]
    rungs[2] &= np.asarray(external) >= external_needed
    climbed = np.cumprod(np.stack(rungs, axis=1), axis=1)
    return 1 + climbed.sum(axis=1)


def share_at_least(counts: ArrayLike) -> F64:
    """Share of firms at level >= L, columns L = 0..5, from counts per level 1..4.

    The one definition the town table, the ladder and the analyses use.
    """
    counts = np.asarray(counts)
    total = counts.sum(axis=-1, keepdims=True)
    above = np.cumsum(counts[..., ::-1], axis=-1)[..., ::-1]  # L = 1..4
    at_least = np.concatenate([total, above, np.zeros_like(total)], axis=-1)
    return at_least / np.maximum(total, 1)


def level_counts(world: World) -> NDArray[np.int64]:
    """Live firms of each town at levels 1..4, one column per level."""
    f, levels = world.firms, len(LEVELS)
    cell = f.town[f.alive] * levels + f.level[f.alive] - 1
    counts = np.bincount(cell, minlength=world.n_towns * levels)
    return counts.reshape(world.n_towns, levels)


CENTRE_REACH = 0.5
"""Share of the gap to its region's best university that an innovation centre
closes in its platform's knowledge pool."""


def observe(world: World) -> None:
    """Refresh the town aggregates that firms read every step (cheap)."""
    f, towns = world.firms, world.towns
    counts = level_counts(world)
    towns.firms[:] = counts.sum(axis=1)
    towns.gdp[:] = town_sum(world, f.output)
    towns.share_at_least[:] = share_at_least(counts)
    towns.mean_knowledge[:] = town_mean(world, f.knowledge)
    towns.mean_size[:] = town_mean(world, f.size)
    member = f.member > 0
    towns.member_share[:] = town_mean(world, member)
    towns.platform_linked[:] = towns.platform_built & (
        world.directory.adjacency @ towns.platform_built > 0
    )
    towns.linked[:] = towns.platform_linked.any(axis=1)
    members = np.maximum(town_sum(world, member), 1)
    pool = town_sum(world, f.knowledge * member) / members
    uni = world.universities
    best = np.zeros(len(REGIONS))  # best university knowledge per region
    np.maximum.at(best, uni.region, uni.knowledge)
    best_here = best[towns.region]
    centre = towns.platform_built[:, 1]
    reach = centre * CENTRE_REACH * np.maximum(0, best_here - pool)
    towns.platform_knowledge[:] = pool + reach


def measure_systems(world: World) -> None:
    """Compute the six system indices, coordination D and each town's dimension.

    Done once a year (and at the start), like the yearly statistics these
    indices stand for; adaptive governments read them at their next budget.
    """
    towns, ladder_settings = world.towns, world.settings.ladder
    held = systems.kinds_held(world.firms.tie_kind)
    towns.external[:] = systems.share_with_ties(world, held, CROSS_TOWN)
    towns.indices[:] = systems.measure(world, held)
    towns.coordination[:] = coupling_coordination(towns.indices)
    towns.dimension[:] = ladder(
        towns.share_at_least,
        towns.coordination,
        towns.external,
        ladder_settings.firm_share,
        ladder_settings.coordination_needed,
        ladder_settings.external_needed,
    )
