"""Fingerprint results, to show that a change of code changes no number.

Hashes every column of a few runs' tables (one SHA-256 of the column's bytes
each) and of a small sweep's run files, and keeps the sweep analysis's figures
as numbers. Take a fingerprint before a refactor and compare after:

    python benchmarks/fingerprint.py --out before.json
    python benchmarks/fingerprint.py --out after.json --compare before.json \
        --rename management=index_management

Columns compare by name, after the renames given (`town_frame:old=new` for
one table only); analysis figures compare with
a relative tolerance (`--rtol`), since an estimator may change its rounding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent

RUNS = {
    "baseline-42": ("baseline", 42, {}),
    "balanced-1": ("balanced", 1, {"towns": 10, "firms_per_town": 200}),
    "adaptive-3": ("adaptive", 3, {"towns": 8, "firms_per_town": 50}),
    "platform-5": ("platform", 5, {"towns": 12, "firms_per_town": 80}),
    "ip-agents-2": (
        "ip",
        2,
        {"towns": 3, "firms_per_town": 20, "end_year": 2018, "schedule": "agents"},
    ),
    "guangdong-1": ("guangdong", 1, {"end_year": 2020}),
}


def column_hashes(frame: pd.DataFrame) -> dict[str, str]:
    """One hash per column: its dtype-free values as bytes (strings as text)."""
    hashes = {}
    for name in frame.columns:
        values = frame[name].to_numpy()
        if values.dtype.kind in "biuf":
            data = np.ascontiguousarray(values.astype(np.float64)).tobytes()
        else:
            data = "\x1f".join(map(str, values)).encode()
        hashes[str(name)] = hashlib.sha256(data).hexdigest()[:16]
    return hashes


def run_fingerprints() -> dict[str, dict]:
    """Hashes of the model, town and firm tables of each case in `RUNS`."""
    from model import TownModel

    found = {}
    for case, (scenario, seed, params) in RUNS.items():
        model = TownModel(scenario, rng=seed, **params).run()
        found[case] = {
            "model_frame": column_hashes(model.model_frame()),
            "town_frame": column_hashes(model.town_frame()),
            "firm_frame": column_hashes(model.firm_frame()),
        }
        print(f"  {case}", file=sys.stderr)
    return found


def sweep_fingerprint() -> dict[str, dict]:
    """Hashes of the smoke sweep's runs and the figures of its analysis."""
    townsim = str(Path(sys.executable).parent / "townsim")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "smoke"
        experiment = str(ROOT / "experiments" / "smoke.toml")
        subprocess.run(
            [townsim, "sweep", experiment, "--out", str(out), "--workers", "2"],
            check=True,
            capture_output=True,
        )
        runs = pd.read_parquet(out / "runs")
        runs = runs.drop(columns=[c for c in runs if c in VOLATILE])
        runs = runs.sort_values(
            ["run_id", "outcome", "year", "town"], ignore_index=True
        )
        subprocess.run([townsim, "analyze", str(out)], check=True, capture_output=True)
        per_run = pd.read_csv(out / "report" / "per_run.csv")
        per_run["seed"] = per_run["seed"].map(int)  # written as grouped text
    return {
        "runs": column_hashes(runs),
        "per_run": {
            str(c): per_run[c].round(12).tolist()
            for c in per_run
            if per_run[c].dtype.kind in "biuf"
        },
    }


VOLATILE = {"code_version", "seconds", "finished", "worker", "host"}
"""Run-file columns that record when and where, not what."""


def compare(before: dict, after: dict, renames: dict[str, str], rtol: float) -> int:
    """Print every difference between two fingerprints; return how many."""
    problems = 0
    for case, tables in before.items():
        for table, columns in tables.items():
            now = after.get(case, {}).get(table)
            if now is None:
                print(f"missing: {case}/{table}")
                problems += 1
                continue
            for name, value in columns.items():
                new = renames.get(f"{table}:{name}", renames.get(name, name))
                if new not in now:
                    print(f"missing column: {case}/{table}/{name}")
                    problems += 1
                elif isinstance(value, list):
                    if not np.allclose(value, now[new], rtol=rtol, equal_nan=True):
                        print(f"differs beyond rtol: {case}/{table}/{name}")
                        problems += 1
                elif value != now[new]:
                    print(f"differs: {case}/{table}/{name}")
                    problems += 1
    print(f"{problems} differences")
    return problems


def main() -> int:
    """Take a fingerprint; compare it with an earlier one if asked."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path)
    parser.add_argument("--rename", action="append", default=[], help="[TABLE:]OLD=NEW")
    parser.add_argument("--rtol", type=float, default=1e-9)
    parser.add_argument("--no-sweep", action="store_true")
    args = parser.parse_args()
    found = run_fingerprints()
    if not args.no_sweep:
        found["sweep-smoke"] = sweep_fingerprint()
    args.out.write_text(json.dumps(found, indent=1, sort_keys=True))
    if args.compare is None:
        return 0
    renames = dict(pair.split("=", 1) for pair in args.rename)
    before = json.loads(args.compare.read_text())
    return 1 if compare(before, found, renames, args.rtol) else 0


if __name__ == "__main__":
    sys.exit(main())
