"""Will a run fit in memory? An estimate made before anything is simulated.

A run whose firm table cannot be allocated used to fail with a MemoryError
after its towns were set up, or be killed by the kernel. The estimate here is a
floor: the firm table at the start (`Firms.row_bytes` per slot, with the first
room for start-ups) twice over, since the table is copied when town blocks
widen and again into the results, plus the interpreter and its libraries. A run
is refused only when even that floor exceeds the memory the system can give.
"""

from __future__ import annotations

import math
import resource
from pathlib import Path

from agents.tables import Firms
from scenarios import Scenario

BASE_BYTES = 150 * 2**20
"""Python, numpy, pandas, pyarrow and Mesa loaded, before any table."""
START_ROOM = 0.05
"""Room for start-ups in the first firm table (`model.province.START_ROOM`)."""
COPIES = 2
"""Firm tables alive at once at the least: one and its widened or exported copy."""


def needed_bytes(scenario: Scenario) -> int:
    """The least memory a run of `scenario` needs, in bytes."""
    p = scenario.province
    agents = max(p.towns * p.firms_per_town, p.towns * p.min_firms_per_town)
    slots = math.ceil(agents * (1 + min(START_ROOM, p.headroom)))
    row = Firms.row_bytes(scenario.enterprise.max_partners)
    return BASE_BYTES + COPIES * slots * row


def available_bytes() -> int | None:
    """Memory this process can still get, in bytes; None if unknown.

    The least of what the system has free, what its control group allows and
    its address-space limit.
    """
    limits = [_mem_available(), _cgroup_room()]
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    known = [limit for limit in limits if limit is not None]
    return min(known) if known else None


def _mem_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((folder / "memory.current").read_text())
    except (OSError, ValueError):
        return None


def memory_problem(scenario: Scenario, runs_at_once: int = 1) -> str | None:
    """Why `scenario` cannot run here (one line), or None if it may fit.

    Args:
        scenario: The scenario to run.
        runs_at_once: Runs of it in memory together (a sweep's workers).
    """
    need = needed_bytes(scenario) * runs_at_once
    room = available_bytes()
    if room is None or need <= room:
        return None
    p = scenario.province
    runs = (
        f"{runs_at_once} runs of this size at once need"
        if runs_at_once > 1
        else ("a run of this size needs")
    )
    return (
        f"province.towns = {p.towns} x province.firms_per_town = "
        f"{p.firms_per_town}: {runs} at least {_gb(need)} of memory, "
        f"{_gb(room)} is available; choose fewer towns or firms per town"
        + (" or fewer --workers" if runs_at_once > 1 else "")
    )


def _gb(count: int) -> str:
    return f"{count / 2**30:.1f} GB"
