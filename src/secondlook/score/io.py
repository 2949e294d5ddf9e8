"""Reading a cohort folder: parquet or CSV tables, streamed in batches with canonical types.

:func:`open_cohort` finds ``households``, ``people`` and ``events`` (``<name>.parquet`` or
``<name>.csv``) in a folder, and ``decisions`` when there is one, and checks what can be
checked before any row is read: that each table exists and can be opened, that no column name
looks like a direct identifier, that every column of the contract is there and nothing else
(``decisions`` may leave out ``practice_outcome``), and that each column's stored type can hold
what the contract says. :meth:`TableSource.batches` then streams the rows as Arrow batches
converted to the contract's types (text, ``timestamp[s]`` dates, int64, bool), naming the first
rows whose dates or numbers cannot be parsed.

CSV files are read as analysts export them: a UTF-8 byte-order mark (Excel's "CSV UTF-8") is
skipped, the separator is ``,`` or ``;`` (stated, or found from the header line), fields may be
quoted, lines may end in CRLF, dates may be ISO (``2023-07-01``, with or without a time) or
``dd/mm/yyyy``, and every id stays text (``007`` is not the number 7). A timestamp with a time
zone (``2023-07-01T00:00:00+01:00``, or a tz-aware parquet column) becomes its calendar date in
Europe/London. ``unknown`` is a value of ``sex`` and ``ethnicity`` and, in a CSV, of
``deprivation_decile`` (stored as missing; parquet stores it as a null).

A refusal of a row names the table and its file, the column, the rule, how many rows of the
whole table break it, and the first few by **file line** (a CSV's line, counting the header as
line 1) or **row** (a parquet file's data row, from 1), with values shown by ``repr`` so that a
trailing space is visible -- except ``birth_month``, which may identify someone.

Every error a user can cause is a :class:`~secondlook.score.errors.CohortError`, a
:class:`~secondlook.schema.TableError` or an :class:`~secondlook.score.errors.IdentifierError`
with one message naming the table and the column.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, NoReturn

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from secondlook.fileio import csv_lines
from secondlook.schema import COHORT_TABLES, SCHEMAS, UNKNOWN, Kind, TableError, column_kinds
from secondlook.score.arrays import one_array
from secondlook.score.errors import CohortError
from secondlook.score.screen import ScreenFindings, screen_columns

__all__ = [
    "COLUMN_KINDS",
    "HIDDEN_VALUES",
    "OPTIONAL_COLUMNS",
    "OPTIONAL_TABLES",
    "TableSource",
    "open_cohort",
]

#: the contract's columns of each cohort table and the kind of value each holds (derived from
#: :data:`secondlook.schema.SCHEMAS`)
COLUMN_KINDS: dict[str, dict[str, Kind]] = {
    table: column_kinds(table) for table in (*COHORT_TABLES, "decisions")
}
#: tables a cohort may hold besides :data:`secondlook.schema.COHORT_TABLES`: with
#: ``decisions``, exactly its decision points are scored instead of every referral
OPTIONAL_TABLES = ("decisions",)
#: contract columns a cohort table may leave out: what practice decided is not known when a
#: referral is scored, and scoring never reads it
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {"decisions": ("practice_outcome",)}
_ARROW: dict[Kind, pa.DataType] = {
    "text": pa.string(),
    "date": pa.timestamp("s"),
    "int": pa.int64(),
    "bool": pa.bool_(),
}
_WORDS: dict[Kind, str] = {
    "text": "text",
    "date": "a date",
    "int": "an integer",
    "bool": "true/false",
}


#: columns whose values are never shown in a message (they may identify someone)
HIDDEN_VALUES: frozenset[tuple[str, str]] = frozenset({("people", "birth_month")})
#: contract columns a cohort may leave empty although the canonical tables never do: what an
#: analyst's extract may not know (a CSV may say ``unknown``)
UNKNOWN_ALLOWED: frozenset[tuple[str, str]] = frozenset({("households", "deprivation_decile")})
#: what a date column accepts, in words
DATE_FORMATS = "a date (YYYY-MM-DD, DD/MM/YYYY, or an ISO timestamp)"
#: the zone whose calendar date a tz-aware timestamp becomes
LOCAL_ZONE = "Europe/London"
_SEPARATORS = (",", ";", "\t")

_ISO_DAY = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_ISO = re.compile(r"^([0-9]{4}-[0-9]{2}-[0-9]{2})(?:[T ][0-9:.]*)?$")
_ISO_TZ = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(?:Z|[+-][0-9]{2}:?[0-9]{2})$")
_DMY = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})(?:[T ][0-9:.]*)?$")


def nullable(table: str, column: str) -> bool:
    """Whether a cohort's ``table.column`` may be empty (the contract, or :data:`UNKNOWN_ALLOWED`)."""
    return (table, column) in UNKNOWN_ALLOWED or bool(SCHEMAS[table].columns[column].nullable)


