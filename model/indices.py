"""The six collaborative systems of a town, their coordination, and its dimension.

Each system index is in [0, 1]. The collaborative innovation index is the
coupling coordination degree D = sqrt(C * T) of regional studies, which is high
only when the six systems are high *together*. A town's dimension is the highest
level that enough of its firms have reached and that its coordination supports;
dimension 4 ("Internet+") also needs cross-town ties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from agents.enterprise import CROSS_INDUSTRY, CROSS_TOWN, HORIZONTAL, VERTICAL
from scenarios.schema import REGIONS

if TYPE_CHECKING:
    from model.model import TownModel

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


def observe(model: TownModel) -> None:
    """Refresh the town aggregates that firms read every step (cheap)."""
    f, towns = model.firms, model.towns
    alive = f.alive.reshape(model.n_towns, model.capacity)
    count = alive.sum(axis=1)
    towns.firms[:] = count
    towns.gdp[:] = town_sum(model, f.output)
    level = f.level.reshape(alive.shape)
    for at_least in range(6):
        towns.share_at_least[:, at_least] = (alive & (level >= at_least)).sum(
            axis=1
        ) / np.maximum(count, 1)
    towns.mean_knowledge[:] = town_mean(model, f.knowledge)
    member = f.member > 0
    towns.member_share[:] = town_mean(model, member)
    towns.platform_linked[:] = towns.platform_built & (
        model.adjacency @ towns.platform_built > 0
    )
    towns.linked[:] = towns.platform_linked.any(axis=1)
    members = np.maximum(town_sum(model, member), 1)
    pool = town_sum(model, f.knowledge * member) / members
    uni = model.universities
    best = np.zeros(len(REGIONS))  # best university knowledge per region
    np.maximum.at(best, uni.region, uni.knowledge)
    best_here = best[towns.region]
    centre = towns.platform_built[:, 1]
    towns.platform_knowledge[:] = pool + centre * 0.5 * np.maximum(0, best_here - pool)


def measure_systems(model: TownModel) -> None:
    """Compute the six system indices, coordination D and each town's dimension.

    Done once a year (and at the start), like the yearly statistics these
    indices stand for; adaptive governments read them at their next budget.
    """
    f, towns, r, s = model.firms, model.towns, model.rates, model.settings
    held = kinds_held(f.tie_kind)

    def has(*wanted: int) -> F64:
        bits = sum(1 << kind for kind in wanted)
        return town_mean(model, (held & bits) > 0)

    towns.external[:] = has(CROSS_TOWN)
    next_cost = r.upgrade_cost[f.level - 1] * f.size
    offer = towns.subsidy_offer[f.town]
    affordable = town_mean(model, f.funds >= next_cost * (1 - offer))
    talent = town_mean(model, np.minimum(1.0, f.talent / r.talent_reference))
    management = np.cbrt(talent * towns.mean_knowledge * affordable)
    built = towns.platform_built
    platforms = (
        0.6 * towns.member_share
        + 0.2 * built.mean(axis=1)
        + 0.2 * towns.platform_linked.mean(axis=1)
    )
    gov_uni = (
        0.4 * np.minimum(1.0, town_mean(model, f.university >= 0) / 0.1)
        + 0.3 * np.minimum(1.0, model.spending_intensity() / 0.005)
        + 0.3 * towns.share_at_least[:, 3]
    )
    towns.indices[:] = np.column_stack(
        [
            management,
            has(VERTICAL, HORIZONTAL, CROSS_INDUSTRY, CROSS_TOWN),
            has(VERTICAL),
            has(HORIZONTAL, CROSS_INDUSTRY),
            platforms,
            gov_uni,
        ]
    )
    towns.coordination[:] = coupling_coordination(towns.indices)
    towns.dimension[:] = ladder(
        towns.share_at_least,
        towns.coordination,
        towns.external,
        s.ladder.firm_share,
        s.ladder.coordination_needed,
        s.ladder.external_needed,
    )


def kinds_held(tie_kind: NDArray[np.int8]) -> NDArray[np.uint8]:
    """Bit mask per firm of the tie kinds it holds (bit k: kind k)."""
    held = np.zeros(tie_kind.shape[0], dtype=np.uint8)
    for column in tie_kind.T:
        held |= np.where(column >= 0, np.left_shift(1, column.clip(0)), 0).astype(
            np.uint8
        )
    return held


def town_sum(model: TownModel, values: ArrayLike) -> F64:
    """Sum of a firm column over each town's live firms."""
    shape = (model.n_towns, model.capacity)
    alive = model.firms.alive.reshape(shape)
    return np.where(alive, np.asarray(values).reshape(shape), 0).sum(axis=1)


def town_mean(model: TownModel, values: ArrayLike) -> F64:
    """Mean of a firm column over each town's live firms (0 for an empty town)."""
    return town_sum(model, values) / np.maximum(model.towns.firms, 1)
