"""Enterprises: how a firm hires, learns, upgrades and produces; the Mesa agent.

The rules are pure functions of numbers or numpy arrays alike. A behaviour
applies them to a set of firm slots in two parts: a terms function computes what
the rules say (a named record: hazard, gates, gains per source), and the
behaviour writes it. The firm inspector calls the same terms functions for one
firm, so what it shows cannot drift from what the model does.

`STEP` lists a firm's behaviours in order: the `agents` schedule calls each for
one firm at a time from `Enterprise.step`, the `vectorized` schedule calls each
once for `ALL` slots, in place. Same code, so the two schedules differ only in
updating order (sequential versus synchronous).

A free slot (no firm) has size 0, funds 0 and no ties, so it earns, costs, hires
and books nothing; where that is not enough, a behaviour masks it with `alive`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from mesa.discrete_space import FixedAgent
from numpy.typing import ArrayLike, NDArray

from agents.base import (
    ArrayView,
    Column,
    Selection,
    blocks,
    by_blocks,
    per_firm,
    slots_at,
    state_of,
    town_totals,
    towns_of,
    within,
)
from agents.demography import exit_if_failing
from agents.economy import costs_of, sales_of
from agents.partners import tie_list
from agents.streams import Purpose
from agents.ties import revise_ties

if TYPE_CHECKING:
    from agents.world import World

F64 = NDArray[np.float64]

TOLERANCE = 1e-9
"""Rounding allowed when a firm's talent is compared with what it hired toward."""
STAFF_RETURNING = 0.5
"""Share of the IT staff a town's firms lose that stays in the town's pool."""
ABSORPTION_FROM_TALENT = 0.5
"""Weight of IT talent (against own knowledge) in absorptive capacity."""
LICENCE_WORKERS = 1000.0
"""Workers per unit of `ip.licence_cost`: the licence fee is per 1,000 workers."""


class Gate:
    """Reasons an upgrade is blocked, as bits of `Enterprise.blocked` (one byte)."""

    FUNDS, TALENT, ABSORPTION, INFRASTRUCTURE, TOP = (
        np.uint8(1 << k) for k in range(5)
    )
    TEXT: ClassVar[dict[np.uint8, str]] = {
        FUNDS: "not enough funds",
        TALENT: "not enough IT talent",
        ABSORPTION: "absorptive capacity too low",
        INFRASTRUCTURE: "town infrastructure too weak",
        TOP: "already at the top level",
    }


# --- Rules: pure functions of one firm's values or of whole arrays -------------


def absorptive_capacity(
    talent: ArrayLike, knowledge: ArrayLike, talent_reference: float
) -> ArrayLike:
    """Ability to use outside knowledge, from IT talent and own knowledge (in [0, 1]).

    Cohen and Levinthal (1990): what a firm can learn grows with what it knows
    and with the skilled people it employs.
    """
    weight = ABSORPTION_FROM_TALENT
    return weight * np.minimum(1.0, np.divide(talent, talent_reference)) + (
        1.0 - weight
    ) * np.asarray(knowledge)


def imitation_share(
    partner_share: ArrayLike,
    peer_share: ArrayLike,
    has_partners: ArrayLike,
    partner_weight: float,
) -> ArrayLike:
    """Share of a firm's reference group already at the next level.

    Partners weigh more than town peers, but a firm without partners looks only
    at its town.
    """
    weight = partner_weight * np.asarray(has_partners, dtype=float)
    return weight * np.asarray(partner_share) + (1.0 - weight) * np.asarray(peer_share)


def adoption_probability(
    p: ArrayLike,
    q: ArrayLike,
    imitation: ArrayLike,
    subsidy_rate: ArrayLike,
    member: ArrayLike,
    subsidy_effect: float,
    platform_effect: float,
) -> ArrayLike:
    """Yearly Bass hazard of moving up one level: own initiative plus imitation.

    Subsidies and platform membership raise the initiative term (p) only, so that
    policy speeds the start of a diffusion more than its imitation phase.
    """
    push = (
        1.0
        + subsidy_effect * np.asarray(subsidy_rate)
        + platform_effect * np.asarray(member, dtype=float)
    )
    return np.clip(np.asarray(p) * push + np.asarray(q) * imitation, 0.0, 1.0)


