"""The Annex A importer's cross-list rules: the lists' records -> the canonical tables.

No ids link Annex A's lists, so a referral's outcome is found by child and date window
(:data:`LINK_DAYS`); each step is one function, called by :func:`assemble` in the order the
manifest counts its repairs, drops and warnings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from secondlook.ingest import codes
from secondlook.ingest.manifest import Findings
from secondlook.schema import SCHEMAS

__all__ = ["LINK_DAYS", "assemble"]

#: how many days after a referral an assessment or s47 enquiry may start and still be its outcome
LINK_DAYS = 45

Assessment = tuple[str, str | None, str | None, bool | None]
Enquiry = tuple[str, str, str | None, bool | None]
Plan = tuple[str, str, str | None, str, str]
Referral = tuple[str, str, str | None, bool | None]
#: person, date, type, source, detail, event id
Row = tuple[str, Any, str, str, str | None, str]


def _nested_events(
    pid: dict[str, str], ass: list[Assessment], enq: list[Enquiry], plans: list[Plan]
) -> list[Row]:
    """Events of lists 4, 5 and 7: (person, date, type, source, detail, event id)."""
    rows: list[Row] = []
    for child, start, auth, need in ass:
        if child in pid and auth is not None:
            detail = "not_in_need" if need is False else "other"
            rows.append(
                (
                    pid[child],
                    auth,
                    "assessment_completed",
                    "other",
                    detail,
                    f"{pid[child]}-A{start}",
                )
            )
    plan_days = {(x[0], x[1]) for x in plans}
    for child, start, icpc, plan in (e for e in enq if e[0] in pid):
        p = pid[child]
        rows.append((p, start, "s47_started", "other", None, f"{p}-S{start}"))
        if icpc is not None:
            got = bool(plan) or (child, icpc) in plan_days
            rows.append((p, icpc, "icpc", "other", "plan" if got else "no_plan", f"{p}-C{icpc}"))
    for child, start, end, initial, latest in (x for x in plans if x[0] in pid):
        p = pid[child]
        rows.append(
            (p, start, "cp_plan_started", "other", codes.ABUSE_CATEGORY[initial], f"{p}-P{start}")
        )
        if end is not None:
            rows.append(
                (p, end, "cp_plan_ended", "other", codes.ABUSE_CATEGORY[latest], f"{p}-E{start}")
            )
    return rows


def _drop_without_birth(kids: dict[str, dict[str, Any]], f: Findings) -> None:
    """Children with no date of birth (an unborn child with no due date) are dropped."""
    no_birth = [k for k, v in kids.items() if "birth" not in v]
    for k in no_birth:
        f.drop(
            "unborn_without_due_date" if kids[k]["unborn"] else "child_without_birth_date",
            f"child {k}",
        )
        del kids[k]


def _referral_frame(refs: list[Referral], pid: dict[str, str], f: Findings) -> pd.DataFrame:
    """One row per (child, referral date) of a kept child, sorted by child and date."""
    ref_df = pd.DataFrame(refs, columns=["child", "date", "src", "nfa"]).drop_duplicates(
        ["child", "date"]
    )
    if len(ref_df) < len(refs):
        f.repair("duplicate_referral", "list 3", len(refs) - len(ref_df))
    return ref_df[ref_df["child"].isin(pid)].sort_values(["child", "date"]).reset_index(drop=True)


def _outcomes(
    ref_df: pd.DataFrame, ass: list[Assessment], enq: list[Enquiry], f: Findings
) -> np.ndarray:
    """Each referral's outcome by the link rule: ``s47``, ``assessment``, ``nfa`` or ''."""
    nxt = ref_df.groupby("child")["date"].shift(-1)
    day = pd.to_datetime(ref_df["date"])
    until = np.minimum(
        (day + pd.Timedelta(days=LINK_DAYS)).to_numpy(),
        pd.to_datetime(nxt).fillna(pd.Timestamp.max).to_numpy(),
    )

    def starts_within(records: list[tuple[Any, ...]]) -> np.ndarray:
        if not records or ref_df.empty:
            return np.zeros(len(ref_df), dtype=bool)
        df = pd.DataFrame(
            {"child": [x[0] for x in records], "start": pd.to_datetime([x[1] for x in records])}
        )
        m = ref_df[["child"]].assign(lo=day, hi=until).reset_index().merge(df, on="child")
        hit = (m["start"] >= m["lo"]) & (m["start"] < m["hi"])
        return ref_df.index.isin(m.loc[hit, "index"])

    has_s47 = starts_within(enq)
    has_ass = starts_within(ass)
    nfa = ref_df["nfa"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    outcome = np.where(has_s47, "s47", np.where(has_ass, "assessment", np.where(nfa, "nfa", "")))
    f.repairs["activity_on_nfa"] += int((nfa & (has_s47 | has_ass)).sum())
    f.warnings["referral_without_outcome"] += int((outcome == "").sum())
    return outcome


def _referral_events(ref_df: pd.DataFrame, outcome: np.ndarray, pid: dict[str, str]) -> list[Row]:
    """A ``referral`` event per referral and a ``referral_outcome`` where one was found."""
    rows: list[Row] = []
    for (child, date, src, _), out in zip(
        ref_df.itertuples(index=False, name=None), outcome, strict=True
    ):
        source = codes.REFERRAL_SOURCE[src] if src else "other"
        rid = f"{pid[child]}-R{date}"
        rows.append((pid[child], date, "referral", source, "other", rid))
        if out:
            rows.append((pid[child], date, "referral_outcome", "other", out, rid + "-O"))
    return rows


def _events_table(
    rows: list[Row], kids: dict[str, dict[str, Any]], pid: dict[str, str], f: Findings
) -> pd.DataFrame:
    """The canonical events table: duplicates and events long before birth dropped."""
    ev = pd.DataFrame(rows, columns=["person_id", "date", "type", "source", "detail", "event_id"])
    n0 = len(ev)
    ev = ev.drop_duplicates("event_id")
    if len(ev) < n0:
        f.repair("duplicate_row", "lists 4, 5, 7", n0 - len(ev))
    birth = {pid[k]: v["birth"] for k, v in kids.items()}
    early = ev["date"] < ev["person_id"].map(birth).map(
        lambda b: (dt.date.fromisoformat(b) - dt.timedelta(days=280)).isoformat()
    )
    if early.any():
        f.drop("before_birth", "events", int(early.sum()))
        ev = ev[~early]
    ev = ev.assign(
        household_id=ev["person_id"] + "-H",
        date=pd.to_datetime(ev["date"], format="%Y-%m-%d").astype("datetime64[s]"),
        related_person_id=pd.Series(pd.NA, index=ev.index, dtype="str"),
    )
    ev = ev.sort_values(["household_id", "person_id", "date", "event_id"])[
        list(SCHEMAS["events"].columns)
    ].reset_index(drop=True)
    for c in ("event_id", "household_id", "person_id", "type", "source", "detail"):
        ev[c] = ev[c].astype("str")
    return ev


def _people_tables(
    kids: dict[str, dict[str, Any]], pid: dict[str, str], lea: str, ref_df: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, pd.DataFrame]]:
    """People (each child its own household), households and the code side tables."""
    keys = sorted(kids)
    eth = [kids[k].get("eth") or "NOBT" for k in keys]
    people = pd.DataFrame(
        {
            "person_id": pd.Series([pid[k] for k in keys], dtype="str"),
            "household_id": pd.Series([pid[k] + "-H" for k in keys], dtype="str"),
            "role": pd.Series(["child"] * len(keys), dtype="str"),
            "sex": pd.Series(
                [
                    "U" if kids[k].get("gender") in (None, "unborn") else kids[k]["gender"]
                    for k in keys
                ],
                dtype="str",
            ),
            "birth_month": pd.to_datetime([kids[k]["birth"][:7] + "-01" for k in keys]).astype(
                "datetime64[s]"
            ),
            "ethnicity": pd.Series([codes.ETHNICITY[e] for e in eth], dtype="str"),
            "disability": pd.array([kids[k].get("disability") for k in keys], dtype="boolean"),
        }
    )
    households = pd.DataFrame(
        {
            "household_id": people["household_id"],
            "local_authority": pd.Series([f"LA{lea}"] * len(keys), dtype="str"),
            "deprivation_decile": pd.array([pd.NA] * len(keys), dtype="Int64"),
        }
    )
    side = {
        "codes_people": pd.DataFrame(
            {
                "person_id": people["person_id"],
                "ethnicity_code": pd.Series(eth, dtype="str"),
                "sex_code": people["sex"],
                "disability_codes": pd.Series([""] * len(keys), dtype="str"),
            }
        ),
        "codes_referrals": pd.DataFrame(
            {
                "event_id": pd.Series(
                    [
                        f"{pid[c]}-R{d}"
                        for c, d in zip(ref_df["child"], ref_df["date"], strict=True)
                    ],
                    dtype="str",
                ),
                "referral_source_code": ref_df["src"].astype("str"),
                "primary_need_code": pd.Series([None] * len(ref_df), dtype="str"),
                "reason_for_closure": pd.Series([None] * len(ref_df), dtype="str"),
                "closure_date": pd.Series([pd.NaT] * len(ref_df), dtype="datetime64[s]"),
                "nfa_flag": ref_df["nfa"].astype("boolean"),
            }
        ),
    }
    return people, households, side


