"""Annex A workbooks written by the test itself: label variants, linking, refusals."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from openpyxl import Workbook

from secondlook.ingest import ImportRefused
from secondlook.ingest.annex_a import LINK_DAYS, import_annex_a, normalise
from secondlook.ingest.stage import run_import_annex_a

COMMON = ["Child Unique ID", "Gender", "Ethnicity", "Date of Birth", "Age"]
D = dt.datetime


def workbook(path: Path, lists: dict[str, list[list[Any]]]) -> Path:
    wb = Workbook()
    wb.remove(wb.active)
    for title, rows in lists.items():
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def referrals(*rows: list[Any], header: list[str] | None = None) -> list[list[Any]]:
    head = header or [
        *COMMON,
        "Date of Referral",
        "Referral Source",
        "Referral NFA?",
        "Number of Referrals in Last 12 Months",
        "Allocated Team",
        "Allocated Worker",
    ]
    return [head, *[list(r) for r in rows]]


def ref_row(
    cid: Any, gender: str, eth: str, date: Any, source: str, nfa: str, worker: str = "Worker Q"
) -> list[Any]:
    return [cid, gender, eth, D(2015, 3, 4), 6.0, date, source, nfa, 0, "Duty Team", worker]


ASSESS_HEAD = [
    *COMMON,
    "Does the Child have a Disability",
    "Continuous Assessment Start Date",
    "Child Seen During Continuous Assessment",
    "Continuous Assessment Date of Authorisation",
    "Was the child assessed as requiring LA children's social care support?",
    "Allocated Team",
    "Allocated Worker",
]
S47_HEAD = [
    *COMMON,
    "Does the Child have a Disability",
    "Strategy discussion initiating Section 47 Enquiry Start Date",
    "Was an Initial Child Protection Conference deemed unnecessary?",
    "Date of Initial Child Protection Conference",
    "Did the Initial Child Protection Conference Result in a Child Protection Plan",
    "Number of Section 47 Enquiries in the last 12 months",
    "Number of ICPCs in the last 12 months",
    "Allocated Team",
    "Allocated Worker",
]
PLAN_HEAD = [
    *COMMON,
    "Does the Child have a Disability",
    "Child Protection Plan Start Date",
    "Initial Category of Abuse",
    "Latest Category of Abuse",
    "Child Protection Plan End Date",
    "Allocated Team",
    "Allocated Worker",
]


def events_of(result, etype: str) -> pd.DataFrame:
    ev = result.tables["events"]
    return ev[ev["type"] == etype].set_index("person_id")


def test_normalise_drops_letters_case_and_punctuation() -> None:
    assert normalise(" a) Male ") == "male"
    assert normalise("Referral NFA?") == "referral nfa"
    assert normalise("(A.A1)White - British") == "a a1 white british"


def test_label_variants_dates_and_linking(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "annex.xlsx",
        {
            "List 3": referrals(
                ref_row(
                    101, "a) Male", "a) WBRI", D(2020, 9, 16), "q) 6: Police", "No", "Worker Alpha"
                ),
                ref_row(102, "Female", "White British", 44090, "Police", "FA", "Worker Beta"),
                ref_row(103.0, "M", "Unkown", "16/09/2020", "j) 3D: Health services", "a) Yes"),
                ref_row(104, "b) Female", "k) APKN", D(2020, 9, 16), "2A", "Further action"),
            ),
            "List 4": [
                ASSESS_HEAD,
                [
                    101,
                    "a) Male",
                    "a) WBRI",
                    D(2015, 3, 4),
                    6,
                    "b) No",
                    D(2020, 9, 20),
                    "Yes",
                    D(2020, 10, 20),
                    "b) No",
                    "Team",
                    "Worker Gamma",
                ],
                # starts too long after 104's referral to be its outcome
                [
                    104,
                    "b) Female",
                    "k) APKN",
                    D(2015, 3, 4),
                    6,
                    "b) No",
                    D(2020, 9, 16) + dt.timedelta(days=LINK_DAYS + 1),
                    "Yes",
                    D(2020, 12, 30),
                    "a) Yes",
                    "Team",
                    "Worker Delta",
                ],
            ],
            "List 5": [
                S47_HEAD,
                [
                    102,
                    "Female",
                    "White British",
                    D(2015, 3, 4),
                    6,
                    "b) No",
                    D(2020, 9, 18),
                    "No",
                    D(2020, 10, 5),
                    "Yes",
                    1,
                    1,
                    "Team",
                    "Worker Eps",
                ],
            ],
            "List 7": [
                PLAN_HEAD,
                [
                    102,
                    "Female",
                    "White British",
                    D(2015, 3, 4),
                    6,
                    "b) No",
                    D(2020, 10, 5),
                    "Likelihood of Neglect",
                    "Neglect Physical",
                    D(2021, 2, 1),
                    "Team",
                    "Worker Zeta",
                ],
            ],
        },
    )
    r = import_annex_a(path, lea="330")
    people = r.tables["people"].set_index("person_id")
    assert list(people.index) == ["330-101", "330-102", "330-103", "330-104"]
    assert people["sex"].tolist() == ["M", "F", "M", "F"]
    assert people["ethnicity"].tolist() == ["White", "White", "Not recorded", "Asian"]
    # disability from lists 4-7 where a child appears there; unknown elsewhere
    assert people["disability"].isna().tolist() == [False, False, True, False]
    assert not people["disability"].dropna().any()
    ref = events_of(r, "referral")
    assert (ref["date"] == pd.Timestamp("2020-09-16")).all()  # datetime, serial and dd/mm/yyyy
    assert ref["source"].tolist() == ["police", "police", "gp", "school"]
    outcome = events_of(r, "referral_outcome")["detail"]
    assert outcome.to_dict() == {"330-101": "assessment", "330-102": "s47", "330-103": "nfa"}
    assessed = events_of(r, "assessment_completed")["detail"]
    assert assessed.to_dict() == {"330-101": "not_in_need", "330-104": "other"}
    assert events_of(r, "icpc")["detail"].tolist() == ["plan"]
    assert events_of(r, "cp_plan_started")["detail"].tolist() == ["neglect"]
    assert events_of(r, "cp_plan_ended")["detail"].tolist() == ["multiple"]
    assert r.manifest["repairs"]["excel_serial_date"]["count"] == 1
    assert r.manifest["repairs"]["dmy_text_date"]["count"] == 1
    # worker names are never read
    for df in [*r.tables.values(), *r.codes.values()]:
        assert "Worker" not in df.astype(str).to_csv()
    assert "Allocated Worker" not in str(r.manifest["columns_read"])


def test_tolerant_headers(tmp_path: Path) -> None:
    header = [
        " CHILD UNIQUE ID ",
        "gender",
        "Ethnicity",
        "DATE OF BIRTH",
        "Age",
        "Date of referral ",
        "Referral source",
        "referral nfa",
        "Allocated Worker",
    ]
    path = workbook(
        tmp_path / "a.xlsx",
        {
            "list3 referrals": referrals(
                ["X1", "Male", "WBRI", D(2016, 1, 1), 4, D(2020, 1, 1), "6", "No", "Worker W"],
                header=header,
            )
        },
    )
    r = import_annex_a(path)
    assert r.tables["people"]["person_id"].tolist() == ["000-X1"]
    assert len(events_of(r, "referral")) == 1


def test_unknown_label_is_refused_then_mapped_by_a_yaml_file(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "a.xlsx",
        {
            "List 3": referrals(
                ref_row(7, "Male", "(A.A1)White - British", D(2020, 1, 1), "6", "No")
            )
        },
    )
    with pytest.raises(ImportRefused) as info:
        import_annex_a(path)
    msg = str(info.value)
    assert "a.xlsx" in msg and "sheet `List 3` row 2" in msg and "column `Ethnicity`" in msg
    assert "(A.A1)White - British" in msg and "mapping YAML under `ethnicity`" in msg
    extra = tmp_path / "map.yaml"
    extra.write_text('ethnicity:\n  "(A.A1)White - British": WBRI\n')
    r = import_annex_a(path, mappings=extra)
    assert r.tables["people"]["ethnicity"].tolist() == ["White"]


def test_bad_date_and_bad_yaml_are_refused(tmp_path: Path) -> None:
    path = workbook(
        tmp_path / "a.xlsx",
        {"List 3": referrals(ref_row(7, "Male", "WBRI", "31/02/2020", "6", "No"))},
    )
    with pytest.raises(
        ImportRefused, match=r"column `Date of Referral`: `31/02/2020` is not a date"
    ):
        import_annex_a(path)
    bad = tmp_path / "m.yaml"
    bad.write_text("colour: {red: 1}\n")
    with pytest.raises(ImportRefused, match="unknown table `colour`"):
        import_annex_a(path, mappings=bad)


def test_unborn_child_without_a_due_date_is_dropped(tmp_path: Path) -> None:
    row = ref_row(8, "Unborn", "Unborn", D(2020, 1, 1), "6", "No")
    row[3] = None
    path = workbook(
        tmp_path / "a.xlsx",
        {"List 3": referrals(row, ref_row(9, "Male", "WBRI", D(2020, 1, 1), "6", "No"))},
    )
    r = import_annex_a(path)
    assert r.tables["people"]["person_id"].tolist() == ["000-9"]
    assert r.manifest["drops"]["unborn_without_due_date"]["count"] == 1


def test_refused_workbook_writes_nothing(tmp_path: Path) -> None:
    path = workbook(tmp_path / "a.xlsx", {"List 4": [ASSESS_HEAD]})
    out = tmp_path / "cohort"
    with pytest.raises(ImportRefused, match="List 3"):
        run_import_annex_a(path, out, log=lambda _: None)
    assert not out.exists()
    notxlsx = tmp_path / "b.xlsx"
    notxlsx.write_text("hello")
    with pytest.raises(ImportRefused, match="cannot be opened"):
        run_import_annex_a(notxlsx, out, log=lambda _: None)
