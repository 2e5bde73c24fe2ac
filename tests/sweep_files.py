"""Helpers for the tests that write experiment files and read sweep folders."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SMOKE = ROOT / "experiments" / "smoke.toml"
TINY = """
[set]
"province.towns" = 3
"province.firms_per_town" = 25
"run.end_year" = {end}
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def tidy(folder: Path) -> pd.DataFrame:
    frame = pd.read_parquet(folder / "runs")
    keys = ["run_id", "outcome", "year", "town"]
    return frame.sort_values(keys).reset_index(drop=True)


BY_TOWN = """
name = "by_town"
model = "sweep_toys:by_town"
replications = 2
[set]
scale = 10.0
towns = 3
[levers]
x = [0.1, 0.2]
"""


def unwritable(tmp_path: Path) -> Path:
    """A folder in which nothing can be made, even by root (else the test skips)."""
    import pytest

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    for place in (locked, Path("/sys")):
        try:
            (place / "probe").mkdir()
        except OSError:
            return place
        (place / "probe").rmdir()
    pytest.skip("no folder here refuses writing")


def survivors(group: int) -> list[str]:
    """Live (not zombie) processes of a process group: 'pid command' each."""
    import os

    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            command = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(f"{entry.name} {command.replace(b'\0', b' ').decode()[:150]}")
    return found
