"""Fit the Guangdong dynamics to the 2010-2015 record and the 2020 plan by ABC-SMC.

The hindcast `guangdong_2010` starts from the 309 towns of 2010 (1.2 trillion
yuan) and runs to 2020 under the Guangdong scenario's rules. Approximate
Bayesian computation (pyabc's ABC-SMC) finds the parameters that bring it
within a shrinking distance of the record: output in 2015, the 2015
cross-section (towns above 100 bn and 10 bn yuan of output value, enterprises
above designated size) and the lower bounds of 2012 and of the 2020 plan. A
second fit leaves the 2012 figure out, to see how well it is predicted.
A finished fit in the output folder is reused; one cut short starts again.

The simulations run on the sweeps' executors: the local tethered pool
(`--workers`) or a Dask cluster (`--scheduler`). Each simulation's seed comes
from its parameter values, so the same particle gives the same summary.

Usage: `python -m experiments.guangdong.fit_dynamics --out results/calibration`
(about an hour on 2 cores; `--population` and `--max-simulations` bound it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.guangdong.calibrate import ABOVE_SIZE_REVENUE, BIG, LARGE, apply
from experiments.guangdong.calibration_report import Fit, page, point_estimate
from experiments.guangdong.record import (
    HELD_OUT,
    HINDCAST,
    PRIORS,
    TARGETS,
    YEARS,
)
from experiments.runs.posterior import shipped_file, write_posterior
from experiments.runs.provenance import code_version, model_version
from experiments.sweeps.driver import executor_for
from experiments.sweeps.experiment_file import TOWNSIM
from model import TownModel
from scenarios.loading import scenario_path

FITS = {"abc.db": (), "holdout/abc.db": HELD_OUT}
"""Each fit's pyabc database, under the output folder, and what it leaves out."""


def pyabc_name(key: str) -> str:
    """A scenario key as a pyabc parameter name (no dots)."""
    return key.replace(".", "__")


def scenario_key(name: str) -> str:
    """The scenario key of a pyabc parameter name."""
    return name.replace("__", ".")


def seed_of(values: Mapping[str, float]) -> int:
    """A seed from the parameter values: the same particle, the same run."""
    text = json.dumps({k: round(float(v), 12) for k, v in sorted(values.items())})
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def simulate(
    values: Mapping[str, float], seed: int, scenario: str = HINDCAST
) -> dict[str, float]:
    """Run the hindcast with `values` set and measure it as the record does.

    Returns the targets' figures and, for the bands, output (current prices,
    trillion yuan) and certified towns of every year.
    """
    model = TownModel(scenario, rng=seed, views="lazy", **values)
    s = model.settings
    at_2015 = (2015 - s.run.start_year) * s.run.steps_per_year
    enterprises = np.nan
    while model.running:
        model.step()
        if model.steps == at_2015:
            enterprises = above_size(model)
    towns = model.town_frame()
    ratio = s.scale.gross_output_ratio
    value = towns.loc[towns["year"] == 2015, "gdp_nominal"] * ratio
    yearly = towns.groupby("year")["gdp_nominal"].sum() / 1e6
    counts = towns.groupby("year").size()
    return {
        "output_2012": float(yearly[2012]),
        "output_2015": float(yearly[2015]),
        "over_100bn_2015": float((value >= BIG).sum()),
        "over_10bn_2015": float((value >= LARGE).sum()),
        "above_size_2015": float(enterprises),
        "output_2020": float(yearly[2020]),
        **{f"nominal_{y}": float(yearly[y]) for y in YEARS},
        **{f"towns_{y}": float(counts[y]) for y in YEARS},
    }


def above_size(model: TownModel) -> float:
    """Enterprises above designated size in the listed towns, at current prices."""
    s = model.settings
    listed = model.towns.certified
    firms = model.firms.alive & listed[model.firms.town]
    revenue = (
        model.firms.output[firms]
        * s.scale.gross_output_ratio
        * s.price_index(model.year)
        / s.scale.firms_per_agent
    )
    return float(s.scale.firms_per_agent * np.sum(revenue >= ABOVE_SIZE_REVENUE))


def abc_model(parameter: Mapping[str, float]) -> dict[str, float]:
    """The model pyabc calls: one hindcast, seeded by its particle."""
    values = {scenario_key(k): float(v) for k, v in parameter.items()}
    return simulate(values, seed_of(values))


