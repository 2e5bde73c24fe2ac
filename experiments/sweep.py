"""Running a planned experiment: many runs on a pool of workers, resumable.

Each run becomes one Parquet file named by a hash of its parameters and seed,
written under a temporary name and renamed into place, so a killed sweep loses at
most the runs in flight and a run is never recorded twice. Running the same
command again skips what is done. A run that raises is written to `failures/`
with its traceback and the sweep goes on. The driver keeps only a bounded number
of runs in flight and never the results, so its memory does not grow with the
sweep. Workers are long-lived processes (or Dask workers) that import the model
once and run many jobs; the driver itself never imports Mesa.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import os
import platform
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from experiments.design import TOWNSIM, ExperimentError, Plan, RunSpec
from experiments.runs.provenance import code_version, package_versions

RUNS, FAILURES = "runs", "failures"
MANIFEST, DESIGN = "manifest.json", "design.parquet"
SWEEP_PACKAGES = ("SALib", "scipy", "dask", "distributed", "tqdm")


class SweepError(ExperimentError):
    """The results folder cannot take this sweep (another experiment, a lock)."""


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C: the sweep stopped; finished runs are kept and a rerun resumes."""

    def __init__(self, summary: SweepSummary) -> None:
        super().__init__(summary)
        self.summary = summary


@dataclass(frozen=True)
class Task:
    """What every run of a sweep shares; sent to the workers with each job."""

    model: str
    base: dict[str, Any] | None
    outcomes: tuple[str, ...] | None
    years: tuple[int, ...] | None
    factors: tuple[tuple[str, bool], ...]
    """Factor columns and whether each is numeric."""


@dataclass(frozen=True)
class Record:
    """What a worker sends back: a finished or failed run as Parquet bytes."""

    run_id: str
    ok: bool
    payload: bytes
    seconds: float


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


# --- Worker side ------------------------------------------------------------


_PREPARED: list[bool] = []


def _prepare_once() -> None:
    """Keep freed memory in this process, once (Dask workers skip `worker_init`)."""
    if not _PREPARED:
        from experiments.runs.allocator import keep_freed_memory

        keep_freed_memory()
        _PREPARED.append(True)


