"""A fast DuckDB formulation of the feature table: the baseline of ``bench_features.py``.

``duckdb_features.py`` is the correctness oracle: one range join per key and ~55 filtered
counts over every (decision, earlier event) pair, written to be obviously right. This file is
written to be fast, with the same output (checked on every benchmark run and in
``tests/features/test_build_oracle.py``):

* **Running totals instead of pairs.** Each key's events (the child's, the household's) are
  grouped by day and turned into running totals per key (a window ``sum`` over days); a count
  in a window ``[lo, d)`` is the total at the last day before ``d`` minus the total at the last
  day before ``lo``, both found by an ``ASOF JOIN`` -- a sort-merge per bound instead of a hash
  join producing every (decision, earlier event) pair.
* **Packed counters.** Every event is reduced once to HUGEINT words whose 16-bit lanes say
  which counters it feeds (a ``CASE`` over type and detail); the running totals add words, and
  the final ``SELECT`` shifts and masks the lanes out. A lane of a running total counts events
  of one key, so a key with 2**15 events or more raises ``error()`` rather than carry.
* **Latest events as running maxima** (the child's latest referral, the latest pregnancy
  notification, each adult's latest join and departure) read by the same ``ASOF`` joins; the
  household's latest referral about another child reads, for the household's latest referral
  day before the decision, the latest earlier day on which somebody else was referred (a window
  over runs of days on which one child alone was referred).
* The result is ordered by decision, then fetched through Arrow.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from secondlook.features.catalogue import (
    ADULT_CONTACT_KINDS,
    ASSESSMENT_FACTORS,
    NO_REFERRAL_DAYS,
    NON_MOBILE_MONTHS,
    feature_names,
)
from secondlook.schema import CONCERNS, SOURCES

# the oracle beside this file runs the query and holds the shared pieces (not a package)
sys.path.insert(0, str(Path(__file__).resolve().parent))
from duckdb_features import _q, run_sql  # noqa: E402

LANE = 16  # bits per counter
PER_WORD = 8  # lanes per HUGEINT
LIMIT = 1 << (LANE - 1)  # events per key: keeps every lane, the top one included, below 2**15
UNEXPLAINED = ("injury_unexplained", "bruising", "fracture", "burn")

# (event type, details or None) alternatives of a counter
Test = list[tuple[str, tuple[str, ...] | None]]


class Lanes:
    """Counters packed into HUGEINT words: the per-event expressions and the unpacking."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.names: list[str] = []
        self.tests: list[Test] = []

    def add(self, name: str, test: Test) -> None:
        self.names.append(name)
        self.tests.append(test)

    def _words(self) -> list[list[int]]:
        idx = list(range(len(self.names)))
        return [idx[i : i + PER_WORD] for i in range(0, len(idx), PER_WORD)]

    def event_words(self) -> list[str]:
        """One ``CASE`` per word over the event's type and detail, as HUGEINT."""
        out = []
        for w, members in enumerate(self._words()):
            by_type: dict[str, dict[str | None, int]] = {}
            for lane, i in enumerate(members):
                bit = 1 << (LANE * lane)
                for etype, details in self.tests[i]:
                    slot = by_type.setdefault(etype, {})
                    for detail in details or (None,):
                        slot[detail] = slot.get(detail, 0) | bit
            whens = []
            for etype, slot in by_type.items():
                base = slot.pop(None, 0)
                inner = " ".join(f"WHEN {_q(d)} THEN {v | base}" for d, v in slot.items())
                value = f"CASE e.detail {inner} ELSE {base} END" if inner else str(base)
                whens.append(f"WHEN {_q(etype)} THEN {value}")
            out.append(
                f"CAST(CASE e.type {' '.join(whens)} ELSE 0 END AS HUGEINT) AS {self.prefix}{w}"
            )
        return out

    def columns(self) -> list[str]:
        return [f"{self.prefix}{w}" for w in range(len(self._words()))]

    def count(self, name: str, lo: str | None) -> str:
        """The counter ``name`` before the decision, minus its value before the bound ``lo``."""
        i = self.names.index(name)
        w, lane = divmod(i, PER_WORD)
        col = f"{self.prefix}.{self.prefix}{w}"
        total = f"{col}_hi" if lo is None else f"({col}_hi - {col}_{lo})"
        return f"CAST(({total} >> {LANE * lane}) & {(1 << LANE) - 1} AS BIGINT)"


