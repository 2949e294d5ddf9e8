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
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from secondlook.schema import ADULT_EVENTS, MAX_PRENATAL_MONTHS, PRENATAL_EVENTS, TableError
from secondlook.score.arrays import one_array

__all__ = [
    "PLACEHOLDER_CHECK",
    "REJECTION_REASONS",
    "check_chunk",
    "future_check",
    "history_failures",
    "placeholder_dates",
]

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
    # a cohort with a decisions table: a decision that cannot be placed at its referral
    "unknown_referral": (
        "the decision's referral_event_id is not an event of the decision's household"
    ),
    "decision_mismatch": (
        "the decision's referral_event_id is not a referral of the same person and household "
        "on the decision date"
    ),
    "unknown_deprivation": (
        "the model reads the household's deprivation decile, which the cohort records as unknown"
    ),
    "placeholder_date": (
        "the referral's date is a placeholder (on or before 1900-01-01, or in the year 9999)"
    ),
    "future_date": "the referral is dated after the cohort's extract date (--as-of)",
}

#: dates that stand for "not known" in exported records: on or before this day ...
PLACEHOLDER_BEFORE = pd.Timestamp("1900-01-01")
#: ... or on or after this one
PLACEHOLDER_AFTER = pd.Timestamp("9999-01-01")


#: the rule a placeholder date breaks, in words
PLACEHOLDER_CHECK = "not a placeholder date (1900-01-01 or earlier, or in the year 9999)"


def future_check(as_of: pd.Timestamp | None) -> str:
    """The rule a date after the extract date breaks, in words."""
    day = "" if as_of is None else f" {pd.Timestamp(as_of).date()}"
    return f"not after the extract date{day} (--as-of)"


def placeholder_dates(dates: pd.Series | npt.NDArray[np.datetime64]) -> npt.NDArray[np.bool_]:
    """Whether each date is a placeholder for "not known" (1900-01-01 and earlier, year 9999).

    Parameters
    ----------
    dates
        ``datetime64[s]`` values, shape (n,); missing values are not placeholders.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    d = np.asarray(dates, dtype="datetime64[s]")
    lo = np.datetime64(PLACEHOLDER_BEFORE.date(), "s")
    hi = np.datetime64(PLACEHOLDER_AFTER.date(), "s")
    return (d <= lo) | (d >= hi)


def check_chunk(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp | None = None,
) -> tuple[pd.DataFrame, pd.Series]:
    """Check the cross-table rules of one chunk; set broken referrals aside.

    Parameters
    ----------
    households, people, events
        One chunk of the cohort, with the contract's columns and types.
    as_of
        The cohort's extract date: a referral dated after it is rejected (``future_date``),
        as is one dated with a placeholder (``placeholder_date``); any other event dated so
        refuses the cohort.

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
    rules, checks, is_ref = _rules(households, people, events, as_of)
    reason = np.full(len(events), -1, dtype=np.int64)
    # when several rules break, the most basic one (last here) names the reason
    for i, (_, ok) in enumerate(rules):
        reason[~ok] = i
    rejected_mask = is_ref & (reason >= 0)
    history = ~is_ref
    for column, check, ok in checks:
        bad = history & ~ok
        if bad.any():
            raise TableError("events", column, check, events[bad])
    codes = np.array([code for code, _ in rules], dtype=object)
    rejected = pd.Series(
        codes[reason[rejected_mask]].astype(str),
        # the few rejected ids only, not every id as a Python string
        index=pd.Index(events["event_id"][rejected_mask].to_numpy(), name="event_id"),
        dtype="str",
        name="rejection_reason",
    )
    if not rejected_mask.any():
        return events.reset_index(drop=True), rejected
    return events[~rejected_mask].reset_index(drop=True), rejected


def history_failures(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    column: str,
    check: str,
    as_of: pd.Timestamp | None = None,
) -> npt.NDArray[np.object_]:
    """The ``event_id`` of every event other than a referral that fails one rule.

    What a refusal of :func:`check_chunk` counts, chunk by chunk, to name every failing row.

    Parameters
    ----------
    households, people, events, as_of
        As :func:`check_chunk`.
    column, check
        The rule, as named in the :class:`~secondlook.schema.TableError`.

    Returns
    -------
    numpy.ndarray of str
    """
    _, checks, is_ref = _rules(households, people, events, as_of)
    bad = np.zeros(len(events), dtype=bool)
    for c, name, ok in checks:
        if c == column and name == check:
            bad |= ~is_ref & ~ok
    return events["event_id"].to_numpy(dtype=object)[bad]


