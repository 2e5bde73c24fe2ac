"""Enterprises: how a firm hires, collaborates, learns, upgrades, produces and exits.

The rules are pure functions of numbers or numpy arrays alike. The six behaviours
below (`hire_talent` ... `exit_if_failing`) apply them to a set of firm slots: the
`agents` schedule calls each for one firm at a time from `Enterprise.step`, the
`vectorized` schedule calls each once for `ALL` slots, in place. Same code, so the
two schedules differ only in updating order (sequential versus synchronous).

A free slot (no firm) has size 0, funds 0 and no ties, so it earns, costs, hires
and books nothing; where that is not enough, a behaviour masks it with `alive`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from mesa.discrete_space import FixedAgent
from numpy.typing import ArrayLike, NDArray

from agents.base import (
    ArrayView,
    Column,
    Selection,
    bernoulli_positions,
    blocks,
    by_blocks,
    per_firm,
    slots_at,
    state_of,
    thinned_successes,
    town_totals,
    towns_of,
    within,
)

if TYPE_CHECKING:
    from model.model import TownModel
    from model.state import Firms

Slots = NDArray[np.intp]

# Tie kinds: along the chain, within the industry, and the two cross-border kinds.
VERTICAL, HORIZONTAL, CROSS_INDUSTRY, CROSS_TOWN = 0, 1, 2, 3
TIE_KINDS = ("vertical", "horizontal", "cross_industry", "cross_town")

TOLERANCE = 1e-9
"""Rounding allowed when a firm's talent is compared with what it hired toward."""

