"""Why a firm did what it did: its last decisions, retold by the model's own rules.

The model records, for each firm, the yearly upgrade hazard and the gates that
blocked it at its last decision. The inspector shows that record and the terms
of each decision computed from the firm's current state by the very terms
functions the behaviours call (`agents.enterprise`, `agents.ties`), so what a
class reads here is what the model does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from agents.demography import exit_hazard, exits
from agents.economy import costs_of, credit_of, sales_of
from agents.enterprise import (
    Gate,
    UpgradeTerms,
    hiring_terms,
    leakage,
    learning_terms,
    partners_ahead,
    sharing,
    tie_gaps,
    upgrade_terms,
)
from agents.ties import TIE_KINDS, tie_acceptance, tie_end_chance, trust_target
from scenarios import INDUSTRIES, LEVEL_NAMES, PLATFORM_KINDS, STAGES

if TYPE_CHECKING:
    from agents.enterprise import Enterprise
    from model import TownModel

GATES = {
    Gate.FUNDS: ("funds", "M yuan, cost after subsidy"),
    Gate.TALENT: ("IT talent", "share of workforce"),
    Gate.ABSORPTION: ("absorptive capacity", "talent+knowledge"),
    Gate.INFRASTRUCTURE: ("infrastructure", "town's"),
}
"""Each upgrade gate's name and unit, as the inspector shows them."""


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
    """Who the firm is, and why its industry may not be its town's."""
    industry = _words(INDUSTRIES[firm.industry])
    stage = STAGES[firm.stage]
    summary = (
        f"{_article(stage).capitalize()} {stage} {industry} firm of town "
        f"{firm.town}, {firm.size:.0f} workers, at level {firm.level} "
        f"({LEVEL_NAMES[firm.level - 1]}), {firm.age:.1f} years old."
    )
    leading = int(model.towns.industry[firm.town])
    if firm.industry != leading:
        share = model.settings.province.related_industry_share
        summary += (
            f" The town's leading industry is {_words(INDUSTRIES[leading])}; "
            f"about {share:.0%} of a town's firms belong to another industry (the "
            "related trades a cluster gathers), and this is one of them."
        )
    return Section(f"Firm {firm.id}", summary)


def state_table(firm: Enterprise) -> Section:
    """Every state variable of the firm, as the model holds it, in words."""
    section = Section(
        "State variables",
        "As the model holds them, written at the firm's last step (figures above "
        "that say 'now' are worked out again from this state):",
    )
    for name, value in firm.state.items():
        shown = STATE_WORDS.get(name, _show)(value)
        section.add(_words(name), shown, STATE_NOTES.get(name, ""))
    return section


def _members(bits: int) -> str:
    kinds = [_words(k) for i, k in enumerate(PLATFORM_KINDS) if int(bits) & (1 << i)]
    return ", ".join(kinds) or "none"


def _gates(bits: int) -> str:
    reasons = [text for bit, text in Gate.TEXT.items() if int(bits) & int(bit)]
    return "; ".join(reasons) or "nothing"


STATE_WORDS = {
    "industry": lambda v: _words(INDUSTRIES[int(v)]),
    "stage": lambda v: STAGES[int(v)],
    "member": _members,
    "university": lambda v: "none" if int(v) < 0 else f"university {int(v)}",
    "blocked": _gates,
    "adoption_probability": lambda v: f"{float(v):.1%} a year",
    "talent": lambda v: f"{float(v):.1%}",
}
"""How a coded state variable reads in words."""

STATE_NOTES = {
    "member": "platforms it belongs to",
    "university": "its research project",
    "blocked": "what stopped its last upgrade",
    "adoption_probability": "chance to climb, at its last decision",
    "talent": "IT staff, share of its workforce",
    "output": "M yuan a year, at its last step",
    "profit": "M yuan a year, at its last step",
    "funds": "M yuan",
    "size": "workers",
    "age": "years",
}


def hiring(model: TownModel, firm: Enterprise) -> Section:
    """What IT talent it hires toward, and what the town's pool holds (ODD 7.5)."""
    r, towns = model.rates, model.towns
    t = hiring_terms(model, firm.slots)
    target, short = float(t.target[0]), float(t.gap[0]) * firm.size
    pool = float(towns.talent_pool[firm.town])
    need = "what its level needs" if firm.level >= 4 else "the need of its next level"
    section = Section(
        "Hiring IT talent",
        f"It holds {firm.talent:.1%} IT staff and hires toward {target:.1%}, "
        f"{need}; {r.talent_attrition:.1%} leave each step. "
        + (
            f"It lacks {short:.1f} FTE; the town's pool has {pool:.1f} FTE, shared "
            "pro rata when firms ask for more than it holds."
            if short > 0
            else "It has what it needs."
        ),
    )
    section.add("IT staff", f"{firm.talent:.3f}", "share of its workforce")
    section.add(
        "level 4 needs" if firm.level >= 4 else "next level needs", f"{target:.3f}"
    )
    section.add("town pool", f"{pool:.1f}", "FTE available")
    return section


def firm_upgrade_terms(model: TownModel, firm: Enterprise) -> UpgradeTerms:
    """One firm's upgrade hazard and gates, by `agents.enterprise.upgrade_terms`.

    Called with the state `consider_upgrade` sees, it gives what the model records
    (`adoption_probability`, `blocked`); later in a step it gives the terms now.
    """
    return upgrade_terms(model, firm.slots, partners_ahead(model, firm.slots))


