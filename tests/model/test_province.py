"""The data start (model/province.py, ODD 5.4-5.5): town outputs, agents, blocks.

With `province.start_output` set, the towns' outputs are the (k + 1/2)/n
quantiles of a lognormal, scaled to the province's output and dealt in random
order; each town gets agents in proportion, at least the minimum; no firm
starts with more than `economy.agent_share_max` of its town's output.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from agents.demography import open_accounts
from agents.tables import Firms, Towns
from model import TownModel
from model.province import agents_per_town, fit_towns, town_blocks, town_targets
from scenarios import load_scenario


def test_town_outputs_are_lognormal_quantiles_summing_to_the_start_output():
    s = load_scenario(
        None, {"towns": 9, "start_output": 900.0, "town_size_spread": 0.8}
    )
    targets, certified = town_targets(s, np.random.default_rng(1))
    assert certified.all()
    assert targets.sum() == pytest.approx(900.0, rel=1e-12)
    # town k of 9 at the (k + 1/2)/9 quantile: the middle one at the median,
    # the others in pairs whose product is the median's square
    quantiles = np.exp(0.8 * ndtri((np.arange(9) + 0.5) / 9))
    expected = 900.0 * quantiles / quantiles.sum()
    np.testing.assert_allclose(np.sort(targets), expected, rtol=1e-12)
    ordered = np.sort(targets)
    np.testing.assert_allclose(ordered * ordered[::-1], ordered[4] ** 2, rtol=1e-12)
    # another seed deals the same outputs to other towns
    other, _ = town_targets(s, np.random.default_rng(2))
    np.testing.assert_allclose(np.sort(other), expected, rtol=1e-12)
    assert not np.allclose(other, targets)


def test_without_spread_towns_are_equal_and_without_data_there_are_no_targets():
    s = load_scenario(None, {"towns": 4, "start_output": 100.0})
    targets, _ = town_targets(s, np.random.default_rng(0))
    assert targets.tolist() == pytest.approx([25.0] * 4, rel=1e-12)
    targets, certified = town_targets(load_scenario(None, {}), np.random.default_rng(0))
    assert targets is None and certified.all()


def test_guangdong_starts_on_its_figures_whatever_the_seed():
    """2.77 trillion yuan; 9 towns above 100 bn and 141 above 10 bn of output value."""
    s = load_scenario("guangdong")
    ratio = s.scale.gross_output_ratio
    for seed in (1, 2, 3):
        targets, certified = town_targets(s, np.random.default_rng(seed))
        value = ratio * targets[certified]
        assert value.sum() / ratio == pytest.approx(2.77e6, rel=1e-12)
        assert (value >= 1e5).sum() == 9
        assert (value >= 1e4).sum() == 141


def test_agents_follow_the_towns_outputs_with_a_floor():
    s = load_scenario(None, {"towns": 3, "firms_per_town": 10, "min_firms_per_town": 4})
    # shares 0.1, 0.3, 0.6 of 30 agents: 3 (raised to 4), 9 and 18
    every = np.ones(3, dtype=bool)
    agents = agents_per_town(s, np.array([10.0, 30.0, 60.0]), every)
    assert agents.tolist() == [4, 9, 18]
    assert agents_per_town(s, None, every).tolist() == [10, 10, 10]


@pytest.mark.parametrize(
    ("headroom", "width", "most"), [(0.5, [5, 10, 19], [6, 14, 27]), (0.0, None, None)]
)
def test_blocks_start_with_a_twentieth_of_room_and_widen_to_the_headroom(
    headroom, width, most
):
    s = load_scenario(None, {"headroom": headroom})
    agents = np.array([4, 9, 18])
    blocks = town_blocks(s, agents)
    # ceil(1.05 x agents) and ceil((1 + headroom) x agents); no headroom, no room
    assert blocks.width.tolist() == (width or agents.tolist())
    assert blocks.most.tolist() == (most or agents.tolist())


DATA_START = {
    "towns": 6,
    "firms_per_town": 30,
    "min_firms_per_town": 12,
    "start_output": 6000.0,
    "town_size_spread": 1.0,
}


def test_every_seed_starts_on_the_same_town_outputs_with_its_own_firms():
    models = [TownModel(rng=seed, views="lazy", **DATA_START) for seed in (1, 2)]
    outputs = [np.sort(m.towns.gdp) for m in models]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-9)
    assert outputs[0].sum() == pytest.approx(6000.0, rel=1e-9)
    assert not np.allclose(models[0].towns.gdp, models[1].towns.gdp)  # dealt anew
    for m in models:
        f, towns = m.firms, m.towns
        counts = np.bincount(f.town[f.alive], minlength=towns.n)
        expected = agents_per_town(m.settings, towns.gdp, towns.certified)
        assert counts.tolist() == expected.tolist()
        assert counts.min() >= 12
        # no firm above a tenth of its town's output; the largest at it
        share = f.output[f.alive] / towns.gdp[f.town[f.alive]]
        assert share.max() <= 0.1 * (1 + 1e-9)
        assert share.max() == pytest.approx(0.1, rel=1e-9)
        # the towns were scaled by the factor kept for their start-ups
        assert np.all(towns.size_scale > 0) and np.ptp(towns.size_scale) > 0
    sizes = [np.sort(m.firms.size[m.firms.alive]) for m in models]
    assert sizes[0].size != sizes[1].size or not np.allclose(sizes[0], sizes[1])


def town_of_three(sizes: list[float]) -> tuple[Towns, Firms]:
    """One town of three level-1 firms of these sizes, their accounts open."""
    towns = Towns(
        n=1,
        **{k: np.zeros(1) for k in ("x", "y", "infrastructure")},
        **{k: np.zeros(1, dtype=np.int64) for k in ("industry", "region", "city")},
    )
    firms = Firms.empty(3, 2)
    firms.alive[:], firms.level[:], firms.efficiency[:] = True, 1, 1.0
    firms.size[:] = sizes
    open_accounts(load_scenario(None, {}), firms, np.arange(3), 0.2, 0.3)
    return towns, firms


def test_fit_towns_cut_the_largest_firm_and_scale_the_town_to_its_target():
    s = load_scenario(None, {"agent_share_max": 0.4})
    towns, firms = town_of_three([10.0, 3.0, 1.0])
    fit_towns(s, towns, firms, np.arange(3), np.array([50.0]), 0.2)
    # output is 0.4 * 0.86 = 0.344 a worker. Cutting the largest alone gives
    # T = 4 / 0.6 (in sizes), whose 0.4 share (2.67) is below the next firm's
    # 3; cutting both gives T = 1 / (1 - 0.8) = 5, each at 2: sizes 2, 2, 1
    # of output 5 * 0.344, then scaled to 50
    assert firms.output.sum() == pytest.approx(50.0, rel=1e-12)
    assert firms.output.tolist() == pytest.approx([20.0, 20.0, 10.0], rel=1e-12)
    assert towns.size_scale.tolist() == pytest.approx([50.0 / 1.72], rel=1e-12)
    assert firms.size.tolist() == pytest.approx(
        [2 * 50 / 1.72, 2 * 50 / 1.72, 50 / 1.72], rel=1e-12
    )
    assert firms.funds.tolist() == pytest.approx([6.0, 6.0, 3.0], rel=1e-12)


def test_a_town_of_few_unequal_agents_is_fitted_to_its_target():
    """A giant firm once turned its small town's capped total to 0, sizes to NaN."""
    s = load_scenario(None, {})  # cap max(0.1, 1 / 3): equal shares
    towns, firms = town_of_three([1.0, 8192.0, 0.05])
    fit_towns(s, towns, firms, np.arange(3), np.array([30.0]), 0.2)
    assert np.all(np.isfinite(firms.size)) and np.all(firms.size > 0)
    assert firms.output.tolist() == pytest.approx([10.0] * 3, rel=1e-9)


