"""Reading a cohort folder: parquet or CSV tables, streamed in batches with canonical types.

:func:`open_cohort` finds ``households``, ``people`` and ``events`` (``<name>.parquet`` or
``<name>.csv``) in a folder, and ``decisions`` when there is one, and checks what can be
checked before any row is read: that each table exists and can be opened, that no column name
looks like a direct identifier, that every column of the contract is there and nothing else
(``decisions`` may leave out ``practice_outcome``), and that each column's stored type can hold
what the contract says. :meth:`TableSource.batches` then streams the rows as Arrow batches
converted to the contract's types (text, ``timestamp[s]`` dates, int64, bool), naming the first
rows whose dates or numbers cannot be parsed.

Every error a user can cause is a :class:`~secondlook.score.errors.CohortError`, a
:class:`~secondlook.schema.TableError` or an :class:`~secondlook.score.errors.IdentifierError`
with one message naming the table and the column.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from secondlook.schema import COHORT_TABLES, SCHEMAS, Kind, TableError, column_kinds
from secondlook.score.errors import CohortError
from secondlook.score.screen import ScreenFindings, screen_columns

__all__ = ["COLUMN_KINDS", "OPTIONAL_COLUMNS", "OPTIONAL_TABLES", "TableSource", "open_cohort"]

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


def nullable(table: str, column: str) -> bool:
    """Whether the contract lets ``table.column`` be empty."""
    return bool(SCHEMAS[table].columns[column].nullable)


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


def _bad_rows(values: pa.Array, ok: pa.Array, column: str, offset: int) -> pd.DataFrame:
    """The first offending rows (row number in the file, value) for a message."""
    bad = pc.and_(pc.is_valid(values), pc.invert(ok.fill_null(False)))
    idx = pc.indices_nonzero(bad).to_numpy()
    shown = pc.take(values, pa.array(idx[:5])).to_pylist()
    return pd.DataFrame({column: [str(v) for v in shown]}, index=pd.Index(idx[:5] + offset))


def _parse(
    table: str, column: str, kind: Kind, values: pa.Array, offset: int
) -> pa.Array | pa.ChunkedArray:
    """Convert one column of a batch to the contract's type, naming unparseable rows."""
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    target = _ARROW[kind]
    if kind == "date" and not (
        pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    ):
        # dates are days: parquet may store them at any unit, even with a time of day
        return pc.floor_temporal(pc.cast(values, target, safe=False), unit="day")
    if values.type == target:
        return values
    if pa.types.is_null(values.type):
        return pa.nulls(len(values), target)
    is_text = pa.types.is_string(values.type) or pa.types.is_large_string(values.type)
    if kind == "text" or not is_text:
        # text to text, and typed parquet columns (any timestamp or date unit, any int width)
        return pc.cast(values, target, safe=False)
    stripped = pc.utf8_trim_whitespace(values)
    stripped = pc.if_else(pc.equal(stripped, ""), pa.nulls(len(values), pa.string()), stripped)
    if kind == "date":
        parsed = pd.to_datetime(
            pd.Series(stripped.to_pandas()), format="ISO8601", errors="coerce"
        ).to_numpy(dtype="datetime64[s]")
        out = pc.floor_temporal(pa.array(parsed, type=target, from_pandas=True), unit="day")
        ok = pc.is_valid(out)
        if not pc.all(pc.or_(ok, pc.is_null(stripped))).as_py():
            raise TableError(
                table, column, "a date (YYYY-MM-DD)", _bad_rows(stripped, ok, column, offset)
            )
        return out
    if kind == "int":
        ok = pc.match_substring_regex(stripped, r"^[+-]?[0-9]+$")
        if not pc.all(pc.or_(ok, pc.is_null(stripped))).as_py():
            raise TableError(table, column, "an integer", _bad_rows(stripped, ok, column, offset))
        return pc.cast(stripped, target)
    lowered = pc.utf8_lower(stripped)
    truthy = pc.is_in(lowered, pa.array(["true", "1", "yes"]))
    falsy = pc.is_in(lowered, pa.array(["false", "0", "no"]))
    ok = pc.or_(truthy, falsy)
    if not pc.all(pc.or_(ok, pc.is_null(stripped))).as_py():
        raise TableError(table, column, "true or false", _bad_rows(stripped, ok, column, offset))
    return pc.if_else(pc.is_null(stripped), pa.nulls(len(values), pa.bool_()), truthy)


