"""Spill files and whole-table id uniqueness for batch scoring, in bounded memory.

:class:`Spill` buffers rows routed to keys (household chunks, hash buckets) and flushes them to
Arrow IPC files; :class:`UniqueIds` checks that an id column is unique across a whole table by
spilling 64-bit hashes of the ids (:func:`~secondlook.score.lookup.string_hash`) to buckets and reading one bucket at a
time; :func:`duplicates` names the first duplicated ids, with their file lines and the count of
every failing row, through :meth:`TableSource.refuse`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from secondlook.score.arrays import one_array
from secondlook.score.io import TableSource
from secondlook.score.lookup import string_hash  # tests replace it here

__all__ = [
    "append_piece",
    "Piece",
    "Spill",
    "UniqueIds",
    "duplicates",
    "mask",
    "n_buckets",
    "chunks_of_group",
    "decoded_pieces",
    "read_pieces",
    "restored_columns",
    "spilled_columns",
    "stored_rows",
    "writer_tag",
]


def mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy (missing values: False)."""
    return np.asarray(values.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def duplicates(source: TableSource, column: str, parts: list[pa.Array]) -> None:
    """Raise naming the rows of the first duplicated ids of ``column`` across all batches."""
    ids = pa.chunked_array(parts, type=pa.string())
    if len(pc.unique(ids)) == len(ids):
        return
    counts = pc.value_counts(ids)
    dup = pc.filter(counts, pc.greater(counts.field("counts"), 1)).field("values")
    source.refuse(
        column,
        "unique (field_uniqueness)",
        lambda parsed, _stored: mask(pc.is_in(parsed.column(column), dup)),
    )


#: a piece of a spill file: (file, byte offset, bytes) of one Arrow IPC file
Piece = tuple[Path, int, int]
#: lz4 buffers, compressed in the calling thread (the engines already run a process per core)
_WRITE_OPTIONS = pa.ipc.IpcWriteOptions(compression="lz4", use_threads=False)


def writer_tag() -> str:
    """This process and thread, as a file-name tag: a spill file has one writer at a time."""
    return f"p{os.getpid()}-t{threading.get_ident()}"


class Spill:
    """Rows routed to keys (chunks, buckets), buffered and appended, at each flush, to one
    file per key: each key's rows lie contiguously on disk.

    A flush appends to each key's file one Arrow IPC file (lz4) holding the key's buffered
    rows, and ``files[key][name]`` lists the key's pieces (:data:`Piece`) in flush order, so
    reading them back (:func:`read_pieces`) gives a key's rows in the order they were added
    with one sequential read of a file (a chunk's rows once were a piece of every flush file:
    at ten million referrals, reads scattered over 11 GB that outgrew the page cache). The
    files are opened for each flush, never held open, so their number (keys times writers)
    costs no file handles; a folder has one writer at a time (:func:`writer_tag` names a
    process's and thread's folder when several write beside each other).
    """

    def __init__(
        self,
        work: Path,
        name: str,
        flush_rows: int,
        files: dict[int, dict[str, list[Piece]]],
        folder: str | None = None,
    ) -> None:
        self.folder, self.table = work / (folder or name), name
        self.flush_rows, self.files = flush_rows, files
        self.buffers: dict[int, list[pa.Table]] = {}
        self.buffered = 0
        self.flushes = 0
        self.paths: list[Path] = []
        self._paths: dict[int, Path] = {}
        self.folder.mkdir(parents=True, exist_ok=True)

    def add(self, batch: pa.Table, chunk: np.ndarray, order_by: np.ndarray | None = None) -> None:
        """Buffer each row of ``batch`` under its key (``chunk``, shape (rows,)), the rows
        of each key in ``order_by`` order (default the keys; its order must keep the keys'),
        ties in batch order; flush when :attr:`flush_rows` rows are buffered."""
        if not len(chunk):
            return
        by = chunk if order_by is None else order_by
        # keys fit 16 bits but for the largest cohorts: numpy's stable sort of 16-bit
        # integers is a radix sort, a sixth of the CPU of sorting int64
        small = by.min() >= 0 and by.max() < 1 << 16
        order = np.argsort(by.astype(np.uint16) if small else by, kind="stable")
        sorted_chunks = chunk[order]
        batch = batch.take(pa.array(order))
        # the keys and where each starts, from the sorted keys (np.unique would sort again)
        starts = np.flatnonzero(np.diff(sorted_chunks, prepend=sorted_chunks[:1] - 1))
        keys = sorted_chunks[starts]
        ends = np.append(starts[1:], len(order))
        for k, a, b in zip(keys.tolist(), starts.tolist(), ends.tolist(), strict=True):
            self.buffers.setdefault(int(k), []).append(batch.slice(a, b - a))
        self.buffered += batch.num_rows
        if self.buffered >= self.flush_rows:
            self.flush()

    def flush(self) -> None:
        if not self.buffers:
            return
        for k, parts in sorted(self.buffers.items()):
            path = self._paths.get(k)
            if path is None:  # one Path per file, shared by its pieces: a plan lists many
                path = self._paths[k] = self.folder / f"{k:05d}.arrows"
            table = pa.concat_tables(parts, promote_options="permissive").combine_chunks()
            piece = append_piece(path, table.schema, table.to_batches())
            if piece[1] == 0:
                self.paths.append(path)
            self.files.setdefault(k, {}).setdefault(self.table, []).append(piece)
        self.buffers.clear()
        self.buffered = 0
        self.flushes += 1


def append_piece(
    path: Path,
    schema: pa.Schema,
    batches: list[pa.RecordBatch],
    options: pa.ipc.IpcWriteOptions = _WRITE_OPTIONS,
) -> Piece:
    """Append ``batches`` to ``path`` as one Arrow IPC file (a :data:`Piece` of it).

    Parameters
    ----------
    path
        The file, created if missing.
    schema
        The batches' schema, with its metadata (kept in the piece).
    batches
        Record batches, any rows each (none too).
    options
        Default lz4 buffers, compressed in the calling thread.

    Returns
    -------
    Piece
        ``(path, byte offset, bytes)``.
    """
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, schema, options=options) as writer:
        for batch in batches:
            writer.write_batch(batch)
    data = sink.getvalue()
    with path.open("ab") as f:
        offset = f.tell()
        f.write(data)
    return path, offset, data.size


