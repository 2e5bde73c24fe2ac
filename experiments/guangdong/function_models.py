"""The validation report's runs, as function models for the sweep engine.

Each runs the Guangdong scenario at the report's sample size and returns outcome
rows. Beside catalogue outcomes they measure what needs the model's internals or
its per-step series: adoption clustering on the partner network during the run,
every firm's size, exit rates by age, survival of the initial firms and the
knowledge of live firms. The sweep engine calls them with the experiment's
fixed arguments (`set`), one factor and the run's seed.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from experiments.guangdong.patterns import (
    NULLS,
    Clustering,
    adoption_clustering,
    exit_rate,
    failure_rate,
    share_at_least,
    survival_of_initial_firms,
    year_ends,
    yearly_demography,
)
from experiments.sweeps.outcomes import Rows, measure
from model import TownModel
from scenarios import Scenario, build_scenario, load_scenario

SCENARIO = "guangdong"
REFERENCE = "Guangdong sample"
NO_IMITATION = "no imitation"
NO_PARTNER_IMITATION = "no imitation of partners"
NO_CROSS_BORDER_RULE = "no cross-border rule"
NO_CONTAGION_NOR_RULE = "no imitation of partners, no cross-border rule"
NO_SIZE_SHOCKS = "no size shocks"
FLAT_EXIT_HAZARD = "exit hazard flat in size and age"
VARIANTS: dict[str, dict[str, Any]] = {
    REFERENCE: {},
    NO_IMITATION: {"imitation_q": [0.0, 0.0, 0.0]},
    NO_PARTNER_IMITATION: {"partner_weight": 0.0},
    NO_CROSS_BORDER_RULE: {"cross_border_level": 1},
    NO_CONTAGION_NOR_RULE: {"partner_weight": 0.0, "cross_border_level": 1},
    "no partner search": {"search_rate": 0.0},
    "no platforms": {"government.platform": 0.0, "province_budget": 0.0},
    "no platform services": {
        "service_saving": 0.0,
        "platform_credit": 0.0,
        "platform_learning": 0.0,
        "platform_effect": 0.0,
        "search_boost": 0.0,
        "link_boost": 0.0,
    },
    NO_SIZE_SHOCKS: {"size_volatility": 0.0},
    FLAT_EXIT_HAZARD: {"exit_size_elasticity": 0.0, "exit_young_excess": 0.0},
}
"""Runs of the town sample: the scenario, and mechanisms knocked out one by one
on the same seeds (common random numbers), each the mechanism a pattern should
come from: imitation (the S-curves), contagion along ties and the rule that
cross-border ties need a level (clustering), size shocks (the size tail), ties
and platforms (survival) and the exit hazard's dependence on size and age
(demography)."""

SIZE_VARIANTS = (REFERENCE, NO_SIZE_SHOCKS)
"""Variants whose every firm size is recorded at the start and the checkpoints."""

TODAY = "today's policy (baseline)"
POLICIES: dict[str, tuple[str, bool]] = {
    TODAY: ("baseline", True),
    "talent 70%": ("talent", True),
    "funding 70%": ("funding", True),
    "IP 70%": ("ip", True),
    "platform 70%": ("platform", False),
    "balanced": ("balanced", True),
    "adaptive": ("adaptive", True),
    "platform 70% + provincial programme": ("platform", True),
}
"""Lever mixes: shipped scenarios' government settings on the Guangdong towns.
All but the last spend the same budget (0.3% of town output); the last adds the
shipped `platform` scenario's provincial programme from 2018 (more money)."""

AGE_GROUPS = ("infant", "adolescent", "older", "young")
CURVE_LEVELS = (2, 3, 4)
"""Levels whose adoption curves and clustering the report shows (level 1: all)."""


def scenario(overrides: dict[str, Any] | None, **params: Any) -> Scenario:
    """The Guangdong scenario with the report's overrides and the given ones."""
    return load_scenario(SCENARIO, {**(overrides or {}), **params})


def with_government(base: Scenario, name: str) -> Scenario:
    """`base` under the budget, lever weights and policy changes of scenario `name`."""
    other = load_scenario(name)
    data = base.model_dump()
    data["government"] = other.government.model_dump()
    data["policy_changes"] = [c.model_dump() for c in other.policy_changes]
    return build_scenario(data, origin=f"{base.name} + {name}")


def with_policy(base: Scenario, label: str) -> Scenario:
    """`base` under the lever mix `label` of `POLICIES`."""
    name, keep_changes = POLICIES[label]
    s = with_government(base, name)
    if keep_changes:
        return s
    return build_scenario({**s.model_dump(), "policy_changes": []}, origin=label)


