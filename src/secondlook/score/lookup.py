"""64-bit hashes of text ids, and the households' lookup the partition routes every row by.

:func:`string_hash` reduces each id to 64 bits (bucketing the unique-id check, searching the
households); :class:`SortedHashes` searches sorted hashes through an index of their leading
bits; :class:`HouseholdLookup` gives each row's household rank from two independent hashes of
the households' ids, and is written once to the work folder for the pandas engine's worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from secondlook.score.arrays import one_array

__all__ = ["HouseholdLookup", "SortedHashes", "string_hash"]

_ALL_BITS = np.uint64(0xFFFFFFFFFFFFFFFF)


@dataclass(frozen=True)
class _Rounds:
    """The constants of one hash of :func:`string_hash`: the start (xored into the length), the
    odd multiplier and shift of each word's round, and the finaliser's (shift, multiplier)
    pairs and last shift."""

    start: np.uint64
    base: np.uint64
    shift: np.uint64
    final: tuple[tuple[np.uint64, np.uint64], ...]
    last: np.uint64


#: splitmix64's golden-ratio multiplier and finaliser (Steele, Lea and Flood 2014)
_FIRST = _Rounds(
    start=np.uint64(0),
    base=np.uint64(0x9E3779B97F4A7C15),
    shift=np.uint64(29),
    final=((np.uint64(29), np.uint64(0xBF58476D1CE4E5B9)),),
    last=np.uint64(32),
)
#: other constants throughout: pi's first fraction digits as the start, xxHash64's second prime
#: as the multiplier, and MurmurHash3's 64-bit finaliser (fmix64)
_SECOND = _Rounds(
    start=np.uint64(0x243F6A8885A308D3),
    base=np.uint64(0xC2B2AE3D27D4EB4F),
    shift=np.uint64(31),
    final=(
        (np.uint64(33), np.uint64(0xFF51AFD7ED558CCD)),
        (np.uint64(33), np.uint64(0xC4CEB9FE1A85EC53)),
    ),
    last=np.uint64(33),
)


def string_hash(values: pa.Array, *, second: bool = False) -> np.ndarray:
    """A 64-bit hash of each string's bytes (a missing value hashes as the empty string).

    Vectorised over Arrow's offsets and data buffers, eight bytes at a time: each string's
    hash starts as its length (xored with a constant), and each of its 8-byte words
    (little-endian, the last one zero-padded) is folded in by ``h = x ^ (x >> s)`` with
    ``x = (h ^ word) * BASE`` -- a bijection of ``h`` for each word -- then the whole is mixed
    by a finaliser: splitmix64's for the first hash, MurmurHash3's fmix64 for the ``second``,
    whose every constant differs. Equal strings get equal hashes, whatever array or slice
    holds them, which is all bucketing and the household lookup need. A word-wise round costs
    a gather per eight bytes: at a million ids, a fifth of the CPU of the byte-wise
    polynomial hash this replaced.

    Parameters
    ----------
    values
        A string array (``string`` or ``large_string``; anything else is cast to text).
    second
        The second hash (other constants), for :class:`HouseholdLookup`'s confirmation.

    Returns
    -------
    numpy.ndarray of uint64, shape (len(values),)
    """
    rounds = _SECOND if second else _FIRST
    if values.type not in (pa.string(), pa.large_string()):
        values = values.cast(pa.large_string())
    n = len(values)
    out = np.zeros(n, dtype=np.uint64)
    if n == 0:
        return out
    buffers = values.buffers()
    width = np.int64 if values.type == pa.large_string() else np.int32
    offsets: npt.NDArray[np.int64] = np.frombuffer(buffers[1], dtype=width)[
        values.offset : values.offset + n + 1
    ].astype(np.int64)
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    step = 1 << 16  # strings per pass, to bound the temporaries
    with np.errstate(over="ignore"):
        for a in range(0, n, step):
            b = min(n, a + step)
            lo, hi = int(offsets[a]), int(offsets[b])
            lengths = np.diff(offsets[a : b + 1])
            h = lengths.astype(np.uint64) ^ rounds.start
            if hi > lo and data is not None:
                if hi + 8 <= len(data):  # a word read at any start stays inside the buffer
                    block, starts = data, offsets[a:b]
                else:
                    block = np.zeros(hi - lo + 8, dtype=np.uint8)
                    block[: hi - lo] = data[lo:hi]
                    starts = offsets[a:b] - lo
                # the (unaligned) 8-byte word at every byte of the block
                words = np.ndarray((len(block) - 7,), dtype="<u8", buffer=block, strides=(1,))
                for j in range(0, int(lengths.max()), 8):
                    live = slice(None) if lengths.min() > j else np.flatnonzero(lengths > j)
                    left = np.minimum(lengths[live] - j, 8).astype(np.uint64)  # 1 to 8 bytes
                    word = words[starts[live] + j] & (_ALL_BITS >> (np.uint64(64) - 8 * left))
                    x = (h[live] ^ word) * rounds.base
                    h[live] = x ^ (x >> rounds.shift)
            out[a:b] = h
        for shift, multiplier in rounds.final:
            out ^= out >> shift
            out *= multiplier
        out ^= out >> rounds.last
    return out


class SortedHashes:
    """``np.searchsorted(sorted, hashes)`` through an index of the hashes' leading bits.

    Hashes are near uniform, so the leading ``bits`` of a hash name a bucket of a few
    neighbouring entries (``bits``: four to eight entries a bucket), and a search reads the
    bucket's bounds and halves the bucket a few times. ``np.searchsorted`` halves the whole
    array instead: at thirteen million households (100 MB of hashes) each of its 24 steps is a
    cache miss, and it was the partition's largest single cost at ten million referrals
    (``perf``: 7% of the partition's CPU). The index costs 4 bytes a bucket (8 MB at thirteen
    million households).

    Parameters
    ----------
    sorted_hashes
        Sorted 64-bit hashes, shape (n,).
    """

    def __init__(self, sorted_hashes: np.ndarray) -> None:
        self.sorted = sorted_hashes
        n = len(sorted_hashes)
        self.bits = max(0, min(30, n.bit_length() - 3))
        self.shift = np.uint64(64 - self.bits)
        buckets = self._bucket(sorted_hashes)
        counts = np.bincount(buckets, minlength=1 << self.bits)
        starts = np.concatenate([[0], np.cumsum(counts)])
        self.starts = starts.astype(np.int32) if n < 2**31 else starts
        #: halvings that empty the largest bucket
        self.steps = int(counts.max()).bit_length() if n else 0

    def _bucket(self, hashes: np.ndarray) -> np.ndarray:
        if not self.bits:
            return np.zeros(len(hashes), dtype=np.intp)
        return (hashes >> self.shift).astype(np.intp)

    def left(self, hashes: np.ndarray) -> np.ndarray:
        """Where each hash would be inserted to keep the order, the leftmost such place.

        Parameters
        ----------
        hashes
            64-bit hashes, shape (m,), in any order.

        Returns
        -------
        numpy.ndarray
            ``np.searchsorted(sorted_hashes, hashes, side="left")``: int64, shape (m,),
            each in ``0 .. n``.
        """
        b = self._bucket(hashes)
        lo = self.starts[b].astype(np.int64)
        hi = self.starts[b + 1].astype(np.int64)
        last = max(len(self.sorted) - 1, 0)
        for _ in range(self.steps):
            mid = (lo + hi) >> 1
            active = lo < hi
            right = active & (self.sorted[np.minimum(mid, last)] < hashes)
            lo = np.where(right, mid + 1, lo)
            hi = np.where(active & ~right, mid, hi)
        return lo


class HouseholdLookup:
    """Each id's rank among the (sorted) household ids, or -1: one search per distinct id.

    ``pc.index_in`` builds a hash table of the value set on every call, so looking up each
    batch in ten million households would cost a pass over the households per batch, and the
    partition would grow with the square of the cohort. Here the households' 64-bit id hashes
    (:func:`string_hash`) are sorted once; a batch's distinct ids are hashed and searched, and
    a match is taken only when the id's second, independent 64-bit hash (``second=True``)
    equals that household's too. The ids themselves are not held: at ten million referrals
    they are 209 MiB in each of the partition's two processes, against 97 MiB for the second
    hashes. A row of an id no household has is routed to a household only if that id matches
    one of the ``n`` households on both hashes: about ``n / 2**128`` per distinct unknown id
    (1e-31 at thirteen million households), far below any chance that the hardware errs. A
    household's own id always finds it. If two households share a first hash (about
    ``n**2 / 2**65``: 4e-6 at thirteen million households) the ids are kept and every batch is
    looked up on the text with ``pc.index_in`` instead.

    Parameters
    ----------
    hh_ids
        The households' ids, sorted (a rank is a position in them), unique, no nulls.

    Attributes
    ----------
    n : int
        Households.
    hh_ids : pyarrow.Array or None
        The ids, only where two households share a first hash.
    """

    def __init__(self, hh_ids: pa.ChunkedArray | pa.Array) -> None:
        ids = one_array(hh_ids)
        hashes = string_hash(ids)
        order = np.argsort(hashes, kind="stable")
        self._set(hashes[order], string_hash(ids, second=True)[order], order, ids)

    def _set(
        self, ordered: np.ndarray, second: np.ndarray, order: np.ndarray, ids: pa.Array | None
    ) -> None:
        self.n = len(order)
        self.order = order.astype(np.int32) if self.n < 2**31 else order  # half the memory
        self.search = SortedHashes(ordered)
        self.second = second
        self.unique = not bool(np.any(ordered[1:] == ordered[:-1]))
        self.hh_ids = None if self.unique else ids

    def write(self, path: Path) -> None:
        """Write the lookup to ``path`` (an Arrow IPC file) for :meth:`read` in another process."""
        columns = {
            "hash": pa.array(self.search.sorted),
            "second": pa.array(self.second),
            "order": pa.array(self.order),
        }
        if self.hh_ids is not None:
            columns["household_id"] = self.hh_ids
        table = pa.table(columns)
        with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)

    @classmethod
    def read(cls, path: Path) -> HouseholdLookup:
        """The lookup :meth:`write` wrote (the arrays are Arrow's buffers: no copy)."""
        with pa.OSFile(str(path), "rb") as f:
            table = pa.ipc.open_file(f).read_all()

        def column(name: str) -> np.ndarray:
            return one_array(table.column(name)).to_numpy()

        names = table.schema.names
        ids = one_array(table.column("household_id")) if "household_id" in names else None
        lookup = cls.__new__(cls)
        lookup._set(column("hash"), column("second"), column("order"), ids)
        return lookup

    def ranks(self, ids: pa.ChunkedArray | pa.Array) -> np.ndarray:
        """The rank of each id, shape (rows,), -1 where no household has it (or it is null)."""
        ids = one_array(ids)
        if self.n == 0:
            return np.full(len(ids), -1, dtype=np.int64)
        if self.hh_ids is not None:
            rank = pc.index_in(ids, value_set=self.hh_ids).fill_null(-1)
            return np.asarray(rank.to_numpy(zero_copy_only=False), dtype=np.int64)
        # a household's events come many to a batch: look up each distinct id once
        encoded = pc.dictionary_encode(ids)
        distinct = encoded.dictionary
        hashes = string_hash(distinct)
        pos = np.minimum(self.search.left(hashes), self.n - 1)
        same = (self.search.sorted[pos] == hashes) & (
            self.second[pos] == string_hash(distinct, second=True)
        )
        found = np.append(np.where(same, self.order[pos], -1), -1)  # the last: a null id
        codes = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
        return found[codes]