def worker_init() -> None:
    """Import the model once per worker, keep freed memory, leave Ctrl-C to the driver.

    Workers ignore SIGINT so that Ctrl-C stops the sweep, not a run as a failure.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _prepare_once()
    import model  # noqa: F401  (imported once here rather than in the first job)


def execute(task: Task, spec: RunSpec) -> Record:
    """Run one job; an exception becomes a failure record, never a lost worker."""
    _prepare_once()
    started = time.perf_counter()
    try:
        rows = _simulate(task, spec)
        table = _table(task, spec, rows)
        ok = True
    except (Exception, SystemExit):  # a failed run is data: keep its traceback
        table = failure_table(task, spec, traceback.format_exc())
        ok = False
    seconds = time.perf_counter() - started
    return Record(spec.run_id, ok, _parquet_bytes(table, seconds), seconds)


def _simulate(task: Task, spec: RunSpec) -> Any:
    """The outcome rows of one run (a pandas DataFrame)."""
    from experiments.outcomes import measure, rows_from_mapping

    if task.model == TOWNSIM:
        from model import TownModel
        from scenarios import build_scenario

        scenario = build_scenario(task.base, spec.params, origin=f"run {spec.run_id}")
        model = TownModel(scenario, rng=spec.seed, views="lazy").run()
        outcomes = list(task.outcomes) if task.outcomes else None
        years = list(task.years) if task.years else None
        return measure(model.town_frame(), outcomes, years)
    function = _function(task.model)
    return rows_from_mapping(function(**spec.params, seed=spec.seed))


_FUNCTIONS: dict[str, Callable[..., dict]] = {}


def _function(reference: str) -> Callable[..., dict]:
    """A plain model function named 'module:function', imported once per worker."""
    if reference not in _FUNCTIONS:
        import importlib

        module, _, name = reference.partition(":")
        _FUNCTIONS[reference] = getattr(importlib.import_module(module), name)
    return _FUNCTIONS[reference]


def run_schema(task: Task) -> pa.Schema:
    """Columns of every run file: run keys, factors, then the tidy outcome rows."""
    return pa.schema(
        [
            *_key_fields(task),
            ("outcome", pa.string()),
            ("year", pa.int32()),
            ("town", pa.int32()),
            ("value", pa.float64()),
        ]
    )


def failure_schema(task: Task) -> pa.Schema:
    """Columns of every failure file: run keys, factors and the traceback."""
    return pa.schema([*_key_fields(task), ("error", pa.string())])


def _key_fields(task: Task) -> list[tuple[str, pa.DataType]]:
    factors = [(n, pa.float64() if num else pa.string()) for n, num in task.factors]
    return [
        ("run_id", pa.string()),
        ("point", pa.int64()),
        ("replication", pa.int32()),
        ("seed", pa.int64()),
        *factors,
    ]


def _key_columns(task: Task, spec: RunSpec, n: int) -> dict[str, list]:
    columns: dict[str, list] = {
        "run_id": [spec.run_id] * n,
        "point": [spec.point] * n,
        "replication": [spec.replication] * n,
        "seed": [spec.seed] * n,
    }
    for name, numeric in task.factors:
        value = spec.params[name]
        columns[name] = [float(value) if numeric else str(value)] * n
    return columns


def _table(task: Task, spec: RunSpec, rows: Any) -> pa.Table:
    schema = run_schema(task)
    columns: dict[str, Any] = _key_columns(task, spec, len(rows))
    for name in ("outcome", "year", "town", "value"):
        kind = schema.field(name).type
        columns[name] = pa.Array.from_pandas(rows[name], type=kind)
    return pa.Table.from_pydict(columns, schema=schema)


def failure_table(task: Task, spec: RunSpec, error: str) -> pa.Table:
    """The one-row table recording a failed run and its traceback."""
    columns = _key_columns(task, spec, 1)
    columns["error"] = [error]
    return pa.Table.from_pydict(columns, schema=failure_schema(task))


_CODE: list[str] = []


def _worker_code() -> str:
    """The code version this process runs, asked of git once per process."""
    if not _CODE:
        _CODE.append(code_version())
    return _CODE[0]


def _parquet_bytes(table: pa.Table, seconds: float) -> bytes:
    meta = {
        b"townsim.run_seconds": f"{seconds:.6f}".encode(),
        b"townsim.host": platform.node().encode(),
        b"townsim.code_version": _worker_code().encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


# --- Driver side ------------------------------------------------------------


def task_of(plan: Plan) -> Task:
    """The shared part of every job of `plan`."""
    return Task(
        model=plan.experiment.model,
        base=plan.base,
        outcomes=tuple(plan.outcomes) if plan.outcomes else None,
        years=tuple(plan.years) if plan.years else None,
        factors=tuple((v.name, v.numeric) for v in plan.columns),
    )


def run_sweep(
    plan: Plan,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    retry_failed: bool = False,
    progress: bool = True,
    command: list[str] | None = None,
) -> SweepSummary:
    """Run every run of `plan` not yet recorded in `out`.

    Args:
        plan: A planned experiment (`load_experiment`).
        out: The results folder; created, or resumed if it holds this plan.
        workers: Local worker processes (default: one per core).
        scheduler: A Dask scheduler address (or cluster) to run on instead.
        retry_failed: Run again the runs recorded as failed.
        progress: Show a progress bar on stderr.
        command: The command line, for the manifest.

    Raises:
        SweepError: If `out` holds another experiment or another sweep is writing it.
        SweepInterrupted: On Ctrl-C, after stopping the workers.
    """
    out = Path(out)
    started = time.perf_counter()
    with _locked(out):
        prepare(plan, out, command)
        ids = {spec.run_id for spec in plan.specs()}
        done = _recorded(out / RUNS) & ids
        failed = set() if retry_failed else (_recorded(out / FAILURES) & ids) - done
        summary = SweepSummary(
            total=len(ids), skipped=len(done), earlier_failed=len(failed)
        )
        skip = done | failed
        del ids, done, failed
        _warn_code_change(out)
        _note_session(out, "started", summary)
        pending = (spec for spec in plan.specs() if spec.run_id not in skip)
        try:
            if summary.skipped + summary.earlier_failed == summary.total:
                return summary
            _drive(workers, scheduler, task_of(plan), pending, out, summary, progress)
        finally:
            summary.wall_seconds = time.perf_counter() - started
            _note_session(out, "finished", summary)
    return summary


def _drive(
    workers: int | None,
    scheduler: Any,
    task: Task,
    pending: Iterator[RunSpec],
    out: Path,
    summary: SweepSummary,
    progress: bool,
) -> None:
    """Run the pending runs, with a fresh pool whenever a worker process dies."""
    from tqdm import tqdm

    bar = tqdm(
        total=summary.total,
        initial=summary.skipped + summary.earlier_failed,
        unit="run",
        disable=not progress,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    suspects: list[RunSpec] = []
    try:
        finished = False
        while not finished:
            with _executor(workers, scheduler) as (executor, capacity, stop):
                feed = _Feed(executor, capacity, task, out, summary, bar)
                try:
                    finished = feed.run(pending, suspects)
                except KeyboardInterrupt:
                    feed.cancel()
                    stop()
                    raise SweepInterrupted(summary) from None
    finally:
        bar.close()


@dataclass
class _Feed:
    """One pool's share of a sweep: keep it busy, store what comes back."""

    executor: Executor
    capacity: int
    task: Task
    out: Path
    summary: SweepSummary
    bar: Any
    in_flight: dict[Future, RunSpec] = field(default_factory=dict)

    def run(self, pending: Iterator[RunSpec], suspects: list[RunSpec]) -> bool:
        """Run until done (True) or until the pool breaks (False).

        When a worker process dies (a crash, or the kernel killing it for memory)
        every run in flight is lost and none of them can be blamed. They become
        suspects and run again one at a time on a fresh pool; a suspect that
        breaks the pool alone is recorded as failed, so the sweep always ends.
        """
        alone = bool(suspects)
        while True:
            limit = 1 if suspects or alone else self.capacity
            while len(self.in_flight) < limit:
                spec = suspects.pop(0) if suspects else next(pending, None)
                if spec is None:
                    break
                alone = limit == 1
                try:
                    future = self.executor.submit(execute, self.task, spec)
                except BrokenExecutor:
                    suspects[:0] = [spec, *self.in_flight.values()]
                    return False
                self.in_flight[future] = spec
            if not self.in_flight:
                return True
            done, _ = wait(self.in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                spec = self.in_flight.pop(future)
                try:
                    record = future.result()
                except BrokenExecutor:
                    lost = [spec, *self.in_flight.values()]
                    self.in_flight.clear()
                    if alone and len(lost) == 1:
                        self._store(
                            _lost(
                                self.task,
                                spec,
                                "a worker process died "
                                "while running this run alone (a crash, "
                                "or killed for lack of memory)",
                            )
                        )
                    else:
                        suspects.extend(lost)
                    return False
                except Exception:  # e.g. Dask's KilledWorker after its retries
                    record = _lost(self.task, spec, traceback.format_exc())
                self._store(record)
            alone = alone and bool(suspects)

    def _store(self, record: Record) -> None:
        _store(record, self.out, self.summary)
        self.bar.update()
        self.bar.set_postfix(
            done=self.summary.done,
            failed=self.summary.failed,
            running=min(len(self.in_flight), self.capacity // 2),
        )

    def cancel(self) -> None:
        """Cancel what has not started; Ctrl-C."""
        for future in self.in_flight:
            future.cancel()


def _lost(task: Task, spec: RunSpec, reason: str) -> Record:
    """A failure record made by the driver for a run whose worker never answered."""
    table = failure_table(task, spec, reason)
    return Record(spec.run_id, False, _parquet_bytes(table, 0.0), 0.0)


def _store(record: Record, out: Path, summary: SweepSummary) -> None:
    folder = out / (RUNS if record.ok else FAILURES)
    write_atomic(folder / f"{record.run_id}.parquet", record.payload)
    if record.ok:
        summary.done += 1
        summary.model_seconds += record.seconds
        (out / FAILURES / f"{record.run_id}.parquet").unlink(missing_ok=True)
    else:
        summary.failed += 1
        summary.failures.append(record.run_id)


def write_atomic(path: Path, payload: bytes) -> None:
    """Write under a hidden temporary name, then rename: readers never see half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(payload)
    os.replace(temporary, path)


@contextlib.contextmanager
def _executor(
    workers: int | None, scheduler: Any
) -> Iterator[tuple[Executor, int, Callable[[], None]]]:
    """A concurrent.futures executor, how many runs to keep in flight, and a stop."""
    if scheduler is not None:
        with _dask_executor(scheduler) as opened:
            yield opened
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    count = workers or os.cpu_count() or 1
    # Workers fork from a server that imported the model once: starting a worker
    # costs milliseconds, not an import of Mesa, and the driver stays free of it.
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")  # one core per worker: no hidden threads
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["experiments.sweep", "model"])
    executor = ProcessPoolExecutor(
        max_workers=count, mp_context=context, initializer=worker_init
    )

    def stop() -> None:
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)

    try:
        yield executor, 2 * count, stop
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _dask_executor(
    scheduler: Any,
) -> Iterator[tuple[Executor, int, Callable[[], None]]]:
    from distributed import Client

    try:
        client = Client(scheduler, timeout=30)
    except (OSError, TimeoutError) as error:
        raise SweepError(
            f"--scheduler {scheduler}: cannot reach the Dask scheduler ({error}); "
            "start it with `dask scheduler` and give its tcp:// address"
        ) from None
    try:
        _check_worker_code(client)
        threads = sum(client.nthreads().values()) or 1
        executor = client.get_executor(pure=False)
        yield executor, 2 * threads, lambda: executor.shutdown(wait=False)
    finally:
        client.close()


def _check_worker_code(client: Any) -> None:
    """Warn when Dask workers run another version of the code than the driver."""
    mine = code_version()
    theirs = client.run(code_version)
    other = {address: v for address, v in theirs.items() if v != mine}
    for address, version in other.items():
        print(
            f"townsim: warning: worker {address} runs code {version}, driver {mine}",
            file=sys.stderr,
        )


# --- The results folder -----------------------------------------------------


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[None]:
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
            raise SweepError(
                f"{out}: holds results of another experiment "
                f"({held.get('experiment', {}).get('name', '?')}, "
                f"{held.get('source', '?')}); choose another --out"
            )
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


def _recorded(folder: Path) -> set[str]:
    return {p.name[: -len(".parquet")] for p in folder.glob("*.parquet")}


def manifest(plan: Plan, command: list[str] | None = None) -> dict[str, Any]:
    """The design, root seed, base scenario, code and package versions of a sweep."""
    from experiments.outcomes import BY_NAME

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


def _warn_code_change(out: Path) -> None:
    """Say so when a resumed sweep runs other code than the runs already there."""
    held = json.loads((out / MANIFEST).read_text())
    versions = {held["code_version"]}
    versions |= {entry["code_version"] for entry in held.get("sessions", [])}
    mine = code_version()
    if versions - {mine} and any(_recorded(out / RUNS)):
        print(
            f"townsim: warning: {out} holds runs made with code "
            f"{', '.join(sorted(versions - {mine}))}; this session runs {mine}. "
            "Each run file records its code version (Parquet metadata "
            "townsim.code_version).",
            file=sys.stderr,
        )


def _note_session(out: Path, event: str, summary: SweepSummary) -> None:
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
