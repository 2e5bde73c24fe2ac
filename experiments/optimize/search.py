"""Running a search: pymoo proposes candidates, the sweep machinery runs them.

Each generation's candidates become runs (every scenario, every seed) that the
sweep executors run and store one file each, like a sweep's. The search is
seeded, and a candidate's figures come only from its stored runs, so running the
same command after a kill replays the same generations, finds their runs stored
and runs only what is missing. The driver keeps a few numbers per candidate, never
a run's table.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from experiments.optimize import robustness
from experiments.optimize.problem import Problem, digest
from experiments.runs.provenance import made_by, package_versions
from experiments.sweeps.driver import run_specs
from experiments.sweeps.experiment_file import ExperimentError, Level
from experiments.sweeps.outcomes import BY_NAME
from experiments.sweeps.plan import RunSpec
from experiments.sweeps.results_store import (
    FAILURES,
    MANIFEST,
    RUNS,
    SweepError,
    SweepSummary,
    check_folder,
    locked,
    note_session,
    quarantine,
    warn_code_change,
    write_atomic,
)

SEARCH_PACKAGES = ("pymoo", "scipy", "dask", "distributed", "tqdm")


@dataclass
class Archive:
    """Every distinct candidate evaluated so far, with its values per scenario."""

    objectives: list[str]
    rows: dict[str, int] = field(default_factory=dict)
    """Candidate id -> its row."""
    levers: list[dict[str, Level]] = field(default_factory=list)
    generation: list[int] = field(default_factory=list)
    """The generation that first proposed each candidate."""
    failed: list[int] = field(default_factory=list)
    """Failed runs of each candidate."""
    values: list[np.ndarray] = field(default_factory=list)
    """Per candidate: objectives by scenarios, each cell the mean over the seeds."""

    def add(
        self,
        key: str,
        levers: dict[str, Level],
        generation: int,
        values: np.ndarray,
        failed: int,
    ) -> int:
        """Record a candidate once; return its row."""
        if key not in self.rows:
            self.rows[key] = len(self.levers)
            self.levers.append(levers)
            self.generation.append(generation)
            self.values.append(values)
            self.failed.append(failed)
        return self.rows[key]

    def matrix(self, objective: int) -> np.ndarray:
        """Candidates by scenarios for one objective."""
        return np.array([v[objective] for v in self.values])

    @property
    def ids(self) -> list[str]:
        """Candidate ids in row order."""
        return list(self.rows)


@dataclass(frozen=True)
class Runner:
    """Where a search's runs go: the results folder and the executor settings."""

    out: Path
    workers: int | None = None
    scheduler: Any = None
    progress: bool = True

    def run(self, problem: Problem, specs: list[RunSpec]) -> SweepSummary:
        """Run what is not stored yet of `specs`, on the sweep executors."""
        return run_specs(
            problem.task,
            specs,
            self.out,
            workers=self.workers,
            scheduler=self.scheduler,
            progress=self.progress,
        )


@dataclass
class SearchSummary:
    """Counts and times of one search session."""

    generations: int = 0
    candidates_asked: int = 0
    runs: SweepSummary = field(default_factory=lambda: SweepSummary(total=0))


def run_search(
    problem: Problem,
    out: Path,
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    command: list[str] | None = None,
) -> tuple[Archive, SearchSummary]:
    """Run the search of `problem`, reusing every run already stored in `out`.

    Args:
        problem: A planned search (`load_problem`).
        out: The results folder; created, or resumed if it holds this search.
        workers: Local worker processes (default: one per core).
        scheduler: A Dask scheduler address (or cluster) to run on instead.
        progress: Show a progress bar per generation on stderr.
        command: The command line, for the manifest.

    Raises:
        SweepError: If `out` holds something else or another process writes it.
        SweepInterrupted: On Ctrl-C; a rerun resumes.
    """
    out = Path(out)
    started = time.perf_counter()
    summary = SearchSummary()
    with locked(out):
        prepare_folder(problem, out, command)
        warn_code_change(out)
        note_session(out, "started", summary.runs)
        try:
            runner = Runner(out, workers, scheduler, progress)
            archive = _evolve(problem, runner, summary)
        finally:
            summary.runs.wall_seconds = time.perf_counter() - started
            note_session(out, "finished", summary.runs)
    return archive, summary


