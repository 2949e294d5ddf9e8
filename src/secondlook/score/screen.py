"""Identifier screening: refuse a cohort that looks like it holds direct identifiers.

A scoring cohort must be anonymised: opaque identifiers, birth dates kept to the month. This
module looks for what should not be there -- by column name and by value -- and reports every
offending column at once, so a data owner fixes the extract in one go:

- names (two or more capitalised words, or a title such as ``Mrs``), addresses (a number and a
  street word), UK-style postcodes, e-mail addresses, UK-style phone numbers;
- 10-digit health-service-style numbers whose mod-11 check digit is valid (as NHS numbers are);
- exact dates of birth (a birth date that is not the first of a month).

The values themselves are never echoed into a message or a log: only the column, the kind of
identifier and how many values matched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from secondlook.score.arrays import one_array
from secondlook.score.errors import IdentifierError

if TYPE_CHECKING:
    from secondlook.score.io import TableSource

__all__ = [
    "ScreenFindings",
    "could_hold_identifiers",
    "identifier_column_kind",
    "identifier_values",
    "locate_findings",
    "nhs_check_digit_ok",
    "screen_birth_months",
    "screen_values",
]

#: column-name fragments (lower case, ``_``-separated words) that name a direct identifier
_NAME_WORDS: dict[str, str] = {
    "name": "a name",
    "forename": "a name",
    "forenames": "a name",
    "surname": "a name",
    "firstname": "a name",
    "lastname": "a name",
    "fullname": "a name",
    "address": "an address",
    "street": "an address",
    "addr": "an address",
    "postcode": "a postcode",
    "zip": "a postcode",
    "zipcode": "a postcode",
    "nhs": "a health-service number",
    "chi": "a health-service number",
    "email": "an e-mail address",
    "mail": "an e-mail address",
    "phone": "a phone number",
    "telephone": "a phone number",
    "mobile": "a phone number",
    "tel": "a phone number",
    "dob": "a date of birth",
    "birthdate": "a date of birth",
    "ni": "a national insurance number",
    "nino": "a national insurance number",
    "upn": "a pupil number",
}
#: multi-word column names (words joined with ``_``) that name a direct identifier
_NAME_PHRASES: dict[str, str] = {
    "first_name": "a name",
    "last_name": "a name",
    "given_name": "a name",
    "family_name": "a name",
    "full_name": "a name",
    "post_code": "a postcode",
    "e_mail": "an e-mail address",
    "date_of_birth": "a date of birth",
    "birth_date": "a date of birth",
    "nhs_number": "a health-service number",
    "phone_number": "a phone number",
}

#: value patterns (RE2 syntax, searched anywhere in a value) and the identifier each suggests
VALUE_PATTERNS: dict[str, str] = {
    "e-mail addresses": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}",
    "postcodes": r"(?i)\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b",
    "phone numbers": r"(?:^|[^0-9])(?:\+44 ?|0)[1-9][0-9]{1,3}[ -]?[0-9]{3,4}[ -]?[0-9]{3,4}(?:$|[^0-9])",
    "addresses": (
        r"(?i)\b[0-9]+[A-Z]? [A-Z][A-Za-z]* (?:[A-Za-z]+ )?(?:street|st|road|rd|avenue|ave|lane|"
        r"close|drive|way|court|crescent|gardens|place|terrace|grove|hill|square)\b"
    ),
    "names": r"\b(?:(?:Mr|Mrs|Ms|Miss|Dr)\.? [A-Z][a-z]+|[A-Z][a-z]+(?: [A-Z]'?[A-Z]?[a-z]+)+)\b",
}
#: candidate health-service numbers: 10 digits, optionally spaced 3-3-4
_NHS_RE = r"(?:^|[^0-9])[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}(?:$|[^0-9])"
_NHS_PY = re.compile(r"(?<![0-9])([0-9]{3})[ -]?([0-9]{3})[ -]?([0-9]{4})(?![0-9])")
_ANY = "|".join(f"(?:{p})" for p in (*VALUE_PATTERNS.values(), _NHS_RE))


def identifier_column_kind(column: str) -> str | None:
    """What direct identifier a column's name suggests, or ``None``.

    Parameters
    ----------
    column
        A column name; case, spaces and hyphens are ignored (``"First Name"`` is ``first_name``).

    Returns
    -------
    str or None
        E.g. ``"a name"``, ``"a postcode"``.
    """
    norm = re.sub(r"[^a-z0-9]+", "_", column.lower()).strip("_")
    for phrase, kind in _NAME_PHRASES.items():
        if phrase in norm:
            return kind
    for word in norm.split("_"):
        if word in _NAME_WORDS:
            return _NAME_WORDS[word]
    return None


def nhs_check_digit_ok(digits: str) -> bool:
    """Whether a 10-digit string has a valid NHS-style modulus-11 check digit.

    The first nine digits are weighted 10 down to 2; ``11 - (sum mod 11)`` is the check digit
    (11 means 0; 10 means the number is invalid).

    Parameters
    ----------
    digits
        Exactly ten ASCII digits.

    Returns
    -------
    bool
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