@dataclass
class TableSource:
    """One cohort table on disk.

    Attributes
    ----------
    name
        ``households``, ``people`` or ``events``.
    path
        The file.
    fmt
        ``"parquet"`` or ``"csv"``.
    columns
        The columns stored in the file, in file order.
    """

    name: str
    path: Path
    fmt: Literal["parquet", "csv"]
    columns: list[str]

    @property
    def kinds(self) -> dict[str, Kind]:
        """The contract's columns of this table and their kinds (optional ones if present)."""
        optional = OPTIONAL_COLUMNS.get(self.name, ())
        return {
            c: k
            for c, k in COLUMN_KINDS[self.name].items()
            if c not in optional or c in self.columns
        }

    def _raw_batches(self, batch_rows: int) -> Iterator[pa.RecordBatch]:
        if self.fmt == "parquet":
            pf = pq.ParquetFile(self.path)
            yield from pf.iter_batches(batch_size=batch_rows, columns=list(self.kinds))
            return
        reader = pa_csv.open_csv(
            self.path,
            read_options=pa_csv.ReadOptions(block_size=max(1 << 16, batch_rows * 64)),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.string() for c in self.columns},
                include_columns=list(self.kinds),
                strings_can_be_null=True,
            ),
        )
        yield from reader

    def batches(self, batch_rows: int = 1 << 20) -> Iterator[pa.Table]:
        """Stream the table as Arrow tables with the contract's columns and types.

        Parameters
        ----------
        batch_rows
            Rows per batch (parquet; CSV batches are sized from it in bytes).

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
            Naming the first rows of a column whose values cannot be parsed, or that are
            empty where the contract forbids it.
        """
        offset = 0
        it = self._raw_batches(batch_rows)
        while True:
            try:
                raw = next(it)
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as exc:
                raise CohortError(
                    f"table `{self.name}`: {self.path} could not be read ({exc})"
                ) from None
            arrays = []
            for column, kind in self.kinds.items():
                values = raw.column(column)
                out = _parse(self.name, column, kind, values, offset)
                if not nullable(self.name, column) and out.null_count:
                    raise TableError(
                        self.name,
                        column,
                        "not_nullable",
                        _bad_rows(
                            out.cast(pa.string()),
                            pc.is_valid(out),
                            column,
                            offset,
                        ).assign(**{column: "(empty)"}),
                    )
                arrays.append(out)
            yield pa.Table.from_arrays(arrays, names=list(self.kinds))
            offset += raw.num_rows


def _columns_and_types(name: str, path: Path) -> tuple[str, list[str], dict[str, pa.DataType]]:
    if path.suffix == ".parquet":
        try:
            schema = pq.read_schema(path)
            pq.ParquetFile(path).metadata  # noqa: B018 - the footer must be readable too
        except (pa.ArrowException, OSError) as exc:
            raise CohortError(
                f"table `{name}`: {path} is not a readable parquet file ({exc})"
            ) from None
        return "parquet", list(schema.names), {f.name: f.type for f in schema}
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError) as exc:
        raise CohortError(f"table `{name}`: {path} is not a readable CSV file ({exc})") from None
    return "csv", [h.strip() for h in header], {}


def open_cohort(folder: str | Path) -> dict[str, TableSource]:
    """Find and check the cohort tables in ``folder``.

    Parameters
    ----------
    folder
        Holds ``households``, ``people`` and ``events`` as ``.parquet`` or ``.csv`` files,
        and optionally ``decisions`` (the decision points to score).

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
        fmt, columns, types[name] = _columns_and_types(name, present[0])
        sources[name] = TableSource(name, present[0], fmt, columns)  # type: ignore[arg-type]
    findings = ScreenFindings()
    screen_columns({n: s.columns for n, s in sources.items()}, findings)
    findings.raise_if_any()
    for name, source in sources.items():
        missing = [c for c in source.kinds if c not in source.columns]
        if missing:
            raise CohortError(
                f"table `{name}` ({source.path}): missing column(s) "
                + ", ".join(f"`{c}`" for c in missing)
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
