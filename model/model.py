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
from agents.certification import certify
from agents.demography import enter_startups
from agents.enterprise import STEP, Enterprise
from agents.government import Government, govern, settle_subsidies
from agents.platform import Platform, admit_members
from agents.rates import Rates, size_drift
from agents.sampling import Directory
from agents.streams import Streams
from agents.tables import NOT_CERTIFIED, Ledger, Platforms, Tally
from agents.ties import warm_up_ties
from agents.university import University, serve_region
from model.growth import Snapshot, decompose, growth_table
from model.indices import measure_systems, observe
from model.province import (
    adjacency,
    build_towns,
    build_universities,
    customized_share,
    open_start_platforms,
    place_firms,
    town_graph,
)
from model.reporting import MODEL_REPORTERS, firm_frame, town_record
from model.space import TownCell
from model.views import FirmViews
from scenarios import REGIONS, Scenario, build_scenario, load_scenario


def run_seed(rng: np.random.Generator) -> int:
    """A seed for the random streams, from a generator given instead of a seed."""
    return int(rng.integers(2**63))


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

    It builds the province, runs the step in the ODD's order and implements
    `agents.world.World`, the state and services the behaviours work with.

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
        self.grid = Network(
            self.graph, layout=None, random=self.random, cell_klass=TownCell
        )
        self.universities = build_universities(settings, self.towns, self.rng)
        self.streams = Streams.of(
            self.seed if self.seed is not None else run_seed(self.rng)
        )
        self.firms, self.blocks = place_firms(
            settings, self.towns, self.streams, self.rng
        )
        self.platforms = Platforms.of(self.towns)
        open_start_platforms(settings, self.towns, self.firms)
        self.ledger = Ledger(self.n_towns)
        self.tally = Tally()
        self.directory = Directory.of(
            adjacency(self.graph), self.universities.region, len(REGIONS)
        )

        lazy = settings.run.views == "lazy" and self.schedule == "vectorized"
        self.enterprises = FirmViews(self, lazy=lazy)
        self.platform_agents: dict[int, Platform] = {}
        for town in range(self.n_towns):
            Government(self, town)
        for slot, hub in enumerate(self.universities.hub):
            University(self, slot, int(hub))
        self.enterprises.born(np.flatnonzero(self.firms.alive))
        self.towns.ip_protection[:] = self.rates.legal_protection

        self._observe()
        warm_up_ties(self)
        measure_systems(self)
        self.datacollector = DataCollector(model_reporters=MODEL_REPORTERS)
        self.datacollector.collect(self)
        self._town_rows = [town_record(self)]
        self._snapshot = Snapshot.of(self)
        self._growth_rows: list[dict[str, float]] = []

    # --- The step: the ODD's process overview ------------------------------

    def step(self) -> None:
        """Advance one step (a quarter by default), in the ODD's order."""
        self._start_step()
        self._each(Government, govern, np.flatnonzero(self.towns.certified))
        self._sync_platforms()
        self._each(University, serve_region, np.arange(self.universities.region.size))
        self._each(Platform, admit_members, np.flatnonzero(self.platforms.built))
        self._enterprises_act()
        settle_subsidies(self)
        enter_startups(self)
        self._observe()
        if self.steps % self.rates.steps_per_year == 0:
            certify(self)
            measure_systems(self)
            self._town_rows.append(town_record(self))
            self._account_growth()
            self.ledger.reset()
        self.datacollector.collect(self)
        self.running = self.steps < self.settings.steps

    def _start_step(self) -> None:
        """Move the clock; demand, infrastructure and the talent market drift."""
        r, towns = self.rates, self.towns
        self.year = self.settings.run.start_year + self.steps / r.steps_per_year
        self.policy = self.settings.government_in(self.calendar_year)
        self._follow_demand()
        self.customized_share = customized_share(self.settings, self.year)
        towns.infrastructure += r.infrastructure_growth * (1.0 - towns.infrastructure)
        workforce = town_totals(self, ALL, self.firms.size)  # free slots: size 0
        towns.talent_pool += r.talent_inflow * workforce
        self.tally.reset()
        self.streams.time = self.steps

    def _follow_demand(self) -> None:
        """Set this year's demand drift when demand follows the province's GDP."""
        if self.settings.economy.demand_elasticity and self.settings.economy.gdp_growth:
            drift = size_drift(self.settings, self.calendar_year)
            if drift != self.rates.size_drift:
                self.rates = replace(self.rates, size_drift=drift)

    def _account_growth(self) -> None:
        """Split the year's change of the listed towns' output into its parts."""
        after = Snapshot.of(self)
        self._growth_rows.append(decompose(self, self._snapshot, after))
        self._snapshot = after

    def _observe(self) -> None:
        """Refresh the town aggregates the next step's behaviours read."""
        observe(self)

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
        for behaviour in STEP:
            behaviour(self, ALL)

    # --- Platforms' agents and the clock ------------------------------------

    def _sync_platforms(self) -> None:
        """Make the Mesa agent of every platform built since the last step."""
        for slot in np.flatnonzero(self.platforms.built).tolist():
            if slot not in self.platform_agents:
                self.platform_agents[slot] = Platform(self, slot)

    @property
    def calendar_year(self) -> int:
        """The calendar year the current step falls in."""
        start = self.settings.run.start_year
        if self.steps == 0:
            return start  # the initial state is the end of the start year
        return start + (self.steps - 1) // self.rates.steps_per_year + 1

    # --- Results -----------------------------------------------------------

    def run(self, progress: Any = None) -> TownModel:
        """Run to the end year, calling `progress(step)` after each step."""
        while self.running:
            self.step()
            if progress is not None:
                progress(self.steps)
        return self

    def town_frame(self, candidates: bool = False) -> pd.DataFrame:
        """One row per town and recorded year (tidy).

        Args:
            candidates: Also the rows of towns not certified that year; by
                default a year has the rows of the towns on the list.
        """
        frame = pd.concat(
            [pd.DataFrame(rows) for rows in self._town_rows], ignore_index=True
        )
        if candidates:
            return frame
        return frame[frame["certified_year"] != NOT_CERTIFIED].reset_index(drop=True)

    def growth_frame(self) -> pd.DataFrame:
        """The yearly decomposition of output growth (`model.growth`), M yuan a year."""
        return growth_table(self._growth_rows)

    def model_frame(self) -> pd.DataFrame:
        """Province-wide series, one row per step, from Mesa's DataCollector."""
        frame = self.datacollector.get_model_vars_dataframe()
        return frame.rename_axis("step").reset_index()

    def firm_frame(self) -> pd.DataFrame:
        """The firms alive now, one row each."""
        return firm_frame(self)
