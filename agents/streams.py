"""Random numbers keyed by what they are for, whom they concern and when.

Every random number of a run is a function of the run's seed, its purpose (a
`Purpose`), the time (the step) and the entity it concerns (a firm's id, a tie's
two ids, a town): a counter-based generator, with no state that one draw passes
to the next. Two runs of one seed that differ in a parameter therefore draw the
same number for the same firm, purpose and step, whatever else differs between
them: common random numbers stay common, and a change in one town touches only
what depends on it. The two schedules draw the same numbers as well, whatever
the order in which firms act.

The function is SplitMix64's finaliser (Steele, Lea and Flood 2014, "Fast
splittable pseudorandom number generators", OOPSLA) applied to a key chained
from seed, purpose and time, then to the entity: the construction of Java's
`SplittableRandom`, which passes BigCrush on counters. A number costs a few
nanoseconds, so the behaviours draw one per firm rather than thinning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
"""SplitMix64's increment: consecutive counters land far apart."""
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_U_GOLDEN, _U_M1, _U_M2 = (np.uint64(c) for c in (GOLDEN, _M1, _M2))
_S11, _S18, _S27, _S30, _S31, _S41 = (np.uint64(s) for s in (11, 18, 27, 30, 31, 41))
_LOW23 = np.uint64((1 << 23) - 1)
UNIT = 2.0**-53
"""Spacing of the uniforms: the 53 high bits of a 64-bit number, as a double."""
TIMELESS = -(1 << 40)
"""The time of draws that do not depend on when they are made (a founding)."""


class Purpose(IntEnum):
    """What a draw is for. Values are part of the key: never renumber them."""

    SEARCH = 1
    FAR_SEARCH = 2
    NEIGHBOUR = 3
    PARTNER = 4
    ACCEPT = 5
    TIE_END = 6
    UPGRADE = 7
    SIZE = 8
    EXIT = 9
    PROJECT = 10
    UNIVERSITY = 11
    PROJECT_ORDER = 12
    JOIN = 13
    JOIN_ORDER = 14
    LEAVE_ORDER = 15
    ENTRY = 16
    STARTUP_LEVEL = 17
    START_LEVEL = 18
    START_AGE = 19
    RELATED = 20
    OTHER_INDUSTRY = 21
    FIRM_SIZE = 22
    STAGE = 23
    EFFICIENCY = 24
    KNOWLEDGE = 25
    TALENT = 26
    TRUST = 27


def mix(value: int) -> int:
    """SplitMix64's finaliser of one 64-bit integer (a bijection)."""
    z = value & MASK
    z = ((z ^ (z >> 30)) * _M1) & MASK
    z = ((z ^ (z >> 27)) * _M2) & MASK
    return z ^ (z >> 31)