def upgrade_blockers(
    funds: ArrayLike,
    own_cost: ArrayLike,
    talent: ArrayLike,
    talent_needed: ArrayLike,
    absorptive: ArrayLike,
    absorptive_needed: ArrayLike,
    infrastructure: ArrayLike,
    infrastructure_needed: ArrayLike,
) -> ArrayLike:
    """Bit mask of the gates that stop an upgrade (0: free to upgrade).

    Firms hire exactly up to the talent they need, so that gate allows for
    rounding (`TOLERANCE`).
    """
    return (
        Gate.FUNDS * np.less(funds, own_cost)
        | Gate.TALENT * np.less(talent, np.asarray(talent_needed) - TOLERANCE)
        | Gate.ABSORPTION * np.less(absorptive, absorptive_needed)
        | Gate.INFRASTRUCTURE * np.less(infrastructure, infrastructure_needed)
    )


def learning_gain(
    absorptive: ArrayLike,
    own: ArrayLike,
    source: ArrayLike,
    openness: ArrayLike,
    rate: ArrayLike,
) -> ArrayLike:
    """Knowledge learnt from a source: closes part of the gap, never lowers knowledge.

    The gap-closing form of knowledge diffusion models (Cowan and Jonard 2004),
    scaled by absorptive capacity and by how openly the source shares.
    """
    gap = np.maximum(0.0, np.subtract(source, own))
    return gap * (openness * (absorptive * rate))  # scalars multiply first


def sharing(ip_protection: ArrayLike, floor: float) -> ArrayLike:
    """Share of its knowledge a firm dares show a partner: rises with protection."""
    return floor + (1.0 - floor) * np.asarray(ip_protection)


def leakage(ip_protection: ArrayLike, maximum: float) -> ArrayLike:
    """Yearly spillover to non-partners and imitators: falls with protection."""
    return maximum * (1.0 - np.asarray(ip_protection))


def own_research(knowledge: ArrayLike, rd_rate: float, leak: ArrayLike) -> ArrayLike:
    """Knowledge from in-house R&D: less effort when results leak to imitators."""
    return rd_rate * (1.0 - np.asarray(knowledge)) * (1.0 - np.asarray(leak))


# --- Behaviours: terms computed by the rules, then written ----------------------


@dataclass
class HiringTerms:
    """What `hire_talent` computes per firm, before the town's pool is shared."""

    kept: F64
    """IT staff share left after this step's attrition."""
    lost: F64
    """IT staff who left, FTE."""
    target: F64
    """IT staff share its next level needs."""
    gap: F64
    """Share of its workforce it asks the pool for."""


def hiring_terms(world: World, idx: Selection) -> HiringTerms:
    """Attrition and what each firm of `idx` asks for, by the hiring rule."""
    f, r = world.firms, world.rates
    kept = f.talent[idx] * (1.0 - r.talent_attrition)
    target = r.talent_needed[f.level[idx] - 1]
    return HiringTerms(
        kept=kept,
        lost=(f.talent[idx] - kept) * f.size[idx],
        target=target,
        gap=np.maximum(0.0, target - kept),  # per head of the firm's staff
    )


@by_blocks
def hire_talent(world: World, idx: Selection) -> None:
    """Lose some IT staff, then hire toward the next level's need from the town pool."""
    f, towns = world.firms, world.towns
    here = towns_of(world, idx)
    size = f.size[idx]
    t = hiring_terms(world, idx)
    asked = town_totals(world, idx, t.gap * size)
    pool = towns.talent_pool[here] + STAFF_RETURNING * town_totals(world, idx, t.lost)
    ratio = np.divide(pool, asked, out=np.ones_like(pool), where=asked > pool)
    per_head = t.gap * per_firm(world, idx, np.minimum(1.0, ratio))  # pro rata
    f.talent[idx] = np.minimum(1.0, t.kept + per_head)
    hired = town_totals(world, idx, per_head * size)
    towns.talent_pool[here] = np.maximum(0.0, pool - hired)


