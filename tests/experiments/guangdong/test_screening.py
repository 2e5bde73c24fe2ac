"""The screening run (experiments/guangdong/screening.py): factors become valid
scenario overrides, and the experiment file screens every assumed key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from experiments.guangdong import screening
from scenarios import build_scenario

ROOT = Path(__file__).resolve().parents[3]


def test_factors_scale_lists_set_first_shares_and_round_integers():
    base = screening.sample(towns=5)
    found = screening.overrides(
        base,
        {
            "enterprise.upgrade_cost": 2.0,
            "enterprise.infrastructure_needed": 1.3,
            "enterprise.initial_levels": 0.8,
            "province.region_shares": 0.6,
            "university.per_region": 2.6,
            "economy.market_growth": 0.05,
        },
    )
    assert found["enterprise.upgrade_cost"] == pytest.approx(
        [2 * v for v in base.enterprise.upgrade_cost]
    )
    assert max(found["enterprise.infrastructure_needed"]) <= 1.0
    levels = found["enterprise.initial_levels"]
    assert levels[0] == 0.8 and sum(levels) == pytest.approx(1.0)
    shares = found["province.region_shares"]
    assert shares["pearl_river_delta"] == 0.6
    assert sum(shares.values()) == pytest.approx(1.0)
    assert found["university.per_region"] == 3
    assert found["economy.market_growth"] == 0.05
    build_scenario(base.model_dump(), found, origin="test")  # valid


def test_the_sample_starts_on_its_share_of_the_province():
    s = screening.sample(towns=40)
    assert s.province.start_output == pytest.approx(2.77e6 * 40 / 399)
    assert s.run.end_year == 2020


def test_the_experiment_screens_every_key_the_runs_understand():
    text = (ROOT / "experiments" / "screening.toml").read_text()
    keys = tomllib.loads(text)["uncertainties"]
    base = screening.sample(towns=5)
    middle = {k: sum(v["range"]) / 2 for k, v in keys.items()}
    build_scenario(base.model_dump(), screening.overrides(base, middle), origin="t")
    assert len(keys) == 36


def test_a_key_matters_when_its_effect_is_twice_the_median():
    import pandas as pd

    rows = []
    for outcome in screening.OUTCOME_UNITS:
        for key, mu in (("a", 0.01), ("b", 0.01), ("c", 0.011), ("d", 0.05)):
            loud = outcome == "coverage" and key == "c"
            rows.append(
                {
                    "outcome": outcome,
                    "factor": key,
                    "index": "mu_star",
                    "estimate": 0.3 if loud else mu,
                }
            )
    table = screening.verdicts(pd.DataFrame(rows))
    assert table.loc["a", "matters for"] == "-"
    assert table.loc["c", "matters for"] == "coverage 2020"
    assert "real growth" in table.loc["d", "matters for"]
    assert table.loc["d", "real growth"] == pytest.approx(5.0)
