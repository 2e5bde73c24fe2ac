"""Platform membership (agents/platform.py) and universities (agents/university.py).

On the hand-built world, with the random numbers fixed (`worlds.Draws`): a
firm applies when its place (town 0's slots at places 0-3, town 1's at 8-11)
is chosen, and `first_per_group` takes the applicants of a group in the order
of their numbers, lowest first. Results are worked out by hand from ODD 7.3
and 7.4.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import Draws, HandWorld

from agents.platform import admit_members
from agents.streams import Purpose
from agents.university import serve_region

TOWN_1 = 1 << 32
"""The id of town 1's first firm (slot 4); slot 5's is one more."""


def test_firms_join_where_there_is_room_and_random_members_leave_where_not():
    leave = {TOWN_1: 0.7, TOWN_1 + 1: 0.2}  # the order in which members stay
    w = HandWorld(streams=Draws(u=0.5, by={Purpose.LEAVE_ORDER: leave}))
    w.set_rates(join=1.0, member_cost=0.1)
    towns, f = w.towns, w.firms
    towns.platform_built[:, 0] = True
    towns.platform_capital[:, 0] = [0.35, 0.15]  # 3 places and 1 place
    f.member[[1, 4, 5]] = 1
    admit_members(w, np.flatnonzero(w.platforms.built))
    # town 1 has two members for one place: the first in the random order
    # stays, firm 5 (0.2); town 0 has two free places for firms 0 and 2, who
    # both apply (join rate 1)
    assert f.member.tolist() == [1, 1, 1, 0, 0, 1, 0, 0]
    assert w.streams.asked("chosen", Purpose.JOIN) == [(1.0, 16, 0)]


def test_applicants_beyond_the_places_wait_and_each_kind_has_its_own_bit():
    order = {(0, 0): 0.9, (2, 0): 0.1, (0, 1): 0.3, (1, 1): 0.2, (2, 1): 0.9}
    draws = Draws(
        u=0.1,  # every place is chosen at the join rate 0.5 ...
        by={Purpose.JOIN_ORDER: order},  # (id, kind): the order of admission
        places={Purpose.JOIN: {(1, 1): 0.9}},  # ... but firm 1's for kind 1
    )
    w = HandWorld(streams=draws)
    w.set_rates(join=0.5, member_cost=0.1)
    towns, f = w.towns, w.firms
    towns.platform_built[0, :2] = True
    towns.platform_capital[0, :2] = [0.25, 0.1]  # 2 places, 1 place
    f.member[1] = 1
    admit_members(w, np.flatnonzero(w.platforms.built))
    # public service platform (bit 1): one free place, firm 2 (0.1) before
    # firm 0 (0.9); innovation centre (bit 2): one place, which firm 1 (0.2)
    # would take first, but it did not apply: firm 0 (0.3) before firm 2
    assert f.member.tolist() == [2, 1, 1, 0, 0, 0, 0, 0]
    assert draws.asked("chosen", Purpose.JOIN) == [(0.5, 16, 0), (0.5, 16, 1)]


def test_nobody_joins_a_full_platform_or_without_applying():
    w = HandWorld(streams=Draws(u=0.5))
    w.set_rates(join=0.3, member_cost=0.1)  # u = 0.5: no place is chosen
    w.towns.platform_built[:, 0] = True
    w.towns.platform_capital[:, 0] = [1.0, 0.1]
    w.firms.member[4] = 1  # town 1's one place is taken
    admit_members(w, np.flatnonzero(w.platforms.built))
    assert w.firms.member.tolist() == [0, 0, 0, 0, 1, 0, 0, 0]


# --- universities (ODD 7.3) -------------------------------------------------------


def university_world(**by: dict) -> HandWorld:
    """Both towns in the Pearl River Delta, with two universities; one in the east.

    `by` gives, per purpose name, the firms' numbers by id.
    """
    draws = Draws(u=0.5, by={Purpose[name]: numbers for name, numbers in by.items()})
    w = HandWorld(steps_per_year=4, streams=draws)
    w.towns.region[:] = [0, 0]
    w.set_universities(region=[0, 0, 1], knowledge=[0.7, 0.5, 0.6], capacity=[1, 3, 1])
    w.set_rates(
        university_growth=0.1,
        graduates=5.0,
        project_years=2.0,
        project_cost=0.2,
        project_appetite=1.0,
    )
    f = w.firms
    f.university[[1, 2]] = [0, 1]
    f.project_left[[1, 2]] = [0.25, 1.0]
    f.funds[5] = 0.1  # cannot afford a project
    return w


def test_universities_send_graduates_close_projects_and_take_applicants():
    w = university_world(
        UNIVERSITY={0: 0.2, 1: 0.7, TOWN_1: 0.2},  # which of the region's two
        PROJECT_ORDER={0: 0.5, 1: 0.5, TOWN_1: 0.1},
    )
    serve_region(w, np.arange(3))
    unis, f = w.universities, w.firms
    assert unis.knowledge.tolist() == pytest.approx([0.73, 0.55, 0.64], rel=1e-12)
    # the region's two universities send 2 * 5 graduates, split by firms 3 : 2
    assert w.towns.talent_pool.tolist() == [6.0, 4.0]
    # firm 1's project ends this quarter; firm 2's has 0.75 years left. The
    # applicants, firms 0, 1 and 4 (firm 5 cannot pay), choose universities
    # 0, 1 and 0 (numbers 0.2, 0.7, 0.2 of two); university 0 has one place,
    # which firm 4 (0.1) takes before firm 0 (0.5)
    assert f.university.tolist() == [-1, 1, 1, -1, 0, -1, -1, -1]
    assert f.project_left[[1, 2, 4]].tolist() == [2.0, 0.75, 2.0]
    assert w.streams.asked("uniform", Purpose.UNIVERSITY) == [[0, 1, TOWN_1]]


def test_only_firms_whose_places_are_chosen_apply():
    w = university_world()
    w.set_rates(project_appetite=0.3)  # u = 0.5: no place is chosen but ...
    w.streams.places[Purpose.PROJECT] = {8: 0.1, 9: 0.1}  # ... firms 4 and 5's
    serve_region(w, np.arange(3))
    # firm 5 cannot pay; firm 4 goes to university floor(0.5 * 2) = 1
    assert w.streams.asked("chosen", Purpose.PROJECT) == [(0.3, 16, 0)]
    assert w.firms.university.tolist() == [-1, -1, 1, -1, 1, -1, -1, -1]


def test_a_university_acting_alone_serves_only_its_own_applicants():
    w = university_world(UNIVERSITY={0: 0.2, TOWN_1: 0.7})
    serve_region(w, np.array([1]))
    unis, f = w.universities, w.firms
    assert unis.knowledge.tolist() == pytest.approx([0.7, 0.55, 0.6], rel=1e-12)
    assert w.towns.talent_pool.tolist() == [3.0, 2.0]
    # firm 1's project with university 0 runs on; of the applicants 0 and 4,
    # only firm 4 chose university 1
    assert f.project_left[[1, 2]].tolist() == [0.25, 0.75]
    assert f.university.tolist() == [-1, 0, 1, -1, 1, -1, -1, -1]
