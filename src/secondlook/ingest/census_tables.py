"""The census importer's cross-record rules: parsed rows of every return -> the canonical tables.

:func:`assemble` merges the rows :class:`~secondlook.ingest.census_xml.Reader` collected from
every return and applies the rules that need more than one record (duplicates across returns,
records before their referral, the referral's outcome from the nesting, a conference's plan),
one step per function, in the order the manifest counts them. The rules themselves are listed in
:data:`secondlook.ingest.census.RULES`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from secondlook.ingest import codes
from secondlook.ingest.census_xml import Rows
from secondlook.ingest.manifest import Findings
from secondlook.schema import SCHEMAS

__all__ = ["assemble"]

_PRENATAL_DAYS = 280
_PLAN_AFTER_CONFERENCE_DAYS = 30
_ORDER = ["year", "order", "line"]


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
    df = df.sort_values(_ORDER, kind="stable")
    merged = df.groupby(keys, sort=True, dropna=False).last().reset_index()
    return merged, len(df) - len(merged)


def _iso_days(values: pd.Series) -> np.ndarray:
    return (
        pd.to_datetime(values, format="%Y-%m-%d").to_numpy(dtype="datetime64[D]").astype(np.int64)
    )


def _where(df: pd.DataFrame) -> list[str]:
    """``child <id> referral <date>`` for each row (the manifest's examples)."""
    if "ref" not in df.columns and "rid" not in df.columns:
        return [f"child {p}" for p in df["person_id"]]
    ref = df["ref"] if "ref" in df.columns else df["rid"].str.slice(-10)
    return [f"child {p} referral {r}" for p, r in zip(df["person_id"], ref, strict=True)]


def _children(rows: Rows, f: Findings) -> tuple[pd.DataFrame, pd.Series]:
    """One row per child (merged across returns) and each child's (expected) birth day."""
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
            *_ORDER,
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
    return children, birth_day


def _referrals(rows: Rows, f: Findings, birth_day: pd.Series) -> pd.DataFrame:
    """One row per (child, referral date); ``rid`` is the referral's event id."""
    ref = _frame(
        rows.referrals,
        ["person_id", "ref", "source", "need", "nfa", "closure", "reason", "cpc", *_ORDER],
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
    return ref


def _nested(
    records: list[tuple[Any, ...]], cols: list[str], date_col: str, known: pd.Index, f: Findings
) -> pd.DataFrame:
    """Records nested in a kept referral, one per start date, none dated before the referral."""
    df = _frame(records, ["person_id", "ref", *cols, *_ORDER])
    df["rid"] = df["person_id"] + "-R" + df["ref"]
    df = df[df["rid"].isin(known)]
    df, _ = _merge(df, ["rid", "person_id", "ref", cols[0]])
    before = df[date_col].notna() & (df[date_col] < df["ref"])
    f.many("drops", "before_referral", _where(df[before]))
    return df[~before].reset_index(drop=True)


def _nested_records(
    rows: Rows, f: Findings, known: pd.Index
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The assessments, section 47 enquiries and plans, with their repairs."""
    ass = _nested(rows.assessments, ["start", "auth", "factors"], "start", known, f)
    wrong = ass["auth"].notna() & (ass["auth"] < ass["start"])
    f.many("repairs", "authorised_before_start", _where(ass[wrong]))
    late = ass["auth"].notna() & (ass["auth"] < ass["ref"])
    f.many("drops", "before_referral", _where(ass[late]))
    ass = ass[~late].reset_index(drop=True)
    s47 = _nested(rows.s47, ["start", "icpc"], "start", known, f)
    plans = _nested(rows.plans, ["start", "end", "initial", "latest"], "start", known, f)
    bad_end = plans["end"].notna() & (plans["end"] < plans["start"])
    f.many("repairs", "plan_end_before_start", _where(plans[bad_end]))
    plans.loc[bad_end, "end"] = None
    return ass, s47, plans


def _outcomes(ref: pd.DataFrame, ass: pd.DataFrame, s47: pd.DataFrame, f: Findings) -> None:
    """Set ``ref["outcome"]`` from the nesting: s47, assessment, nfa or '' (still open)."""
    has_s47 = ref["rid"].isin(s47["rid"])
    has_ass = ref["rid"].isin(ass["rid"])
    nfa = ref["nfa"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    outcome = np.where(has_s47, "s47", np.where(has_ass, "assessment", np.where(nfa, "nfa", "")))
    activity = nfa & (has_s47 | has_ass).to_numpy()
    f.many("repairs", "activity_on_nfa", _where(ref[activity]))
    f.many("warnings", "referral_without_outcome", _where(ref[outcome == ""]))
    ref["outcome"] = outcome


def _conferences(
    ref: pd.DataFrame, s47: pd.DataFrame, plans: pd.DataFrame, f: Findings
) -> tuple[pd.DataFrame, np.ndarray]:
    """Initial conferences (from the Section47s and older CINdetails) and ``plan``/``no_plan``."""
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
    return conf, detail


def _part(ids: Any, person: Any, date: Any, etype: str, detail: Any, source: Any = "other") -> Any:
    return pd.DataFrame(
        {
            "event_id": ids,
            "person_id": person,
            "date": date,
            "type": etype,
            "source": source,
            "detail": detail,
        }
    )


def _events(
    ref: pd.DataFrame,
    authorised: pd.DataFrame,
    s47: pd.DataFrame,
    conf: pd.DataFrame,
    conf_detail: np.ndarray,
    plans: pd.DataFrame,
    hh_of: dict[str, str],
) -> pd.DataFrame:
    """The canonical events table, in the schema's column order and sort."""
    src = ref["source"].map(codes.REFERRAL_SOURCE)
    concern = ref["need"].fillna("N0").map(codes.PRIMARY_NEED)
    ended = plans[plans["end"].notna()]
    parts = [
        _part(ref["rid"], ref["person_id"], ref["ref"], "referral", concern, src),
        _part(
            ref["rid"] + "-O", ref["person_id"], ref["ref"], "referral_outcome", ref["outcome"]
        ).loc[ref["outcome"] != ""],
        _part(
            authorised["rid"] + "-A" + authorised["start"],
            authorised["person_id"],
            authorised["auth"],
            "assessment_completed",
            authorised["factors"].map(_factor_detail),
        ),
        _part(
            s47["rid"] + "-S" + s47["start"], s47["person_id"], s47["start"], "s47_started", None
        ),
        _part(
            conf["rid"] + "-C" + conf["icpc"], conf["person_id"], conf["icpc"], "icpc", conf_detail
        ),
        _part(
            plans["rid"] + "-P" + plans["start"],
            plans["person_id"],
            plans["start"],
            "cp_plan_started",
            plans["initial"].map(codes.ABUSE_CATEGORY),
        ),
        _part(
            ended["rid"] + "-E" + ended["start"],
            ended["person_id"],
            ended["end"],
            "cp_plan_ended",
            ended["latest"].map(codes.ABUSE_CATEGORY),
        ),
    ]
    events = pd.concat([p for p in parts if len(p)], ignore_index=True)
    events["date"] = pd.to_datetime(events["date"], format="%Y-%m-%d").astype("datetime64[s]")
    events["household_id"] = events["person_id"].map(hh_of)
    events["related_person_id"] = pd.Series(pd.NA, index=events.index, dtype="str")
    events["detail"] = events["detail"].astype("str")
    events = events.sort_values(["household_id", "person_id", "date", "event_id"], kind="stable")
    events = events[list(SCHEMAS["events"].columns)].reset_index(drop=True)
    for c in ("event_id", "household_id", "person_id", "type", "source"):
        events[c] = events[c].astype("str")
    return events


def _people_households(
    children: pd.DataFrame, hh_of: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The people (children only) and households tables; no address, so no deprivation."""
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
    return people, households


def _side_tables(
    children: pd.DataFrame, ref: pd.DataFrame, authorised: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The census's own codes: ``codes_people``, ``codes_referrals``, ``codes_factors``."""
    return {
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


def assemble(
    rows: Rows, f: Findings, family: dict[str, str] | None
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Merge the rows of every return and apply the cross-record rules.

    Parameters
    ----------
    rows
        What the readers collected from every return (one tuple per element read).
    f
        The findings every repair, drop and warning is counted in (updated in place).
    family
        ``LAchildID`` (or ``<LEA>-<LAchildID>``) -> family id, or None: each child alone.

    Returns
    -------
    tables, side
        ``households``, ``people``, ``events`` (not yet validated) and the code side tables.
    """
    children, birth_day = _children(rows, f)
    ref = _referrals(rows, f, birth_day)
    ass, s47, plans = _nested_records(rows, f, pd.Index(ref["rid"]))
    _outcomes(ref, ass, s47, f)
    conf, conf_detail = _conferences(ref, s47, plans, f)
    hh_of = _households(children, family, f)
    authorised = ass[ass["auth"].notna()]
    f.many("warnings", "assessment_not_authorised", _where(ass[ass["auth"].isna()]))
    events = _events(ref, authorised, s47, conf, conf_detail, plans, hh_of)
    people, households = _people_households(children, hh_of)
    tables = {"households": households, "people": people, "events": events}
    return tables, _side_tables(children, ref, authorised)


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
