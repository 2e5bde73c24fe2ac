"""The results folder of a sweep: its manifest, design, run files and checksums.

Each run is one Parquet file named by its run id. Its size and SHA-256 go to
`checksums.jsonl` (one JSON line per file written, flushed to disk) before the
file, written and flushed under a hidden temporary name, is renamed into
place; the folder is flushed after the rename. A run file is trusted only if it
matches its line: a file cut short by a crash or a power cut, or damaged
later, is moved to `quarantine/` when the sweep resumes and the run is done
again, and `townsim analyze` refuses the folder until then. A file without a
line (a folder written by an older townsim) is trusted if it reads in full as
the run it is named after, and is then given its line.

The manifest records the experiment, its design, the code and package versions,
and every session. One sweep writes a folder at a time: it holds a lock on the
folder itself, which dies with its process and leaves no file behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import sys
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from experiments.runs.durable import fsync_path, write_durably
from experiments.runs.provenance import (
    code_version,
    made_by,
    package_versions,
)
from experiments.sweeps.experiment_file import TOWNSIM, ExperimentError
from experiments.sweeps.plan import Plan, posterior_record

RUNS, FAILURES = "runs", "failures"
MANIFEST, DESIGN = "manifest.json", "design.parquet"
CHECKSUMS, QUARANTINE = "checksums.jsonl", "quarantine"
FORMAT = 2
"""1: run files alone; 2: with checksums.jsonl."""
SWEEP_PACKAGES = ("SALib", "scipy", "dask", "distributed", "tqdm")
OLD_LOCK = ".lock"
"""The lock file of format 1 (now the folder itself is locked)."""


STORE = {"format": FORMAT, "checksums": CHECKSUMS}


class SweepError(ExperimentError):
    """The results folder cannot take this sweep (another experiment, a lock)."""


def write_atomic(path: Path, payload: bytes) -> None:
    """Write under a hidden temporary name, flush, rename: never half a file."""
    write_durably(path, payload)


def check_place(out: Path) -> None:
    """Refuse a results folder that is a file or lies under one.

    Raises:
        SweepError: Naming the path and what is in the way.
    """
    out = Path(out)
    target = Path(os.path.abspath(out))
    for place in (target, *target.parents):
        if place.exists():
            if not place.is_dir():
                what = "is a file" if place == target else f"lies under {place}, a file"
                raise SweepError(f"{out}: {what}, not a folder; choose another --out")
            return


@contextlib.contextmanager
def locked(out: Path) -> Iterator[None]:
    """One sweep writes a folder at a time; the lock dies with its process.

    The folder is created if needed (and removed again, if still empty, when
    the sweep is refused).

    Raises:
        SweepError: If the folder cannot be made or another sweep holds it.
    """
    out = Path(out)
    check_place(out)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        handle = os.open(out, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise SweepError(
            f"{out}: cannot create or open the results folder ({error.strerror}); "
            "choose another --out"
        ) from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(
                f"{out}: another sweep is writing this folder; wait for it or "
                "choose another --out"
            ) from None
        yield
    except SweepError:
        if created:
            with contextlib.suppress(OSError):
                out.rmdir()
        raise
    finally:
        os.close(handle)


def read_manifest(out: Path, needed: tuple[str, ...] = ()) -> dict[str, Any]:
    """A sweep folder's manifest, or one line saying why it cannot be read.

    Args:
        out: The sweep's folder.
        needed: Keys the manifest must hold (each a table).

    Raises:
        SweepError: If it is missing, damaged, or a single run's manifest.
    """
    path = Path(out) / MANIFEST
    try:
        held = json.loads(path.read_text())
    except FileNotFoundError:
        raise SweepError(
            f"{out}: not a sweep results folder (no {MANIFEST}); "
            "run `townsim sweep EXPERIMENT.toml --out FOLDER` first"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SweepError(
            f"{path}: damaged, not the JSON townsim writes ({_short(error)}); "
            "move the folder aside, or choose another folder"
        ) from None
    if isinstance(held, dict) and "seed" in held and "scenario" in held:
        raise SweepError(
            f"{out}: holds a single run's results (townsim run), not a sweep's "
            "(townsim sweep)"
        )
    if not isinstance(held, dict) or not all(
        isinstance(held.get(key), dict) for key in needed
    ):
        raise SweepError(
            f"{path}: damaged, not a sweep's manifest; move the folder aside, or "
            "choose another folder"
        )
    return held


def prepare(plan: Plan, out: Path, command: list[str] | None = None) -> Check:
    """Create the folder for `plan`, or check it holds `plan`; check its run files.

    Stale temporaries are removed; run files that fail their check go to
    `quarantine/`, and files of an older townsim that read in full get their
    checksums. Returns the check, whose good files are the runs done.

    Raises:
        SweepError: If the folder holds another experiment, unrelated files, a
            damaged manifest, or cannot be written.
    """

    def resume(held: dict[str, Any]) -> None:
        if held.get("fingerprint") != plan.fingerprint():
            _grow(plan, out, held)
        else:
            _align(plan, out)
        if not _readable(out / DESIGN):
            write_design(plan, out)
        wording = plan.experiment.model_dump(mode="json")
        if held.get("experiment") != wording:  # a new question, answers or analysis
            write_atomic(out / MANIFEST, _json(held | {"experiment": wording}))

    def create() -> dict[str, Any]:
        write_design(plan, out)
        return manifest(plan, command)

    # design.parquet alone: a sweep killed before it wrote its manifest
    return open_folder(out, resume, create, (OLD_LOCK, DESIGN), "sweep results")


def open_folder(
    out: Path,
    resume: Callable[[dict[str, Any]], None],
    create: Callable[[], dict[str, Any]],
    allowed: Collection[str] = (),
    what: str = "sweep results",
) -> Check:
    """Create a results folder or resume it; tidy and check its run files.

    Shared by sweeps and posterior draws. With a manifest, `resume` gets it and
    refuses (SweepError) or adapts the folder; without one, the folder may hold
    only `allowed` names and hidden temporaries (left by a kill), and
    `create` returns the manifest to write. Then stale temporaries are removed,
    run files that fail their check go to `quarantine/`, and files of an older
    townsim that read in full get their checksum lines. Returns the check,
    whose good files are the runs done.

    Raises:
        SweepError: If the folder holds other results, unrelated files, a
            damaged manifest, or cannot be written.
    """
    try:
        return _open_folder(out, resume, create, allowed, what)
    except OSError as error:
        raise SweepError(
            f"{out}: cannot write the results folder ({_short(error)}); "
            "choose another --out"
        ) from None


def _open_folder(
    out: Path,
    resume: Callable[[dict[str, Any]], None],
    create: Callable[[], dict[str, Any]],
    allowed: Collection[str],
    what: str,
) -> Check:
    if (out / MANIFEST).exists():
        resume(read_manifest(out))
    else:
        foreign = sorted(
            p.name
            for p in out.iterdir()
            if p.name not in allowed and not _temporary(p.name)
        )
        if foreign:
            raise SweepError(
                f"{out}: holds files that are not {what} "
                f"({', '.join(foreign[:3])}); choose an empty or new --out"
            )
        write_atomic(out / MANIFEST, _json(create()))
    for stale in out.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    for name in (RUNS, FAILURES):
        (out / name).mkdir(exist_ok=True)
        for stale in (out / name).glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    check = check_folder(out)
    if check.bad:
        quarantine(out, check.bad)
    if check.unlisted:
        with Store(out) as store:
            store.adopt([entry for _, entry in check.unlisted])
    return check


def _temporary(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _readable(path: Path) -> bool:
    try:
        pq.read_table(path)
    except (OSError, pa.ArrowException):
        return False
    return True


@dataclass
class Check:
    """The run and failure files of a folder, checked against their checksums."""

    good: dict[str, set[str]] = field(
        default_factory=lambda: {RUNS: set(), FAILURES: set()}
    )
    """Run ids whose file passes, by folder (runs, failures)."""
    bad: list[tuple[str, str]] = field(default_factory=list)
    """Files that fail: path within the folder, and why."""
    unlisted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Files without a checksum line that read in full: path, and their line."""

    def bad_text(self, shown: int = 3) -> str:
        """The failing files, for one line: 'runs/x.parquet (why), ...'."""
        parts = [f"{path} ({why})" for path, why in self.bad[:shown]]
        more = f", and {len(self.bad) - shown} more" if len(self.bad) > shown else ""
        return ", ".join(parts) + more