def upgrade(model: TownModel, firm: Enterprise) -> Section:
    """The upgrade decision: a Bass hazard, then the gates (ODD 7.8)."""
    section = Section(
        "Upgrade decision", "At its last decision: " + " ".join(firm.explain())
    )
    if firm.level >= 4:
        return section
    t = firm_upgrade_terms(model, firm)
    yearly = float(t.hazard[0])
    per_step = float(model.rates.per_step(yearly))
    section.summary += (
        " The table works the terms out again from its state now; what it learnt "
        "and the ties it changed since its decision move them, so the chance now "
        f"is {yearly:.1%} a year."
    )
    section.add("own initiative p", f"{float(t.p[0]):.3f}", "Bass p per year")
    section.add("subsidy offer", f"{float(t.offer[0]):.0%}", "of the cost; raises p")
    section.add("platform member", "yes" if t.member[0] else "no", "raises p")
    section.add(
        "partners ahead",
        f"{int(t.ahead[0])} of {int(t.partners[0])}",
        f"partners weigh {model.rates.partner_weight:.0%}",
    )
    section.add(
        "town peers ahead",
        f"{float(t.peer_share[0]):.0%}",
        f"at level {firm.level + 1}+",
    )
    imitating = float(t.q[0] * t.imitation[0])
    section.add("imitation q x share", f"{imitating:.3f}", "per year")
    section.add("chance to climb now", f"{yearly:.1%} a year", f"{per_step:.1%} a step")
    recorded = float(firm.adoption_probability)
    section.add("at its last decision", f"{recorded:.1%} a year", "what it acted on")
    for bit, (has, needs) in t.gates.items():
        name, unit = GATES[bit]
        verdict = "blocks" if t.blocked[0] & bit else "passes"
        has, needs = float(np.ravel(has)[0]), float(np.ravel(needs)[0])
        shown = f"{_amount(has)} vs {_amount(needs)}"
        section.add(f"gate: {name}", shown, f"{verdict} now ({unit})")
    return section


def learning(model: TownModel, firm: Enterprise) -> Section:
    """Where its knowledge comes from each step (ODD 7.7)."""
    towns, r = model.towns, model.rates
    ip = float(towns.ip_protection[firm.town])
    leak = float(leakage(ip, r.leakage_max))
    t = learning_terms(model, firm.slots, tie_gaps(model, firm.slots))
    section = Section(
        "Learning",
        f"Knowledge {firm.knowledge:.2f}; the table gives what each source adds "
        f"per step, from its state now. Town IP protection {ip:.2f}: its firms "
        f"show partners {float(sharing(ip, r.sharing_floor)):.0%} of what they "
        f"know and {leak:.0%} a year leaks to imitators.",
    )
    absorb = float(t.absorptive[0])
    section.add("absorptive capacity", f"{absorb:.2f}", "half talent, half knowledge")
    partners = len(firm.partners)
    each = "partner" if partners == 1 else "partners"
    section.add("from partners", _amount(t.from_ties[0]), f"{partners} {each}")
    section.add("from platforms", _amount(t.from_platform[0]), "members only")
    section.add("from a university project", _amount(t.from_project[0]))
    spill = t.from_leaks[0]
    section.add("from town spillovers", _amount(spill), "what leaks, caught")
    section.add("own R&D", _amount(t.research[0]), "less when results leak")
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
        accept = tie_acceptance(firm.trust, f.trust[partner])
        ends = float(r.tie_decay * tie_end_chance(accept))
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
        f"It sold {firm.output:,.2f} M yuan a year at its last step; from its "
        f"state now it would sell {sales:,.2f} ({model.customized_share:.0%} of "
        f"demand wants customized goods, which level {firm.level} serves at "
        f"{r.customized_fit[firm.level - 1]:.0%}) and pay {costs:,.2f}. "
        + (
            "Its funds and credit are gone: it leaves at its next step."
            if broke
            else "Its funds and credit cover it; it can still close by the "
            "background hazard."
        ),
    )
    section.add("output now", f"{sales:,.2f}", "M yuan a year")
    section.add("operating cost now", f"{costs:,.2f}", "production, IT staff, ties")
    section.add("profit now", f"{sales - costs:,.2f}", "M yuan a year")
    section.add("funds", f"{firm.funds:,.2f}", "M yuan")
    section.add("credit line", f"{credit:,.2f}", "M yuan, from partners and platform")
    section.add("efficiency", f"{firm.efficiency:.3f}", "inborn, mean 1")
    hazard = float(
        exit_hazard(
            r.base_exit,
            firm.size / max(float(model.towns.mean_size[firm.town]), 1e-12),
            firm.age,
            r.exit_size_elasticity,
            r.exit_young_excess,
            r.exit_young_years,
        )
    )
    section.add(
        "exit hazard", f"{hazard:.2%}", "chance per step: less if larger, older"
    )
    return section


def _words(code_name: str) -> str:
    return code_name.replace("_", " ")


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _amount(value: object) -> str:
    """A small decimal a class can read: no powers of ten."""
    x = float(np.ravel(value)[0])
    if x == 0:
        return "0"
    if abs(x) < 0.0001:
        return "below 0.0001"
    return f"{x:.4f}" if abs(x) < 1 else f"{x:,.3g}" if abs(x) < 100 else f"{x:,.0f}"


def _show(value: object) -> str:
    if isinstance(value, float):
        return "never" if np.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return str(value)
