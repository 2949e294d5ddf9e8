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

from secondlook.schema import (
    ADULT_ROLES,
    ROLES,
    SCHEMAS,
    TableError,
    bad_details,
    column_rules,
)
from secondlook.score.errors import CohortError
from secondlook.score.io import TableSource
from secondlook.score.screen import ScreenFindings, screen_birth_months, screen_values
from secondlook.score.spill import Spill, UniqueIds, duplicates
from secondlook.score.spill import n_buckets as _n_buckets  # tests replace it here

__all__ = ["Plan", "chunk_files", "load_chunk", "partition_cohort", "read_chunk"]

#: the closed vocabulary of each streamed column that has one (from the contract's checks)
_VOCAB: dict[tuple[str, str], tuple[str, ...]] = {
    (table, column): tuple(rules["allowed_values"])
    for table in ("people", "events", "decisions")
    for column in SCHEMAS[table].columns
    if "allowed_values" in (rules := column_rules(table, column))
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
    ok = pc.match_substring_regex(la, column_rules("households", "local_authority")["pattern"])
    if not pc.all(ok).as_py():
        raise TableError("households", "local_authority", "LA code", _rows(hh, ~ok.to_numpy(False)))
    dec = hh.column("deprivation_decile").to_numpy()
    lo, hi = (
        column_rules("households", "deprivation_decile")[k] for k in ("min_value", "max_value")
    )
    out = (dec < lo) | (dec > hi)
    if out.any():
        raise TableError(
            "households", "deprivation_decile", f"in_range({lo}, {hi})", _rows(hh, out)
        )


def _rows(table: pa.Table, mask: np.ndarray, offset: int = 0) -> pd.DataFrame:
    idx = np.flatnonzero(mask)[:5]
    rows = table.take(pa.array(idx)).to_pandas()
    rows.index = idx + offset
    return rows


def _route(batch: pa.Table, chunk: np.ndarray, spill: Spill, ids: list[UniqueIds]) -> None:
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
    hh = _read_households(sources["households"], batch_rows, findings)
    n_hh = hh.num_rows
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
    plan.counts = _zero_counts(n_hh, streamed)
    unique_ids = {
        table: [
            UniqueIds(plan.work, table, column, _n_buckets(sources[table]), flush_rows)
            for column in _UNIQUE[table]
        ]
        for table in streamed
    }
    orphan = n_chunks  # the extra chunk for events of unknown households
    # Three stages overlap in two threads (Arrow and numpy release the GIL): reading the next
    # batch, checking this one (here), routing the previous one to its chunks. Errors still
    # come in file order: the next batch is read only after this one was handed over, and
    # routing raises no error a user can cause.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="secondlook-partition") as pool:
        for table in streamed:
            spill = Spill(plan.work, table, flush_rows, plan.files)
            routing: Future[None] | None = None
            offset = 0
            for batch in _prefetch(sources[table].batches(batch_rows), pool):
                _screen_batch(table, batch, sources[table].kinds, findings)
                if findings:  # name every identifier column, then stop before any other check
                    continue
                _check_batch(table, batch, sources[table].kinds, offset)
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
                _count_batch(table, batch, window, plan.counts, offset)
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
    _check_something_to_score(plan.counts, streamed, window)
    return plan


def _read_households(source: TableSource, batch_rows: int, findings: ScreenFindings) -> pa.Table:
    """The households table whole, screened, checked and sorted by id."""
    parts = [b for b in source.batches(batch_rows)]
    hh = pa.concat_tables(parts) if parts else pa.table({})
    if not hh.num_rows:
        return hh
    for column in ("household_id", "local_authority"):
        screen_values("households", column, hh.column(column), findings)
    if not findings:
        duplicates("households", "household_id", list(hh.column("household_id").chunks))
        _check_households(hh)
    return hh.sort_by("household_id").combine_chunks()


def _zero_counts(n_hh: int, streamed: tuple[str, ...]) -> dict[str, int]:
    """The plan's counts before any streamed row is read."""
    counts = {"households": n_hh, "people": 0, "events": 0, "referrals": 0}
    kinds = ("referrals", *(["decisions"] if "decisions" in streamed else []))
    for kind in kinds:
        counts |= {kind: 0, f"{kind}_in_window": 0}
        counts |= {f"{kind}_before_window": 0, f"{kind}_after_window": 0}
    return counts


def _screen_batch(
    table: str, batch: pa.Table, kinds: dict[str, Any], findings: ScreenFindings
) -> None:
    """Screen a batch's text (what the vocabulary does not hold) and birth months."""
    for column, kind in kinds.items():
        if kind == "text":
            values = batch.column(column)
            if (table, column) in _VOCAB:
                allowed = pa.array(_VOCAB[(table, column)])
                values = pc.filter(values, pc.invert(pc.is_in(values, allowed)))
            screen_values(table, column, values, findings)
    if table == "people":
        births = batch.column("birth_month")
        days = pc.day(births.drop_null()).to_numpy(zero_copy_only=False)
        screen_birth_months(table, "birth_month", days, findings)


def _check_batch(table: str, batch: pa.Table, kinds: dict[str, Any], offset: int) -> None:
    """Check a batch's closed vocabularies against the contract."""
    for column in kinds:
        if (table, column) in _VOCAB:
            _vocab_check(table, column, batch.column(column).combine_chunks(), offset)


def _count_batch(
    table: str,
    batch: pa.Table,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    counts: dict[str, int],
    offset: int,
) -> None:
    """Check events' details, and count a batch's referrals or decisions by the window."""
    if table == "events":
        _detail_check(batch, offset)
        _count_referrals(batch, window, counts)
    if table == "decisions":
        _count_in_window(batch, "decision_date", window, counts, "decisions")


def _check_something_to_score(
    counts: dict[str, int],
    streamed: tuple[str, ...],
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
) -> None:
    """Refuse an empty cohort, or one with nothing dated in the window."""
    if counts["households"] == 0 or counts["events"] == 0:
        raise CohortError(
            "the cohort is empty: "
            + ", ".join(f"{counts[t]} {t}" for t in ("households", "people", "events"))
            + "; nothing to score"
        )
    if "decisions" in streamed:
        if counts["decisions_in_window"] == 0:
            raise CohortError(
                f"the cohort's decisions table holds no decision dated {_window_text(window)}; "
                "nothing to score"
            )
    elif counts["referrals_in_window"] == 0:
        raise CohortError(
            f"the cohort holds no referral dated {_window_text(window)}; nothing to score"
        )


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
