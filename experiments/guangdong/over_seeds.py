"""Summaries over seeds (replications): mean ± s.d., and paired differences."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def number(x: float) -> str:
    """A short number: years and other large values without exponents."""
    return f"{x:.1f}" if abs(x) >= 100 else f"{x:.3g}"


def mean_sd(values: Iterable[float]) -> str:
    """'mean ± s.d.' of finite values, or 'n/a'."""
    v = np.array([x for x in values if np.isfinite(x)], dtype=float)
    if v.size == 0:
        return "n/a"
    sd = v.std(ddof=1) if v.size > 1 else 0.0
    return f"{number(v.mean())} ± {sd:.2g}"


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and standard error of the paired differences a - b over seeds."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    se = d.std(ddof=1) / np.sqrt(d.size) if d.size > 1 else float("nan")
    return float(d.mean()), float(se)


def diff_text(a: np.ndarray, b: np.ndarray) -> str:
    """'mean ± s.e.' of the paired differences a - b."""
    mean, se = paired(a, b)
    return f"{mean:.3g} ± {se:.2g}"


def shown(diff: tuple[float, float], sign: int) -> str:
    """'yes' if the paired difference has `sign` beyond 2 s.e., else 'no'."""
    mean, se = diff
    return "yes" if sign * mean > 2 * se else "no"


def paired_text(a: np.ndarray, b: np.ndarray) -> str:
    """'mean ± s.e.' of the paired differences a - b, with a sign."""
    mean, se = paired(a, b)
    return f"{mean:+.3g} ± {se:.2g}"


def beyond(diff: tuple[float, float], times: float = 2.0) -> bool:
    """Whether a paired difference is positive by more than `times` s.e."""
    mean, se = diff
    return bool(mean > times * se)
