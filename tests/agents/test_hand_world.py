"""The hand-built world of the behaviour tests is a `World` and is coherent."""

from __future__ import annotations

import inspect
import typing

import numpy as np
from worlds import TOWN_STATE, Draws, HandWorld

from agents.base import place_count, slots_of_places
from agents.streams import Purpose, Streams
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
        elif kind is Streams:  # stood in for by `Draws`
            assert isinstance(value, Draws), name
        elif isinstance(kind, type):
            assert isinstance(value, kind), name


def test_draws_offer_every_method_of_the_streams_with_the_same_parameters():
    """A behaviour that runs on `Draws` calls the streams the same way."""
    for name in ("uniform", "normal", "pair_uniform", "chosen"):
        ours = inspect.signature(getattr(Draws, name)).parameters
        theirs = inspect.signature(getattr(Streams, name)).parameters
        assert list(ours) == list(theirs), name
        assert [p.default for p in ours.values()] == [
            p.default for p in theirs.values()
        ], name
    assert Draws().time == Streams(seed=1).time == 0


def test_the_hand_worlds_town_aggregates_are_those_of_its_firms():
    w = HandWorld()
    observe(w)
    for name in ("firms", "share_at_least", "mean_knowledge"):
        np.testing.assert_allclose(getattr(w.towns, name), TOWN_STATE[name])
    np.testing.assert_allclose(w.towns.mean_size, [170 / 3, 60.0])
    np.testing.assert_allclose(w.towns.gdp, 0.0)  # no output written yet


def test_the_hand_worlds_blocks_ids_and_places():
    w = HandWorld()
    b, f = w.blocks, w.firms
    assert b.start.tolist() == [0, 4, 8] and b.place_start.tolist() == [0, 8, 16]
    assert b.town_of_slots.tolist() == f.town.tolist() == [0] * 4 + [1] * 4
    # ids: town << 32 | serial, serials 0, 1, 2 in town 0 and 0, 1 in town 1
    assert f.id.tolist() == [0, 1, 2, -1, 1 << 32, (1 << 32) + 1, -1, -1]
    assert w.towns.founded.tolist() == [3, 2]
    # a slot's place: its town's first place at full width plus its rank
    assert place_count(w) == 16
    slots, _ = slots_of_places(w, np.arange(16))
    assert slots.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]  # places 4-7, 12-15 unused


def test_draws_give_u_and_z_unless_a_purpose_names_the_entity_or_the_draw():
    draws = Draws(
        u=0.25,
        z=-1.0,
        by={
            Purpose.EXIT: {7: 0.1, (7, 1): 0.9},
            Purpose.TIE_END: {(2, 5): 0.3, (2, 5, 1): 0.6},
        },
        places={Purpose.JOIN: {1: 0.0, (2, 1): 0.0}},
    )
    assert draws.uniform(Purpose.EXIT, [7, 8]).tolist() == [0.1, 0.25]
    assert draws.uniform(Purpose.EXIT, [7, 8], draw=1).tolist() == [0.9, 0.25]
    assert draws.uniform(Purpose.SEARCH, [7]).tolist() == [0.25]
    assert draws.normal(Purpose.SIZE, [1, 2]).tolist() == [-1.0, -1.0]
    # a pair is the same whichever firm comes first
    assert draws.pair_uniform(Purpose.TIE_END, [5, 2], [2, 6]).tolist() == [0.3, 0.25]
    assert draws.pair_uniform(Purpose.TIE_END, [2], [5], draw=1).tolist() == [0.6]
    # places below the chance: u = 0.25 for those not named
    assert draws.chosen(Purpose.JOIN, 0.2, 4).tolist() == [1]
    assert draws.chosen(Purpose.JOIN, 0.2, 4, draw=1).tolist() == [1, 2]
    assert draws.chosen(Purpose.JOIN, 0.3, 3).tolist() == [0, 1, 2]
    assert draws.asked("chosen", Purpose.JOIN) == [
        (0.2, 4, 0),
        (0.2, 4, 1),
        (0.3, 3, 0),
    ]
    assert draws.asked("uniform", Purpose.EXIT) == [[7, 8], [7, 8]]
