"""The rules that span tables, checked one household chunk at a time.

A chunk holds whole households: their people and every event filed under them. Within it the
rules of :func:`secondlook.schema.validate_tables` are checked with the same wording, with one
difference that makes "nothing lost" possible: a **referral** that breaks a rule is not a reason
to refuse the cohort but a *rejected* row in the output, with its reason
(:data:`REJECTION_REASONS`), and it is left out of everyone's history. Any other event that
breaks a rule refuses the cohort, because it would silently change other referrals' features.

Two rules are stricter than the schema because features are computed per household: an event's
subject and its related person must belong to the household the event is filed under.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from secondlook.schema import ADULT_EVENTS, MAX_PRENATAL_MONTHS, PRENATAL_EVENTS, TableError

__all__ = ["REJECTION_REASONS", "check_chunk"]

#: why a referral is not scored: code (the output's ``rejection_reason``) -> meaning
REJECTION_REASONS: dict[str, str] = {
    "unknown_household": "the referral's household_id is not in the households table",
    "unknown_person": "the referral's person_id is not in the people table",
    "person_in_other_household": "the referred person belongs to another household",
    "subject_not_a_child": "the referred person is an adult",
    "unknown_related_person": "the related_person_id is not a person of the same household",
    "before_birth": (
        "the referral is dated before the child's birth month (more than ten months before, "
        "for an unborn child)"
    ),
}


def check_chunk(
    households: pd.DataFrame, people: pd.DataFrame, events: pd.DataFrame
) -> tuple[pd.DataFrame, pd.Series]:
    """Check the cross-table rules of one chunk; set broken referrals aside.

    Parameters
    ----------
    households, people, events
        One chunk of the cohort, with the contract's columns and types.

    Returns
    -------
    events, rejected
        The events without the rejected referrals (the history features read), and the
        rejected referrals' reasons (codes of :data:`REJECTION_REASONS`) indexed by the
        referral's ``event_id``.

    Raises
    ------
    secondlook.schema.TableError
        If a person's duplicate or any event other than a referral breaks a rule: the table,
        the column and the first offending rows.
    """
    dup = people["person_id"].duplicated(keep=False).to_numpy()
    if dup.any():
        raise TableError("people", "person_id", "field_uniqueness", people[dup])
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
    # when several rules break, the most basic one (last here) names the reason
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
    history = ~is_ref
    for column, check, ok in (
        ("household_id", "refers to a household that exists", known_hh),
        ("person_id", "refers to a person that exists", known_person),
        ("person_id", "the person belongs to the event's household", same_hh),
        ("related_person_id", "refers to a person of the event's household", rel_ok),
        (
            "person_id",
            "subject is a child for child events and an adult for adult events",
            role_ok,
        ),
        ("date", "not before the person's birth month", birth_ok),
    ):
        bad = history & ~ok
        if bad.any():
            raise TableError("events", column, check, events[bad])
    rejected = pd.Series(
        reason[rejected_mask].astype(str),
        index=pd.Index(events["event_id"].to_numpy()[rejected_mask], name="event_id"),
        dtype="str",
        name="rejection_reason",
    )
    return events[~rejected_mask].reset_index(drop=True), rejected
