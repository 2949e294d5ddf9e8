"""secondlook.score.io: cohorts as analysts export them: the same records, written the ways
spreadsheets and databases write them, score exactly as the canonical parquet cohort does."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from secondlook.score import run_score
from secondlook.score.io import open_cohort

from .conftest import score_params, write_cohort

Tables = dict[str, pd.DataFrame]
AS_OF = dt.date(2030, 1, 1)


def _quiet(_: str) -> None:
    pass


def _numeric_ids(tables: Tables) -> Tables:
    """Ids that look like numbers, with leading zeros that a number would lose."""
    t = {k: v.copy() for k, v in tables.items()}
    hh = {h: f"{i:06d}" for i, h in enumerate(t["households"]["household_id"])}
    pp = {p: f"0{i:07d}" for i, p in enumerate(t["people"]["person_id"])}
    t["households"]["household_id"] = t["households"]["household_id"].map(hh)
    t["people"]["household_id"] = t["people"]["household_id"].map(hh)
    t["people"]["person_id"] = t["people"]["person_id"].map(pp)
    ev = t["events"]
    ev["household_id"] = ev["household_id"].map(hh)
    ev["person_id"] = ev["person_id"].map(pp)
    ev["related_person_id"] = ev["related_person_id"].map(pp)
    return t


def _unknowns(tables: Tables) -> Tables:
    """Some people of unknown sex and ethnicity, some households of unknown deprivation."""
    t = {k: v.copy() for k, v in tables.items()}
    t["people"].loc[::7, "sex"] = "unknown"
    t["people"].loc[::5, "ethnicity"] = "unknown"
    hh = t["households"].astype({"deprivation_decile": "Int64"})
    hh.loc[::4, "deprivation_decile"] = pd.NA
    t["households"] = hh
    return t


def _excel_csv(tables: Tables, folder: Path, sep: str = ";") -> Path:
    """As Excel's "CSV UTF-8" in a UK locale: BOM, `;`, CRLF, quoted text, dd/mm/yyyy dates,
    `unknown` written out; and event dates as London timestamps with their offset."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in tables.items():
        out = df.copy()
        for column in out.columns:
            if pd.api.types.is_datetime64_any_dtype(out[column]):
                if name == "events":  # local midnight, written in UTC with its offset
                    local = out[column].dt.tz_localize("Europe/London")
                    out[column] = local.dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                else:
                    out[column] = out[column].dt.strftime("%d/%m/%Y")
        if "deprivation_decile" in out.columns:
            out["deprivation_decile"] = (
                out["deprivation_decile"]
                .astype(object)
                .where(out["deprivation_decile"].notna(), "unknown")
            )
        text = out.to_csv(index=False, sep=sep, lineterminator="\r\n", quoting=1)  # QUOTE_ALL
        (folder / f"{name}.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    return folder


@pytest.fixture
def analyst_tables(cohort_tables: Tables) -> Tables:
    return _unknowns(_numeric_ids(cohort_tables))


def _scores(folder: Path, model: Path, out: Path) -> pd.DataFrame:
    run_score(folder, str(model), out, score_params(), as_of=AS_OF, log=_quiet)
    return pd.read_parquet(out)


@pytest.mark.parametrize("sep", [";", ","])
def test_an_excel_export_scores_as_the_parquet_cohort(
    analyst_tables: Tables, model_dir: Path, tmp_path: Path, sep: str
) -> None:
    want = _scores(write_cohort(analyst_tables, tmp_path / "pq"), model_dir, tmp_path / "a.parquet")
    folder = _excel_csv(analyst_tables, tmp_path / "xl", sep=sep)
    assert (folder / "events.csv").read_bytes().startswith(b'\xef\xbb\xbf"event_id"')
    got = _scores(folder, model_dir, tmp_path / "b.parquet")
    assert len(want) > 50 and (want["status"] == "scored").all()
    assert got["household_id"].str.fullmatch(r"0\d{5}").all()  # ids stay text, zeros kept
    pd.testing.assert_frame_equal(got, want)


def test_a_tz_aware_parquet_column_is_read_as_the_london_date(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    """2023-07-01 00:00 in London is 2023-06-30 23:00 UTC: the date is the 1st, not the 30th."""
    folder = write_cohort(cohort_tables, tmp_path / "c")
    table = pq.read_table(folder / "events.parquet")
    local = table.column("date").to_pandas().dt.tz_localize("Europe/London").dt.tz_convert("UTC")
    i = table.schema.get_field_index("date")
    table = table.set_column(i, "date", pa.array(local, type=pa.timestamp("us", tz="UTC")))
    pq.write_table(table, folder / "events.parquet")
    summer = local[local.dt.month == 7].index[0]
    assert local[summer].hour == 23  # the stored instant is the day before, in UTC
    read = pa.concat_tables(open_cohort(folder)["events"].batches()).column("date").to_pandas()
    pd.testing.assert_series_equal(
        read, cohort_tables["events"]["date"].astype("datetime64[s]"), check_names=False
    )


def test_the_separator_is_found_or_stated(cohort_tables: Tables, tmp_path: Path) -> None:
    folder = _excel_csv(cohort_tables, tmp_path / "c", sep="\t")
    assert open_cohort(folder)["people"].delimiter == "\t"
    assert open_cohort(folder, delimiter="\t")["events"].columns[:2] == ["event_id", "household_id"]


def test_unknown_deprivation_rejects_referrals_of_a_model_that_reads_it(
    analyst_tables: Tables, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_cohort(analyst_tables, tmp_path / "c")
    base = _scores(folder, model_dir, tmp_path / "a.parquet")
    assert (base["status"] == "scored").all()  # the logreg reads no decile: unknown is fine
    from secondlook.score import engine

    real = engine._unknown_deciles

    def as_if_read(
        hh: pd.DataFrame, history: pd.DataFrame, rejected: pd.Series, inputs: list[str]
    ) -> tuple[pd.DataFrame, pd.Series]:
        # as if the model read the decile (a study with features.include_deprivation)
        return real(hh, history, rejected, [*inputs, "deprivation_decile"])

    monkeypatch.setattr(engine, "_unknown_deciles", as_if_read)
    got = _scores(folder, model_dir, tmp_path / "b.parquet")
    unknown = set(
        analyst_tables["households"].loc[
            analyst_tables["households"]["deprivation_decile"].isna(), "household_id"
        ]
    )
    rejected = got["status"] == "rejected"
    assert rejected.any()
    assert set(got.loc[rejected, "household_id"]) <= unknown
    assert (got.loc[rejected, "rejection_reason"] == "unknown_deprivation").all()
    assert (got.loc[~got["household_id"].isin(unknown), "status"] == "scored").all()
    assert got.loc[got["household_id"].isin(unknown), "status"].eq("rejected").all()


def test_future_and_placeholder_referrals_are_rejected_one_by_one(
    cohort_tables: Tables, model_dir: Path, tmp_path: Path
) -> None:
    t = {k: v.copy() for k, v in cohort_tables.items()}
    ev = t["events"]
    refs = ev.index[ev["type"] == "referral"]
    last = ev["date"].max()
    ev.loc[refs[-1], "date"] = pd.Timestamp("2101-05-01")
    ev.loc[refs[-2], "date"] = pd.Timestamp("9999-12-31")
    folder = write_cohort(t, tmp_path / "c", fmt="csv")
    out = tmp_path / "s.parquet"
    doc = run_score(folder, str(model_dir), out, score_params(), as_of=last.date(), log=_quiet)
    got = pd.read_parquet(out).set_index("decision_id")
    ids = ev.loc[[refs[-1], refs[-2]], "event_id"].tolist()
    assert got.loc[ids[0], "rejection_reason"] == "future_date"
    assert got.loc[ids[1], "rejection_reason"] == "placeholder_date"
    assert (got.drop(index=ids)["status"] == "scored").all()
    assert doc["counts"]["rejected_by_reason"] == {"future_date": 1, "placeholder_date": 1}
    assert doc["settings"]["as_of"] == str(last.date())
    # one type per column, whatever happens: a rejected row's flag is a missing boolean
    assert str(got["flag"].dtype) == "boolean" and got.loc[ids, "flag"].isna().all()
    assert got["probability"].dtype == np.float64


@pytest.mark.parametrize("sep", [";", ","])
def test_what_an_excel_export_records_is_read_with_its_own_separator(
    analyst_tables: Tables, tmp_path: Path, sep: str
) -> None:
    """The view check reads what a cohort records before validation: it must read a `;` file
    as the validation does (it crashed with "Usecols do not match columns", exit 3)."""
    from secondlook.score.cohort_view import cohort_folder_records

    want = cohort_folder_records(write_cohort(analyst_tables, tmp_path / "pq"))
    folder = _excel_csv(analyst_tables, tmp_path / "xl", sep=sep)
    assert cohort_folder_records(folder, open_cohort(folder)) == want
    assert {"adults", "household", "disability"} <= want


def test_a_header_only_events_table_is_named_as_empty(
    analyst_tables: Tables, tmp_path: Path
) -> None:
    from secondlook.errors import CohortError
    from secondlook.score.cohort_view import cohort_folder_records

    tables = {**analyst_tables, "events": analyst_tables["events"].iloc[:0]}
    folder = _excel_csv(tables, tmp_path / "xl")
    with pytest.raises(CohortError, match=r"table `events` \(.*events.csv\) has no rows"):
        cohort_folder_records(folder, open_cohort(folder))
