"""Window queries over events sorted by (key, day): counts, latest events, pairs.

:class:`Timeline` answers one kind of event (count in a window, latest before a day) with two
binary searches; :func:`last_by_another` finds a group's latest event about another member;
:func:`expand_pairs` lists (decision, member) pairs. :class:`PackedCounts` answers many kinds at
once, as follows.

The feature builder counts some forty kinds of earlier event for every decision, each in a
window of days (ever, the last 3, 12 or 36 months). Counting each kind with its own sorted
timeline means one sort and two binary searches per kind. :class:`PackedCounts` instead sorts
the events of one key (the child, or the household) once and gives each event a few 64-bit
words whose bit lanes say which counters it feeds (a table lookup on the event's (type, detail)
code, as the fast DuckDB formulation in ``benchmarks/duckdb_fast.py`` packs counters into
128-bit integers). The prefix sums of those words, read at the two ends of a window, give every
counter of the word at once: ``prefix[hi] - prefix[lo]``.

Why it is exact: the prefix sums wrap modulo 2**64, and the difference of two of them is the
sum of the words in between, modulo 2**64. Every lane of that sum counts events of one key, so
it is at most the key's number of events; the lane width is chosen so that this fits (16 bits
when no key has 65,536 events or more, else 32 or 64), and no lane ever carries into the next.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Counter",
    "PackedCounts",
    "Timeline",
    "any_by_point",
    "expand_pairs",
    "last_by_another",
]

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Words = npt.NDArray[np.uint64]


@dataclass(frozen=True)
class Counter:
    """One counter: which events it counts, and over which window.

    Attributes
    ----------
    name
        The name its counts are returned under.
    codes
        Shape (n_codes,): whether an event of each code (the builder's (type, detail) code)
        is counted.
    window
        ``None`` for every earlier event, else the key of the window's lower day bound in the
        ``lows`` given to :meth:`PackedCounts.counts`.
    where
        Optional shape (n_events,): an extra per-event condition (e.g. the child's age at the
        event), and-ed with ``codes``.
    """

    name: str
    codes: Bools
    window: int | None = None
    where: Bools | None = None


class PackedCounts:
    """Counters of the events of each key, answered for many (key, window) queries at once.

    Parameters
    ----------
    keys
        Shape (n_events,): each event's key (person or household code), -1 for none.
    days
        Shape (n_events,): each event's day (days since 1970-01-01).
    codes
        Shape (n_events,): each event's (type, detail) code, in ``[0, n_codes)``.
    counters
        What to count (names unique).
    day0, span
        The day encoding: every day of events and queries lies in ``[day0, day0 + span - 1)``.
    """

    def __init__(
        self,
        keys: Ints,
        days: Ints,
        codes: Ints,
        counters: Sequence[Counter],
        day0: int,
        span: int,
    ) -> None:
        self.day0, self.span = day0, span
        wanted = np.zeros(len(counters[0].codes) if counters else 0, dtype=bool)
        for c in counters:
            wanted |= c.codes
        keep = np.flatnonzero((keys >= 0) & wanted[codes])
        values = keys[keep] * span + (days[keep] - day0)
        order = np.argsort(values)  # ties are the same key and day: their order does not matter
        self.values: Ints = values[order]
        rows = keep[order]  # each sorted event's row in the inputs
        self.rows = rows
        # the lane width: a lane counts events of one key, at most the largest key's count
        key = keys[rows]
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.zeros(0)
        longest = int(np.diff(np.r_[starts, len(key)]).max()) if len(key) else 0
        self.bits = 16 if longest < 2**16 else 32 if longest < 2**32 else 64
        per_word = 64 // self.bits
        self._codes = codes[rows]  # each sorted event's (type, detail) code
        by_window: dict[int | None, list[Counter]] = {}
        for c in counters:
            by_window.setdefault(c.window, []).append(c)
        #: per word: its window and its lanes (a word's prefix sums are built when read, one
        #: word at a time, so that only one array of n_events words is ever held)
        self.words: list[tuple[int | None, list[Counter]]] = [
            (window, group[i : i + per_word])
            for window, group in by_window.items()
            for i in range(0, len(group), per_word)
        ]
        self._n_codes = len(wanted)

    def _prefix(self, lanes: Sequence[Counter]) -> Words:
        """Prefix sums (length m + 1, wrapping modulo 2**64) of one word of ``lanes``."""
        table = np.zeros(self._n_codes, dtype=np.uint64)
        prefix = np.zeros(len(self.rows) + 1, dtype=np.uint64)
        word = prefix[1:]
        extras = []
        for lane, c in enumerate(lanes):
            bit = np.uint64(1) << np.uint64(lane * self.bits)
            if c.where is None:
                table |= np.where(c.codes, bit, np.uint64(0))
            else:  # an extra per-event condition: a column of its own
                extras.append(
                    np.where(c.codes[self._codes] & c.where[self.rows], bit, np.uint64(0))
                )
        np.take(table, self._codes, out=word)
        for extra in extras:
            word += extra
        np.cumsum(word, out=word)
        return prefix

    def position(self, keys: Ints, days: Ints | int) -> Ints:
        """For each query, how many sorted events come before ``(key, day)``.

        Parameters
        ----------
        keys
            Shape (n,): query keys.
        days
            Shape (n,) or a scalar: exclusive upper day of each query.

        Returns
        -------
        numpy.ndarray of int64, shape (n,)
        """
        day = np.clip(days, self.day0, self.day0 + self.span - 1) - self.day0
        return np.searchsorted(self.values, keys * self.span + day, side="left").astype(np.int64)

    def counts(
        self, keys: Ints, hi: Ints, lows: Mapping[int, Ints], *, at: Ints | None = None
    ) -> dict[str, npt.NDArray[np.integer]]:
        """Every counter for every query: events of the key dated in ``[low, hi)``.

        Parameters
        ----------
        keys
            Shape (n,): query keys (need not be sorted; sorted ones search faster).
        hi
            Shape (n,): exclusive upper day of each query.
        lows
            Window key -> shape (n,) inclusive lower day; the window ``None`` starts at the
            key's first event.
        at
            Optional precomputed ``position(keys, hi)``.

        Returns
        -------
        dict of str to numpy.ndarray, shape (n,)
            Counts as narrow as a lane (uint16, uint32 or int64, see ``bits``): cast to int64
            before subtracting one count from another.
        """
        end = self.position(keys, hi) if at is None else at
        starts: dict[int | None, Ints] = {None: self.position(keys, self.day0)}
        for months, low in lows.items():
            starts[months] = self.position(keys, low)
        per_word = 64 // self.bits
        lane_type = np.dtype({16: np.uint16, 32: np.uint32, 64: np.int64}[self.bits]).newbyteorder(
            "="
        )
        out: dict[str, npt.NDArray[np.integer]] = {}
        for window, lanes in self.words:
            prefix = self._prefix(lanes)
            total = prefix[end] - prefix[starts[window]]  # wraps modulo 2**64: exact per lane
            del prefix
            # lane i holds bits [i * bits, (i + 1) * bits): on a little-endian machine the i-th
            # narrow integer of the word in memory (a 64-bit lane is below 2**63: no copy)
            narrow = total.view(lane_type).reshape(len(total), per_word)
            for lane, c in enumerate(lanes):
                at_ = lane if sys.byteorder == "little" else per_word - 1 - lane
                out[c.name] = np.ascontiguousarray(narrow[:, at_])
        return out

    def last_before(self, keys: Ints, flag: Bools, at: Ints, missing: np.int64) -> Ints:
        """Day of each key's latest flagged event before the query position, or ``missing``.

        Parameters
        ----------
        keys
            Shape (n,): query keys.
        flag
            Shape (n_events,): which input events count (e.g. referrals).
        at
            Shape (n,): ``position(keys, hi)``.
        missing
            Returned where the key has no flagged event before ``hi``.

        Returns
        -------
        numpy.ndarray of int64, shape (n,)
        """
        flagged = flag[self.rows]
        latest = np.maximum.accumulate(np.where(flagged, np.arange(len(flagged)), -1))
        if len(latest) == 0:
            return np.full(len(keys), missing, dtype=np.int64)
        idx = latest[np.maximum(at - 1, 0)]
        idx = np.where(at > 0, idx, -1)
        found = self.values[np.maximum(idx, 0)]
        ok = (idx >= 0) & (found // self.span == keys)
        return np.where(ok, found % self.span + self.day0, missing).astype(np.int64)


class Timeline:
    """Sorted (key, day) pairs of one kind of event, answering window queries in bulk."""

    def __init__(self, keys: Ints, days: Ints, day0: int, span: int) -> None:
        keep = keys >= 0
        self.day0, self.span = day0, span
        self.values = np.sort(keys[keep] * span + (days[keep] - day0))
        self._cache: dict[tuple[int, int], tuple[Ints, Ints, Ints]] = {}

    def _query(self, keys: Ints, days: Ints) -> Ints:
        return keys * self.span + (np.clip(days, self.day0, self.day0 + self.span - 1) - self.day0)

    def _position(self, keys: Ints, days: Ints) -> Ints:
        # several windows share the same upper bound: search it once
        cached = self._cache.get((id(keys), id(days)))
        if cached is not None and cached[0] is keys and cached[1] is days:
            return cached[2]
        found = np.searchsorted(self.values, self._query(keys, days), side="left")
        self._cache[(id(keys), id(days))] = (keys, days, found)
        return found

    def count(self, keys: Ints, lo: Ints | int, hi: Ints) -> Ints:
        """Events of each key dated in ``[lo, hi)``."""
        lo_arr = np.broadcast_to(np.asarray(lo, dtype=np.int64), hi.shape)
        a = np.searchsorted(self.values, self._query(keys, lo_arr), side="left")
        b = self._position(keys, hi)
        return (b - a).astype(np.int64)

    def ever(self, keys: Ints, hi: Ints) -> Ints:
        """Events of each key dated before ``hi``."""
        return self.count(keys, self.day0, hi)

    def last_before(self, keys: Ints, hi: Ints, missing: np.int64) -> Ints:
        """Day of each key's latest event dated before ``hi``, or ``missing``."""
        idx = self._position(keys, hi) - 1
        if len(self.values) == 0:
            return np.full(len(keys), missing, dtype=np.int64)
        found = self.values[np.maximum(idx, 0)]
        ok = (idx >= 0) & (found // self.span == keys)
        return np.where(ok, found % self.span + self.day0, missing).astype(np.int64)


def last_by_another(
    encoding: Timeline,
    group: Ints,
    member: Ints,
    days: Ints,
    query_group: Ints,
    query_member: Ints,
    hi: Ints,
    missing: np.int64,
) -> Ints:
    """Day of each group's latest event dated before ``hi`` about a member other than the asker.

    The sibling counterpart of :meth:`Timeline.last_before` (a household's latest referral
    about a child other than this one): counts subtract, maxima do not. The events are sorted
    by (group, day) and each is given the start of its run of consecutive events about the same
    member; when the latest event before ``hi`` is about the asker, the event just before its
    run is the latest one about anybody else.

    Parameters
    ----------
    encoding
        Supplies the (group, day) encoding: its ``day0`` and ``span`` (its events are unused).
    group, member, days
        Group code (-1: none), member code and day of each event, shape (m,).
    query_group, query_member, hi
        The group, the member to leave out and the exclusive upper day of each query, shape
        (n,).
    missing
        Returned where the group has no such event.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    keep = group >= 0
    if not keep.any():
        return np.full(len(hi), missing, dtype=np.int64)
    values = group[keep] * encoding.span + (days[keep] - encoding.day0)
    order = np.argsort(values)  # tied events share their day, all that is returned
    values, who = values[order], member[keep][order]
    key = values // encoding.span
    begins = np.ones(len(values), dtype=bool)
    begins[1:] = (who[1:] != who[:-1]) | (key[1:] != key[:-1])
    run_start = np.maximum.accumulate(np.where(begins, np.arange(len(values)), 0))
    last = np.searchsorted(values, encoding._query(query_group, hi), side="left") - 1
    at = np.maximum(last, 0)
    found = np.where(who[at] == query_member, run_start[at] - 1, last)
    at = np.maximum(found, 0)
    ok = (found >= 0) & (key[at] == query_group)
    return np.where(ok, values[at] % encoding.span + encoding.day0, missing).astype(np.int64)


def expand_pairs(group_of_items: Ints, group_of_points: Ints) -> tuple[Ints, Ints]:
    """All (point, item) pairs where the item belongs to the point's group.

    Returns the point index and the item index of each pair; vectorised with repeat.
    """
    order = np.argsort(group_of_items, kind="stable")
    sorted_groups = group_of_items[order]
    first = np.searchsorted(sorted_groups, group_of_points, side="left")
    last = np.searchsorted(sorted_groups, group_of_points, side="right")
    sizes = last - first
    point = np.repeat(np.arange(len(group_of_points), dtype=np.int64), sizes)
    offsets = np.cumsum(sizes) - sizes
    within = np.arange(len(point), dtype=np.int64) - np.repeat(offsets, sizes)
    item = order[np.repeat(first, sizes) + within]
    return point, item.astype(np.int64)


def any_by_point(point: Ints, flag: Bools, n: int) -> Ints:
    return (np.bincount(point[flag], minlength=n) > 0).astype(np.int64)