Rule = tuple[str, npt.NDArray[np.bool_]]
Check = tuple[str, str, npt.NDArray[np.bool_]]


def _rules(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    as_of: pd.Timestamp | None,
) -> tuple[tuple[Rule, ...], tuple[Check, ...], npt.NDArray[np.bool_]]:
    """Each rule's "ok" mask over ``events``: as rejection reasons and as history checks."""
    # every lookup below is on integer codes: Arrow hashes each id column once, then numpy
    person_ids = _arrow(people["person_id"])
    person = _codes(_arrow(events["person_id"]), person_ids)
    related = _codes(_arrow(events["related_person_id"]), person_ids)
    homes = pc.unique(
        pa.concat_arrays([_arrow(households["household_id"]), _arrow(people["household_id"])])
    )
    n_households = len(pc.unique(_arrow(households["household_id"])))
    event_hh = _codes(_arrow(events["household_id"]), homes)  # < n_households: in households
    person_hh = _codes(_arrow(people["household_id"]), homes)
    known_hh = (event_hh >= 0) & (event_hh < n_households)
    known_person = person >= 0
    # per-person values padded with one "unknown person" entry at the end
    at = np.where(known_person, person, len(people))
    home = np.append(person_hh, -2)
    same_hh = (event_hh >= 0) & (home[at] == event_hh)
    rel_null = events["related_person_id"].isna().to_numpy()
    rel_at = np.where(related >= 0, related, len(people))
    rel_ok = rel_null | ((event_hh >= 0) & (home[rel_at] == event_hh))
    child = np.append((people["role"] == "child").fillna(False).to_numpy(dtype=bool), False)
    is_child = child[at]
    is_adult_event, is_prenatal, is_ref = _one_of(
        _arrow(events["type"]), ADULT_EVENTS, PRENATAL_EVENTS, ("referral",)
    )
    role_ok = ~known_person | (is_adult_event != is_child)
    dates = events["date"].to_numpy()
    births = people["birth_month"]
    # NaT (an unknown person) compares False, as the missing values of a mapped column do
    nat = np.array(["NaT"], dtype="datetime64[s]")
    birth = np.concatenate([births.to_numpy(), nat])[at]
    earliest_of = (births - pd.DateOffset(months=MAX_PRENATAL_MONTHS)).to_numpy()
    earliest = np.concatenate([earliest_of, nat])[at]
    before = dates < birth
    prenatal = is_prenatal & is_child
    too_early = dates < earliest
    birth_ok = ~((before & ~prenatal) | (prenatal & too_early))

    placeholder = placeholder_dates(dates)
    future = np.zeros(len(events), dtype=bool)
    if as_of is not None:
        future = dates > np.datetime64(pd.Timestamp(as_of).date(), "s")
    rules = (
        ("before_birth", birth_ok),
        ("unknown_related_person", rel_ok),
        ("subject_not_a_child", role_ok),
        ("person_in_other_household", same_hh | ~known_person),
        ("unknown_person", known_person),
        ("unknown_household", known_hh),
        ("future_date", ~future | placeholder),
        ("placeholder_date", ~placeholder),
    )
    checks: tuple[Check, ...] = (
        ("date", PLACEHOLDER_CHECK, ~placeholder),
        ("date", future_check(as_of), ~future | placeholder),
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
    )
    return rules, checks, is_ref


def _arrow(values: pd.Series) -> pa.Array:
    """The column as Arrow ``large_string`` (zero-copy for pandas' Arrow-backed ``str``)."""
    if isinstance(values.array, pd.arrays.ArrowStringArray):
        out = pa.array(values.array)
    else:
        out = pa.array(values.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    out = one_array(out)
    return out if out.type == pa.large_string() else out.cast(pa.large_string())


def _codes(values: pa.Array, vocabulary: pa.Array) -> npt.NDArray[np.int64]:
    """Position of each value in ``vocabulary`` (unique values), -1 when absent or missing."""
    found = pc.index_in(values, value_set=vocabulary, skip_nulls=True)
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _one_of(values: pa.Array, *allowed: tuple[str, ...]) -> list[npt.NDArray[np.bool_]]:
    """Whether each value is one of each ``allowed`` (missing values are not), shape (n,) each.

    The values are hashed once (a dictionary encoding: an event type column has a few
    distinct values), not once per set.
    """
    encoded = pc.dictionary_encode(values)
    distinct = encoded.dictionary.to_pylist()
    codes = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
    # the last entry stands for a missing value
    return [np.array([v in a for v in distinct] + [False], dtype=bool)[codes] for a in allowed]
