"""Partitioning a cohort: the bounded uniqueness check, the id hash, the detail rule and the
cross-table rules, each against a plain oracle."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from secondlook.schema import (
    ADULT_EVENTS,
    MAX_PRENATAL_MONTHS,
    PRENATAL_EVENTS,
    TableError,
)
from secondlook.score import chunks as chunks_mod
from secondlook.score import run_score
from secondlook.score import spill as spill_mod
from secondlook.score.lookup import string_hash as _string_hash
from secondlook.score.validate import check_chunk

from .conftest import score_params, write_cohort

Tables = dict[str, pd.DataFrame]


def _quiet(_: str) -> None:
    pass


@pytest.mark.parametrize("second", [False, True])
def test_string_hash_depends_only_on_the_text(second: bool) -> None:
    rng = np.random.default_rng(7)
    letters = np.array(list("aZ09-_é"))
    texts = ["".join(rng.choice(letters, rng.integers(0, 12))) for _ in range(200_000)]
    texts[3] = None  # type: ignore[call-overload]
    texts[-1] = ""
    arr = pa.array(texts)
    h = _string_hash(arr, second=second)
    seen: dict[str, int] = {}
    for text, value in zip(texts, h.tolist(), strict=True):
        assert seen.setdefault(text or "", value) == value  # equal text, equal hash
    for a, b in ((1, 70_000), (65_535, 200_000), (199_990, 200_000)):  # slices and offsets
        np.testing.assert_array_equal(_string_hash(arr.slice(a, b - a), second=second), h[a:b])
    np.testing.assert_array_equal(_string_hash(arr.cast(pa.large_string()), second=second), h)
    assert len(set(h.tolist())) == len(seen)  # no collision among these few distinct texts


def _oracle_duplicates(values: pd.Series) -> list[str]:
    counts = values.value_counts(sort=False)  # in order of first appearance
    return counts[counts > 1].index.tolist()[:5]


@pytest.mark.parametrize("buckets", [1, 7])
@pytest.mark.parametrize(("table", "column"), [("events", "event_id"), ("people", "person_id")])
def test_duplicates_across_batches_and_chunks_are_refused(
    cohort_tables: Tables,
    model_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    buckets: int,
    table: str,
    column: str,
) -> None:
    monkeypatch.setattr(chunks_mod, "_n_buckets", lambda *_a, **_k: buckets)
    t = {k: v.copy() for k, v in cohort_tables.items()}
    df = t[table]
    n = len(df)
    # far apart (different batches of 500 rows, different households, so different chunks)
    for a, b in ((n - 1, 0), (n // 2, 5), (n - 7, 5), (10, n // 3)):
        df.loc[a, column] = df.loc[b, column]
    expected = _oracle_duplicates(df[column])
    folder = write_cohort(t, tmp_path / "c")
    out = tmp_path / "out" / "s.parquet"
    with pytest.raises(TableError) as info:
        run_score(folder, str(model_dir), out, score_params(batch_rows=500), log=_quiet)
    assert info.value.table == table and info.value.column == column
    assert "field_uniqueness" in str(info.value)
    dup_rows = np.flatnonzero(df[column].isin(expected).to_numpy())
    assert info.value.total == len(dup_rows) == sum(int((df[column] == v).sum()) for v in expected)
    assert info.value.rows.index.tolist() == [f"row {i + 1}" for i in dup_rows[:5]]
    assert info.value.rows[column].tolist() == df[column].iloc[dup_rows[:5]].tolist()
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_ids_that_only_share_a_hash_are_not_refused(
    cohort_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    run_score(cohort_dir, str(model_dir), a, score_params(), log=_quiet)
    real = spill_mod.string_hash
    monkeypatch.setattr(spill_mod, "string_hash", lambda v: real(v) % np.uint64(97))
    run_score(cohort_dir, str(model_dir), b, score_params(), log=_quiet)
    assert a.read_bytes() == b.read_bytes()


def test_a_duplicate_is_found_even_among_colliding_hashes(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = spill_mod.string_hash
    monkeypatch.setattr(spill_mod, "string_hash", lambda v: real(v) % np.uint64(97))
    t = {k: v.copy() for k, v in cohort_tables.items()}
    t["events"].loc[100, "event_id"] = t["events"].loc[3000, "event_id"]
    folder = write_cohort(t, tmp_path / "c")
    with pytest.raises(TableError, match="field_uniqueness") as info:
        run_score(folder, str(model_dir), tmp_path / "s.parquet", score_params(), log=_quiet)
    assert info.value.rows["event_id"].tolist() == [t["events"].loc[3000, "event_id"]] * 2
    assert info.value.rows.index.tolist() == ["row 101", "row 3001"]


def _oracle_check_chunk(
    households: pd.DataFrame, people: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """The cross-table rules written with pandas lookups (the first implementation)."""
    person = people.set_index("person_id")
    known_hh = events["household_id"].isin(households["household_id"]).to_numpy()
    known_person = events["person_id"].isin(person.index).to_numpy()
    home = events["person_id"].map(person["household_id"])
    same_hh = (home == events["household_id"]).fillna(False).to_numpy(dtype=bool)
    rel = events["related_person_id"]
    rel_home = rel.map(person["household_id"])
    rel_ok = rel.isna().to_numpy() | (rel_home == events["household_id"]).fillna(False).to_numpy(
        dtype=bool
    )
    role = events["person_id"].map(person["role"])
    is_child = (role == "child").fillna(False).to_numpy(dtype=bool)
    is_adult_event = events["type"].isin(ADULT_EVENTS).to_numpy()
    role_ok = ~known_person | (is_adult_event != is_child)
    dates = events["date"]
    birth = events["person_id"].map(person["birth_month"])
    before = (dates < birth).fillna(False).to_numpy(dtype=bool)
    prenatal = events["type"].isin(PRENATAL_EVENTS).to_numpy() & is_child
    earliest = birth - pd.DateOffset(months=MAX_PRENATAL_MONTHS)
    too_early = (dates < earliest).fillna(False).to_numpy(dtype=bool)
    birth_ok = ~((before & ~prenatal) | (prenatal & too_early))
    is_ref = (events["type"] == "referral").to_numpy()
    reason = np.full(len(events), None, dtype=object)
    for code, ok in (
        ("before_birth", birth_ok),
        ("unknown_related_person", rel_ok),
        ("subject_not_a_child", role_ok),
        ("person_in_other_household", same_hh | ~known_person),
        ("unknown_person", known_person),
        ("unknown_household", known_hh),
    ):
        reason = np.where(~ok, code, reason)
    rejected_mask = is_ref & (reason != None)  # noqa: E711 - elementwise on an object array
    rejected = pd.Series(
        reason[rejected_mask].astype(str),
        index=pd.Index(events["event_id"].to_numpy()[rejected_mask], name="event_id"),
        dtype="str",
        name="rejection_reason",
    )
    return events[~rejected_mask].reset_index(drop=True), rejected


def test_cross_table_rules_match_the_pandas_oracle(cohort_tables: Tables) -> None:
    hh, people = cohort_tables["households"], cohort_tables["people"]
    ev = cohort_tables["events"].copy()
    refs = ev.index[ev["type"] == "referral"].tolist()
    adults = people.loc[people["role"] != "child", "person_id"].tolist()
    other_hh = people.set_index("person_id")["household_id"]
    ev.loc[refs[0], "household_id"] = "H-NOWHERE"
    ev.loc[refs[1], "person_id"] = "P-NOBODY"
    ev.loc[refs[2], "person_id"] = adults[0]  # an adult, and (likely) of another household
    ev.loc[refs[3], "related_person_id"] = "P-NOBODY"
    ev.loc[refs[4], "date"] = pd.Timestamp("1995-06-01")
    ev.loc[refs[5], "household_id"] = other_hh[ev.loc[refs[9], "person_id"]]
    ev.loc[refs[6], "date"] = pd.Timestamp("1995-06-01")
    ev.loc[refs[6], "person_id"] = "P-NOBODY"  # two rules broken: the basic one names it
    got_events, got_rejected = check_chunk(hh, people, ev)
    want_events, want_rejected = _oracle_check_chunk(hh, people, ev)
    pd.testing.assert_series_equal(got_rejected, want_rejected)
    pd.testing.assert_frame_equal(got_events, want_events)
    assert len(got_rejected) >= 6
    assert set(got_rejected) >= {
        "unknown_household",
        "unknown_person",
        "unknown_related_person",
        "before_birth",
    }


def test_a_broken_history_event_refuses_the_chunk(cohort_tables: Tables) -> None:
    hh, people = cohort_tables["households"], cohort_tables["people"]
    ev = cohort_tables["events"].copy()
    row = ev.index[ev["type"] == "ed_attendance"][0]
    ev.loc[row, "person_id"] = "P-NOBODY"
    with pytest.raises(TableError, match="refers to a person that exists") as info:
        check_chunk(hh, people, ev)
    assert info.value.rows.index.tolist() == [row]


def test_future_and_placeholder_dates_reject_referrals_and_refuse_history(
    cohort_tables: Tables,
) -> None:
    hh, people = cohort_tables["households"], cohort_tables["people"]
    ev = cohort_tables["events"].copy()
    refs = ev.index[ev["type"] == "referral"].tolist()
    as_of = ev["date"].max()
    ev.loc[refs[0], "date"] = as_of + pd.Timedelta(days=1)
    ev.loc[refs[1], "date"] = pd.Timestamp("1900-01-01")
    ev.loc[refs[2], "date"] = pd.Timestamp("9999-12-31")
    history, rejected = check_chunk(hh, people, ev, as_of)
    ids = ev.loc[refs[:3], "event_id"].tolist()
    assert rejected.to_dict() == {
        ids[0]: "future_date",
        ids[1]: "placeholder_date",
        ids[2]: "placeholder_date",
    }
    assert len(history) == len(ev) - 3
    # without an extract date, only placeholders are refused
    assert set(check_chunk(hh, people, ev)[1]) == {"placeholder_date"}
    other = ev.index[ev["type"] == "school_concern"][0]
    for value, words in (("2101-01-01", "after the extract date"), ("1900-01-01", "placeholder")):
        broken = cohort_tables["events"].copy()
        broken.loc[other, "date"] = pd.Timestamp(value)
        with pytest.raises(TableError, match=words) as info:
            check_chunk(hh, people, broken, as_of)
        assert info.value.column == "date" and info.value.rows.index.tolist() == [other]
