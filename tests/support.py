"""Shared helpers for the tests: small runs, adoption curves and simple statistics.

Kept free of pytest so that any test module can import it (`from support import`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model import TownModel, indices
from scenarios import LEVELS, load_scenario

SMALL = {"towns": 4, "firms_per_town": 40}
"""The small scenario of the statistical tests (the brief's suggestion)."""

TINY = {"towns": 3, "firms_per_town": 25, "end_year": 2022}
"""The tiny scenario of the schedule comparison (the `agents` schedule is slow)."""


def run(seed: int, **params: object) -> TownModel:
    """Build a model with `params` and run it to its end year."""
    return TownModel(rng=seed, **params).run()


def runs(seeds: Iterable[int], **params: object) -> list[TownModel]:
    """Run one model per seed."""
    return [run(seed, **params) for seed in seeds]


def more_money_on(lever: str, factor: float, **params: Any) -> dict[str, Any]:
    """Overrides that give `lever` `factor` times its money, the others the same.

    The lever's weight is multiplied by `factor` and the budget share of the
    scenario built from `params` grown (or shrunk) so that the other levers'
    money (weight / sum of weights * budget) is unchanged. Weights are rescaled
    to stay <= 1 (only their ratios matter).
    """
    gov = load_scenario(None, params).government
    weights = gov.weights()
    raw = {name: w * (factor if name == lever else 1.0) for name, w in weights.items()}
    top = max(raw.values())
    return {
        **{f"government.{name}": w / top for name, w in raw.items()},
        "budget_share": gov.budget_share * (1 + weights[lever] * (factor - 1)),
    }


def share_at_least(frame: pd.DataFrame) -> np.ndarray:
    """Share of live firms at level >= L per row of a model frame; columns L=1..4."""
    counts = frame[[f"firms_level_{k}" for k in LEVELS]].to_numpy()
    return indices.share_at_least(counts)[:, 1 : len(LEVELS) + 1]


def mean_level(frame: pd.DataFrame) -> np.ndarray:
    """Mean digital level of live firms per row of a model (or town) frame."""
    counts = np.column_stack([frame[f"firms_level_{k}"] for k in LEVELS]).astype(float)
    return counts @ np.array(LEVELS, dtype=float) / np.maximum(counts.sum(axis=1), 1.0)


def yearly(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of a model frame that fall on whole years (the start included)."""
    return frame[np.isclose(frame["year"] % 1.0, 0.0)].reset_index(drop=True)


def at_year(frame: pd.DataFrame, year: float) -> pd.Series:
    """The row of a model frame at `year`."""
    rows = frame[np.isclose(frame["year"], year)]
    assert len(rows) == 1, f"expected one row for year {year}, got {len(rows)}"
    return rows.iloc[0]


@dataclass(frozen=True)
class Estimate:
    """A sample mean with its standard error."""

    mean: float
    se: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4g} ± {self.se:.2g} (n={self.n})"


def estimate(values: Iterable[float]) -> Estimate:
    """Mean and standard error (sample std. dev. / sqrt(n)) of independent values."""
    x = np.asarray(list(values), dtype=float)
    assert x.size >= 2, "need at least two values for a standard error"
    return Estimate(float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size)), x.size)


def per_seed(
    models: Iterable[TownModel], statistic: Callable[[TownModel], float]
) -> np.ndarray:
    """One value of `statistic` per model."""
    return np.array([statistic(m) for m in models], dtype=float)
