"""The scenario's yearly parameters as per-step constants, as the rules use them.

Rates are per year in the scenario and in the ODD; a step is a quarter by
default. A yearly probability becomes the per-step one that compounds to it,
a yearly growth rate the per-step rate that compounds to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scenarios.schema import Scenario

F64 = NDArray[np.float64]


def per_step(yearly: ArrayLike, steps_per_year: int) -> np.ndarray | float:
    """Turn a yearly probability (or share closed per year) into a per-step one.

    Args:
        yearly: Probability of the event within one year, in [0, 1].
        steps_per_year: Steps in one year.
    """
    return 1.0 - (1.0 - np.clip(yearly, 0.0, 1.0)) ** (1.0 / steps_per_year)


def growth_per_step(yearly: ArrayLike, steps_per_year: int) -> np.ndarray | float:
    """Turn a yearly growth rate into the per-step rate that compounds to it."""
    return (1.0 + np.asarray(yearly)) ** (1.0 / steps_per_year) - 1.0


def size_drift(s: Scenario, year: int) -> float:
    """Per-step drift of log firm size in calendar `year`: demand less Ito's term.

    Demand grows by `Scenario.demand_growth`; the half variance keeps the mean
    size on the demand path under the size shocks.
    """
    spy = s.run.steps_per_year
    growth = np.log1p(growth_per_step(s.demand_growth(year), spy))
    return float(growth) - 0.5 * s.economy.size_volatility**2 / spy


def _pad(values: list[float], last: float | None = None) -> F64:
    """Per-step parameters indexed by level - 1; level 4 gets `last` or the top."""
    return np.array([*values, values[-1] if last is None else last], dtype=float)


@dataclass(frozen=True)
class Rates:
    """The scenario's yearly parameters turned into per-step constants."""

    steps_per_year: int
    innovation_p: F64
    imitation_q: F64
    upgrade_cost: F64
    talent_needed: F64
    absorptive_needed: F64
    infrastructure_needed: F64
    customized_fit: F64
    partner_weight: float
    subsidy_effect: float
    platform_effect: float
    talent_attrition: float
    talent_reference: float
    it_wage: float
    rd: float
    learning: float
    platform_learning: float
    project_learning: float
    search: float
    search_boost: float
    far_search: float
    link_boost: float
    tie_decay: float
    tie_cost: float
    tie_saving: float
    cross_border_level: int
    trust_speed: float
    productivity: float
    unit_cost: float
    level_gain: float
    knowledge_gain: float
    size_drift: float
    size_shock: float
    base_exit: float
    exit_size_elasticity: float
    exit_young_excess: float
    exit_young_years: float
    tie_credit: float
    platform_credit: float
    entry: float
    infrastructure_growth: float
    talent_inflow: float
    sharing_floor: float
    leakage_max: float
    licence_cost: float
    legal_protection: float
    enforcement_scale: float
    smoothing: float
    university_growth: float
    graduates: float
    project_years: float
    project_cost: float
    project_appetite: float
    build_cost: F64
    member_cost: float
    service_saving: float
    join: float
    platform_depreciation: float

    @classmethod
    def of(cls, s: Scenario) -> Rates:
        """Derive per-step rates from a scenario."""
        spy = s.run.steps_per_year
        e, eco, ip, u, p = s.enterprise, s.economy, s.ip, s.university, s.platform
        step = lambda yearly: float(per_step(yearly, spy))  # noqa: E731
        return cls(
            steps_per_year=spy,
            innovation_p=_pad(e.innovation_p, 0.0),
            imitation_q=_pad(e.imitation_q, 0.0),
            upgrade_cost=_pad(e.upgrade_cost),
            talent_needed=_pad(e.talent_needed),
            absorptive_needed=_pad(e.absorptive_needed),
            infrastructure_needed=_pad(e.infrastructure_needed),
            customized_fit=np.array(eco.customized_fit, dtype=float),
            partner_weight=e.partner_weight,
            subsidy_effect=e.subsidy_effect,
            platform_effect=e.platform_effect,
            talent_attrition=step(e.talent_attrition),
            talent_reference=e.talent_reference,
            it_wage=e.it_wage,
            rd=step(e.rd_rate),
            learning=step(e.learning_rate),
            platform_learning=step(p.platform_learning),
            project_learning=step(u.project_learning),
            search=step(e.search_rate),
            search_boost=p.search_boost,
            far_search=e.far_search,
            link_boost=p.link_boost,
            tie_decay=step(e.tie_decay),
            tie_cost=e.tie_cost,
            tie_saving=e.tie_saving,
            cross_border_level=e.cross_border_level,
            trust_speed=step(e.trust_speed),
            productivity=eco.productivity,
            unit_cost=eco.unit_cost,
            level_gain=eco.level_gain,
            knowledge_gain=eco.knowledge_gain,
            size_drift=size_drift(s, s.run.start_year + 1),
            size_shock=float(eco.size_volatility / np.sqrt(spy)),
            base_exit=step(eco.base_exit),
            exit_size_elasticity=eco.exit_size_elasticity,
            exit_young_excess=eco.exit_young_excess,
            exit_young_years=eco.exit_young_years,
            tie_credit=eco.tie_credit,
            platform_credit=eco.platform_credit,
            entry=eco.entry_rate / spy,
            infrastructure_growth=step(eco.infrastructure_growth),
            talent_inflow=eco.talent_inflow / spy,
            sharing_floor=ip.sharing_floor,
            leakage_max=ip.leakage_max,
            licence_cost=ip.licence_cost,
            legal_protection=ip.legal_protection,
            enforcement_scale=ip.enforcement_scale,
            smoothing=step(0.5),
            university_growth=step(u.knowledge_growth),
            graduates=u.graduates / spy,
            project_years=u.project_years,
            project_cost=u.project_cost,
            project_appetite=step(u.project_appetite),
            build_cost=np.array(p.build_cost, dtype=float),
            member_cost=p.member_cost,
            service_saving=p.service_saving,
            join=step(p.join_rate),
            platform_depreciation=step(p.depreciation),
        )

    def per_step(self, yearly: ArrayLike) -> np.ndarray | float:
        """Per-step probability of a yearly one, at this run's step length."""
        return per_step(yearly, self.steps_per_year)
