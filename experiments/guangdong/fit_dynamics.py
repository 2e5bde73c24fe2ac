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

from agents.tables import NOT_CERTIFIED
from experiments.guangdong.calibrate import ABOVE_SIZE_REVENUE, BIG, LARGE, apply
from experiments.guangdong.calibration_report import Fit, page, point_estimate
from experiments.guangdong.record import (
    HELD_OUT,
    HINDCAST,
    PRIORS,
    SHIPPED,
    TARGETS,
    YEARS,
    Distance,
    observed,
)
from experiments.runs.posterior import shipped_file, write_posterior
from experiments.runs.provenance import code_version, model_version
from experiments.sweeps.driver import executor_for
from experiments.sweeps.experiment_file import TOWNSIM
from model import TownModel
from scenarios import Scenario, load_scenario
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
    values: Mapping[str, float], seed: int, scenario: Scenario | str = HINDCAST
) -> dict[str, float]:
    """Run the hindcast with `values` set and measure it as the record does.

    Returns the targets' figures and, for the page: output (current prices,
    trillion yuan) and listed towns of every year, the output of fixed sets
    of towns (those listed in 2010, in 2015) and the size of the candidates
    left at the end of 2015 (`entrant_size_2015`).
    """
    model = TownModel(scenario, rng=seed, views="lazy", **values)
    s = model.settings
    at_2015 = (2015 - s.run.start_year) * s.run.steps_per_year
    enterprises = np.nan
    while model.running:
        model.step()
        if model.steps == at_2015:
            enterprises = above_size(model)
    towns = model.town_frame(candidates=True)
    listed = towns[towns["certified_year"] != NOT_CERTIFIED]
    nominal = listed.pivot(index="town", columns="year", values="gdp_nominal") / 1e6
    value = nominal[2015].dropna() * 1e6 * s.scale.gross_output_ratio
    yearly = nominal.sum()
    return {
        **{f"output_{y}": float(yearly[y]) for y in (2011, 2012, 2015, 2020)},
        "over_100bn_2015": float((value >= BIG).sum()),
        "over_10bn_2015": float((value >= LARGE).sum()),
        "above_size_2015": float(enterprises),
        "entrant_size_2015": entrant_size(towns, 2015),
        "listed_2010_in_2015": float(nominal[2015][nominal[2010].notna()].sum()),
        "listed_2015_in_2020": float(nominal[2020][nominal[2015].notna()].sum()),
        **{f"nominal_{y}": float(yearly[y]) for y in YEARS},
        **{f"towns_{y}": float(nominal[y].notna().sum()) for y in YEARS},
    }


def entrant_size(towns: pd.DataFrame, year: int) -> float:
    """Median output of the candidates left at `year`'s end over the listed towns'.

    The `guangdong` scenario starts in 2015 with a fresh pool of candidates
    whose median is `certification.entrant_size` times the listed towns':
    this is the value that continues the hindcast.
    """
    now = towns[towns["year"] == year]
    left = now.loc[now["certified_year"] == NOT_CERTIFIED, "gdp"]
    on_list = now.loc[now["certified_year"] != NOT_CERTIFIED, "gdp"]
    return float(left.median() / on_list.median()) if len(left) else np.nan


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


@dataclass(frozen=True)
class Hindcast:
    """The model pyabc calls: one hindcast run, seeded by its particle.

    It carries the scenario, loaded once by the driver, so that every
    simulation of a fit runs the same one whatever happens to the files.
    """

    scenario: Scenario

    def __call__(self, parameter: Mapping[str, float]) -> dict[str, float]:
        """Simulate one particle."""
        values = {scenario_key(k): float(v) for k, v in parameter.items()}
        return simulate(values, seed_of(values), self.scenario)