def _evolve(problem: Problem, runner: Runner, summary: SearchSummary) -> Archive:
    """Ask pymoo for candidates and tell it their figures, generation by generation."""
    from pymoo.core.evaluator import Evaluator
    from pymoo.problems.static import StaticProblem

    search = problem.search
    archive = Archive(list(search.objectives))
    space = _space(problem)
    algorithm = make_algorithm(problem)
    algorithm.setup(
        space,
        termination=("n_gen", search.algorithm.generations),
        seed=search.algorithm.seed,
    )
    while algorithm.has_next():
        population = algorithm.ask()
        rows = _evaluate(problem, population.get("X"), runner, archive, summary)
        minimise, violation = search_figures(problem, archive, rows)
        Evaluator().eval(StaticProblem(space, F=minimise, G=violation), population)
        algorithm.tell(infills=population)
        summary.generations += 1
    return archive


def _space(problem: Problem) -> Any:
    """The unit cube of the levers, with one constraint: no failed run."""
    from pymoo.core.problem import Problem as Space

    n = len(problem.levers)
    return Space(
        n_var=n,
        n_obj=len(problem.search.objectives),
        n_ieq_constr=1,
        xl=np.zeros(n),
        xu=np.ones(n),
    )


def make_algorithm(problem: Problem) -> Any:
    """NSGA-II, or NSGA-III with Das-Dennis directions that fit the population."""
    from pymoo.algorithms.moo.nsga2 import NSGA2, RankAndCrowding
    from pymoo.algorithms.moo.nsga3 import NSGA3

    settings = problem.search.algorithm
    if settings.kind == "nsga2":
        return NSGA2(pop_size=settings.population, survival=RankAndCrowding())
    from pymoo.util.ref_dirs import get_reference_directions

    dims = len(problem.search.objectives)
    partitions = _partitions(dims, settings.population)
    directions = get_reference_directions("das-dennis", dims, n_partitions=partitions)
    return NSGA3(ref_dirs=directions, pop_size=settings.population)


def _partitions(dims: int, population: int) -> int:
    """The most Das-Dennis partitions whose directions fit in the population."""
    from math import comb

    partitions = 1
    while comb(partitions + 1 + dims - 1, dims - 1) <= population:
        partitions += 1
    return partitions


def _evaluate(
    problem: Problem,
    unit: np.ndarray,
    runner: Runner,
    archive: Archive,
    summary: SearchSummary,
) -> list[int]:
    """Run one generation's candidates (what is not stored yet); their archive rows."""
    levers = [problem.lever_values(row) for row in unit]
    specs = [problem.specs(values) for values in levers]
    batch = runner.run(problem, [spec for candidate in specs for spec in candidate])
    _add_counts(summary, batch, len(levers))
    generation = summary.generations
    rows = []
    for values, candidate in zip(levers, specs, strict=True):
        matrix, failed = candidate_values(problem, candidate, runner.out)
        rows.append(
            archive.add(digest(values)[:12], values, generation, matrix, failed)
        )
    return rows


def _add_counts(summary: SearchSummary, batch: SweepSummary, candidates: int) -> None:
    runs = summary.runs
    summary.candidates_asked += candidates
    runs.total += batch.total
    runs.skipped += batch.skipped
    runs.earlier_failed += batch.earlier_failed
    runs.done += batch.done
    runs.failed += batch.failed
    runs.model_seconds += batch.model_seconds
    runs.failures.extend(batch.failures)


def candidate_values(
    problem: Problem, specs: list[RunSpec], out: Path
) -> tuple[np.ndarray, int]:
    """A candidate's objectives by scenarios, averaged over seeds, from its run files.

    A failed run leaves NaN in its scenario and counts as a failure.
    """
    objectives = list(problem.search.objectives.items())
    cells = np.full(
        (len(objectives), len(problem.scenarios), len(problem.seeds)), np.nan
    )
    failed = 0
    for spec in specs:
        path = out / RUNS / f"{spec.run_id}.parquet"
        if not path.exists():
            failed += 1
            continue
        found = _outcome_values(path)
        for n, (name, objective) in enumerate(objectives):
            key = (objective.name, objective.year)
            if key not in found:
                raise ExperimentError(
                    f"{problem.source}: key 'objectives.{name}.outcome' = "
                    f"{objective.outcome!r}: the model's runs have no such outcome; "
                    f"they have: {', '.join(_names(found))}"
                )
            cells[n, spec.point, spec.replication] = found[key]
    return cells.mean(axis=2), failed


