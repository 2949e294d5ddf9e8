"""Seed cases: households whose timelines are written out by hand in ``data/vignettes/*.yaml``.

A vignette file has this shape (every key required unless marked optional)::

    name: sarah                      # the prefix of every id the case gets (sarah-D01, ...)
    title: one line                  # what the case is
    story: a paragraph               # the case as the review tells it
    anchor: 2021-06-01               # the date every offset counts from (first of a month)
    household: {local_authority: LA03, deprivation_decile: 2}
    people:                          # key -> person; `born` in months from the anchor month
      mother: {role: mother, sex: F, born: -360, ethnicity: White}
      sarah:  {role: child, sex: F, born: 0, ethnicity: White, disability: false}
    state:                           # hidden factors: [from, to) month offsets when active
      drug: [[-96, 24]]
    traits: {earlier_removal: false, young_parent: false}
    events:                          # `day` in days from the anchor date
      - {day: -30, type: referral, person: sarah, source: police,
         detail: domestic_abuse, outcome: nfa}    # outcome: referrals only; adds referral_outcome
      - {day: -40, type: police_domestic_incident, person: mother, source: police,
         related: father}                         # related: optional, a person key
    harm:                            # optional: days on which the child was significantly harmed
      - {person: sarah, day: 125}

The generator places the case in the world with its true hidden state: its referrals become
decisions (ids ``<name>-D01``...), and their truth is computed from ``state`` and ``traits`` with
the same risk model as every simulated child; the observed harm is the scripted ``harm``. No
escalation happens in these cases, so the outcome without action equals the observed one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Self

import numpy as np
import pandas as pd
import yaml
from pydantic import model_validator
from pydantic.dataclasses import dataclass

from secondlook.errors import ParamsError, VignetteError
from secondlook.params import SynthParams, from_mapping
from secondlook.params.base import CONFIG, Bool, Date, FrozenMap, Int, Str, rule
from secondlook.schema import (
    ADULT_EVENTS,
    EVENT_DETAILS,
    FACTORS,
    OUTCOMES,
    ROLES,
    SOURCES,
    TableError,
    validate_tables,
)
from secondlook.synth.tables import truth_from_state, with_outcomes

#: the hidden factors a vignette's ``state`` may switch on (the others are fixed traits)
_STATE_FACTORS = set(FACTORS) - {"deprivation", "disability", "earlier_removal", "young_parent"}


@dataclass(frozen=True, config=CONFIG)
class VPerson:
    """One person of the case. ``born``: months from the anchor month (unborn: expected)."""

    role: Str
    sex: Str
    born: Int
    ethnicity: Str
    disability: Bool | None = None


@dataclass(frozen=True, config=CONFIG)
class VHousehold:
    """The case's household."""

    local_authority: Str
    deprivation_decile: Int


@dataclass(frozen=True, config=CONFIG)
class VTraits:
    """Fixed traits of the case (the other fixed factors come from the people)."""

    earlier_removal: Bool
    young_parent: Bool


@dataclass(frozen=True, config=CONFIG)
class VEvent:
    """One dated record. ``day``: days from the anchor date."""

    day: Int
    type: Str
    person: Str
    source: Str
    detail: Str | None = None
    related: Str | None = None
    outcome: Str | None = None


@dataclass(frozen=True, config=CONFIG)
class VHarm:
    """A day on which a child was significantly harmed (days from the anchor date)."""

    person: Str
    day: Int