@dataclass(frozen=True)
class FitSettings:
    """The size of an ABC-SMC run, when it stops, and where it runs.

    pyabc proposes particles in the workers from fresh entropy and takes them
    as workers free up: a rerun gives a statistically equivalent sample, not
    the same particles, so no seed is set here.
    """

    population: int = 50
    generations: int = 8
    max_simulations: int = 1200
    min_epsilon: float = 0.02
    hours: float = 3.0
    workers: int | None = None
    scheduler: str | None = None

    def identity(self, scenario: Scenario, held_out: Sequence[str]) -> dict:
        """What makes a fit this fit: code, scenario, priors, targets, budget."""
        dump = scenario.model_dump(mode="json")
        for key in PRIORS:
            section, name = key.split(".")
            dump[section].pop(name)  # the particles set these
        return {
            "model_version": model_version(),
            "scenario": hashlib.sha256(
                json.dumps(dump, sort_keys=True).encode()
            ).hexdigest()[:16],
            "priors": PRIORS,
            "targets": [t.name for t in TARGETS if t.name not in held_out],
            "population": self.population,
            "generations": self.generations,
            "max_simulations": self.max_simulations,
            "min_epsilon": self.min_epsilon,
            "hours": self.hours,
        }


def fit(settings: FitSettings, database: Path, held_out: Sequence[str] = ()) -> Path:
    """Run ABC-SMC on every target but `held_out` into the pyabc `database`.

    What makes the fit is written beside it first (`fit.json`): a finished
    fit is reused only while that still holds.
    """
    import pyabc
    from pyabc.sampler import ConcurrentFutureSampler

    scenario = load_scenario(HINDCAST)
    prior = pyabc.Distribution(
        **{
            pyabc_name(k): pyabc.RV("uniform", lo, hi - lo)
            for k, (lo, hi) in PRIORS.items()
        }
    )
    fitted = tuple(t.name for t in TARGETS if t.name not in held_out)
    database.parent.mkdir(parents=True, exist_ok=True)
    identity = settings.identity(scenario, held_out)
    (database.parent / "fit.json").write_text(json.dumps(identity, indent=1))
    with executor_for(TOWNSIM, settings.workers, settings.scheduler) as opened:
        executor, capacity, _stop = opened
        sampler = ConcurrentFutureSampler(executor, client_max_jobs=capacity)
        abc = pyabc.ABCSMC(
            Hindcast(scenario),
            prior,
            Distance(fitted),
            population_size=settings.population,
            sampler=sampler,
        )
        abc.new(f"sqlite:///{database}", observed())
        abc.run(
            minimum_epsilon=settings.min_epsilon,
            max_nr_populations=settings.generations,
            max_total_nr_simulations=settings.max_simulations,
            max_walltime=timedelta(hours=settings.hours),
        )
    return database


def reusable(database: Path, identity: Mapping[str, object]) -> str | None:
    """Why the fit in `database` cannot be reused, or None when it can."""
    import pyabc

    if not database.exists():
        return "no fit there"
    if pyabc.History(f"sqlite:///{database}").get_abc().end_time is None:
        return "a fit cut short"
    made = database.parent / "fit.json"
    recorded = json.loads(made.read_text()) if made.exists() else {}
    changed = [k for k, v in identity.items() if recorded.get(k) != jsonable(v)]
    return f"made with other {', '.join(changed)}" if changed else None


def jsonable(value: object) -> object:
    """`value` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def particles_of(database: Path) -> pd.DataFrame:
    """The last generation: fitted keys, `weight`, and each run's summary."""
    import pyabc

    population = pyabc.History(f"sqlite:///{database}").get_population()
    rows = [
        {
            **{scenario_key(k): v for k, v in p.parameter.items()},
            "weight": p.weight,
            **p.sum_stat,
        }
        for p in population.particles
    ]
    frame = pd.DataFrame(rows)
    frame["weight"] /= frame["weight"].sum()
    return frame


def for_guangdong(particles: pd.DataFrame) -> pd.DataFrame:
    """The particles as the 2015 scenario takes them: its keys, its entrants."""
    shipped = particles[list(SHIPPED)].copy()
    shipped["certification.entrant_size"] = particles["entrant_size_2015"]
    return shipped


