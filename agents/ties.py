"""Ties between firms: trust, ending ties and finding partners.

Each firm has up to `enterprise.max_partners` partners, held in the firm table's
`partners` (slots) and `tie_kind` columns; a tie is listed at both ends. Trust
drifts toward a target that IP protection and shared platform rules raise;
ties end more often between firms that trust each other little; a firm
searches for a partner in its town, or with a small chance in a neighbouring
town, and the two tie up with the chance their trust gives.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from agents.base import ALL, Selection, by_blocks, per_firm, slots_at
from agents.partners import (
    add_ties,
    column_of,
    cut_ties,
    distinct_pairs,
    partner_rows,
    sample_ties,
)
from agents.sampling import random_firm_in, random_neighbour_town, thinned_successes

if TYPE_CHECKING:
    from agents.world import World

# Tie kinds: along the chain, within the industry, and the two cross-border kinds.
VERTICAL, HORIZONTAL, CROSS_INDUSTRY, CROSS_TOWN = 0, 1, 2, 3
TIE_KINDS = ("vertical", "horizontal", "cross_industry", "cross_town")


TRUST_FLOOR = 0.2
"""Trust a firm drifts toward with no IP protection and no platform."""
TRUST_FROM_PROTECTION = 0.5
"""Trust added by full IP protection."""
TRUST_FROM_PLATFORM = 0.3
"""Trust added by membership of a platform, whose rules bind both sides."""
TRUST_KEEPS = 0.5
"""Share of a drawn tie-ending that full trust between the two firms prevents."""

WARM_UP_SEARCHES = 8
"""Partner searches run before the start, so that firms begin with their old ties."""


# --- Rules ----------------------------------------------------------------------


def tie_kind(
    same_town: ArrayLike, same_industry: ArrayLike, same_stage: ArrayLike
) -> ArrayLike:
    """Classify a tie: cross-town, cross-industry, horizontal or vertical."""
    return np.where(
        np.logical_not(same_town),
        CROSS_TOWN,
        np.where(
            np.logical_not(same_industry),
            CROSS_INDUSTRY,
            np.where(same_stage, HORIZONTAL, VERTICAL),
        ),
    )


def tie_possible(
    kind: ArrayLike, level_a: ArrayLike, level_b: ArrayLike, cross_border_level: int
) -> ArrayLike:
    """Cross-border ties (other industry or town) need both firms at a high level."""
    cross = np.greater_equal(kind, CROSS_INDUSTRY)
    both_high = np.minimum(level_a, level_b) >= cross_border_level
    return np.logical_not(cross) | both_high


def tie_acceptance(trust_a: ArrayLike, trust_b: ArrayLike) -> ArrayLike:
    """Chance that a meeting becomes a tie: the geometric mean of both trusts."""
    return np.sqrt(np.multiply(trust_a, trust_b))


def trust_target(ip_protection: ArrayLike, member: ArrayLike) -> ArrayLike:
    """Trust a firm drifts toward: protection and shared platform rules build it."""
    return (
        TRUST_FLOOR
        + TRUST_FROM_PROTECTION * np.asarray(ip_protection)
        + TRUST_FROM_PLATFORM * np.asarray(member, dtype=float)
    )


def tie_end_chance(acceptance: ArrayLike) -> ArrayLike:
    """Chance that a tie drawn for review ends: less the more the two trust.

    The per-step chance a tie ends is `enterprise.tie_decay` (per step) times
    this; `acceptance` is the pair's `tie_acceptance`.
    """
    return 1.0 - TRUST_KEEPS * np.asarray(acceptance)


# --- Behaviours -----------------------------------------------------------------


def revise_ties(world: World, idx: Selection) -> None:
    """Update trust, end some ties, then perhaps search for one new partner."""
    update_trust(world, idx)
    drop_ties(world, idx)
    seek_partner(world, idx)


@by_blocks
def update_trust(world: World, idx: Selection) -> None:
    """Move trust toward its target: IP protection and platform rules build it."""
    f, r = world.firms, world.rates
    ip = per_firm(world, idx, world.towns.ip_protection)
    target = trust_target(ip, f.member[idx] > 0)
    f.trust[idx] += r.trust_speed * (target - f.trust[idx])


def drop_ties(world: World, idx: Selection) -> None:
    """Each tie ends with a yearly chance that trust lowers; both ends forget it."""
    f, r = world.firms, world.rates
    owners, cols = sample_ties(f, idx, r.tie_decay, world.rng)
    partner = f.partners[owners, cols]
    owned = partner > owners  # each tie is decided once, by its lower slot
    owners, cols, partner = owners[owned], cols[owned], partner[owned]
    trust = tie_acceptance(f.trust[owners], f.trust[partner])
    ends = world.rng.random(owners.size) < tie_end_chance(trust)
    cut_ties(f, owners[ends], cols[ends])


def seek_partner(world: World, idx: Selection) -> None:
    """Meet one candidate in the town or a neighbouring town and propose a tie."""
    f, towns, r, rng = world.firms, world.towns, world.rates, world.rng
    boosted = min(1.0, r.search * (1.0 + r.search_boost))  # a member's chance
    chance = lambda rows: np.where(  # noqa: E731
        f.member[slots_at(idx, rows)] > 0, boosted, r.search
    )
    seekers = slots_at(idx, thinned_successes(rng, f.alive[idx].size, boosted, chance))
    seekers = seekers[f.alive[seekers] & (f.ties[seekers] < f.partners.shape[1])]
    if seekers.size == 0:
        return
    town = f.town[seekers]
    member = f.member[seekers] > 0
    linked = member & towns.linked[town]  # members of a linked platform
    far_chance = np.where(linked, r.far_search * (1.0 + r.link_boost), r.far_search)
    far = rng.random(seekers.size) < far_chance
    target_town = town.copy()
    target_town[far] = random_neighbour_town(world.directory, rng, town[far])
    candidates = random_firm_in(world.directory, rng, target_town)
    kind = tie_kind(
        target_town == town,
        f.industry[candidates] == f.industry[seekers],
        f.stage[candidates] == f.stage[seekers],
    )
    fits = (
        (candidates >= 0)
        & f.alive[candidates]
        & (candidates != seekers)
        & (f.ties[candidates] < f.partners.shape[1])
        & tie_possible(
            kind, f.level[seekers], f.level[candidates], r.cross_border_level
        )
        & (
            rng.random(seekers.size)
            < tie_acceptance(f.trust[seekers], f.trust[candidates])
        )
    )
    a, b, kind = seekers[fits], candidates[fits], kind[fits]
    new = column_of(partner_rows(f, a), b) < 0  # not partners already
    add_ties(f, *distinct_pairs(a[new], b[new], kind[new]))


def warm_up_ties(world: World) -> None:
    """Give firms the ties they had before the start, by the search rule itself."""
    rates = world.rates
    world.rates = replace(rates, search=1.0)
    try:
        for _ in range(WARM_UP_SEARCHES):
            seek_partner(world, ALL)
    finally:
        world.rates = rates
