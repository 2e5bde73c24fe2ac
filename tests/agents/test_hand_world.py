"""The hand-built world of the behaviour tests is a `World` and is coherent."""

from __future__ import annotations

import typing

import numpy as np
import pytest
from worlds import TOWN_STATE, Draws, HandWorld

from agents.world import World
from model.indices import observe


def test_the_hand_world_has_everything_the_world_protocol_lists():
    w = HandWorld()
    for name, kind in typing.get_type_hints(World).items():
        assert hasattr(w, name), f"HandWorld lacks World.{name}"
        value = getattr(w, name)
        if getattr(kind, "_is_protocol", False):  # the firms' registry
            methods = [m for m in vars(kind) if not m.startswith("_")]
            assert methods and all(callable(getattr(value, m)) for m in methods)
        elif isinstance(kind, type) and kind is not np.random.Generator:
            assert isinstance(value, kind), name


def test_the_hand_worlds_town_aggregates_are_those_of_its_firms():
    w = HandWorld()
    observe(w)
    for name in ("firms", "share_at_least", "mean_knowledge"):
        np.testing.assert_allclose(getattr(w.towns, name), TOWN_STATE[name])
    assert w.directory.live_slots.tolist() == [0, 1, 2, 4, 5]


def test_draws_follow_u_and_z_and_check_the_queued_sizes():
    draws = Draws(u=0.25, z=-1.0, random=[[0.1, 0.9]])
    assert draws.random(2).tolist() == [0.1, 0.9]
    assert draws.random(3).tolist() == [0.25] * 3
    assert draws.integers(0, 4, 2).tolist() == [1, 1]
    assert draws.normal(1.0, 0.5, 1).tolist() == [0.5]
    assert draws.geometric(0.5, 2).tolist() == [1, 1]
    assert draws.sizes("random") == [2, 3]
    with pytest.raises(AssertionError, match="queued"):
        Draws(random=[[0.5]]).random(2)
