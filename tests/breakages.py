"""Break a mechanism on purpose and see which fast tests fail.

Each breakage is a small edit of the production code that a test suite must
notice: a behaviour out of order or left out, a weight set to zero, a lever
whose money buys nothing, two systems trading places, a biased sampler. For
each, the project is copied (without .git and .venv) to a scratch folder, the
edit applied there, and the fast tests (`pytest -m "not slow"`) run on the
copy; the worktree itself is never changed. No test depends on this script.

    .venv/bin/python tests/breakages.py                 # every breakage
    .venv/bin/python tests/breakages.py learn-skipped   # some, by name
    .venv/bin/python tests/breakages.py --tests tests/agents tests/model

Prints one row per breakage: the tests that failed, the fastest of them with
its time, and the time of the whole run. A breakage no test catches is listed
with "NOT CAUGHT" and makes the script exit with code 1.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".git", ".venv", ".hypothesis", ".pytest_cache", ".ruff_cache", "mutants"}


@dataclass(frozen=True)
class Breakage:
    """One edit: in `path`, `old` (found exactly once) becomes `new`."""

    name: str
    what: str
    path: str
    old: str
    new: str


STEP = "STEP = (hire_talent, revise_ties, learn, consider_upgrade, produce, " + (
    "exit_if_failing)"
)

BREAKAGES = (
    Breakage(
        "step-order",
        "learn and consider_upgrade swapped in STEP",
        "agents/enterprise.py",
        STEP,
        STEP.replace("learn, consider_upgrade", "consider_upgrade, learn"),
    ),
    Breakage(
        "platform-members-weight",
        "the platform index's member weight set to 0",
        "agents/systems.py",
        "PLATFORM_WEIGHTS = (0.6, 0.2, 0.2)",
        "PLATFORM_WEIGHTS = (0.0, 0.2, 0.2)",
    ),
    Breakage(
        "talent-buys-nothing",
        "the talent lever's money buys no talent",
        "agents/government.py",
        "towns.talent_pool[idx] += spend[:, TALENT] / policy.talent_cost",
        "towns.talent_pool[idx] += 0.0 * spend[:, TALENT] / policy.talent_cost",
    ),
    Breakage(
        "systems-swapped",
        "chain and industry trade places in SYSTEMS",
        "agents/systems.py",
        '    System("chain", "industrial chain", "funding", chain),\n'
        '    System("industry", "industry", "ip", industry),\n',
        '    System("industry", "industry", "ip", industry),\n'
        '    System("chain", "industrial chain", "funding", chain),\n',
    ),
    Breakage(
        "measures-swapped",
        "chain and industry trade measures",
        "agents/systems.py",
        '    System("chain", "industrial chain", "funding", chain),\n'
        '    System("industry", "industry", "ip", industry),\n',
        '    System("chain", "industrial chain", "funding", industry),\n'
        '    System("industry", "industry", "ip", chain),\n',
    ),
    Breakage(
        "learn-skipped",
        "learn left out of STEP",
        "agents/enterprise.py",
        STEP,
        STEP.replace("learn, ", ""),
    ),
    Breakage(
        "learn-does-nothing",
        "learn returns at once",
        "agents/enterprise.py",
        "    gaps = tie_gaps(world, idx)\n",
        "    return\n    gaps = tie_gaps(world, idx)\n",
    ),
    Breakage(
        "gaps-start-late",
        "Streams.chosen: geometric gaps counted from place 0, not -1",
        "agents/streams.py",
        "    found, last = [], -1\n",
        "    found, last = [], 0\n",
    ),
    Breakage(
        "gaps-too-short",
        "Streams.chosen: gaps drawn at 1.1 times the chance (10% too many events)",
        "agents/streams.py",
        "rng.geometric(chance, size=batch)",
        "rng.geometric(1.1 * chance, size=batch)",
    ),
    Breakage(
        "last-place-lost",
        "Streams.chosen: the last place is never chosen",
        "agents/streams.py",
        "found.append(places[places < size])",
        "found.append(places[places < size - 1])",
    ),
    Breakage(
        "naive-path-low",
        "Streams.chosen: chances >= 0.2 drawn at 0.9 times the chance",
        "agents/streams.py",
        "return np.flatnonzero(rng.random(size) < chance)",
        "return np.flatnonzero(rng.random(size) < 0.9 * chance)",
    ),
    Breakage(
        "time-ignored",
        "Streams.uniform: the key ignores the step (the same numbers every step)",
        "agents/streams.py",
        "key = mix(key + GOLDEN * (when & MASK))",
        "key = mix(key + GOLDEN * (0 & MASK))",
    ),
    Breakage(
        "pair-ordered",
        "Streams.pair_uniform: a tie's number depends on which firm comes first",
        "agents/streams.py",
        "low, high = np.minimum(a, b), np.maximum(a, b)",
        "low, high = np.asarray(a), np.asarray(b)",
    ),
    Breakage(
        "pick-misses-last",
        "random_firm_in: the last open slot of a block is never met",
        "agents/ties.py",
        "inside = rank < b.width[here]",
        "inside = rank < b.width[here] - 1",
    ),
    Breakage(
        "pick-by-width",
        "random_firm_in: ranks drawn over today's width, so widening moves picks",
        "agents/ties.py",
        "rank = (draw * b.most[here]).astype(np.intp)",
        "rank = (draw * b.width[here]).astype(np.intp)",
    ),
)


def scratch_copy(target: Path) -> None:
    """Copy the project to `target`, leaving out version control and caches."""
    shutil.copytree(
        ROOT,
        target,
        ignore=lambda _, names: [
            n for n in names if n in SKIP or n.endswith(".egg-info")
        ],
    )


def apply(breakage: Breakage, root: Path) -> None:
    path = root / breakage.path
    text = path.read_text(encoding="utf-8")
    found = text.count(breakage.old)
    if found != 1:
        raise SystemExit(
            f"{breakage.name}: expected one match in {breakage.path}, found {found}"
        )
    path.write_text(text.replace(breakage.old, breakage.new), encoding="utf-8")


def run_fast_tests(
    root: Path, tests: list[str]
) -> tuple[list[tuple[str, float]], float]:
    """The failed tests (name, seconds) and the wall time of a fast run in `root`."""
    report = root / "report.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "not slow",
        "-q",
        "--tb=no",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        *tests,
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=root, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    failed = []
    for case in ET.parse(report).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
            failed.append((name, float(case.get("time", 0.0))))
    return failed, elapsed


def check_imports_from(root: Path) -> None:
    """The copy's packages, not the worktree's editable install, must be tested."""
    found = subprocess.run(
        [sys.executable, "-c", "import agents; print(agents.__file__)"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(found).is_relative_to(root), f"tests would import {found}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="breakages to try (default: all)")
    parser.add_argument("--tests", nargs="*", default=[], help="test paths to run")
    args = parser.parse_args()
    chosen = [b for b in BREAKAGES if not args.names or b.name in args.names]
    print("| breakage | fast tests failed | fastest failing test (s) | run (s) |")
    print("| --- | --- | --- | --- |")
    missed = 0
    for breakage in chosen:
        with tempfile.TemporaryDirectory(prefix="breakage-") as tmp:
            root = Path(tmp) / "project"
            scratch_copy(root)
            apply(breakage, root)
            check_imports_from(root)
            failed, elapsed = run_fast_tests(root, args.tests)
        if failed:
            name, seconds = min(failed, key=lambda f: f[1])
            print(
                f"| {breakage.what} | {len(failed)}: "
                + ", ".join(n for n, _ in failed[:6])
                + (" ..." if len(failed) > 6 else "")
                + f" | {name} ({seconds:.3f}) | {elapsed:.0f} |",
                flush=True,
            )
        else:
            missed += 1
            print(f"| {breakage.what} | NOT CAUGHT | | {elapsed:.0f} |", flush=True)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
