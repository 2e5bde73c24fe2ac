"""A firm's accounts: what it sells, what it pays, and what it may owe.

One place computes a firm's yearly output, operating cost and credit line from
its state, for the behaviours (production, exit, founding) and the inspector.
Output and costs are in million yuan a year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from agents.base import Selection

if TYPE_CHECKING:
    from agents.world import World


def revenue(
    size: ArrayLike,
    efficiency: ArrayLike,
    level: ArrayLike,
    knowledge: ArrayLike,
    fit: ArrayLike,
    customized: float,
    productivity: float,
    level_gain: float,
    knowledge_gain: float,
) -> ArrayLike:
    """Yearly output (M yuan): own efficiency, raised by level and knowledge, times fit.

    `efficiency` is the firm's inborn productivity (mean 1), which only its
    results reveal (Jovanovic 1982). Standard demand pays every firm; the
    customized share of demand pays in proportion to `fit`, which only levels 3
    and 4 have in full.
    """
    gain = (1.0 + level_gain * (np.asarray(level) - 1)) * (
        1.0 + knowledge_gain * np.asarray(knowledge)
    )
    market = (1.0 - customized) + customized * np.asarray(fit)
    return np.asarray(size) * np.asarray(efficiency) * productivity * gain * market


def operating_cost(
    size: ArrayLike,
    talent: ArrayLike,
    ties: ArrayLike,
    member: ArrayLike,
    productivity: float,
    unit_cost: float,
    it_wage: float,
    tie_cost: float,
    tie_saving: float,
    service_saving: float,
) -> ArrayLike:
    """Yearly costs (M yuan): production, the IT staff premium and tie upkeep.

    Each partner cuts production cost by `tie_saving` (division of labour
    along the chain, shared orders and inputs) and costs `tie_cost` of base
    output to keep up, both growing with what the firms exchange; a platform's
    shared services (testing, design, logistics, e-commerce) cut a member's
    production cost by `service_saving`.
    """
    base = np.asarray(size) * productivity
    ties = np.asarray(ties)
    shared = 1.0 - tie_saving * ties - service_saving * np.greater(member, 0)
    return (
        base * (unit_cost * shared + tie_cost * ties)
        + np.asarray(talent) * np.asarray(size) * it_wage
    )


def credit_line(
    size: ArrayLike,
    ties: ArrayLike,
    member: ArrayLike,
    productivity: float,
    tie_credit: float,
    platform_credit: float,
) -> ArrayLike:
    """What a firm can owe before it must close (M yuan): embeddedness as a buffer.

    Partners extend trade credit and platforms broker financing services, so a
    firm with ties and a platform rides out losses that close an isolated one
    (Uzzi 1996; Baum and Oliver 1991). Both scale with the firm's base output.
    """
    base = np.asarray(size) * productivity
    return base * (
        tie_credit * np.asarray(ties) + platform_credit * np.greater(member, 0)
    )


def sales_of(world: World, idx: Selection) -> ArrayLike:
    """Yearly output of firms `idx` now: `revenue` with their state and the rates."""
    f, r = world.firms, world.rates
    level = f.level[idx]
    return revenue(
        f.size[idx],
        f.efficiency[idx],
        level,
        f.knowledge[idx],
        r.customized_fit[level - 1],
        world.customized_share,
        r.productivity,
        r.level_gain,
        r.knowledge_gain,
    )


def costs_of(world: World, idx: Selection) -> ArrayLike:
    """Yearly operating cost of firms `idx` now: `operating_cost` with their state."""
    f, r = world.firms, world.rates
    return operating_cost(
        f.size[idx],
        f.talent[idx],
        f.ties[idx],
        f.member[idx],
        r.productivity,
        r.unit_cost,
        r.it_wage,
        r.tie_cost,
        r.tie_saving,
        r.service_saving,
    )


def credit_of(world: World, idx: Selection) -> ArrayLike:
    """What firms `idx` may owe now: `credit_line` with their ties and platforms."""
    f, r = world.firms, world.rates
    return credit_line(
        f.size[idx],
        f.ties[idx],
        f.member[idx],
        r.productivity,
        r.tie_credit,
        r.platform_credit,
    )
