"""A fast DuckDB formulation of the feature table: the baseline of ``bench_features.py``.

``duckdb_features.py`` is the correctness oracle: one range join per key and ~55 filtered
counts over every (decision, earlier event) pair, written to be obviously right. This file is
written to be fast, with the same output (checked on every benchmark run and in
``tests/features/test_build_oracle.py``):

* **One range join per key.** Each decision is joined to the earlier events of its child
  (``k = person_id AND day < d``; a pregnancy notification is keyed by the unborn child it
  names) and to the earlier events of its household (``household_id`` and ``day < d``). The
  window bounds are ``lo3``, ``lo12``, ``lo36`` (DuckDB's calendar-month arithmetic, as in the
  oracle).
* **Pairs that count for nothing are never made.** An event that feeds no counter is dropped
  before the join (a per-type test on its detail). An event read only inside a window (an ED
  attendance: 12 months; a police incident: 36) carries its day in a column ``cut<months>``
  (a far-future day otherwise), and the join condition ``cut<months> >= lo<months>`` drops its
  pairs with decisions whose window it falls outside. A household event read only for the
  other children (a referral, a plan) carries its person in ``other`` (NULL otherwise), and
  ``other IS DISTINCT FROM person_id`` drops its pair with the child's own decision. All are
  plain comparisons of one column on each side, which DuckDB checks inside the hash join; on
  the benchmark world they remove 44% of the household's pairs and 28% of the child's.
* **Packed counters.** Every event is reduced once to a few HUGEINT words whose 16-bit lanes
  say which counters it feeds (a ``CASE`` over type and detail). Counters of every window
  share a word: per pair, a word is ANDed with a constant mask chosen by where the event falls
  (before ``lo36``, in ``[lo36, lo12)``, in ``[lo12, lo3)``, from ``lo3``), so the 55 counters
  of a decision are 7 ``sum``s (3 for the child, 4 for the household) instead of the oracle's
  ~55 filtered counts. The final ``SELECT`` shifts and masks the lanes out. A lane never
  carries into the next: each lane of a decision counts a subset of its pairs, and the query
  raises ``error()`` if a decision has 2**15 or more pairs.
* **Per-event conditions decided once.** Whether a bruise is recorded while the child was not
  yet mobile depends on the event and its child only, so it is computed per event (a join of
  the few bruise events to their child) and is one more lane.
* **Adults as intervals of state.** Each adult's history (latest joined, latest left, ever
  assessed) changes only on the days of their events; it becomes intervals ``[since, until)``
  of decision dates that see one state, and each (decision, adult) pair joins the one interval
  holding its date -- no aggregation over the adult's events per pair.
* **A narrow sort, Arrow out.** The per-decision aggregates are joined and sorted by decision
  before the ~90 output expressions; the result is fetched through Arrow. DuckDB runs on its
  default threads (all cores) and without preserving insertion order (the ``ORDER BY`` fixes
  the output order).
"""

from __future__ import annotations

from typing import NamedTuple

import duckdb
import pandas as pd

from secondlook.features.catalogue import (
    ADULT_CONTACT_KINDS,
    ASSESSMENT_FACTORS,
    NO_REFERRAL_DAYS,
    NON_MOBILE_MONTHS,
    feature_names,
)
from secondlook.schema import CONCERNS, SOURCES

ID_COLUMNS = ["decision_id", "person_id", "household_id", "decision_date", "referral_event_id"]
LANE = 16  # bits per counter
PER_WORD = 8  # lanes per HUGEINT word
LANE_MASK = (1 << LANE) - 1
LIMIT = 1 << (LANE - 1)  # pairs per decision: keeps every lane, the top one included, < 2**15
UNEXPLAINED = ("injury_unexplained", "bruising", "fracture", "burn")
WINDOWS = (36, 12, 3)  # months; a pair's window class is how many of these hold the event


def _q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _huge(bits: int) -> str:
    """A HUGEINT constant with these 128 bits (two's complement: the top bit is the sign)."""
    value = bits - (1 << 128) if bits >= 1 << 127 else bits
    return f"CAST('{value}' AS HUGEINT)"