@dataclass(frozen=True, config=CONFIG)
class Vignette:
    """A seed case, validated."""

    name: Str
    title: Str
    story: Str
    anchor: Date
    household: VHousehold
    people: FrozenMap[Str, VPerson]
    state: FrozenMap[Str, tuple[tuple[Int, Int], ...]]
    traits: VTraits
    events: tuple[VEvent, ...]
    harm: tuple[VHarm, ...] = ()

    @model_validator(mode="after")
    def _rules(self) -> Self:
        errors = self.check()
        if errors:
            raise rule(*errors[0])
        return self

    def check(self) -> list[tuple[str, str]]:
        """Every broken rule across fields, as (dotted key, message), in file order."""
        errors: list[tuple[str, str]] = []
        if self.anchor.day != 1:
            errors.append(("anchor", "must be the first day of a month"))
        for key, p in self.people.items():
            if p.role not in ROLES:
                errors.append((f"people.{key}.role", f"must be one of {ROLES}"))
            if p.role == "child" and p.disability is None:
                errors.append((f"people.{key}.disability", "is required for a child"))
        for factor in self.state:
            if factor not in _STATE_FACTORS:
                errors.append(
                    (f"state.{factor}", f"is not a hidden factor ({sorted(_STATE_FACTORS)})")
                )
        for i, e in enumerate(self.events):
            errors += [(f"events[{i}].{key}", message) for key, message in self._event_errors(e)]
        for i, h in enumerate(self.harm):
            if h.person not in self.people or self.people[h.person].role != "child":
                errors.append((f"harm[{i}].person", "must be a child of the case"))
        return errors

    def _event_errors(self, e: VEvent) -> list[tuple[str, str]]:
        """The broken rules of one event, keyed by its field."""
        if e.type not in EVENT_DETAILS:
            return [("type", f"must be an event type ({', '.join(EVENT_DETAILS)})")]
        errors = []
        if e.person not in self.people:
            errors.append(("person", f"`{e.person}` is not one of the people"))
        if e.related is not None and e.related not in self.people:
            errors.append(("related", f"`{e.related}` is not one of the people"))
        if e.source not in SOURCES:
            errors.append(("source", f"must be one of {', '.join(SOURCES)}"))
        allowed = EVENT_DETAILS[e.type]
        if allowed is None and e.detail is not None:
            errors.append(("detail", f"must be empty for {e.type}"))
        elif allowed is not None and e.type != "assessment_completed" and e.detail not in allowed:
            errors.append(("detail", f"must be one of {', '.join(allowed)}"))
        if (e.type == "referral") != (e.outcome is not None):
            errors.append(("outcome", "is required for a referral, and only there"))
        elif e.outcome is not None and e.outcome not in OUTCOMES:
            errors.append(("outcome", f"must be one of {', '.join(OUTCOMES)}"))
        if e.type in ADULT_EVENTS and e.person in self.people:
            if self.people[e.person].role == "child":
                errors.append(("person", f"{e.type} is about an adult"))
        return errors


