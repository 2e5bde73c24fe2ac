"""Town governments: a yearly budget split over four policy levers.

Talent money brings IT staff into the town's pool, IP money buys enforcement,
platform money builds and runs platforms, and funding money pays a share of the
firms' upgrade costs. An adaptive government tilts its budget toward the lever
that serves its weakest collaborative system.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent
from numpy.typing import ArrayLike, NDArray

from agents.base import ALL, ArrayView, Column, per_firm, state_of, town_totals
from agents.systems import SYSTEM_LEVER
from scenarios.schema import LEVERS

if TYPE_CHECKING:
    from agents.world import World

TALENT, FUNDING, IP, PLATFORM = map(
    LEVERS.index, ("talent", "funding", "ip", "platform")
)
"""Columns of the four levers in budget splits (the order of `LEVERS`)."""
PLATFORM_SPLIT = 0.5
"""Share of platform money that builds the next kind while another one runs."""


def lever_weights(
    static: ArrayLike, indices: ArrayLike, tilt: float, adaptive: bool
) -> NDArray[np.float64]:
    """Budget shares of the four levers, per town.

    Args:
        static: The scenario's normalised lever weights, shape (4,).
        indices: The towns' six system indices, shape (n, 6).
        tilt: Share of the budget an adaptive government moves to one lever.
        adaptive: Whether to tilt toward the weakest system's lever.
    """
    indices = np.atleast_2d(indices)
    weights = np.broadcast_to(np.asarray(static, dtype=float), (len(indices), 4))
    if not adaptive:
        return weights.copy()
    focus = np.zeros_like(weights)
    focus[np.arange(len(indices)), SYSTEM_LEVER[np.argmin(indices, axis=1)]] = 1.0
    return (1.0 - tilt) * weights + tilt * focus


def ip_protection(legal: float, spending: ArrayLike, scale: float) -> ArrayLike:
    """Effective protection: the legal floor plus saturating returns to enforcement.

    Args:
        legal: Protection from law alone.
        spending: Yearly enforcement spending per firm, M yuan.
        scale: Spending per firm that closes 63% of the gap to full protection.
    """
    return legal + (1.0 - legal) * (1.0 - np.exp(-np.asarray(spending) / scale))


def subsidy_rate(
    funding: ArrayLike, expected_outlay: ArrayLike, cap: float
) -> ArrayLike:
    """Share of upgrade costs the government offers to pay.

    Its yearly funding budget spread over the upgrade spending it expects (last
    years', smoothed), at most `cap`; the full cap before any upgrade is seen.

    Args:
        funding: Yearly funding-lever budget, M yuan.
        expected_outlay: Expected yearly upgrade spending of the town's firms.
        cap: Largest share of a cost that is subsidized.
    """
    funding = np.asarray(funding, dtype=float)
    outlay = np.asarray(expected_outlay, dtype=float)
    seen = outlay > 1e-9  # M yuan: below a thousandth of a yuan, nothing was seen
    covered = np.divide(funding, outlay, out=np.ones_like(funding), where=seen)
    return np.where(funding > 0, np.minimum(cap, covered), 0.0)


def govern(world: World, idx: NDArray[np.intp]) -> None:
    """Collect this step's budget and spend it on the four levers."""
    towns, r, policy = world.towns, world.rates, world.policy
    budget = (policy.budget_share * towns.gdp[idx] + policy.province_budget) / (
        r.steps_per_year
    )
    weights = lever_weights(
        [policy.weights()[lever] for lever in LEVERS],
        towns.indices[idx],
        policy.adaptive_tilt,
        policy.allocation == "adaptive",
    )
    spend = budget[:, None] * weights
    towns.lever_weights[idx] = weights
    towns.talent_pool[idx] += spend[:, TALENT] / policy.talent_cost

    firms = np.maximum(towns.firms[idx], 1)
    yearly_ip = spend[:, IP] * r.steps_per_year / firms
    towns.ip_spending[idx] += r.smoothing * (yearly_ip - towns.ip_spending[idx])
    towns.ip_protection[idx] = ip_protection(
        r.legal_protection, towns.ip_spending[idx], r.enforcement_scale
    )
    invest_in_platforms(world, idx, spend[:, PLATFORM])

    towns.funding_pool[idx] = spend[:, FUNDING]
    towns.subsidy_offer[idx] = subsidy_rate(
        spend[:, FUNDING] * r.steps_per_year,
        towns.upgrade_outlay[idx],
        policy.subsidy_cap,
    )
    for lever in (TALENT, IP, PLATFORM):
        world.ledger.add(f"spent_{LEVERS[lever]}", idx, spend[:, lever])


def invest_in_platforms(
    world: World, idx: NDArray[np.intp], money: NDArray[np.float64]
) -> None:
    """Build platforms in order (public service first) and run the built ones.

    While a kind remains to be built and another already runs, the money is
    split half and half, so that running platforms keep their members.
    """
    towns, r = world.towns, world.rates
    capital, built = towns.platform_capital[idx], towns.platform_built[idx]
    capital *= 1.0 - r.platform_depreciation
    unbuilt = ~built
    building = unbuilt.any(axis=1)
    running = built.any(axis=1)
    to_build = money * np.where(running, PLATFORM_SPLIT, 1.0) * building
    rows, next_kind = np.flatnonzero(building), np.argmax(unbuilt, axis=1)[building]
    capital[rows, next_kind] += to_build[rows]
    n_built = np.maximum(built.sum(axis=1), 1)
    capital += ((money - to_build) / n_built)[:, None] * built
    built[rows, next_kind] = capital[rows, next_kind] >= r.build_cost[next_kind]
    towns.platform_capital[idx] = capital
    towns.platform_built[idx] = built


def settle_subsidies(world: World) -> None:
    """Pay this step's subsidy claims, pro rata where the funding pool falls short."""
    f, towns = world.firms, world.towns
    claimed = town_totals(world, ALL, f.subsidy_claim)
    ratio = np.divide(
        towns.funding_pool,
        claimed,
        out=np.ones_like(claimed),
        where=claimed > towns.funding_pool,
    )
    paid = f.subsidy_claim * per_firm(world, ALL, np.minimum(1.0, ratio))
    f.funds += paid
    f.subsidy_claim[:] = 0.0
    spent = town_totals(world, ALL, paid)
    towns.funding_pool -= spent
    yearly_outlay = towns.step_outlay * world.rates.steps_per_year
    towns.upgrade_outlay += world.rates.smoothing * (
        yearly_outlay - towns.upgrade_outlay
    )
    towns.step_outlay[:] = 0.0
    world.ledger.book("subsidies", spent)
    world.ledger.book("spent_funding", spent)


class Government(ArrayView, FixedAgent):
    """A town's government: a view on one row of the model's town table.

    Args:
        model: The model that owns the town table.
        town: The town it governs.
    """

    gdp = Column("towns")
    dimension = Column("towns")
    talent_pool = Column("towns")
    ip_protection = Column("towns")
    funding_pool = Column("towns")
    subsidy_offer = Column("towns")
    lever_weights = Column("towns")
    coordination = Column("towns")

    def __init__(self, model: World, town: int) -> None:
        super().__init__(model)
        self.slot = town
        self.cell = model.grid[town]

    def step(self) -> None:
        """Set this quarter's budget and spend it on the levers (certified towns)."""
        if self.model.towns.certified[self.slots].all():
            govern(self.model, self.slots)

    @property
    def state(self) -> dict[str, object]:
        """Every state variable of the government's town, by name."""
        return state_of(self, "towns")