def mix_array(values: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser of every entry, in place (numpy wraps at 2^64)."""
    values ^= values >> _S30
    values *= _U_M1
    values ^= values >> _S27
    values *= _U_M2
    values ^= values >> _S31
    return values


@dataclass
class Streams:
    """The run's random numbers: `uniform(purpose, entities)` at the current `time`.

    Args:
        seed: The run's 64-bit root key (`Streams.of` derives it from a seed).
        time: The step the draws belong to; the model sets it every step.
    """

    seed: int
    time: int = 0
    _chosen: dict[tuple, NDArray[np.int64]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, seed: int) -> Streams:
        """Streams of a run seed, its key spread by numpy's `SeedSequence`."""
        state = np.random.SeedSequence(seed).generate_state(1, np.uint64)
        return cls(seed=int(state[0]))

    def key(self, purpose: Purpose, draw: int = 0, time: int | None = None) -> int:
        """The 64-bit key of one purpose, draw number and time."""
        when = self.time if time is None else time
        key = mix(self.seed + GOLDEN * int(purpose))
        key = mix(key + GOLDEN * (when & MASK))
        return mix(key + GOLDEN * draw)

    def uniform(
        self,
        purpose: Purpose,
        entities: ArrayLike,
        draw: int = 0,
        time: int | None = None,
    ) -> NDArray[np.float64]:
        """One uniform number in (0, 1) per entity (ids: non-negative integers).

        `draw` numbers several independent draws of one purpose for one entity;
        `time=TIMELESS` gives draws that do not depend on the step.
        """
        bits = self._bits(purpose, entities, draw, time)
        bits >>= _S11
        return (bits + 0.5) * UNIT

    def _bits(
        self, purpose: Purpose, entities: ArrayLike, draw: int, time: int | None
    ) -> NDArray[np.uint64]:
        """64 random bits per entity."""
        bits = np.asarray(entities).astype(np.uint64)
        bits *= _U_GOLDEN
        bits += np.uint64(self.key(purpose, draw, time))
        return mix_array(bits)

    def normal(
        self,
        purpose: Purpose,
        entities: ArrayLike,
        draw: int = 0,
        time: int | None = None,
    ) -> NDArray[np.float32]:
        """One standard normal number per entity, in single precision.

        Box and Muller's (1958) transform of two uniform numbers of 23 random
        bits each, cut from the entity's 64 bits: exact in distribution to
        about 5.8 standard deviations, as far as a quarter's size shock or a
        firm's inborn efficiency need, and far cheaper than the inverse CDF.
        """
        bits = self._bits(purpose, entities, draw, time)
        radius = (bits >> _S41).astype(np.float32)
        radius += np.float32(0.5)
        radius *= np.float32(2.0**-23)  # in (0, 1)
        angle = ((bits >> _S18) & _LOW23).astype(np.float32)
        angle *= np.float32(2.0 * np.pi * 2.0**-23)
        np.log(radius, out=radius)
        radius *= np.float32(-2.0)
        np.sqrt(radius, out=radius)
        np.cos(angle, out=angle)
        radius *= angle
        return radius

    def pair_uniform(
        self, purpose: Purpose, a: ArrayLike, b: ArrayLike, draw: int = 0
    ) -> NDArray[np.float64]:
        """One uniform number per unordered pair of entities (a tie)."""
        low, high = np.minimum(a, b), np.maximum(a, b)
        first = mix_array(np.asarray(low).astype(np.uint64) * _U_GOLDEN)
        return self.uniform(purpose, first ^ np.asarray(high).astype(np.uint64), draw)

    def chosen(
        self, purpose: Purpose, chance: float, size: int, draw: int = 0
    ) -> NDArray[np.int64]:
        """Sorted places in [0, size), each chosen with `chance`, at this time.

        For rare events over many places (a tie to review, a firm to close):
        the gaps between chosen places are geometric, drawn from a numpy
        generator (SFC64) seeded by the key of purpose, draw and time, so the
        cost grows with the places chosen, and a place is chosen or not
        whatever happens elsewhere. Kept for the step, so that firms acting
        one by one see the same places as all at once.
        """
        key = (purpose, draw, self.time, chance, size)
        found = self._chosen.get(key)
        if found is None:
            if any(old[2] != self.time for old in self._chosen):
                self._chosen.clear()  # kept for one step only
            found = self._chosen[key] = _geometric_places(
                self.key(purpose, draw), chance, size
            )
        return found


def _geometric_places(key: int, chance: float, size: int) -> NDArray[np.int64]:
    """Places in [0, size) chosen with `chance` each, from a generator of `key`."""
    if size == 0 or chance <= 0.0:
        return np.zeros(0, dtype=np.int64)
    if chance >= 1.0:
        return np.arange(size, dtype=np.int64)
    rng = np.random.Generator(np.random.SFC64(key))
    if chance >= 0.2:
        return np.flatnonzero(rng.random(size) < chance).astype(np.int64)
    found, last = [], -1
    while True:
        batch = int(size * chance + 6.0 * np.sqrt(size * chance) + 16)
        places = last + np.cumsum(rng.geometric(chance, size=batch))
        found.append(places[places < size])
        if places[-1] >= size:
            return np.concatenate(found).astype(np.int64)
        last = int(places[-1])
