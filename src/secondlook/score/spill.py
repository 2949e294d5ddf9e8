"""Spill files and whole-table id uniqueness for batch scoring, in bounded memory.

:class:`Spill` buffers rows routed to keys (household chunks, hash buckets) and flushes them to
Arrow IPC files; :class:`UniqueIds` checks that an id column is unique across a whole table by
spilling 64-bit hashes of the ids (:func:`string_hash`) to buckets and reading one bucket at a
time; :func:`duplicates` names the first duplicated ids as a check of the whole column does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq

from secondlook.schema import TableError
from secondlook.score.io import TableSource

__all__ = ["Spill", "UniqueIds", "duplicates", "n_buckets", "string_hash"]


def duplicates(table: str, column: str, parts: list[pa.Array]) -> None:
    """Raise naming the first duplicated ids of ``column`` across all batches."""
    ids = pa.chunked_array(parts, type=pa.string())
    if len(pc.unique(ids)) == len(ids):
        return
    counts = pc.value_counts(ids)
    dup = pc.filter(counts, pc.greater(counts.field("counts"), 1))
    shown = dup.field("values").to_pylist()[:5]
    raise TableError(
        table,
        column,
        "field_uniqueness",
        pd.DataFrame({column: shown, "rows": dup.field("counts").to_pylist()[:5]}),
    )


class Spill:
    """Rows routed to keys (chunks), buffered and flushed to one IPC file per key and flush."""

    def __init__(
        self, work: Path, name: str, flush_rows: int, files: dict[int, dict[str, list[Path]]]
    ) -> None:
        self.folder, self.table, self.flush_rows, self.files = work / name, name, flush_rows, files
        self.buffers: dict[int, list[pa.Table]] = {}
        self.buffered = 0
        self.flushes = 0
        self.folder.mkdir(parents=True, exist_ok=True)

    def add(self, batch: pa.Table, chunk: np.ndarray) -> None:
        order = np.argsort(chunk, kind="stable")
        sorted_chunks = chunk[order]
        batch = batch.take(pa.array(order))
        keys, starts = np.unique(sorted_chunks, return_index=True)
        ends = np.append(starts[1:], len(order))
        for k, a, b in zip(keys.tolist(), starts.tolist(), ends.tolist(), strict=True):
            self.buffers.setdefault(int(k), []).append(batch.slice(a, b - a))
        self.buffered += batch.num_rows
        if self.buffered >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        for k, parts in sorted(self.buffers.items()):
            path = self.folder / f"{k:06d}-{self.flushes:05d}.arrow"
            feather.write_feather(pa.concat_tables(parts), path, compression="lz4")
            self.files.setdefault(k, {}).setdefault(self.table, []).append(path)
        self.buffers.clear()
        self.buffered = 0
        self.flushes += 1


#: the multiplier of the polynomial string hash that sends ids to buckets (odd, 64-bit)
_HASH_BASE = np.uint64(0x9E3779B97F4A7C15)


def _powers(n: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.cumprod(np.full(max(n, 1), _HASH_BASE, dtype=np.uint64))


def string_hash(values: pa.Array) -> np.ndarray:
    """A 64-bit hash of each string's bytes (a missing value hashes as the empty string).

    Vectorised over Arrow's offsets and data buffers: ``len + sum(byte_i * BASE**(i+1))``
    modulo 2**64, then mixed. Equal strings get equal hashes, which is all bucketing needs.
    """
    if values.type != pa.large_string():
        values = values.cast(pa.large_string())
    n = len(values)
    out = np.zeros(n, dtype=np.uint64)
    if n == 0:
        return out
    buffers = values.buffers()
    offsets = np.frombuffer(buffers[1], dtype=np.int64)[values.offset : values.offset + n + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else None
    step = 1 << 16  # strings per pass, to bound the temporaries
    with np.errstate(over="ignore"):
        for a in range(0, n, step):
            b = min(n, a + step)
            lo, hi = int(offsets[a]), int(offsets[b])
            if hi == lo or data is None:
                continue
            starts = offsets[a:b] - lo
            lengths = np.diff(offsets[a : b + 1])
            position = np.arange(hi - lo, dtype=np.int64) - np.repeat(starts, lengths)
            weighted = data[lo:hi].astype(np.uint64) * _powers(int(lengths.max()))[position]
            full = lengths > 0  # empty strings own no bytes: each sum runs to the next start
            out[a:b][full] = np.add.reduceat(weighted, starts[full]) + lengths[full].astype(
                np.uint64
            )
        out ^= out >> np.uint64(29)
        out *= np.uint64(0xBF58476D1CE4E5B9)
        out ^= out >> np.uint64(32)
    return out


class UniqueIds:
    """Checks that a table's ids are unique across the whole table, in bounded memory.

    Each id is reduced to a 64-bit hash of its text, and the hashes go to one of ``n_buckets``
    spill files by their value (equal ids always meet in the same bucket); :meth:`check` reads
    one bucket at a time and looks for a repeated hash. Only then -- a duplicate id, or two ids
    that share a hash -- is the table's id column streamed once more, keeping the ids with a
    repeated hash, to name the duplicates exactly as a check of the whole column at once does
    (first seen first), or to find that two different ids merely collided.
    """

    def __init__(
        self, work: Path, table: str, column: str, n_buckets: int, flush_rows: int
    ) -> None:
        self.table, self.column, self.n_buckets = table, column, n_buckets
        self.files: dict[int, dict[str, list[Path]]] = {}
        self.spill = Spill(work, f"ids-{table}-{column}", flush_rows, self.files)

    def add(self, ids: pa.ChunkedArray | pa.Array) -> None:
        """Route one batch's id hashes to their buckets."""
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        hashes = string_hash(ids)
        bucket = (hashes % np.uint64(self.n_buckets)).astype(np.int64)
        self.spill.add(pa.table({"hash": hashes}), bucket)

    def check(self, source: TableSource, batch_rows: int) -> None:
        """Raise :class:`TableError` naming the first duplicated ids, if any."""
        self.spill.flush()
        repeated: list[np.ndarray] = []
        for k in sorted(self.files):
            paths = self.files[k][self.spill.table]
            hashes = np.sort(
                np.concatenate([feather.read_table(p).column("hash").to_numpy() for p in paths])
            )
            for path in paths:
                path.unlink()
            same = hashes[1:] == hashes[:-1]
            if same.any():
                repeated.append(np.unique(hashes[1:][same]))
        if not repeated:
            return
        # rare: stream the column again, keeping the ids whose hash repeats, in file order
        suspects = np.concatenate(repeated)
        parts: list[pa.Array] = []
        for batch in source.batches(batch_rows):
            ids = batch.column(self.column).cast(pa.string()).combine_chunks()
            parts.append(ids.filter(pa.array(np.isin(string_hash(ids), suspects))))
        duplicates(self.table, self.column, parts)  # silent when two ids only shared a hash


def n_buckets(source: TableSource, rows_per_bucket: int = 1 << 22) -> int:
    """Buckets for a table's id hashes: a few million each, from the row count or file size."""
    if source.fmt == "parquet":
        rows = pq.ParquetFile(source.path).metadata.num_rows
    else:
        rows = source.path.stat().st_size // 32  # a CSV row of the contract is longer
    return max(1, -(-rows // rows_per_bucket))