#: a key's pieces are many small IPC files (a flush spreads its rows over every key): decoded in
#: the calling thread, as Arrow's thread pool woke a thread per buffer of every piece (at ten
#: million referrals, thousands of context switches a chunk and a tenth of the kernel's time)
_READ_OPTIONS = pa.ipc.IpcReadOptions(use_threads=False)


#: pieces above which :func:`read_pieces` combines a key's rows into one chunk per column
COMBINE_PIECES = 64


def read_pieces(pieces: list[Piece]) -> pa.Table:
    """The rows of a key's pieces (:attr:`Spill.files`), in the order they were added.

    The table returned has one chunk per column when there are more than
    :data:`COMBINE_PIECES` pieces.
    """
    return _joined(decoded_pieces(pieces))


def _joined(tables: list[pa.Table]) -> pa.Table:
    table = pa.concat_tables(tables, promote_options="permissive")
    # a chunk of hundreds of pieces made every later step pay for each of them (a chunk of
    # 1,400 pieces scored a third faster once combined); at a million referrals (some 25
    # pieces) the copy cost more than it saved (1M: 45.5 s uncombined, 47.8-49.0 s)
    return table.combine_chunks() if len(tables) > COMBINE_PIECES else table


def decoded_pieces(pieces: list[Piece]) -> list[pa.Table]:
    """Each of a key's pieces (:attr:`Spill.files`) as a table, in the order they were added.

    Each file's pieces are read from it with one read (a key's pieces of one file come in file
    order and lie together), then decoded one piece at a time.

    Raises
    ------
    ValueError
        Given no pieces.
    """
    if not pieces:
        raise ValueError("no pieces to read")
    spans: dict[Path, tuple[int, int]] = {}
    for path, offset, size in pieces:
        lo, hi = spans.get(path, (offset, offset + size))
        spans[path] = (min(lo, offset), max(hi, offset + size))
    buffers: dict[Path, pa.Buffer] = {}
    for path, (lo, hi) in spans.items():
        with path.open("rb") as f:
            f.seek(lo)
            buffers[path] = pa.py_buffer(f.read(hi - lo))
    return [
        pa.ipc.open_file(
            buffers[path].slice(offset - spans[path][0], size), options=_READ_OPTIONS
        ).read_all()
        for path, offset, size in pieces
    ]