@dataclass(frozen=True)
class Distance:
    """Root of the summed squared relative misses of the fitted targets."""

    fitted: tuple[str, ...]

    def __call__(self, simulated: Mapping[str, float], _record: object) -> float:
        """The distance of a simulation's summary from the record."""
        by_name = {t.name: t for t in TARGETS}
        misses = [by_name[n].error(simulated[n]) for n in self.fitted]
        return float(np.sqrt(np.sum(np.square(misses))))


def observed() -> dict[str, float]:
    """The record as pyabc's observed summary (the distance reads only targets)."""
    return {t.name: t.value for t in TARGETS}


@dataclass(frozen=True)
class FitSettings:
    """The size of the ABC-SMC run and where it runs."""

    population: int = 60
    generations: int = 8
    max_simulations: int = 2000
    min_epsilon: float = 0.02
    workers: int | None = None
    scheduler: str | None = None
    seed: int = 2010


def fit(settings: FitSettings, database: Path, held_out: Sequence[str] = ()) -> Path:
    """Run ABC-SMC on every target but `held_out` into the pyabc `database`."""
    import pyabc
    from pyabc.sampler import ConcurrentFutureSampler

    np.random.seed(settings.seed)  # noqa: NPY002  (pyabc draws from the global one)
    prior = pyabc.Distribution(
        **{
            pyabc_name(k): pyabc.RV("uniform", lo, hi - lo)
            for k, (lo, hi) in PRIORS.items()
        }
    )
    fitted = tuple(t.name for t in TARGETS if t.name not in held_out)
    with executor_for(TOWNSIM, settings.workers, settings.scheduler) as opened:
        executor, capacity, _stop = opened
        sampler = ConcurrentFutureSampler(executor, client_max_jobs=capacity)
        abc = pyabc.ABCSMC(
            abc_model,
            prior,
            Distance(fitted),
            population_size=settings.population,
            sampler=sampler,
        )
        database.parent.mkdir(parents=True, exist_ok=True)
        abc.new(f"sqlite:///{database}", observed())
        abc.run(
            minimum_epsilon=settings.min_epsilon,
            max_nr_populations=settings.generations,
            max_total_nr_simulations=settings.max_simulations,
            max_walltime=timedelta(hours=3),
        )
    return database


def finished(database: Path) -> bool:
    """Whether `database` holds an ABC-SMC run that ran to its end."""
    import pyabc

    if not database.exists():
        return False
    return pyabc.History(f"sqlite:///{database}").get_abc().end_time is not None


def posterior_of(database: Path) -> pd.DataFrame:
    """The last generation's particles (by scenario key) and their `weight`."""
    import pyabc

    frame, weights = pyabc.History(f"sqlite:///{database}").get_distribution()
    particles = frame.rename(columns=scenario_key).reset_index(drop=True)
    particles["weight"] = weights / weights.sum()
    return particles


def generations_of(database: Path) -> pd.DataFrame:
    """Per generation: epsilon, simulations, acceptance and wall time."""
    import pyabc

    table = pyabc.History(f"sqlite:///{database}").get_all_populations()
    table = table[table["t"] >= 0].rename(columns={"samples": "simulations"})
    table["acceptance"] = table["particles"] / table["simulations"]
    return table[
        ["t", "epsilon", "particles", "simulations", "acceptance", "wall_time"]
    ]


