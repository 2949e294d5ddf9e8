"""Point-in-time features from case histories, vectorised.

One code path builds the features for training (one row per decision) and for scoring (one row
per referral in a date range, no truth needed). Every feature obeys the point-in-time rule of
DATA_MODEL.md: a decision at referral ``r`` on date ``d`` sees only events dated strictly before
``d`` and the source and concern of ``r`` itself -- never ``r``'s outcome, which is dated on or
after ``d``.

How it is fast: every event is reduced to an integer key (the person or household it belongs
to), an integer day and one (type, detail) code. The child's events are sorted once by
``key * span + day``, and so are the household's; each event gets a few 64-bit words whose bit
lanes say which counters it feeds (a table lookup on its code), and the prefix sums of those
words read at the two ends of a window give every counter of the window at once
(:class:`~secondlook.features.windows.PackedCounts`): about forty counts per decision from two
sorts, a dozen binary searches and a few dozen gathers, all vectorised over the decisions. Sibling
counts are household counts minus the child's own (the latest sibling referral, a maximum that
does not subtract, skips back over the run of the child's own referrals); the adults of a
household are expanded into (decision, adult) pairs with :func:`numpy.repeat`. There is no
Python loop over decisions. The independent parts (the child's history, the household's, the
adults) run in a few threads: numpy and Arrow release the GIL in their loops.

How it stays small: each word's prefix sums exist only while that word is read, counts are kept
as narrow as their lanes, and the output -- one int64 block, the frame's only copy of the
features -- is allocated after the parts are done and their scratch is given back to the
operating system (:mod:`secondlook.features.output`), so the builder's peak is the larger of the
two, not their sum.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

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
)
from secondlook.features.output import Columns, return_free_memory
from secondlook.features.windows import (
    Counter,
    PackedCounts,
    Timeline,
    any_by_point,
    expand_pairs,
    last_by_another,
)
from secondlook.schema import CONCERNS, SOURCES

__all__ = ["ID_COLUMNS", "build_features", "months_before"]

#: the identifying columns every feature table starts with
ID_COLUMNS = ("decision_id", "person_id", "household_id", "decision_date", "referral_event_id")

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
DateLike = dt.date | str | pd.Timestamp | None
#: counts by name (as narrow as the counters allow: cast to int64 before subtracting)
Counts = dict[str, npt.NDArray[np.integer]]

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


class _Events:
    """The events table reduced to integer codes, with masks by type and detail.

    Each event also has one (type, detail) ``code`` in ``[0, n_codes)``; :meth:`codes` says
    which codes a counter counts, so that a per-event mask is one table lookup.
    """

    def __init__(self, events: pd.DataFrame, person_ids: pd.Series, hh_ids: pd.Series) -> None:
        self.person = _lookup(events["person_id"], person_ids)
        self.household = _lookup(events["household_id"], hh_ids)
        self.day = _days(events["date"])
        type_code, type_names = pd.factorize(events["type"])
        detail_code, detail_names = pd.factorize(events["detail"])
        width = len(detail_names) + 1  # detail code + 1: 0 for a missing detail
        self.code = type_code.astype(np.int64)
        del type_code
        self.code *= width
        self.code += detail_code
        self.code += 1
        del detail_code
        self.n_codes = len(type_names) * width
        #: the type and the detail (None when missing) of each code
        types = np.repeat(np.asarray(type_names, dtype=object), width)
        details = np.tile(np.asarray([None, *detail_names], dtype=object), len(type_names))
        self._code_type, self._code_detail = types, details
        # the related person is read for two event types only: look up those rows alone
        self.related = np.full(len(self.day), -1, dtype=np.int64)
        rows = np.flatnonzero(self.of("police_domestic_incident") | self.of("pregnancy_notified"))
        self.related[rows] = _lookup(events["related_person_id"].iloc[rows], person_ids)

    def codes(
        self, etype: str, details: Sequence[str] | None = None, *, token: str | None = None
    ) -> Bools:
        """Shape (n_codes,): the codes of events of ``etype`` with one of ``details`` (all
        details when ``None``), or whose ``;``-separated detail lists ``token``."""
        ok = self._code_type == etype
        if details is not None:
            ok &= np.isin(self._code_detail, np.asarray(list(details), dtype=object))
        if token is not None:
            ok &= np.array([d is not None and token in d.split(";") for d in self._code_detail])
        return np.asarray(ok, dtype=bool)

    def of(self, etype: str, details: Sequence[str] | None = None) -> Bools:
        """Mask of events of ``etype`` (and, when given, one of ``details``)."""
        return self.codes(etype, details)[self.code]


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


@dataclass(frozen=True)
class _Points:
    """The decision points sorted by (person, date), as integer codes, and the day encoding."""

    pc: Ints  # person code
    hc: Ints  # household code
    d: Ints  # decision day
    lo: dict[int, Ints]  # months -> first day of the window of that many months
    day0: int
    span: int

    def timeline(self, ev: _Events, keys: Ints, mask: Bools) -> Timeline:
        return Timeline(keys[mask], ev.day[mask], self.day0, self.span)


def _threads(threads: int | None) -> int:
    if threads is not None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        return threads
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, 4))


def build_features(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    decisions: pd.DataFrame | None = None,
    *,
    start: DateLike = None,
    end: DateLike = None,
    threads: int | None = None,
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
    threads
        Threads for the independent parts (the child's history, the household's, the adults);
        default: the cores this process may use, at most 4. The output does not depend on it
        (integer arithmetic only); a caller that already runs one process per core passes 1.

    Returns
    -------
    pandas.DataFrame
        Shape (n_points, 5 + n_features): :data:`ID_COLUMNS`, then every feature of
        :data:`secondlook.features.CATALOGUE` in catalogue order, all int64 (the features
        one 2-D block).

    Raises
    ------
    ValueError
        If a decision's referral, person or household is not in the tables, or ``threads``
        is below 1.
    """
    workers = _threads(threads)
    points, ref_rows = _decision_points(events, decisions, start, end)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="features") as pool:
        return _build(households, people, events, points, ref_rows, pool)


