"""Columnar state: one table per kind of agent, plus per-step rates and a ledger.

Firms live in town blocks: town t owns slots [t * capacity, (t + 1) * capacity),
so per-town sums are reshapes and ties stay town-local in memory. A dead firm's
slot is free for a start-up of the same town.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import ArrayLike, NDArray

from agents.base import growth_per_step, per_step
from scenarios.schema import LEVERS, PLATFORM_KINDS, Scenario

F64 = NDArray[np.float64]


@dataclass
class Firms:
    """State of every firm slot; `alive` says which slots hold a firm.

    A free slot has size 0, funds 0 and no ties, so behaviours run over all
    slots at once (`agents.base.ALL`) earn, pay and book nothing for it.
    """

    alive: NDArray[np.bool_]
    town: NDArray[np.intp]
    industry: NDArray[np.int16]
    stage: NDArray[np.int8]
    size: F64
    efficiency: F64
    level: NDArray[np.int8]
    knowledge: F64
    talent: F64
    funds: F64
    trust: F64
    output: F64
    profit: F64
    age: F64
    member: NDArray[np.uint8]
    university: NDArray[np.intp]
    project_left: F64
    subsidy_claim: F64
    adoption_probability: F64
    blocked: NDArray[np.uint8]
    upgraded_at: F64
    ties: NDArray[np.int8]
    partners: NDArray[np.int32]
    tie_kind: NDArray[np.int8]
    tie_cache: tuple | None = None
    """Last `tie_list` result and the index it was for; reset when ties change."""

    @classmethod
    def empty(cls, slots: int, max_partners: int) -> Firms:
        """A table of `slots` empty rows."""
        zeros = {
            f.name: np.zeros(slots, dtype=_dtype(f.type))
            for f in fields(cls)
            if f.name not in ("partners", "tie_kind", "tie_cache")
        }
        table = cls(
            **zeros,
            partners=np.full((slots, max_partners), -1, np.int32),
            tie_kind=np.full((slots, max_partners), -1, np.int8),
        )
        table.university[:] = -1
        table.upgraded_at[:] = np.nan
        return table

    def regrouped(self, towns: int, old: int, new: int) -> Firms:
        """The same firms in town blocks of `new` slots instead of `old`.

        Firm j of town t moves from slot t * old + j to t * new + j, partner
        lists follow, and the added slots are empty. Slot order is kept, so
        every rule that reads slots in order (meeting, pairing) sees the same
        firms in the same order.
        """
        width = self.partners.shape[1]
        table = Firms.empty(towns * new, width)
        for f in fields(self):
            if f.name == "tie_cache":
                continue
            src = getattr(self, f.name)
            dst = getattr(table, f.name)
            dst.reshape(towns, new, *src.shape[1:])[:, :old] = src.reshape(
                towns, old, *src.shape[1:]
            )
        table.town[:] = np.repeat(np.arange(towns), new)
        filled = table.partners >= 0
        moved = table.partners[filled]
        table.partners[filled] = moved // old * new + moved % old
        return table


def _dtype(annotation: object) -> type:
    text = str(annotation)
    for name in ("bool_", "intp", "int16", "uint8", "int8", "int32", "int64"):
        if name in text:
            return getattr(np, name)
    return np.float64


@dataclass
class Towns:
    """State of each town and of its government."""

    n: int
    industry: NDArray[np.int64]
    region: NDArray[np.int64]
    city: NDArray[np.int64]
    x: F64
    y: F64
    infrastructure: F64
    firms: NDArray[np.int64] = field(init=False)
    gdp: F64 = field(init=False)
    talent_pool: F64 = field(init=False)
    ip_spending: F64 = field(init=False)
    ip_protection: F64 = field(init=False)
    funding_pool: F64 = field(init=False)
    upgrade_outlay: F64 = field(init=False)
    step_outlay: F64 = field(init=False)
    subsidy_offer: F64 = field(init=False)
    lever_weights: F64 = field(init=False)
    platform_capital: F64 = field(init=False)
    platform_built: NDArray[np.bool_] = field(init=False)
    platform_linked: NDArray[np.bool_] = field(init=False)
    share_at_least: F64 = field(init=False)
    mean_knowledge: F64 = field(init=False)
    platform_knowledge: F64 = field(init=False)
    linked: NDArray[np.bool_] = field(init=False)
    member_share: F64 = field(init=False)
    indices: F64 = field(init=False)
    coordination: F64 = field(init=False)
    external: F64 = field(init=False)
    dimension: NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        n, kinds = self.n, len(PLATFORM_KINDS)
        for name in ("gdp", "talent_pool", "ip_spending", "ip_protection"):
            setattr(self, name, np.zeros(n))
        for name in ("funding_pool", "upgrade_outlay", "step_outlay"):
            setattr(self, name, np.zeros(n))
        for name in ("subsidy_offer", "mean_knowledge"):
            setattr(self, name, np.zeros(n))
        for name in ("platform_knowledge", "member_share", "coordination", "external"):
            setattr(self, name, np.zeros(n))
        self.firms = np.zeros(n, dtype=np.int64)
        self.lever_weights = np.zeros((n, len(LEVERS)))
        self.platform_capital = np.zeros((n, kinds))
        self.platform_built = np.zeros((n, kinds), dtype=bool)
        self.platform_linked = np.zeros((n, kinds), dtype=bool)
        self.share_at_least = np.zeros((n, 6))
        self.linked = np.zeros(n, dtype=bool)
        self.indices = np.zeros((n, 6))
        self.dimension = np.ones(n, dtype=np.int64)


@dataclass
class Universities:
    """State of each university or research institute."""

    region: NDArray[np.int64]
    knowledge: F64
    capacity: NDArray[np.int64]
    hub: NDArray[np.int64]


@dataclass
class Platforms:
    """Flat views (row = town * 3 + kind) on the towns' platform columns."""

    capital: F64
    built: NDArray[np.bool_]
    linked: NDArray[np.bool_]

    @classmethod
    def of(cls, towns: Towns) -> Platforms:
        """Views that share memory with the town table."""
        return cls(
            capital=towns.platform_capital.reshape(-1),
            built=towns.platform_built.reshape(-1),
            linked=towns.platform_linked.reshape(-1),
        )


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
            size_drift=float(np.log1p(growth_per_step(eco.market_growth, spy)))
            - 0.5 * eco.size_volatility**2 / spy,
            size_shock=float(eco.size_volatility / np.sqrt(spy)),
            base_exit=step(eco.base_exit),
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


