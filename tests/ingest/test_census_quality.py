"""Each data-quality kind of CSC_FORMATS.md section 4: repaired by its rule, or refused."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from secondlook.ingest import ImportRefused, import_census
from secondlook.ingest.stage import MANIFEST, run_import_census
from tests.ingest.snippets import assessment, child, plan, referral, s47, write_return


def events_of(result, etype: str) -> pd.DataFrame:
    ev = result.tables["events"]
    return ev[ev["type"] == etype].reset_index(drop=True)


def one(tmp_path: Path, children: str, **kw):
    return import_census([write_return(tmp_path, "r.xml", children, **kw)])


# 1. dates in several formats, placeholders ------------------------------------------------
def test_dmy_and_datetime_dates_are_read_as_that_day(tmp_path: Path) -> None:
    r = one(tmp_path, child(birth="14/06/2015", details=referral("01/06/2021")))
    assert events_of(r, "referral")["date"].tolist() == [pd.Timestamp("2021-06-01")]
    assert r.tables["people"]["birth_month"].tolist() == [pd.Timestamp("2015-06-01")]
    assert r.manifest["repairs"]["date_format"]["count"] == 2


def test_placeholder_referral_date_drops_the_referral(tmp_path: Path) -> None:
    kids = child("C1", details=referral("1900-01-01") + referral("2021-06-01"))
    r = one(tmp_path, kids)
    assert len(events_of(r, "referral")) == 1
    assert r.manifest["repairs"]["placeholder_date"]["count"] == 1
    assert r.manifest["drops"]["referral_without_date"]["count"] == 1


def test_placeholder_birth_date_falls_back_to_the_expected_date(tmp_path: Path) -> None:
    r = one(
        tmp_path, child(birth="9999-12-31", expected="2021-09-20", details=referral("2021-06-01"))
    )
    assert r.tables["people"]["birth_month"].tolist() == [pd.Timestamp("2021-09-01")]


def test_an_unparseable_date_is_refused_naming_file_line_child_and_element(tmp_path: Path) -> None:
    path = write_return(tmp_path, "bad.xml", child("C7", details=referral("2021-02-31")))
    with pytest.raises(ImportRefused) as info:
        import_census([path])
    msg = str(info.value)
    assert "bad.xml" in msg and "child `C7`" in msg and "CINreferralDate" in msg
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "2021-02-31" in t)
    assert f"line {line - 1}" in msg or f"line {line}" in msg


def test_a_referral_after_the_reference_date_is_dropped(tmp_path: Path) -> None:
    r = one(tmp_path, child(details=referral("2021-06-01") + referral("2022-05-01")))
    assert len(events_of(r, "referral")) == 1
    assert r.manifest["drops"]["future_date"]["count"] == 1


# 2. events out of order --------------------------------------------------------------------
def test_records_before_their_referral_are_dropped(tmp_path: Path) -> None:
    inner = assessment("2021-05-01", "2021-05-20") + s47("2021-05-02")
    r = one(tmp_path, child(details=referral("2021-06-01", inner=inner)))
    assert events_of(r, "assessment_completed").empty and events_of(r, "s47_started").empty
    assert r.manifest["drops"]["before_referral"]["count"] == 2
    # with nothing left to say what happened, the referral has no outcome
    assert events_of(r, "referral_outcome").empty


def test_plan_end_before_start_leaves_the_plan_open(tmp_path: Path) -> None:
    inner = s47("2021-06-03", icpc="2021-06-20")
    r = one(
        tmp_path,
        child(details=referral(inner=inner, after_nfa=plan("2021-06-20", end="2021-06-10"))),
    )
    assert len(events_of(r, "cp_plan_started")) == 1
    assert events_of(r, "cp_plan_ended").empty
    assert r.manifest["repairs"]["plan_end_before_start"]["count"] == 1


def test_assessment_authorised_before_it_started_keeps_its_authorisation(tmp_path: Path) -> None:
    r = one(
        tmp_path, child(details=referral(inner=assessment("2021-06-20", "2021-06-10", ("3B",))))
    )
    a = events_of(r, "assessment_completed")
    assert a["date"].tolist() == [pd.Timestamp("2021-06-10")]
    assert a["detail"].tolist() == ["domestic_abuse"]
    assert r.manifest["repairs"]["authorised_before_start"]["count"] == 1


# 3. duplicates ------------------------------------------------------------------------------
def test_the_same_referral_in_two_returns_is_one_referral(tmp_path: Path) -> None:
    y1 = write_return(
        tmp_path,
        "y1.xml",
        child(details=referral("2021-03-01", inner=assessment("2021-03-02", None))),
        year=2021,
    )
    y2 = write_return(
        tmp_path,
        "y2.xml",
        child(
            details=referral("2021-03-01", inner=assessment("2021-03-02", "2021-04-15", ("16A",)))
        ),
        year=2022,
    )
    r = import_census([y1, y2])
    assert len(events_of(r, "referral")) == 1
    a = events_of(r, "assessment_completed")
    assert a["date"].tolist() == [pd.Timestamp("2021-04-15")] and a["detail"].tolist() == [
        "neglect"
    ]
    assert r.manifest["repairs"]["merged_duplicate_referral"]["count"] == 1
    assert len(r.manifest["inputs"]) == 2 and all(
        len(i["sha256"]) == 64 for i in r.manifest["inputs"]
    )


def test_a_child_twice_in_one_return_is_merged(tmp_path: Path) -> None:
    kids = child("C1", details=referral("2021-06-01")) + child("C1", details=referral("2021-08-01"))
    r = one(tmp_path, kids)
    assert len(r.tables["people"]) == 1 and len(events_of(r, "referral")) == 2
    assert r.manifest["repairs"]["duplicate_child_in_file"]["count"] == 1


# 4. activity against an NFA referral ----------------------------------------------------------
def test_activity_on_an_nfa_referral_takes_the_outcome_from_the_nesting(tmp_path: Path) -> None:
    r = one(
        tmp_path, child(details=referral(nfa="true", inner=assessment("2021-06-02", "2021-06-30")))
    )
    assert events_of(r, "referral_outcome")["detail"].tolist() == ["assessment"]
    assert r.manifest["repairs"]["activity_on_nfa"]["count"] == 1


def test_nfa_alone_is_nfa(tmp_path: Path) -> None:
    r = one(tmp_path, child(details=referral(nfa="1")))
    assert events_of(r, "referral_outcome")["detail"].tolist() == ["nfa"]


# 5. conference and plan that do not match ------------------------------------------------------
def test_plan_starting_after_the_conference_day_is_its_plan(tmp_path: Path) -> None:
    inner = s47("2021-06-03", icpc="2021-06-20")
    r = one(tmp_path, child(details=referral(inner=inner, after_nfa=plan("2021-06-28"))))
    assert events_of(r, "icpc")["detail"].tolist() == ["plan"]
    assert r.manifest["repairs"]["plan_start_not_conference_date"]["count"] == 1


def test_conference_without_plan_and_plan_without_conference(tmp_path: Path) -> None:
    inner = s47("2021-06-03", icpc="2021-06-20")
    kids = child("C1", details=referral(inner=inner)) + child(
        "C2", details=referral(inner=s47("2021-06-03"), after_nfa=plan("2021-07-01", initial="MUL"))
    )
    r = one(tmp_path, kids)
    assert events_of(r, "icpc")["detail"].tolist() == ["no_plan"]
    assert events_of(r, "cp_plan_started")["detail"].tolist() == ["multiple"]
    assert r.manifest["warnings"]["plan_without_conference"]["count"] == 1


def test_icpc_not_required_with_a_date_keeps_the_conference(tmp_path: Path) -> None:
    inner = s47("2021-06-03", icpc="2021-06-20", not_required="true")
    r = one(tmp_path, child(details=referral(inner=inner)))
    assert len(events_of(r, "icpc")) == 1
    assert r.manifest["repairs"]["icpc_not_required_with_date"]["count"] == 1


# 6. identifiers ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("laid", "problem"), [("", "without LAchildID"), ("X" * 21, "malformed"), ("A B", "malformed")]
)
def test_missing_or_malformed_child_id_is_refused(tmp_path: Path, laid: str, problem: str) -> None:
    with pytest.raises(ImportRefused, match=problem) as info:
        one(tmp_path, child(laid, details=referral()))
    assert "r.xml" in str(info.value) and "LAchildID" in str(info.value)


def test_ids_colliding_across_two_authorities_stay_two_children(tmp_path: Path) -> None:
    a = write_return(tmp_path, "a.xml", child("C1", details=referral()), lea="201")
    b = write_return(
        tmp_path, "b.xml", child("C1", birth="2012-01-02", details=referral()), lea="202"
    )
    r = import_census([a, b])
    people = r.tables["people"].set_index("person_id")
    assert sorted(people.index) == ["201-C1", "202-C1"]
    assert people.loc["202-C1", "birth_month"] == pd.Timestamp("2012-01-01")
    assert sorted(r.tables["households"]["local_authority"]) == ["LA201", "LA202"]


def test_upn_and_other_identifiers_are_never_written(tmp_path: Path) -> None:
    ids = "<UPN>A123456789012</UPN><FormerUPN>B123456789012</FormerUPN><UPNunknown>UN3</UPNunknown>"
    r = one(tmp_path, child(extra_ids=ids, details=referral()))
    for df in [*r.tables.values(), *r.codes.values()]:
        text = df.astype(str).to_csv()
        assert "A123456789012" not in text and "B123456789012" not in text and "UN3" not in text


# 7. unborn children --------------------------------------------------------------------------------
def test_child_with_birth_and_expected_birth_uses_the_birth(tmp_path: Path) -> None:
    r = one(
        tmp_path, child(birth="2021-03-02", expected="2021-04-01", details=referral("2021-06-01"))
    )
    assert r.tables["people"]["birth_month"].tolist() == [pd.Timestamp("2021-03-01")]
    assert r.manifest["repairs"]["birth_and_expected_birth"]["count"] == 1


def test_unborn_child_and_a_referral_long_before_the_birth(tmp_path: Path) -> None:
    kids = child(
        birth=None,
        expected="2022-05-10",
        sex="<GenderCurrent>0</GenderCurrent>",
        details=referral("2021-06-01") + referral("2022-01-10"),
    )
    r = one(tmp_path, kids)
    people = r.tables["people"]
    assert people["birth_month"].tolist() == [pd.Timestamp("2022-05-01")]
    assert people["sex"].tolist() == ["U"]
    assert events_of(r, "referral")["date"].tolist() == [pd.Timestamp("2022-01-10")]
    assert r.manifest["drops"]["referral_long_before_birth"]["count"] == 1


def test_child_with_no_birth_date_at_all_is_dropped(tmp_path: Path) -> None:
    r = one(tmp_path, child("C1", birth=None, details=referral()) + child("C2", details=referral()))
    assert r.tables["people"]["person_id"].tolist() == ["201-C2"]
    assert r.manifest["drops"]["child_without_birth_date"]["count"] == 1


# 8. sex recoded in 2024-25 --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("element", "year", "sex", "warned"),
    [
        ("<GenderCurrent>2</GenderCurrent>", 2022, "F", False),
        ("<GenderCurrent>9</GenderCurrent>", 2022, "U", False),
        ("<Sex>M</Sex>", 2025, "M", False),
        ("<GenderCurrent>1</GenderCurrent>", 2026, "M", True),
    ],
)
def test_sex_codes_of_every_year(
    tmp_path: Path, element: str, year: int, sex: str, warned: bool
) -> None:
    r = one(tmp_path, child(sex=element, details=referral(f"{year - 1}-06-01")), year=year)
    assert r.tables["people"]["sex"].tolist() == [sex]
    assert ("sex_code_old_in_new_year" in r.manifest["warnings"]) is warned


# 9. local labels, case and whitespace ---------------------------------------------------------------
def test_stray_case_and_whitespace_are_repaired(tmp_path: Path) -> None:
    r = one(tmp_path, child(ethnicity=" wbri ", details=referral(source=" 3e")))
    assert r.tables["people"]["ethnicity"].tolist() == ["White"]
    assert events_of(r, "referral")["source"].tolist() == ["hospital"]
    assert r.codes["codes_people"]["ethnicity_code"].tolist() == ["WBRI"]
    assert r.manifest["repairs"]["code_case_whitespace"]["count"] == 2


def test_a_local_label_instead_of_a_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match="White British") as info:
        one(tmp_path, child("C9", ethnicity="White British", details=referral()))
    assert "Ethnicity" in str(info.value) and "C9" in str(info.value)


# 10. booleans ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("spelling", ["true", "TRUE", "1", "Y", "Yes", "a) Yes"])
def test_boolean_spellings(tmp_path: Path, spelling: str) -> None:
    r = one(tmp_path, child(details=referral(nfa=spelling)))
    assert events_of(r, "referral_outcome")["detail"].tolist() == ["nfa"]


def test_an_unknown_boolean_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused, match="ReferralNFA"):
        one(tmp_path, child(details=referral(nfa="maybe")))


# 11. factor codes -------------------------------------------------------------------------------------
def test_retired_invalid_duplicate_and_lone_factor_codes(tmp_path: Path) -> None:
    inner = assessment("2021-06-02", "2021-06-30", ("18A", "RB", "3B", "3B", "21", "2b"))
    r = one(tmp_path, child(details=referral(inner=inner)))
    a = events_of(r, "assessment_completed")
    assert a["detail"].tolist() == ["physical_injury;domestic_abuse;parental_drug_misuse"]
    m = r.manifest
    assert m["warnings"]["retired_factor"]["count"] == 1
    assert m["drops"]["invalid_factor"]["count"] == 1
    assert m["repairs"]["duplicate_factor"]["count"] == 1
    assert m["repairs"]["no_factors_with_others"]["count"] == 1
    f = r.codes["codes_factors"]
    assert f["factor_code"].tolist() == ["18A", "3B", "2B"] and f["subject"].tolist() == [
        "A",
        "B",
        "B",
    ]


def test_no_factors_is_not_in_need(tmp_path: Path) -> None:
    r = one(
        tmp_path, child(details=referral(inner=assessment("2021-06-02", "2021-06-30", ("21",))))
    )
    assert events_of(r, "assessment_completed")["detail"].tolist() == ["not_in_need"]


# 12. stages never closed, not yet authorised --------------------------------------------------------
def test_an_assessment_not_yet_authorised_is_open(tmp_path: Path) -> None:
    r = one(tmp_path, child(details=referral(inner=assessment("2021-06-02", None))))
    assert events_of(r, "assessment_completed").empty
    assert events_of(r, "referral_outcome")["detail"].tolist() == ["assessment"]
    assert r.manifest["warnings"]["assessment_not_authorised"]["count"] == 1


# the file itself -----------------------------------------------------------------------------------
def test_malformed_xml_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text(
        "<Message>\n<Header>\n<CollectionDetails><Year>2022</Year></CollectionDetails>\n"
        "<Source><LEA>201</LEA></Source>\n</Header>\n<Children>\n<Child>\n</Message>\n"
    )
    with pytest.raises(ImportRefused, match="not well-formed") as info:
        import_census([path])
    assert "broken.xml" in str(info.value) and "line 8" in str(info.value)


def test_a_return_without_an_lea_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.xml"
    path.write_text(
        "<Message><Header><CollectionDetails><Year>2022</Year></CollectionDetails></Header></Message>"
    )
    with pytest.raises(ImportRefused, match="LEA"):
        import_census([path])


def test_namespaced_elements_are_read(tmp_path: Path) -> None:
    path = write_return(tmp_path, "ns.xml", child(details=referral()))
    path.write_text(path.read_text().replace("<Message>", '<Message xmlns="urn:example:cin">'))
    r = import_census([path])
    assert len(events_of(r, "referral")) == 1


def test_refused_import_writes_nothing(tmp_path: Path) -> None:
    good = write_return(tmp_path, "good.xml", child(details=referral()))
    bad = write_return(tmp_path, "bad.xml", child(details=referral(source="Police")))
    out = tmp_path / "cohort"
    with pytest.raises(ImportRefused, match="ReferralSource"):
        run_import_census([good, bad], out, log=lambda _: None)
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    run_import_census([good], out, log=lambda _: None)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            MANIFEST,
            "codes_factors.parquet",
            "codes_people.parquet",
            "codes_referrals.parquet",
            "events.parquet",
            "households.parquet",
            "people.parquet",
        ]
    )
    with pytest.raises(ImportRefused, match="not empty"):
        run_import_census([good], out, log=lambda _: None)