def _sorted_points(
    points: pd.DataFrame,
    person_ids: pd.Series,
    hh_ids: pd.Series,
    ev_future: Future[_Events],
) -> tuple[_Points, Ints]:
    """The decision points as codes sorted by (person, date), and that order.

    Sorted needles make every binary search below several times faster. The day encoding
    covers the events' days too (``ev_future``: the events, being read meanwhile).
    """
    pc = _lookup(points["person_id"], person_ids)
    hc = _lookup(points["household_id"], hh_ids)
    if (pc < 0).any() or (hc < 0).any():
        bad = points.loc[(pc < 0) | (hc < 0), "decision_id"].head(5).tolist()
        raise ValueError(f"decision points refer to unknown people or households: {bad}")
    d = _days(points["decision_date"])
    order = np.lexsort((d, pc)).astype(np.int64)
    pc, hc, d = pc[order], hc[order], d[order]
    lo = {k: months_before(d, k) for k in (3, 12, 36)}
    bounds = [(int(x.min()), int(x.max())) for x in (ev_future.result().day, d) if len(x)]
    day0 = min(b[0] for b in bounds) if bounds else 0
    span = (max(b[1] for b in bounds) - day0 + 2) if bounds else 2
    return _Points(pc, hc, d, lo, day0, span), order


