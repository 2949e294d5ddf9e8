"""Splitting a cohort into household chunks on disk, in one streaming pass.

Features are computed household by household (a referral reads its own and its siblings'
histories, and the adults of its household), so a cohort can be scored one group of households
at a time. :func:`partition_cohort` makes those groups without holding the cohort in memory:

1. the ``households`` table is read whole (one short row per household), checked, sorted by
   ``household_id`` and cut into chunks of ``chunk_households``;
2. ``people`` and ``events`` are streamed in batches; each batch is converted to the contract's
   types, screened for identifiers, checked row by row against the vocabularies, and its rows
   are appended to their chunk's spill files (Arrow IPC, lz4) in a work folder -- reading the
   next batch, checking this one and spilling the previous one overlap in two threads;
3. ids are checked for uniqueness across the whole cohort: each id's 64-bit hash is spilled to
   a bucket file chosen by the hash, and the buckets are checked one at a time (equal ids share
   a bucket); a repeated hash sends the check back to the id column, so a collision is never
   mistaken for a duplicate, and duplicates are named as a whole-column check names them.

Events (and decisions) whose household is not in ``households`` go to one extra, last chunk,
where their referrals (and decisions) are rejected (the other events refuse the cohort). A
``decisions`` table, when the cohort has one, is streamed, checked and routed like ``events``.
Memory is bounded by the batch and flush sizes and by one bucket of id hashes (8 bytes for each of about four million ids), whatever
the cohort's size; only the ``households`` table is held whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather
import pyarrow.parquet as pq

from secondlook.schema import (
    ADULT_ROLES,
    EVENT_TYPES,
    OUTCOMES,
    PERSON_ETHNICITIES,
    ROLES,
    SEXES,
    SOURCES,
    TableError,
    bad_details,
)
from secondlook.score.errors import CohortError
from secondlook.score.io import TableSource
from secondlook.score.screen import ScreenFindings, screen_birth_months, screen_values

__all__ = ["Plan", "chunk_files", "load_chunk", "partition_cohort", "read_chunk"]

_VOCAB: dict[tuple[str, str], tuple[str, ...]] = {
    ("people", "role"): ROLES,
    ("people", "sex"): SEXES,
    ("people", "ethnicity"): PERSON_ETHNICITIES,
    ("events", "type"): EVENT_TYPES,
    ("events", "source"): SOURCES,
    ("decisions", "practice_outcome"): OUTCOMES,
}
#: the id columns of each streamed table that must be unique across the whole table
_UNIQUE: dict[str, tuple[str, ...]] = {
    "people": ("person_id",),
    "events": ("event_id",),
    "decisions": ("decision_id", "referral_event_id"),
}
assert set(ADULT_ROLES) < set(ROLES)


@dataclass
class Plan:
    """The chunks of a partitioned cohort and what was counted on the way.

    Attributes
    ----------
    work
        The folder holding the spill files.
    n_chunks
        Household chunks, plus one last chunk for events of unknown households when any.
    households
        The households table, sorted by ``household_id``.
    chunk_households
        Households per chunk.
    tables
        The streamed tables: ``people``, ``events`` and, when the cohort has one,
        ``decisions``.
    counts
        Rows read per table; referrals in the cohort, dated in the window, and dated before
        or after it (``referrals == referrals_in_window + referrals_before_window +
        referrals_after_window``); with decisions, the same for decisions by their date.
    files
        Chunk -> table -> spill files.
    """

    work: Path
    n_chunks: int
    households: pa.Table
    chunk_households: int
    tables: tuple[str, ...] = ("people", "events")
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[int, dict[str, list[Path]]] = field(default_factory=dict)


def _vocab_check(table: str, column: str, values: pa.Array, offset: int) -> None:
    allowed = _VOCAB[(table, column)]
    ok = pc.is_in(values, pa.array(allowed))
    if not pc.all(ok).as_py():
        bad = np.flatnonzero(~ok.to_numpy(zero_copy_only=False))
        shown = pc.take(values, pa.array(bad[:5])).to_pylist()
        raise TableError(
            table,
            column,
            f"one of {', '.join(allowed)}",
            pd.DataFrame({column: shown}, index=pd.Index(bad[:5] + offset)),
        )


def _detail_check(batch: pa.Table, offset: int) -> None:
    """Each event's ``detail`` is allowed for its type (as in ``schema.validate_tables``).

    The rule reads one row at a time, so it is decided once per distinct (type, detail) pair
    -- a few hundred in a million events -- and spread back to the rows.
    """
    codes = []
    vocabularies = []
    for column in ("type", "detail"):
        encoded = pc.dictionary_encode(batch.column(column).combine_chunks())
        vocabularies.append(encoded.dictionary)
        # 0 for a missing value, 1 + the position in the dictionary otherwise
        indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        codes.append(indices.astype(np.int64) + 1)
    width = len(vocabularies[1]) + 1
    pairs, inverse = np.unique(codes[0] * width + codes[1], return_inverse=True)

    def values(vocabulary: pa.Array, code: np.ndarray) -> pd.Series:
        text = np.array([None, *vocabulary.to_pylist()], dtype=object)[code]
        return pd.Series(text, dtype="str")

    types = values(vocabularies[0], pairs // width).to_numpy(dtype=object)
    bad = bad_details(types, values(vocabularies[1], pairs % width))[inverse.reshape(-1)]
    if bad.any():
        rows = batch.select(["event_id", "type", "detail"]).to_pandas()[bad].head(5)
        rows.index = rows.index + offset
        raise TableError("events", "detail", "allowed detail for the event type", rows)


def _check_households(hh: pa.Table) -> None:
    la = hh.column("local_authority")
    ok = pc.match_substring_regex(la, r"^LA[0-9]{2,3}$")
    if not pc.all(ok).as_py():
        raise TableError("households", "local_authority", "LA code", _rows(hh, ~ok.to_numpy(False)))
    dec = hh.column("deprivation_decile").to_numpy()
    out = (dec < 1) | (dec > 10)
    if out.any():
        raise TableError("households", "deprivation_decile", "in_range(1, 10)", _rows(hh, out))


def _rows(table: pa.Table, mask: np.ndarray, offset: int = 0) -> pd.DataFrame:
    idx = np.flatnonzero(mask)[:5]
    rows = table.take(pa.array(idx)).to_pandas()
    rows.index = idx + offset
    return rows


def _duplicates(table: str, column: str, parts: list[pa.Array]) -> None:
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


class _Spill:
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


def _string_hash(values: pa.Array) -> np.ndarray:
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


class _UniqueIds:
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
        self.spill = _Spill(work, f"ids-{table}-{column}", flush_rows, self.files)

    def add(self, ids: pa.ChunkedArray | pa.Array) -> None:
        """Route one batch's id hashes to their buckets."""
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        hashes = _string_hash(ids)
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
            parts.append(ids.filter(pa.array(np.isin(_string_hash(ids), suspects))))
        _duplicates(self.table, self.column, parts)  # silent when two ids only shared a hash


