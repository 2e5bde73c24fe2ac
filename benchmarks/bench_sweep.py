"""Benchmark sweeps: per-run overhead, speedup of 2 workers, driver peak memory.

Prints one JSON line per case; each case runs in its own process so that the
driver's peak resident memory is its own (workers are other processes and are
not counted).

    python benchmarks/bench_sweep.py                # all cases
    python benchmarks/bench_sweep.py --quick        # overhead and speedup only

Cases:

- overhead: 48 runs of a tiny province (3 towns x 25 firms, 2016-2020). In this
  process, warm and interleaved: `model_s` is the model alone (build and run),
  `execute_s` what a worker does per run (the model, the outcome table and its
  Parquet bytes). Then a sweep on one worker: `sweep_s` is its wall time per run
  once the worker is up, and `driver_and_ipc_s` what it adds to the worker's
  own time (sending the job, waiting, writing the file). `worker_start_s` is
  the one-off start of the fork server (importing the model) and the worker.
- outcome_cost: on one finished baseline run, what a worker adds: the town
  table (`TownModel.town_frame()`), the outcomes and the Parquet bytes.
- speedup: 16 runs of the baseline province (20 towns x 100 firms, 2016-2035) on 1
  and then 2 workers; the one-off worker start (a fork server importing the
  model once) is timed apart and reported both in and out. `run_s` is a run's
  mean time in its worker and `workers_busy` the share of the wall time the
  workers spent running (1.0: the driver never kept a worker waiting). The load
  average is printed: on a shared machine, 2 workers get less than 2 cores and
  each run takes longer.
- parallel: 16 runs of a stand-in that sleeps 0.5 s (needing no core) on 1 and 2
  workers: the machinery's own parallelism, apart from the cores a shared
  machine can spare.
- memory: 1,000 and 10,000 runs of a stand-in for a small run: a function that
  returns as many outcome rows as the tiny province does (14 yearly outcomes over
  3 years and 8 run outcomes) without simulating. It drives the sweep machinery
  as hard as it can go; the driver's memory is what is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TINY = """
name = "bench_tiny"
replications = {reps}
root_seed = 1
years = [2016, 2018, 2020]
[set]
"province.towns" = 3
"province.firms_per_town" = 25
"run.end_year" = 2020
[levers]
"government.talent" = [0.1, 0.3, 0.5, 0.7]
"government.ip" = [0.1, 0.4]
"""
BASELINE = """
name = "bench_baseline"
replications = 2
root_seed = 2
scenario = "baseline"
[levers]
"government.talent" = [0.1, 0.3, 0.5, 0.7]
"government.ip" = [0.1, 0.4]
"""
STANDIN = """
name = "bench_standin"
model = "bench_sweep:standin"
replications = 1
[design]
kind = "lhs"
samples = {runs}
[uncertainties]
x = {{ range = [0.0, 1.0] }}
y = {{ range = [0.0, 1.0] }}
"""


def standin(x: float, y: float, seed: int) -> dict:
    """As many outcome rows as a tiny province's run, without simulating."""
    values: dict = {f"yearly_{i}": {2016: x, 2018: y, 2020: x + y} for i in range(14)}
    values.update({f"run_{i}": x * y + i for i in range(8)})
    return values


SLEEPER = """
name = "bench_sleeper"
model = "bench_sweep:sleeper"
replications = 2
[levers]
x = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
"""


def sleeper(x: float, seed: int) -> dict:
    """A run that takes half a second without using a core."""
    time.sleep(0.5)
    return {"y": x}


def _plan(text: str, folder: Path):
    from experiments.sweeps.plan import load_experiment

    path = folder / "experiment.toml"
    path.write_text(text)
    return load_experiment(path)


def _startup_seconds(workers: int) -> float:
    """Time to bring up `workers` workers and run one trivial job on each.

    The first pool of a process also starts the fork server, which imports the
    model once; later pools (the sweep's) fork from it in milliseconds.
    """
    from concurrent.futures import wait

    from experiments.sweeps.driver import _executor

    started = time.perf_counter()
    with _executor(workers, None) as (executor, _, _stop):
        wait([executor.submit(os.getpid) for _ in range(workers)])
    return time.perf_counter() - started


def overhead() -> dict:
    """Per-run cost of the sweep machinery against the model's own time."""
    from experiments.sweeps.driver import run_sweep
    from experiments.sweeps.worker import execute, task_of
    from model import TownModel
    from scenarios import build_scenario

    with tempfile.TemporaryDirectory() as tmp:
        plan = _plan(TINY.format(reps=6), Path(tmp))
        task = task_of(plan)
        specs = list(plan.specs())
        execute(task, specs[0])  # warm imports and caches
        bare, executed = [], []
        for spec in specs:  # interleaved, so that load from others hits both alike
            started = time.perf_counter()
            scenario = build_scenario(task.base, spec.params)
            TownModel(scenario, rng=spec.seed, views="lazy").run()
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            execute(task, spec)
            executed.append(time.perf_counter() - started)
        startup = _startup_seconds(1)
        summary = run_sweep(plan, Path(tmp) / "out", workers=1, progress=False)
    runs = summary.done
    model_s, execute_s = sum(bare) / runs, sum(executed) / runs
    sweep_s = summary.wall_seconds / runs
    worker_execute_s = summary.model_seconds / runs
    return {
        "case": "overhead",
        "runs": runs,
        "scenario": "3 towns x 25 firms, 2016-2020",
        "model_s": round(model_s, 4),
        "execute_s": round(execute_s, 4),
        "outcomes_and_file_s": round(execute_s - model_s, 4),
        "sweep_s": round(sweep_s, 4),
        "driver_and_ipc_s": round(sweep_s - worker_execute_s, 4),
        "overhead_share_of_model": round(
            (execute_s - model_s) / model_s + (sweep_s - worker_execute_s) / model_s, 3
        ),
        "worker_start_s": round(startup, 2),
    }