def tie_gaps(world: World, idx: Selection) -> F64:
    """Per firm of `idx`, the knowledge gaps its partners show, summed.

    Read from every firm's knowledge before any firm's knowledge changes.
    """
    f, r = world.firms, world.rates
    rows, partner = tie_list(f, idx)
    share = sharing(world.towns.ip_protection, r.sharing_floor)
    openness = share[f.town[partner]]  # the partner's town
    knowledge = f.knowledge[idx]
    gains = learning_gain(1.0, knowledge[rows], f.knowledge[partner], openness, 1.0)
    return np.bincount(rows, gains, minlength=knowledge.size)


@dataclass
class LearningTerms:
    """What a firm learns this step, by source (knowledge units)."""

    absorptive: F64
    from_ties: F64
    from_platform: F64
    from_project: F64
    from_leaks: F64
    research: F64


def learning_terms(world: World, idx: Selection, gaps: F64) -> LearningTerms:
    """What firms `idx` learn from each source, given their partners' `gaps`."""
    f, towns, r = world.firms, world.towns, world.rates
    knowledge = f.knowledge[idx]
    absorb = f.alive[idx] * absorptive_capacity(
        f.talent[idx], knowledge, r.talent_reference
    )
    ip = towns.ip_protection  # town-level terms are computed per town, then spread
    share, leak = sharing(ip, r.sharing_floor), leakage(ip, r.leakage_max)
    town_level = lambda values: per_firm(world, idx, values)  # noqa: E731
    return LearningTerms(
        absorptive=absorb,
        from_ties=absorb * r.learning * gaps,
        from_platform=(f.member[idx] > 0)
        * learning_gain(
            absorb,
            knowledge,
            town_level(towns.platform_knowledge),
            town_level(share),
            r.platform_learning,
        ),
        from_project=_project_learning(world, idx, absorb, knowledge),
        from_leaks=learning_gain(
            absorb,
            knowledge,
            town_level(towns.mean_knowledge),
            1.0,
            town_level(r.per_step(leak)),
        ),
        research=own_research(knowledge, r.rd, town_level(leak)),
    )


def learn(world: World, idx: Selection) -> None:
    """Learn from partners, platform, university project, leaks and own research.

    What partners show is read from every firm's knowledge before any firm's
    knowledge changes; the rest reads only the firm and its town.
    """
    gaps = tie_gaps(world, idx)
    for part in blocks(world, idx):
        _learn_in(world, part, learning_terms(world, part, gaps[within(idx, part)]))


def _learn_in(world: World, idx: Selection, t: LearningTerms) -> None:
    """Add what firms `idx` learn (`learning_terms`), pay licences, book flows."""
    f, r = world.firms, world.rates
    here = towns_of(world, idx)
    f.knowledge[idx] = np.minimum(
        1.0,
        f.knowledge[idx]
        + t.from_ties
        + t.from_platform
        + t.from_project
        + t.from_leaks
        + t.research,
    )
    shared = t.from_ties + t.from_platform
    ip = per_firm(world, idx, world.towns.ip_protection)
    licence = r.licence_cost * ip * shared * f.size[idx] / LICENCE_WORKERS
    f.funds[idx] -= licence
    world.ledger.book("licences", town_totals(world, idx, licence), here)
    world.ledger.book("shared", town_totals(world, idx, shared), here)
    world.ledger.book("leaked", town_totals(world, idx, t.from_leaks), here)


