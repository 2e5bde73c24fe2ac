"""Posterior files: weighted parameter sets from a calibration, read and drawn.

A posterior file is Parquet: one row per particle, one float column per
parameter named by its dotted scenario key (as `--set` takes it), and a
`weight` column. Its schema metadata `townsim.posterior` holds JSON: the
scenario it applies to, the model version that made it (`model_version`), the
code version, when, how (`method`), the command that makes it again, and
optionally the calibration's targets.

A file is refused, in one line naming it, when it cannot serve the code that
reads it: made by other model code, for another scenario, with a column that is
no scenario key or a value the scenario does not allow, or with weights that
are not a distribution. A file written with its scenario records the
scenario's other values; applied to a scenario that differs in them, it is
used with one warning naming the keys. Draw i of a posterior depends only on
the seed and i, so growing the number of draws keeps the earlier ones.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

import scenarios
from experiments.runs.durable import write_durably
from experiments.runs.provenance import code_version, model_version
from scenarios import Scenario, ScenarioError, build_scenario
from scenarios.loading import resolve_key

METADATA = b"townsim.posterior"
WEIGHT = "weight"
REQUIRED = ("scenario", "method", "command")
"""Metadata the writer must give; versions and the date are added."""
STREAM = 0x706F7374  # "post": draws never share a stream with a run's seed
SHIPPED = Path(scenarios.__file__).resolve().parent / "posteriors"
"""Where a scenario's own posterior lives: `<scenario name>.parquet`."""


class PosteriorError(ScenarioError):
    """A posterior file that cannot be used here (exit 2, before simulating)."""


def shipped_file(scenario_name: str) -> Path:
    """The posterior shipped for a scenario (it may not exist)."""
    return SHIPPED / f"{scenario_name}.parquet"


@dataclass(frozen=True)
class Posterior:
    """A posterior, checked: its particles, normalised weights and metadata."""

    path: Path
    particles: pd.DataFrame
    """One row per particle, one float column per dotted scenario key."""
    weights: np.ndarray
    """Non-negative, summing to 1."""
    meta: dict[str, Any]
    sha256: str
    """Of its content (`content_sha256`): a sweep's fingerprint holds it."""

    @property
    def keys(self) -> list[str]:
        """The parameters, as dotted scenario keys."""
        return list(self.particles.columns)

    def draw(self, i: int, seed: int) -> dict[str, float]:
        """Draw number `i`: one particle, picked with probability its weight.

        The uniform behind the pick comes from (seed, i) alone, so draw i is
        the same whatever the number of draws.
        """
        sequence = np.random.SeedSequence(seed, spawn_key=(STREAM, i))
        u = np.random.Generator(np.random.PCG64(sequence)).random()
        row = int(np.searchsorted(self._cdf(), u, side="right"))
        row = min(row, len(self.weights) - 1)
        return {key: float(v) for key, v in self.particles.iloc[row].items()}

    def draws(self, n: int, seed: int) -> pd.DataFrame:
        """Draws 0 to n-1, one row each (index: the draw number)."""
        rows = [self.draw(i, seed) for i in range(n)]
        return pd.DataFrame(rows, index=pd.RangeIndex(n, name="draw"))

    def _cdf(self) -> np.ndarray:
        cdf = np.cumsum(self.weights)
        cdf[-1] = 1.0
        return cdf

    def point(self) -> dict[str, float]:
        """The weighted median of each parameter: one scenario to show."""
        return {key: _quantile(self.particles[key], self.weights, 0.5) for key in self}

    def summary(self) -> pd.DataFrame:
        """Weighted mean, sd and 5%, 50%, 95% quantiles per parameter."""
        rows = {}
        for key in self:
            values = self.particles[key].to_numpy(float)
            mean = float(np.sum(self.weights * values))
            sd = float(np.sqrt(np.sum(self.weights * (values - mean) ** 2)))
            quantiles = [_quantile(values, self.weights, q) for q in (0.05, 0.5, 0.95)]
            rows[key] = [mean, sd, *quantiles]
        return pd.DataFrame.from_dict(
            rows, orient="index", columns=["mean", "sd", "5%", "50%", "95%"]
        )

    def __iter__(self) -> Any:
        return iter(self.keys)

    def describe(self) -> str:
        """One line: the file, how it was made, its size and model version."""
        return (
            f"{self.path}: {len(self.weights)} particles of {', '.join(self)}; "
            f"{self.meta.get('method', 'method not stated')}; model version "
            f"{self.meta['model_version']}"
        )


