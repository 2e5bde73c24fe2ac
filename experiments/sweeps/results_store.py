"""The results folder of a sweep: its manifest, design, run files and lock.

Each run is one Parquet file named by its run id, written under a hidden
temporary name and renamed into place, so a reader never sees half a file and a
killed sweep loses only the runs in flight. The manifest records the experiment,
its design, the code and package versions, and every session.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import platform
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from experiments.runs.provenance import code_version, package_versions
from experiments.sweeps.experiment_file import TOWNSIM, ExperimentError
from experiments.sweeps.plan import Plan

RUNS, FAILURES = "runs", "failures"
MANIFEST, DESIGN = "manifest.json", "design.parquet"
SWEEP_PACKAGES = ("SALib", "scipy", "dask", "distributed", "tqdm")


class SweepError(ExperimentError):
    """The results folder cannot take this sweep (another experiment, a lock)."""


def write_atomic(path: Path, payload: bytes) -> None:
    """Write under a hidden temporary name, then rename: readers never see half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(payload)
    os.replace(temporary, path)


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """One sweep writes a folder at a time; the lock dies with its process."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(
                f"{out}: another sweep is writing this folder; wait for it or "
                "choose another --out"
            ) from None
        yield


def prepare(plan: Plan, out: Path, command: list[str] | None = None) -> None:
    """Create the folder for `plan`, or check it holds `plan`; clear stale temporaries.

    Raises:
        SweepError: If the folder holds another experiment or unrelated files.
    """
    manifest_path = out / MANIFEST
    if manifest_path.exists():
        held = json.loads(manifest_path.read_text())
        if held.get("fingerprint") != plan.fingerprint():
            _grow(plan, out, held)
        else:
            _align(plan, out)
        wording = plan.experiment.model_dump(mode="json")
        if held.get("experiment") != wording:  # a new question, answers or analysis
            write_atomic(manifest_path, _json(held | {"experiment": wording}))
    else:
        foreign = sorted(p.name for p in out.iterdir() if p.name != ".lock")
        if foreign:
            raise SweepError(
                f"{out}: holds files that are not sweep results "
                f"({', '.join(foreign[:3])}); choose an empty or new --out"
            )
        write_design(plan, out)
        write_atomic(manifest_path, _json(manifest(plan, command)))
    for name in (RUNS, FAILURES):
        (out / name).mkdir(exist_ok=True)
        for stale in (out / name).glob(".*.tmp"):
            stale.unlink(missing_ok=True)


def _align(plan: Plan, out: Path) -> None:
    """Number a factorial plan's points as the folder does, new points last.

    Raises:
        SweepError: If a finished point is no longer in the design.
    """
    from experiments.sweeps.growth import GrowthError, aligned

    if plan.experiment.design.kind != "factorial" or not (out / DESIGN).exists():
        return
    design = pq.read_table(out / DESIGN).to_pandas()
    names = [v.name for v in plan.columns]
    if set(names) - set(design.columns):
        return  # other factors: refused as another experiment
    held = design[names].to_dict("records")
    try:
        plan.values = aligned(plan.values, held)
    except GrowthError as error:
        raise SweepError(f"{out}: {error}") from None


def _grow(plan: Plan, out: Path, held: dict[str, Any]) -> None:
    """Grow the folder's design to `plan`'s, or refuse naming what changed.

    Raises:
        SweepError: If the change would invalidate finished runs.
    """
    from experiments.sweeps.growth import GrowthError, growth

    name = held.get("experiment", {}).get("name", "?")
    if "experiment" not in held or not (out / DESIGN).exists():
        raise SweepError(
            f"{out}: holds results of another experiment ({name}, "
            f"{held.get('source', '?')}); choose another --out"
        )
    design = pq.read_table(out / DESIGN).to_pandas()
    unit = design[[f"unit:{v.name}" for v in plan.variables]].to_numpy(float)
    try:
        grown = growth(
            held, plan, unit if plan.experiment.design.kind != "factorial" else unit[:0]
        )
    except GrowthError as error:
        raise SweepError(
            f"{out} ({name}, {held.get('source', '?')}): {error}"
        ) from None
    _align(plan, out)
    print(f"townsim: growing {out}: {', '.join(grown)}; finished runs are kept")
    write_design(plan, out)
    sessions = held.get("sessions", [])
    write_atomic(out / MANIFEST, _json(manifest(plan) | {"sessions": sessions}))
    held.update(json.loads((out / MANIFEST).read_text()))


def recorded(folder: Path) -> set[str]:
    """Run ids with a file in `folder` (finished or failed runs)."""
    return {p.name[: -len(".parquet")] for p in folder.glob("*.parquet")}


def manifest(plan: Plan, command: list[str] | None = None) -> dict[str, Any]:
    """The design, root seed, base scenario, code and package versions of a sweep."""
    from experiments.sweeps.outcomes import BY_NAME

    experiment = plan.experiment
    versions = package_versions()
    for name in SWEEP_PACKAGES:
        versions[name] = _version(name)
    names = plan.outcomes or (list(BY_NAME) if experiment.model == TOWNSIM else [])
    return {
        "experiment": experiment.model_dump(mode="json"),
        "source": plan.source,
        "fingerprint": plan.fingerprint(),
        "design": {
            "kind": experiment.design.kind,
            "points": plan.points,
            "replications": experiment.replications,
            "runs": plan.runs,
            "root_seed": experiment.root_seed,
            "seeding": experiment.seeding,
            "factors": [
                {
                    "name": v.name,
                    "role": v.role,
                    "low": v.low,
                    "high": v.high,
                    "levels": list(v.levels) if v.levels else None,
                    "integer": v.integer,
                }
                for v in plan.columns
            ],
            "problem": plan.problem,
        },
        "base_scenario": plan.base,
        "outcomes": {
            name: {
                "kind": BY_NAME[name].kind,
                "unit": BY_NAME[name].unit,
                "meaning": BY_NAME[name].meaning,
                "better": BY_NAME[name].better,
            }
            for name in names
            if name in BY_NAME
        },
        "code_version": code_version(),
        "packages": versions,
        "python": platform.python_version(),
        "command": command if command is not None else sys.argv,
        "created": _now(),
        "sessions": [],
        "files": {
            "runs/*.parquet": "one file per finished run: tidy rows (run keys, "
            "factors, outcome, year, town, value)",
            "failures/*.parquet": "one file per failed run, with its traceback",
            "design.parquet": "the design points: unit coordinates and values",
        },
    }


def write_design(plan: Plan, out: Path) -> None:
    """The design points, one row each: point, unit coordinates, factor values."""
    columns: dict[str, list] = {"point": list(range(plan.points))}
    for i, variable in enumerate(plan.variables):
        columns[f"unit:{variable.name}"] = (
            [float(u) for u in plan.unit[:, i]]
            if (plan.experiment.design.kind != "factorial")
            else [None] * plan.points
        )
    for variable in plan.columns:
        values = [point[variable.name] for point in plan.values]
        columns[variable.name] = (
            [float(v) for v in values] if variable.numeric else [str(v) for v in values]
        )
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    write_atomic(out / DESIGN, sink.getvalue())


def warn_code_change(out: Path) -> None:
    """Say so when a resumed sweep runs other code than the runs already there."""
    held = json.loads((out / MANIFEST).read_text())
    versions = {held["code_version"]}
    versions |= {entry["code_version"] for entry in held.get("sessions", [])}
    mine = code_version()
    if versions - {mine} and any(recorded(out / RUNS)):
        print(
            f"townsim: warning: {out} holds runs made with code "
            f"{', '.join(sorted(versions - {mine}))}; this session runs {mine}. "
            "Each run file records its code version (Parquet metadata "
            "townsim.code_version).",
            file=sys.stderr,
        )


@dataclass
class SweepSummary:
    """Counts and times of one sweep session."""

    total: int
    skipped: int = 0
    """Runs found done before this session."""
    earlier_failed: int = 0
    """Runs recorded as failed before this session and not retried."""
    done: int = 0
    failed: int = 0
    model_seconds: float = 0.0
    wall_seconds: float = 0.0
    failures: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every run of the plan is recorded as done."""
        return self.skipped + self.done == self.total


def note_session(out: Path, event: str, summary: SweepSummary) -> None:
    """Append this session's counts and code version to the manifest."""
    path = out / MANIFEST
    data = json.loads(path.read_text())
    entry = {
        "event": event,
        "at": _now(),
        "code_version": code_version(),
        "total": summary.total,
        "skipped": summary.skipped,
        "done": summary.done,
        "failed": summary.failed,
        "earlier_failed": summary.earlier_failed,
    }
    if event == "finished":
        entry["wall_seconds"] = round(summary.wall_seconds, 3)
        entry["model_seconds"] = round(summary.model_seconds, 3)
    data["sessions"].append(entry)
    write_atomic(path, _json(data))


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
