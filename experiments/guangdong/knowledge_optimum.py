"""IP protection and cross-town connectivity against knowledge: is there an optimum?

Computes, from the two knowledge sweeps, each level's outcomes per run, the best
level of each outcome and whether it beats both ends of the range (paired over
runs); the report renders the tables, the reading and the figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from experiments.guangdong.over_seeds import paired

OUTCOMES = {
    "knowledge": "mean knowledge of live firms at the end",
    "level": "mean digital level of live firms at the end",
    "diffused": "knowledge shared along ties and leaked, summed over towns and years",
}
MEASURED = {
    "knowledge": "mean_knowledge",
    "level": "mean_firm_level",
    "shared": "total_knowledge_shared",
    "leaked": "total_knowledge_leaked",
    "protection": "ip_protection",
}
"""The sweep's columns and the outcomes of its runs they come from."""


def sweep_frame(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per level of `key` and run: the outcomes of `OUTCOMES` and flows."""
    wide = rows.pivot_table(
        index=[key, "replication"], columns="outcome", values="value", aggfunc="first"
    )
    frame = pd.DataFrame({name: wide[outcome] for name, outcome in MEASURED.items()})
    frame["diffused"] = frame["shared"] + frame["leaked"]
    return frame.reset_index()


def interior_optimum(frame: pd.DataFrame, key: str, outcome: str) -> dict[str, str]:
    """Best level by the mean, and whether it beats both ends (paired over runs)."""
    wide = frame.pivot(index="replication", columns=key, values=outcome)
    best = wide.mean().idxmax()
    lo, hi = wide.columns.min(), wide.columns.max()
    verdict = "no: the best level is an end of the range"
    gains = []
    if best not in (lo, hi):
        for end in (lo, hi):
            gains.append(paired(wide[best].to_numpy(), wide[end].to_numpy()))
        clear = all(m - 2 * se > 0 for m, se in gains)
        verdict = (
            "yes, above both ends by > 2 s.e."
            if clear
            else "not clear: within 2 s.e. of an end"
        )
    return {
        "outcome": OUTCOMES[outcome],
        "best level": f"{best:g}",
        "gain over low end": f"{gains[0][0]:.4g} ± {gains[0][1]:.2g}" if gains else "-",
        "gain over high end": f"{gains[1][0]:.4g} ± {gains[1][1]:.2g}"
        if gains
        else "-",
        "interior optimum": verdict,
    }


def optimum_table(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The interior-optimum test of every outcome of one sweep."""
    return pd.DataFrame([interior_optimum(frame, key, o) for o in OUTCOMES])


@dataclass
class Ends:
    """The IP sweep at its lowest and highest floor, and the protection reached."""

    protection: pd.Series
    low: pd.Series
    high: pd.Series
    interior: bool
    """Whether knowledge peaks clearly inside the range of protection."""


def ip_ends(ip: pd.DataFrame, key: str) -> Ends:
    """Protection, flows and knowledge at the two ends of the IP sweep."""
    protection = ip.groupby(key)["protection"].mean()
    means = ip.groupby(key)[["shared", "leaked", "knowledge"]].mean()
    verdict = interior_optimum(ip, key, "knowledge")["interior optimum"]
    return Ends(protection, means.iloc[0], means.iloc[-1], verdict.startswith("yes"))
