"""The partition of a large parquet table in two processes: units of row groups.

:func:`secondlook.score.chunks.partition_cohort` streams each table through one process's
threads. A parquet table of several row groups can instead be cut into **units** -- runs of
whole row groups of at least ``flush_rows`` rows (and ``batch_rows``) -- that this process and a worker process
(the pandas engine's :func:`~secondlook.score.runners.process_pool`) partition at once, each
reading its own units from the file: the same checks (:class:`~secondlook.score.chunks._Router`)
and the same routing, into spill files of its own process. Only paths, counts and findings travel
between the processes.

The results are merged in unit order, so the plan is the serial one: each chunk's pieces in
file order (rows of a chunk keep their file order, and the output its bytes), counts summed,
and errors raised as the serial pass raises them -- the first unit's error in file order, unless
an identifier was found before it, when only the screening goes on (and a unit that stopped at
a check error is screened on here from the batch after it, as the serial pass would have).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from secondlook.errors import SecondlookError
from secondlook.schema import TableError
from secondlook.score.io import TableSource
from secondlook.score.lookup import HouseholdLookup
from secondlook.score.screen import ScreenFindings
from secondlook.score.spill import (
    Piece,
    Spill,
    UniqueIds,
    repeated_hashes,
    writer_tag,
)

__all__ = [
    "Shared",
    "UnitResult",
    "check_unique_ids",
    "forget",
    "partition_unit",
    "run_shared",
    "units_of",
]

T = TypeVar("T")


def units_of(source: TableSource, unit_rows: int) -> list[list[int]]:
    """The table's units: runs of whole row groups of at least ``unit_rows`` rows each.

    The partition passes ``max(batch_rows, flush_rows)``: a unit ends with a flush of its
    spill files, so a unit shorter than ``flush_rows`` would only add pieces (a plan at ten
    million referrals lists each chunk's piece of every unit).

    Returns one unit or none for a CSV file or a parquet file of one row group (nothing to
    share: the serial pass reads it).
    """
    if source.fmt != "parquet":
        return []
    meta = pq.ParquetFile(source.path).metadata
    units: list[list[int]] = []
    current: list[int] = []
    rows = 0
    for i in range(meta.num_row_groups):
        current.append(i)
        rows += meta.row_group(i).num_rows
        if rows >= unit_rows:
            units.append(current)
            current, rows = [], 0
    if current:
        units.append(current)
    return units


@dataclass(frozen=True)
class Shared:
    """What every unit needs besides its rows: small, pickled with each task."""

    work: Path
    households: Path  # the household lookup (HouseholdLookup.write)
    chunk_households: int
    streamed: tuple[str, ...]
    window: tuple[pd.Timestamp | None, pd.Timestamp | None]
    as_of: pd.Timestamp | None
    batch_rows: int
    flush_rows: int
    n_buckets: dict[str, int]
    households_clean: bool = True  # the households' ids held no identifier (see _Router)
    group_chunks: int = 1  # chunks per spill key (Plan.group_chunks)


@dataclass
class UnitResult:
    """What one unit found and wrote."""

    counts: dict[str, int]
    files: dict[int, dict[str, list[Piece]]]
    ids: list[tuple[dict[int, dict[str, list[Piece]]], list[Path]]]  # per id column
    findings: ScreenFindings
    error: Exception | None = None
    # the batch the error stopped at, and whether that batch was screened first
    stopped: int = -1
    screened_stop: bool = False
    rows: list[int] = field(default_factory=list)  # rows of each routed batch


#: per process: the households' plan and router lookup, by the households file
_CACHE: dict[Path, tuple[Any, Any]] = {}


def remember(shared: Shared, plan: Any, lookup: Any) -> None:
    """Give this process's own plan and lookup to its units (no second copy)."""
    _CACHE[shared.households] = (plan, lookup)


def forget() -> None:
    """Drop this process's cached households (hundreds of megabytes at ten million referrals)
    once the partition is done: scoring never needs them."""
    _CACHE.clear()


def _context(shared: Shared) -> tuple[Any, Any]:
    from secondlook.score.chunks import _new_plan

    if shared.households not in _CACHE:
        _CACHE.clear()  # one cohort at a time
        lookup = HouseholdLookup.read(shared.households)
        plan = _new_plan(
            shared.work, lookup.n, shared.chunk_households, shared.streamed, shared.group_chunks
        )
        _CACHE[shared.households] = (plan, lookup)
    return _CACHE[shared.households]


def partition_unit(
    shared: Shared, source: TableSource, unit: int, row_groups: list[int]
) -> UnitResult:
    """Check and route one unit's batches into this process's (and thread's) spill files.

    Never raises an error a user can cause: the first one stops the unit and is returned, for
    the merge to raise in file order.
    """
    from secondlook.score.chunks import _UNIQUE, _route, _Router

    base, lookup = _context(shared)
    table = source.name
    plan = dataclasses.replace(base, counts=dict.fromkeys(base.counts, 0), files={})
    findings = ScreenFindings()
    router = _Router(
        plan,
        {table: source},
        shared.window,
        shared.as_of,
        findings,
        lookup,
        shared.households_clean,
    )
    # one folder per writing process (and thread), not per unit: a chunk's rows then lie in
    # one file per writer, whatever the number of units
    tag = writer_tag()
    spill = Spill(shared.work, table, shared.flush_rows, plan.files, f"{table}-{tag}")
    uniques = [
        UniqueIds(shared.work, table, c, shared.n_buckets[table], shared.flush_rows, tag=tag)
        for c in _UNIQUE[table]
    ]
    out = UnitResult(counts=plan.counts, files=plan.files, ids=[], findings=findings)
    batches = source.batches(shared.batch_rows, row_groups=row_groups)
    i = 0
    while True:
        checking = False
        try:
            batch = next(batches, None)
            if batch is None:
                break
            checking = True
            routed = router.check(table, batch)
        except (SecondlookError, TableError) as exc:
            out.error, out.stopped, out.screened_stop = exc, i, checking
            break
        i += 1
        if routed is None:  # an identifier was found: only screening goes on
            continue
        _route(routed, spill, uniques)
        plan.counts[table] += batch.num_rows
        out.rows.append(batch.num_rows)
    spill.flush()
    for u in uniques:
        u.spill.flush()
        out.ids.append((u.files, u.spill.paths))
    return out


def partition_units(
    shared: Shared,
    source: TableSource,
    pool: Any,
    findings: ScreenFindings,
    plan: Any,
    uniques: list[UniqueIds],
    on_batch: Callable[[str, int], Any] | None,
) -> None:
    """Partition ``source`` in this process and ``pool``, merging the results into ``plan``,
    ``uniques`` and ``findings`` in unit order (raising as the serial pass raises).

    Units are claimed in order by whichever is free (:func:`~secondlook.score.runners.shared_in_order`):
    the worker starts seconds late (a spawned interpreter importing scikit-learn) and this
    process also merges, so a fixed even/odd split left one of them waiting.
    """
    units = units_of(source, max(shared.batch_rows, shared.flush_rows))
    tasks = [(shared, source, u, units[u]) for u in range(len(units))]
    with closing(
        run_shared(pool, partition_unit, tasks)
    ) as results:  # an error cancels what was sent
        for u, result in enumerate(results):
            _merge(result, source, units[u], shared, findings, plan, uniques, on_batch)


def run_shared(
    pool: Any, fn: Callable[..., T], tasks: list[tuple[Any, ...]]
) -> Generator[T, None, None]:
    """``fn(*task)`` of each task, in order, run in this process and in ``pool``.

    Shared as :func:`~secondlook.score.runners.shared_in_order` shares them: a dask
    cluster's workers (``partitions_here`` false) take every task once started, and nothing
    is sent to a worker process still importing (``ready``); with no pool, all run here.
    """
    from secondlook.score.runners import shared_in_order

    if pool is None:
        return (fn(*task) for task in tasks)

    def here(i: int) -> T:
        return fn(*tasks[i])

    def there(i: int) -> Any:
        return pool.submit(fn, *tasks[i])

    started = not getattr(pool, "partitions_here", True)
    ahead = getattr(pool, "ahead", 2)
    ready = getattr(pool, "ready", None)
    return shared_in_order(len(tasks), here, there, ahead=ahead, until_started=started, ready=ready)


def check_unique_ids(
    unique_ids: dict[str, list[UniqueIds]],
    sources: dict[str, TableSource],
    batch_rows: int,
    executor: Any,
) -> None:
    """Check every id column for duplicates, raising as a serial check does (tables and
    columns in order), the buckets' sorting shared with the executor's workers (at ten
    million referrals some 60 buckets and several seconds, in this process alone before).

    Parameters
    ----------
    unique_ids
        Table -> its id columns' :class:`~secondlook.score.spill.UniqueIds`, every batch added.
    sources
        The cohort's tables (to name the duplicated rows).
    batch_rows
        Rows per batch when a table is read again.
    executor
        As :func:`partition_units` (``None``: this process alone).

    Raises
    ------
    TableError
        Naming the first duplicated ids of the first column that has any.
    """
    checks = [(sources[t], u) for t in unique_ids for u in unique_ids[t]]
    owner, tasks = [], []
    for i, (_, unique) in enumerate(checks):
        for bucket in unique.buckets():
            owner.append(i)
            tasks.append((bucket,))
    repeated: list[list[np.ndarray]] = [[] for _ in checks]
    with closing(run_shared(executor, repeated_hashes, tasks)) as found:
        for i, hashes in zip(owner, found, strict=True):
            repeated[i].append(hashes)
    for (source, unique), column_hashes in zip(checks, repeated, strict=True):
        unique.check(source, batch_rows, column_hashes)


def _merge(
    result: UnitResult,
    source: TableSource,
    groups: list[int],
    shared: Shared,
    findings: ScreenFindings,
    plan: Any,
    uniques: list[UniqueIds],
    on_batch: Callable[[str, int], Any] | None,
) -> None:
    table = source.name
    earlier = bool(findings)
    for key, kinds in result.findings.found.items():
        for kind, count in kinds.items():
            findings.add(*key, kind, count)
    if result.error is not None:
        if not earlier or not result.screened_stop:
            raise result.error
        # the serial pass would only have screened this unit after an earlier identifier
        _screen_from(source, groups, result.stopped + 1, shared, findings)
    if findings:
        return
    for k, v in result.counts.items():
        plan.counts[k] += v
    for chunk, tables in result.files.items():
        for name, pieces in tables.items():
            plan.files.setdefault(chunk, {}).setdefault(name, []).extend(pieces)
    for unique, (files, paths) in zip(uniques, result.ids, strict=True):
        for bucket, named in files.items():
            for pieces in named.values():
                unique.files.setdefault(bucket, {}).setdefault(unique.spill.table, []).extend(
                    pieces
                )
        unique.spill.paths.extend(paths)
    if on_batch is not None:
        for rows in result.rows:
            on_batch(table, rows)


def _screen_from(
    source: TableSource, groups: list[int], first: int, shared: Shared, findings: ScreenFindings
) -> None:
    from secondlook.score.chunks import _Router

    base, lookup = _context(shared)
    router = _Router(
        base,
        {source.name: source},
        shared.window,
        shared.as_of,
        findings,
        lookup,
        shared.households_clean,
    )
    batches: Iterator[pa.Table] = source.batches(shared.batch_rows, row_groups=groups)
    for i, batch in enumerate(batches):
        if i >= first:
            router._screen(source.name, batch)
