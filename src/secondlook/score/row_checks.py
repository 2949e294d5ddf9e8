"""Row checks of the streamed tables: vocabularies, event details, birth months, households;
and the counts of referrals (and decisions) in, before and after the scoring window.

Each check reads one batch (:meth:`secondlook.score.io.TableSource.batches`) and, when a row
breaks its rule, refuses the whole table through :meth:`~secondlook.score.io.TableSource.refuse`,
which names the failing rows by file line. :func:`secondlook.score.chunks.partition_cohort`
runs them on every batch it routes.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from secondlook.schema import MAX_PRENATAL_MONTHS, SCHEMAS, bad_details, column_rules
from secondlook.score.arrays import one_array
from secondlook.score.io import TableSource
from secondlook.score.spill import mask as _mask
from secondlook.score.validate import placeholder_dates

__all__ = [
    "VOCAB",
    "bad_detail",
    "birth_check",
    "check_households",
    "count_in_window",
    "count_referrals",
    "detail_check",
    "vocab_check",
    "vocab_codes",
]

#: the closed vocabulary of each streamed column that has one
VOCAB: dict[tuple[str, str], tuple[str, ...]] = {
    (table, column): tuple(rules["allowed_values"])
    for table in ("people", "events", "decisions")
    for column in SCHEMAS[table].columns
    if "allowed_values" in (rules := column_rules(table, column))
}


@functools.cache
def _vocabulary(table: str, column: str) -> pa.Array:
    """The column's vocabulary (:data:`VOCAB`) as an Arrow ``string`` array, built once."""
    return pa.array(VOCAB[(table, column)], type=pa.string())


