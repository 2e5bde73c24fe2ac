"""Why a firm did what it did: its last decisions, retold by the model's own rules.

The model records, for each firm, the yearly upgrade hazard and the gates that
blocked it at its last decision. The inspector shows that record and rebuilds
each term from the firm's current state with the very rule functions the model
calls (`agents.enterprise`), so what a class reads here is what the model does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from agents.enterprise import (
    ABSORPTION,
    FUNDS,
    INFRASTRUCTURE,
    TALENT,
    TIE_KINDS,
    TOP,
    absorptive_capacity,
    adoption_probability,
    costs_of,
    credit_of,
    exits,
    imitation_share,
    leakage,
    learning_gain,
    own_research,
    sales_of,
    sharing,
    tie_acceptance,
    trust_target,
    upgrade_blockers,
)
from scenarios import INDUSTRIES

if TYPE_CHECKING:
    from agents.enterprise import Enterprise
    from model import TownModel

STAGES = ("upstream", "midstream", "downstream")
GATES = (FUNDS, TALENT, ABSORPTION, INFRASTRUCTURE)
LEVEL_NAMES = ("traditional", "informational", "internet-based", "Internet+")


@dataclass
class Section:
    """One decision of the firm: a sentence, then the numbers behind it."""

    title: str
    summary: str
    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, name: str, value: str, note: str = "") -> None:
        """Add a row: what, its value, and what it means."""
        self.rows.append((name, value, note))


def inspect_firm(model: TownModel, slot: int) -> list[Section]:
    """Who the firm is, its five decisions, then its state; or that it has gone."""
    gone = [Section("Firm gone", f"Firm {slot} has left the market.")]
    if not 0 <= slot < model.firms.alive.size:
        return gone
    try:
        firm = model.enterprises[slot]
    except KeyError:  # it left (perhaps while the model was playing)
        return gone
    return [
        describe(model, firm),
        hiring(model, firm),
        upgrade(model, firm),
        learning(model, firm),
        ties(model, firm),
        production(model, firm),
        state_table(firm),
    ]


def describe(model: TownModel, firm: Enterprise) -> Section:
    """Who the firm is."""
    industry = INDUSTRIES[firm.industry].replace("_", " ")
    section = Section(
        f"Firm {firm.slot}",
        f"A {STAGES[firm.stage]} {industry} firm of town {firm.town}, "
        f"{firm.size:.0f} workers, at level {firm.level} "
        f"({LEVEL_NAMES[firm.level - 1]}), {firm.age:.1f} years old.",
    )
    return section


def state_table(firm: Enterprise) -> Section:
    """Every state variable of the firm, as the model holds it."""
    section = Section("State variables", "As the model holds them now:")
    names = {
        "industry": INDUSTRIES[firm.industry].replace("_", " "),
        "stage": STAGES[firm.stage],
    }
    for name, value in firm.state.items():
        section.add(name, names.get(name, _show(value)))
    return section


def hiring(model: TownModel, firm: Enterprise) -> Section:
    """What IT talent it hires toward, and what the town's pool holds (ODD 7.5)."""
    r, towns = model.rates, model.towns
    target = float(r.talent_needed[firm.level - 1])
    pool = float(towns.talent_pool[firm.town])
    short = max(0.0, target - firm.talent) * firm.size
    section = Section(
        "Hiring IT talent",
        f"It holds {firm.talent:.1%} IT staff and hires toward {target:.1%}, the "
        f"need of its next level; {r.talent_attrition:.1%} leave each step. "
        + (
            f"It lacks {short:.1f} FTE; the town's pool has {pool:.1f} FTE, shared "
            "pro rata when firms ask for more than it holds."
            if short > 0
            else "It has what it needs."
        ),
    )
    section.add("IT staff", f"{firm.talent:.3f}", "share of its workforce")
    section.add("next level needs", f"{target:.3f}")
    section.add("town pool", f"{pool:.1f}", "FTE available")
    return section


@dataclass
class UpgradeTerms:
    """The terms of a firm's upgrade decision, as `consider_upgrade` forms them."""

    p: float
    q: float
    offer: float
    member: bool
    partners: int
    ahead: int
    peer_share: float
    imitation: float
    yearly: float
    per_step: float
    blocked: int
    gates: list[tuple[str, float, float, str]]