def predictive(
    particles: pd.DataFrame,
    draws: int,
    workers: int | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Posterior-predictive runs: `draws` particles by weight, draw n on seed 1 + n."""
    rng = np.random.default_rng(PREDICTIVE_SEED)
    keys = list(PRIORS)
    picks = rng.choice(len(particles), size=draws, p=particles["weight"].to_numpy())
    chosen = [{k: float(particles.at[pick, k]) for k in keys} for pick in picks]
    with executor_for(TOWNSIM, workers, scheduler) as (executor, _capacity, _stop):
        futures = [
            executor.submit(simulate, values, 1 + n) for n, values in enumerate(chosen)
        ]
        rows = [
            {"draw": n, "seed": 1 + n, **values, **future.result()}
            for n, (values, future) in enumerate(zip(chosen, futures, strict=True))
        ]
    return pd.DataFrame(rows)


PREDICTIVE_SEED = 20101
"""Seed of the weighted pick of the predictive draws' particles."""


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: both fits, the posterior, its predictive runs and the page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/calibration"))
    parser.add_argument("--population", type=int, default=FitSettings.population)
    parser.add_argument("--generations", type=int, default=FitSettings.generations)
    parser.add_argument(
        "--max-simulations", type=int, default=FitSettings.max_simulations
    )
    parser.add_argument("--draws", type=int, default=40, help="predictive runs")
    parser.add_argument(
        "--report-only", action="store_true", help="never fit: use OUT's fits"
    )
    parser.add_argument("--docs", type=Path, help="write calibration.md here")
    parser.add_argument(
        "--apply",
        action="store_true",
        help="ship the posterior and write its median into scenarios/guangdong.toml",
    )
    parser.add_argument("--workers", type=int, help="local processes (default: cores)")
    parser.add_argument("--scheduler", help="a Dask scheduler's address instead")
    args = parser.parse_args(argv)
    settings = FitSettings(
        population=args.population,
        generations=args.generations,
        max_simulations=args.max_simulations,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    for name, held_out in FITS.items():
        database = args.out / name
        if finished(database):
            print(f"{database}: a finished fit, reused")
        elif args.report_only:
            parser.error(f"--report-only: {database} holds no finished fit")
        else:
            database.unlink(missing_ok=True)  # a fit cut short starts again
            fit(settings, database, held_out)
    main_fit, check_fit = (posterior_of(args.out / name) for name in FITS)
    meta = posterior_meta(args.out / "abc.db", command_of(args))
    keys = list(PRIORS)
    write_posterior(
        args.out / "posterior.parquet", main_fit[keys], main_fit["weight"], meta
    )
    draws = predictive(main_fit, args.draws, args.workers, args.scheduler)
    check = predictive(check_fit, args.draws, args.workers, args.scheduler)
    draws.to_csv(args.out / "predictive.csv", index=False)
    check.to_csv(args.out / "holdout" / "predictive.csv", index=False)
    if args.docs:
        write_page(settings, args.out, draws, check, args.docs, meta)
    if args.apply:
        ship(main_fit, meta)
    print(main_fit.describe().T.to_string())
    return 0


def command_of(args: argparse.Namespace) -> str:
    """The command that makes this calibration again."""
    parts = [
        "python -m experiments.guangdong.fit_dynamics",
        f"--out {args.out}",
        f"--population {args.population}",
        f"--generations {args.generations}",
        f"--max-simulations {args.max_simulations}",
        f"--draws {args.draws}",
    ]
    if args.docs:
        parts.append(f"--docs {args.docs}")
    if args.apply:
        parts.append("--apply")
    return " ".join(parts)


def posterior_meta(database: Path, command: str) -> dict[str, object]:
    """What the posterior file says of how it was made."""
    gens = generations_of(database)
    return {
        "scenario": "guangdong",
        "method": (
            f"pyabc {version('pyabc')} ABC-SMC on the {HINDCAST} hindcast: "
            f"{len(gens)} generations of {int(gens['particles'].iloc[-1])} "
            "particles, "
            f"{int(gens['simulations'].sum())} simulations, final epsilon "
            f"{gens['epsilon'].iloc[-1]:.4f}"
        ),
        "command": command,
        "targets": {
            t.name: {"value": t.value, "lower_bound": t.lower_bound} for t in TARGETS
        },
    }


def write_page(
    settings: FitSettings,
    out: Path,
    draws: pd.DataFrame,
    check: pd.DataFrame,
    docs: Path,
    meta: Mapping[str, object],
) -> None:
    """docs/calibration.md and its figures (docs/calibration/)."""
    where = (
        f"the Dask cluster at {settings.scheduler}"
        if settings.scheduler
        else f"a local pool of {settings.workers or os.cpu_count()} workers"
    )
    fitted = Fit(
        particles=posterior_of(out / "abc.db"),
        generations=[generations_of(out / name) for name in FITS],
        draws=draws,
        check=check,
        workers=where,
        versions={"code_version": code_version(), "model_version": model_version()},
        command=str(meta["command"]),
    )
    text = page(fitted, docs / "calibration", docs)
    (docs / "calibration.md").write_text(text)


def ship(particles: pd.DataFrame, meta: Mapping[str, object]) -> None:
    """The posterior into scenarios/posteriors/, its median into the scenario."""
    keys = list(PRIORS)
    write_posterior(
        shipped_file("guangdong"), particles[keys], particles["weight"], dict(meta)
    )
    median = point_estimate(particles)
    names = {k.rpartition(".")[2]: round(v, 4) for k, v in median.items()}
    apply(scenario_path("guangdong"), names)


if __name__ == "__main__":
    os.nice(10)
    raise SystemExit(main())