def _build(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    points: pd.DataFrame,
    ref_rows: npt.NDArray[np.intp],
    pool: ThreadPoolExecutor,
) -> pd.DataFrame:
    hh_ids = households["household_id"]
    # number people household by household
    people = people.iloc[
        np.argsort(_lookup(people["household_id"], hh_ids), kind="stable")
    ].reset_index(drop=True)
    ev_future = pool.submit(_Events, events, people["person_id"], hh_ids)
    pts, order = _sorted_points(points, people["person_id"], hh_ids, ev_future)
    ev = ev_future.result()
    birth_month = _month_index(_days(people["birth_month"]))
    # the parts run in the pool; the output is allocated once they are done and the events'
    # codes are dropped, so that it never sits beside their scratch
    parts: dict[str, Future[Counts]] = {
        "own": pool.submit(_own_history, ev, pts, birth_month),
        "household": pool.submit(_household_history, ev, pts),
        "sibling": pool.submit(_sibling_last_referral, ev, pts),
        "adults": pool.submit(_adults, ev, pts, people, hh_ids),
        "notified": pool.submit(_pregnancy_notified, ev, pts),
    }
    done = {name: part.result() for name, part in parts.items()}
    del parts, ev, ev_future
    return_free_memory()
    out = Columns(order)
    age = _child_columns(out, pts, people, birth_month)
    _referral_columns(out, events, ref_rows[order])
    # -1: no address recorded (imported cohorts); a view without `deprivation` drops the column
    decile = households["deprivation_decile"].astype("Int64").fillna(-1).to_numpy(dtype=np.int64)
    out["deprivation_decile"] = decile[pts.hc]
    sibling_removed = _history_columns(out, done.pop("own"), done.pop("household"))
    notified = np.asarray(done.pop("notified")["notified"], dtype=np.int64)
    _pregnancy_columns(out, pts, age, sibling_removed, notified)
    for part in done.values():  # the sibling's latest referral, the adults
        for name, values in part.items():
            out[name] = values
    return out.frame(points)


