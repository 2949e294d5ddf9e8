"""Reading a partitioned cohort back: a spill group at a time, split into its chunks.

:func:`~secondlook.score.chunks.partition_cohort` appends the rows of each group of household
chunks (:attr:`~secondlook.score.chunks.Plan.group_chunks`, :func:`~secondlook.score.chunks.chunks_per_group`)
to the group's spill files. The engines score a group at a time: :func:`group_files` names what a
process needs to read one (its chunks' households and the group's pieces: a few thousand short
rows and a list of paths, never the rows themselves), and :func:`read_group` reads the pieces
once and splits the rows into the group's chunks, each in file order. :func:`load_chunk` reads a
single chunk (the tests, and the error path that names every failing row).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from secondlook.score.spill import Piece, chunks_of_group, decoded_pieces, restored_columns

if TYPE_CHECKING:
    from secondlook.score.chunks import Plan

__all__ = ["HOUSEHOLDS_FILE", "GroupFiles", "group_files", "load_chunk", "load_group", "read_group"]

#: the sorted households, one record batch per chunk, in the work folder
HOUSEHOLDS_FILE = "households.arrow"

#: a group as :func:`group_files` names it: each chunk's households, each table's pieces
GroupFiles = tuple[list[pa.Table], dict[str, list[Piece]]]


def load_group(plan: Plan, g: int) -> list[dict[str, pa.Table]]:
    """The tables of each chunk of group ``g`` (:func:`read_group` of :func:`group_files`),
    all at once."""
    return list(read_group(*group_files(plan, g)))


def load_chunk(plan: Plan, k: int) -> dict[str, pa.Table]:
    """The households, people and events of chunk ``k`` (the last may be the orphan chunk).

    Reads the chunk's whole group: the engines read a group once for all its chunks
    (:func:`load_group`).

    Returns
    -------
    dict of str to pyarrow.Table
        In the contract's column order; rows in file order.
    """
    g = plan.group_of(k)
    return load_group(plan, g)[k - plan.chunks_of(g).start]


def group_files(plan: Plan, g: int) -> GroupFiles:
    """Group ``g`` as its chunks' households and the spill files of its people and events.

    What a worker process needs to read the group itself with :func:`read_group`.
    """
    households = _households_of(plan.work, plan.chunks_of(g))
    files = plan.files.get(g, {})
    return households, {table: list(files.get(table, [])) for table in plan.tables}


def _households_of(work: Path, chunks: range) -> list[pa.Table]:
    """Each chunk's households, read from the work folder (none for the orphan chunk)."""
    path = work / HOUSEHOLDS_FILE
    if not path.is_file():
        return [_empty("households") for _ in chunks]
    with pa.OSFile(str(path), "rb") as f:
        reader = pa.ipc.open_file(f)
        n = reader.num_record_batches
        return [
            pa.Table.from_batches([reader.get_batch(k)]) if k < n else reader.schema.empty_table()
            for k in chunks
        ]


def read_group(
    households: list[pa.Table], files: dict[str, list[Piece]]
) -> Iterator[dict[str, pa.Table]]:
    """Each chunk's tables from :func:`group_files`, one chunk at a time: rows in file order,
    contract columns.

    The group's pieces are read and decoded first; each chunk's rows are then combined and
    restored when it is asked for, so only one chunk's restored tables are held at a time.

    Parameters
    ----------
    households
        Each chunk's households, in chunk order (every chunk of a group but the cohort's last
        holds ``chunk_households`` of them).
    files
        Table -> the group's pieces.

    Yields
    ------
    dict of str to pyarrow.Table
        One per chunk, in chunk order.
    """
    per_chunk, n = households[0].num_rows, len(households)
    names = ("people", "events", *(t for t in files if t not in ("people", "events")))
    parts = {
        table: chunks_of_group(decoded_pieces(files[table]), n, per_chunk)
        for table in names
        if files.get(table)
    }
    for hh in households:
        tables = {"households": hh}
        for table in names:
            rows = next(parts[table]) if table in parts else None
            tables[table] = _empty(table) if rows is None else restored_columns(rows, hh)
        yield tables


def _empty(table: str) -> pa.Table:
    from secondlook.score.io import _ARROW, COLUMN_KINDS

    kinds = COLUMN_KINDS[table]
    return pa.table({c: pa.array([], type=_ARROW[k]) for c, k in kinds.items()})
