"""Write a canonical cohort as a CIN census return of one collection year.

The census nests every record under the referral it belongs to, and the canonical events do
not: :func:`census_episodes` links them back, by rule, for each child:

- an ``assessment_completed`` belongs to the child's latest referral on or before it whose
  outcome was ``assessment`` or ``s47``; an ``s47_started``, ``icpc`` or ``cp_plan_started``
  to the latest ``s47`` referral on or before it; a ``cp_plan_ended`` to the plan it ends (the
  child's latest plan started on or before it);
- an episode closes on its NFA referral's day, on the day a not-in-need assessment is
  authorised, or on the latest end of its plans; it stays open while a plan is open, and an
  ``assessment`` or ``s47`` episode with nothing more to close it closes on its last record;
- the return for year ``Y`` (1 April ``Y-1`` to 31 March ``Y``) holds every episode referred in
  the year and every episode open on 1 April, with the nested records and closure dated on or
  before 31 March.

What the census cannot hold is not written: adults, households, police, health and school
events, ``s47_concluded`` (the census has no enquiry outcome) and removals. The s47 enquiry
starts on ``s47_started`` when the cohort records it, else on the referral day. Codes come from
the ``codes_*`` side tables of an imported cohort when they are given (so a re-export writes
what was read), else from :mod:`secondlook.ingest.codes`.

A household link is not part of the census; :func:`family_links` gives the ``LAchildID`` ->
family id table that ``secondlook import cin-census --households`` reads back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from lxml import etree

from secondlook.ingest import codes
from secondlook.ingest.errors import ImportRefused

__all__ = [
    "census_episodes",
    "export_census",
    "family_links",
    "lea_code",
    "prepare",
    "write_census",
]


def lea_code(local_authority: str) -> str:
    """The 3-digit LEA code of a canonical ``local_authority`` (``LA01`` -> ``001``).

    Parameters
    ----------
    local_authority
        ``LA`` followed by 2 or 3 digits.

    Returns
    -------
    str
        The digits, zero-padded to 3 (the simulator's authorities are not real LEA codes).
    """
    return f"{int(local_authority[2:]):03d}"


def _child_id(person_id: str, lea: str) -> str:
    prefix = f"{lea}-"
    return person_id[len(prefix) :] if person_id.startswith(prefix) else person_id


@dataclass(frozen=True)
class Episodes:
    """The cohort's referrals with their nested records linked (see the module docstring).

    Attributes
    ----------
    referrals
        One row per referral: ``event_id``, ``person_id``, ``date``, ``source``, ``detail``,
        ``outcome`` ('' when none), ``closure`` (NaT while open).
    nested
        One row per linked record: ``rid`` (its referral's event id), ``type``, ``date``,
        ``detail``, ``event_id``, ``end`` and ``end_detail`` (plans), ``plan_index`` (how many
        plans the child had before).
    unlinked
        How many census-kind events no referral could hold, by type.
    """

    referrals: pd.DataFrame
    nested: pd.DataFrame
    unlinked: dict[str, int]


def _greedy(events: pd.DataFrame, refs: pd.DataFrame, window_days: int = 365) -> pd.Series:
    """Link each event to the earliest referral of its person not yet holding one, dated on or
    before it and at most ``window_days`` before; else to the latest one on or before it.

    ``events`` and ``refs`` have ``person_id``, ``date`` (and ``refs`` an ``event_id``); the
    result is aligned with ``events`` (NaN where the person has no referral before it).
    """
    out = pd.Series(np.nan, index=events.index, dtype=object)
    if events.empty or refs.empty:
        return out
    picked: dict[Any, str] = {}
    table: dict[str, tuple[np.ndarray, list[str], list[bool]]] = {}
    for pid, g in refs.sort_values(["person_id", "date"], kind="stable").groupby(
        "person_id", sort=False
    ):
        table[str(pid)] = (
            g["date"].to_numpy(dtype="datetime64[s]"),
            g["event_id"].tolist(),
            [False] * len(g),
        )
    window = np.timedelta64(window_days, "D")
    ordered = events.sort_values(["person_id", "date"], kind="stable")
    for idx, pid, day in zip(
        ordered.index,
        ordered["person_id"],
        ordered["date"].to_numpy(dtype="datetime64[s]"),
        strict=True,
    ):
        entry = table.get(str(pid))
        if entry is None:
            continue
        dates, ids, used = entry
        k = int(np.searchsorted(dates, day, side="right"))
        if k == 0:
            continue
        pick = k - 1
        for j in range(k):
            if not used[j] and dates[j] >= day - window:
                pick = j
                break
        used[pick] = True
        picked[idx] = ids[pick]
    return out.fillna(pd.Series(picked, dtype=object))


def census_episodes(events: pd.DataFrame) -> Episodes:
    """Link each census-kind event of a cohort to the referral that holds it.

    Parameters
    ----------
    events
        The canonical events table.

    Returns
    -------
    Episodes
    """
    ev = events[["event_id", "person_id", "date", "type", "source", "detail"]].copy()
    ev["date"] = ev["date"].astype("datetime64[s]")
    refs = ev[ev["type"] == "referral"].copy()
    out = ev[ev["type"] == "referral_outcome"][["person_id", "date", "detail"]]
    out = out.drop_duplicates(["person_id", "date"]).rename(columns={"detail": "outcome"})
    refs = refs.merge(out, on=["person_id", "date"], how="left")
    refs["outcome"] = refs["outcome"].fillna("")
    unlinked: dict[str, int] = {}
    assessed = refs[refs["outcome"].isin(("assessment", "s47"))]
    enquired = refs[refs["outcome"] == "s47"]

    parts = []
    for etype, cands in (
        ("assessment_completed", assessed),
        ("s47_started", enquired),
        ("icpc", enquired),
    ):
        sub = ev[ev["type"] == etype].copy()
        sub["rid"] = _greedy(sub, cands)
        unlinked[etype] = int(sub["rid"].isna().sum())
        parts.append(sub.dropna(subset=["rid"]))
    # a plan belongs to the referral whose conference was that day, else the latest s47 one
    conf = parts[-1][parts[-1]["detail"] == "plan"][["person_id", "date", "rid"]]
    conf = conf.drop_duplicates(["person_id", "date"])
    plans = ev[ev["type"] == "cp_plan_started"].copy()
    plans = plans.merge(conf, on=["person_id", "date"], how="left")
    missing = plans["rid"].isna()
    if missing.any():
        plans.loc[missing, "rid"] = _greedy(plans[missing], enquired, window_days=0).to_numpy()
    unlinked["cp_plan_started"] = int(plans["rid"].isna().sum())
    plans = plans.dropna(subset=["rid"]).sort_values(["person_id", "date"], kind="stable")
    plans["plan_index"] = plans.groupby("person_id").cumcount()
    ends = ev[ev["type"] == "cp_plan_ended"].copy()
    starts = plans[["person_id", "date", "event_id"]]
    ends["plan_id"] = _greedy(ends, starts, window_days=100 * 366)
    unlinked["cp_plan_ended"] = int(ends["plan_id"].isna().sum())
    end_of = ends.dropna(subset=["plan_id"]).drop_duplicates("plan_id").set_index("plan_id")
    nested = pd.concat([*parts, plans], ignore_index=True)
    # reindex, not map: a map that finds nothing tries to cast the dates to float
    nested["end"] = end_of["date"].astype("datetime64[s]").reindex(nested["event_id"]).to_numpy()
    nested["end_detail"] = end_of["detail"].reindex(nested["event_id"]).to_numpy()

    # closure
    last = nested.groupby("rid")["date"].max()
    last_end = nested.groupby("rid")["end"].max()
    is_plan = nested["type"] == "cp_plan_started"
    plan_open = nested.loc[is_plan & nested["end"].isna(), "rid"].unique()
    closure = pd.concat(
        [
            pd.Series(last.reindex(refs["event_id"]).to_numpy(), index=refs.index),
            pd.Series(last_end.reindex(refs["event_id"]).to_numpy(), index=refs.index),
        ],
        axis=1,
    ).max(axis=1)
    closure = closure.where(refs["outcome"] != "nfa", refs["date"])
    closure = closure.where(refs["outcome"] != "", pd.NaT)
    closure = closure.where(~refs["event_id"].isin(plan_open), pd.NaT)
    refs["closure"] = pd.to_datetime(closure).astype("datetime64[s]")
    return Episodes(refs, nested, unlinked)


def family_links(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The ``LAchildID``, ``LEA``, ``family_id`` table of a cohort's children.

    Parameters
    ----------
    tables
        ``households`` and ``people`` of a canonical cohort.

    Returns
    -------
    pandas.DataFrame
        One row per child, in person order: what the census does not hold and
        ``secondlook import cin-census --households`` reads back.
    """
    people = tables["people"]
    kids = people[people["role"] == "child"].sort_values("person_id")
    la = tables["households"].set_index("household_id")["local_authority"]
    lea = kids["household_id"].map(la).map(lea_code)
    return pd.DataFrame(
        {
            "LAchildID": [_child_id(p, le) for p, le in zip(kids["person_id"], lea, strict=True)],
            "LEA": lea.to_numpy(),
            "family_id": kids["household_id"].to_numpy(),
        }
    )


def _text(parent: Any, tag: str, value: Any) -> None:
    etree.SubElement(parent, tag).text = str(value)


@dataclass(frozen=True)
class _Prepared:
    """The cohort as plain Python records, ready to render any year fast."""

    refs: list[tuple[Any, ...]]  # (lea, person_id, rid, date, source, detail, outcome, closure)
    nested: dict[str, list[tuple[Any, ...]]]  # rid -> (type, date, detail, event_id, end, ...)
    people: dict[str, tuple[Any, ...]]  # person_id -> (birth, sex, ethnicity, disability)
    codes_people: dict[str, tuple[str, list[str]]]
    codes_refs: dict[str, tuple[str | None, str | None, str | None]]
    codes_factors: dict[str, list[str]]


def _isos(values: pd.Series) -> list[Any]:
    days = pd.to_datetime(values).dt.strftime("%Y-%m-%d")
    return [None if pd.isna(v) else v for v in days]


def prepare(
    tables: Mapping[str, pd.DataFrame], side: Mapping[str, pd.DataFrame] | None = None
) -> _Prepared:
    """Link the cohort's episodes once (:func:`census_episodes`) for :func:`export_census`."""
    side = side or {}
    people = tables["people"]
    hh_la = tables["households"].set_index("household_id")["local_authority"]
    eps = census_episodes(tables["events"])
    r = eps.referrals.sort_values(["person_id", "date"], kind="stable")
    lea = r["person_id"].map(people.set_index("person_id")["household_id"]).map(hh_la)
    refs = list(
        zip(
            [lea_code(x) for x in lea],
            r["person_id"],
            r["event_id"],
            _isos(r["date"]),
            r["source"],
            r["detail"],
            r["outcome"],
            _isos(r["closure"]),
            strict=True,
        )
    )
    n = eps.nested.sort_values(["rid", "date", "event_id"], kind="stable")
    nested: dict[str, list[tuple[Any, ...]]] = {}
    plan_index = n["plan_index"].fillna(0).astype(int)
    for row in zip(
        n["rid"],
        n["type"],
        _isos(n["date"]),
        n["detail"],
        n["event_id"],
        _isos(n["end"]),
        n["end_detail"],
        plan_index,
        strict=True,
    ):
        nested.setdefault(row[0], []).append(row[1:])
    kids = people[people["role"] == "child"]
    ppl = {
        pid: (b, sx, eth, None if pd.isna(dis) else bool(dis))
        for pid, b, sx, eth, dis in zip(
            kids["person_id"],
            _isos(kids["birth_month"]),
            kids["sex"],
            kids["ethnicity"],
            kids["disability"].astype("object"),
            strict=True,
        )
    }
    cp: dict[str, tuple[str, list[str]]] = {}
    if "codes_people" in side:
        t = side["codes_people"]
        for pid, e, d in zip(
            t["person_id"], t["ethnicity_code"], t["disability_codes"], strict=True
        ):
            cp[pid] = (e, str(d).split() if isinstance(d, str) else [])
    cr: dict[str, tuple[str | None, str | None, str | None]] = {}
    if "codes_referrals" in side:
        t = side["codes_referrals"]
        for rid, src, need, reason in zip(
            t["event_id"],
            t["referral_source_code"],
            t["primary_need_code"],
            t["reason_for_closure"],
            strict=True,
        ):
            cr[rid] = tuple(v if isinstance(v, str) else None for v in (src, need, reason))  # type: ignore[assignment]
    cf: dict[str, list[str]] = {}
    if "codes_factors" in side:
        t = side["codes_factors"]
        for eid, code in zip(t["event_id"], t["factor_code"], strict=True):
            cf.setdefault(eid, []).append(code)
    return _Prepared(refs, nested, ppl, cp, cr, cf)


def export_census(
    tables: Mapping[str, pd.DataFrame] | _Prepared,
    year: int,
    *,
    side: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, bytes]:
    """Render a cohort as census returns of one collection year, one per local authority.

    Parameters
    ----------
    tables
        ``households``, ``people``, ``events`` of a canonical cohort (the synthetic world or an
        imported one), or :func:`prepare` of them (to render several years fast).
    year
        Collection year ``Y`` (the year to 31 March ``Y``), 2017-2026. Years to 2024 write
        ``GenderCurrent``, later ones ``Sex``.
    side
        The ``codes_*`` side tables of an imported cohort, or None.

    Returns
    -------
    dict of str to bytes
        LEA code -> the XML document (UTF-8). Authorities with no child in the year give none.

    Raises
    ------
    ImportRefused
        When ``year`` is outside 2017-2026 or a child's id is longer than 20 characters.
    """
    if year not in codes.YEARS:
        raise ImportRefused("(export)", f"year {year} is not one of 2017-2026")
    prep = tables if isinstance(tables, _Prepared) else prepare(tables, side)
    start, ref_date = f"{year - 1}-04-01", f"{year}-03-31"
    by_lea: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for r in prep.refs:
        lea, pid, _, day, _, _, _, closure = r
        if day <= ref_date and (day >= start or closure is None or closure >= start):
            by_lea.setdefault(lea, {}).setdefault(pid, []).append(r)
    out: dict[str, bytes] = {}
    for lea in sorted(by_lea):
        root = etree.Element("Message")
        header = etree.SubElement(root, "Header")
        cd = etree.SubElement(header, "CollectionDetails")
        _text(cd, "Collection", "CIN")
        _text(cd, "Year", year)
        _text(cd, "ReferenceDate", ref_date)
        source = etree.SubElement(header, "Source")
        _text(source, "SourceLevel", "L")
        _text(source, "LEA", lea)
        _text(source, "SoftwareCode", "secondlook export")
        _text(source, "Release", "1")
        _text(source, "SerialNo", "001")
        _text(source, "DateTime", f"{year}-05-01T00:00:00")
        children = etree.SubElement(root, "Children")
        for pid in sorted(by_lea[lea]):
            _child(children, pid, lea, by_lea[lea][pid], prep, year, ref_date)
        out[lea] = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return out


def _child(
    children: Any,
    pid: str,
    lea: str,
    refs: list[tuple[Any, ...]],
    prep: _Prepared,
    year: int,
    ref_date: str,
) -> None:
    laid = _child_id(pid, lea)
    if len(laid) > 20:
        raise ImportRefused("(export)", f"child id `{laid}` is longer than 20 characters")
    birth, sex, ethnicity, disability = prep.people[pid]
    child = etree.SubElement(children, "Child")
    ids = etree.SubElement(child, "ChildIdentifiers")
    _text(ids, "LAchildID", laid)
    unborn = birth > ref_date
    _text(ids, "ExpectedPersonBirthDate" if unborn else "PersonBirthDate", birth)
    sex = "U" if unborn else sex
    if year >= codes.SEX_FROM_YEAR:
        _text(ids, "Sex", sex)
    else:
        _text(ids, "GenderCurrent", codes.GENDER_CODE[sex])
    chars = etree.SubElement(child, "ChildCharacteristics")
    eth, dis = prep.codes_people.get(pid, (None, []))
    _text(chars, "Ethnicity", eth or codes.ETHNICITY_CODE[ethnicity])
    if not dis and disability is not None:
        dis = ["DDA"] if disability else ["NONE"]
    if dis:
        holder = etree.SubElement(chars, "Disabilities")
        for d in dis:
            _text(holder, "Disability", d)
    for r in refs:
        _details(child, r, prep, ref_date)


def _details(child: Any, r: tuple[Any, ...], prep: _Prepared, ref_date: str) -> None:
    _, _, rid, day, source, concern, outcome, closure = r
    d = etree.SubElement(child, "CINdetails")
    _text(d, "CINreferralDate", day)
    src_code, need, reason = prep.codes_refs.get(rid, (None, None, None))
    _text(d, "ReferralSource", src_code or codes.SOURCE_CODE[source])
    _text(d, "PrimaryNeedCode", need or codes.NEED_CODE.get(concern, "N0"))
    rows = [x for x in prep.nested.get(rid, []) if x[1] <= ref_date]
    ass = [x for x in rows if x[0] == "assessment_completed"]
    if closure is not None and closure <= ref_date:
        _text(d, "CINclosureDate", closure)
        not_in_need = outcome == "nfa" or (
            outcome == "assessment" and ass and all(a[2] == "not_in_need" for a in ass)
        )
        _text(d, "ReasonForClosure", reason or ("RC8" if not_in_need else "RC7"))
    for a in ass:
        el = etree.SubElement(d, "Assessments")
        _text(el, "AssessmentActualStartDate", day)
        _text(el, "AssessmentAuthorisationDate", a[1])
        factors = prep.codes_factors.get(a[3])
        if factors is None:
            concerns = [] if a[2] == "not_in_need" else str(a[2]).split(";")
            factors = [codes.CONCERN_FACTOR[c] for c in concerns] or [codes.NO_FACTORS]
        fh = etree.SubElement(el, "FactorsIdentifiedAtAssessment")
        for code in factors:
            _text(fh, "AssessmentFactors", code)
    if outcome == "s47":
        starts = [x[1] for x in rows if x[0] == "s47_started"] or [day]
        held: dict[int, str] = {}
        for c in (x[1] for x in rows if x[0] == "icpc"):
            # each conference goes to the latest enquiry started on or before it
            i = max((j for j, s in enumerate(starts) if s <= c), default=0)
            held.setdefault(i, c)
        for i, s in enumerate(starts):
            el = etree.SubElement(d, "Section47")
            _text(el, "S47ActualStartDate", s)
            if i in held:
                _text(el, "DateOfInitialCPC", held[i])
            _text(el, "ICPCnotRequired", "false" if i in held else "true")
    _text(d, "ReferralNFA", "true" if outcome == "nfa" else "false")
    for p in rows:
        if p[0] != "cp_plan_started":
            continue
        _, start, cat, _, end, end_cat, index = p
        el = etree.SubElement(d, "ChildProtectionPlans")
        _text(el, "CPPstartDate", start)
        ended = end is not None and end <= ref_date
        if ended:
            _text(el, "CPPendDate", end)
        _text(el, "InitialCategoryOfAbuse", codes.CATEGORY_CODE[cat])
        latest = end_cat if ended and isinstance(end_cat, str) else cat
        _text(el, "LatestCategoryOfAbuse", codes.CATEGORY_CODE[latest])
        _text(el, "NumberOfPreviousCPP", int(index))


def write_census(documents: Mapping[str, bytes], out: Path) -> list[Path]:
    """Write the returns of :func:`export_census`: ``out`` when one, else ``<stem>_<LEA>.xml``.

    Each file is written to a temporary name beside it and renamed, so a failure leaves no
    partial file.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for lea, doc in sorted(documents.items()):
        path = out if len(documents) == 1 else out.with_name(f"{out.stem}_{lea}{out.suffix}")
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(doc)
        tmp.replace(path)
        written.append(path)
    return written
