"""One scenario over N posterior draws (`townsim run --posterior N`), run like a sweep.

Draw i is one particle of the posterior, picked by weight from the seed and i
(`Posterior.draw`), and runs with a seed derived from the seed and i
(`plan.draw_seed`, as a sweep derives its runs' seeds). The runs go through the
sweeps' executors and are stored as a sweep stores them: one checksummed file
each, so the same command resumes, and a larger N runs only the new draws.
A folder holds the draws of one scenario, posterior and seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from experiments.runs.posterior import Posterior
from experiments.runs.provenance import (
    made_by,
)
from experiments.sweeps.driver import run_specs
from experiments.sweeps.experiment_file import TOWNSIM
from experiments.sweeps.outcomes import BY_NAME
from experiments.sweeps.plan import (
    DRAW_SEEDING,
    RunSpec,
    digest,
    draw_seed,
    posterior_record,
)
from experiments.sweeps.results_store import (
    RUNS,
    SweepError,
    SweepSummary,
    locked,
    note_session,
    open_folder,
    warn_code_change,
    write_atomic,
)
from experiments.sweeps.worker import Task
from scenarios import Scenario

KIND = "posterior-run"
OUTCOMES = (
    "gdp",
    "gdp_nominal",
    "platform_coverage",
    "towns_dim1",
    "towns_dim2",
    "towns_dim3",
    "towns_dim4",
    "share_dim3plus",
    "share_dim4",
)
"""What each draw records, every year: the figures of the summary."""
DRAWS, BANDS, CHART, SUMMARY = "draws.csv", "bands.csv", "output.png", "summary.txt"
WRITTEN = frozenset({DRAWS, BANDS, CHART, SUMMARY})


@dataclass(frozen=True)
class DrawPlan:
    """A scenario, a posterior, how many draws and the seed of draw 0."""

    scenario: Scenario
    posterior: Posterior
    draws: int
    seed: int

    @property
    def base(self) -> dict[str, Any]:
        """The scenario as the workers rebuild it."""
        return self.scenario.model_dump(mode="json")

    def task(self) -> Task:
        """What every draw's run shares."""
        return Task(
            model=TOWNSIM,
            base=self.base,
            outcomes=OUTCOMES,
            years=None,
            factors=(),
            posterior=tuple(self.posterior.keys),
        )

    def specs(self) -> list[RunSpec]:
        """Draws 0 to N-1: draw i with the seed `draw_seed(seed, i)`."""
        base = digest({"model": TOWNSIM, "base": self.base})
        specs = []
        for i in range(self.draws):
            values = self.posterior.draw(i, self.seed)
            seed = draw_seed(self.seed, i)
            run_id = digest({"base": base, "posterior": values, "seed": seed})[:20]
            specs.append(RunSpec(run_id, 0, i, seed, {}, i, values))
        return specs

    def table(self) -> pd.DataFrame:
        """draws.csv: each draw's number, seed and parameters."""
        specs = self.specs()
        rows = [{"draw": s.draw, "seed": s.seed, **s.posterior} for s in specs]
        return pd.DataFrame(rows, columns=["draw", "seed", *self.posterior.keys])

    def fingerprint(self) -> str:
        """What a folder's runs share: scenario, posterior, outcomes, seed, rule."""
        return digest(
            {
                "kind": KIND,
                "base": self.base,
                "outcomes": list(OUTCOMES),
                "posterior": posterior_record(self.posterior, short=True),
                "seed": self.seed,
                "seeding": DRAW_SEEDING,
            }
        )


def run_draws(
    plan: DrawPlan,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    command: list[str] | None = None,
    retry_failed: bool = False,
) -> SweepSummary:
    """Run the draws not yet stored in `out`; a rerun resumes.

    Draws recorded as failed are run again only with `retry_failed`.

    Raises:
        SweepError: If `out` holds other results or another process writes it.
        SweepInterrupted: On Ctrl-C, after stopping the workers.
    """
    out = Path(out)
    with locked(out):
        _prepare(plan, out, command)
        warn_code_change(out)
        note_session(out, "started", SweepSummary(total=plan.draws))
        summary = SweepSummary(total=plan.draws)
        try:
            summary = run_specs(
                plan.task(),
                plan.specs(),
                out,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                retry_failed=retry_failed,
            )
        finally:
            note_session(out, "finished", summary)
    return summary


def _prepare(plan: DrawPlan, out: Path, command: list[str] | None) -> None:
    """Create the folder for these draws, or check that it holds them.

    Raises:
        SweepError: If it holds other results or files that are not results,
            or cannot be written.
    """

    def resume(held: dict[str, Any]) -> None:
        if held.get("kind") != KIND or held.get("fingerprint") != plan.fingerprint():
            raise SweepError(
                f"{out}: holds other results than these draws (another scenario, "
                "posterior or seed, or a sweep); choose another --out"
            )

    open_folder(
        out, resume, lambda: manifest(plan, command), WRITTEN, "townsim results"
    )


def manifest(plan: DrawPlan, command: list[str] | None) -> dict[str, Any]:
    """The scenario, posterior, seed and versions behind a folder of draws."""
    return {
        "kind": KIND,
        "fingerprint": plan.fingerprint(),
        "base_scenario": plan.base,
        "posterior": posterior_record(plan.posterior),
        "root_seed": plan.seed,
        "seeding": DRAW_SEEDING,
        "outcomes": {
            name: {"unit": BY_NAME[name].unit, "meaning": BY_NAME[name].meaning}
            for name in OUTCOMES
        },
        **made_by(command),
        "sessions": [],
        "files": {
            "runs/*.parquet": "one file per draw: tidy rows (run keys, draw, "
            "posterior.KEY, outcome, year, town, value)",
            "failures/*.parquet": "one file per failed draw, with its traceback",
            "checksums.jsonl": "size and SHA-256 of every run file written",
            DRAWS: "each draw's number, seed and parameters",
            BANDS: "per outcome and year: median and 5, 25, 75, 95% of the draws",
            CHART: "output over the years: median and bands, real and nominal",
            SUMMARY: "the summary townsim run printed",
        },
    }


def draw_values(plan: DrawPlan, out: Path) -> pd.DataFrame:
    """The finished draws' outcomes: draw, outcome, year, value (province rows)."""
    frames = []
    for spec in plan.specs():
        path = Path(out) / RUNS / f"{spec.run_id}.parquet"
        if path.exists():
            table = pq.read_table(path, columns=["draw", "outcome", "year", "value"])
            frames.append(table.to_pandas())
    if not frames:
        return pd.DataFrame(columns=["draw", "outcome", "year", "value"])
    return pd.concat(frames, ignore_index=True)


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """A CSV file, written whole or not at all."""
    write_atomic(path, frame.to_csv(index=False).encode())