def load_vignette(path: Path) -> Vignette:
    """Read and validate one vignette file.

    Parameters
    ----------
    path
        A ``.yaml`` file in the format described in this module's docstring.

    Returns
    -------
    Vignette

    Raises
    ------
    VignetteError
        Naming the file and the offending field.
    """
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise VignetteError(f"vignette {path}: file not found") from None
    except yaml.YAMLError as exc:
        raise VignetteError(f"vignette {path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise VignetteError(f"vignette {path}: must hold a mapping")
    try:
        v = from_mapping(Vignette, data, "")
    except ParamsError as exc:
        msg = str(exc).replace("params: `.", "`", 1)
        raise VignetteError(f"vignette {path}: {msg}") from None
    if v.name != path.stem:
        raise VignetteError(f"vignette {path}: `name` must match the file name ({path.stem})")
    return v


def load_vignettes(folder: Path, names: tuple[str, ...]) -> list[Vignette]:
    """Load the vignettes ``names`` from ``folder`` (``<name>.yaml`` each)."""
    return [load_vignette(folder / f"{name}.yaml") for name in names]


def _active(periods: tuple[tuple[int, int], ...], month: np.ndarray) -> np.ndarray:
    out = np.zeros(len(month), dtype=bool)
    for lo, hi in periods:
        out |= (month >= lo) & (month < hi)
    return out


def _harmed_within_a_year(
    v: Vignette, anchor: pd.Timestamp, child_keys: list[str], dates: pd.Series
) -> np.ndarray:
    """Whether each decision's child suffers the case's scripted harm within 365 days after it."""
    harm_days = {
        k: [anchor + pd.Timedelta(days=h.day) for h in v.harm if h.person == k] for k in v.people
    }
    return np.array(
        [
            any(d < h <= d + pd.Timedelta(days=365) for h in harm_days[k])
            for k, d in zip(child_keys, dates, strict=True)
        ],
        dtype=bool,
    )


def vignette_tables(
    v: Vignette, params: SynthParams, *, validate: bool = True
) -> dict[str, pd.DataFrame]:
    """The canonical tables, decisions and truth of one seed case.

    Parameters
    ----------
    v
        The validated vignette.
    params
        The ``synth`` settings (window, risk model, escalation threshold).
    validate
        Check the tables against the contract (:func:`secondlook.schema.validate_tables`);
        False for a caller that checks many cases' concatenation once
        (:func:`secondlook.synth.patterns.pattern_tables`: 240 checks cost 51 CPU-seconds).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``households``, ``people``, ``events``, ``decisions``, ``truth``.
    """
    anchor = pd.Timestamp(v.anchor)
    hid = f"{v.name}-H1"
    households = pd.DataFrame(
        {
            "household_id": pd.Series([hid], dtype="str"),
            "local_authority": pd.Series([v.household.local_authority], dtype="str"),
            "deprivation_decile": np.array([v.household.deprivation_decile], dtype=np.int64),
        }
    )
    pid = {k: f"{v.name}-{k}" for k in v.people}
    people = pd.DataFrame(
        {
            "person_id": pd.Series(list(pid.values()), dtype="str"),
            "household_id": pd.Series([hid] * len(pid), dtype="str"),
            "role": pd.Series([p.role for p in v.people.values()], dtype="str"),
            "sex": pd.Series([p.sex for p in v.people.values()], dtype="str"),
            "birth_month": pd.Series(
                [anchor + pd.DateOffset(months=p.born) for p in v.people.values()]
            ).astype("datetime64[s]"),
            "ethnicity": pd.Series([p.ethnicity for p in v.people.values()], dtype="str"),
            "disability": pd.array(
                [p.disability if p.role == "child" else None for p in v.people.values()],
                dtype="boolean",
            ),
        }
    )
    rows: list[dict[str, Any]] = []
    for e in sorted(v.events, key=lambda e: e.day):
        date = anchor + pd.Timedelta(days=e.day)
        base = {"household_id": hid, "person_id": pid[e.person], "date": date, "source": e.source}
        rel = pid[e.related] if e.related else None
        rows.append({**base, "type": e.type, "detail": e.detail, "related_person_id": rel})
        if e.type == "referral":
            rows.append(
                {**base, "type": "referral_outcome", "source": "other", "detail": e.outcome,
                 "related_person_id": None}
            )  # fmt: skip
    events = pd.DataFrame(rows)
    events.insert(0, "event_id", [f"{v.name}-E{i + 1:03d}" for i in range(len(events))])
    events["date"] = events["date"].astype("datetime64[s]")
    for col in ("event_id", "household_id", "person_id", "type", "source", "detail",
                "related_person_id"):  # fmt: skip
        events[col] = events[col].astype("str")
    refs = events[events["type"] == "referral"]
    outcomes = events.loc[events["type"] == "referral_outcome", "detail"].to_numpy()
    # the same window as the simulated decisions: every decision has its follow-up in the world
    lo = pd.Timestamp(params.decisions_from)
    cutoff = (pd.Period(params.end, "M") - params.follow_up_months + 1).to_timestamp()
    keep = ((refs["date"] >= lo) & (refs["date"] < cutoff)).to_numpy()
    refs, outcomes = refs[keep], outcomes[keep]
    decisions = pd.DataFrame(
        {
            "decision_id": pd.Series(
                [f"{v.name}-D{i + 1:02d}" for i in range(len(refs))], dtype="str"
            ),
            "person_id": refs["person_id"].to_numpy(),
            "household_id": refs["household_id"].to_numpy(),
            "referral_event_id": refs["event_id"].to_numpy(),
            "decision_date": refs["date"].to_numpy(),
            "practice_outcome": pd.Series(outcomes, dtype="str"),
        }
    )
    key_of = {p: k for k, p in pid.items()}
    child_keys = [key_of[p] for p in decisions["person_id"]]
    d_month = (
        (decisions["decision_date"].dt.year - anchor.year) * 12
        + decisions["decision_date"].dt.month
        - anchor.month
    ).to_numpy()
    state = {
        f: _active(v.state.get(f, ()), d_month)
        for f in ("drug", "alcohol", "mental_health", "domestic_abuse", "unassessed_violent_adult")
    }
    state["earlier_removal"] = np.full(len(decisions), v.traits.earlier_removal)
    state["young_parent"] = np.full(len(decisions), v.traits.young_parent)
    state["disability"] = np.array([bool(v.people[k].disability) for k in child_keys])
    age = d_month - np.array([v.people[k].born for k in child_keys])
    truth = truth_from_state(
        state, np.full(len(decisions), v.household.deprivation_decile), age, params
    )
    harmed = _harmed_within_a_year(v, anchor, child_keys, decisions["decision_date"])
    # no escalation happens in a seed case: both potential outcomes are the scripted harm
    truth = with_outcomes(truth, decisions, events, harmed, harmed, params)
    tables = {
        "households": households,
        "people": people,
        "events": events,
        "decisions": decisions,
        "truth": truth,
    }
    if validate:
        try:
            validate_tables(tables, (params.history_start, params.end))
        except TableError as exc:
            raise VignetteError(
                f"vignette {v.name}: its tables break the contract: {exc}"
            ) from None
    return tables