# Reasons an upgrade is blocked, as bits of `Enterprise.blocked` (one byte).
FUNDS, TALENT, ABSORPTION, INFRASTRUCTURE, TOP = (np.uint8(1 << k) for k in range(5))
BLOCKERS = {
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
    return 0.5 * np.minimum(
        1.0, np.divide(talent, talent_reference)
    ) + 0.5 * np.asarray(knowledge)


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
        FUNDS * np.less(funds, own_cost)
        | TALENT * np.less(talent, np.asarray(talent_needed) - TOLERANCE)
        | ABSORPTION * np.less(absorptive, absorptive_needed)
        | INFRASTRUCTURE * np.less(infrastructure, infrastructure_needed)
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


def exits(funds: ArrayLike, draw: ArrayLike, hazard: float) -> ArrayLike:
    """A firm leaves when its funds (with its credit) run out, or by the hazard."""
    return np.less(funds, 0.0) | np.less(draw, hazard)


def tie_kind(
    same_town: ArrayLike, same_industry: ArrayLike, same_stage: ArrayLike
) -> ArrayLike:
    """Classify a tie: cross-town, cross-industry, horizontal or vertical."""
    return np.where(
        np.logical_not(same_town),
        CROSS_TOWN,
        np.where(
            np.logical_not(same_industry),
            CROSS_INDUSTRY,
            np.where(same_stage, HORIZONTAL, VERTICAL),
        ),
    )


def tie_possible(
    kind: ArrayLike, level_a: ArrayLike, level_b: ArrayLike, cross_border_level: int
) -> ArrayLike:
    """Cross-border ties (other industry or town) need both firms at a high level."""
    cross = np.greater_equal(kind, CROSS_INDUSTRY)
    both_high = np.minimum(level_a, level_b) >= cross_border_level
    return np.logical_not(cross) | both_high


def tie_acceptance(trust_a: ArrayLike, trust_b: ArrayLike) -> ArrayLike:
    """Chance that a meeting becomes a tie: the geometric mean of both trusts."""
    return np.sqrt(np.multiply(trust_a, trust_b))


def trust_target(ip_protection: ArrayLike, member: ArrayLike) -> ArrayLike:
    """Trust a firm drifts toward: protection and shared platform rules build it."""
    return 0.2 + 0.5 * np.asarray(ip_protection) + 0.3 * np.asarray(member, dtype=float)


# --- Behaviours: the rules applied to a set of firm slots ----------------------


def tie_list(f: Firms, idx: Selection) -> tuple[Slots, NDArray[np.int32]]:
    """The ties of firms `idx` as (row in idx, partner slot), one entry per tie.

    Kept until the ties change, since several behaviours read the same list.
    """
    cached = f.tie_cache
    if cached is not None and cached[0] is idx:
        return cached[1]
    found = _find_ties(f, idx)
    f.tie_cache = (idx, found)
    return found


def partner_rows(f: Firms, slots: Slots) -> NDArray[np.int32]:
    """The partner table's rows of `slots` (`take`: far faster than `[slots]`)."""
    return f.partners.take(slots, axis=0)


def column_of(table: NDArray[np.int32], values: ArrayLike) -> NDArray[np.intp]:
    """First column where each row of `table` holds its entry of `values` (-1: none).

    A loop over the few columns: numpy reduces a short last axis slowly.
    """
    values = np.broadcast_to(values, table.shape[:1])
    column = np.full(table.shape[0], -1, dtype=np.intp)
    for k in range(table.shape[1] - 1, -1, -1):
        column[table[:, k] == values] = k
    return column


def _find_ties(f: Firms, idx: Selection) -> tuple[Slots, NDArray[np.int32]]:
    table = f.partners if isinstance(idx, slice) else partner_rows(f, idx)
    flat = np.flatnonzero(table.ravel() >= 0)
    return flat // table.shape[1], table.ravel()[flat]


@by_blocks
def hire_talent(model: TownModel, idx: Selection) -> None:
    """Lose some IT staff, then hire toward the next level's need from the town pool."""
    f, towns, r = model.firms, model.towns, model.rates
    here = towns_of(model, idx)
    size = f.size[idx]
    talent = f.talent[idx] * (1.0 - r.talent_attrition)
    lost = (f.talent[idx] - talent) * size
    target = r.talent_needed[f.level[idx] - 1]
    gap = np.maximum(0.0, target - talent)  # per head of the firm's staff
    asked = town_totals(model, idx, gap * size)
    pool = towns.talent_pool[here] + 0.5 * town_totals(model, idx, lost)
    ratio = np.divide(pool, asked, out=np.ones_like(pool), where=asked > pool)
    per_head = gap * per_firm(model, idx, np.minimum(1.0, ratio))  # pro rata
    f.talent[idx] = np.minimum(1.0, talent + per_head)
    hired = town_totals(model, idx, per_head * size)
    towns.talent_pool[here] = np.maximum(0.0, pool - hired)


def revise_ties(model: TownModel, idx: Selection) -> None:
    """Update trust, end some ties, then perhaps search for one new partner."""
    update_trust(model, idx)
    drop_ties(model, idx)
    seek_partner(model, idx)


@by_blocks
def update_trust(model: TownModel, idx: Selection) -> None:
    """Move trust toward its target: IP protection and platform rules build it."""
    f, r = model.firms, model.rates
    ip = per_firm(model, idx, model.towns.ip_protection)
    target = trust_target(ip, f.member[idx] > 0)
    f.trust[idx] += r.trust_speed * (target - f.trust[idx])


def drop_ties(model: TownModel, idx: Selection) -> None:
    """Each tie ends with a yearly chance that trust lowers; both ends forget it."""
    f, r = model.firms, model.rates
    owners, cols = _sample_tie_slots(f, idx, r.tie_decay, model.rng)
    partner = f.partners[owners, cols]
    owned = partner > owners  # each tie is decided once, by its lower slot
    owners, cols, partner = owners[owned], cols[owned], partner[owned]
    trust = tie_acceptance(f.trust[owners], f.trust[partner])
    ends = model.rng.random(owners.size) < 1.0 - 0.5 * trust
    cut_ties(f, owners[ends], cols[ends])


def _sample_tie_slots(
    f: Firms, idx: Selection, chance: float, rng: np.random.Generator
) -> tuple[Slots, Slots]:
    """Each tie slot of firms `idx` drawn with `chance`: (firm, column), filled only.

    Thinning: ties are candidates with the largest chance to end, then each is
    kept with its own share of it, so only the candidates are read.
    """
    width = f.partners.shape[1]
    if isinstance(idx, slice) or idx.size * 4 > f.alive.size:  # draw over all
        flat = bernoulli_positions(rng, f.partners.size, chance)
        if not isinstance(idx, slice):
            mine = np.zeros(f.alive.size, dtype=bool)
            mine[idx] = True
            flat = flat[mine[flat // width]]
    else:
        picked = bernoulli_positions(rng, idx.size * width, chance)
        flat = idx[picked // width] * width + picked % width
    flat = flat[f.partners.ravel()[flat] >= 0]
    owners = flat // width
    return owners, flat - owners * width


def cut_ties(f: Firms, owners: Slots, cols: Slots) -> None:
    """Remove ties `f.partners[owners, cols]` from both ends' lists."""
    others = f.partners[owners, cols]
    back = column_of(partner_rows(f, others), owners)
    found = back >= 0
    for table in (f.partners, f.tie_kind):
        table[owners, cols] = -1
        table[others[found], back[found]] = -1
    ends = np.concatenate([owners, others[found]])
    f.ties -= np.bincount(ends, minlength=f.ties.size).astype(f.ties.dtype)
    f.tie_cache = None


def seek_partner(model: TownModel, idx: Selection) -> None:
    """Meet one candidate in the town or a neighbouring town and propose a tie."""
    f, towns, r, rng = model.firms, model.towns, model.rates, model.rng
    boosted = min(1.0, r.search * (1.0 + r.search_boost))  # a member's chance
    chance = lambda rows: np.where(  # noqa: E731
        f.member[slots_at(idx, rows)] > 0, boosted, r.search
    )
    seekers = slots_at(idx, thinned_successes(rng, f.alive[idx].size, boosted, chance))
    seekers = seekers[f.alive[seekers] & (f.ties[seekers] < f.partners.shape[1])]
    if seekers.size == 0:
        return
    town = f.town[seekers]
    member = f.member[seekers] > 0
    linked = member & towns.linked[town]  # members of a linked platform
    far_chance = np.where(linked, r.far_search * (1.0 + r.link_boost), r.far_search)
    far = rng.random(seekers.size) < far_chance
    target_town = town.copy()
    target_town[far] = model.random_neighbour_town(town[far])
    candidates = model.random_firm_in(target_town)
    kind = tie_kind(
        target_town == town,
        f.industry[candidates] == f.industry[seekers],
        f.stage[candidates] == f.stage[seekers],
    )
    fits = (
        (candidates >= 0)
        & f.alive[candidates]
        & (candidates != seekers)
        & (f.ties[candidates] < f.partners.shape[1])
        & tie_possible(
            kind, f.level[seekers], f.level[candidates], r.cross_border_level
        )
        & (
            rng.random(seekers.size)
            < tie_acceptance(f.trust[seekers], f.trust[candidates])
        )
    )
    a, b, kind = seekers[fits], candidates[fits], kind[fits]
    new = column_of(partner_rows(f, a), b) < 0  # not partners already
    a, b, kind = _distinct_pairs(a[new], b[new], kind[new])
    if a.size == 0:
        return
    width = f.partners.shape[1]
    first = np.full(f.alive.size, np.iinfo(np.intp).max)  # scratch of the rounds
    while a.size:  # rounds: a firm takes one new tie per round while it has room
        keep = _one_tie_per_firm(a, b, first)
        for one, other in ((a[keep], b[keep]), (b[keep], a[keep])):
            free = np.argmax(partner_rows(f, one) < 0, axis=1)  # room was checked
            f.partners[one, free] = other
            f.tie_kind[one, free] = kind[keep]
            f.ties[one] += 1
        a, b, kind = a[~keep], b[~keep], kind[~keep]
        room = (f.ties[a] < width) & (f.ties[b] < width)
        a, b, kind = a[room], b[room], kind[room]
    f.tie_cache = None


def _distinct_pairs(a: Slots, b: Slots, kind: Slots) -> tuple[Slots, Slots, Slots]:
    """Drop repeated proposals between the same two firms (a to b and b to a).

    Repeats are rare: a plain sort finds whether there are any, and only the
    proposals involved are sorted stably to keep the first of each.
    """
    low, high = np.minimum(a, b), np.maximum(a, b)
    key = low * (high.max(initial=0) + 1) + high
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return a, b, kind
    involved = np.flatnonzero(np.isin(key, repeated))
    _, first = np.unique(key[involved], return_index=True)
    keep = np.ones(a.size, dtype=bool)
    keep[involved] = False
    keep[involved[first]] = True
    return a[keep], b[keep], kind[keep]


def _one_tie_per_firm(a: Slots, b: Slots, first: Slots) -> NDArray[np.bool_]:
    """Mask of proposals whose two firms appear in no earlier proposal this round.

    The first proposal is always kept, so rounds of this always finish. `first`
    is scratch space, one entry per slot, at its dtype's maximum before and after.
    """
    ends = np.column_stack([a, b]).ravel()  # a0, b0, a1, b1, ...: proposal order
    order = np.arange(ends.size)
    np.minimum.at(first, ends, order)  # each firm's earliest place: no sort
    is_first = first[ends] == order
    first[ends] = np.iinfo(first.dtype).max
    return is_first[0::2] & is_first[1::2]


def learn(model: TownModel, idx: Selection) -> None:
    """Learn from partners, platform, university project, leaks and own research.

    What partners show is read from every firm's knowledge before any firm's
    knowledge changes; the rest reads only the firm and its town.
    """
    f, r = model.firms, model.rates
    rows, partner = tie_list(f, idx)
    share = sharing(model.towns.ip_protection, r.sharing_floor)
    openness = share[partner // model.capacity]  # the partner's town
    knowledge = f.knowledge[idx]
    gains = learning_gain(1.0, knowledge[rows], f.knowledge[partner], openness, 1.0)
    gaps = np.bincount(rows, gains, minlength=knowledge.size)
    for part in blocks(model, idx):
        _learn_in(model, part, gaps[within(idx, part)])


def _learn_in(model: TownModel, idx: Selection, tie_gaps: NDArray) -> None:
    """Add what firms `idx` learn, given the gaps their ties show (`learn`)."""
    f, towns, r = model.firms, model.towns, model.rates
    here = towns_of(model, idx)
    knowledge = f.knowledge[idx]
    absorb = f.alive[idx] * absorptive_capacity(
        f.talent[idx], knowledge, r.talent_reference
    )
    ip = towns.ip_protection  # town-level terms are computed per town, then spread
    share, leak = sharing(ip, r.sharing_floor), leakage(ip, r.leakage_max)
    town_level = lambda values: per_firm(model, idx, values)  # noqa: E731

    from_ties = absorb * r.learning * tie_gaps
    from_platform = (f.member[idx] > 0) * learning_gain(
        absorb,
        knowledge,
        town_level(towns.platform_knowledge),
        town_level(share),
        r.platform_learning,
    )
    from_project = _project_learning(model, idx, absorb, knowledge)
    from_leaks = learning_gain(
        absorb,
        knowledge,
        town_level(towns.mean_knowledge),
        1.0,
        town_level(r.per_step(leak)),
    )
    research = own_research(knowledge, r.rd, town_level(leak))
    f.knowledge[idx] = np.minimum(
        1.0,
        knowledge + from_ties + from_platform + from_project + from_leaks + research,
    )
    shared = from_ties + from_platform
    licence = r.licence_cost * town_level(ip) * shared * f.size[idx] / 1000.0
    f.funds[idx] -= licence
    model.ledger.book("licences", town_totals(model, idx, licence), here)
    model.ledger.book("shared", town_totals(model, idx, shared), here)
    model.ledger.book("leaked", town_totals(model, idx, from_leaks), here)


def _project_learning(
    model: TownModel, idx: Selection, absorb: NDArray, knowledge: NDArray
) -> NDArray[np.float64]:
    """Knowledge from a joint university project, for the few firms that run one."""
    project = model.firms.university[idx]
    on = np.flatnonzero(project >= 0)
    gain = np.zeros(project.shape)
    gain[on] = learning_gain(
        absorb[on],
        knowledge[on],
        model.universities.knowledge[project[on]],
        1.0,
        model.rates.project_learning,
    )
    return gain


def consider_upgrade(model: TownModel, idx: Selection) -> None:
    """Climb one level if the Bass hazard fires and no gate blocks; claim a subsidy.

    Partners' levels are read before any firm climbs; each firm's hazard and
    gates are then stored (`adoption_probability`, `blocked`) and the climbers
    drawn among the firms no gate blocks.
    """
    f, towns, r = model.firms, model.towns, model.rates
    rows, partner = tie_list(f, idx)
    level = f.level[idx]
    partner_up = f.level[partner] > level[rows]
    ahead = np.bincount(rows, weights=partner_up, minlength=level.size)
    for part in blocks(model, idx):
        _upgrade_odds(model, part, ahead[within(idx, part)])
    yearly = f.adoption_probability[idx]
    free = np.flatnonzero((f.blocked[idx] == 0) & f.alive[idx])
    top = float(r.per_step(yearly.max(initial=0.0)))
    chance = lambda rows: r.per_step(yearly[free[rows]])  # noqa: E731
    climbers = slots_at(idx, free[thinned_successes(model.rng, free.size, top, chance)])
    town = f.town[climbers]
    paid = r.upgrade_cost[f.level[climbers] - 1] * f.size[climbers]
    f.level[climbers] += 1
    f.funds[climbers] -= paid
    f.subsidy_claim[climbers] = towns.subsidy_offer[town] * paid
    f.upgraded_at[climbers] = model.year
    model.ledger.add("upgrades", town, paid)
    towns.step_outlay += np.bincount(town, weights=paid, minlength=model.n_towns)


def _upgrade_odds(model: TownModel, idx: Selection, ahead: NDArray) -> None:
    """Store firms' yearly upgrade hazard and blocking gates (`consider_upgrade`).

    `ahead` counts each firm's partners already above its level.
    """
    f, towns, r = model.firms, model.towns, model.rates
    level = f.level[idx]
    step = level.astype(np.intp) - 1  # 0: 1->2, 1: 2->3, 2: 3->4, 3: at the top
    n_partners = f.ties[idx]
    imitation = imitation_share(
        ahead / np.maximum(n_partners, 1),
        towns.share_at_least.ravel()[f.town[idx] * 6 + np.minimum(step + 2, 4)],
        n_partners > 0,
        r.partner_weight,
    )
    offer = per_firm(model, idx, towns.subsidy_offer)
    f.adoption_probability[idx] = adoption_probability(
        r.innovation_p[step],
        r.imitation_q[step],
        imitation,
        offer,
        f.member[idx] > 0,
        r.subsidy_effect,
        r.platform_effect,
    )
    cost = r.upgrade_cost[step] * f.size[idx]
    f.blocked[idx] = upgrade_blockers(
        f.funds[idx],
        cost * (1.0 - offer),
        f.talent[idx],
        r.talent_needed[step],
        absorptive_capacity(f.talent[idx], f.knowledge[idx], r.talent_reference),
        r.absorptive_needed[step],
        per_firm(model, idx, towns.infrastructure),
        r.infrastructure_needed[step],
    ) | (TOP * (level >= 4))


def sales_of(model: TownModel, idx: Selection) -> ArrayLike:
    """Yearly output of firms `idx` now: `revenue` with their state and the rates."""
    f, r = model.firms, model.rates
    level = f.level[idx]
    return revenue(
        f.size[idx],
        f.efficiency[idx],
        level,
        f.knowledge[idx],
        r.customized_fit[level - 1],
        model.customized_share,
        r.productivity,
        r.level_gain,
        r.knowledge_gain,
    )


def costs_of(model: TownModel, idx: Selection) -> ArrayLike:
    """Yearly operating cost of firms `idx` now: `operating_cost` with their state."""
    f, r = model.firms, model.rates
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


def credit_of(model: TownModel, idx: Selection) -> ArrayLike:
    """What firms `idx` may owe now: `credit_line` with their ties and platforms."""
    f, r = model.firms, model.rates
    return credit_line(
        f.size[idx],
        f.ties[idx],
        f.member[idx],
        r.productivity,
        r.tie_credit,
        r.platform_credit,
    )


@by_blocks
def produce(model: TownModel, idx: Selection) -> None:
    """Sell, pay costs and project fees, grow or shrink, and age by one step."""
    f, r, rng = model.firms, model.rates, model.rng
    size = f.size[idx]
    sales, costs = sales_of(model, idx), costs_of(model, idx)
    fees = (f.university[idx] >= 0) * r.project_cost
    f.output[idx] = sales
    f.profit[idx] = sales - costs
    f.funds[idx] += (sales - costs - fees) / r.steps_per_year
    shock = rng.standard_normal(size.size, dtype=np.float32)
    f.size[idx] = size * np.exp(r.size_drift + r.size_shock * shock)
    f.age[idx] += 1.0 / r.steps_per_year
    quarter, here = 1.0 / r.steps_per_year, towns_of(model, idx)
    profits = town_totals(model, idx, sales - costs) * quarter
    model.ledger.book("profits", profits, here)
    model.ledger.book("projects", town_totals(model, idx, fees) * quarter, here)


def exit_if_failing(model: TownModel, idx: Selection) -> None:
    """Leave the market when funds, the subsidy claimed and credit are used up.

    Credit is never negative, so only firms short of their own money are held
    against it; the background hazard's rare successes are drawn by thinning.
    """
    f, r = model.firms, model.rates
    own = f.funds[idx] + f.subsidy_claim[idx]
    short = np.flatnonzero(own < 0.0)
    at = slots_at(idx, short)
    cushion = own[short] + credit_of(model, at)
    failing = short[f.alive[at] & exits(cushion, 1.0, 0.0)]  # hazard: drawn below
    hazard = bernoulli_positions(model.rng, own.size, r.base_exit)
    closing = hazard[f.alive[slots_at(idx, hazard)]]
    model.failures += failing.size
    leaving = np.union1d(failing, closing)
    if leaving.size:
        model.retire_firms(slots_at(idx, leaving))


# --- The Mesa agent ------------------------------------------------------------


class Enterprise(ArrayView, FixedAgent):
    """A firm of a professional town: a view on one row of the model's firm table.

    Args:
        model: The model that owns the firm table.
        slot: The firm's row in that table.
    """

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

    def __init__(self, model: TownModel, slot: int) -> None:
        super().__init__(model)
        self.slot = slot
        self.cell = model.grid[int(model.firms.town[slot])]

    def step(self) -> None:
        """One quarter of a firm's life, in the order of the ODD's process overview."""
        self.hire_talent()
        self.revise_ties()
        self.learn()
        self.consider_upgrade()
        self.produce()
        self.exit_if_failing()

    def hire_talent(self) -> None:
        """Replace departing IT staff and hire toward the next level's need."""
        hire_talent(self.model, self.slots)

    def revise_ties(self) -> None:
        """Let old ties lapse and look for a new partner."""
        revise_ties(self.model, self.slots)

    def learn(self) -> None:
        """Absorb knowledge from partners, platform, university, leaks and R&D."""
        learn(self.model, self.slots)

    def consider_upgrade(self) -> None:
        """Decide whether to climb one digital level."""
        consider_upgrade(self.model, self.slots)

    def produce(self) -> None:
        """Produce, sell and pay this quarter's costs."""
        produce(self.model, self.slots)

    def exit_if_failing(self) -> None:
        """Leave the market if out of funds and credit."""
        exit_if_failing(self.model, self.slots)

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
        reasons = [text for bit, text in BLOCKERS.items() if blocked & bit]
        lines.append(
            "Blocked: " + "; ".join(reasons) + "."
            if reasons
            else "No gate blocks the next level."
        )
        return lines
