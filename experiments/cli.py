"""The `townsim` command: run a scenario or a sweep, analyze a sweep, list, serve.

Bad input ends with exit code 2 and one message naming the file, the key, the
value and what is allowed; nothing is written before the input is known good.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    """The command line: `townsim run|sweep|analyze|optimize|scenarios|app`."""
    from scenarios import DEFAULT_SCENARIO, DEFAULT_SEED

    parser = argparse.ArgumentParser(
        prog="townsim",
        description="Simulate how Guangdong's professional towns climb the four "
        "dimensions of collaborative innovation.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run one scenario and print its summary")
    run.add_argument(
        "scenario",
        nargs="?",
        default=DEFAULT_SCENARIO,
        help=f"shipped scenario name or TOML file (default: {DEFAULT_SCENARIO})",
    )
    run.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario key, e.g. --set government.talent=0.5",
    )
    run.add_argument(
        "--out", type=Path, help="output folder (default: results/NAME-seedN)"
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--posterior",
        type=int,
        metavar="N",
        help="run N draws of the scenario's calibrated parameters (draw i with "
        "a seed derived from --seed and i, listed in draws.csv) and print bands "
        "over them",
    )
    run.add_argument(
        "--posterior-file",
        type=Path,
        metavar="PATH",
        help="posterior to draw from (default: scenarios/posteriors/NAME.parquet)",
    )
    add_executor_arguments(run, "with --posterior: ")
    run.add_argument(
        "--retry-failed",
        action="store_true",
        help="with --posterior: run failed draws again",
    )

    add_sweep_parsers(commands)
    add_optimize_parser(commands)

    commands.add_parser("scenarios", help="list the shipped scenarios")

    app = commands.add_parser("app", help="serve the interactive app on localhost")
    app.add_argument("--port", type=int, default=8765)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `townsim`; returns the exit code.

    Exit 2 is bad input (file, key, value or place), 1 a fault (a disk, the
    memory, a failed run), 130 an interruption; each ends with one line on
    stderr, never a traceback (`TOWNSIM_TRACEBACK=1` shows one for faults).
    """
    try:
        return _command(argv)
    except KeyboardInterrupt:  # before a command took charge: while starting up
        print("townsim: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # stdout closed early (`| head`): the work is done
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _command(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    errors = input_errors(args.command)
    try:
        if args.command == "run":
            return run_command(args)
        if args.command == "sweep":
            return sweep_command(args)
        if args.command == "analyze":
            return analyze_command(args)
        if args.command == "optimize":
            return optimize_command(args)
        if args.command == "scenarios":
            return scenarios_command()
        return app_command(args)
    except errors as error:
        print(f"townsim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        said = "nothing was written" if args.command == "run" else "stopped"
        print(f"townsim: interrupted; {said}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        raise
    except Exception as error:
        return fault(error)


def fault(error: BaseException) -> int:
    """Say in one line what went wrong outside the input; exit code 1."""
    if os.environ.get("TOWNSIM_TRACEBACK"):
        import traceback

        traceback.print_exception(error)
    if isinstance(error, MemoryError):
        what = "out of memory; choose fewer towns or firms per town"
    elif isinstance(error, OSError):
        where = f": {error.filename}" if error.filename else ""
        what = f"{error.strerror or error}{where}"
    else:
        what = f"{type(error).__name__}: {error}"
    print(f"townsim: error: {what}", file=sys.stderr)
    return 1


def scenarios_command() -> int:
    """List the shipped scenarios with their descriptions."""
    from scenarios import load_scenario, shipped_scenarios

    for name in shipped_scenarios():
        scenario = load_scenario(name)
        print(f"{name:12s} {scenario.description}")
    return 0


def input_errors(command: str) -> tuple[type[Exception], ...]:
    """Errors that mean bad input (exit 2).

    The single-run machinery (and Mesa with it) is imported only for `run`, so a
    sweep's driver stays free of the model: its workers import it.
    """
    from scenarios import ScenarioError

    if command == "run":
        from experiments.runs.single_run import OutputError

        return (ScenarioError, OutputError)
    return (ScenarioError,)


def run_command(args: argparse.Namespace) -> int:
    """Check everything, run with a progress bar, write the files, print the summary.

    The results are written before anything is printed, so a closed pipe
    (`| head`) cannot lose them.
    """
    from tqdm import tqdm

    from experiments.runs.allocator import keep_freed_memory
    from experiments.runs.memory import memory_problem
    from experiments.runs.single_run import (
        check_output,
        recover,
        run_scenario,
        write_results,
    )
    from experiments.runs.summary import summarize
    from scenarios import ScenarioError, load_scenario, parse_assignment

    if args.seed < 0:
        raise ScenarioError(f"--seed {args.seed}: allowed: a whole number, 0 or more")
    if args.posterior is not None:
        return posterior_command(args)
    for name in ("posterior_file", "workers", "scheduler", "retry_failed"):
        if getattr(args, name) not in (None, False):
            option = "--" + name.replace("_", "-")
            raise ScenarioError(
                f"{option}: goes with --posterior N; add it or drop {option}"
            )
    overrides = dict(parse_assignment(text) for text in args.overrides)
    scenario = load_scenario(args.scenario, overrides, overrides_origin="--set")
    out = args.out or Path("results") / f"{scenario.name}-seed{args.seed}"
    check_output(out)
    if problem := memory_problem(scenario):
        raise ScenarioError(problem)
    for line in recover(out):
        print(f"townsim: {line}", file=sys.stderr)
    keep_freed_memory()
    with tqdm(
        total=scenario.steps,
        desc=f"{scenario.name} seed {args.seed}",
        unit="step",
        disable=args.quiet,
        file=sys.stderr,
    ) as bar:
        result = run_scenario(scenario, args.seed, progress=lambda _: bar.update())
    written = write_results(result, out, command=["townsim", *sys.argv[1:]])
    print(summarize(result))
    print(
        f"\nResults: {written}/ (series, towns, firms, growth .parquet; manifest.json)"
    )
    return 0


def posterior_command(args: argparse.Namespace) -> int:
    """Run N posterior draws like a sweep; write draws, bands and chart; print bands.

    Everything is checked before anything is written: the scenario, the
    posterior (its model version, scenario, keys and weights), `--set` keys
    that the posterior draws, and the output place.
    """
    from experiments.runs.memory import memory_problem
    from experiments.runs.posterior import read_posterior, shipped_file
    from experiments.sweeps import draws
    from scenarios import ScenarioError, load_scenario, parse_assignment

    if args.posterior < 1:
        raise ScenarioError(f"--posterior {args.posterior}: allowed: 1 or more draws")
    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers {args.workers}: allowed: 1 or more")
    overrides = dict(parse_assignment(text) for text in args.overrides)
    scenario = load_scenario(args.scenario, overrides, overrides_origin="--set")
    posterior = read_posterior(
        args.posterior_file or shipped_file(scenario.name), scenario
    )
    _refuse_drawn_overrides(overrides, posterior)
    at_once = (
        1
        if args.scheduler
        else min(args.workers or os.cpu_count() or 1, args.posterior)
    )
    if problem := memory_problem(scenario, at_once):
        raise ScenarioError(problem)
    plan = draws.DrawPlan(scenario, posterior, args.posterior, args.seed)
    out = args.out or Path("results") / f"{scenario.name}-posterior-seed{args.seed}"
    try:
        summary = draws.run_draws(
            plan,
            out,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=not args.quiet,
            command=["townsim", *sys.argv[1:]],
            retry_failed=args.retry_failed,
        )
        return _report_draws(args, plan, out, summary)
    except KeyboardInterrupt as stop:  # in the pool, or before or after it
        return interrupted(stop, out, "draws")


def _report_draws(args: argparse.Namespace, plan: Any, out: Path, summary: Any) -> int:
    """Write the draws' tables, chart and summary; print the summary."""
    from experiments.analysis.bands import band_table, chart_png, summary_text
    from experiments.sweeps import draws
    from experiments.sweeps.results_store import write_atomic

    scenario, posterior = plan.scenario, plan.posterior
    values = draws.draw_values(plan, out)
    if values.empty:
        print(
            f"townsim: error: every draw failed; see {out}/failures/ (rerun with "
            "--retry-failed to try them again)",
            file=sys.stderr,
        )
        return 1
    text = summary_text(scenario, posterior, values, args.seed, args.posterior)
    draws.write_table(plan.table(), out / draws.DRAWS)
    draws.write_table(band_table(values), out / draws.BANDS)
    write_atomic(out / draws.CHART, chart_png(scenario, values))
    write_atomic(out / draws.SUMMARY, (text + "\n").encode())
    print(text)
    print(
        f"\nResults: {out}/ (runs/*.parquet, {draws.DRAWS}, {draws.BANDS}, "
        f"{draws.CHART}, {draws.SUMMARY}, manifest.json)"
    )
    if summary.failed or summary.earlier_failed:
        print(
            f"Failed draws and their tracebacks: {out}/failures/ "
            "(rerun with --retry-failed to try them again)"
        )
        return 1
    return 0


def _refuse_drawn_overrides(overrides: dict[str, Any], posterior: Any) -> None:
    """A key the posterior draws cannot also be set: one would silently lose."""
    from scenarios import ScenarioError
    from scenarios.loading import resolve_key

    for key, value in overrides.items():
        path = resolve_key(key, "--set")
        if path in posterior.keys:
            raise ScenarioError(
                f"--set {key}={value}: {path} is a parameter of the posterior "
                f"{posterior.path}, drawn for every run; drop it from --set, or "
                "run without --posterior"
            )


def add_sweep_parsers(commands: argparse._SubParsersAction) -> None:
    """`townsim sweep` and `townsim analyze`."""
    sweep = commands.add_parser(
        "sweep", help="run an experiment file's design; rerun to resume"
    )
    sweep.add_argument("experiment", type=Path, help="experiment TOML file")
    add_executor_arguments(sweep)
    sweep.add_argument(
        "--out", type=Path, help="results folder (default: results/sweeps/NAME)"
    )
    sweep.add_argument(
        "--retry-failed", action="store_true", help="run failed runs again"
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument(
        "--dry-run", action="store_true", help="say what would run, run nothing"
    )

    analyze = commands.add_parser(
        "analyze", help="sensitivity indices, fan charts and a report of a sweep"
    )
    analyze.add_argument("results", type=Path, help="a sweep's results folder")
    analyze.add_argument(
        "--out", type=Path, help="report folder (default: RESULTS/report)"
    )
    analyze.add_argument(
        "--by", metavar="FACTOR", help="split the fan charts by this factor"
    )
    analyze.add_argument(
        "--resamples", type=int, default=None, help="bootstrap draws for the CIs"
    )
    analyze.add_argument(
        "--tidy-csv",
        action="store_true",
        help="also write every row of every run to runs.csv (large)",
    )
    analyze.add_argument(
        "--discover",
        metavar='"OUTCOME < X"',
        help="scenario discovery: where runs with OUTCOME < X (or >, <=, >=) "
        "gather, by PRIM over the factors (needs the extra townsim[ema])",
    )


def sweep_command(args: argparse.Namespace) -> int:
    """Validate the experiment, run what is missing, say where the results are."""
    from experiments.sweeps.driver import run_sweep
    from experiments.sweeps.plan import load_experiment
    from scenarios import ScenarioError

    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers {args.workers}: allowed: 1 or more")
    plan = load_experiment(args.experiment)
    if problem := sweep_memory_problem(plan, args.workers, args.scheduler):
        raise ScenarioError(f"{args.experiment}: {problem}")
    out = args.out or Path("results") / "sweeps" / plan.experiment.name
    if args.dry_run:
        from experiments.sweeps.plan import describe

        done = len(list((out / "runs").glob("*.parquet"))) if out.exists() else 0
        print(describe(plan))
        print(f"results: {out}/ ({done} runs there already)")
        return 0
    try:
        summary = run_sweep(
            plan,
            out,
            workers=args.workers,
            scheduler=args.scheduler,
            retry_failed=args.retry_failed,
            progress=not args.quiet,
            command=["townsim", *sys.argv[1:]],
        )
    except KeyboardInterrupt as stop:
        return interrupted(stop, out, "runs")
    print(
        f"{plan.experiment.name}: {summary.done} runs done now, {summary.skipped} "
        f"found done, {summary.failed + summary.earlier_failed} failed, of "
        f"{summary.total} ({summary.wall_seconds:.1f} s)"
    )
    print(f"Results: {out}/ (runs/*.parquet, manifest.json, design.parquet)")
    if summary.failed or summary.earlier_failed:
        print(
            f"Failed runs and their tracebacks: {out}/failures/ "
            "(rerun with --retry-failed to try them again)"
        )
        return 1
    return 0


def interrupted(stop: KeyboardInterrupt, out: Path, what: str) -> int:
    """Say what an interrupted sweep or set of draws kept; the exit code 130."""
    from experiments.sweeps.driver import SweepInterrupted

    if isinstance(stop, SweepInterrupted):
        done = stop.summary.skipped + stop.summary.done
        recorded = f"{done} of {stop.summary.total} {what} are recorded in {out}/"
    else:
        recorded = f"finished {what} are kept in {out}/"
    print(
        f"townsim: interrupted: {recorded}; run the same command to resume",
        file=sys.stderr,
    )
    return 130


def sweep_memory_problem(plan: Any, workers: int | None, scheduler: Any) -> str | None:
    """Why the sweep's largest run cannot fit here, as many at once as workers.

    Runs on a Dask cluster are checked one at a time, on this machine's memory
    only when the cluster is local.
    """
    from experiments.runs.memory import memory_problem, needed_bytes
    from scenarios import build_scenario

    if plan.base is None:
        return None
    sizes = ("province.", "enterprise.max_partners")
    points = [p for p in plan.values if any(k.startswith(sizes) for k in p)]
    largest = max(
        (build_scenario(plan.base, params) for params in points or [{}]),
        key=needed_bytes,
    )
    at_once = 1 if scheduler else min(workers or os.cpu_count() or 1, plan.runs)
    return memory_problem(largest, at_once)


def analyze_command(args: argparse.Namespace) -> int:
    """Indices, charts, report and exports of a finished (or partial) sweep."""
    from experiments.analysis.report import analyze

    report = analyze(
        args.results,
        out=args.out,
        by=args.by,
        resamples=args.resamples,
        tidy_csv=args.tidy_csv,
        discover=args.discover,
    )
    print(f"Report: {report}")
    return 0


def add_executor_arguments(parser: argparse.ArgumentParser, when: str = "") -> None:
    """--workers and --scheduler: where a sweep's or a search's runs go."""
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help=f"{when}local worker processes (default: cores)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"{when}run on a Dask cluster, e.g. tcp://10.0.0.5:8786",
    )


def add_optimize_parser(commands: argparse._SubParsersAction) -> None:
    """`townsim optimize`: a robust many-objective search over the levers."""
    optimize = commands.add_parser(
        "optimize",
        help="search the levers for a robust Pareto front; rerun to resume",
    )
    optimize.add_argument("search", type=Path, help="search TOML file")
    add_executor_arguments(optimize)
    optimize.add_argument(
        "--out", type=Path, help="results folder (default: results/optimize/NAME)"
    )
    optimize.add_argument("--quiet", action="store_true", help="no progress bars")


def optimize_command(args: argparse.Namespace) -> int:
    """Validate the search file, run the search (resuming), write its front."""
    from experiments.optimize.front import write_report
    from experiments.optimize.problem import load_problem
    from experiments.optimize.search import run_search
    from scenarios import ScenarioError

    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers {args.workers}: allowed: 1 or more")
    problem = load_problem(args.search)
    out = args.out or Path("results") / "optimize" / problem.search.name
    try:
        archive, summary = run_search(
            problem,
            out,
            workers=args.workers,
            scheduler=args.scheduler,
            progress=not args.quiet,
            command=["townsim", *sys.argv[1:]],
        )
    except KeyboardInterrupt:
        print(
            f"townsim: interrupted: finished runs are kept in {out}/; run the same "
            "command to resume",
            file=sys.stderr,
        )
        return 130
    report = write_report(problem, archive, summary, out)
    runs = summary.runs
    print(
        f"{problem.search.name}: {summary.generations} generations, "
        f"{len(archive.ids)} candidates, {runs.done} runs done now, "
        f"{runs.skipped} found stored, {runs.failed + runs.earlier_failed} failed "
        f"({runs.wall_seconds:.1f} s)"
    )
    print(f"Front: {out}/front.csv, front.png; report: {report}")
    return 0


def app_command(args: argparse.Namespace) -> int:
    """Serve app.py with Solara, in a server that cannot outlive this command.

    The server asks the kernel for a SIGTERM when this process dies, however it
    dies (`die_with_parent`); a SIGTERM here is passed on and waited for, so
    the port is free when the command has ended.
    """
    import signal

    from experiments.runs.processes import die_with_parent

    app = Path(__file__).resolve().parent.parent / "app.py"
    command = [sys.executable, "-m", "solara", "run", str(app)]
    command += ["--port", str(args.port), "--host", "localhost"]
    parent = os.getpid()
    server = subprocess.Popen(
        command, preexec_fn=lambda: die_with_parent(signal.SIGTERM, parent)
    )

    def pass_on(signum: int, frame: object) -> None:
        server.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, pass_on)
    try:
        code = server.wait()
    except KeyboardInterrupt:  # the server had the Ctrl-C too: it is stopping
        with contextlib.suppress(subprocess.TimeoutExpired, KeyboardInterrupt):
            server.wait(timeout=10)
        print("townsim: app stopped", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if server.poll() is None:
            server.kill()
            server.wait()
    return 128 - code if code < 0 else code  # as a shell reports a signal


if __name__ == "__main__":
    sys.exit(main())