class Counter(NamedTuple):
    """One packed counter.

    Attributes
    ----------
    name
        Its name in the unpacking.
    feeds
        (event type, details or ``None`` for every detail) alternatives counted, or
        ``(event type, SQL expression)`` via ``extra`` below.
    window
        Months of the window, or ``None`` for every earlier event.
    other
        Counted only for events about another person than the decision's child.
    extra
        A boolean SQL expression over the event ``e`` that must also hold (per event).
    """

    name: str
    feeds: tuple[tuple[str, tuple[str, ...] | None], ...]
    window: int | None = None
    other: bool = False
    extra: str | None = None


class Packing:
    """Counters packed into 16-bit lanes of HUGEINT words, in the order added."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.counters: list[Counter] = []

    def add(self, counter: Counter) -> None:
        self.counters.append(counter)

    def words(self) -> list[list[Counter]]:
        c = self.counters
        return [c[i : i + PER_WORD] for i in range(0, len(c), PER_WORD)]

    def columns(self) -> list[str]:
        return [f"{self.prefix}{w}" for w in range(len(self.words()))]

    def types(self) -> list[str]:
        return sorted({t for c in self.counters for t, _ in c.feeds})

    def event_words(self) -> list[str]:
        """Per event: one HUGEINT per word, the lanes of the counters the event feeds."""
        out = []
        for w, word in enumerate(self.words()):
            by_type: dict[str, dict[str | None, int]] = {}
            extras: dict[str, list[str]] = {}
            for lane, counter in enumerate(word):
                bit = 1 << (LANE * lane)
                for etype, details in counter.feeds:
                    if counter.extra is not None:
                        extras.setdefault(etype, []).append(
                            f"(CAST({counter.extra} AS HUGEINT) << {LANE * lane})"
                        )
                        continue
                    slot = by_type.setdefault(etype, {})
                    for detail in details or (None,):
                        slot[detail] = slot.get(detail, 0) | bit
            whens = []
            for etype in sorted(set(by_type) | set(extras)):
                slot = dict(by_type.get(etype, {}))
                base = slot.pop(None, 0)
                parts = []
                if slot:
                    inner = " ".join(
                        f"WHEN {_q(d)} THEN {v | base}" for d, v in slot.items() if d is not None
                    )
                    parts.append(f"CASE e.detail {inner} ELSE {base} END")
                elif base:
                    parts.append(str(base))
                parts += extras.get(etype, [])
                whens.append(f"WHEN {_q(etype)} THEN {' + '.join(parts)}")
            out.append(
                f"CAST(CASE e.type {' '.join(whens)} ELSE 0 END AS HUGEINT) AS {self.prefix}{w}"
            )
        return out

    def feeds(self, always: tuple[str, ...] = ()) -> str:
        """Per event: whether it feeds a counter (or is of a type in ``always``)."""
        whens = []
        for etype in sorted(set(self.types()) | set(always)):
            every, details = etype in always, set()
            for c in self.counters:
                for t, d in c.feeds:
                    if t == etype and (d is None or c.extra is not None):
                        every = True
                    elif t == etype and d is not None:
                        details |= set(d)
            test = "true" if every else f"e.detail IN ({', '.join(map(_q, sorted(details)))})"
            whens.append(f"WHEN {_q(etype)} THEN {test}")
        return f"CASE e.type {' '.join(whens)} ELSE false END"

    def _mask(self, word: list[Counter], window_class: int) -> int:
        """The lanes of ``word`` counted for an event in window class ``window_class``."""
        mask = 0
        for lane, c in enumerate(word):
            if c.window is None or WINDOWS.index(c.window) < window_class:
                mask |= LANE_MASK << (LANE * lane)
        return mask

    def pair_sums(self) -> list[str]:
        """Per decision: the sum over its pairs of each word ANDed with the lanes of the
        windows that hold the event (the pair's window class ``cls``, 0 to 3)."""
        out = []
        for w, word in enumerate(self.words()):
            masks = [self._mask(word, k) for k in range(len(WINDOWS) + 1)]
            col = f"e.{self.prefix}{w}"
            if len(set(masks)) == 1:
                value = col
            else:
                whens = " ".join(f"WHEN {k} THEN {_huge(m)}" for k, m in enumerate(masks))
                value = f"({col} & CASE cls {whens} END)"
            out.append(f"sum({value}) AS {self.prefix}{w}")
        return out

    def _needs(self, ever: tuple[str, ...]) -> dict[str, int]:
        """Per event type whose events count only inside a window: the widest such window
        (months). ``ever``: types read by something else than the counters (a latest date)."""
        out = {}
        for etype in self.types():
            windows = [c.window for c in self.counters if etype in {t for t, _ in c.feeds}]
            if etype not in ever and None not in windows:
                out[etype] = max(int(k) for k in windows if k is not None)
        return out

    def event_cuts(self, ever: tuple[str, ...] = ()) -> list[str]:
        """Per event and window: its day when the event counts only inside that window (its
        widest), else a day after every bound, so that one join condition per window,
        ``cut<months> >= lo<months>``, keeps only the pairs where the event counts."""
        needs = self._needs(ever)
        out = []
        for months in sorted(set(needs.values()), reverse=True):
            types = [_q(t) for t, k in needs.items() if k == months]
            out.append(
                f"CASE WHEN e.type IN ({', '.join(types)}) THEN CAST(e.date AS DATE) "
                f"ELSE DATE '9999-12-31' END AS cut{months}"
            )
        return out

    def pair_cuts(self, ever: tuple[str, ...] = ()) -> str:
        """The join conditions matching :meth:`event_cuts`."""
        months = sorted(set(self._needs(ever).values()), reverse=True)
        return "".join(f" AND e.cut{k} >= p.lo{k}" for k in months)

    def event_other(self) -> str:
        """Per event: its person when every counter it feeds counts only events about another
        person than the decision's child, else NULL; the join condition
        ``other IS DISTINCT FROM p.person_id`` then pairs no decision with its child's own
        events of those kinds (events of those kinds about nobody must be dropped before)."""
        return f"CASE WHEN e.type IN ({self.other_types()}) THEN e.person_id END AS other"

    def other_types(self) -> str:
        """The event types that feed only counters of events about another person."""
        only: set[str] = set()
        mixed: set[str] = set()
        for c in self.counters:
            for etype, _ in c.feeds:
                (only if c.other else mixed).add(etype)
        if only & mixed:  # pragma: no cover - the catalogue gives each kind one side
            raise ValueError(f"event types feeding both kinds of counter: {sorted(only & mixed)}")
        return ", ".join(_q(t) for t in sorted(only))

    def unpack(self, alias: str) -> dict[str, str]:
        """Per counter: the expression of its count from the per-decision sums (the first
        also adds the guard column ``<prefix>_guard``, 0 or an error, so that it is kept)."""
        out = {}
        for w, word in enumerate(self.words()):
            for lane, c in enumerate(word):
                x = f"coalesce({alias}.{self.prefix}{w}, 0)"
                if w == 0 and lane == 0:
                    x = f"({x} + coalesce({alias}.{self.prefix}_guard, 0))"
                if lane:
                    x = f"({x} >> {LANE * lane})"
                out[c.name] = f"CAST({x} & {LANE_MASK} AS BIGINT)"
        return out


def _own() -> Packing:
    """The child's own counters."""
    own = Packing("o")
    for outcome in ("nfa", "assessment", "s47"):
        own.add(Counter(f"prior_{outcome}", (("referral_outcome", (outcome,)),)))
    own.add(Counter("prior_s47_substantiated", (("s47_concluded", ("substantiated",)),)))
    own.add(Counter("started", (("cp_plan_started", None),)))
    own.add(Counter("ended", (("cp_plan_ended", None),)))
    own.add(Counter("bruises", (("bruise_non_mobile", None),)))
    for k in WINDOWS:
        own.add(Counter(f"referrals_{k}m", (("referral", None),), k))
    for c in CONCERNS:
        own.add(Counter(f"referrals_36m_{c}", (("referral", (c,)),), 36))
    own.add(Counter("ed_attendances_12m", (("ed_attendance", None),), 12))
    own.add(Counter("unexplained_injuries_12m", (("ed_attendance", UNEXPLAINED),), 12))
    own.add(Counter("missed_appointments_12m", (("health_contact", ("missed_appointment",)),), 12))
    own.add(Counter("school_concerns_12m", (("school_concern", None),), 12))
    return own


def _household() -> Packing:
    """The household's counters: other children's, and the household's own."""
    hh = Packing("h")
    for outcome in ("nfa", "assessment", "s47"):
        hh.add(Counter(f"sibling_prior_{outcome}", (("referral_outcome", (outcome,)),), other=True))
    hh.add(
        Counter(
            "sibling_prior_s47_substantiated", (("s47_concluded", ("substantiated",)),), other=True
        )
    )
    hh.add(Counter("removed", (("child_removed", None),), other=True))
    hh.add(Counter("started", (("cp_plan_started", None),), other=True))
    hh.add(Counter("ended", (("cp_plan_ended", None),), other=True))
    for k in WINDOWS:
        hh.add(Counter(f"sibling_referrals_{k}m", (("referral", None),), k, other=True))
    for c in CONCERNS:
        hh.add(Counter(f"sibling_referrals_36m_{c}", (("referral", (c,)),), 36, other=True))
    for k in (12, 36):
        hh.add(Counter(f"police_domestic_{k}m", (("police_domestic_incident", None),), k))
    hh.add(Counter("adults_joined_12m", (("adult_joined", None),), 12))
    for detail, short in ADULT_CONTACT_KINDS.items():
        hh.add(Counter(f"adult_contacts_{short}_36m", (("adult_service_contact", (detail,)),), 36))
    for f in ASSESSMENT_FACTORS:
        hh.add(
            Counter(
                f"found_{f}",
                (("assessment_completed", None),),
                extra=f"list_contains(string_split(e.detail, ';'), {_q(f)})",
            )
        )
    return hh


def _window_class(alias: str) -> str:
    """How many of the windows (36, 12, 3 months) hold the event: 0 to 3."""
    return (
        f"CASE WHEN {alias}.day >= p.lo3 THEN 3 WHEN {alias}.day >= p.lo12 THEN 2 "
        f"WHEN {alias}.day >= p.lo36 THEN 1 ELSE 0 END"
    )


def features_sql() -> str:
    """The query over the registered relations households, people, events, decisions."""
    nl = ",\n        "
    own, hh = _own(), _household()
    o, h = own.unpack("j"), hh.unpack("j")
    age = "(j.dmi - j.bmi)"
    expr: dict[str, str] = {
        "age_months": f"greatest({age}, 0)",
        "unborn": f"({age} < 0)",
        "not_yet_mobile": f"({age} BETWEEN 0 AND {NON_MOBILE_MONTHS - 1})",
        "disability": "coalesce(j.disability, false)",
        "days_since_last_referral": f"coalesce(least(j.d - j.last_referral, "
        f"{NO_REFERRAL_DAYS}), {NO_REFERRAL_DAYS})",
        "cp_plan_ever": f"({o['started']} > 0)",
        "cp_plan_active": f"({o['started']} > {o['ended']})",
        "days_since_sibling_referral": f"coalesce(least(j.d - j.last_other_referral, "
        f"{NO_REFERRAL_DAYS}), {NO_REFERRAL_DAYS})",
        "sibling_cp_plan_ever": f"({h['started']} > 0)",
        "sibling_ever_removed": f"({h['removed']} > 0)",
        "sibling_on_plan": f"({h['started']} > {h['ended']})",
        "bruising_non_mobile": f"({o['bruises']} > 0)",
        "adults_present": "coalesce(j.adults_present, 0)",
        "unassessed_adult_present": "coalesce(j.unassessed_present, false)",
        "unassessed_adult_named_in_da": "coalesce(j.unassessed_named, false)",
        "unborn_earlier_removal": f"({age} < 0 AND {h['removed']} > 0)",
        "months_notification_to_prebirth_referral": f"CASE WHEN {age} < 0 AND j.notified_mi "
        "IS NOT NULL THEN j.dmi - j.notified_mi ELSE 0 END",
        "months_prebirth_referral_before_due": f"CASE WHEN {age} < 0 THEN -{age} ELSE 0 END",
        "deprivation_decile": "j.deprivation_decile",
    }
    expr.update({f"assessment_found_{f}": f"({h['found_' + f]} > 0)" for f in ASSESSMENT_FACTORS})
    expr.update({f"source_{s}": f"(j.ref_source = {_q(s)})" for s in SOURCES})
    expr.update({f"concern_{c}": f"(j.ref_concern = {_q(c)})" for c in CONCERNS})
    select = []
    for name in feature_names():
        found = expr.get(name) or o.get(name) or h.get(name)
        if found is None:  # pragma: no cover - a feature this formulation does not know
            raise KeyError(f"the fast DuckDB formulation has no definition of `{name}`")
        select.append(f"CAST({found} AS BIGINT) AS {name}")
    guard = f"error('a decision has {LIMIT} or more earlier events: too many for 16-bit lanes')"
    return f"""
WITH
p AS MATERIALIZED (
    SELECT d.ord, d.decision_id, d.person_id, d.household_id, d.decision_date,
           d.referral_event_id, d.d,
           CAST(d.d - INTERVAL 3 MONTH AS DATE) AS lo3,
           CAST(d.d - INTERVAL 12 MONTH AS DATE) AS lo12,
           CAST(d.d - INTERVAL 36 MONTH AS DATE) AS lo36,
           year(d.d) * 12 + month(d.d) AS dmi,
           year(c.birth_month) * 12 + month(c.birth_month) AS bmi,
           r.source AS ref_source, r.detail AS ref_concern,
           c.disability, x.deprivation_decile
    FROM (SELECT *, row_number() OVER () AS ord, CAST(decision_date AS DATE) AS d
          FROM decisions) d
    JOIN events r ON r.event_id = d.referral_event_id
    JOIN people c ON c.person_id = d.person_id
    JOIN households x ON x.household_id = d.household_id
),
own_events AS (
    -- the child's events that feed something; a pregnancy notification is keyed by the
    -- child it names, and a bruise seen before the child could move is an event of its own
    SELECT e.k, CAST(e.date AS DATE) AS day,
           CASE WHEN e.type = 'referral' THEN CAST(e.date AS DATE) END AS ref_day,
           CASE WHEN e.type = 'pregnancy_notified' THEN year(e.date) * 12 + month(e.date)
                END AS notified_mi,
           {nl.join(own.event_cuts(("referral",)))},
           {nl.join(own.event_words())}
    FROM (
        SELECT CASE WHEN type = 'pregnancy_notified' THEN related_person_id ELSE person_id
                    END AS k, date, type, detail
        FROM events e WHERE {own.feeds(("referral", "pregnancy_notified"))}
        UNION ALL
        SELECT e.person_id, e.date, 'bruise_non_mobile', NULL
        FROM events e JOIN people c ON c.person_id = e.person_id
        WHERE ((e.type = 'ed_attendance' AND e.detail = 'bruising')
               OR (e.type = 'health_contact' AND e.detail = 'bruising_observed'))
          AND (year(e.date) * 12 + month(e.date))
              - (year(c.birth_month) * 12 + month(c.birth_month))
              BETWEEN 0 AND {NON_MOBILE_MONTHS - 1}
    ) e
    WHERE e.k IS NOT NULL
),
o AS (
    SELECT ord, max(ref_day) AS last_referral, max(notified_mi) AS notified_mi,
           {nl.join(own.pair_sums())},
           CASE WHEN count(*) >= {LIMIT} THEN {guard} ELSE 0 END AS o_guard
    FROM (SELECT p.ord, {_window_class("e")} AS cls, e.*
          FROM p JOIN own_events e ON e.k = p.person_id AND e.day < p.d{own.pair_cuts(("referral",))}) e
    GROUP BY ord
),
household_events AS (
    -- the household's events that feed something; ``other``: the person of those that count
    -- only for the other children (a decision is not paired with its child's own; those
    -- about nobody count for nobody)
    SELECT e.household_id, CAST(e.date AS DATE) AS day,
           CASE WHEN e.type = 'referral' THEN CAST(e.date AS DATE) END AS ref_day,
           {nl.join(hh.event_cuts(("referral",)))},
           {hh.event_other()},
           {nl.join(hh.event_words())}
    FROM events e
    WHERE {hh.feeds()} AND e.household_id IS NOT NULL
      AND (e.person_id IS NOT NULL OR NOT e.type IN ({hh.other_types()}))
),
h AS (
    SELECT ord, max(ref_day) AS last_other_referral,
           {nl.join(hh.pair_sums())},
           CASE WHEN count(*) >= {LIMIT} THEN {guard} ELSE 0 END AS h_guard
    FROM (SELECT p.ord, {_window_class("e")} AS cls, e.*
          FROM p JOIN household_events e
            ON e.household_id = p.household_id AND e.day < p.d{hh.pair_cuts(("referral",))}
           AND e.other IS DISTINCT FROM p.person_id) e
    GROUP BY ord
),
adult_days AS (
    SELECT person_id, CAST(date AS DATE) AS day,
           bool_or(type = 'adult_joined') AS joined, bool_or(type = 'adult_left') AS left_,
           bool_or(type = 'adult_assessed') AS assessed
    FROM events
    WHERE type IN ('adult_joined', 'adult_left', 'adult_assessed') AND person_id IS NOT NULL
    GROUP BY ALL
),
adult_states AS (
    -- the state seen by a decision dated in [since, until): events strictly before it
    SELECT person_id, day + 1 AS since, lead(day) OVER w + 1 AS until,
           max(CASE WHEN joined THEN day END) OVER w AS last_joined,
           max(CASE WHEN left_ THEN day END) OVER w AS last_left,
           bool_or(assessed) OVER w AS assessed
    FROM adult_days
    WINDOW w AS (PARTITION BY person_id ORDER BY day)
),
named AS (
    SELECT household_id, related_person_id AS adult, min(CAST(date AS DATE)) AS first_named
    FROM events
    WHERE type = 'police_domestic_incident' AND related_person_id IS NOT NULL
      AND household_id IS NOT NULL
    GROUP BY ALL
),
adult_pairs AS (
    SELECT p.ord, p.d, x.person_id AS adult, x.role, true AS member
    FROM p JOIN people x ON x.household_id = p.household_id AND x.role <> 'child'
    UNION ALL
    SELECT p.ord, p.d, n.adult, NULL, false
    FROM p JOIN named n ON n.household_id = p.household_id AND n.first_named < p.d
),
a AS (
    SELECT ord,
           count(*) FILTER (WHERE member AND present) AS adults_present,
           bool_or(member AND present AND NOT assessed AND role <> 'mother')
             AS unassessed_present,
           bool_or(NOT member AND NOT assessed) AS unassessed_named
    FROM (
        SELECT x.ord, x.member, x.role, coalesce(s.assessed, false) AS assessed,
               CASE WHEN s.last_joined IS NULL AND s.last_left IS NULL
                         THEN x.role IN ('mother', 'father')
                    WHEN s.last_joined IS NULL THEN false
                    WHEN s.last_left IS NULL THEN true
                    ELSE s.last_joined > s.last_left END AS present
        FROM adult_pairs x LEFT JOIN adult_states s
          ON s.person_id = x.adult AND s.since <= x.d AND (s.until IS NULL OR x.d < s.until)
    )
    GROUP BY ord
),
j AS (
    SELECT * FROM p LEFT JOIN o USING (ord) LEFT JOIN h USING (ord) LEFT JOIN a USING (ord)
    ORDER BY ord
)
SELECT j.decision_id, j.person_id, j.household_id, j.decision_date, j.referral_event_id,
        {nl.join(select)}
FROM j
"""


_SQL = features_sql()


def duckdb_features(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    threads: int | None = None,
) -> pd.DataFrame:
    """The feature table, one row per decision in ``decisions`` order.

    Parameters
    ----------
    households, people, events, decisions
        The canonical tables.
    threads
        DuckDB worker threads (default: DuckDB's own choice, all cores).

    Returns
    -------
    pandas.DataFrame
        The same columns and values as :func:`secondlook.features.build_features`.

    Raises
    ------
    duckdb.Error
        When a decision has 2**15 or more earlier events of its child or household (the
        16-bit lanes would overflow).
    """
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = false")
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.register("households", households)
        con.register("people", people)
        con.register("events", events)
        con.register("decisions", decisions[ID_COLUMNS])
        out = con.sql(_SQL).to_arrow_table().to_pandas()
    finally:
        con.close()
    out["decision_date"] = out["decision_date"].astype("datetime64[s]")
    return out
