"""One run of one scenario: simulate, then write tidy tables and a manifest.

Results go to a temporary folder beside the target and are renamed into place
only when every file is written, so a failed or interrupted run leaves nothing
half-written behind.
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from experiments.runs.provenance import code_version, package_versions
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
    """The output folder holds something that is not a townsim result."""


def check_output(out: Path) -> None:
    """Refuse an output path that is a file or a folder with anything but results.

    Raises:
        OutputError: With the path and what is in the way.
    """
    out = Path(out)
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder; choose another --out")
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
        "code_version": code_version(),
        "packages": package_versions(),
        "python": platform.python_version(),
        "command": command if command is not None else sys.argv,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
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
    """Write the run's Parquet files and manifest.json into `out`, atomically.

    An existing `out` is replaced only if it holds nothing but earlier results.
    """
    out = Path(out)
    check_output(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        info = manifest(result, command)
        for name, frame in (
            ("series", result.series),
            ("towns", result.towns),
            ("firms", result.firms),
            ("growth", result.growth),
        ):
            frame.attrs = {}
            frame.to_parquet(staging / f"{name}.parquet", index=False)
        (staging / "manifest.json").write_text(json.dumps(info, indent=2) + "\n")
        if out.exists():
            retired = out.with_name(f".{out.name}.old-{time.time_ns()}")
            out.rename(retired)
            shutil.rmtree(retired)
        staging.rename(out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
