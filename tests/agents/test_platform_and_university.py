"""Platform membership (agents/platform.py) and universities (agents/university.py).

On the hand-built world, with the random order of admissions fixed by queued
draws (`worlds.Draws`): `first_per_group` takes the members of a group in the
order of their draws, lowest first. Results are worked out by hand from ODD 7.3
and 7.4.
"""

from __future__ import annotations

import numpy as np
import pytest
from worlds import Draws, HandWorld

from agents.platform import admit_members
from agents.university import serve_region


def test_firms_join_where_there_is_room_and_random_members_leave_where_not():
    w = HandWorld(rng=Draws(u=0.5, random=[[0.7, 0.2]]))
    w.set_rates(join=1.0, member_cost=0.1)
    towns, f = w.towns, w.firms
    towns.platform_built[:, 0] = True
    towns.platform_capital[:, 0] = [0.35, 0.15]  # 3 places and 1 place
    f.member[[1, 4, 5]] = 1
    admit_members(w, np.flatnonzero(w.platforms.built))
    # town 1 has two members for one place: the first in the (queued) random
    # order stays, firm 5 (draw 0.2); town 0 has two free places for firms 0
    # and 2, who both apply (join rate 1)
    assert f.member.tolist() == [1, 1, 1, 0, 0, 1, 0, 0]


def test_applicants_beyond_the_places_wait_and_each_kind_has_its_own_bit():
    w = HandWorld(
        rng=Draws(u=0.5, random=[[0.5, 0.5], [0.9, 0.1], [0.5] * 3, [0.3, 0.2, 0.9]])
    )
    w.set_rates(join=1.0, member_cost=0.1)
    towns, f = w.towns, w.firms
    towns.platform_built[0, :2] = True
    towns.platform_capital[0, :2] = [0.25, 0.1]  # 2 places, 1 place
    f.member[1] = 1
    admit_members(w, np.flatnonzero(w.platforms.built))
    # public service platform: one free place, firm 2 (draw 0.1) before firm 0;
    # innovation centre (bit 2): one place, firm 1 (draw 0.2) first
    assert f.member.tolist() == [0, 1 | 2, 1, 0, 0, 0, 0, 0]


def test_nobody_joins_a_full_platform_or_without_applying():
    w = HandWorld(rng=Draws(u=0.5))
    w.set_rates(join=0.3, member_cost=0.1)  # u = 0.5: nobody applies
    w.towns.platform_built[:, 0] = True
    w.towns.platform_capital[:, 0] = [1.0, 0.1]
    w.firms.member[4] = 1  # town 1's one place is taken
    admit_members(w, np.flatnonzero(w.platforms.built))
    assert w.firms.member.tolist() == [0, 0, 0, 0, 1, 0, 0, 0]


# --- universities (ODD 7.3) -------------------------------------------------------


def university_world(*queued: list[float]) -> HandWorld:
    """Both towns in the Pearl River Delta, with two universities; one in the east."""
    w = HandWorld(steps_per_year=4, rng=Draws(u=0.5, random=list(queued)))
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
    w = university_world(np.zeros(8), [0.2, 0.7, 0.2], [0.5, 0.5, 0.1])
    serve_region(w, np.arange(3))
    unis, f = w.universities, w.firms
    assert unis.knowledge.tolist() == pytest.approx([0.73, 0.55, 0.64], rel=1e-12)
    # the region's two universities send 2 * 5 graduates, split by firms 3 : 2
    assert w.towns.talent_pool.tolist() == [6.0, 4.0]
    # firm 1's project ends this quarter; firm 2's has 0.75 years left. The
    # applicants, firms 0, 1 and 4 (firm 5 cannot pay), choose universities
    # 0, 1 and 0 (draws 0.2, 0.7, 0.2 of two); university 0 has one place,
    # which firm 4 (draw 0.1) takes before firm 0 (0.5)
    assert f.university.tolist() == [-1, 1, 1, -1, 0, -1, -1, -1]
    assert f.project_left[[1, 2, 4]].tolist() == [2.0, 0.75, 2.0]


def test_a_university_acting_alone_serves_only_its_own_applicants():
    w = university_world(np.zeros(8), [0.2, 0.7], [0.5])
    serve_region(w, np.array([1]))
    unis, f = w.universities, w.firms
    assert unis.knowledge.tolist() == pytest.approx([0.7, 0.55, 0.6], rel=1e-12)
    assert w.towns.talent_pool.tolist() == [3.0, 2.0]
    # firm 1's project with university 0 runs on; of the applicants 0 and 4,
    # only firm 4 chose university 1
    assert f.project_left[[1, 2]].tolist() == [0.25, 0.75]
    assert f.university.tolist() == [-1, 0, 1, -1, 1, -1, -1, -1]
