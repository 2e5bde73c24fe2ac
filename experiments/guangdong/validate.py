"""The validation report: the Guangdong scenario against known patterns.

Runs the model over many seeds and writes `validation.md` with its plots
(`validation/*.png`): each mechanism pattern against the knock-out of the
mechanism that should cause it, on the same seeds (staged S-curves against no
imitation, clustering of adoption against no contagion and no cross-border
rule over a degree- and town-stratified null, size tails against no size
shocks, demography against a flat exit hazard and without ties or platforms),
the responses of knowledge to IP protection and far search, and the 2020 plan
with the levers that close the gap. The runs are sweeps (`comparisons`), kept under
`--results` so that a rerun resumes them (delete a folder to run it afresh,
e.g. after the model changed); every number is computed by a section module and
worded by `report`; the seeds and the code version are written into the report.

Usage: `python -m experiments.guangdong.validate --out docs` (about fifteen minutes
on two cores; `--quick` runs a tiny configuration in seconds).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

from experiments.guangdong import report
from experiments.guangdong.clustering import clustering_tests, contrasts, tested_runs
from experiments.guangdong.comparisons import (
    QUICK,
    SWEEP_KEYS,
    Config,
    Runs,
    run_all,
    towns_of,
)
from experiments.guangdong.demography import demography
from experiments.guangdong.firm_sizes import size_samples, tails
from experiments.guangdong.function_models import scenario
from experiments.guangdong.knowledge_optimum import ip_ends, sweep_frame
from experiments.guangdong.policy import (
    PROVINCE_GDP,
    frames,
    lever_frames,
    lever_verdict,
)
from experiments.guangdong.s_curves import s_curves
from experiments.runs.provenance import code_version
from experiments.sweeps.results_store import SweepError

RESULTS = Path("results") / "validation"


def build_report(
    cfg: Config,
    out: Path,
    results: Path = RESULTS,
    workers: int | None = None,
    progress: bool = True,
) -> str:
    """Run (or resume) every comparison; return the Markdown text.

    Args:
        cfg: Sizes and replications of the runs.
        out: The report's folder; plots go to out/validation.
        results: Where the comparisons' runs are kept, one folder each.
        workers: Worker processes (default: one per core).
        progress: Show each comparison's progress bar.
    """
    version = code_version()  # before the figures are rewritten in a checkout
    figures = out / "validation"
    figures.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows = run_all(cfg, results, workers, progress)
    minutes = (time.perf_counter() - started) / 60
    sections = [
        ("Staged S-curves and Bass fits", _s_curves(rows, figures)),
        ("Adoption clusters along ties", _clustering(rows, cfg, figures)),
        ("Heavy-tailed firm sizes", _firm_sizes(rows, figures)),
        ("IP protection and far search (not patterns)", _optimum(rows, cfg, figures)),
        ("Firm demography", _demography(rows, figures)),
        ("The 2020 plan and the levers", _policy(rows, cfg, figures)),
    ]
    sample = scenario(cfg.overrides, towns=cfg.towns)
    body = [
        f"## {n + 1} {title}\n\n{text}\n" for n, (title, text) in enumerate(sections)
    ]
    return "\n".join(report.head(cfg, sample, results, minutes, version) + body)


def _s_curves(rows: Runs, figures: Path) -> str:
    return report.s_curves_section(s_curves(rows["mechanisms"]), figures)


def _clustering(rows: Runs, cfg: Config, figures: Path) -> str:
    tests = clustering_tests(rows["mechanisms"])
    found = contrasts(tests, tested_runs(rows["mechanisms"]))
    return report.clustering_section(tests, found, cfg, figures)


def _demography(rows: Runs, figures: Path) -> str:
    return report.demography_section(demography(rows["mechanisms"]), figures)


def _firm_sizes(rows: Runs, figures: Path) -> str:
    samples = size_samples(rows["mechanisms"], rows["province"])
    return report.firm_sizes_section(samples, tails(samples), figures)


def _optimum(rows: Runs, cfg: Config, figures: Path) -> str:
    sweeps = {
        name: (sweep_frame(rows[name], key), key) for name, key in SWEEP_KEYS.items()
    }
    ends = ip_ends(*sweeps["ip_protection"])
    return report.optimum_section(sweeps, ends, cfg, figures)


def _policy(rows: Runs, cfg: Config, figures: Path) -> str:
    s = scenario(cfg.overrides, **towns_of(cfg.province_towns))
    lever_s = scenario(cfg.overrides, **towns_of(cfg.policy_towns))
    province = frames(rows["province"])
    levers = lever_frames(rows["levers"], PROVINCE_GDP if cfg.policy_towns else None)
    verdict = lever_verdict(levers, s)
    return report.policy_section(province, levers, (s, lever_s), verdict, cfg, figures)


def main(argv: list[str] | None = None) -> int:
    """Command line: write validation.md and its plots into --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs"))
    parser.add_argument("--quick", action="store_true", help="tiny runs (a smoke test)")
    parser.add_argument(
        "--replications", type=int, help="seeds of the mechanism runs (default 20)"
    )
    parser.add_argument(
        "--results",
        type=Path,
        help=f"where the runs are kept (default {RESULTS}, {RESULTS}-quick)",
    )
    parser.add_argument("--workers", type=int, help="worker processes (default: cores)")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else Config()
    if args.replications:
        cfg = replace(cfg, replications=args.replications)
    results = args.results or (
        RESULTS.with_name("validation-quick") if args.quick else RESULTS
    )
    try:
        text = build_report(cfg, args.out, results, args.workers)
    except SweepError as error:
        print(f"validate: {error} (here: --results, or delete it)", file=sys.stderr)
        return 2
    (args.out / "validation.md").write_text(text)
    print(f"wrote {args.out / 'validation.md'}")
    return 0


if __name__ == "__main__":
    os.nice(10)  # long and CPU-bound: leave the machine to interactive work first
    raise SystemExit(main())