def generations_of(database: Path) -> pd.DataFrame:
    """Per generation (t = -1: the sample that sets the first epsilon).

    Epsilon, particles, effective sample size, simulations, acceptance and
    wall time.
    """
    import pyabc

    history = pyabc.History(f"sqlite:///{database}")
    table = history.get_all_populations().rename(columns={"samples": "simulations"})
    table["acceptance"] = table["particles"] / table["simulations"]
    table["ess"] = [
        effective_size(history.get_distribution(t=t)[1]) if t >= 0 else np.nan
        for t in table["t"]
    ]
    columns = ["t", "epsilon", "particles", "ess", "simulations", "acceptance"]
    return table[[*columns, "wall_time"]].reset_index(drop=True)


def effective_size(weights: np.ndarray) -> float:
    """Kish's effective sample size of importance weights."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / np.square(w).sum())


def stopped_by(gens: pd.DataFrame, settings: FitSettings) -> str:
    """Which of the fit's stopping rules ended it."""
    done = gens[gens["t"] >= 0]
    if done["epsilon"].iloc[-1] <= settings.min_epsilon:
        return f"epsilon reaching {settings.min_epsilon}"
    if len(done) >= settings.generations:
        return f"its last generation ({settings.generations})"
    if gens["simulations"].sum() >= settings.max_simulations:
        return f"its budget of {settings.max_simulations:,} simulations"
    return f"the {settings.hours:g} hours allowed"


PREDICTIVE_SEED = 20101
"""Seed of the weighted pick of the predictive draws' particles."""


def predictive(
    particles: pd.DataFrame,
    draws: int,
    workers: int | None = None,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Posterior-predictive runs: `draws` particles by weight, draw n on seed 1 + n."""
    rng = np.random.default_rng(PREDICTIVE_SEED)
    picks = rng.choice(len(particles), size=draws, p=particles["weight"].to_numpy())
    chosen = [{k: float(particles.at[pick, k]) for k in PRIORS} for pick in picks]
    return run_all(chosen, [1 + n for n in range(draws)], workers, scheduler)


def run_all(
    chosen: Sequence[Mapping[str, float]],
    seeds: Sequence[int],
    workers: int | None,
    scheduler: str | None,
) -> pd.DataFrame:
    """Hindcasts of the given parameter sets and seeds, on the sweeps' executors."""
    scenario = load_scenario(HINDCAST)
    with executor_for(TOWNSIM, workers, scheduler) as (executor, _capacity, _stop):
        futures = [
            executor.submit(simulate, values, seed, scenario)
            for values, seed in zip(chosen, seeds, strict=True)
        ]
        rows = [
            {"draw": n, "seed": seed, **values, **future.result()}
            for n, (values, seed, future) in enumerate(
                zip(chosen, seeds, futures, strict=True)
            )
        ]
    return pd.DataFrame(rows)


POINT_SEEDS = (1, 2, 3, 4)
"""Seeds on which the point estimate's own fit is shown."""


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: both fits, the posterior, its predictive runs and the page."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/calibration"))
    parser.add_argument("--population", type=int, default=FitSettings.population)
    parser.add_argument("--generations", type=int, default=FitSettings.generations)
    parser.add_argument(
        "--max-simulations", type=int, default=FitSettings.max_simulations
    )
    parser.add_argument("--hours", type=float, default=FitSettings.hours)
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
        hours=args.hours,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    hindcast = load_scenario(HINDCAST)
    for name, held_out in FITS.items():
        database = args.out / name
        why = reusable(database, settings.identity(hindcast, held_out))
        if why is None:
            print(f"{database}: a finished fit of this code and settings, reused")
        elif args.report_only:
            parser.exit(2, f"fit_dynamics: error: --report-only: {database}: {why}\n")
        else:
            database.unlink(missing_ok=True)
            fit(settings, database, held_out)
    main_fit, check_fit = (particles_of(args.out / name) for name in FITS)
    meta = posterior_meta(args.out / "abc.db", command_of(args))
    shipped = for_guangdong(main_fit)
    guangdong = load_scenario("guangdong")
    write_posterior(
        args.out / "posterior.parquet", shipped, main_fit["weight"], meta, guangdong
    )
    draws = predictive(main_fit, args.draws, args.workers, args.scheduler)
    check = predictive(check_fit, args.draws, args.workers, args.scheduler)
    point = point_estimate(main_fit, list(PRIORS))
    at_point = run_all(
        [point] * len(POINT_SEEDS), POINT_SEEDS, args.workers, args.scheduler
    )
    draws.to_csv(args.out / "predictive.csv", index=False)
    check.to_csv(args.out / "holdout" / "predictive.csv", index=False)
    if args.docs:
        write_page(settings, args.out, (draws, check, at_point), args.docs, meta)
    if args.apply:
        ship(main_fit, meta)
    print(shipped.assign(weight=main_fit["weight"]).describe().T.to_string())
    return 0