def _type_fits(kind: Kind, t: pa.DataType) -> bool:
    """Whether a stored (parquet) type can be read as ``kind`` without guessing."""
    if pa.types.is_dictionary(t):
        t = t.value_type
    if pa.types.is_null(t):
        return True
    if kind == "text":
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if kind == "date":
        return (
            pa.types.is_timestamp(t)
            or pa.types.is_date(t)
            or pa.types.is_string(t)
            or pa.types.is_large_string(t)
        )
    if kind == "int":
        return pa.types.is_integer(t)
    return pa.types.is_boolean(t)


def _is_text(t: pa.DataType) -> bool:
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _day_strings(values: pa.Array) -> pa.Array:
    """Each text value as ``YYYY-MM-DD`` in local time, or null when it is not a date we read.

    ISO dates (with or without a time of day: the date part is the calendar date), DD/MM/YYYY
    (UK exports; an optional time is ignored) and ISO timestamps with a zone (``Z``,
    ``+01:00``), which become their date in :data:`LOCAL_ZONE`.
    """
    text = values.to_pylist()
    out: list[str | None] = [None] * len(text)
    zoned: list[int] = []
    for i, v in enumerate(text):
        if v is None:
            continue
        if _ISO_TZ.match(v):
            zoned.append(i)
            continue
        m = _ISO.match(v)
        if m:
            out[i] = m.group(1)
            continue
        m = _DMY.match(v)
        if m:
            out[i] = f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
    if zoned:
        stamps = pd.to_datetime(
            pd.Series([text[i] for i in zoned], dtype=object),
            format="ISO8601",
            utc=True,
            errors="coerce",
        ).dt.tz_convert(LOCAL_ZONE)
        for i, stamp in zip(zoned, stamps, strict=True):
            out[i] = None if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")
    return pa.array(out, type=pa.string())


