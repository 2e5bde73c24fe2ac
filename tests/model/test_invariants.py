"""Invariants of the model state, checked after every step of small random models.

Hypothesis draws small provinces and random parameter overrides (both schedules);
after each step the state must satisfy:

* shares, indices, coordination and trust-like quantities lie in [0, 1];
* no NaN or infinity in the state of live firms or of towns;
* surviving firms (the same id) keep their level or climb exactly one level
  per step, and keep their Mesa agent when their slot moves;
* every slot lies in its town's block, and each live firm's id names its
  town and is its own;
* partner lists are symmetric, free of duplicates, self-ties and dead firms,
  and cross-border ties join firms at the required level;
* money is accounted for: the change of all slots' funds over one step equals
  profits - upgrades + subsidies - licences - projects - exit_funds + entry_funds
  booked in the ledger over that step (the ledger is reset at year ends, so the
  test taps `ledger.reset` to keep what was booked before the reset);
* no government spends more on a lever than that lever's share of its budget.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import Enterprise
from agents.ties import CROSS_INDUSTRY, tie_kind
from model import TownModel
from scenarios import LEVERS

MONEY_IN = ("profits", "subsidies", "entry_funds")
MONEY_OUT = ("upgrades", "licences", "projects", "exit_funds")


class StepRecorder:
    """Snapshots around one step, and the ledger flows booked during it."""

    def __init__(self, model: TownModel) -> None:
        self.model = model
        self.carried: dict[str, np.ndarray] = {}
        ledger = model.ledger
        reset = ledger.reset

        def tapped_reset() -> None:
            for name, values in ledger.flows.items():
                self.carried[name] = self.carried.get(name, 0.0) + values.copy()
            reset()

        ledger.reset = tapped_reset  # type: ignore[method-assign]

    def step(self) -> None:
        m = self.model
        self.carried = {}
        self.start_flows = {k: v.copy() for k, v in m.ledger.flows.items()}
        self.funds = m.firms.funds.copy()
        self.level = m.firms.level.copy()
        self.firm_ids = m.firms.id.copy()
        self.alive = m.firms.alive.copy()
        self.gdp = m.towns.gdp.copy()
        self.ids = agent_ids(m)
        m.step()

    def flow(self, name: str) -> np.ndarray:
        """Per-town sum of a ledger flow over the last step."""
        current = self.model.ledger.flows[name]
        return self.carried.get(name, 0.0) + current - self.start_flows[name]


def agent_ids(model: TownModel) -> dict[int, int]:
    """Slot -> unique id of the Mesa agent viewing it (a new firm has a new id)."""
    return {a.slot: a.unique_id for a in model.agents_by_type[Enterprise]}


# --- state checks --------------------------------------------------------------


def in_unit(values: Any, what: str, tol: float = 1e-9) -> None:
    values = np.asarray(values, dtype=float)
    assert np.all(np.isfinite(values)), f"{what}: not finite"
    bad = (values < -tol) | (values > 1 + tol)
    assert not bad.any(), f"{what} outside [0, 1]: {values[bad][:5]}"


def check_firms(model: TownModel) -> None:
    f, r = model.firms, model.rates
    alive = f.alive
    live = np.flatnonzero(alive)
    n_slots = alive.size
    for field in dataclasses.fields(f):
        if field.name == "tie_cache":  # a cache of the ties, not state
            continue
        column = getattr(f, field.name)
        assert column.shape[:1] == (n_slots,), f"firms.{field.name}: {column.shape}"
        if np.issubdtype(column.dtype, np.floating):
            values = column[alive]
            if field.name == "upgraded_at":  # NaN: never upgraded
                values = values[~np.isnan(values)]
            assert np.all(np.isfinite(values)), f"firms.{field.name}: NaN or inf"
    level = f.level[alive]
    assert np.all((level >= 1) & (level <= 4)), "level outside 1..4"
    for name in ("knowledge", "talent", "trust"):
        in_unit(getattr(f, name)[alive], f"firms.{name}")
    assert np.all(f.size[alive] > 0), "a live firm without workers"
    assert np.all(f.member[alive] < 8), "membership of a fourth platform kind"
    n_unis = model.universities.region.size
    assert np.all((f.university >= -1) & (f.university < max(n_unis, 0)))
    # dead slots hold nothing
    dead = ~alive
    assert np.all(f.funds[dead] == 0.0), "money left in a dead slot"
    assert np.all(f.partners[dead] == -1), "a dead slot keeps ties"
    assert np.all(f.member[dead] == 0)
    assert np.all(f.university[dead] == -1)
    # the Mesa agents are exactly the live firms
    assert set(agent_ids(model)) == set(live.tolist())
    b = model.blocks
    assert n_slots == b.slots and np.all(f.town == b.town_of_slots), "off its block"
    assert np.all((b.width >= 1) & (b.width <= b.most)), "a block past its most"
    # ids: each names its firm's town and a serial already given, once
    ids = f.id[live]
    assert np.all(ids >> 32 == f.town[live]), "an id of another town"
    assert np.all((ids & 0xFFFFFFFF) < model.towns.founded[f.town[live]])
    assert np.unique(ids).size == ids.size, "two live firms share an id"
    np.testing.assert_array_equal(
        model.towns.firms, np.bincount(f.town[live], minlength=model.n_towns)
    )
    check_ties(model)
    del r


def check_ties(model: TownModel) -> None:
    f, r = model.firms, model.rates
    partners = f.partners
    owner, col = np.nonzero(partners >= 0)
    other = partners[owner, col]
    assert np.all(partners >= -1)
    assert np.all(other != owner), "a firm is its own partner"
    assert np.all(f.alive[owner]) and np.all(f.alive[other]), "tie to a dead firm"
    pairs = set(zip(owner.tolist(), other.tolist(), strict=True))
    assert len(pairs) == owner.size, "a partner listed twice"
    missing = [(a, b) for a, b in pairs if (b, a) not in pairs]
    assert not missing, f"one-sided ties (i lists j, j not i): {missing[:5]}"
    kind = tie_kind(
        f.town[owner] == f.town[other],
        f.industry[owner] == f.industry[other],
        f.stage[owner] == f.stage[other],
    )
    low = np.minimum(f.level[owner], f.level[other])
    cross = kind >= CROSS_INDUSTRY
    assert np.all(low[cross] >= r.cross_border_level), (
        "cross-border tie below the level it needs"
    )
    np.testing.assert_array_equal(f.tie_kind[owner, col], kind, "stale tie kind")
    assert np.all(f.tie_kind[partners < 0] == -1), "tie kind in an empty slot"
    np.testing.assert_array_equal(f.ties, (partners >= 0).sum(axis=1), "tie count")


def check_towns(model: TownModel) -> None:
    towns = model.towns
    for name, value in vars(towns).items():
        if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating):
            assert np.all(np.isfinite(value)), f"towns.{name}: NaN or inf"
    for name in (
        "indices",
        "coordination",
        "share_at_least",
        "member_share",
        "external",
        "ip_protection",
        "infrastructure",
        "lever_weights",
    ):
        in_unit(getattr(towns, name), f"towns.{name}")
    shares = towns.share_at_least
    assert np.all(np.diff(shares, axis=1) <= 1e-12), "share at >= L rises with L"
    has_firms = towns.firms > 0
    np.testing.assert_allclose(shares[has_firms, :2], 1.0)
    assert np.all((towns.dimension >= 1) & (towns.dimension <= 4))
    assert np.all(towns.ip_protection >= model.rates.legal_protection - 1e-12)
    for name in ("talent_pool", "funding_pool", "platform_capital", "gdp"):
        assert np.all(getattr(towns, name) >= -1e-9), f"towns.{name} negative"
    if model.steps > 0:
        np.testing.assert_allclose(towns.lever_weights.sum(axis=1), 1.0)
    row = model.model_frame().iloc[-1]
    for name in ("coordination", "platform_coverage", "member_share"):
        in_unit(row[name], f"model_frame.{name}")


def check_step(rec: StepRecorder) -> None:
    m = rec.model
    f = m.firms
    # levels: survivors (the same firm id, wherever its slot moved) climb at
    # most one level; the same agent views them
    was = np.flatnonzero(rec.alive)
    before = dict(zip(rec.firm_ids[was].tolist(), was.tolist(), strict=True))
    now = np.flatnonzero(f.alive)
    pairs = zip(f.id[now].tolist(), now.tolist(), strict=True)
    kept = [(before[i], s) for i, s in pairs if i in before]
    if kept:
        old, new = np.array(kept).T
        rise = f.level[new].astype(int) - rec.level[old].astype(int)
        assert np.all((rise == 0) | (rise == 1)), f"level jumps: {set(rise.tolist())}"
        ids = agent_ids(m)
        same = [ids[s] for s in new.tolist()] == [rec.ids[s] for s in old.tolist()]
        assert same, "a surviving firm's agent changed"
    # money
    booked = sum(rec.flow(n).sum() for n in MONEY_IN) - sum(
        rec.flow(n).sum() for n in MONEY_OUT
    )
    change = f.funds.sum() - rec.funds.sum()
    scale = 1.0 + sum(np.abs(rec.flow(n)).sum() for n in MONEY_IN + MONEY_OUT)
    assert change == pytest.approx(booked, abs=1e-9 * scale), (
        f"funds changed by {change}, ledger says {booked}: "
        + ", ".join(f"{n}={rec.flow(n).sum():.6g}" for n in MONEY_IN + MONEY_OUT)
    )
    # spending: per lever, at most the lever's share of the step's budget
    policy = m.policy
    budget = (policy.budget_share * rec.gdp + policy.province_budget) / (
        m.rates.steps_per_year
    )
    weights = m.towns.lever_weights
    total = np.zeros(m.n_towns)
    for k, lever in enumerate(LEVERS):
        spent = rec.flow(f"spent_{lever}")
        allowed = budget * weights[:, k]
        assert np.all(spent >= -1e-12), f"negative spending on {lever}"
        assert np.all(spent <= allowed * (1 + 1e-9) + 1e-12), (
            f"{lever}: spent {spent} > budget share {allowed}"
        )
        total += spent
    assert np.all(total <= budget * (1 + 1e-9) + 1e-12)
    np.testing.assert_allclose(
        rec.flow("subsidies"), rec.flow("spent_funding"), atol=1e-12
    )


def check_all(model: TownModel) -> None:
    check_firms(model)
    check_towns(model)


def run_checked(model: TownModel, steps: int) -> None:
    check_all(model)
    rec = StepRecorder(model)
    for _ in range(steps):
        rec.step()
        check_all(model)
        check_step(rec)


# --- random small models ---------------------------------------------------------

unit = st.floats(0.0, 1.0, allow_nan=False)


@st.composite
def small_scenarios(draw: st.DrawFn) -> dict[str, Any]:
    weights = draw(st.lists(unit, min_size=4, max_size=4).filter(lambda w: sum(w) > 0))
    raw_levels = draw(st.lists(st.floats(0, 1), min_size=4, max_size=4))
    raw_levels[0] += 0.01
    total = sum(raw_levels)
    levels = [x / total for x in raw_levels]
    levels[0] = 1.0 - sum(levels[1:])
    cost = sorted(draw(st.lists(st.floats(0, 0.2), min_size=3, max_size=3)))
    return {
        "towns": draw(st.integers(1, 4)),
        "firms_per_town": draw(st.integers(4, 12)),
        "headroom": draw(st.sampled_from([0.0, 0.25, 1.0])),
        "steps_per_year": draw(st.sampled_from([1, 2, 4])),
        "schedule": draw(st.sampled_from(["vectorized", "agents"])),
        "legal_protection": draw(unit),
        "enforcement_scale": draw(st.floats(0.001, 1.0)),
        "budget_share": draw(st.floats(0.0, 0.2)),
        "province_budget": draw(st.sampled_from([0.0, 1.0, 50.0])),
        "allocation": draw(st.sampled_from(["static", "adaptive"])),
        **dict(zip(LEVERS, weights, strict=True)),
        "adaptive_tilt": draw(unit),
        "subsidy_cap": draw(unit),
        "initial_levels": levels,
        "upgrade_cost": cost,
        "innovation_p": draw(st.lists(unit, min_size=3, max_size=3)),
        "imitation_q": draw(st.lists(unit, min_size=3, max_size=3)),
        "max_partners": draw(st.integers(1, 6)),
        "cross_border_level": draw(st.integers(1, 4)),
        "search_rate": draw(unit),
        "far_search": draw(unit),
        "tie_decay": draw(unit),
        "trust_start": draw(unit),
        "entry_rate": draw(st.floats(0.0, 1.0)),
        "base_exit": draw(st.floats(0.0, 0.5)),
        "initial_funds": draw(st.floats(0.0, 1.0)),
        "unit_cost": draw(st.floats(0.5, 1.3)),
        "per_region": draw(st.integers(0, 3)),
        "project_appetite": draw(unit),
        "project_capacity": draw(st.integers(0, 5)),
        "join_rate": draw(unit),
        "member_cost": draw(st.floats(0.001, 1.0)),
        "build_cost": draw(st.lists(st.floats(0.0, 5.0), min_size=3, max_size=3)),
        "licence_cost": draw(st.floats(0.0, 5.0)),
        "end_year": 2016 + 3,
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(params=small_scenarios(), seed=st.integers(0, 2**31 - 1))
def test_invariants_hold_every_step_of_random_small_models(params, seed):
    model = TownModel(rng=seed, **params)
    run_checked(model, steps=min(model.settings.steps, 6))


@pytest.mark.parametrize("schedule", ["vectorized", "agents"])
def test_invariants_hold_over_two_years_of_the_default_rules(schedule):
    model = TownModel(
        rng=11, towns=3, firms_per_town=20, schedule=schedule, end_year=2018
    )
    run_checked(model, steps=model.settings.steps)
    assert not model.running


def test_invariants_with_generous_policy_and_fragile_firms():
    """Much money, cheap platforms and many exits and entries at once."""
    model = TownModel(
        rng=5,
        towns=4,
        firms_per_town=15,
        end_year=2019,
        budget_share=0.2,
        province_budget=50.0,
        build_cost=[0.5, 1.0, 1.0],
        initial_funds=0.02,
        unit_cost=1.1,
        entry_rate=1.0,
        base_exit=0.3,
        cross_border_level=2,
    )
    run_checked(model, steps=model.settings.steps)
    frame = model.model_frame()
    assert frame["exits"].sum() > 0 and frame["entries"].sum() > 0


def test_recorder_sees_flows_booked_before_a_year_end_reset():
    """The money check itself: a year-end step still balances (and has flows)."""
    model = TownModel(rng=2, towns=2, firms_per_town=10, steps_per_year=1)
    rec = StepRecorder(model)
    rec.step()
    assert rec.carried, "the ledger was not reset at the year end"
    assert rec.flow("profits").sum() != 0.0
    np.testing.assert_allclose(model.ledger.flows["profits"], 0.0)
    check_step(rec)


def test_a_province_without_universities_runs():
    model = TownModel(rng=1, towns=2, firms_per_town=6, per_region=0)
    assert model.universities.region.size == 0
    run_checked(model, steps=2)


def test_start_year_record_reports_the_legal_ip_protection():
    model = TownModel(rng=1, towns=2, firms_per_town=6, legal_protection=0.3)
    first = model.town_frame()
    assert np.all(first["ip_protection"] >= 0.3 - 1e-12)


# --- the checks themselves can fail ---------------------------------------------


@pytest.fixture
def stepped() -> StepRecorder:
    model = TownModel(rng=3, towns=3, firms_per_town=20, end_year=2018)
    rec = StepRecorder(model)
    rec.step()
    check_all(model)
    check_step(rec)
    return rec


def _a_tie(model: TownModel) -> tuple[int, int, int]:
    owner, col = np.nonzero(model.firms.partners >= 0)
    assert owner.size, "the fixture model has no ties"
    return int(owner[0]), int(col[0]), int(model.firms.partners[owner[0], col[0]])


def test_check_catches_a_one_sided_tie(stepped):
    f = stepped.model.firms
    i, _, j = _a_tie(stepped.model)
    f.partners[j][f.partners[j] == i] = -1
    with pytest.raises(AssertionError, match="one-sided"):
        check_ties(stepped.model)


def test_check_catches_a_tie_to_a_dead_firm(stepped):
    f = stepped.model.firms
    i, col, _ = _a_tie(stepped.model)
    f.partners[i, col] = np.flatnonzero(~f.alive)[0]
    with pytest.raises(AssertionError, match="dead"):
        check_ties(stepped.model)


def test_check_catches_a_self_tie(stepped):
    f = stepped.model.firms
    i, col, _ = _a_tie(stepped.model)
    f.partners[i, col] = i
    with pytest.raises(AssertionError, match="own partner"):
        check_ties(stepped.model)


def test_check_catches_a_stale_tie_kind_and_a_wrong_tie_count(stepped):
    f = stepped.model.firms
    i, col, _ = _a_tie(stepped.model)
    f.tie_kind[i, col] = (f.tie_kind[i, col] + 1) % 4
    with pytest.raises(AssertionError, match="stale tie kind"):
        check_ties(stepped.model)
    f.tie_kind[i, col] = (f.tie_kind[i, col] + 3) % 4
    check_ties(stepped.model)
    f.ties[i] += 1
    with pytest.raises(AssertionError, match="tie count"):
        check_ties(stepped.model)


def test_check_catches_unbooked_money(stepped):
    f = stepped.model.firms
    f.funds[np.flatnonzero(f.alive)[0]] += 0.01
    with pytest.raises(AssertionError, match="funds changed"):
        check_step(stepped)


def test_check_catches_a_level_jump(stepped):
    f = stepped.model.firms
    assert stepped.model.blocks.slots == stepped.alive.size  # no slot moved
    slot = next(
        s
        for s in np.flatnonzero(f.alive)
        if f.id[s] == stepped.firm_ids[s] and stepped.level[s] <= 2
    )
    f.level[slot] = stepped.level[slot] + 2
    with pytest.raises(AssertionError, match="level jumps"):
        check_step(stepped)


def test_check_catches_a_firm_whose_agent_changed(stepped):
    model = stepped.model
    slot = int(np.flatnonzero(model.firms.alive)[0])
    model.enterprises[slot].remove()
    model.enterprises._made[slot] = Enterprise(model, slot)  # a new agent
    with pytest.raises(AssertionError, match="agent"):
        check_step(stepped)


def test_check_catches_ids_of_another_town_or_given_twice(stepped):
    f = stepped.model.firms
    first, second = np.flatnonzero(f.alive)[[0, -1]]
    assert f.town[first] != f.town[second]
    saved = f.id[first]
    f.id[first] = f.id[second]
    with pytest.raises(AssertionError, match="another town"):
        check_firms(stepped.model)
    f.id[first] = saved
    f.id[second - 1], f.id[second] = f.id[second], f.id[second - 1]
    check_firms(stepped.model)  # swapped within a town: still fine
    f.id[second] = f.id[second - 1]
    with pytest.raises(AssertionError, match="share an id"):
        check_firms(stepped.model)


def test_check_catches_overspending(stepped):
    ledger = stepped.model.ledger
    ledger.add("spent_talent", np.array([0]), 1e6)
    with pytest.raises(AssertionError, match="talent"):
        check_step(stepped)


def test_check_catches_nan_and_out_of_range(stepped):
    f = stepped.model.firms
    slot = np.flatnonzero(f.alive)[0]
    f.knowledge[slot] = np.nan
    with pytest.raises(AssertionError, match="knowledge"):
        check_firms(stepped.model)
    f.knowledge[slot] = 1.5
    with pytest.raises(AssertionError, match="knowledge"):
        check_firms(stepped.model)


@pytest.mark.parametrize("schedule", ["vectorized", "agents"])
def test_reports_agree_with_the_state(schedule):
    """model_frame: a row per step; town_frame: a row per town and year-end."""
    model = TownModel(
        rng=4, towns=3, firms_per_town=12, end_year=2019, schedule=schedule
    ).run()
    years = model.settings.run.end_year - model.settings.run.start_year
    mf, tf = model.model_frame(), model.town_frame()
    assert len(mf) == model.settings.steps + 1
    assert len(tf) == model.n_towns * (years + 1)
    levels = [f"firms_level_{k}" for k in (1, 2, 3, 4)]
    np.testing.assert_array_equal(mf[levels].sum(axis=1), mf["firms"])
    np.testing.assert_array_equal(tf[levels].sum(axis=1), tf["firms"])
    last = tf[tf["year"] == model.settings.run.end_year]
    assert last["firms"].sum() == mf["firms"].iloc[-1] == model.firms.alive.sum()
    np.testing.assert_array_equal(last["dimension"], model.towns.dimension)
    assert len(model.firm_frame()) == model.firms.alive.sum()
    for name in ("coordination", "shared", "leaked", "ip_protection", "member_share"):
        assert np.all(np.isfinite(tf[name])), name
    in_unit(tf["coordination"], "town_frame.coordination")
    in_unit(tf["member_share"], "town_frame.member_share")
    assert np.all(tf[["shared", "leaked"]] >= 0)
