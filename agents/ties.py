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
from numpy.typing import ArrayLike, NDArray

from agents.base import (
    ALL,
    Selection,
    by_blocks,
    in_selection,
    per_firm,
    place_count,
    slots_at,
    slots_of_places,
)
from agents.partners import (
    add_ties,
    column_of,
    cut_ties,
    distinct_pairs,
    partner_rows,
)
from agents.sampling import random_neighbour_town
from agents.streams import Purpose, Streams

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


PICK_TRIES = 16
"""Slots tried before a search for a random live firm of a town gives up."""


def random_firm_in(
    world: World, streams: Streams, seekers: NDArray[np.int64], town: NDArray[np.intp]
) -> NDArray[np.intp]:
    """A random live firm of each town, for each seeker id (-1 if none is found).

    Draws a slot of the town's block at full width (`Blocks.most`) until one
    holds a firm: each live firm is equally likely, and a seeker's pick changes
    only if the slots it tries change, not when a firm elsewhere in the town
    enters or leaves. A search gives up after `PICK_TRIES` empty slots: in a
    block two-thirds full (the start, at the default headroom) about once in
    40 million searches, in a block a third full about once in 650.
    """
    f, b = world.firms, world.blocks
    found = np.full(town.size, -1, dtype=np.intp)
    open_ = np.flatnonzero(world.towns.firms[town] > 0)
    for attempt in range(PICK_TRIES):
        if open_.size == 0:
            break
        here = town[open_]
        draw = streams.uniform(Purpose.PARTNER, seekers[open_], draw=attempt)
        rank = (draw * b.most[here]).astype(np.intp)
        inside = rank < b.width[here]
        slot = b.start[here] + np.where(inside, rank, 0)
        hit = inside & f.alive[slot]
        found[open_[hit]] = slot[hit]
        open_ = open_[~hit]
    return found


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
    """Each tie ends with a yearly chance that trust lowers; both ends forget it.

    A tie is reviewed with chance `tie_decay` a step at its place in the
    partner table of its firm in the lower slot, and ends with the chance
    their trust leaves (`tie_end_chance`), drawn for the pair.
    """
    f, r = world.firms, world.rates
    width = f.partners.shape[1]
    count = place_count(world, width)
    places = world.streams.chosen(Purpose.TIE_END, r.tie_decay, count)
    owners, column = slots_of_places(world, places, width)
    mine = in_selection(idx, owners)
    owners, column = owners[mine], column[mine]
    partner = f.partners[owners, column]
    owned = partner > owners  # each tie is decided once, by its lower slot
    owners, column, partner = owners[owned], column[owned], partner[owned]
    trust = tie_acceptance(f.trust[owners], f.trust[partner])
    ids = f.id[owners], f.id[partner]
    draw = world.streams.pair_uniform(Purpose.TIE_END, *ids, draw=1)
    ending = draw < tie_end_chance(trust)
    cut_ties(f, owners[ending], column[ending])


def seek_partner(world: World, idx: Selection) -> None:
    """Meet one candidate in the town or a neighbouring town and propose a tie."""
    f, towns, r, streams = world.firms, world.towns, world.rates, world.streams
    boosted = min(1.0, r.search * (1.0 + r.search_boost))  # a member's chance
    live = np.flatnonzero(f.alive[idx])  # empty slots draw nothing
    seekers = slots_at(idx, live)
    chance = np.where(f.member[seekers] > 0, boosted, r.search)
    seekers = seekers[streams.uniform(Purpose.SEARCH, f.id[seekers]) < chance]
    seekers = seekers[f.ties[seekers] < f.partners.shape[1]]
    if seekers.size == 0:
        return
    town, ids = f.town[seekers], f.id[seekers]
    member = f.member[seekers] > 0
    linked = member & towns.linked[town]  # members of a linked platform
    far_chance = np.where(linked, r.far_search * (1.0 + r.link_boost), r.far_search)
    far = streams.uniform(Purpose.FAR_SEARCH, ids) < far_chance
    target_town = town.copy()
    where = streams.uniform(Purpose.NEIGHBOUR, ids[far])
    target_town[far] = random_neighbour_town(world.directory, where, town[far])
    candidates = random_firm_in(world, streams, ids, target_town)
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
            streams.uniform(Purpose.ACCEPT, ids)
            < tie_acceptance(f.trust[seekers], f.trust[candidates])
        )
    )
    a, b, kind = seekers[fits], candidates[fits], kind[fits]
    new = column_of(partner_rows(f, a), b) < 0  # not partners already
    add_ties(f, *distinct_pairs(a[new], b[new], kind[new]))


def warm_up_ties(world: World) -> None:
    """Give firms the ties they had before the start, by the search rule itself.

    The rounds are drawn at times before the first step (-8 to -1).
    """
    rates, time = world.rates, world.streams.time
    world.rates = replace(rates, search=1.0)
    try:
        for round_ in range(WARM_UP_SEARCHES):
            world.streams.time = round_ - WARM_UP_SEARCHES
            seek_partner(world, ALL)
    finally:
        world.rates, world.streams.time = rates, time