def _parse(kind: Kind, values: pa.Array) -> tuple[pa.Array, pa.Array | None]:
    """Convert one column of a batch to the contract's type.

    Returns
    -------
    values, ok
        The converted column (null where a value could not be read), and where the raw value
        was read (``None`` when every value converts by type alone).
    """
    values = one_array(values)
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    target = _ARROW[kind]
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), target), None
    is_text = _is_text(values.type)
    if kind == "date" and not is_text:
        if pa.types.is_timestamp(values.type) and values.type.tz is not None:
            # Arrow would cast to naive in UTC (a day early for a London midnight)
            local = values.cast(pa.timestamp(values.type.unit, tz=LOCAL_ZONE))
            values = pc.local_timestamp(local)
        # dates are days: parquet may store them at any unit, even with a time of day
        return pc.floor_temporal(pc.cast(values, target, safe=False), unit="day"), None
    if kind == "text" and is_text:
        # a cell of spaces is an empty cell (a spreadsheet's blank), never a value
        # (a whitespace test, not a trim: no trimmed copy of every value is built)
        blank = pc.or_(pc.utf8_is_space(values), pc.equal(pc.binary_length(values), 0))
        if pc.any(blank).as_py():
            values = pc.if_else(blank, pa.nulls(len(values), values.type), values)
        return pc.cast(values, target, safe=False), None
    if values.type == target:
        return values, None
    if kind == "text":
        return pc.cast(values, target, safe=False), None
    if not is_text:
        # typed parquet columns (any timestamp or date unit, any int width)
        return pc.cast(values, target, safe=False), None
    stripped = pc.utf8_trim_whitespace(values)
    empty = pc.equal(stripped, "")
    if kind == "int":
        empty = pc.or_(empty, pc.equal(pc.utf8_lower(stripped), UNKNOWN))
    stripped = pc.if_else(empty, pa.nulls(len(values), pa.string()), stripped)
    if kind == "date":
        if pc.all(
            pc.or_(pc.match_substring_regex(stripped, _ISO_DAY), pc.is_null(stripped))
        ).as_py():
            days = stripped  # the usual case, vectorised
        else:
            days = _day_strings(stripped)
        out = pc.strptime(days, format="%Y-%m-%d", unit="s", error_is_null=True)
        # strptime rolls 2020-02-31 over to 2 March: a day must print back as it was written
        same = pc.equal(pc.strftime(out, format="%Y-%m-%d"), days)
        out = pc.if_else(same, out, pa.nulls(len(out), target))
        return out, pc.or_(pc.is_valid(out), pc.is_null(stripped))
    if kind == "int":
        ok = pc.or_(pc.match_substring_regex(stripped, r"^[+-]?[0-9]{1,18}$"), pc.is_null(stripped))
        clean = pc.if_else(ok, stripped, pa.nulls(len(values), pa.string()))
        return pc.cast(clean, target), ok
    lowered = pc.utf8_lower(stripped)
    truthy = pc.is_in(lowered, pa.array(["true", "1", "yes", "y"]))
    falsy = pc.is_in(lowered, pa.array(["false", "0", "no", "n"]))
    ok = pc.or_(pc.or_(truthy, falsy), pc.is_null(stripped))
    unknown = pc.or_(pc.invert(ok), pc.is_null(stripped))
    return pc.if_else(unknown, pa.nulls(len(values), pa.bool_()), truthy), ok


_NOT_READ: dict[Kind, str] = {
    "date": DATE_FORMATS,
    "int": "an integer",
    "bool": "true or false",
    "text": "text",
}

#: a row check: (the batch converted leniently, the batch as stored) -> which rows fail
RowCheck = Callable[[pa.Table, pa.Table], npt.NDArray[np.bool_]]


