"""Where a result came from: code version and package versions, for every manifest."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

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


def code_version() -> str:
    """The git commit (with `-dirty` if modified), else the package version."""
    try:
        commit = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain")
    except (OSError, subprocess.SubprocessError):
        return f"townsim {package_versions().get('townsim', 'unknown')}"
    return commit + ("-dirty" if dirty else "")


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