def _lanes() -> tuple[Lanes, Lanes]:
    """The child's counters and the household's (the latter also counts siblings' events)."""
    own = Lanes("o")
    for outcome in ("nfa", "assessment", "s47"):
        own.add(outcome, [("referral_outcome", (outcome,))])
    own.add("substantiated", [("s47_concluded", ("substantiated",))])
    own.add("started", [("cp_plan_started", None)])
    own.add("ended", [("cp_plan_ended", None)])
    own.add("removed", [("child_removed", None)])
    own.add("referral", [("referral", None)])
    for c in CONCERNS:
        own.add(f"referral_{c}", [("referral", (c,))])
    own.add("ed", [("ed_attendance", None)])
    own.add("unexplained", [("ed_attendance", UNEXPLAINED)])
    own.add("missed", [("health_contact", ("missed_appointment",))])
    own.add("school", [("school_concern", None)])
    hh = Lanes("h")
    for name, test in zip(
        own.names[: 8 + len(CONCERNS)], own.tests[: 8 + len(CONCERNS)], strict=True
    ):
        hh.add(name, test)
    hh.add("police", [("police_domestic_incident", None)])
    hh.add("joined", [("adult_joined", None)])
    for detail, short in ADULT_CONTACT_KINDS.items():
        hh.add(f"contact_{short}", [("adult_service_contact", (detail,))])
    return own, hh


def _select(own: Lanes, hh: Lanes, found: dict[str, str], guard: str) -> list[str]:
    """The output expression of every feature, in catalogue order."""

    def o(name: str, lo: str | None = None) -> str:
        return own.count(name, lo)

    def h(name: str, lo: str | None = None) -> str:
        return hh.count(name, lo)

    def sib(name: str, lo: str | None = None, hlo: str | None = None) -> str:
        return f"({h(name, hlo)} - {o(name, lo)})"

    age = "(p.dmi - p.bmi)"
    expr: dict[str, str] = {
        "age_months": f"greatest({age}, 0)",
        "unborn": f"({age} < 0)",
        "not_yet_mobile": f"({age} BETWEEN 0 AND {NON_MOBILE_MONTHS - 1})",
        "disability": "coalesce(p.disability, false)",
        "days_since_last_referral": f"coalesce(least(p.d - o.last_referral, "
        f"{NO_REFERRAL_DAYS}), {NO_REFERRAL_DAYS})",
        "cp_plan_ever": f"({o('started')} > 0)",
        "cp_plan_active": f"({o('started')} > {o('ended')})",
        "days_since_sibling_referral": f"coalesce(least(p.d - sr.other_day, {NO_REFERRAL_DAYS}), "
        f"{NO_REFERRAL_DAYS})",
        "sibling_cp_plan_ever": f"({sib('started')} > 0)",
        "sibling_ever_removed": f"({sib('removed')} > 0)",
        "sibling_on_plan": f"({sib('started')} - {sib('ended')} > 0)",
        "bruising_non_mobile": "coalesce(o.bruises, 0) > 0",
        "adults_present": "coalesce(a.adults_present, 0)",
        "unassessed_adult_present": "coalesce(a.unassessed_present, false)",
        "unassessed_adult_named_in_da": "coalesce(n.unassessed_named, false)",
        "unborn_earlier_removal": f"({age} < 0 AND {sib('removed')} > 0)",
        "months_notification_to_prebirth_referral": f"CASE WHEN {age} < 0 AND o.notified_mi "
        "IS NOT NULL THEN p.dmi - o.notified_mi ELSE 0 END",
        "months_prebirth_referral_before_due": f"CASE WHEN {age} < 0 THEN -{age} ELSE 0 END",
        "deprivation_decile": f"p.deprivation_decile + {guard}",
        "prior_s47_substantiated": o("substantiated"),
        "sibling_prior_s47_substantiated": sib("substantiated"),
        "ed_attendances_12m": o("ed", "12"),
        "unexplained_injuries_12m": o("unexplained", "12"),
        "missed_appointments_12m": o("missed", "12"),
        "school_concerns_12m": o("school", "12"),
        "adults_joined_12m": h("joined", "12"),
    }
    for outcome in ("nfa", "assessment", "s47"):
        expr[f"prior_{outcome}"] = o(outcome)
        expr[f"sibling_prior_{outcome}"] = sib(outcome)
    for k in (3, 12, 36):
        expr[f"referrals_{k}m"] = o("referral", str(k))
        expr[f"sibling_referrals_{k}m"] = sib("referral", str(k), str(k))
    for c in CONCERNS:
        expr[f"referrals_36m_{c}"] = o(f"referral_{c}", "36")
        expr[f"sibling_referrals_36m_{c}"] = sib(f"referral_{c}", "36", "36")
    for k in (12, 36):
        expr[f"police_domestic_{k}m"] = h("police", str(k))
    for short in ADULT_CONTACT_KINDS.values():
        expr[f"adult_contacts_{short}_36m"] = h(f"contact_{short}", "36")
    for f, column in found.items():
        expr[f"assessment_found_{f}"] = f"coalesce(h.{column}, false)"
    expr.update({f"source_{s}": f"(p.ref_source = {_q(s)})" for s in SOURCES})
    expr.update({f"concern_{c}": f"(p.ref_concern = {_q(c)})" for c in CONCERNS})
    select = [f"CAST({expr[name]} AS BIGINT) AS {name}" for name in feature_names()]

    return select