@dataclass
class TableSource:
    """One cohort table on disk.

    Attributes
    ----------
    name
        ``households``, ``people``, ``events`` or ``decisions``.
    path
        The file.
    fmt
        ``"parquet"`` or ``"csv"``.
    columns
        The columns stored in the file, in file order.
    delimiter
        A CSV's field separator.
    """

    name: str
    path: Path
    fmt: Literal["parquet", "csv"]
    columns: list[str]
    delimiter: str = ","

    @property
    def kinds(self) -> dict[str, Kind]:
        """The contract's columns of this table and their kinds (optional ones if present)."""
        optional = OPTIONAL_COLUMNS.get(self.name, ())
        return {
            c: k
            for c, k in COLUMN_KINDS[self.name].items()
            if c not in optional or c in self.columns
        }

    def _raw_batches(
        self, batch_rows: int, row_groups: list[int] | None = None
    ) -> Iterator[pa.RecordBatch]:
        if self.fmt == "parquet":
            pf = pq.ParquetFile(self.path)
            # one thread: Arrow's pool costs more CPU than it saves once each core runs an
            # engine process (measured: 1.6x the CPU seconds of a single-threaded read)
            yield from pf.iter_batches(
                batch_size=batch_rows,
                row_groups=row_groups,
                columns=list(self.kinds),
                use_threads=False,
            )
            return
        reader = pa_csv.open_csv(
            self.path,
            read_options=pa_csv.ReadOptions(
                block_size=max(1 << 16, batch_rows * 64), column_names=self.columns, skip_rows=1
            ),
            parse_options=pa_csv.ParseOptions(delimiter=self.delimiter),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.string() for c in self.columns},
                include_columns=list(self.kinds),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
        yield from reader

    def _readable_batches(
        self, batch_rows: int, row_groups: list[int] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """The file's raw batches; a file that cannot be read is refused (CohortError)."""
        it = self._raw_batches(batch_rows, row_groups)
        while True:
            try:
                raw = next(it)
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as exc:
                raise self.unreadable_file(exc) from None
            yield raw

    def _stream(self, batch_rows: int) -> Iterator[tuple[pa.Table, pa.Table]]:
        """(leniently converted batch, stored batch): unreadable values become nulls."""
        for raw in self._readable_batches(batch_rows):
            stored = pa.Table.from_batches([raw])
            parsed = [_parse(kind, raw.column(column))[0] for column, kind in self.kinds.items()]
            yield pa.Table.from_arrays(parsed, names=list(self.kinds)), stored

    def batches(
        self, batch_rows: int = 1 << 20, row_groups: list[int] | None = None
    ) -> Iterator[pa.Table]:
        """Stream the table as Arrow tables with the contract's columns and types.

        Parameters
        ----------
        batch_rows
            Rows per batch (parquet; CSV batches are sized from it in bytes).
        row_groups
            Only these row groups of a parquet file (default all).

        Yields
        ------
        pyarrow.Table
            Columns of :attr:`kinds` in order: text as ``string``, dates as
            ``timestamp[s]``, integers as ``int64``, booleans as ``bool``.

        Raises
        ------
        CohortError
            If the file cannot be read (a corrupt parquet file, a broken CSV).
        TableError
            Naming, by file line, the rows of a column whose values cannot be read, or that
            are empty where the contract forbids it, and how many rows of the table do.
        """
        for raw in self._readable_batches(batch_rows, row_groups):
            arrays = []
            for column, kind in self.kinds.items():
                out, ok = _parse(kind, raw.column(column))
                if ok is not None and not pc.all(ok).as_py():
                    self.refuse(column, _NOT_READ[kind], _unreadable(column, kind))
                if not nullable(self.name, column) and out.null_count:
                    self.refuse(column, "not empty", _empty(column), show=())
                arrays.append(out)
            yield pa.Table.from_arrays(arrays, names=list(self.kinds))

    def unreadable_file(self, exc: Exception) -> CohortError:
        """Why the file cannot be read, by line for a CSV, without echoing its contents."""
        head = f"table `{self.name}`: {self.path} could not be read"
        if self.fmt == "parquet":
            return CohortError(f"{head} ({exc})")
        if "UTF8" in str(exc) or "UTF-8" in str(exc):
            return CohortError(f"{head}: it is not UTF-8 text; save it as CSV UTF-8")
        with self.path.open(newline="", encoding="utf-8-sig", errors="replace") as fh:
            reader = csv.reader(fh, delimiter=self.delimiter)
            next(reader, None)
            start = reader.line_num + 1
            for record in reader:
                if record and len(record) != len(self.columns):
                    return CohortError(
                        f"{head}: line {start} has {len(record)} fields, the header "
                        f"{len(self.columns)} (a separator inside a value needs quotes)"
                    )
                start = reader.line_num + 1
        return CohortError(f"{head} ({str(exc).split(':')[0]})")

    def refuse(
        self, column: str, check: str, bad: RowCheck, show: Sequence[str] | None = None
    ) -> NoReturn:
        """Raise a :class:`TableError` for the rows of the whole table that fail ``bad``.

        The table is read once more (only on this error path): the message counts every
        failing row and names the first five by file line, with their values.

        Parameters
        ----------
        column, check
            The column and rule named in the message.
        bad
            The rule, on one batch: ``(converted, stored) -> failing rows``.
        show
            The columns whose values are shown (default ``column``; stored values when the
            rule is about reading them); empty to show the locations only.
        """
        show = [column] if show is None else list(show)
        total, first, shown = self.failing_rows({column: bad}, show)[column]
        where = pd.Index(self.locations(first))
        rows = (
            pd.DataFrame(shown, index=where)
            if show
            else pd.DataFrame(index=where, columns=[column])
        )
        raise TableError(
            self.name,
            column,
            check,
            rows,
            total=total,
            located=True,
            hide_values=not show or any((self.name, c) in HIDDEN_VALUES for c in show),
            path=self.path,
        )

    def failing_rows(
        self, checks: Mapping[str, RowCheck], show: Sequence[str] = (), limit: int = 5
    ) -> dict[str, tuple[int, list[int], dict[str, list[object]]]]:
        """Read the whole table once more and find the rows that fail each check.

        Returns
        -------
        dict
            Check name -> (how many rows fail it; the first ``limit`` of them, 0-based data
            rows in file order, which :meth:`locations` names; the values of each ``show``
            column in them).
        """
        out = {k: (0, list[int](), {c: list[object]() for c in show}) for k in checks}
        offset = 0
        for parsed, stored in self._stream(1 << 18):
            for k, bad in checks.items():
                total, first, shown = out[k]
                mask = np.asarray(bad(parsed, stored), dtype=bool)
                idx = np.flatnonzero(mask)[: max(0, limit - len(first))]
                first.extend((idx + offset).tolist())
                for c in show:
                    src = stored if c in stored.column_names else parsed
                    shown[c].extend(src.column(c).take(pa.array(idx)).to_pylist())
                out[k] = (total + int(mask.sum()), first, shown)
            offset += parsed.num_rows
        return out

    def locations(self, rows: Sequence[int]) -> list[str]:
        """Where data rows (0-based, in file order) are: ``line N`` of a CSV, ``row N`` else.

        A CSV's line counts the header as line 1 and quoted fields that span lines.
        """
        if self.fmt == "parquet":
            return [f"row {i + 1}" for i in rows]
        found = csv_lines(self.path, self.delimiter, rows)
        return [f"line {found[i]}" if i in found else f"data row {i + 1}" for i in rows]


def _unreadable(column: str, kind: Kind) -> RowCheck:
    def bad(parsed: pa.Table, stored: pa.Table) -> npt.NDArray[np.bool_]:
        _, ok = _parse(kind, stored.column(column))
        if ok is None:
            return np.zeros(stored.num_rows, dtype=bool)
        return ~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool)

    return bad