@dataclass
class ScreenFindings:
    """What the screening found, per ``(table, column)``: identifier kind -> values matched."""

    found: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    #: ``(table, column)`` -> where its values are (:func:`locate_findings`), for the message
    where: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, table: str, column: str, kind: str, count: int = 1) -> None:
        """Record ``count`` matches of ``kind`` in ``table.column``."""
        kinds = self.found.setdefault((table, column), {})
        kinds[kind] = kinds.get(kind, 0) + count

    def __bool__(self) -> bool:
        return bool(self.found)

    def message(self) -> str:
        """One message naming each offending column (values are never shown)."""
        lines = []
        for (table, column), kinds in sorted(self.found.items()):
            what = "; ".join(
                kind if count == 0 else f"{count} value(s) that look like {kind}"
                for kind, count in sorted(kinds.items())
            )
            at = self.where.get((table, column))
            lines.append(f"  - `{table}.{column}`: {what}" + (f", {at}" if at else ""))
        return (
            f"the cohort looks like it holds direct identifiers in {len(self.found)} column(s); "
            "a scoring cohort must be anonymised (opaque ids, birth dates to the month), so "
            "nothing was scored or written:\n" + "\n".join(lines)
        )

    def raise_if_any(self) -> None:
        """Raise :class:`IdentifierError` naming every offending column, if any was found."""
        if self:
            raise IdentifierError(self.message())


def screen_columns(tables: Mapping[str, Iterable[str]], findings: ScreenFindings) -> None:
    """Record every column whose name suggests a direct identifier.

    Parameters
    ----------
    tables
        Table name -> its column names.
    findings
        Updated in place.
    """
    for table, columns in tables.items():
        for column in columns:
            kind = identifier_column_kind(column)
            if kind is not None:
                findings.add(table, column, f"the column name suggests {kind}", 0)


def _nhs_numbers(values: list[str]) -> int:
    hits = 0
    for v in values:
        if any(nhs_check_digit_ok("".join(m.groups())) for m in _NHS_PY.finditer(v)):
            hits += 1
    return hits