#: the spilled column that stands for ``household_id``: the household's position among its
#: chunk's households (int32), -1 for a household the cohort does not hold
_LOCAL = "household_position"


def spilled_columns(batch: pa.Table, local: np.ndarray, encoded: dict[str, pa.Array]) -> pa.Table:
    """A checked batch as it goes to the spill files, in fewer and narrower columns.

    Routing reorders every row (``take``), compresses and writes it, and reading a chunk back
    decodes it, so a spilled string costs several passes over its bytes. ``household_id``
    becomes the household's position among its chunk's households (an ``int32`` column; the
    id text is kept too, only in a batch holding a household the cohort does not hold, whose
    rows go to the orphan chunk), and a vocabulary column its dictionary encoding.

    Parameters
    ----------
    batch
        Rows of a streamed table in the contract's columns and types, shape (rows, columns).
    local
        Each row's household position in its chunk, -1 for an unknown household; shape (rows,).
    encoded
        Column -> its dictionary encoding on the contract's vocabulary (same length).

    Returns
    -------
    pyarrow.Table
        What :func:`restored_columns` turns back into ``batch``'s columns and types.
    """
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in batch.column_names:
        if name == "household_id":
            columns[_LOCAL] = pa.array(local.astype(np.int32))
            if (local < 0).any():
                columns[name] = batch.column(name)
        else:
            columns[name] = encoded.get(name, batch.column(name))
    return pa.table(columns)


def chunks_of_group(tables: list[pa.Table], n_chunks: int, per_chunk: int) -> Iterator[pa.Table]:
    """A spill group's rows as each of its chunks' rows, in file order, one chunk at a time.

    Each piece holds runs of one chunk's rows (:meth:`Spill.add` ordered a batch's rows by
    chunk, keyed by group): a chunk's rows are its runs, in piece order, sliced without a copy
    and combined into one table.

    Parameters
    ----------
    tables
        The group's pieces (:func:`decoded_pieces`): each row's household position among the
        group's households (-1 only in the orphan group, a group of one chunk).
    n_chunks
        The group's chunks.
    per_chunk
        Households per chunk (every chunk of a group of several but the last is full).

    Yields
    ------
    pyarrow.Table
        ``n_chunks`` tables as :func:`restored_columns` reads them, the household position now
        among the chunk's households; the pieces as :func:`read_pieces` combines them when the
        group is one chunk.
    """
    if n_chunks == 1:
        yield _joined(tables)
        return
    runs: list[list[pa.Table]] = [[] for _ in range(n_chunks)]
    for piece in tables:
        chunk = piece.column(_LOCAL).to_numpy() // per_chunk
        starts = np.flatnonzero(np.diff(chunk, prepend=-1))
        ends = np.append(starts[1:], len(chunk))
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            runs[int(chunk[a])].append(piece.slice(a, b - a))
    schema = tables[0].schema
    del tables  # the runs hold the pieces' buffers until their chunk is combined
    for j in range(n_chunks):
        parts, runs[j] = runs[j], []
        if not parts:  # no row of this table in the chunk (decisions, say)
            yield schema.empty_table()
            continue
        rows = pa.concat_tables(parts, promote_options="permissive").combine_chunks()
        at = rows.column_names.index(_LOCAL)
        local = pc.subtract(rows.column(at), pa.scalar(j * per_chunk, pa.int32()))
        yield rows.set_column(at, _LOCAL, local)


