"""The Rules tab: the model's rule functions, read from the code that runs.

Like NetLogo's Code tab, it shows what a class meets in the firm inspector as
the functions themselves: each one's docstring and source, taken by `inspect`
from the modules the model imports, so the page cannot drift from the model.
The ODD description (docs/ODD.md) is readable here too.
"""

from __future__ import annotations

import html
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import markdown
import solara

from agents import demography, economy, enterprise, ties

ODD_PATH = Path(__file__).resolve().parent.parent / "docs" / "ODD.md"
ODD_TOPIC = "The ODD description"


@dataclass(frozen=True)
class Rule:
    """One rule function as the Rules tab shows it."""

    function: Callable[..., Any]

    @property
    def name(self) -> str:
        """Where the function lives, as a student would import it."""
        return f"{self.function.__module__}.{self.function.__name__}"

    @property
    def doc(self) -> str:
        """Its docstring, which says why it does what it does."""
        return inspect.getdoc(self.function) or ""

    @property
    def source(self) -> str:
        """Its code, as the model runs it."""
        return inspect.getsource(self.function)


RULES: dict[str, tuple[Rule, ...]] = {
    "hiring": tuple(Rule(f) for f in (enterprise.hire_talent, enterprise.hiring_terms)),
    "upgrade": tuple(
        Rule(f)
        for f in (
            enterprise.consider_upgrade,
            enterprise.upgrade_terms,
            enterprise.adoption_probability,
            enterprise.imitation_share,
            enterprise.upgrade_blockers,
        )
    ),
    "learning": tuple(
        Rule(f)
        for f in (
            enterprise.learn,
            enterprise.learning_terms,
            enterprise.absorptive_capacity,
            enterprise.learning_gain,
            enterprise.sharing,
            enterprise.leakage,
            enterprise.own_research,
        )
    ),
    "ties": tuple(
        Rule(f)
        for f in (
            ties.revise_ties,
            ties.update_trust,
            ties.trust_target,
            ties.drop_ties,
            ties.tie_acceptance,
            ties.tie_end_chance,
            ties.seek_partner,
            ties.tie_possible,
        )
    ),
    "production and exit": tuple(
        Rule(f)
        for f in (
            enterprise.produce,
            economy.revenue,
            economy.operating_cost,
            economy.credit_line,
            demography.exit_if_failing,
            demography.exit_hazard,
            demography.exits,
        )
    ),
}
"""The rules behind each decision the inspector retells, the behaviour first."""

RULES_OF_SECTION = {
    "Hiring IT talent": "hiring",
    "Upgrade decision": "upgrade",
    "Learning": "learning",
    "Ties": "ties",
    "Production and exit": "production and exit",
}
"""Which rules each inspector section links to."""

RULE_TOPICS = (*RULES, ODD_TOPIC)


def rules_html(topic: str) -> str:
    """One decision's rules: name, docstring and source of each function."""
    parts = []
    for rule in RULES[topic]:
        parts.append(
            f"<h3 class='townsim-rule'>{html.escape(rule.name)}</h3>"
            f"<p style='white-space: pre-line'>{html.escape(rule.doc)}</p>"
            "<pre class='townsim-source' style='overflow-x: auto; font-size: 12px; "
            f"background: #f5f5f5; padding: 8px'>{html.escape(rule.source)}</pre>"
        )
    return "\n".join(parts)


def odd_html() -> str:
    """The ODD description as HTML, or where to find it if it is not shipped."""
    if not ODD_PATH.exists():
        return "<p>The ODD description is docs/ODD.md in the source repository.</p>"
    text = ODD_PATH.read_text(encoding="utf-8")
    return markdown.markdown(text, extensions=["tables", "fenced_code"])


@solara.component
def RulesTab(topic: solara.Reactive[str]) -> None:
    """Pick a decision; read the functions that make it, or the ODD."""
    solara.ToggleButtonsSingle(value=topic, values=list(RULE_TOPICS))
    solara.Text(
        "What the firm inspector retells, as the model's own functions: each "
        "docstring says why, the code says how. Both schedules and the inspector "
        "call these very functions.",
        style="font-size: 13px; color: #616161",
    )
    body = odd_html() if topic.value == ODD_TOPIC else rules_html(topic.value)
    solara.HTML(
        tag="div",
        unsafe_innerHTML=body,
        classes=["townsim-text", "townsim-rules", "townsim-about"],
    )
