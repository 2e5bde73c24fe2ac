"""Running a planned experiment: many runs on a pool of workers, resumable.

Running the same command again skips what is done. A run that raises is written
to `failures/` with its traceback and the sweep goes on; a run that kills its
worker process is isolated and recorded the same way. The driver keeps only a
bounded number of runs in flight and never the results, so its memory does not
grow with the sweep; it never imports Mesa (its workers do).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from experiments.runs.durable import pid_alive
from experiments.runs.provenance import code_version
from experiments.sweeps.experiment_file import TOWNSIM
from experiments.sweeps.plan import Plan, RunSpec
from experiments.sweeps.results_store import (
    FAILURES,
    RUNS,
    Store,
    SweepError,
    SweepSummary,
    locked,
    note_session,
    prepare,
    warn_code_change,
)
from experiments.sweeps.worker import (
    Record,
    Task,
    execute,
    failure_table,
    parquet_bytes,
    task_of,
    worker_init,
)


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C: the sweep stopped; finished runs are kept and a rerun resumes."""

    def __init__(self, summary: SweepSummary) -> None:
        super().__init__(summary)
        self.summary = summary


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
    with locked(out):
        check = prepare(plan, out, command)
        ids = {spec.run_id for spec in plan.specs()}
        done = check.good[RUNS] & ids
        failed = set() if retry_failed else (check.good[FAILURES] & ids) - done
        summary = SweepSummary(
            total=len(ids), skipped=len(done), earlier_failed=len(failed)
        )
        skip = done | failed
        del ids, done, failed, check
        warn_code_change(out)
        note_session(out, "started", summary)
        pending = (spec for spec in plan.specs() if spec.run_id not in skip)
        try:
            if summary.skipped + summary.earlier_failed == summary.total:
                return summary
            with Store(out) as store:
                _drive(
                    workers, scheduler, task_of(plan), pending, store, summary, progress
                )
        finally:
            summary.wall_seconds = time.perf_counter() - started
            note_session(out, "finished", summary)
    return summary


def run_specs(
    task: Task,
    specs: Iterable[RunSpec],
    out: Path,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    retry_failed: bool = False,
) -> SweepSummary:
    """Run those of `specs` not yet recorded in `out`, finished or failed.

    For callers that ask for runs batch by batch, such as a search that needs one
    generation's results before it can propose the next. The caller has prepared
    `out` and holds its lock (`locked`); runs found there are reused, so a batch
    asked for again after a kill runs only what is missing. With `retry_failed`
    the runs recorded as failed run again.
    """
    out = Path(out)
    started = time.perf_counter()
    unique = list({spec.run_id: spec for spec in specs}.values())
    done = {s.run_id for s in unique if (out / RUNS / f"{s.run_id}.parquet").exists()}
    failed = {
        s.run_id
        for s in unique
        if not retry_failed
        and s.run_id not in done
        and (out / FAILURES / f"{s.run_id}.parquet").exists()
    }
    summary = SweepSummary(
        total=len(unique), skipped=len(done), earlier_failed=len(failed)
    )
    pending = [s for s in unique if s.run_id not in done and s.run_id not in failed]
    try:
        if pending:
            with Store(out) as store:
                _drive(
                    workers, scheduler, task, iter(pending), store, summary, progress
                )
    finally:
        summary.wall_seconds = time.perf_counter() - started
    return summary


def _drive(
    workers: int | None,
    scheduler: Any,
    task: Task,
    pending: Iterator[RunSpec],
    store: Store,
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
            with executor_for(task.model, workers, scheduler) as opened:
                executor, capacity, stop = opened
                feed = _Feed(executor, capacity, task, store, summary, bar)
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
    store: Store
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
        _store(record, self.store, self.summary)
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
    return Record(spec.run_id, False, parquet_bytes(table, 0.0), 0.0)


def _store(record: Record, store: Store, summary: SweepSummary) -> None:
    store.put(RUNS if record.ok else FAILURES, record.run_id, record.payload)
    if record.ok:
        summary.done += 1
        summary.model_seconds += record.seconds
        store.drop(FAILURES, record.run_id)
    else:
        summary.failed += 1
        summary.failures.append(record.run_id)


@contextlib.contextmanager
def executor_for(
    model: str, workers: int | None, scheduler: Any
) -> Iterator[tuple[Executor, int, Callable[[], None]]]:
    """A concurrent.futures executor, how many runs to keep in flight, and a stop.

    The local pool's workers fork from a server tethered to this process, and
    import `model` (a sweep's model: `TOWNSIM` or `module:function`) once; a
    `scheduler` address gives a Dask cluster's executor instead. Sweeps and
    the calibration's ABC-SMC run on it alike.
    """
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
    townsim = model == TOWNSIM
    module = "model" if townsim else model.partition(":")[0]
    context.set_forkserver_preload(
        ["experiments.sweeps.tether", "experiments.sweeps.worker", module]
    )
    _start_fork_server()
    executor = ProcessPoolExecutor(
        max_workers=count,
        mp_context=context,
        initializer=worker_init,
        initargs=(os.getpid(), townsim),
    )

    def stop() -> None:
        for process in list(getattr(executor, "_processes", {}).values()):
            process.terminate()
        executor.shutdown(wait=False, cancel_futures=True)

    try:
        yield executor, 2 * count, stop
    finally:
        executor.shutdown(wait=True, cancel_futures=True)


def _start_fork_server() -> None:
    """Start the fork server from this (main) thread, tethered to this process.

    The server learns the driver's id and its socket folder from the
    environment (`tether`); both are set only while it starts.
    """
    from multiprocessing import forkserver, util

    from experiments.sweeps.tether import DRIVER, FOLDER

    saved = {name: os.environ.get(name) for name in (DRIVER, FOLDER)}
    os.environ[DRIVER] = str(os.getpid())
    os.environ[FOLDER] = _socket_folder(util)
    # Started with Ctrl-C ignored (inherited through exec), the server and the
    # resource tracker never see a KeyboardInterrupt, even while Python starts.
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, handler)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


_LONGEST_TEMP = 60
"""Longest temporary folder path that leaves room for the socket's own names."""


def _socket_folder(util: Any) -> str:
    """The folder for the fork server's socket, made where stale ones are found.

    It goes in `townsim-UID` under the temporary folder, with a file naming
    this driver. A driver killed before its fork server took charge of the
    folder (`tether`) leaves it behind; the next sweep to start removes it.
    A socket's path holds at most 107 bytes, so a temporary folder with a long
    path is passed over for /tmp.
    """
    import shutil
    import tempfile

    base = Path(tempfile.gettempdir())
    if len(os.fsencode(base)) > _LONGEST_TEMP:
        base = Path("/tmp")
    parent = base / f"townsim-{os.getuid()}"
    parent.mkdir(mode=0o700, exist_ok=True)
    for stale in parent.glob("pymp-*"):
        try:
            owner = int((stale / "driver").read_text())
        except (OSError, ValueError):
            owner = 0
        old = time.time() - stale.stat().st_mtime > 60
        if (owner and not pid_alive(owner)) or (not owner and old):
            shutil.rmtree(stale, ignore_errors=True)
    saved, tempfile.tempdir = tempfile.tempdir, str(parent)
    try:
        folder = util.get_temp_dir()  # made once per process
    finally:
        tempfile.tempdir = saved
    (Path(folder) / "driver").write_text(str(os.getpid()))
    return folder


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