def vocab_codes(table: str, column: str, values: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Each value's position in the column's vocabulary (:data:`VOCAB`), null when the value
    is missing or outside it; shape (rows,)."""
    values = one_array(values)
    allowed = _vocabulary(table, column)
    return pc.index_in(values, value_set=allowed)


def vocab_check(source: TableSource, column: str, codes: pa.Array) -> pa.DictionaryArray:
    """Refuse a value outside the column's vocabulary; the column encoded on that vocabulary.

    Parameters
    ----------
    source
        The streamed table (its refusal names the failing rows by file line).
    column
        A column with a vocabulary.
    codes
        The batch's :func:`vocab_codes` of the column.

    Returns
    -------
    pyarrow.DictionaryArray
        ``int8`` positions in the contract's vocabulary (every chunk's spill files share the
        dictionary, so a chunk's pieces concatenate without unifying dictionaries).
    """
    allowed = _vocabulary(source.name, column)
    if codes.null_count:

        def bad(parsed: pa.Table, stored: pa.Table) -> np.ndarray:
            col = parsed.column(column)
            return ~_mask(pc.is_in(col, allowed)) & _mask(pc.is_valid(col))

        source.refuse(column, f"one of {', '.join(allowed.to_pylist())}", bad)
    return pa.DictionaryArray.from_arrays(codes.cast(pa.int8()), allowed)


def bad_detail(batch: pa.Table, type_codes: pa.Array | None = None) -> np.ndarray:
    """Whether each event's ``detail`` is not allowed for its type (as ``schema.bad_details``).

    The rule reads one row at a time, so it is decided once per distinct (type, detail) pair
    -- a few hundred in a million events -- and spread back to the rows. ``type_codes``: the
    batch's :func:`vocab_codes` of ``type``, when already found (saves hashing the column).
    """
    codes = []
    vocabularies = []
    for column in ("type", "detail"):
        if column == "type" and type_codes is not None:
            vocabulary, indices = _vocabulary("events", "type"), type_codes
        else:
            encoded = pc.dictionary_encode(one_array(batch.column(column)))
            vocabulary, indices = encoded.dictionary, encoded.indices
        vocabularies.append(vocabulary)
        index = indices.fill_null(-1).to_numpy(zero_copy_only=False)
        codes.append(index.astype(np.int64) + 1)  # 0: missing; else 1 + dictionary position
    width = len(vocabularies[1]) + 1
    pair = codes[0] * width + codes[1]  # the pairs present, found without sorting the codes
    bad = np.zeros((len(vocabularies[0]) + 1) * width, dtype=bool)
    bad[pair] = True
    pairs = np.flatnonzero(bad)

    def values(vocabulary: pa.Array, code: np.ndarray) -> pd.Series:
        text = np.array([None, *vocabulary.to_pylist()], dtype=object)[code]
        return pd.Series(text, dtype="str")

    types = values(vocabularies[0], pairs // width).to_numpy(dtype=object)
    bad[pairs] = np.asarray(bad_details(types, values(vocabularies[1], pairs % width)), dtype=bool)
    return bad[pair]


def detail_check(source: TableSource, batch: pa.Table, bad: np.ndarray | None = None) -> None:
    """Each event's ``detail`` is allowed for its type (as in ``schema.validate_tables``);
    ``bad``: the batch's :func:`bad_detail`, when already found."""
    if (bad_detail(batch) if bad is None else bad).any():
        source.refuse(
            "detail",
            "allowed detail for the event type",
            lambda parsed, _stored: bad_detail(parsed),
            show=("type", "detail"),
        )


def birth_check(source: TableSource, batch: pa.Table, as_of: pd.Timestamp | None) -> None:
    """Birth months are not placeholders, nor more than ten months after the extract date."""
    latest = None
    if as_of is not None:
        latest = pd.Timestamp(as_of) + pd.DateOffset(months=MAX_PRENATAL_MONTHS)

    def bad(parsed: pa.Table, _stored: pa.Table) -> np.ndarray:
        births = parsed.column("birth_month").to_numpy(zero_copy_only=False)
        out = placeholder_dates(births)
        if latest is not None:
            out |= births > np.datetime64(latest.date(), "s")
        return np.asarray(out, dtype=bool)

    if bad(batch, batch).any():
        check = "not a placeholder (1900-01-01 or earlier, the year 9999)"
        if latest is not None:
            check += f" nor after {latest.date()} (ten months after --as-of)"
        source.refuse("birth_month", check, bad)


def check_households(source: TableSource, hh: pa.Table) -> None:
    def bad_la(parsed: pa.Table, _stored: pa.Table) -> np.ndarray:
        la = parsed.column("local_authority")
        return ~_mask(
            pc.match_substring_regex(la, column_rules("households", "local_authority")["pattern"])
        )

    def bad_decile(parsed: pa.Table, _stored: pa.Table) -> np.ndarray:
        dec = parsed.column("deprivation_decile")
        return _mask(pc.or_(pc.less(dec, 1), pc.greater(dec, 10)))

    if bad_la(hh, hh).any():
        source.refuse("local_authority", "LA code (LA and two or three digits)", bad_la)
    if bad_decile(hh, hh).any():
        source.refuse("deprivation_decile", "from 1 to 10, or unknown", bad_decile)


def count_referrals(
    batch: pa.Table,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    counts: dict[str, int],
) -> None:
    """Add a batch's referrals to ``counts``: all, in the window, before it and after it.

    Parameters
    ----------
    batch
        Events in the contract's columns and types, shape (rows, columns).
    window
        Inclusive ``(first, last)`` referral date (``None``: unbounded).
    counts
        Updated in place: ``referrals`` and ``referrals_{in,before,after}_window``.
    """
    refs = batch.filter(pc.equal(batch.column("type"), "referral"))
    counts["referrals"] += refs.num_rows
    count_in_window(refs, "date", window, counts, "referrals")


def count_in_window(
    rows: pa.Table,
    column: str,
    window: tuple[pd.Timestamp | None, pd.Timestamp | None],
    counts: dict[str, int],
    what: str,
) -> None:
    """Add ``rows`` to the counts of ``what`` in, before and after the window.

    Parameters
    ----------
    rows
        The rows to count, shape (rows, columns).
    column
        Their date column (``timestamp[s]``).
    window
        Inclusive ``(first, last)`` date (``None``: unbounded).
    counts
        Updated in place: ``{what}_in_window``, ``{what}_before_window``,
        ``{what}_after_window``.
    what
        ``referrals`` or ``decisions``.
    """

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
