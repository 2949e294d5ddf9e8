"""The table contract: each broken rule names the table, the column and the rows."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from secondlook.schema import TableError, _member, last_seed_decisions, validate_tables


@pytest.fixture
def tables(tiny_world) -> dict[str, pd.DataFrame]:
    return {k: v.copy() for k, v in tiny_world[1].items()}


WINDOW = (dt.date(2008, 1, 1), dt.date(2024, 12, 31))


def _fails(
    tables: dict[str, pd.DataFrame], table: str, column: str, rows: list[int] | None = None
) -> TableError:
    """Validation fails naming ``table`` and ``column`` (and exactly the broken ``rows``)."""
    with pytest.raises(TableError) as exc:
        validate_tables(tables, WINDOW)
    assert exc.value.table == table and exc.value.column == column, str(exc.value)
    assert f"table `{table}`, column `{column}`" in str(exc.value)
    if rows is not None:
        assert sorted(exc.value.rows.index) == sorted(rows), str(exc.value)
        assert f"{len(rows)} row(s) fail" in str(exc.value)
    return exc.value


def test_unknown_person_in_events(tables) -> None:
    tables["events"].loc[7, "person_id"] = "P9999999"
    err = _fails(tables, "events", "person_id")
    assert "P9999999" in str(err)


def test_duplicate_ids(tables) -> None:
    tables["households"].loc[1, "household_id"] = tables["households"].loc[0, "household_id"]
    _fails(tables, "households", "household_id", rows=[0, 1])


def test_unknown_event_type(tables) -> None:
    tables["events"].loc[3, "type"] = "visit"
    _fails(tables, "events", "type", rows=[3])


def test_detail_not_allowed_for_type(tables) -> None:
    i = tables["events"].index[tables["events"]["type"] == "referral"][0]
    tables["events"].loc[i, "detail"] = "fracture"
    _fails(tables, "events", "detail", rows=[i])


def test_event_outside_window(tables) -> None:
    tables["events"].loc[0, "date"] = pd.Timestamp("2030-01-01")
    _fails(tables, "events", "date", rows=[0])


def test_event_before_birth(tables) -> None:
    ev, people = tables["events"], tables["people"]
    kids = people.loc[people["role"] == "child"].set_index("person_id")["birth_month"]
    i = ev.index[(ev["type"] == "ed_attendance") & ev["person_id"].isin(kids.index)][0]
    ev.loc[i, "date"] = kids[ev.loc[i, "person_id"]] - pd.Timedelta(days=40)
    _fails(tables, "events", "date", rows=[i])


def test_wrong_type(tables) -> None:
    tables["households"]["deprivation_decile"] = tables["households"]["deprivation_decile"].astype(
        str
    )
    _fails(tables, "households", "deprivation_decile")


def test_decision_without_referral(tables) -> None:
    tables["decisions"].loc[0, "referral_event_id"] = "E-none"
    _fails(tables, "decisions", "referral_event_id", rows=[0])


def test_person_in_a_household_that_does_not_exist(tables) -> None:
    tables["people"].loc[2, "household_id"] = "H-none"
    _fails(tables, "people", "household_id", rows=[2])


def test_event_about_a_related_person_that_does_not_exist(tables) -> None:
    ev = tables["events"]
    i = ev.index[ev["related_person_id"].notna()][0]
    ev.loc[i, "related_person_id"] = "P-none"
    _fails(tables, "events", "related_person_id", rows=[i])


def test_truth_for_a_decision_that_does_not_exist(tables) -> None:
    tables["truth"].loc[4, "decision_id"] = "D-none"
    _fails(tables, "truth", "decision_id", rows=[4])


def test_membership_is_pandas_isin_with_missing_values_never_members() -> None:
    # the identifier checks hash the allowed set in Arrow (pandas' isin on Arrow strings was
    # 11 s of a default-size world); the answer must be pandas' own
    values = pd.Series(["a", "b", None, "c", "a"], dtype="str")
    allowed = pd.Index(["a", "c", "z"], dtype="str")
    got = _member(values, allowed)
    assert got.dtype == bool and got.tolist() == [True, False, False, True, True]
    assert (got == (values.isin(allowed) & values.notna()).to_numpy()).all()
    assert _member(values, pd.Series(["b", None], dtype="str")).tolist() == [
        False, True, False, False, False,
    ]  # fmt: skip
    assert _member(pd.Series([1, 2, 3]), pd.Series([3, 1])).tolist() == [True, False, True]
    assert _member(pd.Series(["a", 1], dtype=object), pd.Series(["a"])).tolist() == [True, False]
    assert _member(pd.Series([], dtype="str"), pd.Series(["a"], dtype="str")).tolist() == []


def test_last_seed_decision_of_each_named_case() -> None:
    ids = ["sarah-D09", "x-1", "john-D02", "sarah-D10", "sarah-D01", "john-D05", "johnny-D07"]
    # by number (D10 after D09), in the order of synth.vignettes, other ids and cases ignored
    assert last_seed_decisions(ids, ("john", "sarah")) == ("john-D05", "sarah-D10")
    assert last_seed_decisions(ids, ("amir", "sarah")) == ("sarah-D10",)
    assert last_seed_decisions(ids, ()) == ()
