"""Benchmark the model: build and run time, time per firm-step, peak memory.

Prints one JSON line per case; each case runs in its own process so that its peak
resident memory is its own. The last line is the speed ratio of the two schedules
measured at 10,000 firms in this same run.

    python benchmarks/bench_model.py            # all cases
    python benchmarks/bench_model.py --quick    # small cases only
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CASES = [
    (1, 200, 80, "vectorized", "all"),
    (50, 200, 80, "vectorized", "all"),
    (500, 1000, 80, "vectorized", "lazy"),
    (500, 1000, 80, "vectorized", "all"),
]
RATIO_CASE = (10, 1000)  # 10,000 firms
AGENT_STEPS = 4  # the agents schedule is slow; a few steps give its per-step cost


def measure(towns: int, firms: int, steps: int, schedule: str, views: str) -> dict:
    """Build and run one model; return the figures of one JSON line."""
    started = time.perf_counter()
    from experiments.runs.allocator import keep_freed_memory
    from model import TownModel

    keep_freed_memory()
    model = TownModel(
        rng=1,
        towns=towns,
        firms_per_town=firms,
        schedule=schedule,
        views=views,
        end_year=2016 + -(-steps // 4),
    )
    built = time.perf_counter()
    for _ in range(steps):
        model.step()
    ran = time.perf_counter()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "towns": towns,
        "firms_per_town": firms,
        "steps": steps,
        "schedule": schedule,
        "views": views,
        "build_s": round(built - started, 3),
        "run_s": round(ran - built, 3),
        "ns_per_firm_step": round(1e9 * (ran - built) / (steps * towns * firms), 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
    }


def in_subprocess(
    towns: int, firms: int, steps: int, schedule: str, views: str = "all"
) -> dict:
    """Run `measure` in a fresh interpreter and parse its JSON line."""
    case = [str(towns), str(firms), str(steps), schedule, views]
    output = subprocess.run(
        [sys.executable, __file__, "--case", *case],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    """Run every case and print the results as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--case", nargs=5, metavar=("TOWNS", "FIRMS", "STEPS", "SCHEDULE", "VIEWS")
    )
    parser.add_argument("--quick", action="store_true", help="skip the largest cases")
    args = parser.parse_args()
    if args.case:
        towns, firms, steps, schedule, views = args.case
        print(json.dumps(measure(int(towns), int(firms), int(steps), schedule, views)))
        return
    cases = CASES[:2] if args.quick else CASES
    for case in cases:
        print(json.dumps(in_subprocess(*case)), flush=True)
    towns, firms = RATIO_CASE
    fast = in_subprocess(towns, firms, 80, "vectorized")
    slow = in_subprocess(towns, firms, AGENT_STEPS, "agents")
    print(json.dumps(fast), flush=True)
    print(json.dumps(slow), flush=True)
    ratio = slow["ns_per_firm_step"] / fast["ns_per_firm_step"]
    print(json.dumps({"schedule_ratio_at_10000_firms": round(ratio, 1)}))


if __name__ == "__main__":
    main()
