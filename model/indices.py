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

from agents.enterprise import CROSS_INDUSTRY, CROSS_TOWN, HORIZONTAL, VERTICAL, tie_kind

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


def measure(model: TownModel) -> None:
    """Recompute every town's aggregates, six indices, coordination and dimension."""
    f, towns, r, s = model.firms, model.towns, model.rates, model.settings
    shape = (model.n_towns, model.capacity)
    alive = f.alive.reshape(shape)
    count = alive.sum(axis=1)
    n = np.maximum(count, 1)

    def mean(values: ArrayLike) -> F64:
        return np.where(alive, np.asarray(values).reshape(shape), 0.0).sum(axis=1) / n

    towns.firms[:] = count
    towns.gdp[:] = mean(f.output) * count
    level = f.level.reshape(shape)
    for at_least in range(6):
        towns.share_at_least[:, at_least] = mean(level >= at_least)
    towns.mean_knowledge[:] = mean(f.knowledge)

    kinds = tie_kinds(model)
    has = lambda *wanted: np.isin(kinds, wanted).any(axis=1)  # noqa: E731
    any_tie = has(VERTICAL, HORIZONTAL, CROSS_INDUSTRY, CROSS_TOWN)
    towns.external[:] = mean(has(CROSS_TOWN))
    member = f.member > 0
    towns.member_share[:] = mean(member)

    built, links = towns.platform_built, model.adjacency @ towns.platform_built
    towns.platform_linked[:] = built & (links > 0)
    towns.linked[:] = towns.platform_linked.any(axis=1)
    member_k = np.where(alive & member.reshape(shape), f.knowledge.reshape(shape), 0)
    members = np.maximum((alive & member.reshape(shape)).sum(axis=1), 1)
    pool = member_k.sum(axis=1) / members
    best_uni = np.zeros(model.n_towns)
    uni = model.universities
    for region in np.unique(uni.region):
        best_uni[towns.region == region] = uni.knowledge[uni.region == region].max()
    centre = towns.platform_built[:, 1]
    towns.platform_knowledge[:] = pool + centre * 0.5 * np.maximum(0, best_uni - pool)

    next_cost = r.upgrade_cost[f.level - 1] * f.size
    affordable = mean(f.funds >= next_cost * (1 - towns.subsidy_offer[f.town]))
    talent = mean(np.minimum(1.0, f.talent / r.talent_reference))
    management = np.cbrt(talent * towns.mean_knowledge * affordable)

    coverage = 0.6 * towns.member_share + 0.2 * built.mean(axis=1)
    platforms = coverage + 0.2 * towns.platform_linked.mean(axis=1)
    in_project = mean(f.university >= 0)
    spending = model.spending_intensity()
    gov_uni = (
        0.4 * np.minimum(1.0, in_project / 0.1)
        + 0.3 * np.minimum(1.0, spending / 0.005)
        + 0.3 * towns.share_at_least[:, 3]
    )
    towns.indices[:] = np.column_stack(
        [
            management,
            mean(any_tie),
            mean(has(VERTICAL)),
            mean(has(HORIZONTAL, CROSS_INDUSTRY)),
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


def tie_kinds(model: TownModel) -> NDArray[np.int64]:
    """Kind of every tie slot of every firm; -1 where the slot is empty."""
    f = model.firms
    partners = f.partners
    other = np.maximum(partners, 0)
    kinds = tie_kind(
        f.town[other] == f.town[:, None],
        f.industry[other] == f.industry[:, None],
        f.stage[other] == f.stage[:, None],
    )
    return np.where(partners >= 0, kinds, -1)