def assemble(
    kids: dict[str, dict[str, Any]],
    refs: list[Referral],
    ass: list[Assessment],
    enq: list[Enquiry],
    plans: list[Plan],
    lea: str,
    f: Findings,
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Link the lists' records and build the canonical tables.

    Parameters
    ----------
    kids
        Child key -> characteristics read from the lists (``birth`` ISO date, ``gender``,
        ``eth``, ``disability``, ``unborn``); children without a birth date are removed in place.
    refs, ass, enq, plans
        The records of lists 3, 4, 5 and 7, keyed by child (dates as ISO strings).
    lea
        The authority's 3-digit code; people are ``<lea>-<child key>``.
    f
        The findings every repair, drop and warning is counted in (updated in place).

    Returns
    -------
    tables, side
        ``households``, ``people``, ``events`` (not yet validated) and the code side tables.
    """
    _drop_without_birth(kids, f)
    pid = {k: f"{lea}-{k}" for k in kids}
    ref_df = _referral_frame(refs, pid, f)
    outcome = _outcomes(ref_df, ass, enq, f)
    rows = _referral_events(ref_df, outcome, pid) + _nested_events(pid, ass, enq, plans)
    ev = _events_table(rows, kids, pid, f)
    people, households, side = _people_tables(kids, pid, lea, ref_df)
    return {"households": households, "people": people, "events": ev}, side
