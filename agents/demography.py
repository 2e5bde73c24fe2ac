"""Firm demography: start-ups enter, failing firms leave.

Start-ups take free slots of their town's block (which widens when the town
fills), in towns where firms earn money and cooperate; each copies the level of
a random incumbent, up to level 3. A firm leaves when its funds, the subsidy it
has claimed and its credit are used up, or by a small background hazard. Both
are booked in the ledger and the tally, and the firms' agents are told.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import pdtrik

from agents.base import (
    Selection,
    in_selection,
    place_count,
    rows_in,
    slots_at,
    slots_of_places,
    town_sum,
)
from agents.economy import credit_of, operating_cost, revenue
from agents.partners import cut_all_ties
from agents.streams import TIMELESS, Purpose, Streams
from scenarios.schema import INDUSTRIES, STAGES, Scenario

if TYPE_CHECKING:
    from agents.tables import Firms, Towns
    from agents.world import World

YOUNG_AGE = 3.0
"""Firms younger than this (years) count as young in the demography series."""
INFANT_AGE = 1.0
"""Firms younger than this (years) are in their first year: the shake-out's age."""

ENTRY_MARGIN = 0.15
"""Profit margin of a town's firms at which start-ups come at the full rate."""
ENTRY_FROM_COORDINATION = 0.5
"""Share of the entry rate that depends on the town's coordination D."""
STARTUP_SIZE = 0.5
"""A start-up's size relative to a new firm of the start year."""
STARTUP_KNOWLEDGE = 0.5
"""A start-up's knowledge relative to an incumbent of its level at the start."""
KNOWLEDGE_PER_LEVEL = 0.5
"""A new firm's knowledge grows by this share of `knowledge_start` per level."""
KNOWLEDGE_SPREAD = 0.3
"""S.d. of the log of a new firm's knowledge around its level's value."""
TALENT_ABOVE_NEED = 0.5
"""A new firm's IT staff exceeds its level's need by up to this share (uniform)."""
TRUST_SPREAD = 0.05
"""S.d. of a new firm's trust around `enterprise.trust_start`."""
SIZE_FACTOR_MAX = 3.0
"""Most the exit hazard of a small firm exceeds that of a town's mean-sized one."""
STARTUP_TOP_LEVEL = 3
"""The highest level a start-up copies from the incumbents."""


# --- Rules ----------------------------------------------------------------------


def exits(funds: ArrayLike, draw: ArrayLike, hazard: ArrayLike) -> ArrayLike:
    """A firm leaves when its funds (with its credit) run out, or by the hazard."""
    return np.less(funds, 0.0) | np.less(draw, hazard)


def exit_hazard(
    base: float,
    relative_size: ArrayLike,
    age: ArrayLike,
    elasticity: float,
    young_excess: float,
    young_years: float,
) -> ArrayLike:
    """Chance of closing besides bankruptcy: falls with size and with age.

    Plants' and firms' exit rates fall with size and with age (Evans 1987;
    Dunne, Roberts and Samuelson 1989; Haltiwanger, Jarmin and Miranda 2013):
    `base` at the town's mean size and a mature age, times
    `relative_size ** -elasticity`, times a young firm's excess that fades
    over `young_years`. The size factor is held below `SIZE_FACTOR_MAX`.
    """
    size_factor = np.minimum(
        np.power(np.maximum(relative_size, 1e-12), -elasticity), SIZE_FACTOR_MAX
    )
    youth = 1.0 + young_excess * np.exp(-np.asarray(age) / young_years)
    return base * size_factor * youth


def entry_attraction(margin: ArrayLike, coordination: ArrayLike) -> ArrayLike:
    """Share of the entry rate a town draws: its firms' margin and its coordination.

    Entrants follow profits (Geroski 1995); coordination stands for the
    suppliers, platforms and partners a newcomer can count on.
    """
    stay = 1.0 - ENTRY_FROM_COORDINATION
    return np.clip(np.asarray(margin) / ENTRY_MARGIN, 0, 1) * (
        stay + ENTRY_FROM_COORDINATION * np.asarray(coordination)
    )