def could_hold_identifiers(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether any value could match the identifier patterns: one search of all the values.

    The values are joined with newlines into one string and the combined pattern searched
    once, which RE2 does about twice as fast as matching each of millions of short values.
    It is a necessary condition: a value that matches matches inside the joined string too
    (a newline is neither a digit nor a word character, so the patterns' ``^``, ``$`` and
    ``\\b`` hold at its ends); a match across values can only make the answer a false
    ``True``, after which every value is searched on its own.

    A column of several chunks is searched a chunk at a time (its values never joined into
    one array: at ten million referrals the households' ids are 50 chunks and 200 MB).

    Parameters
    ----------
    values
        A string array without nulls.

    Returns
    -------
    bool
        ``False`` when no value can match; ``True`` when each value must be searched.
    """
    if isinstance(values, pa.ChunkedArray) and values.num_chunks > 1:
        return any(could_hold_identifiers(chunk) for chunk in values.chunks if len(chunk))
    values = one_array(values).cast(pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values)
    joined = pc.binary_join(lists, pa.scalar("\n", pa.large_string()))
    return bool(pc.match_substring_regex(joined, _ANY)[0].as_py())


def screen_values(
    table: str, column: str, values: pa.Array | pa.ChunkedArray, findings: ScreenFindings
) -> None:
    """Record the identifier-like values of one string column.

    The column is searched with one combined RE2 pattern, first once over the joined column
    (:func:`could_hold_identifiers`), then value by value when that search matches (cheaper
    than hashing a column of unique ids to deduplicate it first); only the rare hits are deduplicated and classified one
    pattern at a time, so each count is of distinct values.

    Parameters
    ----------
    table, column
        Where the values come from (for the message).
    values
        A string array.
    findings
        Updated in place.
    """
    values = values.drop_null()
    if len(values) == 0 or not could_hold_identifiers(values):
        return
    hit = pc.match_substring_regex(values, _ANY)
    if not pc.any(hit).as_py():
        return
    candidates = one_array(pc.unique(pc.filter(values, hit)))
    for kind, pattern in VALUE_PATTERNS.items():
        n = pc.sum(pc.match_substring_regex(candidates, pattern)).as_py() or 0
        if n:
            findings.add(table, column, kind, int(n))
    nhs = _nhs_numbers([str(v) for v in candidates.to_pylist()])
    if nhs:
        findings.add(table, column, "health-service numbers with a valid check digit", nhs)


def screen_birth_months(
    table: str, column: str, days_of_month: np.ndarray, findings: ScreenFindings
) -> None:
    """Record birth dates that are exact days rather than months.

    Parameters
    ----------
    table, column
        Where the dates come from.
    days_of_month
        Day of the month of each non-missing birth date.
    findings
        Updated in place.
    """
    exact = int(np.count_nonzero(days_of_month != 1))
    if exact:
        findings.add(table, column, "exact dates of birth (not the first of a month)", exact)


def identifier_values(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Which values :func:`screen_values` counts as identifier-like: shape (n,) bool.

    A value matches one of :data:`VALUE_PATTERNS`, or holds a 10-digit number with a valid
    health-service check digit; a birth date (a timestamp column) is identifier-like when it is
    not the first of a month (:func:`screen_birth_months`). Missing values are not.
    """
    values = one_array(values)
    if pa.types.is_timestamp(values.type):
        return pc.not_equal(pc.day(values), 1).fill_null(False).to_numpy(zero_copy_only=False)
    hit = pc.match_substring_regex(values, _ANY).fill_null(False).to_numpy(zero_copy_only=False)
    at = np.flatnonzero(hit)
    candidates = values.take(pa.array(at))
    ok = np.array([_nhs_numbers([str(v)]) > 0 for v in candidates.to_pylist()], dtype=bool)
    for pattern in VALUE_PATTERNS.values():
        found = pc.match_substring_regex(candidates, pattern).fill_null(False)
        ok |= found.to_numpy(zero_copy_only=False)
    out = np.zeros(len(values), dtype=bool)
    out[at] = ok
    return out


def locate_findings(findings: ScreenFindings, sources: Mapping[str, TableSource]) -> None:
    """Say where each column's identifier-like values are: its file, and the rows.

    Only on the way to a refusal: every table with such values is read once more, so that the
    data owner can find them (``row N`` of a parquet file, ``line N`` of a CSV; how many rows,
    and the first five). A column named like an identifier has no rows to name. The values are
    never shown.

    Parameters
    ----------
    findings
        The screening's findings; :attr:`ScreenFindings.where` is filled in place.
    sources
        Table name -> its :class:`~secondlook.score.io.TableSource`.
    """
    columns: dict[str, list[str]] = {}
    for (table, column), kinds in sorted(findings.found.items()):
        source = sources.get(table)
        if source is not None and column in source.kinds and any(kinds.values()):
            columns.setdefault(table, []).append(column)
    for table, names in columns.items():  # one more read of each table
        source = sources[table]
        checks = {c: _identifier_check(c) for c in names}
        for column, (total, first, _) in source.failing_rows(checks).items():
            if total:
                rows = ", ".join(source.locations(first)) + (", ..." if total > len(first) else "")
                findings.where[(table, column)] = f"in {total} row(s) of {source.path} ({rows})"


def _identifier_check(column: str) -> Callable[[pa.Table, pa.Table], np.ndarray]:
    def bad(parsed: pa.Table, _stored: pa.Table) -> np.ndarray:
        return identifier_values(parsed.column(column))

    return bad