def _project_learning(
    world: World, idx: Selection, absorb: NDArray, knowledge: NDArray
) -> F64:
    """Knowledge from a joint university project, for the few firms that run one."""
    project = world.firms.university[idx]
    on = np.flatnonzero(project >= 0)
    gain = np.zeros(project.shape)
    gain[on] = learning_gain(
        absorb[on],
        knowledge[on],
        world.universities.knowledge[project[on]],
        1.0,
        world.rates.project_learning,
    )
    return gain


def partners_ahead(world: World, idx: Selection) -> F64:
    """Per firm of `idx`, its partners at a higher level (read before any climbs)."""
    f = world.firms
    rows, partner = tie_list(f, idx)
    level = f.level[idx]
    partner_up = f.level[partner] > level[rows]
    return np.bincount(rows, weights=partner_up, minlength=level.size)


@dataclass
class UpgradeTerms:
    """The terms of firms' upgrade decisions: a Bass hazard, then the gates."""

    p: F64
    q: F64
    partners: NDArray
    ahead: F64
    peer_share: F64
    """Share of the town's firms at the next level or above."""
    imitation: F64
    offer: F64
    member: NDArray[np.bool_]
    hazard: F64
    """Yearly chance to climb one level, gates aside."""
    gates: dict[int, tuple[ArrayLike, ArrayLike]]
    """Per `Gate` bit: what the firm has and what the next level needs."""
    blocked: NDArray[np.uint8]


def upgrade_terms(world: World, idx: Selection, ahead: F64) -> UpgradeTerms:
    """The upgrade hazard and gates of firms `idx`, `ahead` partners above them."""
    f, towns, r = world.firms, world.towns, world.rates
    level = f.level[idx]
    step = level.astype(np.intp) - 1  # 0: 1->2, 1: 2->3, 2: 3->4, 3: at the top
    partners = f.ties[idx]
    peer_share = towns.share_at_least.ravel()[f.town[idx] * 6 + np.minimum(step + 2, 4)]
    imitation = imitation_share(
        ahead / np.maximum(partners, 1), peer_share, partners > 0, r.partner_weight
    )
    offer = per_firm(world, idx, towns.subsidy_offer)
    member = f.member[idx] > 0
    p, q = r.innovation_p[step], r.imitation_q[step]
    hazard = adoption_probability(
        p, q, imitation, offer, member, r.subsidy_effect, r.platform_effect
    )
    cost = r.upgrade_cost[step] * f.size[idx]
    gates = {
        Gate.FUNDS: (f.funds[idx], cost * (1.0 - offer)),
        Gate.TALENT: (f.talent[idx], r.talent_needed[step]),
        Gate.ABSORPTION: (
            absorptive_capacity(f.talent[idx], f.knowledge[idx], r.talent_reference),
            r.absorptive_needed[step],
        ),
        Gate.INFRASTRUCTURE: (
            per_firm(world, idx, towns.infrastructure),
            r.infrastructure_needed[step],
        ),
    }
    blocked = upgrade_blockers(*(v for pair in gates.values() for v in pair))
    return UpgradeTerms(
        p=p,
        q=q,
        partners=partners,
        ahead=ahead,
        peer_share=peer_share,
        imitation=imitation,
        offer=offer,
        member=member,
        hazard=hazard,
        gates=gates,
        blocked=blocked | (Gate.TOP * (level >= 4)),
    )


def consider_upgrade(world: World, idx: Selection) -> None:
    """Climb one level if the Bass hazard fires and no gate blocks; claim a subsidy.

    Partners' levels are read before any firm climbs; each firm's hazard and
    gates are then stored (`adoption_probability`, `blocked`) and the climbers
    drawn among the firms no gate blocks.
    """
    f, towns, r = world.firms, world.towns, world.rates
    ahead = partners_ahead(world, idx)
    for part in blocks(world, idx):
        t = upgrade_terms(world, part, ahead[within(idx, part)])
        f.adoption_probability[part] = t.hazard
        f.blocked[part] = t.blocked
    free = np.flatnonzero((f.blocked[idx] == 0) & f.alive[idx])
    at = slots_at(idx, free)
    draw = world.streams.uniform(Purpose.UPGRADE, f.id[at])
    climbers = at[draw < r.per_step(f.adoption_probability[at])]
    town = f.town[climbers]
    paid = r.upgrade_cost[f.level[climbers] - 1] * f.size[climbers]
    f.level[climbers] += 1
    f.funds[climbers] -= paid
    f.subsidy_claim[climbers] = towns.subsidy_offer[town] * paid
    f.upgraded_at[climbers] = world.year
    world.ledger.add("upgrades", town, paid)
    towns.step_outlay += np.bincount(town, weights=paid, minlength=world.n_towns)


