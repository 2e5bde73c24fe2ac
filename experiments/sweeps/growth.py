"""Growing a finished sweep: more replications, levels or samples of one design.

A sweep's folder holds one experiment. An edited experiment file may still
describe the same experiment, grown: more replications per point, more levels
of a factorial design's factors (or a finer split), or more samples of a Sobol
or Morris design, whose first points are the finished ones. Every finished run
then keeps its point, replication, seed and run id, and only the new runs are
made; a grown factorial design numbers its new points after the finished ones.
Any other change would mix runs of two experiments in one folder, so it is
refused, naming each key that changed.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from experiments.sweeps.experiment_file import ExperimentError
from experiments.sweeps.plan import Plan

WORDING = ("description", "question", "answers", "analysis")
"""Keys that change what a report says, never what a run computes."""
PLACES = ("posterior",)
"""Paths whose content is compared apart (the posterior's, by its checksum)."""
GROWABLE = ("replications", "design.samples")
"""Keys whose increase keeps every finished run."""
FACTOR_TABLES = ("levers", "uncertainties", "splits")
"""Tables whose levels a factorial design may extend."""


class GrowthError(ExperimentError):
    """The experiment file changed in a way that invalidates finished runs."""


def growth(held: dict[str, Any], plan: Plan, held_unit: np.ndarray) -> list[str]:
    """What grows from the held manifest to `plan`, as 'key old -> new' phrases.

    Args:
        held: The folder's manifest.
        plan: The experiment as the file now states it.
        held_unit: The folder's design points in unit coordinates.

    Raises:
        GrowthError: If anything else changed, or a growable key shrank, or the
            grown design does not begin with the finished points.
    """
    old = _flat(held["experiment"])
    new = _flat(plan.experiment.model_dump(mode="json"))
    factorial = plan.experiment.design.kind == "factorial"
    changed = [
        key
        for key in sorted(old.keys() | new.keys())
        if old.get(key) != new.get(key)
        and key not in GROWABLE
        and key.split(".")[0] not in WORDING
        and key not in PLACES
        and not (factorial and _is_level_key(key, old, new))
    ]
    if held.get("base_scenario") != plan.base:
        changed.append("the base scenario's values")
    before = (held.get("posterior") or {}).get("sha256")
    after = plan.posterior.sha256 if plan.posterior else None
    if before != after:
        changed.append(f"the posterior file's content (sha256 {before} -> {after})")
    if changed:
        raise GrowthError(
            "holds results of another experiment: "
            + "; ".join(_change(key, old, new) for key in changed)
            + ". Only replications, design.samples and factorial levels can "
            "grow in place"
        )
    grown = []
    for key in GROWABLE:
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if after < before:
            raise GrowthError(
                f"{key} {before} -> {after}: finished runs would be left out; "
                f"keep {key} at {before} or more"
            )
        grown.append(f"{key} {before} -> {after}")
    if factorial:
        grown += [
            _change(key, old, new)
            for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key) and _is_level_key(key, old, new)
        ]
    else:
        _check_prefix(plan, held_unit)
    return grown


def _is_level_key(key: str, old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether `key` sets the levels of a factor both files vary (or a split's step).

    Whether the held points are all still in the design is checked when the
    design is aligned with the folder's (`aligned`).
    """
    table, _, rest = key.partition(".")
    return (
        table in FACTOR_TABLES
        and rest.rsplit(".", 1)[-1] in ("levels", "range", "steps", "step")
        and key in old
        and key in new
    )


def aligned(
    values: list[dict[str, Any]], held: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The design points `values`, the `held` ones first in the folder's order.

    Raises:
        GrowthError: If a held point is not among `values` (a level was removed).
    """
    key = _point_key
    by_key = {key(point): point for point in values}
    missing = [point for point in held if key(point) not in by_key]
    if missing:
        raise GrowthError(
            f"the design no longer holds the finished point {missing[0]} "
            f"({len(missing)} in all): levels can be added, not removed or changed"
        )
    first = [by_key.pop(key(point)) for point in held]
    return first + [point for point in values if key(point) in by_key]


def _point_key(point: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A design point as text, alike whether read from the file or the folder."""
    return tuple(sorted((name, _text(value)) for name, value in point.items()))


def _text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return repr(float(value))


def _check_prefix(plan: Plan, held_unit: np.ndarray) -> None:
    """Refuse a grown sampled design that does not begin with the held points."""
    if plan.experiment.design.kind == "factorial" or not len(held_unit):
        return
    points = len(held_unit)
    if len(plan.unit) < points or not np.allclose(plan.unit[:points], held_unit):
        kind = plan.experiment.design.kind
        raise GrowthError(
            f"design.samples: a {kind} design of {plan.points} points does not "
            f"begin with the {points} finished points, so no finished run could "
            "be kept; Sobol and Morris designs grow in place, a Latin hypercube "
            "does not: run it in a new --out"
        )


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested tables as dotted keys; leaves (lists included) as values."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat |= _flat(value, f"{name}.")
        else:
            flat[name] = value
    return flat


def _change(key: str, old: dict[str, Any], new: dict[str, Any]) -> str:
    if key not in old and key not in new:
        return key
    missing = "(not set)"
    return f"{key} {old.get(key, missing)} -> {new.get(key, missing)}"