def upgrade_terms(model: TownModel, firm: Enterprise) -> UpgradeTerms:
    """Rebuild a firm's upgrade hazard and gates from its state, with the model's rules.

    Called with the state `consider_upgrade` sees, it gives what the model records
    (`adoption_probability`, `blocked`); later in a step it gives the terms now.
    """
    f, towns, r = model.firms, model.towns, model.rates
    town, level = firm.town, firm.level
    step = level - 1
    partners = np.asarray(firm.partners, dtype=np.intp)
    ahead = int((f.level[partners] > level).sum())
    peer_share = float(towns.share_at_least[town, min(level + 1, 4)])
    imitation = float(
        imitation_share(
            ahead / max(partners.size, 1),
            peer_share,
            partners.size > 0,
            r.partner_weight,
        )
    )
    offer = float(towns.subsidy_offer[town])
    member = bool(firm.member > 0)
    yearly = float(
        adoption_probability(
            r.innovation_p[step],
            r.imitation_q[step],
            imitation,
            offer,
            member,
            r.subsidy_effect,
            r.platform_effect,
        )
    )
    cost = r.upgrade_cost[step] * firm.size * (1.0 - offer)
    absorb = float(absorptive_capacity(firm.talent, firm.knowledge, r.talent_reference))
    infrastructure = float(towns.infrastructure[firm.town])
    gates = [
        ("funds", firm.funds, cost, "M yuan, cost after subsidy"),
        ("IT talent", firm.talent, r.talent_needed[step], "share of workforce"),
        ("absorptive capacity", absorb, r.absorptive_needed[step], "talent+knowledge"),
        ("infrastructure", infrastructure, r.infrastructure_needed[step], "town's"),
    ]
    blocked = int(upgrade_blockers(*(value for gate in gates for value in gate[1:3])))
    return UpgradeTerms(
        p=float(r.innovation_p[step]),
        q=float(r.imitation_q[step]),
        offer=offer,
        member=member,
        partners=int(partners.size),
        ahead=ahead,
        peer_share=peer_share,
        imitation=imitation,
        yearly=yearly,
        per_step=float(r.per_step(yearly)),
        blocked=blocked | (TOP * (level >= 4)),
        gates=[
            (name, float(has), float(needs), unit) for name, has, needs, unit in gates
        ],
    )


def upgrade(model: TownModel, firm: Enterprise) -> Section:
    """The upgrade decision: a Bass hazard, then the gates (ODD 7.8)."""
    section = Section("Upgrade decision", " ".join(firm.explain()))
    if firm.level >= 4:
        return section
    t = upgrade_terms(model, firm)
    section.summary += " The terms, from its state now:"
    section.add("own initiative p", f"{t.p:.3f}", "Bass p per year")
    section.add("subsidy offer", f"{t.offer:.0%}", "of the cost; raises p")
    section.add("platform member", "yes" if t.member else "no", "raises p")
    section.add(
        "partners ahead",
        f"{t.ahead} of {t.partners}",
        f"partners weigh {model.rates.partner_weight:.0%}",
    )
    section.add(
        "town peers ahead", f"{t.peer_share:.0%}", f"at level {firm.level + 1}+"
    )
    section.add("imitation q x share", f"{t.q * t.imitation:.3f}", "per year")
    section.add("chance to climb", f"{t.yearly:.1%} a year", f"{t.per_step:.1%} a step")
    for bit, (name, has, needs, unit) in zip(GATES, t.gates, strict=True):
        verdict = "blocks" if t.blocked & bit else "passes"
        section.add(f"gate: {name}", f"{has:.3g} vs {needs:.3g}", f"{verdict} ({unit})")
    return section


