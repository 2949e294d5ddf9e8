"""Point-in-time features from case histories, vectorised.

One code path builds the features for training (one row per decision) and for scoring (one row
per referral in a date range, no truth needed). Every feature obeys the point-in-time rule of
DATA_MODEL.md: a decision at referral ``r`` on date ``d`` sees only events dated strictly before
``d`` and the source and concern of ``r`` itself -- never ``r``'s outcome, which is dated on or
after ``d``.

How it is fast: every event is reduced to an integer key (the person or household it belongs
to, sometimes combined with a category such as the concern) and an integer day. A
:class:`_Timeline` holds the sorted ``key * span + day`` values of one kind of event, so the
number of such events of key ``k`` in a window ``[lo, d)`` is the difference of two binary
searches, answered for all decisions at once with :func:`numpy.searchsorted`. Sibling counts are
household counts minus the child's own (the latest sibling referral, a maximum that does not
subtract, skips back over the run of the child's own referrals); the adults of a household are expanded into
(decision, adult) pairs with :func:`numpy.repeat`. There is no Python loop over decisions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pa_compute

from secondlook.features.catalogue import (
    ADULT_CONTACT_KINDS,
    ASSESSMENT_FACTORS,
    NO_REFERRAL_DAYS,
    NON_MOBILE_MONTHS,
    feature_names,
)
from secondlook.schema import CONCERNS, SOURCES

__all__ = ["ID_COLUMNS", "build_features", "months_before"]

#: the identifying columns every feature table starts with
ID_COLUMNS = ("decision_id", "person_id", "household_id", "decision_date", "referral_event_id")

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
DateLike = dt.date | str | pd.Timestamp | None

#: ED attendance details that record an injury without an accidental explanation
UNEXPLAINED_INJURIES = ("injury_unexplained", "bruising", "fracture", "burn")
_NEVER = np.int64(-(2**40))
_FROM_START = np.int64(-(2**39))


def _days(values: pd.Series) -> Ints:
    """Whole days since 1970-01-01 of a datetime column."""
    arr = values.to_numpy(dtype="datetime64[s]").astype("datetime64[D]")
    return arr.astype(np.int64)


def _lookup(values: pd.Series, vocabulary: pd.Series | pd.Index) -> Ints:
    """Position of each value in ``vocabulary`` (unique), -1 when absent or missing.

    Arrow's hash lookup is an order of magnitude faster than ``Index.get_indexer`` on a
    million strings.
    """
    found = pa_compute.index_in(
        pa.array(values, type=pa.string(), from_pandas=True),
        value_set=pa.array(vocabulary, type=pa.string(), from_pandas=True),
    )
    return np.asarray(found.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _month_index(days: Ints) -> Ints:
    """Calendar months since 1970-01 of each day."""
    return days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def months_before(days: Ints, months: int) -> Ints:
    """The same day ``months`` calendar months earlier, clamped to the end of shorter months.

    Parameters
    ----------
    days
        Days since 1970-01-01, shape (n,).
    months
        How many calendar months to go back.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
        E.g. 2021-03-31 minus one month is 2021-02-28 (as SQL interval arithmetic does).
    """
    d = days.astype("datetime64[D]")
    m = d.astype("datetime64[M]")
    day_of_month = (d - m.astype("datetime64[D]")).astype(np.int64)
    target = m - np.timedelta64(months, "M")
    first = target.astype("datetime64[D]")
    length = ((target + np.timedelta64(1, "M")).astype("datetime64[D]") - first).astype(np.int64)
    return first.astype(np.int64) + np.minimum(day_of_month, length - 1)


class _Timeline:
    """Sorted (key, day) pairs of one kind of event, answering window queries in bulk."""

    def __init__(self, keys: Ints, days: Ints, day0: int, span: int) -> None:
        keep = keys >= 0
        self.day0, self.span = day0, span
        self.values = np.sort(keys[keep] * span + (days[keep] - day0))
        self._cache: dict[tuple[int, int], tuple[Ints, Ints, Ints]] = {}

    def _query(self, keys: Ints, days: Ints) -> Ints:
        return keys * self.span + (np.clip(days, self.day0, self.day0 + self.span - 1) - self.day0)

    def _position(self, keys: Ints, days: Ints) -> Ints:
        # several windows share the same upper bound: search it once
        cached = self._cache.get((id(keys), id(days)))
        if cached is not None and cached[0] is keys and cached[1] is days:
            return cached[2]
        found = np.searchsorted(self.values, self._query(keys, days), side="left")
        self._cache[(id(keys), id(days))] = (keys, days, found)
        return found

    def count(self, keys: Ints, lo: Ints | int, hi: Ints) -> Ints:
        """Events of each key dated in ``[lo, hi)``."""
        lo_arr = np.broadcast_to(np.asarray(lo, dtype=np.int64), hi.shape)
        a = np.searchsorted(self.values, self._query(keys, lo_arr), side="left")
        b = self._position(keys, hi)
        return (b - a).astype(np.int64)

    def ever(self, keys: Ints, hi: Ints) -> Ints:
        """Events of each key dated before ``hi``."""
        return self.count(keys, self.day0, hi)

    def last_before(self, keys: Ints, hi: Ints, missing: np.int64) -> Ints:
        """Day of each key's latest event dated before ``hi``, or ``missing``."""
        idx = self._position(keys, hi) - 1
        if len(self.values) == 0:
            return np.full(len(keys), missing, dtype=np.int64)
        found = self.values[np.maximum(idx, 0)]
        ok = (idx >= 0) & (found // self.span == keys)
        return np.where(ok, found % self.span + self.day0, missing).astype(np.int64)


def _last_by_another(
    timeline: _Timeline,
    group: Ints,
    member: Ints,
    days: Ints,
    query_group: Ints,
    query_member: Ints,
    hi: Ints,
    missing: np.int64,
) -> Ints:
    """Day of each group's latest event dated before ``hi`` about a member other than the asker.

    The sibling counterpart of :meth:`_Timeline.last_before` (a household's latest referral
    about a child other than this one): counts subtract, maxima do not. The events are sorted
    by (group, day) and each is given the start of its run of consecutive events about the same
    member; when the latest event before ``hi`` is about the asker, the event just before its
    run is the latest one about anybody else.

    Parameters
    ----------
    timeline
        Supplies the (group, day) encoding: its ``day0`` and ``span``.
    group, member, days
        Group code (-1: none), member code and day of each event, shape (m,).
    query_group, query_member, hi
        The group, the member to leave out and the exclusive upper day of each query, shape
        (n,).
    missing
        Returned where the group has no such event.

    Returns
    -------
    numpy.ndarray of int64, shape (n,)
    """
    keep = group >= 0
    if not keep.any():
        return np.full(len(hi), missing, dtype=np.int64)
    values = group[keep] * timeline.span + (days[keep] - timeline.day0)
    order = np.argsort(values, kind="stable")
    values, who = values[order], member[keep][order]
    key = values // timeline.span
    begins = np.ones(len(values), dtype=bool)
    begins[1:] = (who[1:] != who[:-1]) | (key[1:] != key[:-1])
    run_start = np.maximum.accumulate(np.where(begins, np.arange(len(values)), 0))
    last = np.searchsorted(values, timeline._query(query_group, hi), side="left") - 1
    at = np.maximum(last, 0)
    found = np.where(who[at] == query_member, run_start[at] - 1, last)
    at = np.maximum(found, 0)
    ok = (found >= 0) & (key[at] == query_group)
    return np.where(ok, values[at] % timeline.span + timeline.day0, missing).astype(np.int64)


class _Events:
    """The events table reduced to integer codes, with masks by type and detail."""

    def __init__(self, events: pd.DataFrame, person_ids: pd.Series, hh_ids: pd.Series) -> None:
        self.person = _lookup(events["person_id"], person_ids)
        self.household = _lookup(events["household_id"], hh_ids)
        self.related = _lookup(events["related_person_id"], person_ids)
        self.day = _days(events["date"])
        self._type, self._types = pd.factorize(events["type"])
        self._detail, self._details = pd.factorize(events["detail"])
        self.detail = events["detail"]

    def of(self, etype: str, details: Sequence[str] | None = None) -> Bools:
        """Mask of events of ``etype`` (and, when given, one of ``details``)."""
        types = pd.Index(self._types)
        if etype not in types:
            return np.zeros(len(self.day), dtype=bool)
        mask = self._type == types.get_loc(etype)
        if details is not None:
            idx = pd.Index(self._details).get_indexer(list(details))
            mask &= np.isin(self._detail, idx[idx >= 0])
        return np.asarray(mask, dtype=bool)

    def category(self, mask: Bools, vocabulary: Sequence[str]) -> Ints:
        """Position of each masked event's detail in ``vocabulary`` (-1 when absent)."""
        pos = pd.Index(vocabulary).get_indexer(pd.Index(self._details))
        codes = self._detail[mask]
        return np.where(codes >= 0, pos[np.maximum(codes, 0)], -1).astype(np.int64)


def _as_day(value: DateLike) -> int | None:
    if value is None:
        return None
    return int(np.datetime64(pd.Timestamp(value).date(), "D").astype(np.int64))


def _decision_points(
    events: pd.DataFrame,
    decisions: pd.DataFrame | None,
    start: DateLike,
    end: DateLike,
) -> tuple[pd.DataFrame, npt.NDArray[np.intp]]:
    """The decision points and, for each, the row of its referral in ``events``."""
    if decisions is not None:
        missing = [c for c in ID_COLUMNS if c not in decisions.columns]
        if missing:
            raise ValueError(f"decisions: missing column(s) {missing}")
        points = decisions[list(ID_COLUMNS)].reset_index(drop=True)
        # look the referrals up among referral events only (a quarter of a large table)
        referral_rows = np.flatnonzero((events["type"] == "referral").to_numpy())
        found = _lookup(points["referral_event_id"], events["event_id"].iloc[referral_rows])
        if (found < 0).any():
            ids = points.loc[found < 0, "referral_event_id"]
            known = ids.isin(events["event_id"])
            if known.any():
                raise ValueError(
                    "decisions: referral_event_id must name a `referral` event, not "
                    f"{ids[known].head(5).tolist()}"
                )
            raise ValueError(
                f"decisions: referral_event_id not found in events: {ids.head(5).tolist()}"
            )
        rows = referral_rows[found]
        return points, rows
    is_ref = (events["type"] == "referral").to_numpy().copy()
    day = _days(events["date"])
    lo, hi = _as_day(start), _as_day(end)
    if lo is not None:
        is_ref &= day >= lo
    if hi is not None:
        is_ref &= day <= hi
    rows = np.flatnonzero(is_ref)
    ref = events.iloc[rows]
    points = pd.DataFrame(
        {
            "decision_id": ref["event_id"].to_numpy(),
            "person_id": ref["person_id"].to_numpy(),
            "household_id": ref["household_id"].to_numpy(),
            "decision_date": ref["date"].to_numpy(),
            "referral_event_id": ref["event_id"].to_numpy(),
        }
    )
    order = np.lexsort((points["decision_id"].to_numpy(), points["decision_date"].to_numpy()))
    return points.iloc[order].reset_index(drop=True), rows[order]


def _expand(group_of_items: Ints, group_of_points: Ints) -> tuple[Ints, Ints]:
    """All (point, item) pairs where the item belongs to the point's group.

    Returns the point index and the item index of each pair; vectorised with repeat.
    """
    order = np.argsort(group_of_items, kind="stable")
    sorted_groups = group_of_items[order]
    first = np.searchsorted(sorted_groups, group_of_points, side="left")
    last = np.searchsorted(sorted_groups, group_of_points, side="right")
    sizes = last - first
    point = np.repeat(np.arange(len(group_of_points), dtype=np.int64), sizes)
    offsets = np.cumsum(sizes) - sizes
    within = np.arange(len(point), dtype=np.int64) - np.repeat(offsets, sizes)
    item = order[np.repeat(first, sizes) + within]
    return point, item.astype(np.int64)


def _any_by_point(point: Ints, flag: Bools, n: int) -> Ints:
    return (np.bincount(point[flag], minlength=n) > 0).astype(np.int64)


def build_features(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    decisions: pd.DataFrame | None = None,
    *,
    start: DateLike = None,
    end: DateLike = None,
) -> pd.DataFrame:
    """Build the point-in-time features of every decision point.

    Parameters
    ----------
    households, people, events
        The canonical tables (see :mod:`secondlook.schema`).
    decisions
        The decisions to featurize, one output row each, in their order. When ``None``, every
        ``referral`` event dated in ``[start, end]`` is a decision point (for scoring a cohort
        with no decisions table); its ``decision_id`` is the referral's ``event_id``.
    start, end
        Inclusive date range of the referrals to featurize when ``decisions`` is ``None``
        (``None``: unbounded). Ignored when ``decisions`` is given.

    Returns
    -------
    pandas.DataFrame
        Shape (n_points, 5 + n_features): :data:`ID_COLUMNS`, then every feature of
        :data:`secondlook.features.CATALOGUE` in catalogue order, all int64.

    Raises
    ------
    ValueError
        If a decision's referral, person or household is not in the tables.
    """
    points, ref_rows = _decision_points(events, decisions, start, end)
    n = len(points)
    hh_ids = households["household_id"]
    # number people household by household, and work on the points sorted by (person, date):
    # then every binary search below receives sorted needles, which is several times faster
    people = people.iloc[
        np.argsort(_lookup(people["household_id"], hh_ids), kind="stable")
    ].reset_index(drop=True)
    person_ids = people["person_id"]
    pc = _lookup(points["person_id"], person_ids)
    hc = _lookup(points["household_id"], hh_ids)
    if (pc < 0).any() or (hc < 0).any():
        bad = points.loc[(pc < 0) | (hc < 0), "decision_id"].head(5).tolist()
        raise ValueError(f"decision points refer to unknown people or households: {bad}")
    d = _days(points["decision_date"])
    order = np.lexsort((d, pc))
    pc, hc, d, ref_rows = pc[order], hc[order], d[order], ref_rows[order]
    ev = _Events(events, person_ids, hh_ids)

    all_days = np.concatenate([ev.day, d])
    day0 = int(all_days.min()) if len(all_days) else 0
    span = (int(all_days.max()) - day0 + 2) if len(all_days) else 2
    lo = {k: months_before(d, k) for k in (3, 12, 36)}
    out: dict[str, Ints] = {}

    def timeline(keys: Ints, mask: Bools) -> _Timeline:
        return _Timeline(keys[mask], ev.day[mask], day0, span)

    # --- the child ---------------------------------------------------------------------------
    birth_month = _month_index(_days(people["birth_month"]))
    age = _month_index(d) - birth_month[pc]
    unborn = age < 0
    out["age_months"] = np.maximum(age, 0)
    out["unborn"] = unborn.astype(np.int64)
    out["not_yet_mobile"] = ((age >= 0) & (age < NON_MOBILE_MONTHS)).astype(np.int64)
    disability = people["disability"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    out["disability"] = disability[pc].astype(np.int64)

    # --- referrals: this child and the siblings ----------------------------------------------
    is_ref = ev.of("referral")
    own_ref = timeline(ev.person, is_ref)
    hh_ref = timeline(ev.household, is_ref)
    nc = len(CONCERNS)
    concern = np.full(len(ev.day), -1, dtype=np.int64)
    concern[is_ref] = ev.category(is_ref, CONCERNS)
    has_concern = is_ref & (concern >= 0)
    own_ref_c = timeline(np.where(concern >= 0, ev.person * nc + concern, -1), has_concern)
    hh_ref_c = timeline(np.where(concern >= 0, ev.household * nc + concern, -1), has_concern)
    own_counts = {k: own_ref.count(pc, lo[k], d) for k in (3, 12, 36)}
    for k in (3, 12, 36):
        out[f"referrals_{k}m"] = own_counts[k]
    own_by_concern = {}
    for i, c in enumerate(CONCERNS):
        own_by_concern[c] = own_ref_c.count(pc * nc + i, lo[36], d)
        out[f"referrals_36m_{c}"] = own_by_concern[c]
    last = own_ref.last_before(pc, d, _NEVER)
    since = np.where(last == _NEVER, NO_REFERRAL_DAYS, d - last)
    out["days_since_last_referral"] = np.minimum(since, NO_REFERRAL_DAYS).astype(np.int64)

    def own_and_household(mask: Bools) -> tuple[Ints, Ints]:
        own = timeline(ev.person, mask).ever(pc, d)
        return own, timeline(ev.household, mask).ever(hc, d)

    outcome = {o: own_and_household(ev.of("referral_outcome", [o])) for o in OUTCOME_FEATURES}
    out["prior_nfa"] = outcome["nfa"][0]
    out["prior_assessment"] = outcome["assessment"][0]
    out["prior_s47"] = outcome["s47"][0]
    substantiated_own, substantiated_hh = own_and_household(
        ev.of("s47_concluded", ["substantiated"])
    )
    out["prior_s47_substantiated"] = substantiated_own
    started_own, started_hh = own_and_household(ev.of("cp_plan_started"))
    ended_own, ended_hh = own_and_household(ev.of("cp_plan_ended"))
    out["cp_plan_ever"] = (started_own > 0).astype(np.int64)
    out["cp_plan_active"] = (started_own > ended_own).astype(np.int64)

    # siblings: the household's events minus this child's own
    for k in (3, 12, 36):
        out[f"sibling_referrals_{k}m"] = hh_ref.count(hc, lo[k], d) - own_counts[k]
    for i, c in enumerate(CONCERNS):
        out[f"sibling_referrals_36m_{c}"] = (
            hh_ref_c.count(hc * nc + i, lo[36], d) - (own_by_concern[c])
        )
    last_sib = _last_by_another(
        hh_ref, np.where(is_ref, ev.household, -1), ev.person, ev.day, hc, pc, d, _NEVER
    )
    since_sib = np.where(last_sib == _NEVER, NO_REFERRAL_DAYS, d - last_sib)
    out["days_since_sibling_referral"] = np.minimum(since_sib, NO_REFERRAL_DAYS).astype(np.int64)
    out["sibling_prior_nfa"] = outcome["nfa"][1] - outcome["nfa"][0]
    out["sibling_prior_assessment"] = outcome["assessment"][1] - outcome["assessment"][0]
    out["sibling_prior_s47"] = outcome["s47"][1] - outcome["s47"][0]
    out["sibling_prior_s47_substantiated"] = substantiated_hh - substantiated_own
    out["sibling_cp_plan_ever"] = (started_hh - started_own > 0).astype(np.int64)
    removed_own, removed_hh = own_and_household(ev.of("child_removed"))
    sibling_removed = removed_hh - removed_own > 0
    out["sibling_ever_removed"] = sibling_removed.astype(np.int64)
    out["sibling_on_plan"] = ((started_hh - ended_hh) - (started_own - ended_own) > 0).astype(
        np.int64
    )

    # --- household and agency signals --------------------------------------------------------
    police = timeline(ev.household, ev.of("police_domestic_incident"))
    for k in (12, 36):
        out[f"police_domestic_{k}m"] = police.count(hc, lo[k], d)
    is_contact = ev.of("adult_service_contact")
    kinds = list(ADULT_CONTACT_KINDS)
    kind = np.full(len(ev.day), -1, dtype=np.int64)
    kind[is_contact] = ev.category(is_contact, kinds)
    nk = len(kinds)
    contacts = timeline(np.where(kind >= 0, ev.household * nk + kind, -1), kind >= 0)
    for i, short in enumerate(ADULT_CONTACT_KINDS.values()):
        out[f"adult_contacts_{short}_36m"] = contacts.count(hc * nk + i, lo[36], d)
    is_assessment = ev.of("assessment_completed")
    assessment_detail = ev.detail[is_assessment].fillna("")
    for factor in ASSESSMENT_FACTORS:
        mask = is_assessment.copy()
        mask[is_assessment] = assessment_detail.str.contains(
            rf"(?:^|;){factor}(?:;|$)", regex=True
        ).to_numpy(dtype=bool)
        out[f"assessment_found_{factor}"] = (timeline(ev.household, mask).ever(hc, d) > 0).astype(
            np.int64
        )

    out["ed_attendances_12m"] = timeline(ev.person, ev.of("ed_attendance")).count(pc, lo[12], d)
    out["unexplained_injuries_12m"] = timeline(
        ev.person, ev.of("ed_attendance", UNEXPLAINED_INJURIES)
    ).count(pc, lo[12], d)
    bruise = ev.of("ed_attendance", ["bruising"]) | ev.of("health_contact", ["bruising_observed"])
    age_at_event = _month_index(ev.day) - birth_month[np.maximum(ev.person, 0)]
    bruise &= (ev.person >= 0) & (age_at_event >= 0) & (age_at_event < NON_MOBILE_MONTHS)
    out["bruising_non_mobile"] = (timeline(ev.person, bruise).ever(pc, d) > 0).astype(np.int64)
    out["missed_appointments_12m"] = timeline(
        ev.person, ev.of("health_contact", ["missed_appointment"])
    ).count(pc, lo[12], d)
    out["school_concerns_12m"] = timeline(ev.person, ev.of("school_concern")).count(pc, lo[12], d)

    # --- adults ------------------------------------------------------------------------------
    out["adults_joined_12m"] = timeline(ev.household, ev.of("adult_joined")).count(hc, lo[12], d)
    role = people["role"].to_numpy()
    adult_rows = np.flatnonzero(role != "child").astype(np.int64)
    adult_hh = _lookup(people["household_id"].iloc[adult_rows], hh_ids)
    point, item = _expand(adult_hh, hc)
    adult = adult_rows[item]
    pd_ = d[point]
    joined = timeline(ev.person, ev.of("adult_joined")).last_before(adult, pd_, _NEVER)
    left = timeline(ev.person, ev.of("adult_left")).last_before(adult, pd_, _NEVER)
    parent = np.isin(role[adult], ["mother", "father"])
    joined = np.where((joined == _NEVER) & parent, _FROM_START, joined)
    present = joined > left
    assessed_tl = timeline(ev.person, ev.of("adult_assessed"))
    assessed = assessed_tl.ever(adult, pd_) > 0
    out["adults_present"] = np.bincount(point[present], minlength=n).astype(np.int64)
    not_mother = role[adult] != "mother"
    out["unassessed_adult_present"] = _any_by_point(point, present & ~assessed & not_mother, n)

    is_da = ev.of("police_domestic_incident") & (ev.related >= 0) & (ev.household >= 0)
    named = (
        pd.DataFrame({"h": ev.household[is_da], "adult": ev.related[is_da], "day": ev.day[is_da]})
        .groupby(["h", "adult"], as_index=False, sort=True)["day"]
        .min()
    )
    point, item = _expand(named["h"].to_numpy(dtype=np.int64), hc)
    perp = named["adult"].to_numpy(dtype=np.int64)[item]
    first_named = named["day"].to_numpy(dtype=np.int64)[item]
    flag = (first_named < d[point]) & ~(assessed_tl.ever(perp, d[point]) > 0)
    out["unassessed_adult_named_in_da"] = _any_by_point(point, flag, n)

    # --- pregnancy ---------------------------------------------------------------------------
    out["unborn_earlier_removal"] = (unborn & sibling_removed).astype(np.int64)
    notified = timeline(ev.related, ev.of("pregnancy_notified")).last_before(pc, d, _NEVER)
    has_notice = unborn & (notified != _NEVER)
    gap = _month_index(d) - _month_index(np.where(has_notice, notified, d))
    out["months_notification_to_prebirth_referral"] = np.where(has_notice, gap, 0).astype(np.int64)
    out["months_prebirth_referral_before_due"] = np.where(unborn, -age, 0).astype(np.int64)

    # --- the current referral ----------------------------------------------------------------
    source = events["source"].iloc[ref_rows].to_numpy()
    detail = events["detail"].iloc[ref_rows].to_numpy()
    for s in SOURCES:
        out[f"source_{s}"] = (source == s).astype(np.int64)
    for c in CONCERNS:
        out[f"concern_{c}"] = (detail == c).astype(np.int64)

    # --- group attribute ---------------------------------------------------------------------
    # -1: no address recorded (imported cohorts); a view without `deprivation` drops the column
    decile_all = households["deprivation_decile"].astype("Int64").fillna(-1)
    out["deprivation_decile"] = np.asarray(decile_all.to_numpy(dtype=np.int64)[hc], dtype=np.int64)

    names = feature_names()
    assert set(out) == set(names), sorted(set(out) ^ set(names))
    matrix = np.empty((n, len(names)), dtype=np.int64)
    matrix[order] = np.column_stack([np.asarray(out[name], dtype=np.int64) for name in names])
    features = pd.DataFrame(matrix, columns=names)
    ids = points.reset_index(drop=True).copy()
    ids["decision_date"] = ids["decision_date"].astype("datetime64[s]")
    return pd.concat([ids, features], axis=1)


#: referral outcomes counted in this child's (and the siblings') history
OUTCOME_FEATURES = ("nfa", "assessment", "s47")
