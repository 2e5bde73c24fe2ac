"""The `townsim` command: run a scenario, list scenarios, or serve the app.

Bad input ends with exit code 2 and one message naming the file, the key, the
value and what is allowed; nothing is written before the input is known good.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from experiments.run import OutputError, check_output, run_scenario, write_results
from scenarios import ScenarioError, load_scenario, parse_assignment, shipped_scenarios

DEFAULT_SCENARIO = "baseline"
DEFAULT_SEED = 42


def build_parser() -> argparse.ArgumentParser:
    """The command line: `townsim run|scenarios|app`."""
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

    commands.add_parser("scenarios", help="list the shipped scenarios")

    app = commands.add_parser("app", help="serve the interactive app on localhost")
    app.add_argument("--port", type=int, default=8765)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of `townsim`; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return run_command(args)
        if args.command == "scenarios":
            for name in shipped_scenarios():
                scenario = load_scenario(name)
                print(f"{name:12s} {scenario.description}")
            return 0
        return app_command(args)
    except (ScenarioError, OutputError) as error:
        print(f"townsim: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("townsim: interrupted; nothing was written", file=sys.stderr)
        return 130


def run_command(args: argparse.Namespace) -> int:
    """Validate everything, run with a progress bar, print the summary, write files."""
    from tqdm import tqdm

    from experiments.allocator import keep_freed_memory
    from experiments.summary import summarize

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
    print(f"\nResults: {written}/ (series, towns, firms .parquet; manifest.json)")
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