def _quantile(values: Any, weights: np.ndarray, q: float) -> float:
    """The lower weighted quantile: the first value whose cumulative weight >= q."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    at = int(np.searchsorted(cumulative, q * cumulative[-1], side="left"))
    return float(values[order][min(at, len(values) - 1)])


def write_posterior(
    path: str | Path,
    particles: pd.DataFrame,
    weights: Any,
    meta: dict[str, Any],
    scenario: Scenario | None = None,
) -> Path:
    """Write a posterior file atomically (temporary file, flushed, renamed).

    Args:
        path: The file to write.
        particles: One row per particle, one numeric column per dotted key.
        weights: One non-negative weight per particle (normalised here).
        meta: `scenario`, `method` and `command` (the command that makes the
            file again), optionally `targets`; the model and code versions
            and the date are added.
        scenario: The scenario the particles were fitted in, if given: its
            values apart from the posterior's keys are recorded
            (`scenario_values`, `scenario_hash`), so a reader can say when
            the scenario has changed since.

    Raises:
        PosteriorError: If the particles, weights or metadata are incomplete.
    """
    path = Path(path)
    if scenario is not None:
        meta = {"scenario": scenario.name, **meta}
    missing = [key for key in REQUIRED if not meta.get(key)]
    if missing:
        raise PosteriorError(f"{path}: metadata lacks {', '.join(missing)}")
    frame = particles.reset_index(drop=True).astype(float)
    if WEIGHT in frame.columns:
        raise PosteriorError(f"{path}: {WEIGHT!r} is the weights' column, not a key")
    w = np.asarray(weights, dtype=float)
    if w.shape != (len(frame),):
        raise PosteriorError(
            f"{path}: {w.size} weights for {len(frame)} particles; give one each"
        )
    _check_weights(w, path)
    frame[WEIGHT] = w / w.sum()
    if scenario is not None:
        values = scenario_values(scenario, list(particles.columns))
        meta = meta | {
            "scenario_values": values,
            "scenario_hash": _canonical_sha256(values),
        }
    full = {
        **meta,
        "model_version": model_version(),
        "code_version": code_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    table = pa.Table.from_pandas(frame, preserve_index=False)
    text = json.dumps(full, allow_nan=False).encode()
    table = table.replace_schema_metadata({METADATA: text})
    sink = io.BytesIO()
    pq.write_table(table, sink)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_durably(path, sink.getvalue())
    return path


def read_posterior(path: str | Path, scenario: Scenario) -> Posterior:
    """Read a posterior file and check that it can serve `scenario` with this code.

    Raises:
        PosteriorError: In one line naming the file: missing or unreadable,
            not a townsim posterior, made by another model version, made for
            another scenario, a column that is no scenario key or a value the
            scenario does not allow, or weights that are no distribution.
    """
    path = Path(path)
    _, table = _read(path)
    meta = _metadata(table, path)
    here = model_version()
    if meta.get("model_version") != here:
        raise PosteriorError(
            f"{path}: made by model version {meta.get('model_version')}, this code "
            f"is {here}; rerun `{meta.get('command', 'the calibration')}`"
        )
    if meta.get("scenario") != scenario.name:
        raise PosteriorError(
            f"{path}: made for scenario {meta.get('scenario')!r}, applied to "
            f"{scenario.name!r}; use a posterior of {scenario.name!r}"
        )
    frame = table.to_pandas()
    if WEIGHT not in frame.columns or len(frame) == 0:
        raise PosteriorError(f"{path}: no {WEIGHT!r} column or no particles")
    weights = frame.pop(WEIGHT).to_numpy(float)
    _check_weights(weights, path)
    if frame.columns.empty:
        raise PosteriorError(f"{path}: no parameter columns beside {WEIGHT!r}")
    for key in frame.columns:
        _check_column(frame[key], scenario, path)
    _check_particles(frame, scenario, path)
    particles, weights = frame.astype(float), weights / weights.sum()
    _warn_changed_scenario(meta, scenario, list(particles.columns), path)
    return Posterior(
        path=path,
        particles=particles,
        weights=weights,
        meta=meta,
        sha256=content_sha256(particles, weights, meta),
    )


def content_sha256(
    particles: pd.DataFrame, weights: np.ndarray, meta: dict[str, Any]
) -> str:
    """SHA-256 of what a posterior's draws depend on, not of the file's bytes.

    Canonical JSON of the keys, the particles, the normalised weights, the
    scenario and the model version: rewriting the same particles (a new
    `created` date or code version) keeps it, and so keeps the folders built
    on the posterior.
    """
    content = {
        "keys": [str(key) for key in particles.columns],
        "particles": particles.to_numpy(float).tolist(),
        "weights": np.asarray(weights, dtype=float).tolist(),
        "scenario": meta.get("scenario"),
        "model_version": meta.get("model_version"),
    }
    return _canonical_sha256(content)


def scenario_values(scenario: Scenario, keys: list[str]) -> dict[str, Any]:
    """The scenario's values as dotted keys, without `keys` (the posterior's own).

    The description is left out too: it changes no run.
    """
    flat = _flat(scenario.model_dump(mode="json"))
    return {k: v for k, v in flat.items() if k not in keys and k != "description"}


def _warn_changed_scenario(
    meta: dict[str, Any], scenario: Scenario, keys: list[str], path: Path
) -> None:
    """One warning line when the scenario differs from the one the file records."""
    held = meta.get("scenario_hash")
    if held is None:
        return
    now = scenario_values(scenario, keys)
    if _canonical_sha256(now) == held:
        return
    before = meta.get("scenario_values")
    if isinstance(before, dict):
        changed = sorted(
            k for k in before.keys() | now.keys() if before.get(k) != now.get(k)
        )
        shown = ", ".join(changed[:5]) + (
            f" and {len(changed) - 5} more" if len(changed) > 5 else ""
        )
    else:
        shown = "not recorded"
    print(
        f"townsim: warning: {path}: made for another version of scenario "
        f"{scenario.name!r} (keys {shown} differ); its draws may no longer fit it",
        file=sys.stderr,
    )


def _flat(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat |= _flat(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _canonical_sha256(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _read(path: Path) -> tuple[bytes, pa.Table]:
    try:
        payload = path.read_bytes()
    except FileNotFoundError:
        raise PosteriorError(
            f"{path}: no such posterior file; make one with the calibration "
            "(experiments/guangdong) or give --posterior-file"
        ) from None
    except OSError as error:
        raise PosteriorError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return payload, pq.read_table(io.BytesIO(payload))
    except (OSError, pa.ArrowException) as error:
        first = str(error).strip().splitlines()[0][:120] if str(error) else ""
        raise PosteriorError(
            f"{path}: not a Parquet file ({first}); a posterior is written by "
            "write_posterior"
        ) from None


def _metadata(table: pa.Table, path: Path) -> dict[str, Any]:
    held = (table.schema.metadata or {}).get(METADATA)
    try:
        meta = json.loads(held) if held is not None else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict):
        raise PosteriorError(
            f"{path}: not a townsim posterior (no readable "
            f"{METADATA.decode()} metadata); a posterior is written by "
            "write_posterior"
        )
    return meta


def _check_weights(weights: np.ndarray, path: Path) -> None:
    bad = np.flatnonzero(~np.isfinite(weights) | (weights < 0))
    if bad.size:
        row = int(bad[0])
        raise PosteriorError(
            f"{path}: column {WEIGHT!r}: value {float(weights[row])} in row {row}; "
            "allowed: finite numbers, 0 or more"
        )
    if not weights.sum() > 0:
        raise PosteriorError(
            f"{path}: column {WEIGHT!r}: the weights sum to 0; allowed: "
            "non-negative weights, not all 0"
        )


def _check_column(column: pd.Series, scenario: Scenario, path: Path) -> None:
    """A column must be a scenario key, as `--set` takes it, holding allowed values."""
    key = str(column.name)
    origin = f"{path}, column"
    resolved = resolve_key(key, origin)  # an unknown key says so, with a hint
    if resolved != key:
        raise PosteriorError(f"{origin}: key {key!r}: write it as {resolved!r}")
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        raise PosteriorError(
            f"{origin}: key {key!r}: holds {column.dtype}; allowed: numbers"
        )
    values = column.to_numpy(float)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values))[0])
        raise PosteriorError(
            f"{origin}: key {key!r} = {float(values[row])} in row {row}; allowed: "
            "finite numbers"
        )


def _check_particles(frame: pd.DataFrame, scenario: Scenario, path: Path) -> None:
    """Each particle must make a valid scenario as a whole, as a run will build it.

    Particle by particle, not column by column: validators over several keys
    (years in order, shares adding up) may hold for every particle while a
    column's extreme beside the scenario's other values breaks them.
    """
    base = scenario.model_dump()
    origin = f"{path}, column"
    for row, values in frame.drop_duplicates().iterrows():
        try:
            build_scenario(
                base, values.to_dict(), origin=str(path), overrides_origin=origin
            )
        except ScenarioError as error:
            raise PosteriorError(f"{error} (particle in row {row})") from None
