"""An independent oracle: the point-in-time features written as DuckDB SQL.

This file shares no logic with ``secondlook.features.build``: it joins each decision to the
events dated strictly before it (by person, by household, by adult) and counts with SQL filters
and calendar-month intervals. ``tests/features/test_build_oracle.py`` holds the two
implementations to exact agreement on a small world, and ``benchmarks/bench_features.py``
times them.

Only the vocabularies (concerns, sources, adult-contact kinds, assessment factors) and the
documented constants come from the project, so that both sides build the same columns.
"""

from __future__ import annotations

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


def _q(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _within(months: int) -> str:
    return f"e.date >= p.dd - INTERVAL {months} MONTH"


def features_sql() -> str:
    """The SQL query computing every feature for the rows of ``decisions``.

    Returns
    -------
    str
        A query over the registered relations ``households``, ``people``, ``events`` and
        ``decisions``.
    """
    months = "(year({x}) * 12 + month({x}))"
    own: list[str] = [
        f"count(*) FILTER (WHERE e.type = 'referral' AND {_within(k)}) AS referrals_{k}m"
        for k in (3, 12, 36)
    ]
    own += [
        f"count(*) FILTER (WHERE e.type = 'referral' AND e.detail = {_q(c)} AND {_within(36)}) "
        f"AS referrals_36m_{c}"
        for c in CONCERNS
    ]
    own += [
        "max(e.date) FILTER (WHERE e.type = 'referral') AS last_referral",
        "count(*) FILTER (WHERE e.type = 'referral_outcome' AND e.detail = 'nfa') AS prior_nfa",
        "count(*) FILTER (WHERE e.type = 'referral_outcome' AND e.detail = 'assessment') "
        "AS prior_assessment",
        "count(*) FILTER (WHERE e.type = 'referral_outcome' AND e.detail = 's47') AS prior_s47",
        "count(*) FILTER (WHERE e.type = 's47_concluded' AND e.detail = 'substantiated') "
        "AS prior_s47_substantiated",
        "count(*) FILTER (WHERE e.type = 'cp_plan_started') AS plans_started",
        "count(*) FILTER (WHERE e.type = 'cp_plan_ended') AS plans_ended",
        f"count(*) FILTER (WHERE e.type = 'ed_attendance' AND {_within(12)}) AS ed_attendances_12m",
        "count(*) FILTER (WHERE e.type = 'ed_attendance' AND e.detail IN "
        f"('injury_unexplained', 'bruising', 'fracture', 'burn') AND {_within(12)}) "
        "AS unexplained_injuries_12m",
        "count(*) FILTER (WHERE ((e.type = 'ed_attendance' AND e.detail = 'bruising') OR "
        "(e.type = 'health_contact' AND e.detail = 'bruising_observed')) AND "
        f"{months.format(x='e.date')} - {months.format(x='p.birth_month')} "
        f"BETWEEN 0 AND {NON_MOBILE_MONTHS - 1}) AS bruises_non_mobile",
        "count(*) FILTER (WHERE e.type = 'health_contact' AND e.detail = 'missed_appointment' "
        f"AND {_within(12)}) AS missed_appointments_12m",
        f"count(*) FILTER (WHERE e.type = 'school_concern' AND {_within(12)}) "
        "AS school_concerns_12m",
    ]
    sib = "e.person_id <> p.person_id"
    hh: list[str] = [
        f"count(*) FILTER (WHERE e.type = 'referral' AND {sib} AND {_within(k)}) "
        f"AS sibling_referrals_{k}m"
        for k in (3, 12, 36)
    ]
    hh += [
        f"count(*) FILTER (WHERE e.type = 'referral' AND {sib} AND e.detail = {_q(c)} "
        f"AND {_within(36)}) AS sibling_referrals_36m_{c}"
        for c in CONCERNS
    ]
    hh += [
        f"max(e.date) FILTER (WHERE e.type = 'referral' AND {sib}) AS last_sibling_referral",
        f"count(*) FILTER (WHERE e.type = 'referral_outcome' AND e.detail = 'nfa' AND {sib}) "
        "AS sibling_prior_nfa",
        "count(*) FILTER (WHERE e.type = 'referral_outcome' AND e.detail = 'assessment' "
        f"AND {sib}) AS sibling_prior_assessment",
        f"count(*) FILTER (WHERE e.type = 'referral_outcome' AND e.detail = 's47' AND {sib}) "
        "AS sibling_prior_s47",
        "count(*) FILTER (WHERE e.type = 's47_concluded' AND e.detail = 'substantiated' "
        f"AND {sib}) AS sibling_prior_s47_substantiated",
        f"count(*) FILTER (WHERE e.type = 'child_removed' AND {sib}) AS sibling_removals",
        f"count(*) FILTER (WHERE e.type = 'cp_plan_started' AND {sib}) AS sibling_started",
        f"count(*) FILTER (WHERE e.type = 'cp_plan_ended' AND {sib}) AS sibling_ended",
    ]
    hh += [
        f"count(*) FILTER (WHERE e.type = 'police_domestic_incident' AND {_within(k)}) "
        f"AS police_domestic_{k}m"
        for k in (12, 36)
    ]
    hh += [
        f"count(*) FILTER (WHERE e.type = 'adult_service_contact' AND e.detail = {_q(detail)} "
        f"AND {_within(36)}) AS adult_contacts_{kind}_36m"
        for detail, kind in ADULT_CONTACT_KINDS.items()
    ]
    hh += [
        f"coalesce(bool_or(e.type = 'assessment_completed' AND "
        f"list_contains(string_split(e.detail, ';'), {_q(f)})), false)::BIGINT "
        f"AS assessment_found_{f}"
        for f in ASSESSMENT_FACTORS
    ]
    hh.append(
        f"count(*) FILTER (WHERE e.type = 'adult_joined' AND {_within(12)}) AS adults_joined_12m"
    )
    age = f"({months.format(x='p.dd')} - {months.format(x='p.birth_month')})"
    computed = {
        "age_months": f"greatest({age}, 0)",
        "unborn": f"({age} < 0)::BIGINT",
        "not_yet_mobile": f"({age} BETWEEN 0 AND {NON_MOBILE_MONTHS - 1})::BIGINT",
        "disability": "coalesce(p.disability, false)::BIGINT",
        "days_since_last_referral": f"CASE WHEN o.last_referral IS NULL THEN {NO_REFERRAL_DAYS} "
        f"ELSE least(date_diff('day', o.last_referral, p.dd), {NO_REFERRAL_DAYS}) END",
        "cp_plan_ever": "(o.plans_started > 0)::BIGINT",
        "cp_plan_active": "(o.plans_started > o.plans_ended)::BIGINT",
        "days_since_sibling_referral": "CASE WHEN h.last_sibling_referral IS NULL THEN "
        f"{NO_REFERRAL_DAYS} ELSE least(date_diff('day', h.last_sibling_referral, p.dd), "
        f"{NO_REFERRAL_DAYS}) END",
        "sibling_cp_plan_ever": "(h.sibling_started > 0)::BIGINT",
        "sibling_ever_removed": "(h.sibling_removals > 0)::BIGINT",
        "sibling_on_plan": "(h.sibling_started > h.sibling_ended)::BIGINT",
        "bruising_non_mobile": "(o.bruises_non_mobile > 0)::BIGINT",
        "adults_present": "coalesce(a.adults_present, 0)",
        "unassessed_adult_present": "coalesce(a.unassessed_adult_present, false)::BIGINT",
        "unassessed_adult_named_in_da": "coalesce(n.unassessed_named, false)::BIGINT",
        "unborn_earlier_removal": f"({age} < 0 AND h.sibling_removals > 0)::BIGINT",
        "months_notification_to_prebirth_referral": f"CASE WHEN {age} < 0 AND pn.notified IS NOT "
        f"NULL THEN {months.format(x='p.dd')} - {months.format(x='pn.notified')} ELSE 0 END",
        "months_prebirth_referral_before_due": f"CASE WHEN {age} < 0 THEN -{age} ELSE 0 END",
        "deprivation_decile": "p.deprivation_decile",
    }
    computed.update({f"source_{s}": f"(p.ref_source = {_q(s)})::BIGINT" for s in SOURCES})
    computed.update({f"concern_{c}": f"(p.ref_concern = {_q(c)})::BIGINT" for c in CONCERNS})
    own_names = {c.rsplit(" AS ", 1)[1] for c in own}
    hh_names = {c.rsplit(" AS ", 1)[1] for c in hh}
    select = []
    for name in feature_names():
        if name in computed:
            expr = computed[name]
        elif name in own_names:
            expr = f"o.{name}"
        elif name in hh_names:
            expr = f"h.{name}"
        else:  # pragma: no cover - a feature the oracle does not know
            raise KeyError(f"the DuckDB oracle has no definition of `{name}`")
        select.append(f"CAST({expr} AS BIGINT) AS {name}")
    nl = ",\n        "
    return f"""
    WITH p AS (
        SELECT d.decision_id, d.person_id, d.household_id, d.decision_date,
               d.referral_event_id, CAST(d.decision_date AS TIMESTAMP) AS dd,
               r.source AS ref_source, r.detail AS ref_concern,
               CAST(c.birth_month AS TIMESTAMP) AS birth_month, c.disability,
               hh.deprivation_decile, d.ordinal
        FROM (SELECT *, row_number() OVER () AS ordinal FROM decisions) d
        JOIN events r ON r.event_id = d.referral_event_id
        JOIN people c ON c.person_id = d.person_id
        JOIN households hh ON hh.household_id = d.household_id
    ),
    ev AS (SELECT *, CAST(date AS TIMESTAMP) AS ts FROM events),
    o AS (
        SELECT p.decision_id,
        {nl.join(own)}
        FROM p LEFT JOIN (SELECT * REPLACE (ts AS date) FROM ev) e
          ON e.person_id = p.person_id AND e.date < p.dd
        GROUP BY p.decision_id
    ),
    h AS (
        SELECT p.decision_id,
        {nl.join(hh)}
        FROM p LEFT JOIN (SELECT * REPLACE (ts AS date) FROM ev) e
          ON e.household_id = p.household_id AND e.date < p.dd
        GROUP BY p.decision_id
    ),
    pairs AS (
        SELECT p.decision_id, p.dd, x.person_id AS adult, x.role
        FROM p JOIN people x ON x.household_id = p.household_id AND x.role <> 'child'
    ),
    adult_state AS (
        SELECT pr.decision_id, pr.adult, pr.role,
               max(e.ts) FILTER (WHERE e.type = 'adult_joined') AS last_joined,
               max(e.ts) FILTER (WHERE e.type = 'adult_left') AS last_left,
               count(*) FILTER (WHERE e.type = 'adult_assessed') AS times_assessed
        FROM pairs pr LEFT JOIN ev e ON e.person_id = pr.adult AND e.ts < pr.dd
        GROUP BY pr.decision_id, pr.adult, pr.role
    ),
    presence AS (
        SELECT *, CASE
            WHEN last_joined IS NULL AND last_left IS NULL THEN role IN ('mother', 'father')
            WHEN last_joined IS NULL THEN false
            WHEN last_left IS NULL THEN true
            ELSE last_joined > last_left END AS present
        FROM adult_state
    ),
    a AS (
        SELECT decision_id,
               count(*) FILTER (WHERE present) AS adults_present,
               bool_or(present AND times_assessed = 0 AND role <> 'mother')
                 AS unassessed_adult_present
        FROM presence GROUP BY decision_id
    ),
    n AS (
        SELECT p.decision_id,
               bool_or(NOT EXISTS (
                   SELECT 1 FROM ev x
                   WHERE x.type = 'adult_assessed' AND x.person_id = e.related_person_id
                     AND x.ts < p.dd)) AS unassessed_named
        FROM p JOIN ev e
          ON e.household_id = p.household_id AND e.type = 'police_domestic_incident'
         AND e.related_person_id IS NOT NULL AND e.ts < p.dd
        GROUP BY p.decision_id
    ),
    pn AS (
        SELECT p.decision_id, max(e.ts) AS notified
        FROM p JOIN ev e
          ON e.related_person_id = p.person_id AND e.type = 'pregnancy_notified' AND e.ts < p.dd
        GROUP BY p.decision_id
    )
    SELECT p.decision_id, p.person_id, p.household_id, p.decision_date, p.referral_event_id,
        {nl.join(select)}
    FROM p
    JOIN o USING (decision_id)
    JOIN h USING (decision_id)
    LEFT JOIN a USING (decision_id)
    LEFT JOIN n USING (decision_id)
    LEFT JOIN pn USING (decision_id)
    ORDER BY p.ordinal
    """


def duckdb_features(
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    threads: int | None = None,
) -> pd.DataFrame:
    """Compute the features with DuckDB, one row per decision in ``decisions`` order.

    Parameters
    ----------
    households, people, events, decisions
        The canonical tables.
    threads
        DuckDB worker threads (default: DuckDB's own choice, all cores).

    Returns
    -------
    pandas.DataFrame
        The same columns as :func:`secondlook.features.build_features`.
    """
    return run_sql(features_sql(), households, people, events, decisions, threads=threads)


def run_sql(
    sql: str,
    households: pd.DataFrame,
    people: pd.DataFrame,
    events: pd.DataFrame,
    decisions: pd.DataFrame,
    *,
    threads: int | None = None,
    arrow: bool = False,
) -> pd.DataFrame:
    """Run a feature query over the four canonical tables (``decisions`` as its id columns).

    ``arrow`` fetches the result through Arrow (faster for a wide table) rather than DuckDB's
    own DataFrame conversion; ``decision_date`` comes back at the contract's second resolution.
    """
    con = duckdb.connect()
    try:
        if threads is not None:
            con.execute(f"SET threads = {int(threads)}")
        con.register("households", households)
        con.register("people", people)
        con.register("events", events)
        con.register("decisions", decisions[ID_COLUMNS])
        out = con.sql(sql).to_arrow_table().to_pandas() if arrow else con.execute(sql).df()
    finally:
        con.close()
    out["decision_date"] = out["decision_date"].astype("datetime64[s]")
    return out