def assign_ids(towns: Towns, firms: Firms, slots: NDArray[np.intp]) -> None:
    """Give new firms in `slots` their ids: each town numbers its firms in turn."""
    town = firms.town[slots]
    order = np.argsort(town, kind="stable")
    counts = np.bincount(town, minlength=towns.n)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])
    serial = np.empty(slots.size, dtype=np.int64)
    serial[order] = np.arange(slots.size) - first[town[order]]
    firms.id[slots] = (town.astype(np.int64) << 32) | (towns.founded[town] + serial)
    towns.founded += counts


def found_firms(
    s: Scenario,
    towns: Towns,
    firms: Firms,
    slots: NDArray[np.intp],
    levels: NDArray[np.int64],
    streams: Streams,
    age: NDArray[np.float64],
    customized: float,
    funds: float,
    size_scale: ArrayLike = 1.0,
    knowledge_scale: float = 1.0,
) -> None:
    """Fill empty slots, whose ids are assigned, with new firms at the given levels.

    Sizes are Pareto (Axtell 2001's Zipf-like firm sizes); talent meets the
    firm's own level; knowledge and funds grow with level and size (`funds`:
    years of output). Efficiency is lognormal with mean 1 for every new firm,
    incumbents of the start year included: selection on it is the model's.
    Each draw is keyed by the firm's id alone, not by when it is founded.
    """
    e, eco = s.enterprise, s.economy
    town, ids = firms.town[slots], firms.id[slots]
    draw = lambda purpose: streams.uniform(purpose, ids, time=TIMELESS)  # noqa: E731
    normal = lambda purpose: streams.normal(purpose, ids, time=TIMELESS)  # noqa: E731
    kinds = len(INDUSTRIES)
    related = draw(Purpose.RELATED) < s.province.related_industry_share
    shift = 1 + (draw(Purpose.OTHER_INDUSTRY) * (kinds - 1)).astype(np.int64)
    other = (towns.industry[town] + shift) % kinds
    tail = draw(Purpose.FIRM_SIZE) ** (-1.0 / eco.size_tail)
    size = eco.size_min * size_scale * tail
    needed = np.array([e.talent_start, *e.talent_needed])[levels - 1]
    knowledge = e.knowledge_start * (1.0 + KNOWLEDGE_PER_LEVEL * (levels - 1))
    knowledge = knowledge * knowledge_scale
    firms.alive[slots] = True
    firms.industry[slots] = np.where(related, other, towns.industry[town])
    firms.stage[slots] = (draw(Purpose.STAGE) * len(STAGES)).astype(np.int8)
    firms.size[slots] = np.minimum(size, eco.size_max)
    spread = eco.efficiency_spread
    efficiency = -0.5 * spread**2 + spread * normal(Purpose.EFFICIENCY)
    firms.efficiency[slots] = np.exp(efficiency)
    firms.level[slots] = levels
    spread = np.exp(KNOWLEDGE_SPREAD * normal(Purpose.KNOWLEDGE))
    firms.knowledge[slots] = np.clip(knowledge * spread, 0, 1)
    above = 1.0 + TALENT_ABOVE_NEED * draw(Purpose.TALENT)
    firms.talent[slots] = np.clip(np.maximum(needed, e.talent_start) * above, 0, 1)
    trust = e.trust_start + TRUST_SPREAD * normal(Purpose.TRUST)
    firms.trust[slots] = np.clip(trust, 0, 1)
    firms.age[slots] = age
    open_accounts(s, firms, slots, customized, funds)
    firms.member[slots] = 0
    firms.university[slots] = -1
    firms.project_left[slots] = 0.0
    firms.subsidy_claim[slots] = 0.0
    firms.adoption_probability[slots] = 0.0
    firms.blocked[slots] = 0
    firms.upgraded_at[slots] = np.nan
    firms.partners[slots] = -1
    firms.tie_kind[slots] = -1
    firms.ties[slots] = 0