def stream(key: str, events: str, cols: list[str], extras: dict[str, str]) -> str:
    """The key's events and its decisions' four bounds in one stream; the running totals
    at a bound (sorted before the events of its day) are the events strictly before it."""
    zeros = ", ".join("0" for _ in cols)
    nulls = ", ".join(f"NULL AS {x}" for x in extras)
    probes = " UNION ALL ".join(
        f"SELECT {key}, {bound}, 0, ord, {i}, {zeros}, {nulls} FROM p"
        for i, bound in enumerate(("d", "lo3", "lo12", "lo36"))
    )
    return (
        f"SELECT k, day, 1 AS kind, NULL::BIGINT AS ord, NULL::INTEGER AS bound, "
        f"{', '.join(cols)}, {', '.join(extras)} FROM {events} UNION ALL {probes}"
    )


def pivot(prefix: str, cols: list[str], extras: dict[str, str]) -> str:
    out = [
        f"any_value({c}) FILTER (WHERE bound = {i}) AS {c}_{name}"
        for c in cols
        for i, name in enumerate(("hi", "3", "12", "36"))
    ]
    out += [f"any_value({x}) FILTER (WHERE bound = 0) AS {x}" for x in extras]
    return ", ".join(out)


def running(cols: list[str], extras: dict[str, str]) -> str:
    return ", ".join(
        [f"sum({c}) OVER w AS {c}" for c in cols]
        + [f"{f}({x}) OVER w AS {x}" for x, f in extras.items()]
    )