def _child_columns(out: Columns, pts: _Points, people: pd.DataFrame, birth_month: Ints) -> Ints:
    """The child's age, mobility and disability; returns the age in months (< 0: unborn)."""
    age = _month_index(pts.d) - birth_month[pts.pc]
    out["age_months"] = np.maximum(age, 0)
    out["unborn"] = age < 0
    out["not_yet_mobile"] = (age >= 0) & (age < NON_MOBILE_MONTHS)
    disability = people["disability"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    out["disability"] = disability[pts.pc]
    return age


def _referral_columns(out: Columns, events: pd.DataFrame, ref_rows: npt.NDArray[np.intp]) -> None:
    """The source and the concern of the current referral (``ref_rows``: in the points' order)."""
    source = events["source"].iloc[ref_rows].to_numpy()
    detail = events["detail"].iloc[ref_rows].to_numpy()
    for s in SOURCES:
        out[f"source_{s}"] = source == s
    for c in CONCERNS:
        out[f"concern_{c}"] = detail == c


def _history_columns(out: Columns, own: Counts, hh: Counts) -> Bools:
    """The child's and the siblings' histories (a sibling count is the household's count minus
    the child's own); returns whether a sibling was ever removed."""

    def sibling(name: str) -> Ints:
        return hh[name].astype(np.int64) - own[name]

    for k in (3, 12, 36):
        out[f"referrals_{k}m"] = own[f"referrals_{k}m"]
        out[f"sibling_referrals_{k}m"] = sibling(f"referrals_{k}m")
    for c in CONCERNS:
        out[f"referrals_36m_{c}"] = own[f"referrals_36m_{c}"]
        out[f"sibling_referrals_36m_{c}"] = sibling(f"referrals_36m_{c}")
    out["days_since_last_referral"] = own["days_since_last_referral"]
    for o in OUTCOME_FEATURES:
        out[f"prior_{o}"] = own[o]
        out[f"sibling_prior_{o}"] = sibling(o)
    out["prior_s47_substantiated"] = own["s47_substantiated"]
    out["sibling_prior_s47_substantiated"] = sibling("s47_substantiated")
    out["cp_plan_ever"] = own["started"] > 0
    out["cp_plan_active"] = own["started"] > own["ended"]
    out["sibling_cp_plan_ever"] = sibling("started") > 0
    sibling_removed = sibling("removed") > 0
    out["sibling_ever_removed"] = sibling_removed
    out["sibling_on_plan"] = sibling("started") - sibling("ended") > 0
    for k in (12, 36):
        out[f"police_domestic_{k}m"] = hh[f"police_domestic_{k}m"]
    for short in ADULT_CONTACT_KINDS.values():
        out[f"adult_contacts_{short}_36m"] = hh[f"adult_contacts_{short}_36m"]
    for factor in ASSESSMENT_FACTORS:
        out[f"assessment_found_{factor}"] = hh[f"found_{factor}"] > 0
    for name in ("ed_attendances_12m", "unexplained_injuries_12m", "missed_appointments_12m"):
        out[name] = own[name]
    out["school_concerns_12m"] = own["school_concerns_12m"]
    out["bruising_non_mobile"] = own["bruise"] > 0
    out["adults_joined_12m"] = hh["adults_joined_12m"]
    return sibling_removed


def _pregnancy_columns(
    out: Columns, pts: _Points, age: Ints, sibling_removed: Bools, notified: Ints
) -> None:
    """The features of a pre-birth referral (zero for a born child)."""
    unborn = age < 0
    out["unborn_earlier_removal"] = unborn & sibling_removed
    has_notice = unborn & (notified != _NEVER)
    gap = _month_index(pts.d) - _month_index(np.where(has_notice, notified, pts.d))
    out["months_notification_to_prebirth_referral"] = np.where(has_notice, gap, 0)
    out["months_prebirth_referral_before_due"] = np.where(unborn, -age, 0)


def _ever_counters(ev: _Events) -> list[Counter]:
    """Outcomes, plans and removals of the whole history (the child's and the household's)."""
    return [
        Counter("nfa", ev.codes("referral_outcome", ["nfa"])),
        Counter("assessment", ev.codes("referral_outcome", ["assessment"])),
        Counter("s47", ev.codes("referral_outcome", ["s47"])),
        Counter("s47_substantiated", ev.codes("s47_concluded", ["substantiated"])),
        Counter("started", ev.codes("cp_plan_started")),
        Counter("ended", ev.codes("cp_plan_ended")),
        Counter("removed", ev.codes("child_removed")),
    ]


def _referral_counters(ev: _Events) -> list[Counter]:
    out = [Counter(f"referrals_{k}m", ev.codes("referral"), k) for k in (3, 12, 36)]
    out += [Counter(f"referrals_36m_{c}", ev.codes("referral", [c]), 36) for c in CONCERNS]
    return out


def _own_history(ev: _Events, pts: _Points, birth_month: Ints) -> Counts:
    """Counts of the child's own earlier events, and the days since its latest referral."""
    bruise = ev.codes("ed_attendance", ["bruising"]) | ev.codes(
        "health_contact", ["bruising_observed"]
    )
    # the child's age at the event, read only where the event could count
    rows = np.flatnonzero(bruise[ev.code] & (ev.person >= 0))
    age_then = _month_index(ev.day[rows]) - birth_month[ev.person[rows]]
    not_mobile_then = np.zeros(len(ev.day), dtype=bool)
    not_mobile_then[rows] = (age_then >= 0) & (age_then < NON_MOBILE_MONTHS)
    counters = _ever_counters(ev) + _referral_counters(ev)
    counters += [
        Counter("bruise", bruise, where=not_mobile_then),
        Counter("ed_attendances_12m", ev.codes("ed_attendance"), 12),
        Counter("unexplained_injuries_12m", ev.codes("ed_attendance", UNEXPLAINED_INJURIES), 12),
        Counter("missed_appointments_12m", ev.codes("health_contact", ["missed_appointment"]), 12),
        Counter("school_concerns_12m", ev.codes("school_concern"), 12),
    ]
    history = PackedCounts(ev.person, ev.day, ev.code, counters, pts.day0, pts.span)
    at = history.position(pts.pc, pts.d)
    out: Counts = history.counts(pts.pc, pts.d, pts.lo, at=at)
    last = history.last_before(pts.pc, ev.of("referral"), at, _NEVER)
    since = np.where(last == _NEVER, NO_REFERRAL_DAYS, pts.d - last)
    out["days_since_last_referral"] = np.minimum(since, NO_REFERRAL_DAYS).astype(np.int64)
    return out


def _household_history(ev: _Events, pts: _Points) -> Counts:
    """Counts of the household's earlier events (every member's, the child's included)."""
    counters = _ever_counters(ev) + _referral_counters(ev)
    counters += [
        Counter(f"found_{f}", ev.codes("assessment_completed", token=f)) for f in ASSESSMENT_FACTORS
    ]
    police = ev.codes("police_domestic_incident")
    counters += [Counter(f"police_domestic_{k}m", police, k) for k in (12, 36)]
    counters += [Counter("adults_joined_12m", ev.codes("adult_joined"), 12)]
    counters += [
        Counter(f"adult_contacts_{short}_36m", ev.codes("adult_service_contact", [detail]), 36)
        for detail, short in ADULT_CONTACT_KINDS.items()
    ]
    history = PackedCounts(ev.household, ev.day, ev.code, counters, pts.day0, pts.span)
    return history.counts(pts.hc, pts.d, pts.lo)


def _pregnancy_notified(ev: _Events, pts: _Points) -> Counts:
    """``notified``: the day of the latest earlier pregnancy notification whose related person
    is the child, or ``_NEVER``."""
    notices = pts.timeline(ev, ev.related, ev.of("pregnancy_notified"))
    return {"notified": notices.last_before(pts.pc, pts.d, _NEVER)}


def _sibling_last_referral(ev: _Events, pts: _Points) -> Counts:
    """``days_since_sibling_referral``: days since the household's latest referral about
    another child (capped)."""
    is_ref = ev.of("referral")
    last = last_by_another(
        Timeline(ev.day[:0], ev.day[:0], pts.day0, pts.span),
        np.where(is_ref, ev.household, -1),
        ev.person,
        ev.day,
        pts.hc,
        pts.pc,
        pts.d,
        _NEVER,
    )
    since = np.where(last == _NEVER, NO_REFERRAL_DAYS, pts.d - last)
    return {"days_since_sibling_referral": np.minimum(since, NO_REFERRAL_DAYS).astype(np.int64)}


def _adults(ev: _Events, pts: _Points, people: pd.DataFrame, hh_ids: pd.Series) -> Counts:
    """The adults present at each decision, and whether an unassessed one is present or named."""
    n, hc, d = len(pts.d), pts.hc, pts.d
    out: Counts = {}
    role = people["role"].to_numpy()
    adult_rows = np.flatnonzero(role != "child").astype(np.int64)
    adult_hh = _lookup(people["household_id"].iloc[adult_rows], hh_ids)
    point, item = expand_pairs(adult_hh, hc)
    adult = adult_rows[item]
    pd_ = d[point]
    joined = pts.timeline(ev, ev.person, ev.of("adult_joined")).last_before(adult, pd_, _NEVER)
    left = pts.timeline(ev, ev.person, ev.of("adult_left")).last_before(adult, pd_, _NEVER)
    parent = np.isin(role[adult], ["mother", "father"])
    joined = np.where((joined == _NEVER) & parent, _FROM_START, joined)
    present = joined > left
    assessed_tl = pts.timeline(ev, ev.person, ev.of("adult_assessed"))
    assessed = assessed_tl.ever(adult, pd_) > 0
    out["adults_present"] = np.bincount(point[present], minlength=n).astype(np.int64)
    not_mother = role[adult] != "mother"
    out["unassessed_adult_present"] = any_by_point(point, present & ~assessed & not_mother, n)

    is_da = ev.of("police_domestic_incident") & (ev.related >= 0) & (ev.household >= 0)
    named = (
        pd.DataFrame({"h": ev.household[is_da], "adult": ev.related[is_da], "day": ev.day[is_da]})
        .groupby(["h", "adult"], as_index=False, sort=True)["day"]
        .min()
    )
    point, item = expand_pairs(named["h"].to_numpy(dtype=np.int64), hc)
    perp = named["adult"].to_numpy(dtype=np.int64)[item]
    first_named = named["day"].to_numpy(dtype=np.int64)[item]
    flag = (first_named < d[point]) & ~(assessed_tl.ever(perp, d[point]) > 0)
    out["unassessed_adult_named_in_da"] = any_by_point(point, flag, n)
    return out


#: referral outcomes counted in this child's (and the siblings') history
OUTCOME_FEATURES = ("nfa", "assessment", "s47")