def open_accounts(
    s: Scenario, firms: Firms, slots: NDArray[np.intp], customized: float, funds: float
) -> None:
    """A new firm's output and profit from its state, and `funds` years of output."""
    e, eco = s.enterprise, s.economy
    levels = firms.level[slots]
    firms.output[slots] = revenue(
        firms.size[slots],
        firms.efficiency[slots],
        levels,
        firms.knowledge[slots],
        np.array(eco.customized_fit)[levels - 1],
        customized,
        eco.productivity,
        eco.level_gain,
        eco.knowledge_gain,
    )
    firms.profit[slots] = firms.output[slots] - operating_cost(
        firms.size[slots],
        firms.talent[slots],
        0,
        0,
        eco.productivity,
        eco.unit_cost,
        e.it_wage,
        e.tie_cost,
        e.tie_saving,
        s.platform.service_saving,
    )
    firms.funds[slots] = funds * firms.output[slots]


def capped_totals(
    output: NDArray[np.float64], town: NDArray[np.intp], cap: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Each town's output once no firm holds more than `cap[town]` of it.

    The town's total T solves T = sum_i min(output_i, cap * T): the largest
    firms are cut to the cap, which the cut lowers with them. If the m largest
    are cut, T = (the others' output) / (1 - m * cap); T is the solution for the
    smallest m at which the largest firm left whole fits under the cap. The
    others' output is summed from the smallest up within each town, so a giant
    firm costs the small ones no precision. `cap` must be at least
    1 / (the town's firms). Towns without firms get 0.
    """
    n = cap.size
    order = np.lexsort((output, town))  # by town, smallest first
    o, t = output[order], town[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(t, minlength=n))])
    rest = np.empty_like(o)  # per firm: its own and the smaller firms' output
    for k in np.flatnonzero(np.diff(bounds)).tolist():
        rest[bounds[k] : bounds[k + 1]] = np.cumsum(o[bounds[k] : bounds[k + 1]])
    larger = bounds[t + 1] - 1 - np.arange(o.size)  # firms larger than this one
    c = cap[t]
    with np.errstate(divide="ignore", invalid="ignore"):
        total = rest / (1.0 - larger * c)
    fits = (larger * c < 1.0) & (o <= c * total * (1.0 + 1e-9))
    solved = np.full(n, np.inf)
    np.minimum.at(solved, t[fits], total[fits])
    return np.where(np.isfinite(solved), solved, 0.0)


# --- Behaviours -----------------------------------------------------------------


def enter_startups(world: World) -> None:
    """Start-ups take free slots in towns where firms earn money and cooperate."""
    f, towns, r = world.firms, world.towns, world.rates
    margin = np.divide(town_sum(world, f.profit), np.maximum(towns.gdp, 1e-9))
    attractive = entry_attraction(margin, towns.coordination)
    expected = r.entry * towns.firms * attractive
    chance = world.streams.uniform(Purpose.ENTRY, np.arange(world.n_towns))
    wanted = np.ceil(pdtrik(chance, expected)).astype(np.int64)  # Poisson quantile
    make_room(world, town_sum(world, 1).astype(np.int64) + wanted)
    f, start = world.firms, world.blocks.start
    free = ~f.alive
    taken = np.cumsum(free)  # free slots so far; a town's first free slot is 1 up
    before = np.concatenate([[0], taken])[start[:-1]]
    rank = taken - before[f.town]  # 1 for a town's first free slot, 2 ...
    chosen = np.flatnonzero(free & (rank <= wanted[f.town]))
    if chosen.size == 0:
        return
    assign_ids(towns, f, chosen)
    copied = world.streams.uniform(Purpose.STARTUP_LEVEL, f.id[chosen])[:, None]
    reached = towns.share_at_least[f.town[chosen]][:, 2 : STARTUP_TOP_LEVEL + 1]
    levels = 1 + (copied < reached).sum(axis=1)
    found_firms(
        world.settings,
        towns,
        f,
        chosen,
        levels=levels,
        streams=world.streams,
        age=np.zeros(chosen.size),
        customized=world.customized_share,
        funds=world.settings.economy.entry_funds,
        size_scale=STARTUP_SIZE * towns.size_scale[f.town[chosen]],
        knowledge_scale=STARTUP_KNOWLEDGE,
    )
    cap_startups(world, chosen)
    world.ledger.add("entry_funds", f.town[chosen], f.funds[chosen])
    world.ledger.add("entries", f.town[chosen], 1.0)
    world.tally.entries += chosen.size
    world.enterprises.born(chosen)


def cap_startups(world: World, slots: NDArray[np.intp]) -> None:
    """No start-up begins with more than `agent_share_max` of its town's output."""
    f, s = world.firms, world.settings
    most = s.economy.agent_share_max * world.towns.gdp[f.town[slots]]
    big = f.output[slots] > most
    if big.any():
        slots, most = slots[big], most[big]
        f.size[slots] *= most / f.output[slots]
        open_accounts(s, f, slots, world.customized_share, s.economy.entry_funds)


def make_room(world: World, needed: NDArray[np.intp]) -> None:
    """Widen every block when a town needs more slots, each up to its headroom.

    Blocks start with little room and grow by at least 10% at a time, all at
    once (`Blocks.widened`), so the whole-table passes of the behaviours skip
    the room nobody uses yet and the table is seldom copied.
    """
    wider = world.blocks.widened(needed)
    if wider is None:
        return
    moved = world.blocks.moved_to(wider)
    world.firms = world.firms.regrouped(world.blocks, wider)
    world.blocks = wider
    world.enterprises.moved(moved)


def exit_if_failing(world: World, idx: Selection) -> None:
    """Leave the market when funds, the subsidy claimed and credit are used up.

    Credit is never negative, so only firms short of their own money are held
    against it; any firm may also close by its hazard (`exit_hazard`), drawn
    by thinning: candidates at the hazard's bound, kept with their own share.
    """
    f, r = world.firms, world.rates
    own = f.funds[idx] + f.subsidy_claim[idx]
    short = np.flatnonzero(own < 0.0)
    at = slots_at(idx, short)
    cushion = own[short] + credit_of(world, at)
    failing = short[f.alive[at] & exits(cushion, 1.0, 0.0)]  # hazard: drawn below
    top = min(1.0, r.base_exit * SIZE_FACTOR_MAX * (1.0 + r.exit_young_excess))
    places = world.streams.chosen(Purpose.EXIT, top, place_count(world))
    at = slots_of_places(world, places)[0]
    at = at[in_selection(idx, at) & f.alive[at]]
    mean_size = np.maximum(world.towns.mean_size[f.town[at]], 1e-12)
    hazard = exit_hazard(
        r.base_exit,
        f.size[at] / mean_size,
        f.age[at],
        r.exit_size_elasticity,
        r.exit_young_excess,
        r.exit_young_years,
    )
    draw = world.streams.uniform(Purpose.EXIT, f.id[at], draw=1) * top
    closing = rows_in(idx, at[draw < hazard])
    world.tally.failures += failing.size
    leaving = np.union1d(failing, closing)
    if leaving.size:
        retire_firms(world, slots_at(idx, leaving))


def retire_firms(world: World, slots: NDArray[np.intp]) -> None:
    """Take firms out of the market: book their funds, cut ties, free the slots."""
    f, tally = world.firms, world.tally
    world.ledger.add("exit_funds", f.town[slots], f.funds[slots])
    world.ledger.add("exits", f.town[slots], 1.0)
    cut_all_ties(f, slots)
    f.alive[slots] = False
    f.size[slots] = 0.0  # a free slot earns, costs and hires nothing
    f.funds[slots] = 0.0
    f.member[slots] = 0
    f.university[slots] = -1
    f.subsidy_claim[slots] = 0.0
    tally.exits += slots.size
    tally.young_exits += int((f.age[slots] < YOUNG_AGE).sum())
    tally.infant_exits += int((f.age[slots] < INFANT_AGE).sum())
    world.enterprises.died(slots)
