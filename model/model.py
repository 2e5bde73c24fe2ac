"""The town-upgrading model: professional towns climbing four dimensions of innovation.

Firms in a province's professional towns climb from traditional to informational,
internet-based and "Internet+" production one level at a time, pulled by their own
initiative and by imitation of partners and peers, and held back by funds, talent,
absorptive capacity and infrastructure. Governments, universities and platforms
change those conditions; six collaborative systems per town, and their
coordination, decide which dimension each town has reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from mesa import DataCollector, Model
from mesa.discrete_space import Network
from numpy.typing import NDArray

from agents.base import ALL, town_totals
from agents.enterprise import (
    Enterprise,
    consider_upgrade,
    cut_ties,
    exit_if_failing,
    hire_talent,
    learn,
    partner_rows,
    produce,
    revise_ties,
    seek_partner,
)
from agents.government import Government, govern, settle_subsidies
from agents.platform import Platform, admit_members
from agents.university import University, serve_region
from model.indices import measure_systems, observe
from model.province import (
    adjacency,
    build_towns,
    build_universities,
    customized_share,
    firm_capacity,
    found_firms,
    place_firms,
    town_graph,
)
from model.reporting import (
    INFANT_AGE,
    MODEL_REPORTERS,
    YOUNG_AGE,
    firm_frame,
    town_record,
)
from model.space import TownCell
from model.state import Ledger, Platforms, Rates
from model.views import FirmViews
from scenarios import REGIONS, Scenario, build_scenario, load_scenario

ENTERPRISE_BEHAVIOURS = (
    hire_talent,
    revise_ties,
    learn,
    consider_upgrade,
    produce,
    exit_if_failing,
)
"""What a firm does each step, in order: `Enterprise.step` reads the same list."""

WARM_UP_SEARCHES = 8
"""Partner searches run before the start, so that firms begin with their old ties."""


def make_scenario(
    scenario: Scenario | str | None, params: Mapping[str, Any]
) -> Scenario:
    """A validated scenario from a Scenario, a shipped name or path, plus overrides."""
    if isinstance(scenario, Scenario):
        if not params:
            return scenario
        return build_scenario(scenario.model_dump(), params, origin=scenario.name)
    return load_scenario(scenario, params)


class TownModel(Model):
    """A province of professional towns and the agents that make them upgrade.

    Args:
        scenario: A `Scenario`, the name of a shipped scenario, a TOML path, or
            None for the defaults.
        rng: Seed or numpy Generator; every random draw of the run comes from it.
        **params: Scenario overrides, by unique field name (`towns=10`) or dotted
            path (`**{"government.talent": 0.5}`).
    """

    def __init__(
        self,
        scenario: Scenario | str | None = None,
        *,
        rng: int | np.random.Generator | None = None,
        **params: Any,
    ) -> None:
        settings = make_scenario(scenario, params)
        super().__init__(rng=rng)
        self.settings = settings
        self.seed = int(rng) if isinstance(rng, int | np.integer) else None
        """The integer seed the run was made with (None for a Generator or entropy)."""
        self.rates = Rates.of(settings)
        self.schedule = settings.run.schedule
        self.year = float(settings.run.start_year)
        self.policy = settings.government_in(settings.run.start_year)
        self.customized_share = customized_share(self.settings, self.year)

        self.towns = build_towns(settings, self.rng)
        self.n_towns = self.towns.n
        self.graph = town_graph(settings, self.towns, self.rng)
        self.adjacency = adjacency(self.graph)
        self.grid = Network(
            self.graph, layout=None, random=self.random, cell_klass=TownCell
        )
        self.universities = build_universities(settings, self.towns, self.rng)
        self.firms, self.capacity = place_firms(settings, self.towns, self.rng)
        self.max_capacity = firm_capacity(settings)
        self.platforms = Platforms.of(self.towns)
        self.ledger = Ledger(self.n_towns)
        self._neighbours = self.adjacency.indptr, self.adjacency.indices
        self._universities_by_region = self._index_universities()

        lazy = settings.run.views == "lazy" and self.schedule == "vectorized"
        self.enterprises = FirmViews(self, lazy=lazy)
        self.platform_agents: dict[int, Platform] = {}
        for town in range(self.n_towns):
            Government(self, town)
        for slot, hub in enumerate(self.universities.hub):
            University(self, slot, int(hub))
        self.enterprises.born(np.flatnonzero(self.firms.alive))
        self.towns.ip_protection[:] = self.rates.legal_protection

        self.entries = self.exits = self.failures = 0
        self.young_exits = self.infant_exits = 0
        self._observe()
        self._warm_up_ties()
        measure_systems(self)
        self.datacollector = DataCollector(model_reporters=MODEL_REPORTERS)
        self.datacollector.collect(self)
        self._town_rows = [town_record(self)]

    # --- The step: the ODD's process overview ------------------------------

    def step(self) -> None:
        """Advance one step (a quarter by default), in the ODD's order."""
        self._start_step()
        self._each(Government, govern, np.arange(self.n_towns))
        self._sync_platforms()
        self._each(University, serve_region, np.arange(self.universities.region.size))
        self._each(Platform, admit_members, np.flatnonzero(self.platforms.built))
        self._enterprises_act()
        settle_subsidies(self)
        self._enter_startups()
        self._observe()
        if self.steps % self.rates.steps_per_year == 0:
            measure_systems(self)
            self._town_rows.append(town_record(self))
            self.ledger.reset()
        self.datacollector.collect(self)
        self.running = self.steps < self.settings.steps

    def _start_step(self) -> None:
        """Move the clock; demand, infrastructure and the talent market drift."""
        r, towns = self.rates, self.towns
        self.year = self.settings.run.start_year + self.steps / r.steps_per_year
        self.policy = self.settings.government_in(self.calendar_year)
        self.customized_share = customized_share(self.settings, self.year)
        towns.infrastructure += r.infrastructure_growth * (1.0 - towns.infrastructure)
        workforce = town_totals(self, ALL, self.firms.size)  # free slots: size 0
        towns.talent_pool += r.talent_inflow * workforce
        self.entries = self.exits = self.failures = 0
        self.young_exits = self.infant_exits = 0

    def _observe(self) -> None:
        """Refresh town aggregates and the index of live firms used to meet partners."""
        observe(self)
        self._live_slots = np.flatnonzero(self.firms.alive)
        self._live_first = np.concatenate([[0], np.cumsum(self.towns.firms)[:-1]])

    def _each(self, kind: type, behaviour: Any, idx: NDArray[np.intp]) -> None:
        """Run one kind of agent: one by one in random order, or all at once."""
        if self.schedule == "vectorized":
            if idx.size:
                behaviour(self, idx)
        elif kind in self.agents_by_type:
            self.agents_by_type[kind].shuffle_do("step")

    def _enterprises_act(self) -> None:
        """Every firm does its step: Enterprise.step, or each behaviour for all."""
        if self.schedule == "agents":
            self.agents_by_type[Enterprise].shuffle_do("step")
            return
        for behaviour in ENTERPRISE_BEHAVIOURS:
            behaviour(self, ALL)

    # --- Births, deaths and views -----------------------------------------

    def retire_firms(self, slots: NDArray[np.intp]) -> None:
        """Take firms out of the market: book their funds, cut ties, drop views."""
        f = self.firms
        self.ledger.add("exit_funds", f.town[slots], f.funds[slots])
        self.ledger.add("exits", f.town[slots], 1.0)
        table = partner_rows(f, slots)
        rows, cols = np.nonzero(table >= 0)
        owners, partners = slots[rows], table[rows, cols]
        once = ~np.isin(partners, slots) | (partners > owners)  # ties among leavers
        cut_ties(f, owners[once], cols[once])
        f.alive[slots] = False
        f.size[slots] = 0.0  # a free slot earns, costs and hires nothing
        f.funds[slots] = 0.0
        f.member[slots] = 0
        f.university[slots] = -1
        f.subsidy_claim[slots] = 0.0
        self.exits += slots.size
        self.young_exits += int((f.age[slots] < YOUNG_AGE).sum())
        self.infant_exits += int((f.age[slots] < INFANT_AGE).sum())
        self.enterprises.died(slots)

    def _enter_startups(self) -> None:
        """Start-ups take free slots in towns where firms earn money and cooperate."""
        f, towns, r = self.firms, self.towns, self.rates
        shape = (self.n_towns, self.capacity)
        alive = f.alive.reshape(shape)
        margin = np.divide(
            np.where(alive, f.profit.reshape(shape), 0).sum(axis=1),
            np.maximum(towns.gdp, 1e-9),
        )
        attractive = np.clip(margin / 0.15, 0, 1) * (0.5 + 0.5 * towns.coordination)
        wanted = self.rng.poisson(r.entry * towns.firms * attractive)
        self._make_room(alive.sum(axis=1) + wanted)
        f, shape = self.firms, (self.n_towns, self.capacity)
        free = ~f.alive.reshape(shape)
        rank = np.cumsum(free, axis=1)  # 1 for a town's first free slot, 2 ...
        chosen = np.flatnonzero(free & (rank <= wanted[:, None]))
        if chosen.size == 0:
            return
        # a start-up copies the practice of a random incumbent, up to level 3
        copied = self.rng.random(chosen.size)[:, None]
        reached = towns.share_at_least[f.town[chosen]][:, 2:4]
        levels = 1 + (copied < reached).sum(axis=1)
        found_firms(
            self.settings,
            towns,
            f,
            chosen,
            levels=levels,
            rng=self.rng,
            age=np.zeros(chosen.size),
            customized=self.customized_share,
            funds=self.settings.economy.entry_funds,
            size_scale=0.5,
            knowledge_scale=0.5,
        )
        self.ledger.add("entry_funds", f.town[chosen], f.funds[chosen])
        self.ledger.add("entries", f.town[chosen], 1.0)
        self.entries += chosen.size
        self.enterprises.born(chosen)

    def _make_room(self, needed: NDArray[np.intp]) -> None:
        """Widen every town block when a town needs more slots, up to the headroom.

        Blocks start with little room and grow by at least 10% at a time, so
        the whole-table passes of the behaviours skip the room nobody uses yet.
        """
        most = int(needed.max(initial=0))
        if most <= self.capacity or self.capacity >= self.max_capacity:
            return
        wider = min(self.max_capacity, max(most, int(np.ceil(1.1 * self.capacity))))
        self.firms = self.firms.regrouped(self.n_towns, self.capacity, wider)
        self.enterprises.moved(self.capacity, wider)
        self.capacity = wider

    def _sync_platforms(self) -> None:
        for slot in np.flatnonzero(self.platforms.built).tolist():
            if slot not in self.platform_agents:
                self.platform_agents[slot] = Platform(self, slot)

    def _warm_up_ties(self) -> None:
        """Give firms the ties they had before the start, by the search rule itself."""
        rates, self.rates = self.rates, replace(self.rates, search=1.0)
        try:
            for _ in range(WARM_UP_SEARCHES):
                seek_partner(self, ALL)
        finally:
            self.rates = rates

    # --- Helpers the behaviours use ---------------------------------------

    @property
    def calendar_year(self) -> int:
        """The calendar year the current step falls in."""
        start = self.settings.run.start_year
        if self.steps == 0:
            return start  # the initial state is the end of the start year
        return start + (self.steps - 1) // self.rates.steps_per_year + 1

    def random_neighbour_town(self, town: NDArray[np.intp]) -> NDArray[np.intp]:
        """A random neighbour of each town in the town network (itself if isolated)."""
        indptr, indices = self._neighbours
        if indices.size == 0:
            return town
        degree = indptr[town + 1] - indptr[town]
        pick = indptr[town] + (self.rng.random(town.size) * degree).astype(np.intp)
        return np.where(degree > 0, indices[np.minimum(pick, indices.size - 1)], town)

    def random_firm_in(self, town: NDArray[np.intp]) -> NDArray[np.intp]:
        """A random live firm of each town, as of the step's start (-1 if none)."""
        live, first = self._live_slots, self._live_first
        count = self.towns.firms[town]
        pick = first[town] + (self.rng.random(town.size) * count).astype(np.intp)
        return np.where(count > 0, live[np.minimum(pick, max(live.size - 1, 0))], -1)

    def random_university(self, region: NDArray[np.intp]) -> NDArray[np.intp]:
        """A random university of each region (-1 where the region has none)."""
        start, count, order = self._universities_by_region
        pick = (self.rng.random(region.size) * count[region]).astype(np.intp)
        slot = np.minimum(start[region] + pick, max(order.size - 1, 0))
        return np.where(count[region] > 0, order[slot] if order.size else -1, -1)

    def _index_universities(self) -> tuple[NDArray[np.intp], ...]:
        region = self.universities.region
        order = np.argsort(region, kind="stable")
        count = np.bincount(region, minlength=len(REGIONS))
        start = np.concatenate([[0], np.cumsum(count)[:-1]])
        return start, count, order

    def spending_intensity(self) -> NDArray[np.float64]:
        """Government budget as a share of each town's output this year."""
        gdp = np.maximum(self.towns.gdp, 1e-9)
        return self.policy.budget_share + self.policy.province_budget / gdp

    # --- Results -----------------------------------------------------------

    def run(self, progress: Any = None) -> TownModel:
        """Run to the end year, calling `progress(step)` after each step."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self.steps)
        return self

    def town_frame(self) -> pd.DataFrame:
        """One row per town and recorded year (tidy)."""
        return pd.concat(
            [pd.DataFrame(rows) for rows in self._town_rows], ignore_index=True
        )

    def model_frame(self) -> pd.DataFrame:
        """Province-wide series, one row per step, from Mesa's DataCollector."""
        frame = self.datacollector.get_model_vars_dataframe()
        return frame.rename_axis("step").reset_index()

    def firm_frame(self) -> pd.DataFrame:
        """The firms alive now, one row each."""
        return firm_frame(self)