def _empty(column: str) -> RowCheck:
    def bad(parsed: pa.Table, stored: pa.Table) -> npt.NDArray[np.bool_]:
        raw = stored.column(column)
        if _is_text(raw.type):
            trimmed = pc.utf8_trim_whitespace(raw)
            empty = pc.or_(pc.is_null(trimmed), pc.equal(trimmed, ""))
            return np.asarray(empty.fill_null(True).to_numpy(zero_copy_only=False), dtype=bool)
        return np.asarray(pc.is_null(raw).to_numpy(zero_copy_only=False), dtype=bool)

    return bad


def _sniff(header: str, name: str, delimiter: str | None) -> str:
    """The separator of a CSV's header line: stated, or the one that finds the most columns."""
    if delimiter is not None:
        return delimiter
    expected = set(COLUMN_KINDS[name])

    def found(sep: str) -> int:
        cells = next(csv.reader([header], delimiter=sep), [])
        return len(expected & {c.strip() for c in cells})

    best = max(_SEPARATORS, key=found)
    return best if found(best) else ","


def _columns_and_types(
    name: str, path: Path, delimiter: str | None
) -> tuple[str, list[str], dict[str, pa.DataType], str]:
    if path.suffix == ".parquet":
        try:
            schema = pq.read_schema(path)
            pq.ParquetFile(path).metadata  # noqa: B018 - the footer must be readable too
        except (pa.ArrowException, OSError) as exc:
            raise CohortError(
                f"table `{name}`: {path} is not a readable parquet file ({exc})"
            ) from None
        return "parquet", list(schema.names), {f.name: f.type for f in schema}, ","
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            first = fh.readline()
            sep = _sniff(first, name, delimiter)
            header = next(csv.reader([first], delimiter=sep), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise CohortError(
            f"table `{name}`: {path} is not a readable CSV file ({exc}); save it as UTF-8"
        ) from None
    return "csv", [h.strip() for h in header], {}, sep


def open_cohort(folder: str | Path, *, delimiter: str | None = None) -> dict[str, TableSource]:
    """Find and check the cohort tables in ``folder``.

    Parameters
    ----------
    folder
        Holds ``households``, ``people`` and ``events`` as ``.parquet`` or ``.csv`` files,
        and optionally ``decisions`` (the decision points to score).
    delimiter
        The CSV files' separator; default: found from each file's header line (``,``,
        ``;`` or a tab).

    Returns
    -------
    dict of str to TableSource

    Raises
    ------
    CohortError
        If the folder or a table is missing, a file cannot be opened, or a column is missing,
        unexpected or of the wrong stored type.
    IdentifierError
        Naming every column, in any table, whose name suggests a direct identifier.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CohortError(f"cohort folder {folder} not found")
    sources: dict[str, TableSource] = {}
    types: dict[str, dict[str, pa.DataType]] = {}
    for name in (*COHORT_TABLES, *OPTIONAL_TABLES):
        found = [folder / f"{name}.{ext}" for ext in ("parquet", "csv")]
        present = [p for p in found if p.is_file()]
        if not present and name in OPTIONAL_TABLES:
            continue
        if not present:
            raise CohortError(
                f"table `{name}` is missing: expected {found[0]} or {found[1]} "
                f"(a cohort needs {', '.join(COHORT_TABLES)})"
            )
        if len(present) > 1:
            raise CohortError(f"table `{name}`: both {present[0]} and {present[1]} exist; keep one")
        fmt, columns, types[name], sep = _columns_and_types(name, present[0], delimiter)
        sources[name] = TableSource(name, present[0], fmt, columns, sep)  # type: ignore[arg-type]
    findings = ScreenFindings()
    screen_columns({n: s.columns for n, s in sources.items()}, findings)
    findings.raise_if_any()
    for name, source in sources.items():
        repeated = sorted({c for c in source.columns if source.columns.count(c) > 1})
        if repeated:
            raise CohortError(
                f"table `{name}` ({source.path}): column(s) "
                + ", ".join(f"`{c}`" for c in repeated)
                + " appear more than once in the header"
            )
        missing = [c for c in source.kinds if c not in source.columns]
        if missing:
            raise CohortError(
                f"table `{name}` ({source.path}): missing column(s) "
                + ", ".join(f"`{c}`" for c in missing)
                + f"; the header holds {', '.join(repr(c) for c in source.columns[:12])}"
            )
        extra = [c for c in source.columns if c not in source.kinds]
        if extra:
            raise CohortError(
                f"table `{name}` ({source.path}): unexpected column(s) "
                + ", ".join(f"`{c}`" for c in extra)
                + "; a cohort table holds exactly the columns of the contract (schema.py), "
                "so that nothing identifying slips through"
            )
        for column, kind in source.kinds.items():
            stored = types[name].get(column)
            if stored is not None and not _type_fits(kind, stored):
                raise CohortError(
                    f"table `{name}`, column `{column}`: wrong type: must hold "
                    f"{_WORDS[kind]}, the file stores {stored}"
                )
    return sources