def read_checksums(out: Path) -> dict[str, dict[str, Any]]:
    """The last checksum line of each file; a line cut short by a crash is skipped."""
    path = Path(out) / CHECKSUMS
    entries: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_bytes().splitlines():
            try:
                entry = json.loads(line)
                entries[entry["file"]] = entry
            except (ValueError, KeyError, TypeError):
                continue
    return entries


def checksum_line(relative: str, payload: bytes) -> dict[str, Any]:
    """A file's checksum line: its path in the folder, size and SHA-256."""
    return {
        "file": relative,
        "bytes": len(payload),
        "sha256": hashlib.sha256(payload).hexdigest(),
    }


def check_folder(out: Path) -> Check:
    """Check every run and failure file against its checksum line.

    A file without a line passes if it reads in full as a table of the run it
    is named after (the folders of townsim before checksums).
    """
    out = Path(out)
    entries = read_checksums(out)
    check = Check()
    for kind in (RUNS, FAILURES):
        folder = out / kind
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.parquet")):
            relative = f"{kind}/{path.name}"
            run_id = path.name[: -len(".parquet")]
            entry = entries.get(relative)
            if entry is not None:
                why = _against(path, entry)
            else:
                why, entry = _by_content(path, relative, run_id)
                if not why:
                    check.unlisted.append((relative, entry))
            if why:
                check.bad.append((relative, why))
            else:
                check.good[kind].add(run_id)
    return check


