"""Robustness measures, the Pareto front and its compromise on hand-made numbers."""

import numpy as np
import pytest

from experiments.optimize import robustness
from experiments.optimize.front import compromise, pareto_mask
from experiments.optimize.search_file import Objective

# Three candidates (rows) in three scenarios (columns).
VALUES = np.array([[1.0, 4.0, 2.0], [3.0, 3.0, 3.0], [0.0, 5.0, 1.0]])


def objective(**settings) -> Objective:
    return Objective(outcome="y", **settings)


def test_mean_and_percentile_are_over_scenarios():
    assert robustness.measure(VALUES, objective(direction="max")).tolist() == (
        pytest.approx([7 / 3, 3.0, 2.0])
    )
    median = objective(direction="max", robustness="percentile", percentile=50)
    assert robustness.measure(VALUES, median).tolist() == [2.0, 3.0, 1.0]
    low = objective(direction="max", robustness="percentile", percentile=25)
    # Linear interpolation between the sorted values: a quarter of the way up.
    assert robustness.measure(VALUES, low).tolist() == [1.5, 3.0, 0.5]


def test_regret_is_the_largest_shortfall_from_the_best_per_scenario():
    most = objective(direction="max", robustness="regret")
    # Best per scenario: 3, 5, 3.
    assert robustness.measure(VALUES, most).tolist() == [2.0, 2.0, 3.0]
    least = objective(direction="min", robustness="regret")
    # Best per scenario: 0, 3, 1.
    assert robustness.measure(VALUES, least).tolist() == [1.0, 3.0, 2.0]


def test_regret_against_a_given_best_and_ignoring_failed_candidates():
    most = objective(direction="max", robustness="regret")
    best = np.array([10.0, 10.0, 10.0])
    assert robustness.measure(VALUES, most, best).tolist() == [9.0, 7.0, 10.0]
    failed = np.vstack([VALUES, [np.nan, 100.0, np.nan]])
    assert robustness.best_per_scenario(failed, "max").tolist() == [3.0, 100.0, 3.0]


def test_satisficing_is_the_share_of_scenarios_meeting_the_threshold():
    reach = objective(direction="max", robustness="satisficing", threshold=3.0)
    assert robustness.measure(VALUES, reach).tolist() == [1 / 3, 1.0, 1 / 3]
    stay = objective(direction="min", robustness="satisficing", threshold=2.0)
    assert robustness.measure(VALUES, stay).tolist() == [2 / 3, 0.0, 2 / 3]
    failed = np.array([[5.0, np.nan, 5.0]])
    assert np.isnan(robustness.measure(failed, reach)).all()


def test_what_the_search_minimises_follows_the_measure_not_only_the_direction():
    figures = np.array([1.0, 2.0])
    cases = [
        (objective(direction="max"), [-1.0, -2.0]),
        (objective(direction="min"), [1.0, 2.0]),
        (objective(direction="max", robustness="regret"), [1.0, 2.0]),
        (
            objective(direction="min", robustness="satisficing", threshold=1.0),
            [-1.0, -2.0],
        ),
    ]
    for goal, expected in cases:
        assert robustness.to_minimise(figures, goal).tolist() == expected


def test_the_pareto_front_keeps_exactly_the_undominated_rows():
    minimise = np.array(
        [
            [1.0, 5.0],  # front
            [2.0, 2.0],  # front
            [3.0, 3.0],  # dominated by [2, 2]
            [5.0, 1.0],  # front
            [2.0, 2.0],  # a tie with row 1: neither dominates
            [0.0, 0.0 + np.nan],  # a failed candidate: never on the front
        ]
    )
    assert pareto_mask(minimise).tolist() == [True, True, False, True, True, False]


def test_the_compromise_is_nearest_the_ideal_after_scaling():
    front = np.array([[0.0, 100.0], [0.4, 30.0], [1.0, 0.0]])
    # Scaled: (0, 1), (0.4, 0.3), (1, 0): the middle point is nearest (0, 0).
    assert compromise(front) == 1


def test_lever_weights_read_as_the_shares_of_the_budget_the_model_makes():
    from experiments.optimize.front import budget_shares

    weights = {
        "government.budget_share": 0.004,
        "government.talent": 0.2,
        "government.funding": 0.2,
        "government.ip": 0.1,
        "government.platform": 0.5,
    }
    shares = budget_shares(weights)
    assert shares == pytest.approx(
        {"talent": 0.2, "funding": 0.2, "ip": 0.1, "platform": 0.5}
    )
    doubled = {k: 2 * v for k, v in weights.items()}
    assert budget_shares(doubled) == pytest.approx(shares)
    assert budget_shares({k: v for k, v in weights.items() if "ip" not in k}) is None
    assert budget_shares({k: 0.0 for k in weights}) is None
