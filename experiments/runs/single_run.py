"""One run of one scenario: simulate, then write tidy tables and a manifest.

Results go to a staging folder beside the target, are flushed to disk, and take
the target's place in one step only when every file is written: the target
holds complete old or complete new results at every instant. What a killed run
leaves beside the target is cleaned up by the next run (`recover`).
"""

from __future__ import annotations

import glob
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from experiments.runs.durable import (
    exchange,
    fsync_path,
    sync_tree,
    write_durably,
)
from experiments.runs.provenance import (
    made_by,
)
from model import TownModel
from scenarios import Scenario

RESULT_FILES = frozenset(
    {
        "series.parquet",
        "towns.parquet",
        "firms.parquet",
        "growth.parquet",
        "manifest.json",
    }
)


class OutputError(ValueError):
    """The output place cannot take a run's results (exit 2, before simulating)."""


def check_output(out: Path) -> None:
    """Refuse an output place before simulating, with one line naming the problem.

    Refused: the folder the command runs in (or one holding it), a file, a
    path under a file, a folder holding anything but townsim results, and a
    place whose nearest existing folder cannot be written.

    Raises:
        OutputError: With the path and what is in the way.
    """
    out = Path(out)
    target = Path(os.path.abspath(out))
    here = Path.cwd()
    if target == here or target in here.parents:
        raise OutputError(
            f"{out}: is the folder you are in, or holds it; choose a new folder "
            "for --out"
        )
    for place in (target, *target.parents):
        if place.exists():
            break
    if not place.is_dir():
        what = "is a file" if place == target else f"lies under {place}, a file"
        raise OutputError(f"{out}: {what}, not a folder; choose another --out")
    if place == target:
        _check_only_results(out)
        place = target.parent
    try:  # a real try: permissions alone miss read-only and special file systems
        Path(tempfile.mkdtemp(prefix=".townsim-probe-", dir=place)).rmdir()
    except OSError as error:
        raise OutputError(
            f"{out}: cannot write in {place} ({error.strerror}); choose another --out"
        ) from None


def _check_only_results(out: Path) -> None:
    foreign = sorted(p.name for p in out.iterdir() if p.name not in RESULT_FILES)
    if foreign:
        raise OutputError(
            f"{out}: holds files that are not townsim results ({', '.join(foreign[:3])}"
            f"{', ...' if len(foreign) > 3 else ''}); choose an empty or new --out"
        )


@dataclass
class RunResult:
    """The tables a run produces, with what made them."""

    scenario: Scenario
    seed: int
    series: pd.DataFrame
    towns: pd.DataFrame
    firms: pd.DataFrame
    growth: pd.DataFrame
    """Each year's change of the listed towns' output, part by part."""
    seconds: float


def run_scenario(
    scenario: Scenario, seed: int, progress: Callable[[int], None] | None = None
) -> RunResult:
    """Simulate `scenario` with `seed` to its end year.

    Args:
        scenario: A validated scenario.
        seed: The root seed of every random draw.
        progress: Called with the step number after each step.
    """
    started = time.perf_counter()
    # A run writes tables, never reads firms' Mesa agents: make them only on demand.
    model = TownModel(scenario, rng=seed, views="lazy")
    model.run(progress)
    return RunResult(
        scenario=model.settings,
        seed=seed,
        series=model.model_frame(),
        towns=model.town_frame(),
        firms=model.firm_frame(),
        growth=model.growth_frame(),
        seconds=time.perf_counter() - started,
    )


def manifest(result: RunResult, command: list[str] | None = None) -> dict:
    """Everything needed to reproduce a result file."""
    return {
        "scenario": result.scenario.model_dump(mode="json"),
        "seed": result.seed,
        **made_by(command),
        "run_seconds": round(result.seconds, 3),
        "files": {
            "series.parquet": "province series, one row per step (DataCollector)",
            "towns.parquet": "one row per town and year-end",
            "firms.parquet": "the live firms at the end, one row each",
            "growth.parquet": "each year's change of the listed towns' output, "
            "part by part, M yuan a year at start-year prices (prices: nominal "
            "less real change)",
        },
    }


def write_results(
    result: RunResult, out: Path, command: list[str] | None = None
) -> Path:
    """Write the run's Parquet files and manifest.json into `out`, crash-safely.

    The files go to a staging folder beside `out`, each flushed to disk, the
    manifest last; the staging folder then takes the place of `out` in one
    step (`durable.exchange`), so `out` holds the complete old or the complete
    new results at every instant, and the old ones are removed only after the
    new ones are in place. An existing `out` is replaced only if it holds
    nothing but earlier results.
    """
    out = Path(out)
    check_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.with_name(f".{out.name}{STAGING}{secrets.token_hex(4)}")
    staging.mkdir()  # as the umask allows, like any folder the user makes
    try:
        for name, frame in (
            ("series", result.series),
            ("towns", result.towns),
            ("firms", result.firms),
            ("growth", result.growth),
        ):
            frame.attrs = {}
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        sync_tree(staging)
        text = json.dumps(manifest(result, command), indent=2, allow_nan=False)
        write_durably(staging / "manifest.json", (text + "\n").encode())
        _put_in_place(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out


STAGING = ".new-"
"""Marks a staging folder beside the results: `.NAME.new-RANDOM`."""
RETIRED = ".old-"
"""Marks earlier results set aside where an atomic exchange is not available."""


def _put_in_place(staging: Path, out: Path) -> None:
    """Move `staging` to `out`; afterwards `staging` holds what `out` held, if any."""
    if not out.exists():
        staging.rename(out)
    elif not exchange(staging, out):
        retired = out.with_name(f".{out.name}{RETIRED}{secrets.token_hex(4)}")
        out.rename(retired)  # a kill here leaves both: `recover` picks the new
        staging.rename(out)
        retired.rename(staging)
    fsync_path(out.parent)


def recover(out: Path) -> list[str]:
    """Clean up after a run killed while writing `out`; say what was done.

    A staging folder without its manifest is an unfinished write and is
    removed. If `out` is missing (a kill between the two renames of a
    replacement without exchange), the newest complete folder is put back in
    its place. Only folders holding nothing but result files are touched.

    Returns:
        One line per action, for the user.
    """
    out = Path(out)
    if not out.parent.is_dir():
        return []
    said = []
    for marker in (STAGING, RETIRED):
        for left in sorted(out.parent.glob(f".{glob.escape(out.name)}{marker}*")):
            if not left.is_dir() or not _only_result_files(left):
                continue
            if not out.exists() and (left / "manifest.json").exists():
                left.rename(out)
                fsync_path(out.parent)
                said.append(f"{out}: put back complete results from {left.name}")
            else:
                shutil.rmtree(left)
                said.append(f"{out}: removed {left.name}, left by an interrupted run")
    return said


def _only_result_files(folder: Path) -> bool:
    return all(
        p.name in RESULT_FILES or (p.name.startswith(".") and p.name.endswith(".tmp"))
        for p in folder.iterdir()
    )