@by_blocks
def produce(world: World, idx: Selection) -> None:
    """Sell, pay costs and project fees, grow or shrink, and age by one step."""
    f, r = world.firms, world.rates
    size = f.size[idx]
    sales, costs = sales_of(world, idx), costs_of(world, idx)
    fees = (f.university[idx] >= 0) * r.project_cost
    f.output[idx] = sales
    f.profit[idx] = sales - costs
    f.funds[idx] += (sales - costs - fees) / r.steps_per_year
    live = f.alive[idx]
    shock = np.zeros(live.size, dtype=np.float32)  # empty slots draw nothing
    shock[live] = world.streams.normal(Purpose.SIZE, f.id[idx][live])
    f.size[idx] = size * np.exp(r.size_drift + r.size_shock * shock)
    f.age[idx] += 1.0 / r.steps_per_year
    quarter, here = 1.0 / r.steps_per_year, towns_of(world, idx)
    profits = town_totals(world, idx, sales - costs) * quarter
    world.ledger.book("profits", profits, here)
    world.ledger.book("projects", town_totals(world, idx, fees) * quarter, here)


STEP = (hire_talent, revise_ties, learn, consider_upgrade, produce, exit_if_failing)
"""A firm's quarter, in the order of the ODD's process overview: hire IT talent,
revise ties, learn, consider an upgrade, produce, exit if failing. Both
schedules run this one list."""


# --- The Mesa agent ------------------------------------------------------------


class Enterprise(ArrayView, FixedAgent):
    """A firm of a professional town: a view on one row of the model's firm table.

    Args:
        model: The model that owns the firm table.
        slot: The firm's row in that table.
    """

    id = Column("firms")
    town = Column("firms")
    industry = Column("firms")
    stage = Column("firms")
    size = Column("firms")
    efficiency = Column("firms")
    level = Column("firms")
    knowledge = Column("firms")
    talent = Column("firms")
    funds = Column("firms")
    trust = Column("firms")
    output = Column("firms")
    profit = Column("firms")
    age = Column("firms")
    member = Column("firms")
    university = Column("firms")
    adoption_probability = Column("firms")
    blocked = Column("firms")
    upgraded_at = Column("firms")

    def __init__(self, model: World, slot: int) -> None:
        super().__init__(model)
        self.slot = slot
        self.cell = model.grid[int(model.firms.town[slot])]

    def step(self) -> None:
        """One quarter of the firm's life: each behaviour of `STEP`, in order."""
        for behaviour in STEP:
            behaviour(self.model, self.slots)

    @property
    def partners(self) -> list[int]:
        """Slots of this firm's current partners."""
        row = self.model.firms.partners[self.slot]
        return [int(p) for p in row if p >= 0]

    @property
    def state(self) -> dict[str, object]:
        """Every state variable of the firm, by name."""
        return state_of(self, "firms") | {"partners": self.partners}

    def explain(self) -> list[str]:
        """Plain-language reasons for the firm's last upgrade decision."""
        blocked = int(self.blocked)
        lines = [
            f"Level {self.level}; yearly chance to climb "
            f"{100 * self.adoption_probability:.1f}% (Bass: initiative + imitation)."
        ]
        reasons = [text for bit, text in Gate.TEXT.items() if blocked & bit]
        lines.append(
            "Blocked: " + "; ".join(reasons) + "."
            if reasons
            else "No gate blocks the next level."
        )
        return lines