def command_of(args: argparse.Namespace) -> str:
    """The command that makes this calibration again."""
    parts = [
        "python -m experiments.guangdong.fit_dynamics",
        f"--out {args.out}",
        f"--population {args.population}",
        f"--generations {args.generations}",
        f"--max-simulations {args.max_simulations}",
        f"--hours {args.hours:g}",
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
            f"{int((gens['t'] >= 0).sum())} generations of "
            f"{int(gens['particles'].iloc[-1])} particles, "
            f"{int(gens['simulations'].sum())} simulations, final epsilon "
            f"{gens['epsilon'].iloc[-1]:.4f}; certification.entrant_size is the "
            "candidates left in 2015 over the listed towns, on each particle's run"
        ),
        "command": command,
        "targets": {
            t.name: {"value": t.value, "lower_bound": t.lower_bound} for t in TARGETS
        },
    }


def write_page(
    settings: FitSettings,
    out: Path,
    runs: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
    docs: Path,
    meta: Mapping[str, object],
) -> None:
    """docs/calibration.md and its figures (docs/calibration/).

    `runs`: the main fit's predictive draws, the check fit's, and the point
    estimate on `POINT_SEEDS`.
    """
    where = (
        f"the Dask cluster at {settings.scheduler}"
        if settings.scheduler
        else f"a local pool of {settings.workers or os.cpu_count()} worker(s)"
    )
    gens = [generations_of(out / name) for name in FITS]
    fitted = Fit(
        particles=particles_of(out / "abc.db"),
        generations=gens,
        stopped=[stopped_by(g, settings) for g in gens],
        draws=runs[0],
        check=runs[1],
        at_point=runs[2],
        workers=where,
        versions={"code_version": code_version(), "model_version": model_version()},
        command=str(meta["command"]),
    )
    text = page(fitted, docs / "calibration", docs)
    (docs / "calibration.md").write_text(text)


def ship(particles: pd.DataFrame, meta: Mapping[str, object]) -> None:
    """Ship the posterior and write its weighted medians into the scenarios.

    `guangdong` takes the growth keys and its entrants' size (the candidates
    left in 2015); `guangdong_2010` its own 2010 start and entrants' size.
    """
    shipped = for_guangdong(particles)
    write_posterior(
        shipped_file("guangdong"),
        shipped,
        particles["weight"],
        meta,
        load_scenario("guangdong"),
    )
    medians = point_estimate(shipped.assign(weight=particles["weight"]), SHIPPED)
    write_values("guangdong", medians)
    own = ["certification.entrant_size", "province.start_output"]
    write_values(HINDCAST, point_estimate(particles, own))


def write_values(scenario: str, values: Mapping[str, float]) -> None:
    """Write values (four significant digits) into a scenario file's lines."""
    apply(
        scenario_path(scenario),
        {
            key.rpartition(".")[2]: float(f"{value:.4g}")
            for key, value in values.items()
        },
    )


if __name__ == "__main__":
    os.nice(10)
    raise SystemExit(main())
