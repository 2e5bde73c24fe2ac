"""Where a result came from: code, model and package versions, for every manifest."""

from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "townsim",
    "mesa",
    "numpy",
    "pandas",
    "pydantic",
    "pyarrow",
    "networkx",
)
ROOT = Path(__file__).resolve().parents[2]
MODEL_CODE = ("agents", "model")
"""Packages whose code makes a run's numbers (with the scenario schema)."""


def code_version() -> str:
    """The git commit (with `-dirty` if modified), else the package version."""
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return f"townsim {package_versions().get('townsim', 'unknown')}"
    return commit + ("-dirty" if dirty else "")


def model_version() -> str:
    """A short hash (16 hex) of the code that makes the numbers.

    Every `*.py` file under `agents/` and `model/`, and `scenarios/schema.py`,
    by relative path. Unlike the git commit, it ignores edits elsewhere (the
    command line, the app, the docs), so a calibration stays valid across them;
    a docstring edit in the model counts, which is the safe side.
    """
    files = [p for name in MODEL_CODE for p in (ROOT / name).rglob("*.py")]
    files.append(ROOT / "scenarios" / "schema.py")
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.relative_to(ROOT).as_posix()):
        relative = path.relative_to(ROOT).as_posix()
        digest.update(f"{relative}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.strip()


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape the results."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def made_by(
    command: Sequence[str] | None = None, packages: dict[str, str] | None = None
) -> dict[str, Any]:
    """What made a result, for its manifest: code, model, packages, command, time."""
    return {
        "code_version": code_version(),
        "model_version": model_version(),
        "packages": packages if packages is not None else package_versions(),
        "python": platform.python_version(),
        "command": command if command is not None else sys.argv,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