def mechanism_run(
    variant: str,
    seed: int,
    towns: int,
    checkpoints: list[int],
    permutations: int,
    overrides: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """One run of the town sample under a variant: every mechanism pattern's data.

    Adoption clustering is tested at each checkpoint year for the levels that
    are neither rare nor nearly universal, against both nulls of `NULLS` (with
    the same reshuffling generator for every variant); firm sizes are recorded
    at the start, the checkpoints and the end, one row per firm (its town in the
    `town` column), for the variants of `SIZE_VARIANTS`.
    """
    model = TownModel(scenario(overrides, towns=towns, **VARIANTS[variant]), rng=seed)
    run = model.settings.run
    rows = Rows()
    sizes = variant in SIZE_VARIANTS
    if sizes:
        add_sizes(rows, model, run.start_year)
    while model.running:
        model.step()
        year = model.calendar_year
        if model.steps % run.steps_per_year or year not in checkpoints:
            continue
        if sizes and year != run.end_year:
            add_sizes(rows, model, year)
        for level in CURVE_LEVELS:
            share = (model.firms.level[model.firms.alive] >= level).mean()
            if 0.02 < share < 0.98:
                for null in NULLS:
                    rng = np.random.default_rng([seed, year, level])
                    test = adoption_clustering(model, level, permutations, rng, null)
                    add_clustering(rows, year, level, null, test)
    if sizes:
        add_sizes(rows, model, run.end_year)
    add_series(rows, model.model_frame(), run.start_year, run.steps_per_year)
    rows.add("survival_of_initial_firms", np.array([survival_of_initial_firms(model)]))
    return rows.frame()


def add_sizes(rows: Rows, model: TownModel, year: int) -> None:
    """The size of every live firm, by town, as outcome `firm_size` in `year`."""
    alive = model.firms.alive
    sizes = model.firms.size[alive].copy()
    rows.add(
        "firm_size",
        sizes,
        years=np.full(sizes.size, year),
        towns=model.firms.town[alive],
    )


CLUSTERING_FIELDS = tuple(f.name for f in dataclasses.fields(Clustering))
NULL_KEYS = {null: null.replace(" and ", "_") for null in NULLS}
"""Each null's name in outcome names: `town`, `town_degree`."""


def clustering_outcome(level: int, null: str, name: str) -> str:
    """The outcome name of one field of a join-count test."""
    return f"clustering_level{level}_{NULL_KEYS[null]}_{name}"


def add_clustering(
    rows: Rows, year: int, level: int, null: str, test: Clustering
) -> None:
    """One permutation test as outcomes `clustering_level{L}_{null}_{field}`."""
    for name in CLUSTERING_FIELDS:
        value = np.array([float(getattr(test, name))])
        rows.add(clustering_outcome(level, null, name), value, years=np.array([year]))


def add_series(
    rows: Rows, series: pd.DataFrame, start_year: int, steps_per_year: int
) -> None:
    """Adoption shares at year ends, demography by year and over the run."""
    ends = year_ends(series)
    years = ends["year"].to_numpy().round().astype(np.int64)
    shares = share_at_least(ends)
    for level in CURVE_LEVELS:
        rows.add(f"share_level{level}plus", shares[:, level - 1], years=years)
    rates = yearly_demography(series, steps_per_year)
    for column in rates:
        year = start_year + rates.index.to_numpy()
        rows.add(column, rates[column].to_numpy(), years=year)
    for group in AGE_GROUPS:
        rate = exit_rate(series, group, steps_per_year)
        rows.add(f"exits_per_firm_year_{group}", np.array([rate]))
    rate = failure_rate(series, steps_per_year)
    rows.add("failures_per_firm_year", np.array([rate]))


def knowledge_run(
    seed: int,
    towns: int,
    end_year: int,
    overrides: dict[str, Any] | None = None,
    **factor: float,
) -> pd.DataFrame:
    """One run of the sweep sample: knowledge, level, protection and flows at the end.

    The factor (one scenario key by its field name, e.g. `legal_protection`) is
    applied on top of the sample's size and end year.
    """
    s = scenario(overrides, towns=towns, end_year=end_year, **factor)
    model = TownModel(s, rng=seed).run()
    f = model.firms
    rows = Rows()
    rows.add("mean_knowledge", np.array([f.knowledge[f.alive].mean()]))
    measured = measure(
        model.town_frame(),
        [
            "mean_firm_level",
            "ip_protection",
            "total_knowledge_shared",
            "total_knowledge_leaked",
        ],
        years=[end_year],
    )
    return pd.concat([rows.frame(), measured], ignore_index=True)


def policy_run(
    policy: str,
    seed: int,
    overrides: dict[str, Any] | None = None,
    towns: int | None = None,
    start_sizes: bool = False,
) -> pd.DataFrame:
    """One run under a lever mix: yearly output (real and nominal) and coverage.

    Args:
        policy: A label of `POLICIES`.
        seed: The run's seed.
        overrides: The report's overrides of the scenario.
        towns: Towns of the run (None: the scenario's 399).
        start_sizes: Also record every firm's size at the start.
    """
    base = scenario(overrides, **({"towns": towns} if towns else {}))
    model = TownModel(with_policy(base, policy), rng=seed, views="lazy")
    rows = Rows()
    if start_sizes:
        add_sizes(rows, model, model.settings.run.start_year)
    model.run()
    measured = measure(model.town_frame(), ["gdp", "gdp_nominal", "platform_coverage"])
    parts = [rows.frame(), measured] if start_sizes else [measured]
    return pd.concat(parts, ignore_index=True)
