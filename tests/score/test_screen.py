"""Identifier screening: what looks like a direct identifier, and what does not."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secondlook.score.screen import (
    _ANY,
    ScreenFindings,
    could_hold_identifiers,
    identifier_column_kind,
    identifier_values,
    locate_findings,
    nhs_check_digit_ok,
    screen_values,
)


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("9434765919", True), ("9434765918", False), ("4010232137", True), ("1234567890", False)],
)
def test_nhs_check_digit(digits: str, ok: bool) -> None:
    assert nhs_check_digit_ok(digits) is ok


@pytest.mark.parametrize(
    ("column", "kind"),
    [
        ("First Name", "a name"),
        ("surname", "a name"),
        ("post_code", "a postcode"),
        ("EMAIL", "an e-mail address"),
        ("date_of_birth", "a date of birth"),
        ("nhs_number", "a health-service number"),
        ("home_phone", "a phone number"),
        ("person_id", None),
        ("deprivation_decile", None),
        ("related_person_id", None),
    ],
)
def test_column_names(column: str, kind: str | None) -> None:
    assert identifier_column_kind(column) == kind


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("jane.doe@example.org", "e-mail addresses"),
        ("SW1A 1AA", "postcodes"),
        ("M1 1AE", "postcodes"),
        ("07700 900123", "phone numbers"),
        ("+44 20 7946 0958", "phone numbers"),
        ("12 Acacia Avenue", "addresses"),
        ("Jane Doe", "names"),
        ("Mrs Smith", "names"),
        ("943 476 5919", "health-service numbers with a valid check digit"),
    ],
)
def test_identifier_values_are_found(value: str, kind: str) -> None:
    found = ScreenFindings()
    screen_values("t", "c", pa.array(["H000001", value]), found)
    assert kind in found.found[("t", "c")]


def test_opaque_ids_and_vocabulary_pass() -> None:
    found = ScreenFindings()
    values = [
        "H000001",
        "P0001234",
        "E00000001",
        "LA01",
        "White",
        "physical_injury",
        "health_visitor",
        "9434765918",
        None,
    ]
    screen_values("t", "c", pa.array(values), found)
    assert not found


_ALPHABET = "0123456789 -@.+'\nAaBbEeHhMmPpRrSsZz_"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(alphabet=_ALPHABET, max_size=14),
            st.sampled_from(["SW1A 1AA", "M11AE", "07700900123", "+441234567890", "Mr Smith"]),
        ),
        max_size=6,
    )
)
def test_the_joined_search_never_misses_a_value_that_matches(values: list[str]) -> None:
    # the cheap whole-column search is a necessary condition for any per-value match
    per_value = pc.match_substring_regex(pa.array(values, pa.string()), _ANY)
    if pc.any(per_value).as_py():
        assert could_hold_identifiers(pa.array(values, pa.string()))


@pytest.mark.parametrize("value", ["07700900123", "SW1A1AA", "Jane Doe", "a@b.co", "9434765919"])
def test_the_joined_search_finds_a_value_at_either_end_of_a_column(value: str) -> None:
    ids = [f"P{i:07d}-c{i % 7}" for i in range(1000)]
    assert not could_hold_identifiers(pa.chunked_array([ids[:500], ids[500:]]))
    for column in ([value, *ids], [*ids, value], [*ids[:500], value, *ids[500:]]):
        assert could_hold_identifiers(pa.chunked_array([column], pa.large_string()))
    # a column of several chunks is searched chunk by chunk: the value in any of them
    for chunks in ([ids[:500], [value], ids[500:]], [[], ids, [value]], [[value], [], ids]):
        assert could_hold_identifiers(pa.chunked_array(chunks, pa.string()))


def test_identifier_values_marks_exactly_what_the_screen_counts() -> None:
    """Each planted identifier-like value is marked, in place; opaque ids, vocabulary words, a
    ten-digit number with an invalid check digit and nulls are not."""
    values = ["H000001", "SW1A 1AA", None, "9434765918", "943 476 5919", "White", "Mrs Smith"]
    values += ["call 07700 900123", "physical_injury", "jo@example.org"]
    marked = identifier_values(pa.array(values))
    assert marked.tolist() == [False, True, False, False, True, False, True, True, False, True]
    for i, v in enumerate(values):  # the screen agrees, value by value
        found = ScreenFindings()
        screen_values("t", "c", pa.array([v], pa.string()), found)
        assert bool(found) == marked[i], v
    months = pa.array([dt.datetime(2020, 5, 1), dt.datetime(2020, 5, 17), None], pa.timestamp("s"))
    assert identifier_values(months).tolist() == [False, True, False]


def test_the_refusal_names_each_file_and_the_first_rows_by_line(
    cohort_tables: dict[str, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A CSV's rows are named by line (the header is line 1); values are never shown; a table
    with several such columns is read once more, not once a column."""
    from secondlook.score.io import TableSource, open_cohort

    from .conftest import write_cohort

    tables = {k: v.copy() for k, v in cohort_tables.items()}
    people = tables["people"]
    planted = [3, 10, 11, 12, 13, 14]  # data rows, 0-based: six rows, five named
    for i in planted:
        people.loc[i, "person_id"] = f"someone{i}@example.org"
    people.loc[20, "household_id"] = "SW1A 1AA"
    folder = write_cohort(tables, tmp_path / "cohort2", fmt="csv")
    found = ScreenFindings()
    found.add("people", "person_id", "e-mail addresses", 6)
    found.add("people", "household_id", "postcodes", 1)
    found.add("people", "forename", "the column name suggests a name", 0)
    reads = []
    stream = TableSource._stream
    monkeypatch.setattr(
        TableSource, "_stream", lambda self, rows: reads.append(self.name) or stream(self, rows)
    )
    locate_findings(found, open_cohort(folder))
    assert reads == ["people"]
    lines = ", ".join(f"line {i + 2}" for i in planted[:5])
    where = f"in 6 row(s) of {folder / 'people.csv'} ({lines}, ...)"
    assert found.where == {
        ("people", "person_id"): where,
        ("people", "household_id"): f"in 1 row(s) of {folder / 'people.csv'} (line 22)",
    }
    message = found.message()
    assert f"`people.person_id`: 6 value(s) that look like e-mail addresses, {where}" in message
    assert "example.org" not in message
