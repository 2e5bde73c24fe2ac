"""How common common random numbers stay: a small policy change, paired by seed.

A lever comparison is only as sharp as the noise the model adds between two
runs of the same seed. This runs pairs of runs that differ only in the talent
lever's weight (0.20 against 0.21) and prints, as JSON lines:

- the s.d. over seeds of the paired difference in province output, over the
  s.d. of the output itself (1: pairing buys nothing; 0: all noise shared);
- the share of towns whose output moves by more than 1% between the two runs;
- for the Guangdong scenario, the share of firms (alive in both runs at the end
  year, matched by firm id) whose size moves by more than 1%.

    python benchmarks/bench_crn.py                # baseline seeds 1-8, Guangdong 1-2
    python benchmarks/bench_crn.py --seeds 4 --guangdong-seeds 0
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd

CHANGE = ("government.talent", 0.20, 0.21)
"""The key changed and its two values."""
MOVES = 0.01
"""A relative change above this counts as a move."""


def town_output(scenario: str, seed: int, value: float, year: int) -> pd.Series:
    """Each town's output in `year` for one run (million yuan)."""
    from model import TownModel

    key, _, _ = CHANGE
    params = {key: value, "end_year": year}
    towns = TownModel(scenario, rng=seed, **params).run().town_frame()
    return towns.loc[towns["year"] == year].set_index("town")["gdp"]


def pairing(scenario: str, seeds: list[int], year: int) -> dict:
    """Paired-to-level s.d. ratio and share of towns that move, over seeds."""
    _, low, high = CHANGE
    pairs = [
        (town_output(scenario, s, low, year), town_output(scenario, s, high, year))
        for s in seeds
    ]
    level = np.array([a.sum() for a, _ in pairs])
    change = np.array([b.sum() - a.sum() for a, b in pairs])
    moved = np.concatenate(
        [np.abs(b / a.clip(lower=1e-9) - 1) > MOVES for a, b in pairs]
    )
    return {
        "case": f"{scenario} towns",
        "change": f"{CHANGE[0]} {low} -> {high}",
        "year": year,
        "seeds": seeds,
        "province_output_mean_m_yuan": round(float(level.mean()), 1),
        "paired_to_level_sd_ratio": round(
            float(change.std(ddof=1) / level.std(ddof=1)), 3
        ),
        "share_of_towns_moving_1pct": round(float(moved.mean()), 3),
    }


def firm_sizes(scenario: str, seed: int, value: float, year: int) -> pd.Series:
    """Each live firm's size at the end of `year`, by firm id."""
    from model import TownModel

    key, _, _ = CHANGE
    model = TownModel(scenario, rng=seed, **{key: value, "end_year": year}).run()
    firms = model.firm_frame()
    ids = firms["id"] if "id" in firms else firms["slot"]
    return firms.set_index(ids)["size"]


def firm_moves(scenario: str, seeds: list[int], year: int) -> dict:
    """Share of firms alive in both runs whose size moves by more than 1%."""
    _, low, high = CHANGE
    moved, matched = 0, 0
    for seed in seeds:
        a, b = (firm_sizes(scenario, seed, v, year) for v in (low, high))
        both = a.index.intersection(b.index)
        moved += int((np.abs(b[both] / a[both] - 1) > MOVES).sum())
        matched += both.size
    return {
        "case": f"{scenario} firms",
        "change": f"{CHANGE[0]} {low} -> {high}",
        "year": year,
        "seeds": seeds,
        "firms_matched": matched,
        "share_of_firms_moving_1pct": round(moved / max(matched, 1), 3),
    }


def main() -> None:
    """Print the figures as JSON lines."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--guangdong-seeds", type=int, default=2)
    args = parser.parse_args()
    seeds = list(range(1, args.seeds + 1))
    print(json.dumps(pairing("baseline", seeds, 2025)), flush=True)
    if args.guangdong_seeds:
        few = list(range(1, args.guangdong_seeds + 1))
        print(json.dumps(firm_moves("guangdong", few, 2020)), flush=True)


if __name__ == "__main__":
    main()