FLOWS = (
    "profits",
    "upgrades",
    "subsidies",
    "licences",
    "projects",
    "exit_funds",
    "entry_funds",
    "entries",
    "exits",
    "shared",
    "leaked",
    *(f"spent_{lever}" for lever in LEVERS),
)


class Ledger:
    """Per-town sums of money and knowledge flows since the last `reset`.

    Every change of a firm's funds is booked here, which is what lets a test
    check that money is accounted for.
    """

    def __init__(self, n_towns: int) -> None:
        self.n_towns = n_towns
        self.flows = {name: np.zeros(n_towns) for name in FLOWS}

    def add(self, name: str, town: ArrayLike, amount: ArrayLike) -> None:
        """Book `amount` (one per entry of `town`, or one for all) under `name`."""
        town = np.asarray(town)
        weights = np.asarray(amount, dtype=float)
        if weights.shape != town.shape:
            weights = np.broadcast_to(weights, town.shape)
        self.flows[name] += np.bincount(
            town.ravel(), weights=weights.ravel(), minlength=self.n_towns
        )

    def book(
        self, name: str, per_town: NDArray[np.float64], towns: slice = slice(None)
    ) -> None:
        """Book amounts already summed per town (of `towns`) under `name`."""
        self.flows[name][towns] += per_town

    def total(self, name: str) -> float:
        """Province-wide sum of one flow."""
        return float(self.flows[name].sum())

    def reset(self) -> None:
        """Start a new accounting period."""
        for values in self.flows.values():
            values[:] = 0.0
