"""IP protection and cross-town search against knowledge: responses, not optima.

Computes, from the knowledge sweeps, each level's outcomes per run, the best
level of each outcome and whether it beats both ends of the range (paired over
runs), and the response from the low to the high end of each factor, with and
without the mechanism that would have to make an optimum (same seeds). Neither
an interior optimum of IP protection nor a small-world optimum of far search
is a pattern of the model any more (ODD 1.2 says why); the report shows what the
two levers do instead. The report renders the tables, the reading and the
figure.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from experiments.guangdong.over_seeds import paired, paired_text

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


def ends_difference(frame: pd.DataFrame, key: str, outcome: str) -> pd.Series:
    """Per run: `outcome` at the factor's highest level less at its lowest."""
    wide = frame.pivot(index="replication", columns=key, values=outcome)
    return wide[wide.columns.max()] - wide[wide.columns.min()]


def response_table(
    sweeps: dict[str, tuple[pd.DataFrame, str]], pairs: dict[str, tuple[str, str]]
) -> pd.DataFrame:
    """Per factor: knowledge's response across its range, as run and knocked out.

    `pairs` maps a label to the names of the sweep as run and the sweep with a
    mechanism knocked out; runs are paired by replication (common seeds).
    """
    rows = []
    for label, (run, knocked) in pairs.items():
        (a, key), (b, _) = sweeps[run], sweeps[knocked]
        lo, hi = a[key].min(), a[key].max()
        da, db = (
            ends_difference(a, key, "knowledge"),
            ends_difference(b, key, "knowledge"),
        )
        rows.append(
            {
                "factor": label,
                "range": f"{lo:g} to {hi:g}",
                "knowledge, high minus low end": paired_text(da.to_numpy(), 0 * da),
                "same, knocked out": paired_text(db.to_numpy(), 0 * db),
                "difference (paired)": paired_text(
                    da.to_numpy(), db.loc[da.index].to_numpy()
                ),
                "interior optimum": interior_optimum(a, key, "knowledge")[
                    "interior optimum"
                ],
                "interior optimum, knocked out": interior_optimum(b, key, "knowledge")[
                    "interior optimum"
                ],
            }
        )
    return pd.DataFrame(rows)