def test_candidate_towns_are_smaller_and_leave_the_certified_start_as_it_was():
    """Candidates add towns below the certified ones; the certified towns keep
    their outputs and their agents per unit of output."""
    base = load_scenario(None, {"towns": 9, "start_output": 900.0, **SPREAD})
    more = load_scenario(
        None,
        {
            "towns": 9,
            "start_output": 900.0,
            **SPREAD,
            "certification.candidate_share": 0.5,
            "certification.entrant_size": 0.25,
        },
    )
    assert more.candidate_towns == 4 and more.all_towns == 13
    alone, every = town_targets(base, np.random.default_rng(3))
    targets, certified = town_targets(more, np.random.default_rng(3))
    assert certified.sum() == 9 and targets.size == 13
    np.testing.assert_allclose(np.sort(targets[certified]), np.sort(alone), rtol=1e-12)
    # the candidates: the same lognormal's quantiles, its median a quarter of
    # the certified towns' median (the middle one of 9)
    z = ndtri((np.arange(4) + 0.5) / 4)
    np.testing.assert_allclose(
        np.sort(targets[~certified]),
        0.25 * np.median(alone) * np.exp(0.8 * z),
        rtol=1e-12,
    )
    agents = agents_per_town(more, targets, certified)
    np.testing.assert_array_equal(
        np.sort(agents[certified]), np.sort(agents_per_town(base, alone, every))
    )


SPREAD = {"town_size_spread": 0.8, "firms_per_town": 40, "min_firms_per_town": 2}


def test_the_largest_towns_start_with_their_public_service_platform():
    start = {**DATA_START, "platform.start_coverage": 0.5}
    model = TownModel(rng=3, views="lazy", **start)
    built = model.towns.platform_built
    assert built[:, 0].sum() == 3 and not built[:, 1:].any()
    largest = np.argsort(-model.towns.gdp)[:3]
    assert set(np.flatnonzero(built[:, 0])) == set(largest)
    assert (model.towns.coordination[built[:, 0]] > 0).all()
    assert (model.towns.coordination[~built[:, 0]] == 0).all()
    none = TownModel(rng=3, views="lazy", **DATA_START)
    assert not none.towns.platform_built.any()