def _n_buckets(source: TableSource, rows_per_bucket: int = 1 << 22) -> int:
    """Buckets for a table's id hashes: a few million each, from the row count or file size."""
    if source.fmt == "parquet":
        rows = pq.ParquetFile(source.path).metadata.num_rows
    else:
        rows = source.path.stat().st_size // 32  # a CSV row of the contract is longer
    return max(1, -(-rows // rows_per_bucket))


def _route(batch: pa.Table, chunk: np.ndarray, spill: _Spill, ids: list[_UniqueIds]) -> None:
    for unique in ids:
        unique.add(batch.column(unique.column))
    spill.add(batch, chunk)


def _prefetch(batches: Iterator[pa.Table], pool: ThreadPoolExecutor) -> Iterator[pa.Table]:
    """``batches``, each read in ``pool`` while the caller works on the one before.

    The iterator is advanced by one thread at a time, and its errors are raised here, in
    order, when the caller asks for the batch that failed.
    """
    it = iter(batches)
    ahead: Future[pa.Table | None] = pool.submit(next, it, None)
    while True:
        batch = ahead.result()
        if batch is None:
            return
        ahead = pool.submit(next, it, None)
        yield batch


def partition_cohort(
    sources: dict[str, TableSource],
    work: Path,
    *,
    chunk_households: int,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    batch_rows: int = 1 << 20,
    flush_rows: int = 1 << 20,
    on_batch: Callable[[str, int], Any] | None = None,
) -> Plan:
    """Stream the cohort into household chunks under ``work``, checking it on the way.

    Parameters
    ----------
    sources
        From :func:`secondlook.score.io.open_cohort`.
    work
        An empty folder for the spill files (the caller removes it).
    chunk_households
        Households per chunk.
    window
        Inclusive ``(first, last)`` referral date to score (``None``: unbounded), to count the
        referrals in it.
    batch_rows, flush_rows
        Rows read per batch, and buffered rows that trigger writing the spill files.
    on_batch
        Called with the table name and the rows of each batch read (for progress).

    Returns
    -------
    Plan

    Raises
    ------
    CohortError
        On an empty cohort or no referral in the window.
    IdentifierError
        Naming every column holding identifier-like values.
    TableError
        On a broken row: the table, the column and the first offending rows.
    """
    findings = ScreenFindings()
    parts = [b for b in sources["households"].batches(batch_rows)]
    hh = pa.concat_tables(parts) if parts else pa.table({})
    for column in ("household_id", "local_authority"):
        if hh.num_rows:
            screen_values("households", column, hh.column(column), findings)
    n_hh = hh.num_rows
    if n_hh and not findings:
        _duplicates("households", "household_id", list(hh.column("household_id").chunks))
        _check_households(hh)
    if n_hh:
        hh = hh.sort_by("household_id").combine_chunks()
    hh_ids = hh.column("household_id") if n_hh else pa.chunked_array([], type=pa.string())
    n_chunks = max(1, -(-n_hh // chunk_households))
    streamed = ("people", "events", *(["decisions"] if "decisions" in sources else []))
    plan = Plan(
        work=Path(work),
        n_chunks=n_chunks,
        households=hh,
        chunk_households=chunk_households,
        tables=streamed,
    )
    plan.counts = {
        "households": n_hh,
        "people": 0,
        "events": 0,
        "referrals": 0,
        "referrals_in_window": 0,
        "referrals_before_window": 0,
        "referrals_after_window": 0,
    }
    if "decisions" in streamed:
        plan.counts.update(
            decisions=0,
            decisions_in_window=0,
            decisions_before_window=0,
            decisions_after_window=0,
        )
    unique_ids = {
        table: [
            _UniqueIds(plan.work, table, column, _n_buckets(sources[table]), flush_rows)
            for column in _UNIQUE[table]
        ]
        for table in streamed
    }
    lo, hi = window
    orphan = n_chunks  # the extra chunk for events of unknown households
    # Three stages overlap in two threads (Arrow and numpy release the GIL): reading the next
    # batch, checking this one (here), routing the previous one to its chunks. Errors still
    # come in file order: the next batch is read only after this one was handed over, and
    # routing raises no error a user can cause.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="secondlook-partition") as pool:
        for table in streamed:
            spill = _Spill(plan.work, table, flush_rows, plan.files)
            routing: Future[None] | None = None
            offset = 0
            for batch in _prefetch(sources[table].batches(batch_rows), pool):
                for column, kind in sources[table].kinds.items():
                    if kind == "text":
                        values = batch.column(column)
                        if (table, column) in _VOCAB:  # screen what the vocabulary does not hold
                            allowed = pa.array(_VOCAB[(table, column)])
                            values = pc.filter(values, pc.invert(pc.is_in(values, allowed)))
                        screen_values(table, column, values, findings)
                if table == "people":
                    births = batch.column("birth_month")
                    days = pc.day(births.drop_null()).to_numpy(zero_copy_only=False)
                    screen_birth_months(table, "birth_month", days, findings)
                if findings:  # name every identifier column, then stop before any other check
                    continue
                for column in sources[table].kinds:
                    if (table, column) in _VOCAB:
                        _vocab_check(table, column, batch.column(column).combine_chunks(), offset)
                rank = pc.index_in(batch.column("household_id"), value_set=hh_ids)
                rank_np = rank.to_numpy(zero_copy_only=False)
                unknown = np.isnan(rank_np) if rank_np.dtype.kind == "f" else rank_np < 0
                if table == "people" and unknown.any():
                    raise TableError(
                        "people",
                        "household_id",
                        "refers to a household that exists",
                        _rows(batch, unknown, offset),
                    )
                chunk = np.where(
                    unknown,
                    orphan,
                    np.nan_to_num(rank_np, nan=0).astype(np.int64) // chunk_households,
                ).astype(np.int64)
                if table == "events":
                    _detail_check(batch, offset)
                    _count_referrals(batch, window, plan.counts)
                if table == "decisions":
                    _count_in_window(batch, "decision_date", window, plan.counts, "decisions")
                if routing is not None:
                    routing.result()
                routing = pool.submit(_route, batch, chunk, spill, unique_ids[table])
                plan.counts[table] += batch.num_rows
                offset += batch.num_rows
                if on_batch is not None:
                    on_batch(table, batch.num_rows)
            if routing is not None:
                routing.result()
            spill.flush()
    findings.raise_if_any()
    for table in streamed:
        for unique in unique_ids[table]:
            unique.check(sources[table], batch_rows)
    if orphan in plan.files:
        plan.n_chunks = n_chunks + 1
    if n_hh == 0 or plan.counts["events"] == 0:
        raise CohortError(
            "the cohort is empty: "
            + ", ".join(f"{plan.counts[t]} {t}" for t in ("households", "people", "events"))
            + "; nothing to score"
        )
    if "decisions" in streamed:
        if plan.counts["decisions_in_window"] == 0:
            raise CohortError(
                f"the cohort's decisions table holds no decision dated {_window_text(window)}; "
                "nothing to score"
            )
    elif plan.counts["referrals_in_window"] == 0:
        raise CohortError(
            f"the cohort holds no referral dated {_window_text(window)}; nothing to score"
        )
    return plan


def _count_referrals(
    batch: pa.Table,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    counts: dict[str, int],
) -> None:
    """Add a batch's referrals to ``counts``: all, in the window, before it and after it."""
    refs = batch.filter(pc.equal(batch.column("type"), "referral"))
    counts["referrals"] += refs.num_rows
    _count_in_window(refs, "date", window, counts, "referrals")


def _count_in_window(
    rows: pa.Table,
    column: str,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    counts: dict[str, int],
    what: str,
) -> None:
    """Add ``rows`` to the counts of ``what`` in, before and after the window."""

    def n(mask: pa.ChunkedArray | pa.Array) -> int:
        return int(pc.sum(mask).as_py() or 0)

    dates = rows.column(column)
    lo, hi = window
    before = after = 0
    if lo is not None:
        before = n(pc.less(dates, pa.scalar(lo, pa.timestamp("s"))))
    if hi is not None:
        after = n(pc.greater(dates, pa.scalar(hi, pa.timestamp("s"))))
    counts[f"{what}_before_window"] += before
    counts[f"{what}_after_window"] += after
    counts[f"{what}_in_window"] += rows.num_rows - before - after


def _window_text(window: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> str:
    lo, hi = window
    a = "any date" if lo is None else str(lo.date())
    b = "any date" if hi is None else str(hi.date())
    return f"from {a} to {b}"


def load_chunk(plan: Plan, k: int) -> dict[str, pa.Table]:
    """The households, people and events of chunk ``k`` (the last may be the orphan chunk).

    Returns
    -------
    dict of str to pyarrow.Table
        In the contract's column order; rows in file order.
    """
    return read_chunk(*chunk_files(plan, k))


def chunk_files(plan: Plan, k: int) -> tuple[pa.Table, dict[str, list[Path]]]:
    """Chunk ``k`` as its households and the spill files of its people and events.

    What a worker process needs to read the chunk itself with :func:`read_chunk` (a few
    thousand short rows and a list of paths, instead of the chunk's rows).
    """
    base = plan.households
    if k * plan.chunk_households < base.num_rows:
        households = base.slice(k * plan.chunk_households, plan.chunk_households)
    else:
        households = base.slice(0, 0)
    files = plan.files.get(k, {})
    return households, {table: list(files.get(table, [])) for table in plan.tables}


def read_chunk(households: pa.Table, files: dict[str, list[Path]]) -> dict[str, pa.Table]:
    """A chunk's tables from :func:`chunk_files`: rows in file order, contract columns."""
    out: dict[str, pa.Table] = {"households": households}
    for table in ("people", "events", *(t for t in files if t not in ("people", "events"))):
        paths = files.get(table, [])
        if paths:
            out[table] = pa.concat_tables([feather.read_table(p) for p in paths])
        else:
            out[table] = _empty(table)
    return out


def _empty(table: str) -> pa.Table:
    from secondlook.score.io import _ARROW, COLUMN_KINDS

    kinds = COLUMN_KINDS[table]
    return pa.table({c: pa.array([], type=_ARROW[k]) for c, k in kinds.items()})
