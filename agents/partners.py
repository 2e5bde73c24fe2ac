"""The partner table: who is tied to whom, read and changed as whole arrays.

Each firm's row of `Firms.partners` holds its partners' slots (-1: empty) and
`Firms.tie_kind` their kinds; `Firms.ties` counts them. A tie is listed at both
ends, and every change here keeps the two ends in step. The behaviours of
`agents.ties` decide which ties form and end; this module only books them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from agents.base import Selection

if TYPE_CHECKING:
    from agents.tables import Firms

Slots = NDArray[np.intp]


def tie_list(f: Firms, idx: Selection) -> tuple[Slots, NDArray[np.int32]]:
    """The ties of firms `idx` as (row in idx, partner slot), one entry per tie.

    Kept until the ties change, since several behaviours read the same list.
    """
    cached = f.tie_cache
    if cached is not None and cached[0] is idx:
        return cached[1]
    table = f.partners if isinstance(idx, slice) else partner_rows(f, idx)
    flat = np.flatnonzero(table.ravel() >= 0)
    found = flat // table.shape[1], table.ravel()[flat]
    f.tie_cache = (idx, found)
    return found


def partner_rows(f: Firms, slots: Slots) -> NDArray[np.int32]:
    """The partner table's rows of `slots` (`take`: far faster than `[slots]`)."""
    return f.partners.take(slots, axis=0)


def column_of(table: NDArray[np.int32], values: ArrayLike) -> NDArray[np.intp]:
    """First column where each row of `table` holds its entry of `values` (-1: none).

    A loop over the few columns: numpy reduces a short last axis slowly.
    """
    values = np.broadcast_to(values, table.shape[:1])
    column = np.full(table.shape[0], -1, dtype=np.intp)
    for k in range(table.shape[1] - 1, -1, -1):
        column[table[:, k] == values] = k
    return column


def cut_ties(f: Firms, owners: Slots, cols: Slots) -> None:
    """Remove ties `f.partners[owners, cols]` from both ends' lists."""
    others = f.partners[owners, cols]
    back = column_of(partner_rows(f, others), owners)
    found = back >= 0
    for table in (f.partners, f.tie_kind):
        table[owners, cols] = -1
        table[others[found], back[found]] = -1
    ends = np.concatenate([owners, others[found]])
    f.ties -= np.bincount(ends, minlength=f.ties.size).astype(f.ties.dtype)
    f.tie_cache = None


def cut_all_ties(f: Firms, slots: Slots) -> None:
    """Remove every tie of firms `slots`, each once (also those among them)."""
    table = partner_rows(f, slots)
    rows, cols = np.nonzero(table >= 0)
    owners, partners = slots[rows], table[rows, cols]
    once = ~np.isin(partners, slots) | (partners > owners)  # ties among leavers
    cut_ties(f, owners[once], cols[once])


def add_ties(f: Firms, a: Slots, b: Slots, kind: NDArray) -> None:
    """Tie firm a[i] to b[i] (of kind[i]) while both have room, in proposal order.

    Proposals must be new, distinct pairs (`distinct_pairs`) of firms with room.
    Rounds: each firm takes at most one new tie per round, so two proposals to
    the same firm never claim the same free column.
    """
    if a.size == 0:
        return
    width = f.partners.shape[1]
    first = np.full(f.alive.size, np.iinfo(np.intp).max)  # scratch of the rounds
    while a.size:
        keep = _one_tie_per_firm(a, b, first)
        for one, other in ((a[keep], b[keep]), (b[keep], a[keep])):
            free = np.argmax(partner_rows(f, one) < 0, axis=1)  # room was checked
            f.partners[one, free] = other
            f.tie_kind[one, free] = kind[keep]
            f.ties[one] += 1
        a, b, kind = a[~keep], b[~keep], kind[~keep]
        room = (f.ties[a] < width) & (f.ties[b] < width)
        a, b, kind = a[room], b[room], kind[room]
    f.tie_cache = None


def distinct_pairs(a: Slots, b: Slots, kind: Slots) -> tuple[Slots, Slots, Slots]:
    """Drop repeated proposals between the same two firms (a to b and b to a).

    Repeats are rare: a plain sort finds whether there are any, and only the
    proposals involved are sorted stably to keep the first of each.
    """
    low, high = np.minimum(a, b), np.maximum(a, b)
    key = low * (high.max(initial=0) + 1) + high
    ordered = np.sort(key)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return a, b, kind
    involved = np.flatnonzero(np.isin(key, repeated))
    _, first = np.unique(key[involved], return_index=True)
    keep = np.ones(a.size, dtype=bool)
    keep[involved] = False
    keep[involved[first]] = True
    return a[keep], b[keep], kind[keep]


def _one_tie_per_firm(a: Slots, b: Slots, first: Slots) -> NDArray[np.bool_]:
    """Mask of proposals whose two firms appear in no earlier proposal this round.

    The first proposal is always kept, so rounds of this always finish. `first`
    is scratch space, one entry per slot, at its dtype's maximum before and after.
    """
    ends = np.column_stack([a, b]).ravel()  # a0, b0, a1, b1, ...: proposal order
    order = np.arange(ends.size)
    np.minimum.at(first, ends, order)  # each firm's earliest place: no sort
    is_first = first[ends] == order
    first[ends] = np.iinfo(first.dtype).max
    return is_first[0::2] & is_first[1::2]