def learning(model: TownModel, firm: Enterprise) -> Section:
    """Where its knowledge comes from each step (ODD 7.7)."""
    f, towns, r = model.firms, model.towns, model.rates
    town, k = firm.town, firm.knowledge
    absorb = float(absorptive_capacity(firm.talent, k, r.talent_reference))
    ip = float(towns.ip_protection[town])
    leak = float(leakage(ip, r.leakage_max))
    partners = np.asarray(firm.partners, dtype=np.intp)
    openness = sharing(towns.ip_protection, r.sharing_floor)[partners // model.capacity]
    from_ties = float(
        np.sum(learning_gain(absorb, k, f.knowledge[partners], openness, r.learning))
    )
    member = firm.member > 0
    from_platform = member * float(
        learning_gain(
            absorb,
            k,
            towns.platform_knowledge[town],
            sharing(ip, r.sharing_floor),
            r.platform_learning,
        )
    )
    project = firm.university
    from_project = 0.0
    if project >= 0:
        source = model.universities.knowledge[project]
        from_project = float(learning_gain(absorb, k, source, 1.0, r.project_learning))
    from_leaks = float(
        learning_gain(absorb, k, towns.mean_knowledge[town], 1.0, r.per_step(leak))
    )
    research = float(own_research(k, r.rd, leak))
    section = Section(
        "Learning",
        f"Knowledge {k:.2f}. Town IP protection {ip:.2f}: its firms show partners "
        f"{float(sharing(ip, r.sharing_floor)):.0%} of what they know and "
        f"{leak:.0%} a year leaks to imitators.",
    )
    section.add("absorptive capacity", f"{absorb:.2f}", "half talent, half knowledge")
    section.add("from partners", f"{from_ties:.3g}", f"{partners.size} partners")
    section.add("from platforms", f"{from_platform:.3g}", "members only")
    section.add("from a university project", f"{from_project:.3g}")
    section.add("from town spillovers", f"{from_leaks:.3g}", "what leaks, caught")
    section.add("own R&D", f"{research:.3g}", "less when results leak")
    return section


def ties(model: TownModel, firm: Enterprise) -> Section:
    """Its partners, how much it trusts, and who it may tie to (ODD 7.6)."""
    f, towns, r = model.firms, model.towns, model.rates
    target = float(trust_target(towns.ip_protection[firm.town], firm.member > 0))
    high = firm.level >= r.cross_border_level
    section = Section(
        "Ties",
        f"Trust {firm.trust:.2f}, drifting toward {target:.2f} (IP protection and "
        f"platform rules). Ties to other industries or towns need both firms at "
        f"level {r.cross_border_level}+: this firm "
        + ("qualifies." if high else "does not yet."),
    )
    kinds = f.tie_kind[firm.slot]
    for column, partner in enumerate(f.partners[firm.slot].tolist()):
        if partner < 0:
            continue
        accept = float(tie_acceptance(firm.trust, f.trust[partner]))
        ends = float(r.tie_decay * (1.0 - 0.5 * accept))
        section.add(
            f"firm {partner} (town {f.town[partner]})",
            TIE_KINDS[kinds[column]].replace("_", " "),
            f"level {f.level[partner]}; ends with {ends:.1%} chance a step",
        )
    return section


def production(model: TownModel, firm: Enterprise) -> Section:
    """What it sells and pays, and whether it stays in the market (ODD 7.9-7.10)."""
    r, f = model.rates, model.firms
    sales = float(sales_of(model, firm.slots)[0])
    costs = float(costs_of(model, firm.slots)[0])
    credit = float(credit_of(model, firm.slots)[0])
    cushion = firm.funds + float(f.subsidy_claim[firm.slot]) + credit
    broke = bool(exits(cushion, 1.0, 0.0))
    section = Section(
        "Production and exit",
        f"Sells {sales:,.1f} M yuan a year ({model.customized_share:.0%} of demand "
        f"wants customized goods, which level {firm.level} serves at "
        f"{r.customized_fit[firm.level - 1]:.0%}); costs {costs:,.1f}. "
        + (
            "Its funds and credit are gone: it leaves at its next step."
            if broke
            else "Its funds and credit cover it; it can still close by the "
            "background hazard."
        ),
    )
    section.add("output", f"{sales:,.2f}", "M yuan a year")
    section.add("operating cost", f"{costs:,.2f}", "production, IT staff, ties")
    section.add("profit", f"{sales - costs:,.2f}", "M yuan a year")
    section.add("funds", f"{firm.funds:,.2f}", "M yuan")
    section.add("credit line", f"{credit:,.2f}", "M yuan, from partners and platform")
    section.add("efficiency", f"{firm.efficiency:.3f}", "inborn, mean 1")
    section.add(
        "background exit", f"{float(r.base_exit):.2%}", "chance per step, any firm"
    )
    return section


def _show(value: object) -> str:
    if isinstance(value, float):
        return "never" if np.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
