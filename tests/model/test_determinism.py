"""One seed fixes a whole run; another seed gives another run (both schedules)."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

import agents.base
from model import TownModel
from scenarios import load_scenario

SCHEDULES = ["vectorized", "agents"]
PARAMS = {"towns": 3, "firms_per_town": 15, "end_year": 2018}


def frames(model: TownModel) -> dict[str, pd.DataFrame]:
    return {
        "model_frame": model.model_frame(),
        "town_frame": model.town_frame(),
        "firm_frame": model.firm_frame(),
    }


def assert_same_run(a: TownModel, b: TownModel) -> None:
    for (name, x), y in zip(frames(a).items(), frames(b).values(), strict=True):
        pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
    np.testing.assert_array_equal(a.firms.partners, b.firms.partners)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_same_seed_same_run(schedule):
    a = TownModel(rng=42, schedule=schedule, **PARAMS).run()
    b = TownModel(rng=42, schedule=schedule, **PARAMS).run()
    assert len(a.model_frame()) == a.settings.steps + 1
    assert_same_run(a, b)


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_different_seed_different_run(schedule):
    a = TownModel(rng=1, schedule=schedule, **PARAMS).run()
    b = TownModel(rng=2, schedule=schedule, **PARAMS).run()
    differs = [
        name
        for (name, x), y in zip(frames(a).items(), frames(b).values(), strict=True)
        if x.shape != y.shape or not x.equals(y)
    ]
    assert set(differs) == {"model_frame", "town_frame", "firm_frame"}


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_global_random_state_does_not_leak_in(schedule):
    """Every draw comes from the model's generators, never from the global ones."""
    random.seed(1)
    np.random.seed(1)  # noqa: NPY002 - the legacy global state on purpose
    a = TownModel(rng=7, schedule=schedule, **PARAMS).run()
    random.seed(2)
    np.random.seed(2)  # noqa: NPY002
    b = TownModel(rng=7, schedule=schedule, **PARAMS).run()
    assert_same_run(a, b)


def test_interleaved_runs_do_not_interfere():
    """Two models stepped alternately give the same runs as one after the other."""
    alone = TownModel(rng=3, **PARAMS).run()
    a = TownModel(rng=3, **PARAMS)
    b = TownModel(rng=4, **PARAMS)
    while a.running:
        a.step()
        b.step()
    assert_same_run(a, alone)


def test_overrides_and_a_built_scenario_give_the_same_run():
    scenario = load_scenario(None, PARAMS)
    a = TownModel(scenario, rng=9).run()
    b = TownModel(rng=9, **PARAMS).run()
    assert_same_run(a, b)


def test_stepping_and_running_agree():
    a = TownModel(rng=5, **PARAMS)
    for _ in range(a.settings.steps):
        a.step()
    assert not a.running
    b = TownModel(rng=5, **PARAMS).run()
    assert_same_run(a, b)


def test_a_generator_seeds_the_run_too():
    a = TownModel(rng=np.random.default_rng(12), **PARAMS).run()
    b = TownModel(rng=np.random.default_rng(12), **PARAMS).run()
    assert_same_run(a, b)


def test_cutting_the_firm_table_into_cache_sized_blocks_changes_nothing(monkeypatch):
    """Per-firm work runs on pieces of whole town blocks: same numbers, any size.

    A data start gives towns of different sizes, so the pieces are ragged.
    """
    params = {
        "towns": 7,
        "firms_per_town": 40,
        "end_year": 2024,
        "start_output": 20_000.0,
        "town_size_spread": 1.0,
        "min_firms_per_town": 10,
    }
    whole = TownModel(rng=11, **params).run()
    width = whole.blocks.width
    assert width.min() < width.max() / 2, "the blocks are not ragged"
    assert whole.blocks.slots <= agents.base.BLOCK_SLOTS  # one piece
    piece = 2 * int(np.median(width))
    monkeypatch.setattr(agents.base, "BLOCK_SLOTS", piece)
    cut = TownModel(rng=11, **params).run()
    towns = [t.stop - t.start for _, t in cut.blocks.pieces(piece)]
    assert len(towns) > 3 and max(towns) > 1  # pieces of one and of more towns
    assert_same_run(whole, cut)
