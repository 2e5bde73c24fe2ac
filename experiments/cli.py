"""The `townsim` command: run a scenario or a sweep, analyze a sweep, list, serve.

Bad input ends with exit code 2 and one message naming the file, the key, the
value and what is allowed; nothing is written before the input is known good.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from scenarios import (
    DEFAULT_SCENARIO,
    DEFAULT_SEED,
    ScenarioError,
    load_scenario,
    parse_assignment,
    shipped_scenarios,
)


def build_parser() -> argparse.ArgumentParser:
    """The command line: `townsim run|sweep|analyze|scenarios|app`."""
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

    add_sweep_parsers(commands)

    commands.add_parser("scenarios", help="list the shipped scenarios")

    app = commands.add_parser("app", help="serve the interactive app on localhost")
    app.add_argument("--port", type=int, default=8765)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `townsim`; returns the exit code."""
    args = build_parser().parse_args(argv)
    errors = input_errors(args.command)
    try:
        if args.command == "run":
            return run_command(args)
        if args.command == "sweep":
            return sweep_command(args)
        if args.command == "analyze":
            return analyze_command(args)
        if args.command == "scenarios":
            for name in shipped_scenarios():
                scenario = load_scenario(name)
                print(f"{name:12s} {scenario.description}")
            return 0
        return app_command(args)
    except errors as error:
        print(f"townsim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("townsim: interrupted; nothing was written", file=sys.stderr)
        return 130


def input_errors(command: str) -> tuple[type[Exception], ...]:
    """Errors that mean bad input (exit 2).

    The single-run machinery (and Mesa with it) is imported only for `run`, so a
    sweep's driver stays free of the model: its workers import it.
    """
    if command == "run":
        from experiments.runs.single_run import OutputError

        return (ScenarioError, OutputError)
    return (ScenarioError,)


def run_command(args: argparse.Namespace) -> int:
    """Validate everything, run with a progress bar, print the summary, write files."""
    from tqdm import tqdm

    from experiments.runs.allocator import keep_freed_memory
    from experiments.runs.single_run import check_output, run_scenario, write_results
    from experiments.runs.summary import summarize

    overrides = dict(parse_assignment(text) for text in args.overrides)
    scenario = load_scenario(args.scenario, overrides)
    keep_freed_memory()
    out = args.out or Path("results") / f"{scenario.name}-seed{args.seed}"
    check_output(out)
    with tqdm(
        total=scenario.steps,
        desc=f"{scenario.name} seed {args.seed}",
        unit="step",
        disable=args.quiet,
        file=sys.stderr,
    ) as bar:
        result = run_scenario(scenario, args.seed, progress=lambda _: bar.update())
    print(summarize(result))
    written = write_results(result, out, command=["townsim", *sys.argv[1:]])
    print(
        f"\nResults: {written}/ (series, towns, firms, growth .parquet; manifest.json)"
    )
    return 0


def add_sweep_parsers(commands: argparse._SubParsersAction) -> None:
    """`townsim sweep` and `townsim analyze`."""
    sweep = commands.add_parser(
        "sweep", help="run an experiment file's design; rerun to resume"
    )
    sweep.add_argument("experiment", type=Path, help="experiment TOML file")
    sweep.add_argument(
        "--workers",
        type=int,
        default=None,
        help="local worker processes (default: cores)",
    )
    sweep.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster, e.g. tcp://10.0.0.5:8786",
    )
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


def sweep_command(args: argparse.Namespace) -> int:
    """Validate the experiment, run what is missing, say where the results are."""
    from experiments.sweeps.driver import SweepInterrupted, run_sweep
    from experiments.sweeps.plan import load_experiment

    if args.workers is not None and args.workers < 1:
        raise ScenarioError(f"--workers {args.workers}: allowed: 1 or more")
    plan = load_experiment(args.experiment)
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
        if isinstance(stop, SweepInterrupted):
            done = stop.summary.skipped + stop.summary.done
            recorded = f"{done} of {stop.summary.total} runs are recorded in {out}/"
        else:
            recorded = f"finished runs are kept in {out}/"
        print(
            f"townsim: interrupted: {recorded}; run the same command to resume",
            file=sys.stderr,
        )
        return 130
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


def analyze_command(args: argparse.Namespace) -> int:
    """Indices, charts, report and exports of a finished (or partial) sweep."""
    from experiments.analysis.report import analyze

    report = analyze(
        args.results,
        out=args.out,
        by=args.by,
        resamples=args.resamples,
        tidy_csv=args.tidy_csv,
    )
    print(f"Report: {report}")
    return 0


def app_command(args: argparse.Namespace) -> int:
    """Serve app.py with Solara."""
    app = Path(__file__).resolve().parent.parent / "app.py"
    command = [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(app),
        "--port",
        str(args.port),
    ]
    return subprocess.call([*command, "--host", "localhost"])


if __name__ == "__main__":
    sys.exit(main())
