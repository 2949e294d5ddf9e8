"""The canonical tables and the event vocabulary.

This module is the contract between the generator, the features and batch scoring: the
generator writes these tables, the features and ``secondlook score`` read them. Each table is a
pandera schema; :func:`validate_tables` checks a set of tables against the schemas and against
the rules that span tables (referential integrity, dates inside the window, nothing dated before
a person's birth month except events about an unborn child). Every failure is raised as one
:class:`TableError` naming the table, the column and the first offending rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

from secondlook.errors import TableError

# --- vocabulary ------------------------------------------------------------------------------

ROLES = ("child", "mother", "father", "partner", "other_adult")
ADULT_ROLES = ("mother", "father", "partner", "other_adult")
#: ``U``: not recorded, indeterminate or unborn (imported records only; the simulator draws F/M)
SEXES = ("F", "M", "U")
ETHNICITIES = ("White", "Mixed", "Asian", "Black", "Other")
#: what a record that does not know a person's sex or ethnicity (or a household's deprivation
#: decile, in a CSV) says: a value of its own, never a model input, a group of its own in tables
UNKNOWN = "unknown"
#: a person's ethnicity in imported records when it was refused or not obtained
ETHNICITY_NOT_RECORDED = "Not recorded"
#: what ``people.ethnicity`` may hold: the groups, or "not recorded" (imported records only)
PERSON_ETHNICITIES = ETHNICITIES + (ETHNICITY_NOT_RECORDED,)
CONCERNS = (
    "physical_injury",
    "neglect",
    "domestic_abuse",
    "parental_drug_misuse",
    "parental_alcohol_misuse",
    "parental_mental_health",
    "emotional",
    "sexual",
    "other",
)
OUTCOMES = ("nfa", "assessment", "s47")
PLAN_CATEGORIES = ("neglect", "physical", "emotional", "sexual")
#: what a plan event may record: a category, or ``multiple`` (the census's MUL; imported only)
PLAN_DETAILS = PLAN_CATEGORIES + ("multiple",)
SOURCES = (
    "police",
    "health_visitor",
    "gp",
    "hospital",
    "school",
    "probation",
    "adult_services",
    "housing",
    "self_family",
    "anonymous",
    "other",
)
#: event type -> allowed ``detail`` values (``None``: detail must be empty).
EVENT_DETAILS: dict[str, tuple[str, ...] | None] = {
    "referral": CONCERNS,
    "referral_outcome": OUTCOMES,
    "assessment_completed": ("not_in_need",) + CONCERNS,  # factors are ';'-joined concerns
    "adult_assessed": None,
    "s47_concluded": ("substantiated", "not_substantiated"),
    "icpc": ("plan", "no_plan"),
    "cp_plan_started": PLAN_DETAILS,
    "cp_plan_ended": PLAN_DETAILS,
    "child_removed": None,
    "ed_attendance": (
        "injury_explained",
        "injury_unexplained",
        "bruising",
        "fracture",
        "burn",
        "ingestion",
        "illness",
    ),
    "health_contact": ("routine", "missed_appointment", "bruising_observed", "faltering_growth"),
    "school_concern": ("attendance", "presentation", "disclosure"),
    "police_domestic_incident": None,
    "adult_joined": None,
    "adult_left": None,
    "adult_service_contact": (
        "drug_treatment",
        "alcohol_treatment",
        "mental_health_crisis",
        "mental_health_treatment",
        "probation",
    ),
    "pregnancy_notified": None,
    "birth": ("premature", "term"),
    # imported records only, last so the simulator's type codes stay as they were
    "s47_started": None,  # the enquiry's start (the simulator dates its end: s47_concluded)
}
#: details only imported records use (the simulator's detail codes are numbered without them)
IMPORTED_ONLY_DETAILS = ("multiple",)
EVENT_TYPES = tuple(EVENT_DETAILS)
#: events whose subject is an adult (all others are about a child)
ADULT_EVENTS = (
    "adult_assessed",
    "police_domestic_incident",
    "adult_joined",
    "adult_left",
    "adult_service_contact",
    "pregnancy_notified",
)
#: events about a child that may precede its birth month (by at most ten months)
PRENATAL_EVENTS = (
    "referral",
    "referral_outcome",
    "assessment_completed",
    "s47_started",
    "s47_concluded",
    "icpc",
    "cp_plan_started",
    "cp_plan_ended",
)
MAX_PRENATAL_MONTHS = 10

#: the hidden factors of the true risk, named as in the truth table's ``driver_<factor>``
FACTORS = (
    "drug",
    "alcohol",
    "mental_health",
    "domestic_abuse",
    "unassessed_violent_adult",
    "earlier_removal",
    "young_parent",
    "deprivation",
    "disability",
)
PROXY_LABELS = ("cp_plan_12m", "rereferral_12m", "removal_12m")
LABELS = ("warrants_escalation", "harm_12m_no_action", "harm_12m_observed") + PROXY_LABELS

TABLES = ("households", "people", "events", "decisions", "truth")
COHORT_TABLES = ("households", "people", "events")


def seed_case_prefixes(vignettes: Sequence[str]) -> tuple[str, ...]:
    """The id prefix of each seed case: every id a vignette's case gets starts ``<name>-``.

    Parameters
    ----------
    vignettes
        The seed cases' names (``synth.vignettes``, the file stems in ``data/vignettes``).

    Returns
    -------
    tuple of str
        ``("<name>-", ...)``, for ``Series.str.startswith``.
    """
    return tuple(f"{name}-" for name in vignettes)


def _decision_order(decision_id: str) -> tuple[int, str]:
    """Sort key of a seed decision id: ``<name>-D<n>`` by its number ``n``, not as text."""
    number = decision_id.rsplit("-D", 1)[-1]
    return (int(number), decision_id) if number.isdigit() else (-1, decision_id)


def last_seed_decisions(decision_ids: Iterable[str], vignettes: Sequence[str]) -> tuple[str, ...]:
    """Each seed case's last decision: the referral closest to the harm its vignette tells.

    Parameters
    ----------
    decision_ids
        Decision ids to pick from (any order; other ids are ignored), e.g. a table's seed rows.
    vignettes
        The seed cases' names (``synth.vignettes``, the file stems in ``data/vignettes``).

    Returns
    -------
    tuple of str
        One id per seed case that has a decision among ``decision_ids``, in the order of
        ``vignettes``: its ``<name>-D<n>`` with the largest ``n`` (the vignette's decisions are
        numbered in date order).
    """
    ids = sorted(set(map(str, decision_ids)), key=_decision_order)
    out = []
    for prefix in seed_case_prefixes(vignettes):
        mine = [d for d in ids if d.startswith(prefix)]
        if mine:
            out.append(mine[-1])
    return tuple(out)


# --- schemas ---------------------------------------------------------------------------------

_ID = pa.Column(str, nullable=False)
#: dates may come at any resolution (parquet stores seconds as milliseconds)
_IS_DATE = pa.Check(
    lambda s: pd.api.types.is_datetime64_dtype(s.dtype), element_wise=False, name="a date column"
)
_DATE = pa.Column(None, _IS_DATE, nullable=False)
#: an integer column that may hold missing values (int64, or pandas' nullable Int64)
_IS_INT = pa.Check(
    lambda s: pd.api.types.is_integer_dtype(s.dtype), element_wise=False, name="an integer column"
)


def _isin(values: Sequence[str]) -> pa.Check:
    return pa.Check.isin(list(values), name=f"one of {', '.join(values)}")


HOUSEHOLDS = pa.DataFrameSchema(
    {
        "household_id": pa.Column(str, unique=True),
        # LA01..: the simulator's authorities; LA201..: an imported return's 3-digit LEA code
        "local_authority": pa.Column(str, pa.Check.str_matches(r"^LA\d{2,3}$", name="LA code")),
        # empty when the source records no address (imported CIN census, Annex A)
        "deprivation_decile": pa.Column(
            None,
            [
                _IS_INT,
                pa.Check.in_range(1, 10),
            ],
            nullable=True,
        ),
    },
    strict=True,
    name="households",
)
PEOPLE = pa.DataFrameSchema(
    {
        "person_id": pa.Column(str, unique=True),
        "household_id": _ID,
        "role": pa.Column(str, _isin(ROLES)),
        "sex": pa.Column(str, _isin((*SEXES, UNKNOWN))),
        "birth_month": pa.Column(
            None,
            [_IS_DATE, pa.Check(lambda s: s.dt.day == 1, name="first of a month")],
            nullable=False,
        ),
        "ethnicity": pa.Column(str, _isin((*PERSON_ETHNICITIES, UNKNOWN))),
        "disability": pa.Column("boolean", nullable=True),
    },
    strict=True,
    name="people",
)
EVENTS = pa.DataFrameSchema(
    {
        "event_id": pa.Column(str, unique=True),
        "household_id": _ID,
        "person_id": _ID,
        "date": _DATE,
        "type": pa.Column(str, _isin(EVENT_TYPES)),
        "source": pa.Column(str, _isin(SOURCES)),
        "detail": pa.Column(str, nullable=True),
        "related_person_id": pa.Column(str, nullable=True),
    },
    strict=True,
    name="events",
)
DECISIONS = pa.DataFrameSchema(
    {
        "decision_id": pa.Column(str, unique=True),
        "person_id": _ID,
        "household_id": _ID,
        "referral_event_id": pa.Column(str, unique=True),
        "decision_date": _DATE,
        "practice_outcome": pa.Column(str, _isin(OUTCOMES)),
    },
    strict=True,
    name="decisions",
)
TRUTH = pa.DataFrameSchema(
    {
        "decision_id": pa.Column(str, unique=True),
        "true_risk_12m": pa.Column("float64", pa.Check.in_range(0.0, 1.0)),
        "true_logodds": pa.Column("float64"),
        "baseline_logodds": pa.Column("float64"),
        **{label: pa.Column("bool") for label in LABELS},
        **{f"state_{f}": pa.Column("bool") for f in FACTORS},
        **{f"driver_{f}": pa.Column("float64") for f in FACTORS},
    },
    strict=True,
    name="truth",
)
SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "households": HOUSEHOLDS,
    "people": PEOPLE,
    "events": EVENTS,
    "decisions": DECISIONS,
    "truth": TRUTH,
}

#: the kind of value a contract column holds, as batch scoring reads it
Kind = Literal["text", "date", "int", "bool"]
_KIND_OF_DTYPE: dict[str, Kind] = {
    "string[pyarrow]": "text",
    "str": "text",
    "int64": "int",
    "boolean": "bool",
    "bool": "bool",
}


def column_rules(table: str, column: str) -> dict[str, Any]:
    """What the contract's checks on ``table.column`` allow, read from its pandera schema.

    Parameters
    ----------
    table, column
        A column of :data:`SCHEMAS`.

    Returns
    -------
    dict
        The checks' statistics merged: ``allowed_values`` (a closed vocabulary), ``pattern``
        (a regular expression), ``min_value``/``max_value`` (an inclusive range); empty when
        the column has none of them.
    """
    out: dict[str, Any] = {}
    for check in SCHEMAS[table].columns[column].checks:
        out |= check.statistics or {}
    return out


def column_kinds(table: str) -> dict[str, Kind]:
    """The kind of value each contract column of ``table`` holds, in schema order.

    Derived from :data:`SCHEMAS`: a string column is ``text``, ``int64`` is ``int``, a
    (nullable) boolean is ``bool``, a column checked as "a date column" is ``date``.
    """
    kinds: dict[str, Kind] = {}
    for name, col in SCHEMAS[table].columns.items():
        if any(check.name == _IS_DATE.name for check in col.checks):
            kinds[name] = "date"
        elif any(check.name == _IS_INT.name for check in col.checks):
            kinds[name] = "int"
        else:
            kinds[name] = _KIND_OF_DTYPE[str(col.dtype)]
    return kinds


def _raise_from(table: str, df: pd.DataFrame, err: pa.errors.SchemaErrors) -> None:
    cases = err.failure_cases
    first = cases.iloc[0]
    column = str(first["column"]) if pd.notna(first["column"]) else "(table)"
    check = str(first["check"])
    same = cases[(cases["column"].astype(str) == str(first["column"])) & (cases["check"] == check)]
    idx = pd.to_numeric(same["index"], errors="coerce").dropna().astype(int).unique()
    if len(idx):
        rows = df.iloc[idx]
    elif column in df.columns:  # a whole-column check (its type): show the type found
        rows = pd.DataFrame({"found dtype": [str(df[column].dtype)]})
    else:
        rows = same[["failure_case"]].rename(columns={"failure_case": column})
    raise TableError(table, column, check, rows)


def validate_table(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """Check one table against its schema.

    Parameters
    ----------
    name
        One of :data:`TABLES`.
    df
        The table, with a default RangeIndex.

    Returns
    -------
    pandas.DataFrame
        ``df`` unchanged.

    Raises
    ------
    TableError
        Naming the table, the first failing column and its first offending rows.
    """
    try:
        SCHEMAS[name].validate(df, lazy=True)
    except pa.errors.SchemaErrors as err:
        _raise_from(name, df.reset_index(drop=True), err)
    return df


def _member(values: pd.Series, allowed: pd.Series | pd.Index) -> np.ndarray:
    """Whether each of ``values`` is one of ``allowed`` (a missing value never is).

    ``values.isin(allowed)`` as a bool array, but hashing ``allowed`` in Arrow: pandas' own
    ``isin`` on Arrow-backed strings turns every allowed value into a pyarrow scalar in Python,
    which took 11 of the 24 CPU-seconds of building a default-size world (the identifier checks
    below). Falls back to pandas for values Arrow cannot hold.

    Parameters
    ----------
    values
        Shape (n,).
    allowed
        The allowed values, any length.

    Returns
    -------
    numpy.ndarray of bool, shape (n,)
    """
    import pyarrow as arrow
    import pyarrow.compute as pc

    try:
        left = arrow.array(values, from_pandas=True)
        right = arrow.array(allowed, from_pandas=True)
        hit = pc.is_in(left, value_set=right.cast(left.type), skip_nulls=True)
    except (arrow.ArrowException, TypeError, ValueError):
        return values.isin(allowed).to_numpy(dtype=bool) & values.notna().to_numpy()
    return np.asarray(hit.to_numpy(zero_copy_only=False), dtype=bool)


def _require(table: str, column: str, check: str, df: pd.DataFrame, bad: np.ndarray) -> None:
    if bad.any():
        raise TableError(table, column, check, df.loc[bad])


def bad_details(types: np.ndarray, detail: pd.Series) -> np.ndarray:
    """Whether each event's ``detail`` is not allowed for its ``type`` (:data:`EVENT_DETAILS`).

    Parameters
    ----------
    types
        Event types, shape (n_events,).
    detail
        Event details (nullable), aligned with ``types``.

    Returns
    -------
    numpy.ndarray of bool
        True where the detail breaks the vocabulary: a detail on a type that takes none, a
        value outside the type's list, or (for ``assessment_completed``) a ``;``-joined part
        outside it.
    """
    bad = np.zeros(len(types), dtype=bool)
    for etype, allowed in EVENT_DETAILS.items():
        mask = types == etype
        if not mask.any():
            continue
        d = detail[mask]
        if allowed is None:
            bad[mask] = d.notna().to_numpy()
        elif etype == "assessment_completed":
            parts = d.fillna("").str.split(";").explode()
            ok = parts.isin(allowed).groupby(level=0).all()
            bad[mask] = ~ok.reindex(d.index).fillna(False).to_numpy(dtype=bool)
        else:
            bad[mask] = ~d.isin(allowed).to_numpy()
    return bad


def validate_tables(
    tables: Mapping[str, pd.DataFrame],
    window: tuple[dt.date, dt.date] | None = None,
) -> None:
    """Check tables against their schemas and the rules that span them.

    Parameters
    ----------
    tables
        Some of ``households``, ``people``, ``events``, ``decisions``, ``truth``
        (at least the first three).
    window
        ``(first, last)`` valid event date; events outside it are refused.

    Raises
    ------
    TableError
        On the first broken rule: the table, the column and the first offending rows.
    """
    for name in TABLES:
        if name in tables:
            validate_table(name, tables[name])
    hh, people, events = tables["households"], tables["people"], tables["events"]
    _require(
        "people",
        "household_id",
        "refers to a household that exists",
        people,
        ~_member(people["household_id"], hh["household_id"]),
    )
    person_hh = people.set_index("person_id")["household_id"]
    ev_person = _member(events["person_id"], person_hh.index)
    _require("events", "person_id", "refers to a person that exists", events, ~ev_person)
    rel = events["related_person_id"]
    bad_rel = rel.notna().to_numpy() & ~_member(rel, person_hh.index)
    _require("events", "related_person_id", "refers to a person that exists", events, bad_rel)
    _require(
        "events",
        "household_id",
        "refers to a household that exists",
        events,
        ~_member(events["household_id"], hh["household_id"]),
    )
    bad_detail = bad_details(events["type"].to_numpy(), events["detail"])
    _require("events", "detail", "allowed detail for the event type", events, bad_detail)
    # subject role matches the event type
    role = events["person_id"].map(people.set_index("person_id")["role"])
    is_adult_event = events["type"].isin(ADULT_EVENTS).to_numpy()
    is_child = (role == "child").to_numpy()
    _require(
        "events",
        "person_id",
        "subject is a child for child events and an adult for adult events",
        events,
        is_adult_event == is_child,
    )
    # dates in the window
    dates = events["date"]
    if window is not None:
        lo, hi = pd.Timestamp(window[0]), pd.Timestamp(window[1])
        out = ((dates < lo) | (dates > hi)).to_numpy()
        _require("events", "date", f"inside the window {window[0]}..{window[1]}", events, out)
    # nothing before a person's birth month, except prenatal events (at most ten months before)
    birth = events["person_id"].map(people.set_index("person_id")["birth_month"])
    before = (dates < birth).to_numpy()
    prenatal = events["type"].isin(PRENATAL_EVENTS).to_numpy() & is_child
    too_early = (dates < birth - pd.DateOffset(months=MAX_PRENATAL_MONTHS)).to_numpy()
    bad_birth = (before & ~prenatal) | (prenatal & too_early)
    _require("events", "date", "not before the person's birth month", events, bad_birth)
    if "decisions" in tables:
        dec = tables["decisions"]
        ref = events.set_index("event_id")
        known = _member(dec["referral_event_id"], ref.index)
        _require("decisions", "referral_event_id", "refers to an event", dec, ~known)
        r = ref.loc[dec["referral_event_id"]]
        bad = (
            (r["type"].to_numpy() != "referral")
            | (r["person_id"].to_numpy() != dec["person_id"].to_numpy())
            | (r["date"].to_numpy() != dec["decision_date"].to_numpy())
        )
        _require(
            "decisions",
            "referral_event_id",
            "is a referral of the same person on the decision date",
            dec,
            bad,
        )
    if "truth" in tables and "decisions" in tables:
        truth, dec = tables["truth"], tables["decisions"]
        _require(
            "truth",
            "decision_id",
            "one row per decision",
            truth,
            ~_member(truth["decision_id"], dec["decision_id"]),
        )
        if len(truth) != len(dec):
            missing = dec[~dec["decision_id"].isin(truth["decision_id"])]
            raise TableError("truth", "decision_id", "one row per decision", missing)
