"""Benchmark robust policy search: evaluations per second and driver memory.

Prints one JSON line per case; each case runs in its own process so that the
driver's peak resident memory is its own (workers are other processes).

    python benchmarks/bench_optimize.py              # both cases
    python benchmarks/bench_optimize.py --quick      # the baseline case only

Cases:

- baseline: NSGA-II over the budget and the four lever weights of the baseline
  province (20 towns x 100 firms, 2016-2035), population 5 for 5 generations:
  25 candidates, each evaluated over 4 scenarios x 2 seeds, so 200 model runs
  (evaluations) on 2 workers. `evaluations_per_s` counts model runs,
  `candidates_per_s` candidates; `run_s` is a run's mean time in its worker and
  `workers_busy` the share of the wall time the workers spent running. The load
  average is printed: on a shared machine, 2 workers get less than 2 cores.
- memory: the same search machinery on a stand-in model that returns two numbers
  without simulating, at 1,600 and 8,000 evaluations (population 40 and 200, 5
  generations, 4 scenarios x 2 seeds): the driver's peak memory should stay flat
  as the search grows, as a sweep's does.
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
BASELINE = """
name = "bench_optimize"
scenario = "baseline"
scenarios = 4
seeds = 2
root_seed = 11
[levers]
"government.budget_share" = { range = [0.001, 0.008] }
"government.talent" = { range = [0.0, 1.0] }
"government.funding" = { range = [0.0, 1.0] }
"government.ip" = { range = [0.0, 1.0] }
"government.platform" = { range = [0.0, 1.0] }
[uncertainties]
"economy.market_growth" = { range = [0.0, 0.06] }
"ip.leakage_max" = { range = [0.1, 0.5] }
[objectives.output]
outcome = "gdp@2035"
direction = "max"
robustness = "percentile"
percentile = 10
[objectives.spending]
outcome = "total_spent"
direction = "min"
[objectives.upgraded]
outcome = "share_dim3plus@2035"
direction = "max"
robustness = "regret"
[algorithm]
population = 5
generations = 5
seed = 3
"""
STANDIN = """
name = "bench_standin"
model = "bench_optimize:standin"
scenarios = 4
seeds = 2
root_seed = 11
[levers]
x = {{ range = [0.0, 1.0] }}
y = {{ range = [0.0, 1.0] }}
[uncertainties]
u = {{ range = [0.5, 1.5] }}
[objectives.gain]
outcome = "gain"
direction = "max"
robustness = "percentile"
percentile = 10
[objectives.cost]
outcome = "cost"
direction = "min"
robustness = "regret"
[algorithm]
population = {population}
generations = 5
seed = 3
"""


def standin(x: float, y: float, u: float, seed: int) -> dict:
    """Two outcomes in conflict, without simulating."""
    return {"gain": u * x + 0.1 * y, "cost": x * x + y}


def _search(text: str, folder: Path, workers: int = 2):
    from experiments.optimize.front import write_report
    from experiments.optimize.problem import load_problem
    from experiments.optimize.search import run_search

    path = folder / "search.toml"
    path.write_text(text)
    problem = load_problem(path)
    out = folder / "out"
    archive, summary = run_search(problem, out, workers=workers, progress=False)
    started = time.perf_counter()
    write_report(problem, archive, summary, out)
    return archive, summary, time.perf_counter() - started


def baseline() -> dict:
    """200 evaluations of the baseline province over 4 scenarios x 2 seeds."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        archive, summary, report_s = _search(BASELINE, Path(tmp))
    runs = summary.runs
    wall = runs.wall_seconds
    return {
        "case": "baseline",
        "scenario": "baseline, 20 towns x 100 firms, 2016-2035",
        "candidates": len(archive.ids),
        "evaluations": runs.done,
        "scenarios_x_seeds": "4 x 2",
        "workers": 2,
        "wall_s": round(wall, 1),
        "evaluations_per_s": round(runs.done / wall, 3),
        "candidates_per_s": round(len(archive.ids) / wall, 4),
        "run_s": round(runs.model_seconds / max(runs.done, 1), 3),
        "workers_busy": round(runs.model_seconds / (2 * wall), 3),
        "report_s": round(report_s, 2),
        "driver_peak_rss_mb": round(_peak_mb(), 1),
        "load_average_before": load_before,
        "load_average": os.getloadavg()[0],
    }


def memory(population: int) -> dict:
    """Driver peak memory of a search on a stand-in model."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    before = _peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        archive, summary, _ = _search(STANDIN.format(population=population), Path(tmp))
    runs = summary.runs
    return {
        "case": "memory",
        "candidates": len(archive.ids),
        "evaluations": runs.done + runs.skipped,
        "run": "stand-in function, two outcomes",
        "wall_s": round(runs.wall_seconds, 1),
        "evaluations_per_s": round(runs.done / runs.wall_seconds, 1),
        "driver_rss_before_mb": round(before, 1),
        "driver_peak_rss_mb": round(_peak_mb(), 1),
    }


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(args: list[str]) -> dict:
    """Run one case in a fresh process and return its JSON line."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'benchmarks'}"}
    output = subprocess.run(
        [sys.executable, __file__, "--case", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=env,
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
        cases = {"baseline": baseline, "memory": memory}
        print(json.dumps(cases[name](*map(int, rest))))
        return
    print(json.dumps(run_case(["baseline"])), flush=True)
    if not args.quick:
        for population in (40, 200):
            print(json.dumps(run_case(["memory", str(population)])), flush=True)


if __name__ == "__main__":
    main()
