"""Import Children in Need census returns (XML) as a canonical cohort.

Each file is streamed with :func:`lxml.etree.iterparse`: one ``Child`` element is read, turned
into flat rows and cleared, so memory grows with the rows kept, not with the XML tree. Every
census year from 2016-17 (``Year`` 2017) to 2025-26 is read by the same code: ``GenderCurrent``
0/1/2/9 and ``Sex`` M/F/U are both understood whatever the year, retired factor codes are
accepted with a warning, and elements this module does not map (``UPN``, ``FormerUPN``,
``UPNunknown``, ``PersonDeathDate``, ``Reviews``, ``PreProceedingsandFGDM`` ...) are counted
and never written. Identifiers other than ``LAchildID`` are never read.

The mapping (one row per rule; see also :mod:`secondlook.ingest.codes`):

- one person per ``LAchildID``, id ``<LEA>-<LAchildID>`` (so two authorities' ids never
  collide); ``birth_month`` is the first of the month of ``PersonBirthDate``, or of
  ``ExpectedPersonBirthDate`` for an unborn child (the day is dropped); sex, ethnicity group
  and disability from the child's characteristics (the codes are kept in ``codes_people``);
- each ``CINdetails`` is a ``referral`` event on ``CINreferralDate`` (source and concern mapped
  from ``ReferralSource`` and ``PrimaryNeedCode``; the codes are kept in ``codes_referrals``)
  and a ``referral_outcome`` on the same day: ``s47`` when it holds a ``Section47``,
  ``assessment`` when it holds an assessment, ``nfa`` when ``ReferralNFA`` is true and it
  holds neither; none when nothing says (an open referral, counted);
- an authorised assessment is ``assessment_completed`` on ``AssessmentAuthorisationDate``,
  its factor codes mapped to concerns (``not_in_need`` when none or only ``21``); the codes
  and their subject letter (A child, B parent or carer, C another household member) are kept
  in ``codes_factors``;
- ``S47ActualStartDate`` is ``s47_started``; an initial conference (``DateOfInitialCPC`` in the
  ``Section47`` or, before 2018, in ``CINdetails``) is ``icpc`` with ``plan`` when a plan of the
  same referral starts that day; each plan is ``cp_plan_started`` (initial category) and, when
  ended, ``cp_plan_ended`` (latest category).

Several returns are merged: a child's characteristics are taken from the latest return that
records them, a referral is one per (child, referral date), and each nested record is one per
its start date, with the latest return's non-empty values. With no family link in the census
each child is its own household unless a households file (``LAchildID`` -> family id) is given.

The data-quality rules (CSC_FORMATS.md section 4) are listed in :data:`RULES`; each is either a
documented repair or drop counted in the manifest, or a refusal
(:class:`~secondlook.ingest.errors.ImportRefused`) naming the file, line, child and element.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secondlook.ingest import codes
from secondlook.ingest.census_xml import Reader, Rows
from secondlook.ingest.errors import ImportRefused
from secondlook.ingest.manifest import Findings
from secondlook.schema import SCHEMAS, validate_tables

__all__ = ["RULES", "CensusImport", "import_census"]

#: every data-quality rule the importer applies: kind -> what it does
RULES: dict[str, str] = {
    "date_format": "a date written dd/mm/yyyy or as an ISO date-time is read as that day",
    "placeholder_date": "a date before 1910 or after 2099 (1900-01-01, 1066-..., 9999-12-31) "
    "is treated as absent",
    "future_date": "a record dated after the return's ReferenceDate is dropped",
    "referral_without_date": "a CINdetails without a usable CINreferralDate is dropped",
    "child_without_birth_date": "a child with neither birth date nor expected birth date is "
    "dropped with all its referrals",
    "birth_and_expected_birth": "a child with both dates: PersonBirthDate is used",
    "referral_long_before_birth": "a referral more than 280 days before the (expected) birth "
    "is dropped with its nested records",
    "before_referral": "an assessment, s47, conference or plan dated before its referral is "
    "dropped",
    "plan_end_before_start": "a plan end before its start is dropped (the plan stays open)",
    "authorised_before_start": "an assessment authorised before it started keeps its "
    "authorisation date",
    "assessment_start_missing": "an assessment without a start date starts on its "
    "authorisation date",
    "assessment_not_authorised": "an assessment not yet authorised gives no "
    "assessment_completed event (it is still open)",
    "merged_duplicate_referral": "the same (child, referral date) in several returns or twice "
    "in one is one referral; nested records merge on their start dates",
    "duplicate_child_in_file": "a LAchildID twice in one return: its records are merged",
    "activity_on_nfa": "a referral flagged NFA that holds an assessment or s47: the outcome is "
    "taken from the nesting",
    "referral_without_outcome": "a referral with no NFA flag, assessment or s47 gets no outcome "
    "event (still open)",
    "icpc_not_required_with_date": "ICPCnotRequired true with a conference date: the date wins",
    "plan_start_not_conference_date": "a plan starting within 30 days after its conference (not "
    "on the day): the conference resulted in that plan",
    "plan_without_conference": "a plan with no conference recorded is kept",
    "code_case_whitespace": "codes are upper-cased and stripped",
    "sex_code_old_in_new_year": "GenderCurrent sent in a return that should send Sex: read "
    "with the old code list",
    "retired_factor": "a retired factor code (18A, 19A) is accepted and mapped",
    "invalid_factor": "an unknown factor code is dropped",
    "no_factors_with_others": "21 (no factors) sent with other factors is dropped",
    "duplicate_factor": "a factor sent twice in one assessment is kept once",
    "ethnicity_missing": "a child without an Ethnicity is 'Not recorded'",
    "disability_none_with_others": "NONE sent with other disabilities is ignored",
    "referral_source_missing": "a referral without ReferralSource is from an unknown source "
    "(code 10)",
    "closed_before_census_year": "a referral closed before the return's year began (kept)",
    "unmapped_element": "an element this importer does not map is counted and not written",
    "family_link": "children absent from the households file are their own household",
}

#: what a census return records (event kinds and links; see secondlook.features.views)
CENSUS_RECORDS = (
    "referral",
    "referral_outcome",
    "assessment_completed",
    "s47_started",
    "icpc",
    "cp_plan_started",
    "cp_plan_ended",
    "disability",
)
_PRENATAL_DAYS = 280
_PLAN_AFTER_CONFERENCE_DAYS = 30


@dataclass(frozen=True)
class CensusImport:
    """What :func:`import_census` returns.

    Attributes
    ----------
    tables
        The canonical cohort tables ``households``, ``people``, ``events`` (validated).
    codes
        Side tables keeping the census codes: ``codes_people`` (person_id, ethnicity_code,
        sex_code, disability_codes), ``codes_referrals`` (event_id, referral_source_code,
        primary_need_code, reason_for_closure, closure_date, nfa_flag), ``codes_factors``
        (event_id of the assessment, factor_code, subject).
    manifest
        JSON-able record: inputs (path, sha256, year, LEA), counts in and out, every repair,
        drop and warning with examples, the rules, and how households were formed.
    """

    tables: dict[str, pd.DataFrame]
    codes: dict[str, pd.DataFrame]
    manifest: dict[str, Any]


def _frame(rows: list[tuple[Any, ...]], columns: Sequence[str]) -> pd.DataFrame:
    return (
        pd.DataFrame.from_records(rows, columns=list(columns))
        if rows
        else pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    )


def _merge(df: pd.DataFrame, keys: list[str]) -> tuple[pd.DataFrame, int]:
    """One row per key: the latest return's non-empty values (returns ordered by year, file)."""
    if df.empty:
        return df, 0
    df = df.sort_values(["year", "order", "line"], kind="stable")
    merged = df.groupby(keys, sort=True, dropna=False).last().reset_index()
    return merged, len(df) - len(merged)