def outcome_cost() -> dict:
    """What a worker adds to one baseline run: town table, outcomes, Parquet bytes."""
    from experiments.sweeps.outcomes import measure
    from experiments.sweeps.plan import RunSpec
    from experiments.sweeps.worker import Task, parquet_bytes, run_table
    from model import TownModel

    started = time.perf_counter()
    model = TownModel("baseline", rng=1, views="lazy").run()
    model_s = time.perf_counter() - started
    task = Task("townsim", None, None, None, (("x", True),))
    spec = RunSpec("bench", 0, 0, 1, {"x": 1.0})
    times = {"town_frame_s": 0.0, "outcomes_s": 0.0, "file_s": 0.0}
    repeats = 10
    for _ in range(repeats):
        started = time.perf_counter()
        towns = model.town_frame()
        framed = time.perf_counter()
        rows = measure(towns)
        measured = time.perf_counter()
        parquet_bytes(run_table(task, spec, rows), 0.0)
        times["town_frame_s"] += framed - started
        times["outcomes_s"] += measured - framed
        times["file_s"] += time.perf_counter() - measured
    return {
        "case": "outcome_cost",
        "scenario": "baseline, 20 towns x 100 firms, 2016-2035",
        "model_s": round(model_s, 3),
        **{name: round(total / repeats, 4) for name, total in times.items()},
    }


def speedup(workers: int) -> dict:
    """Wall time of 16 baseline runs on `workers` workers."""
    from experiments.sweeps.driver import run_sweep

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        plan = _plan(BASELINE, Path(tmp))
        startup = _startup_seconds(workers)
        summary = run_sweep(plan, Path(tmp) / "out", workers=workers, progress=False)
    return {
        "case": "speedup",
        "workers": workers,
        "runs": summary.done,
        "scenario": "baseline, 20 towns x 100 firms, 2016-2035",
        "wall_s": round(startup + summary.wall_seconds, 2),
        "worker_start_s": round(startup, 2),
        "wall_without_start_s": round(summary.wall_seconds, 2),
        "run_s": round(summary.model_seconds / summary.done, 3),
        "workers_busy": round(
            summary.model_seconds / (workers * summary.wall_seconds), 3
        ),
        "load_average_before": load_before,
        "load_average": os.getloadavg()[0],
    }


def parallel(workers: int) -> dict:
    """Wall time of 16 half-second runs that need no CPU, on `workers` workers.

    This isolates the sweep machinery's parallelism from the cores the machine
    can spare: with free cores, real runs scale the same way.
    """
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from experiments.sweeps.driver import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        plan = _plan(SLEEPER, Path(tmp))
        startup = _startup_seconds(workers)
        summary = run_sweep(plan, Path(tmp) / "out", workers=workers, progress=False)
    return {
        "case": "parallel",
        "workers": workers,
        "runs": summary.done,
        "run": "stand-in sleeping 0.5 s",
        "wall_without_start_s": round(summary.wall_seconds, 2),
        "worker_start_s": round(startup, 2),
    }


def memory(runs: int) -> dict:
    """Driver peak memory for `runs` stand-in runs on 2 workers."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from experiments.sweeps.driver import run_sweep

    with tempfile.TemporaryDirectory() as tmp:
        plan = _plan(STANDIN.format(runs=runs), Path(tmp))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        summary = run_sweep(plan, Path(tmp) / "out", workers=2, progress=False)
        files = len(list((Path(tmp) / "out" / "runs").glob("*.parquet")))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "case": "memory",
        "runs": runs,
        "files": files,
        "run": "stand-in function, 50 outcome rows a run",
        "wall_s": round(summary.wall_seconds, 1),
        "runs_per_s": round(runs / summary.wall_seconds, 1),
        "driver_rss_before_mb": round(before / 1024, 1),
        "driver_peak_rss_mb": round(peak / 1024, 1),
    }


def run_case(args: list[str]) -> dict:
    """Run one case in a fresh process and return its JSON line."""
    output = subprocess.run(
        [sys.executable, __file__, "--case", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    """Run the cases, each in its own process, and print one JSON line each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--case", nargs="+")
    args = parser.parse_args()
    if args.case:
        name, *rest = args.case
        cases = {
            "overhead": overhead,
            "outcome_cost": outcome_cost,
            "speedup": speedup,
            "parallel": parallel,
            "memory": memory,
        }
        print(json.dumps(cases[name](*map(int, rest))))
        return
    for case in ("overhead", "outcome_cost"):
        print(json.dumps(run_case([case])), flush=True)
    walls = {}
    for workers in (1, 2):
        line = run_case(["speedup", str(workers)])
        walls[workers] = line
        print(json.dumps(line), flush=True)
    print(
        json.dumps(
            {
                "case": "speedup_2_over_1",
                "with_start": round(walls[1]["wall_s"] / walls[2]["wall_s"], 2),
                "without_start": round(
                    walls[1]["wall_without_start_s"] / walls[2]["wall_without_start_s"],
                    2,
                ),
            }
        ),
        flush=True,
    )
    sleeping = {w: run_case(["parallel", str(w)]) for w in (1, 2)}
    for line in sleeping.values():
        print(json.dumps(line), flush=True)
    ratio = sleeping[1]["wall_without_start_s"] / sleeping[2]["wall_without_start_s"]
    print(json.dumps({"case": "parallel_2_over_1", "ratio": round(ratio, 2)}))
    if not args.quick:
        for runs in (1000, 10_000):
            print(json.dumps(run_case(["memory", str(runs)])), flush=True)


if __name__ == "__main__":
    main()
