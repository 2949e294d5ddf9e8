"""Splitting a cohort into household chunks on disk, in one streaming pass.

Features are computed household by household (a referral reads its own and its siblings'
histories, and the adults of its household), so a cohort can be scored one group of households
at a time. :func:`partition_cohort` makes those groups without holding the cohort in memory:

1. the ``households`` table is read whole (one short row per household), checked, sorted by
   ``household_id`` and written to the work folder in chunks of ``chunk_households``; only
   two 64-bit hashes of each id stay in memory (:class:`~secondlook.score.lookup.HouseholdLookup`);
2. ``people`` and ``events`` are streamed in batches; each batch is converted to the contract's
   types, screened for identifiers, checked row by row against the vocabularies, and its rows
   are appended to their chunk's spill files (Arrow IPC, lz4; above :data:`SPILL_KEYS` chunks,
   a group of neighbouring chunks' files) in a work folder -- reading the next batch, checking
   this one and spilling the previous one overlap in two threads;
3. ids are checked for uniqueness across the whole cohort: each id's 64-bit hash is spilled to
   a bucket file chosen by the hash, and the buckets are checked one at a time (equal ids share
   a bucket); a repeated hash sends the check back to the id column, so a collision is never
   mistaken for a duplicate, and duplicates are named as a whole-column check names them.

Events (and decisions) whose household is not in ``households`` go to one extra, last chunk,
where their referrals (and decisions) are rejected (the other events refuse the cohort). A
``decisions`` table, when the cohort has one, is streamed, checked and routed like ``events``.
Memory is bounded by the batch and flush sizes and by one bucket of id hashes (8 bytes for each of about four million ids), whatever
the cohort's size; only the households' id hashes are held whole.
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

from secondlook.schema import (
    ADULT_ROLES,
    ROLES,
)
from secondlook.score.errors import CohortError
from secondlook.score.io import TableSource
from secondlook.score.lookup import HouseholdLookup
from secondlook.score.reading import HOUSEHOLDS_FILE
from secondlook.score.row_checks import (
    VOCAB,
    bad_detail,
    birth_check,
    check_households,
    count_in_window,
    count_referrals,
    detail_check,
    vocab_check,
    vocab_codes,
)
from secondlook.score.screen import (
    ScreenFindings,
    locate_findings,
    screen_birth_months,
    screen_values,
)
from secondlook.score.spill import (
    Piece,
    Spill,
    UniqueIds,
    duplicates,
    spilled_columns,
)
from secondlook.score.spill import n_buckets as _n_buckets  # tests replace it here
from secondlook.score.units import (
    Shared,
    check_unique_ids,
    forget,
    partition_units,
    remember,
    units_of,
)

__all__ = ["SPILL_KEYS", "Plan", "chunks_per_group", "partition_cohort"]

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
        Group -> table -> its pieces of the spill files (:data:`secondlook.score.spill.Piece`).
    group_chunks
        Household chunks per group: the spill files' unit, and the engines'
        (:func:`chunks_per_group`). The orphan chunk is a group of its own, the last.
    household_chunks
        Chunks of households; the orphan chunk, when there is one, is chunk
        ``household_chunks`` (and ``n_chunks`` is one more).
    """

    work: Path
    n_chunks: int
    chunk_households: int
    tables: tuple[str, ...] = ("people", "events")
    counts: dict[str, int] = field(default_factory=dict)
    files: dict[int, dict[str, list[Piece]]] = field(default_factory=dict)
    group_chunks: int = 1
    household_chunks: int = 0

    @property
    def household_groups(self) -> int:
        """Groups of household chunks; the orphan group, when there is one, is the next."""
        return -(-self.household_chunks // self.group_chunks)

    @property
    def n_groups(self) -> int:
        """Groups: of household chunks, and the orphan chunk's own when it has rows."""
        return self.household_groups + (self.n_chunks > self.household_chunks)

    def chunks_of(self, g: int) -> range:
        """The chunks of group ``g``: ``group_chunks`` household chunks, or the orphan chunk."""
        if g >= self.household_groups:  # the orphan group
            return range(self.household_chunks, self.household_chunks + 1)
        first = g * self.group_chunks
        return range(first, min(first + self.group_chunks, self.household_chunks))

    def group_of(self, k: int) -> int:
        """The group of chunk ``k``."""
        return self.household_groups if k >= self.household_chunks else k // self.group_chunks


#: spill keys (groups of chunks) a cohort is cut into, at most, when its chunks are more
SPILL_KEYS = 128


def chunks_per_group(n_chunks: int, spill_keys: int | None = None) -> int:
    """Household chunks per spill group: one, unless the chunks are more than ``spill_keys``.

    A flush of the spill buffers appends one piece to every key's file, so the pieces are
    keys x flushes, and both grow with the cohort: at ten million referrals (636 chunks,
    20,000 households each) one key per chunk made 327,000 pieces of 25 kB, and writing and
    reading each one had a fixed cost (a third of a millisecond to write: a file opened, an
    Arrow IPC file begun, its lz4 frames). Grouped to at most :data:`SPILL_KEYS` keys, the
    pieces stay the size they are at a million referrals (64 chunks, one each); a group is
    read once, by the process that scores its chunks, and split into its chunks there.

    Parameters
    ----------
    n_chunks
        Household chunks.
    spill_keys
        Keys at most; default :data:`SPILL_KEYS`.

    Returns
    -------
    int
        ``ceil(n_chunks / spill_keys)``, at least 1.
    """
    keys = SPILL_KEYS if spill_keys is None else spill_keys
    return max(1, -(-n_chunks // keys))


def _route(
    routed: tuple[np.ndarray, np.ndarray, pa.Table], spill: Spill, ids: list[UniqueIds]
) -> None:
    group, chunk, batch = routed
    for unique in ids:
        unique.add(batch.column(unique.column))
    spill.add(batch, group, order_by=chunk)


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
    as_of: pd.Timestamp | None = None,
    batch_rows: int = 1 << 20,
    flush_rows: int = 1 << 20,
    on_batch: Callable[[str, int], Any] | None = None,
    pool: Callable[[], Any] | None = None,
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
    as_of
        The extract date: a birth month more than ten months after it, or a placeholder
        (1900-01-01 or earlier, the year 9999), refuses the cohort.
    batch_rows, flush_rows
        Rows read per batch, and buffered rows that trigger writing the spill files.
    on_batch
        Called with the table name and the rows of each batch read (for progress).
    pool
        Called (once, before the households are read, when a streamed parquet table has two
        units of row groups or more) for an executor (``submit(fn, *args)`` -> a future with
        ``result()``) whose workers share the units (:mod:`secondlook.score.units`): a pool of
        one worker process, or a dask LocalCluster's client; ``None``, or a call returning
        ``None``: this process alone. The plan is the same.

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
    work = Path(work)
    streamed = ("people", "events", *(["decisions"] if "decisions" in sources else []))
    unit_rows = max(batch_rows, flush_rows)
    shared_tables = [t for t in streamed if len(units_of(sources[t], unit_rows)) > 1]
    # started before the households are read: a worker process spends seconds importing
    executor = pool() if pool is not None and shared_tables else None
    hh_ids = _read_households(sources["households"], batch_rows, findings, work, chunk_households)
    lookup = HouseholdLookup(hh_ids)
    del hh_ids  # the lookup holds hashes, not the ids: 209 MiB at ten million referrals
    plan = _new_plan(work, lookup.n, chunk_households, streamed)
    unique_ids = {
        table: [
            UniqueIds(plan.work, table, column, _n_buckets(sources[table]), flush_rows)
            for column in _UNIQUE[table]
        ]
        for table in streamed
    }
    clean = ("households", "household_id") not in findings.found
    router = _Router(plan, sources, window, as_of, findings, lookup, households_clean=clean)
    # Three stages overlap in two threads (Arrow and numpy release the GIL): reading the next
    # batch, checking this one (here), routing the previous one to its chunks. Errors still
    # come in file order: the next batch is read only after this one was handed over, and
    # routing raises no error a user can cause.
    shared = None
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="secondlook-partition") as threads:
        for table in streamed:
            if executor is not None and table in shared_tables:
                if shared is None:
                    shared = _shared(plan, router, window, as_of, batch_rows, flush_rows, sources)
                partition_units(
                    shared, sources[table], executor, findings, plan, unique_ids[table], on_batch
                )
                continue
            spill = Spill(plan.work, table, flush_rows, plan.files)
            routing: Future[None] | None = None
            for batch in _prefetch(sources[table].batches(batch_rows), threads):
                routed = router.check(table, batch)
                if routed is None:  # an identifier was found: only screening goes on
                    continue
                if routing is not None:
                    routing.result()
                routing = threads.submit(_route, routed, spill, unique_ids[table])
                plan.counts[table] += batch.num_rows
                if on_batch is not None:
                    on_batch(table, batch.num_rows)
            if routing is not None:
                routing.result()
            spill.flush()
    if shared is not None:
        _forget_everywhere(executor)
    if findings:
        locate_findings(findings, sources)
    findings.raise_if_any()
    check_unique_ids(unique_ids, sources, batch_rows, executor)
    if router.orphan in plan.files:
        plan.n_chunks += 1  # the orphan chunk
    _check_something_to_score(plan, window)
    return plan  # scoring reads each chunk's households from the work folder


def _forget_everywhere(executor: Any) -> None:
    """Drop the cached households here and in the executor's workers."""
    forget()
    if executor is None:
        return
    broadcast = getattr(executor, "broadcast", None)
    if broadcast is not None:
        broadcast(forget)
    else:  # the pandas engine's pool: one worker process
        executor.submit(forget).result()


def _shared(
    plan: Plan,
    router: _Router,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    as_of: pd.Timestamp | None,
    batch_rows: int,
    flush_rows: int,
    sources: dict[str, TableSource],
) -> Shared:
    """What a unit needs; the household lookup written once for the worker process."""
    path = plan.work / "household-lookup.arrow"
    router.lookup.write(path)
    shared = Shared(
        work=plan.work,
        households=path,
        chunk_households=plan.chunk_households,
        streamed=plan.tables,
        window=window,
        as_of=as_of,
        batch_rows=batch_rows,
        flush_rows=flush_rows,
        n_buckets={t: _n_buckets(sources[t]) for t in plan.tables},
        households_clean=router.households_clean,
        group_chunks=plan.group_chunks,
    )
    remember(shared, plan, router.lookup)
    return shared


def _read_households(
    source: TableSource,
    batch_rows: int,
    findings: ScreenFindings,
    work: Path,
    chunk_households: int,
) -> pa.Array:
    """The households' ids, screened, checked and sorted; the sorted households written to
    ``work`` one chunk per record batch (:func:`~secondlook.score.reading.group_files` reads
    them).

    Only the ids are returned (the lookup of every streamed row's household is built from
    them): the other columns are read back a chunk at a time, and at ten million referrals (some
    thirteen million households) the table is hundreds of megabytes. Duplicates are found
    beside each other in the sorted ids, without hashing every id again.
    """
    parts = [b for b in source.batches(batch_rows)]
    hh = pa.concat_tables(parts) if parts else pa.table({})
    del parts
    if not hh.num_rows:
        return pa.array([], type=pa.string())
    for column in ("household_id", "local_authority"):
        screen_values("households", column, hh.column(column), findings)
    order = pc.sort_indices(hh.column("household_id"))
    ids = hh.column("household_id").take(order).combine_chunks()
    if not findings:
        if pc.any(pc.equal(ids.slice(1), ids.slice(0, len(ids) - 1))).as_py():
            duplicates(source, "household_id", list(hh.column("household_id").chunks))
        check_households(source, hh)
    # sorted once, a column at a time (each unsorted column let go once sorted), then sliced:
    # a take per chunk from the table's many record batches concatenated the whole table each
    # time (36 s at ten million referrals, 640 chunks)
    schema = hh.schema
    columns = {n: hh.column(n) for n in schema.names if n != "household_id"}
    del hh
    for n in columns:
        columns[n] = pa.chunked_array([columns[n].take(order).combine_chunks()])
    ordered = pa.Table.from_arrays(
        [pa.chunked_array([ids]) if n == "household_id" else columns[n] for n in schema.names],
        schema=schema,
    )
    with (
        pa.OSFile(str(work / HOUSEHOLDS_FILE), "wb") as sink,
        pa.ipc.new_file(sink, schema) as writer,
    ):
        for first in range(0, ordered.num_rows, chunk_households):
            part = ordered.slice(first, chunk_households).combine_chunks()
            writer.write_batch(part.to_batches()[0])
    # the ids the partition keeps in memory in each process, with 32-bit offsets when they fit
    # (at ten million referrals, 51 MB less in each process)
    if ids.type == pa.large_string() and len(ids.buffers()[2] or b"") < 2**31 - 1:
        ids = ids.cast(pa.string())
    return ids


def _new_plan(
    work: Path,
    n_hh: int,
    chunk_households: int,
    streamed: tuple[str, ...],
    grouped: int | None = None,
) -> Plan:
    """The plan before streaming: the chunks of the households (``grouped`` to a spill key,
    default :func:`chunks_per_group`), every count at zero."""
    n_chunks = max(1, -(-n_hh // chunk_households))
    plan = Plan(
        work=work,
        n_chunks=n_chunks,
        chunk_households=chunk_households,
        tables=streamed,
        group_chunks=chunks_per_group(n_chunks) if grouped is None else grouped,
        household_chunks=n_chunks,
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
    return plan


class _Router:
    """Checks each streamed batch and says which chunk each of its rows goes to."""

    def __init__(
        self,
        plan: Plan,
        sources: dict[str, TableSource],
        window: tuple[pd.Timestamp | None, pd.Timestamp | None],
        as_of: pd.Timestamp | None,
        findings: ScreenFindings,
        lookup: HouseholdLookup,
        households_clean: bool = True,
    ) -> None:
        self.plan, self.sources, self.window, self.as_of = plan, sources, window, as_of
        self.findings = findings
        # a row's household id that the households table holds was screened there, unless
        # that screening found identifiers (then every id is screened, to name every column)
        self.households_clean = households_clean
        self.orphan = plan.group_of(plan.n_chunks)  # events of unknown households: a last group
        self.lookup = lookup

    def check(self, table: str, batch: pa.Table) -> tuple[np.ndarray, np.ndarray, pa.Table] | None:
        """Screen and check ``batch`` of ``table``, and count it.

        Returns its rows' spill groups and chunks, shape (rows,) each, and the batch as it is
        spilled (:func:`~secondlook.score.spill.spilled_columns`); or ``None`` once an
        identifier was found (the rest is then only screened).
        """
        source = self.sources[table]
        # each vocabulary column's codes, found once: screening looks at the values they miss
        codes = {
            column: vocab_codes(table, column, batch.column(column))
            for column in source.kinds
            if (table, column) in VOCAB
        }
        rank = self.lookup.ranks(batch.column("household_id"))
        bad = bad_detail(batch, codes["type"]) if table == "events" else None
        self._screen(table, batch, codes, rank, bad)
        if self.findings:  # name every identifier column, then stop before any other check
            return None
        if table == "people":
            birth_check(source, batch, self.as_of)
        encoded = {column: vocab_check(source, column, c) for column, c in codes.items()}
        group, chunk, local = self._chunks(table, rank)
        if table == "events":
            detail_check(source, batch, bad)
            count_referrals(batch, self.window, self.plan.counts)
        if table == "decisions":
            count_in_window(batch, "decision_date", self.window, self.plan.counts, "decisions")
        return group, chunk, spilled_columns(batch, local, encoded)

    def _screen(
        self,
        table: str,
        batch: pa.Table,
        codes: dict[str, pa.Array] | None = None,
        rank: np.ndarray | None = None,
        bad: np.ndarray | None = None,
    ) -> None:
        """Look for identifier-like values in the free text columns and the birth months.

        What a vocabulary holds is not screened (it holds no identifier): ``codes``, the
        vocabulary columns' :func:`vocab_codes`; ``rank``, each row's household rank (an id
        the households table holds was screened there); ``bad``, the events whose ``detail``
        is not allowed for their type (:func:`bad_detail`: the others are vocabulary words).
        Each is found here when not given.
        """
        for column, kind in self.sources[table].kinds.items():
            if kind == "text":
                values = batch.column(column)
                if (table, column) in VOCAB:  # screen what the vocabulary does not hold
                    found = codes[column] if codes else vocab_codes(table, column, values)
                    values = pc.filter(values, pc.is_null(found))
                elif column == "household_id" and self.households_clean:
                    if rank is None:
                        rank = self.lookup.ranks(values)
                    values = values.filter(pa.array(rank < 0))
                elif (table, column) == ("events", "detail"):
                    values = values.filter(pa.array(bad_detail(batch) if bad is None else bad))
                screen_values(table, column, values, self.findings)
        if table == "people":
            births = batch.column("birth_month")
            days = pc.day(births.drop_null()).to_numpy(zero_copy_only=False)
            screen_birth_months(table, "birth_month", days, self.findings)

    def _chunks(self, table: str, rank: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's spill group and chunk -- its household's rank
        (:meth:`HouseholdLookup.ranks`) // the group's (the chunk's) households, the orphan
        group and chunk when unknown (a person of an unknown household refuses the cohort) --
        and its household's position among the group's households (-1 when unknown)."""
        unknown = rank < 0
        if table == "people" and unknown.any():
            lookup = self.lookup
            self.sources["people"].refuse(
                "household_id",
                "refers to a household that exists",
                lambda parsed, _stored: lookup.ranks(parsed.column("household_id")) < 0,
            )
        plan = self.plan
        per_group = plan.chunk_households * plan.group_chunks
        group, local = np.divmod(rank, per_group)
        chunk = rank // plan.chunk_households
        group[unknown], chunk[unknown], local[unknown] = self.orphan, plan.household_chunks, -1
        return group.astype(np.int64), chunk.astype(np.int64), local


def _check_something_to_score(
    plan: Plan, window: tuple[pd.Timestamp | None, pd.Timestamp | None]
) -> None:
    """Refuse an empty cohort, or one with no decision point in the window."""
    counts = plan.counts
    if counts["households"] == 0 or counts["events"] == 0:
        raise CohortError(
            "the cohort is empty: "
            + ", ".join(f"{counts[t]} {t}" for t in ("households", "people", "events"))
            + "; nothing to score"
        )
    if "decisions" in plan.tables:
        if counts["decisions_in_window"] == 0:
            raise CohortError(
                f"the cohort's decisions table holds no decision dated {_window_text(window)}; "
                "nothing to score"
            )
    elif counts["referrals_in_window"] == 0:
        raise CohortError(
            f"the cohort holds no referral dated {_window_text(window)}; nothing to score"
        )


def _window_text(window: tuple[pd.Timestamp | None, pd.Timestamp | None]) -> str:
    lo, hi = window
    a = "any date" if lo is None else str(lo.date())
    b = "any date" if hi is None else str(hi.date())
    return f"from {a} to {b}"