def _read_households(path: Path, findings: Findings) -> dict[str, str]:
    """``LAchildID`` (optionally with ``LEA``) -> family id, from a CSV file."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip() for h in (reader.fieldnames or [])]
            lower = {h.lower(): h for h in header}
            if "lachildid" not in lower or "family_id" not in lower:
                raise ImportRefused(
                    str(path), f"needs columns LAchildID and family_id; found {header}"
                )
            out: dict[str, str] = {}
            for i, row in enumerate(reader, start=2):
                row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
                laid, fam = row[lower["lachildid"]], row[lower["family_id"]]
                if not laid or not fam:
                    raise ImportRefused(
                        str(path), "empty LAchildID or family_id", where=f"line {i}"
                    )
                lea = row.get(lower.get("lea", ""), "")
                out[f"{lea}-{laid}" if lea else laid] = fam
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportRefused(str(path), f"cannot be read: {exc}") from None
    findings.counts_in["households_file_rows"] = len(out)
    return out


def import_census(paths: Sequence[Path], *, households: Path | None = None) -> CensusImport:
    """Read CIN census returns and build the canonical cohort tables.

    Parameters
    ----------
    paths
        One or more census XML files (any years 2017-2026, any authorities).
    households
        Optional CSV with columns ``LAchildID``, ``family_id`` (and optionally ``LEA``): the
        children of one family share a household. Without it each child is its own household.

    Returns
    -------
    CensusImport
        The tables, the code side tables and the manifest.

    Raises
    ------
    ImportRefused
        On a file that is not a well-formed census return or holds a value no rule can repair
        (an unparseable date, an unknown code, a missing or malformed LAchildID), naming the
        file, line, child and element.
    """
    if not paths:
        raise ImportRefused("(none)", "no census files given")
    findings = Findings()
    rows = Rows()
    for order, path in enumerate(paths):
        if not Path(path).is_file():
            raise ImportRefused(str(path), "no such file")
        Reader(Path(path), order, rows, findings).run()
    family = _read_households(households, findings) if households is not None else None
    tables, side = _assemble(rows, findings, family)
    validate_tables(tables)
    counts_out = {name: len(df) for name, df in tables.items()}
    counts_out.update(
        {
            f"events.{k}": int(v)
            for k, v in tables["events"]["type"].value_counts().sort_index().items()
        }
    )
    records = [*CENSUS_RECORDS, *(["household"] if households is not None else [])]
    manifest = {
        "format": "CIN census",
        "records": sorted(records),
        "inputs": rows.files,
        **findings.as_dict(),
        "counts_out": counts_out,
        "households": (
            f"from {households} (LAchildID -> family id)"
            if households is not None
            else "none in the census: each child is its own household"
        ),
        "not_imported": "UPN, FormerUPN, UPNunknown and every identifier other than LAchildID "
        "are never read or written; adults, households, police, health and school events are "
        "not in the census",
        "rules": RULES,
    }
    return CensusImport(tables, side, manifest)


def _iso_days(values: pd.Series) -> np.ndarray:
    return (
        pd.to_datetime(values, format="%Y-%m-%d").to_numpy(dtype="datetime64[D]").astype(np.int64)
    )


def _assemble(
    rows: Rows, f: Findings, family: dict[str, str] | None
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Merge the rows of every return and apply the cross-record rules."""
    children = _frame(
        rows.children,
        [
            "person_id",
            "lea",
            "birth",
            "expected",
            "sex",
            "sex_code",
            "eth_code",
            "disability",
            "dis_codes",
            "year",
            "order",
            "line",
        ],
    )
    # sex: a later "U" (e.g. unborn in an earlier return) never erases a recorded sex
    children["sex"] = children["sex"].where(children["sex"] != "U")
    children["sex_code"] = children["sex_code"].where(children["sex_code"] != "")
    children["dis_codes"] = children["dis_codes"].where(children["dis_codes"] != "")
    children, _ = _merge(children, ["person_id"])
    children["sex"] = children["sex"].fillna("U")
    born = children["birth"].notna()
    children.loc[born, "expected"] = None
    nobirth = children["birth"].isna() & children["expected"].isna()
    f.many("drops", "child_without_birth_date", _where(children[nobirth]))
    children = children[~nobirth].reset_index(drop=True)
    birth_iso = children["birth"].fillna(children["expected"])
    children["birth_month"] = pd.to_datetime(birth_iso.str.slice(0, 7) + "-01", format="%Y-%m-%d")
    birth_day = pd.Series(_iso_days(birth_iso), index=children["person_id"].to_numpy())

    ref = _frame(
        rows.referrals,
        [
            "person_id",
            "ref",
            "source",
            "need",
            "nfa",
            "closure",
            "reason",
            "cpc",
            "year",
            "order",
            "line",
        ],
    )
    ref = ref[ref["person_id"].isin(birth_day.index)]
    twice = ref[ref.duplicated(["person_id", "ref"], keep="first")]
    ref, dup = _merge(ref, ["person_id", "ref"])
    if dup:
        f.repairs["merged_duplicate_referral"] += dup
        f.examples["merged_duplicate_referral"] = _where(twice.head(5))
    ref_day = _iso_days(ref["ref"])
    early = ref_day < birth_day.loc[ref["person_id"]].to_numpy() - _PRENATAL_DAYS
    f.many("drops", "referral_long_before_birth", _where(ref[early]))
    ref = ref[~early].reset_index(drop=True)
    ref["rid"] = ref["person_id"] + "-R" + ref["ref"]
    known = pd.Index(ref["rid"])

    def nested(records: list[tuple[Any, ...]], cols: list[str], date_col: str) -> pd.DataFrame:
        df = _frame(records, ["person_id", "ref", *cols, "year", "order", "line"])
        df["rid"] = df["person_id"] + "-R" + df["ref"]
        df = df[df["rid"].isin(known)]
        df, n = _merge(df, ["rid", "person_id", "ref", cols[0]])
        before = df[date_col].notna() & (df[date_col] < df["ref"])
        f.many("drops", "before_referral", _where(df[before]))
        return df[~before].reset_index(drop=True)

    ass = nested(rows.assessments, ["start", "auth", "factors"], "start")
    wrong = ass["auth"].notna() & (ass["auth"] < ass["start"])
    f.many("repairs", "authorised_before_start", _where(ass[wrong]))
    late = ass["auth"].notna() & (ass["auth"] < ass["ref"])
    f.many("drops", "before_referral", _where(ass[late]))
    ass = ass[~late].reset_index(drop=True)
    s47 = nested(rows.s47, ["start", "icpc"], "start")
    plans = nested(rows.plans, ["start", "end", "initial", "latest"], "start")
    bad_end = plans["end"].notna() & (plans["end"] < plans["start"])
    f.many("repairs", "plan_end_before_start", _where(plans[bad_end]))
    plans.loc[bad_end, "end"] = None

    # outcome from the nesting
    has_s47 = ref["rid"].isin(s47["rid"])
    has_ass = ref["rid"].isin(ass["rid"])
    nfa = ref["nfa"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    outcome = np.where(has_s47, "s47", np.where(has_ass, "assessment", np.where(nfa, "nfa", "")))
    activity = nfa & (has_s47 | has_ass).to_numpy()
    f.many("repairs", "activity_on_nfa", _where(ref[activity]))
    f.many("warnings", "referral_without_outcome", _where(ref[outcome == ""]))
    ref["outcome"] = outcome

    # conferences: from the Section47s and (older returns) the CINdetails
    conf = pd.concat(
        [
            s47.loc[s47["icpc"].notna(), ["rid", "person_id", "icpc"]],
            ref.loc[ref["cpc"].notna(), ["rid", "person_id"]].assign(icpc=ref["cpc"].dropna()),
        ],
        ignore_index=True,
    ).drop_duplicates(["rid", "icpc"])
    conf_early = conf["icpc"] < conf["rid"].str.slice(-10)
    f.many("drops", "before_referral", _where(conf[conf_early]))
    conf = conf[~conf_early].sort_values(["rid", "icpc"]).reset_index(drop=True)
    conf_day = _iso_days(conf["icpc"]) if len(conf) else np.zeros(0, np.int64)
    plan_day = _iso_days(plans["start"]) if len(plans) else np.zeros(0, np.int64)
    detail = np.full(len(conf), "no_plan", dtype=object)
    if len(conf) and len(plans):
        pairs = conf.reset_index().merge(
            plans[["rid"]].assign(pday=plan_day).reset_index(names="pidx"), on="rid"
        )
        gap = pairs["pday"].to_numpy() - conf_day[pairs["index"].to_numpy()]
        same = pairs.loc[gap == 0, "index"].unique()
        near = pairs.loc[(gap > 0) & (gap <= _PLAN_AFTER_CONFERENCE_DAYS), "index"].unique()
        near = np.setdiff1d(near, same)
        detail[same] = "plan"
        detail[near] = "plan"
        f.many("repairs", "plan_start_not_conference_date", _where(conf.iloc[near]))
    f.many("warnings", "plan_without_conference", _where(plans[~plans["rid"].isin(conf["rid"])]))

    # events
    src = ref["source"].map(codes.REFERRAL_SOURCE)
    concern = ref["need"].fillna("N0").map(codes.PRIMARY_NEED)
    hh_of = _households(children, family, f)
    parts = [
        pd.DataFrame(
            {
                "event_id": ref["rid"],
                "person_id": ref["person_id"],
                "date": ref["ref"],
                "type": "referral",
                "source": src,
                "detail": concern,
            }
        ),
        pd.DataFrame(
            {
                "event_id": ref["rid"] + "-O",
                "person_id": ref["person_id"],
                "date": ref["ref"],
                "type": "referral_outcome",
                "source": "other",
                "detail": ref["outcome"],
            }
        ).loc[ref["outcome"] != ""],
    ]
    authorised = ass[ass["auth"].notna()]
    f.many("warnings", "assessment_not_authorised", _where(ass[ass["auth"].isna()]))
    a_detail = authorised["factors"].map(_factor_detail)
    parts.append(
        pd.DataFrame(
            {
                "event_id": authorised["rid"] + "-A" + authorised["start"],
                "person_id": authorised["person_id"],
                "date": authorised["auth"],
                "type": "assessment_completed",
                "source": "other",
                "detail": a_detail,
            }
        )
    )
    parts.append(
        pd.DataFrame(
            {
                "event_id": s47["rid"] + "-S" + s47["start"],
                "person_id": s47["person_id"],
                "date": s47["start"],
                "type": "s47_started",
                "source": "other",
                "detail": None,
            }
        )
    )
    parts.append(
        pd.DataFrame(
            {
                "event_id": conf["rid"] + "-C" + conf["icpc"],
                "person_id": conf["person_id"],
                "date": conf["icpc"],
                "type": "icpc",
                "source": "other",
                "detail": detail,
            }
        )
    )
    parts.append(
        pd.DataFrame(
            {
                "event_id": plans["rid"] + "-P" + plans["start"],
                "person_id": plans["person_id"],
                "date": plans["start"],
                "type": "cp_plan_started",
                "source": "other",
                "detail": plans["initial"].map(codes.ABUSE_CATEGORY),
            }
        )
    )
    ended = plans[plans["end"].notna()]
    parts.append(
        pd.DataFrame(
            {
                "event_id": ended["rid"] + "-E" + ended["start"],
                "person_id": ended["person_id"],
                "date": ended["end"],
                "type": "cp_plan_ended",
                "source": "other",
                "detail": ended["latest"].map(codes.ABUSE_CATEGORY),
            }
        )
    )
    events = pd.concat([p for p in parts if len(p)], ignore_index=True)
    events["date"] = pd.to_datetime(events["date"], format="%Y-%m-%d").astype("datetime64[s]")
    events["household_id"] = events["person_id"].map(hh_of)
    events["related_person_id"] = pd.Series(pd.NA, index=events.index, dtype="str")
    events["detail"] = events["detail"].astype("str")
    events = events.sort_values(["household_id", "person_id", "date", "event_id"], kind="stable")
    events = events[list(SCHEMAS["events"].columns)].reset_index(drop=True)
    for c in ("event_id", "household_id", "person_id", "type", "source"):
        events[c] = events[c].astype("str")

    people = pd.DataFrame(
        {
            "person_id": children["person_id"].astype("str"),
            "household_id": children["person_id"].map(hh_of).astype("str"),
            "role": "child",
            "sex": children["sex"].astype("str"),
            "birth_month": children["birth_month"].astype("datetime64[s]"),
            "ethnicity": children["eth_code"].map(codes.ETHNICITY).astype("str"),
            "disability": children["disability"].astype("boolean"),
        }
    )
    people["role"] = people["role"].astype("str")
    people = people.sort_values(["household_id", "person_id"]).reset_index(drop=True)
    la = children.set_index("person_id")["lea"]
    hh = (
        pd.DataFrame(
            {"household_id": people["household_id"], "lea": la.loc[people["person_id"]].to_numpy()}
        )
        .drop_duplicates("household_id")
        .reset_index(drop=True)
    )
    households = pd.DataFrame(
        {
            "household_id": hh["household_id"].astype("str"),
            "local_authority": ("LA" + hh["lea"]).astype("str"),
            "deprivation_decile": pd.array([pd.NA] * len(hh), dtype="Int64"),
        }
    )
    side = {
        "codes_people": pd.DataFrame(
            {
                "person_id": children["person_id"].astype("str"),
                "ethnicity_code": children["eth_code"].astype("str"),
                "sex_code": children["sex_code"].astype("str"),
                "disability_codes": children["dis_codes"].astype("str"),
            }
        ),
        "codes_referrals": pd.DataFrame(
            {
                "event_id": ref["rid"].astype("str"),
                "referral_source_code": ref["source"].astype("str"),
                "primary_need_code": ref["need"].astype("str"),
                "reason_for_closure": ref["reason"].astype("str"),
                "closure_date": pd.to_datetime(ref["closure"], format="%Y-%m-%d").astype(
                    "datetime64[s]"
                ),
                "nfa_flag": ref["nfa"].astype("boolean"),
            }
        ),
        "codes_factors": _factor_rows(authorised),
    }
    return {"households": households, "people": people, "events": events}, side


def _where(df: pd.DataFrame) -> list[str]:
    """``child <id> referral <date>`` for each row (the manifest's examples)."""
    if "ref" not in df.columns and "rid" not in df.columns:
        return [f"child {p}" for p in df["person_id"]]
    ref = df["ref"] if "ref" in df.columns else df["rid"].str.slice(-10)
    return [f"child {p} referral {r}" for p, r in zip(df["person_id"], ref, strict=True)]


def _factor_detail(factors: Any) -> str:
    """Concerns found at an assessment (';'-joined, in CONCERNS order) or ``not_in_need``."""
    from secondlook.schema import CONCERNS

    if not isinstance(factors, str) or not factors:
        return "not_in_need"
    found = {codes.FACTOR_CONCERN[c] for c in factors.split() if c != codes.NO_FACTORS}
    ordered = [c for c in CONCERNS if c in found]
    return ";".join(ordered) if ordered else "not_in_need"


def _factor_rows(authorised: pd.DataFrame) -> pd.DataFrame:
    ids, factor, subject = [], [], []
    for rid, start, fs in zip(
        authorised["rid"], authorised["start"], authorised["factors"], strict=True
    ):
        if isinstance(fs, str) and fs:
            for c in fs.split():
                ids.append(f"{rid}-A{start}")
                factor.append(c)
                subject.append(c[-1] if c[-1] in "ABCDEF" else "")
    return pd.DataFrame(
        {
            "event_id": pd.Series(ids, dtype="str"),
            "factor_code": pd.Series(factor, dtype="str"),
            "subject": pd.Series(subject, dtype="str"),
        }
    )


def _households(
    children: pd.DataFrame, family: dict[str, str] | None, f: Findings
) -> dict[str, str]:
    """person_id -> household_id: a family from the households file, else the child alone."""
    out: dict[str, str] = {}
    missing = 0
    for pid, lea in zip(children["person_id"], children["lea"], strict=True):
        laid = pid[len(lea) + 1 :]
        fam = None
        if family is not None:
            fam = family.get(pid) or family.get(laid)
            if fam is None:
                missing += 1
        out[pid] = f"{lea}-F{fam}" if fam is not None else f"{pid}-H"
    if family is not None and missing:
        f.warnings["family_link"] += missing
    return out