def features_sql() -> str:
    """The query over the registered relations households, people, events, decisions."""
    nl = ",\n        "
    own, hh = _lanes()
    found = {f: f"found_{f}" for f in ASSESSMENT_FACTORS}
    guard = (
        f"CASE WHEN (SELECT max(n) FROM key_sizes) >= {LIMIT} THEN error('a key has too many "
        "events for 16-bit counters') ELSE 0 END"
    )
    select = _select(own, hh, found, guard)
    own_cols = own.columns()
    hh_cols = hh.columns()
    found_cols = [
        f"(e.type = 'assessment_completed' AND "
        f"list_contains(string_split(e.detail, ';'), {_q(f)})) AS {column}"
        for f, column in found.items()
    ]

    own_extras = {"last_referral": "max", "notified_mi": "max", "bruises": "sum"}
    hh_extras = {column: "bool_or" for column in found.values()}
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
    SELECT e.person_id AS k, CAST(e.date AS DATE) AS day,
           {nl.join(own.event_words())},
           CASE WHEN e.type = 'referral' THEN CAST(e.date AS DATE) END AS last_referral,
           NULL::BIGINT AS notified_mi, 0 AS bruises
    FROM events e WHERE e.person_id IS NOT NULL AND e.type IN
        ({", ".join(sorted({_q(t) for test in own.tests for t, _ in test}))})
    UNION ALL
    SELECT e.related_person_id, CAST(e.date AS DATE), {", ".join("0" for _ in own_cols)},
           NULL, year(e.date) * 12 + month(e.date), 0
    FROM events e WHERE e.type = 'pregnancy_notified' AND e.related_person_id IS NOT NULL
    UNION ALL
    SELECT e.person_id, CAST(e.date AS DATE), {", ".join("0" for _ in own_cols)}, NULL, NULL, 1
    FROM events e JOIN people c ON c.person_id = e.person_id
    WHERE ((e.type = 'ed_attendance' AND e.detail = 'bruising')
           OR (e.type = 'health_contact' AND e.detail = 'bruising_observed'))
      AND (year(e.date) * 12 + month(e.date)) - (year(c.birth_month) * 12 + month(c.birth_month))
          BETWEEN 0 AND {NON_MOBILE_MONTHS - 1}
),
hh_events AS (
    SELECT e.household_id AS k, CAST(e.date AS DATE) AS day,
           {nl.join(hh.event_words())},
           {nl.join(found_cols)}
    FROM events e WHERE e.household_id IS NOT NULL AND e.type IN
        ({", ".join(sorted({_q(t) for test in hh.tests for t, _ in test} | {"'assessment_completed'"}))})
),
key_sizes AS (
    SELECT count(*) AS n FROM own_events GROUP BY k
    UNION ALL SELECT count(*) FROM hh_events GROUP BY k
),
o AS (
    SELECT ord, {pivot("o", own_cols, own_extras)}
    FROM (SELECT ord, bound, {running(own_cols, own_extras)}
          FROM ({stream("person_id", "own_events", own_cols, own_extras)})
          WINDOW w AS (PARTITION BY k ORDER BY day, kind ROWS UNBOUNDED PRECEDING)
          QUALIFY kind = 0)
    GROUP BY ord
),
h AS (
    SELECT ord, {pivot("h", hh_cols, hh_extras)}
    FROM (SELECT ord, bound, {running(hh_cols, hh_extras)}
          FROM ({stream("household_id", "hh_events", hh_cols, hh_extras)})
          WINDOW w AS (PARTITION BY k ORDER BY day, kind ROWS UNBOUNDED PRECEDING)
          QUALIFY kind = 0)
    GROUP BY ord
),
referral_days AS (
    -- per household and day: how many children were referred, and one of them
    SELECT household_id AS k, CAST(date AS DATE) AS day, count(DISTINCT person_id) AS children,
           min(person_id) AS child
    FROM events WHERE type = 'referral' AND household_id IS NOT NULL
    GROUP BY ALL
),
referral_runs AS (
    -- a run: consecutive days on which the same one child alone was referred
    SELECT *, sum(starts) OVER (PARTITION BY k ORDER BY day) AS run
    FROM (SELECT *, lag(day) OVER (PARTITION BY k ORDER BY day) AS previous_day,
                 CASE WHEN children = 1 AND lag(children) OVER (PARTITION BY k ORDER BY day) = 1
                       AND lag(child) OVER (PARTITION BY k ORDER BY day) = child
                      THEN 0 ELSE 1 END AS starts
          FROM referral_days)
),
referral_other AS (
    -- the latest earlier day on which a child other than this run's was referred
    SELECT k, day, children, child,
           first_value(previous_day) OVER (PARTITION BY k, run ORDER BY day) AS before_run
    FROM referral_runs
),
sr AS (
    SELECT p.ord,
           CASE WHEN t.children > 1 OR t.child <> p.person_id THEN t.day ELSE t.before_run END
             AS other_day
    FROM p ASOF JOIN referral_other t ON p.household_id = t.k AND p.d > t.day
),
adult_days AS (
    SELECT person_id AS k, CAST(date AS DATE) AS day,
           max(max(CASE WHEN type = 'adult_joined' THEN CAST(date AS DATE) END)) OVER w AS joined,
           max(max(CASE WHEN type = 'adult_left' THEN CAST(date AS DATE) END)) OVER w AS left_,
           bool_or(bool_or(type = 'adult_assessed')) OVER w AS assessed
    FROM events WHERE type IN ('adult_joined', 'adult_left', 'adult_assessed')
    GROUP BY person_id, CAST(date AS DATE)
    WINDOW w AS (PARTITION BY person_id ORDER BY CAST(date AS DATE))
),
members AS (
    SELECT p.ord, p.d, x.person_id AS adult, x.role
    FROM p JOIN people x ON x.household_id = p.household_id AND x.role <> 'child'
),
a AS (
    SELECT m.ord,
           count(*) FILTER (WHERE present) AS adults_present,
           bool_or(present AND NOT assessed AND role <> 'mother') AS unassessed_present
    FROM (
        SELECT m.ord, m.role, coalesce(s.assessed, false) AS assessed,
               CASE WHEN s.joined IS NULL AND s.left_ IS NULL THEN m.role IN ('mother', 'father')
                    WHEN s.joined IS NULL THEN false
                    WHEN s.left_ IS NULL THEN true
                    ELSE s.joined > s.left_ END AS present
        FROM members m ASOF LEFT JOIN adult_days s ON m.adult = s.k AND m.d > s.day
    ) m
    GROUP BY m.ord
),
named AS (
    SELECT household_id, related_person_id AS adult, min(CAST(date AS DATE)) AS first_named
    FROM events
    WHERE type = 'police_domestic_incident' AND related_person_id IS NOT NULL
      AND household_id IS NOT NULL
    GROUP BY ALL
),
named_pairs AS (
    SELECT p.ord, p.d, x.adult
    FROM p JOIN named x ON x.household_id = p.household_id AND x.first_named < p.d
),
n AS (
    SELECT m.ord, bool_or(NOT coalesce(s.assessed, false)) AS unassessed_named
    FROM named_pairs m ASOF LEFT JOIN adult_days s ON m.adult = s.k AND m.d > s.day
    GROUP BY m.ord
)
SELECT p.decision_id, p.person_id, p.household_id, p.decision_date, p.referral_event_id,
        {nl.join(select)}
FROM p
JOIN o USING (ord) JOIN h USING (ord)
LEFT JOIN sr USING (ord) LEFT JOIN a USING (ord) LEFT JOIN n USING (ord)
ORDER BY p.ord
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
    """
    return run_sql(_SQL, households, people, events, decisions, threads=threads, arrow=True)