def _outcome_values(path: Path) -> dict[tuple[str, int | None], float]:
    """(outcome, year or None) -> value, from one run file."""
    table = pq.read_table(path, columns=["outcome", "year", "value"]).to_pydict()
    return {
        (name, year): value
        for name, year, value in zip(
            table["outcome"], table["year"], table["value"], strict=True
        )
    }


def _names(found: dict[tuple[str, int | None], float]) -> list[str]:
    return sorted({name if year is None else f"{name}@{year}" for name, year in found})


def search_figures(
    problem: Problem, archive: Archive, rows: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """What the search minimises for `rows`, and their constraint (failed runs).

    Regret compares with the best per scenario of every candidate evaluated so
    far; the report compares again with the best of the whole search.
    """
    columns = []
    for n, objective in enumerate(problem.search.objectives.values()):
        every = archive.matrix(n)
        best = robustness.best_per_scenario(every, objective.direction)
        figures = robustness.measure(every[rows], objective, best)
        columns.append(robustness.to_minimise(figures, objective))
    minimise = np.nan_to_num(np.column_stack(columns), nan=0.0)
    violation = np.array([[float(archive.failed[row])] for row in rows])
    return minimise, violation


def prepare_folder(problem: Problem, out: Path, command: list[str] | None) -> None:
    """Create the folder for this search, or check it holds this search.

    Raises:
        SweepError: If the folder holds another search, a sweep or other files.
    """
    path = out / MANIFEST
    if path.exists():
        held = json.loads(path.read_text())
        if held.get("fingerprint") != problem.fingerprint():
            what = held.get("search", held.get("experiment", {})).get("name", "?")
            raise SweepError(
                f"{out}: holds results of another search or sweep ({what}, "
                f"{held.get('source', '?')}); choose another --out"
            )
    else:
        foreign = sorted(p.name for p in out.iterdir() if p.name != ".lock")
        if foreign:
            raise SweepError(
                f"{out}: holds files that are not search results "
                f"({', '.join(foreign[:3])}); choose an empty or new --out"
            )
        write_atomic(
            path, (json.dumps(manifest(problem, command), indent=2) + "\n").encode()
        )
    for name in (RUNS, FAILURES):
        (out / name).mkdir(exist_ok=True)
        for stale in (out / name).glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    check = check_folder(out)  # a file cut short by a crash is run again
    if check.bad:
        quarantine(out, check.bad)


def manifest(problem: Problem, command: list[str] | None) -> dict[str, Any]:
    """The search, its scenarios and seeds, the code and package versions."""
    from importlib import metadata

    versions = package_versions()
    for name in SEARCH_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return {
        "kind": "optimize",
        "search": problem.search.model_dump(mode="json"),
        "source": problem.source,
        "fingerprint": problem.fingerprint(),
        "scenarios": problem.scenarios,
        "seeds": [str(seed) for seed in problem.seeds],
        "outcomes": {
            o.name: {"unit": BY_NAME[o.name].unit, "meaning": BY_NAME[o.name].meaning}
            for o in problem.search.objectives.values()
            if o.name in BY_NAME
        },
        "base_scenario": problem.base,
        **made_by(command, versions),
        "sessions": [],
        "files": {
            "runs/*.parquet": "one file per finished run: tidy rows (run keys, "
            "levers and uncertainties, outcome, year, town, value); point is the "
            "scenario, replication the seed",
            "failures/*.parquet": "one file per failed run, with its traceback",
            "candidates.csv": "every candidate evaluated, with its figures",
            "front.csv": "the Pareto front: its candidates and their figures",
            "front.png": "the Pareto front, objective against objective",
            "report.md": "the search and its front in words",
        },
    }
