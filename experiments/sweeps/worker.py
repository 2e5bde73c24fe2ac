"""The worker side of a sweep: run one job, return its rows as Parquet bytes.

Workers are long-lived processes (or Dask workers) that import the model once
and run many jobs. A job that raises becomes a failure record with its
traceback, never a lost worker. Every run file has the same columns: the run's
keys, one column per factor, then tidy outcome rows.
"""

from __future__ import annotations

import io
import os
import platform
import signal
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from experiments.runs.durable import pid_alive
from experiments.runs.processes import die_with_parent
from experiments.runs.provenance import code_version
from experiments.sweeps.experiment_file import TOWNSIM
from experiments.sweeps.plan import Plan, RunSpec


@dataclass(frozen=True)
class Task:
    """What every run of a sweep shares; sent to the workers with each job."""

    model: str
    base: dict[str, Any] | None
    outcomes: tuple[str, ...] | None
    years: tuple[int, ...] | None
    factors: tuple[tuple[str, bool], ...]
    """Factor columns and whether each is numeric."""
    arguments: dict[str, Any] = field(default_factory=dict)
    """A function model's fixed keyword arguments."""
    posterior: tuple[str, ...] = ()
    """Keys of the posterior whose draws the runs use (none: no posterior)."""


@dataclass(frozen=True)
class Record:
    """What a worker sends back: a finished or failed run as Parquet bytes."""

    run_id: str
    ok: bool
    payload: bytes
    seconds: float


_PREPARED: list[bool] = []


def _prepare_once() -> None:
    """Keep freed memory in this process, once (Dask workers skip `worker_init`)."""
    if not _PREPARED:
        from experiments.runs.allocator import keep_freed_memory

        keep_freed_memory()
        _PREPARED.append(True)


def worker_init(driver: int | None = None, townsim: bool = True) -> None:
    """Tie the worker to its pool, keep freed memory, import the model once.

    Workers ignore SIGINT so that Ctrl-C stops the sweep, not a run as a
    failure. A worker of a local pool dies with the fork server it was forked
    from, which dies with the driver (`tether`): none outlives a killed driver.

    Args:
        driver: The driver's process id (local pools); None for other executors.
        townsim: Import the town model now rather than in the first job.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if driver is not None:
        die_with_parent(signal.SIGKILL)
        if not pid_alive(driver):
            os._exit(1)
    _prepare_once()
    if townsim:
        import model  # noqa: F401  (imported once here rather than in the first job)


def execute(task: Task, spec: RunSpec) -> Record:
    """Run one job; an exception becomes a failure record, never a lost worker."""
    _prepare_once()
    started = time.perf_counter()
    try:
        rows = _simulate(task, spec)
        table = run_table(task, spec, rows)
        ok = True
    except (Exception, SystemExit):  # a failed run is data: keep its traceback
        table = failure_table(task, spec, traceback.format_exc())
        ok = False
    seconds = time.perf_counter() - started
    return Record(spec.run_id, ok, parquet_bytes(table, seconds), seconds)


def _simulate(task: Task, spec: RunSpec) -> Any:
    """The outcome rows of one run (a pandas DataFrame).

    A function model returns a mapping (`rows_from_mapping`) or the rows
    themselves, for outcomes by town or many per year.
    """
    import pandas as pd

    from experiments.sweeps.outcomes import measure, rows_from_mapping

    if task.model == TOWNSIM:
        from model import TownModel
        from scenarios import build_scenario

        scenario = build_scenario(
            task.base, {**spec.posterior, **spec.params}, origin=f"run {spec.run_id}"
        )
        model = TownModel(scenario, rng=spec.seed, views="lazy").run()
        outcomes = list(task.outcomes) if task.outcomes else None
        years = list(task.years) if task.years else None
        return measure(model.town_frame(), outcomes, years)
    function = _function(task.model)
    found = function(**task.arguments, **spec.params, seed=spec.seed)
    return found if isinstance(found, pd.DataFrame) else rows_from_mapping(found)


_FUNCTIONS: dict[str, Callable[..., Any]] = {}


def _function(reference: str) -> Callable[..., Any]:
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


POSTERIOR = "posterior."
"""Prefix of the columns holding a run's posterior draw (`posterior.KEY`)."""


def _key_fields(task: Task) -> list[tuple[str, pa.DataType]]:
    factors = [(n, pa.float64() if num else pa.string()) for n, num in task.factors]
    drawn = [(f"{POSTERIOR}{key}", pa.float64()) for key in task.posterior]
    return [
        ("run_id", pa.string()),
        ("point", pa.int64()),
        ("replication", pa.int32()),
        ("seed", pa.int64()),
        *factors,
        *([("draw", pa.int32()), *drawn] if task.posterior else []),
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
    if task.posterior:
        columns["draw"] = [spec.draw] * n
        for key in task.posterior:
            columns[f"{POSTERIOR}{key}"] = [float(spec.posterior[key])] * n
    return columns


def run_table(task: Task, spec: RunSpec, rows: Any) -> pa.Table:
    """The table of one finished run: its keys and factors on every outcome row."""
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


def parquet_bytes(table: pa.Table, seconds: float) -> bytes:
    """A run file's bytes, recording its seconds, host and code version."""
    meta = {
        b"townsim.run_seconds": f"{seconds:.6f}".encode(),
        b"townsim.host": platform.node().encode(),
        b"townsim.code_version": _worker_code().encode(),
    }
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def task_of(plan: Plan) -> Task:
    """The shared part of every job of `plan`."""
    return Task(
        model=plan.experiment.model,
        base=plan.base,
        outcomes=tuple(plan.outcomes) if plan.outcomes else None,
        years=tuple(plan.years) if plan.years else None,
        factors=tuple((v.name, v.numeric) for v in plan.columns),
        arguments=plan.arguments,
        posterior=tuple(plan.posterior.keys) if plan.posterior else (),
    )