def _against(path: Path, entry: dict[str, Any]) -> str:
    """Why a file does not match its checksum line ('' if it does)."""
    try:
        payload = path.read_bytes()
    except OSError as error:
        return f"unreadable: {error.strerror}"
    if len(payload) != entry.get("bytes"):
        return f"{len(payload):,} of {entry.get('bytes', 0):,} bytes"
    if hashlib.sha256(payload).hexdigest() != entry.get("sha256"):
        return "content differs from its checksum"
    return ""


def _by_content(path: Path, relative: str, run_id: str) -> tuple[str, dict[str, Any]]:
    """Why a file without a checksum is not a whole run file, and its line."""
    try:
        payload = path.read_bytes()
    except OSError as error:
        return f"unreadable: {error.strerror}", {}
    if not payload:
        return "empty file", {}
    try:
        table = pq.read_table(io.BytesIO(payload), columns=["run_id"])
    except (OSError, pa.ArrowException, KeyError) as error:
        return f"not a whole Parquet file: {_short(error)}", {}
    ids = set(table.column("run_id").to_pylist()) if table.num_rows else set()
    if ids != {run_id}:
        return "its rows are not this run's", {}
    return "", checksum_line(relative, payload)


def quarantine(out: Path, bad: list[tuple[str, str]]) -> list[Path]:
    """Move failing files to `quarantine/` (beside their folder's name), say so."""
    moved = []
    for relative, _ in bad:
        source = out / relative
        target = out / QUARANTINE / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        number = 1
        while target.exists():
            number += 1
            target = target.with_name(f"{source.stem}-{number}.parquet")
        os.replace(source, target)
        moved.append(target)
    for kind in {relative.split("/", 1)[0] for relative, _ in bad}:
        fsync_path(out / kind)
    check = Check(bad=bad)
    print(
        f"townsim: warning: {len(bad)} file{'s' if len(bad) > 1 else ''} in {out} "
        f"failed the check and moved to {out / QUARANTINE}/; their runs run "
        f"again: {check.bad_text()}",
        file=sys.stderr,
    )
    return moved


class Store:
    """Writes run and failure files with their checksum lines, crash-safely."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self._lines = open(self.out / CHECKSUMS, "ab")  # noqa: SIM115

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the checksum file."""
        self._lines.close()

    def adopt(self, entries: list[dict[str, Any]]) -> None:
        """Record checksum lines of files already in place."""
        self._lines.write(b"".join(_line(entry) for entry in entries))
        self._flush()

    def put(self, kind: str, run_id: str, payload: bytes) -> None:
        """Write one run's file: temporary, flushed; its line, flushed; renamed."""
        folder = self.out / kind
        path = folder / f"{run_id}.parquet"
        temporary = folder / f".{path.name}.{os.getpid()}.tmp"
        try:
            with open(temporary, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            self._lines.write(_line(checksum_line(f"{kind}/{path.name}", payload)))
            self._flush()
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        fsync_path(folder)

    def drop(self, kind: str, run_id: str) -> None:
        """Remove a run's file (a failure whose retry succeeded)."""
        (self.out / kind / f"{run_id}.parquet").unlink(missing_ok=True)

    def _flush(self) -> None:
        self._lines.flush()
        os.fsync(self._lines.fileno())


def _line(entry: dict[str, Any]) -> bytes:
    return (json.dumps(entry, separators=(",", ":")) + "\n").encode()


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__


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
        **({"posterior": posterior_record(plan.posterior)} if plan.posterior else {}),
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
        **made_by(command, versions),
        "sessions": [],
        "store": STORE,
        "files": {
            "runs/*.parquet": "one file per finished run: tidy rows (run keys, "
            "factors, outcome, year, town, value)",
            "failures/*.parquet": "one file per failed run, with its traceback",
            "design.parquet": "the design points: unit coordinates and values",
            "checksums.jsonl": "size and SHA-256 of every run and failure file "
            "written (the last line of a file counts)",
            "quarantine/": "files that failed their check; their runs ran again",
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
    held = read_manifest(out)
    versions = {held.get("code_version", "unknown")}
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
    data = read_manifest(out)
    data["store"] = STORE
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
    data.setdefault("sessions", []).append(entry)
    write_atomic(path, _json(data))


def _json(data: dict[str, Any]) -> bytes:
    return (json.dumps(data, indent=2, allow_nan=False) + "\n").encode()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _version(name: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