def restored_columns(spilled: pa.Table, households: pa.Table) -> pa.Table:
    """A chunk's rows in the contract's columns and types, from its spilled pieces.

    Parameters
    ----------
    spilled
        The chunk's pieces (:func:`spilled_columns`, read with :func:`read_pieces`).
    households
        The chunk's households (empty for the orphan chunk, whose ids were kept).

    Returns
    -------
    pyarrow.Table
        The rows as they were checked, in file order: ``household_id`` and each vocabulary
        column as ``string`` again.
    """
    names, columns = [], []
    for name in spilled.column_names:
        if name == "household_id" and _LOCAL in spilled.column_names:
            continue  # the orphan chunk's ids, taken where the position stood
        column = spilled.column(name)
        if name == _LOCAL:
            name = "household_id"
            if households.num_rows:  # a household chunk: every row's household is in it
                column = households.column(name).take(column.combine_chunks())
            else:  # the orphan chunk: the ids were kept
                column = spilled.column(name)
        elif pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        names.append(name)
        columns.append(column)
    return pa.table(columns, names=names)


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
        self,
        work: Path,
        table: str,
        column: str,
        n_buckets: int,
        flush_rows: int,
        tag: str = "",
    ) -> None:
        self.table, self.column, self.n_buckets = table, column, n_buckets
        self.files: dict[int, dict[str, list[Piece]]] = {}
        name = f"ids-{table}-{column}"
        folder = name + (f"-{tag}" if tag else "")
        self.spill = Spill(work, name, flush_rows, self.files, folder)

    def add(self, ids: pa.ChunkedArray | pa.Array) -> None:
        """Route one batch's id hashes to their buckets."""
        hashes = string_hash(one_array(ids))
        bucket = (hashes % np.uint64(self.n_buckets)).astype(np.int64)
        self.spill.add(pa.table({"hash": hashes}), bucket)

    def buckets(self) -> list[list[Piece]]:
        """Each bucket's pieces, for :func:`repeated_hashes` (written out first)."""
        self.spill.flush()
        return [self.files[k][self.spill.table] for k in sorted(self.files)]

    def check(self, source: TableSource, batch_rows: int, repeated: list[np.ndarray]) -> None:
        """Raise :class:`TableError` naming the first duplicated ids, if any.

        ``repeated``: :func:`repeated_hashes` of each of :meth:`buckets` (computed by
        :func:`~secondlook.score.units.check_unique_ids`, in whichever process).
        """
        for path in self.spill.paths:
            path.unlink(missing_ok=True)  # a writer's file may hold several units' pieces
        repeated = [r for r in repeated if len(r)]
        if not repeated:
            return
        # rare: stream the column again, keeping the ids whose hash repeats, in file order
        suspects = np.concatenate(repeated)
        parts: list[pa.Array] = []
        for batch in source.batches(batch_rows):
            ids = one_array(batch.column(self.column).cast(pa.string()))
            parts.append(ids.filter(pa.array(np.isin(string_hash(ids), suspects))))
        duplicates(source, self.column, parts)  # silent when two ids only shared a hash


def repeated_hashes(pieces: list[Piece]) -> np.ndarray:
    """The hashes a bucket of :class:`UniqueIds` holds more than once.

    Parameters
    ----------
    pieces
        One bucket's pieces (:meth:`UniqueIds.buckets`).

    Returns
    -------
    numpy.ndarray of uint64
        Each repeated hash once, sorted; empty when every hash is unique.
    """
    hashes = np.sort(read_pieces(pieces).column("hash").to_numpy())
    same = hashes[1:] == hashes[:-1]
    return np.unique(hashes[1:][same])


def stored_rows(source: TableSource) -> int:
    """The rows of a parquet table, from its footer.

    Raises
    ------
    CohortError
        Naming the file, where it can no longer be read (removed, or made unreadable, since
        the cohort was opened).
    """
    try:
        return int(pq.ParquetFile(source.path).metadata.num_rows)
    except (OSError, pa.ArrowException) as exc:
        raise source.unreadable_file(exc) from None


def n_buckets(source: TableSource, rows_per_bucket: int = 1 << 22) -> int:
    """Buckets for a table's id hashes: a few million each, from the row count or file size."""
    if source.fmt == "parquet":
        rows = stored_rows(source)
    else:
        rows = source.path.stat().st_size // 32  # a CSV row of the contract is longer
    return max(1, -(-rows // rows_per_bucket))
