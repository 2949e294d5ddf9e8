"""Tiny synthetic worlds for the feature tests: a hand builder and a seeded random world.

The random world is not a simulation (that is ``secondlook.synth``): it scatters schema-valid
events of every type over a few households so that every feature takes non-trivial values. It
is also what ``benchmarks/bench_features.py`` scales to a million events.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from secondlook.schema import (
    ADULT_EVENTS,
    CONCERNS,
    ETHNICITIES,
    EVENT_DETAILS,
    FACTORS,
    LABELS,
    OUTCOMES,
    PRENATAL_EVENTS,
    SOURCES,
)

HISTORY_START = dt.date(2008, 1, 1)
END = dt.date(2024, 12, 31)


def _dates(values: list[Any]) -> pd.Series:
    return pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[s]")


@dataclass
class World:
    """Hand-built world: add households, people, events and decisions, then call ``tables``."""

    households: list[dict[str, Any]] = field(default_factory=list)
    people: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    _hh_of: dict[str, str] = field(default_factory=dict)

    def household(self, hid: str, la: str = "LA01", decile: int = 5) -> str:
        self.households.append(
            {"household_id": hid, "local_authority": la, "deprivation_decile": decile}
        )
        return hid

    def person(
        self,
        pid: str,
        hid: str,
        role: str,
        birth: str = "2015-01-01",
        sex: str = "F",
        ethnicity: str = "White",
        disability: bool | None = None,
    ) -> str:
        if role == "child" and disability is None:
            disability = False
        self.people.append(
            {
                "person_id": pid,
                "household_id": hid,
                "role": role,
                "sex": sex,
                "birth_month": birth,
                "ethnicity": ethnicity,
                "disability": disability,
            }
        )
        self._hh_of[pid] = hid
        return pid

    def event(
        self,
        pid: str,
        date: str,
        etype: str,
        detail: str | None = None,
        source: str = "other",
        related: str | None = None,
        eid: str | None = None,
    ) -> str:
        eid = eid or f"e{len(self.events):05d}"
        self.events.append(
            {
                "event_id": eid,
                "household_id": self._hh_of[pid],
                "person_id": pid,
                "date": date,
                "type": etype,
                "source": source,
                "detail": detail,
                "related_person_id": related,
            }
        )
        return eid

    def referral(
        self,
        pid: str,
        date: str,
        concern: str = "neglect",
        source: str = "police",
        outcome: str | None = "nfa",
        decision: bool = True,
    ) -> str:
        """A referral, its outcome on the same day, and (optionally) its decision row."""
        eid = self.event(pid, date, "referral", concern, source)
        if outcome is not None:
            self.event(pid, date, "referral_outcome", outcome, source)
        if decision:
            self.decisions.append(
                {
                    "decision_id": f"d-{eid}",
                    "person_id": pid,
                    "household_id": self._hh_of[pid],
                    "referral_event_id": eid,
                    "decision_date": date,
                    "practice_outcome": outcome or "nfa",
                }
            )
        return eid

    def tables(self) -> dict[str, pd.DataFrame]:
        hh = pd.DataFrame(self.households).astype({"deprivation_decile": "int64"})
        people = pd.DataFrame(self.people)
        people["birth_month"] = _dates(people["birth_month"].tolist())
        people["disability"] = people["disability"].astype("boolean")
        events = pd.DataFrame(self.events)
        events["date"] = _dates(events["date"].tolist())
        for col in ("detail", "related_person_id"):
            events[col] = pd.Series([e[col] for e in self.events], dtype="str")
        decisions = pd.DataFrame(
            self.decisions,
            columns=[
                "decision_id",
                "person_id",
                "household_id",
                "referral_event_id",
                "decision_date",
                "practice_outcome",
            ],
        )
        decisions["decision_date"] = _dates(decisions["decision_date"].tolist())
        return {"households": hh, "people": people, "events": events, "decisions": decisions}


def sibling_history_world() -> tuple[World, dict[str, str]]:
    """A household whose siblings' history has known counts, with events on decision dates.

    Children amy (the child decided about), ben, cat and gus. The decisions:

    - ``amy``: amy's referral on 2020-12-01. Ben is referred the same day (outcome s47, an s47
      substantiated and a plan started that day too): none of that is visible yet. Amy's own
      referral on 2020-11-20 is more recent than any sibling's, so the latest *sibling*
      referral is cat's on 2020-09-20.
    - ``ben``: ben's referral on 2020-12-01; amy's referral that day is not visible, her
      2020-11-20 referral (and its no-further-action outcome) is.
    - ``amy_next``: amy again on 2020-12-02, when everything dated 2020-12-01 has become
      history.

    Returns
    -------
    World, dict
        The world and the decision id of each named decision.
    """
    w = World()
    w.household("h1", decile=2)
    w.person("mum", "h1", "mother", birth="1990-01-01")
    w.person("dad", "h1", "father", birth="1988-01-01", sex="M")
    w.person("amy", "h1", "child", birth="2015-03-01")
    w.person("ben", "h1", "child", birth="2020-02-01", sex="M")
    w.person("cat", "h1", "child", birth="2012-01-01")
    w.person("gus", "h1", "child", birth="2014-01-01", sex="M")
    w.referral("gus", "2019-01-05", "neglect", outcome="nfa", decision=False)
    w.referral("gus", "2020-02-05", "parental_drug_misuse", outcome="assessment", decision=False)
    w.referral("cat", "2020-09-20", "neglect", outcome="s47", decision=False)
    w.event("cat", "2020-10-10", "s47_concluded", "substantiated")
    w.event("gus", "2020-10-12", "s47_concluded", "not_substantiated")
    w.event("cat", "2020-11-01", "cp_plan_started", "neglect")
    w.referral("amy", "2020-11-20", "physical_injury", outcome="nfa", decision=False)
    w.event("amy", "2020-11-25", "s47_concluded", "substantiated")
    amy = w.referral("amy", "2020-12-01", "emotional", outcome="nfa")
    ben = w.referral("ben", "2020-12-01", "domestic_abuse", outcome="s47")
    w.event("ben", "2020-12-01", "s47_concluded", "substantiated")
    w.event("ben", "2020-12-01", "cp_plan_started", "physical")
    amy_next = w.referral("amy", "2020-12-02", "neglect", outcome="assessment")
    return w, {"amy": f"d-{amy}", "ben": f"d-{ben}", "amy_next": f"d-{amy_next}"}


_CHILD_TYPES = tuple(t for t in EVENT_DETAILS if t not in ADULT_EVENTS)
_ADULT_TYPES = tuple(t for t in ADULT_EVENTS)
# relative frequencies so the features see realistic mixes
_CHILD_WEIGHTS = {
    "referral": 6.0,
    "referral_outcome": 3.0,
    "assessment_completed": 1.0,
    "s47_concluded": 0.6,
    "icpc": 0.3,
    "cp_plan_started": 0.4,
    "cp_plan_ended": 0.3,
    "child_removed": 0.15,
    "ed_attendance": 2.0,
    "health_contact": 3.0,
    "school_concern": 1.5,
    "birth": 0.2,
}
_ADULT_WEIGHTS = {
    "adult_assessed": 1.0,
    "police_domestic_incident": 2.0,
    "adult_joined": 0.6,
    "adult_left": 0.5,
    "adult_service_contact": 1.5,
    "pregnancy_notified": 0.4,
}


def _day(value: dt.date) -> int:
    return int(np.datetime64(value, "D").astype(np.int64))


def random_world(
    seed: int,
    n_households: int = 30,
    events_per_household: float = 40.0,
    decisions_from: dt.date = dt.date(2016, 1, 1),
    decision_share: float = 0.8,
) -> dict[str, pd.DataFrame]:
    """A seeded, schema-valid random world with decisions and a random truth table.

    Parameters
    ----------
    seed
        Seed of ``numpy.random.default_rng``.
    n_households
        Number of households (each: a mother, maybe a father, partner and other adult, 1-4
        children, some born late in the window so that pre-birth referrals occur).
    events_per_household
        Mean number of events per household.
    decisions_from
        Referrals dated from this day may become decisions.
    decision_share
        Share of those referrals that become decisions.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``households``, ``people``, ``events``, ``decisions``, ``truth``.
    """
    rng = np.random.default_rng(seed)
    nh = n_households
    hids = np.array([f"h{i:07d}" for i in range(nh)], dtype=object)
    households = pd.DataFrame(
        {
            "household_id": hids,
            "local_authority": [f"LA{i:02d}" for i in rng.integers(1, 5, nh)],
            "deprivation_decile": rng.integers(1, 11, nh).astype("int64"),
        }
    )
    # people: mother always; father, partner, other adult sometimes; 1-4 children
    roles: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    for role, p in (("mother", 1.0), ("father", 0.6), ("partner", 0.3), ("other_adult", 0.15)):
        has = np.flatnonzero(rng.random(nh) < p)
        roles.append(np.full(len(has), role, dtype=object))
        owner.append(has)
    n_children = rng.integers(1, 5, nh)
    child_hh = np.repeat(np.arange(nh), n_children)
    roles.append(np.full(len(child_hh), "child", dtype=object))
    owner.append(child_hh)
    role = np.concatenate(roles)
    hh_of = np.concatenate(owner)
    order = np.lexsort((role, hh_of))
    role, hh_of = role[order], hh_of[order]
    n_people = len(role)
    is_child = role == "child"
    start_month = np.datetime64(HISTORY_START, "M")
    child_month = start_month + rng.integers(0, 16 * 12, n_people).astype("timedelta64[M]")
    adult_month = np.datetime64("1975-01", "M") + rng.integers(0, 240, n_people).astype(
        "timedelta64[M]"
    )
    birth = np.where(is_child, child_month, adult_month).astype("datetime64[D]")
    disability = pd.array(np.where(is_child, rng.random(n_people) < 0.1, False), dtype="boolean")
    disability[~is_child] = pd.NA
    pids = np.array([f"p{i:07d}" for i in range(n_people)], dtype=object)
    people = pd.DataFrame(
        {
            "person_id": pids,
            "household_id": hids[hh_of],
            "role": role,
            "sex": np.where(role == "mother", "F", np.where(rng.random(n_people) < 0.5, "F", "M")),
            "birth_month": birth.astype("datetime64[s]"),
            "ethnicity": np.array(ETHNICITIES, dtype=object)[
                rng.integers(0, len(ETHNICITIES), n_people)
            ],
            "disability": disability,
        }
    )
    people.loc[people["role"].isin(["father", "partner"]), "sex"] = "M"

    # events: each picks a subject, then a type allowed for the subject's role
    n_events = int(rng.poisson(events_per_household * nh))
    weight = np.where(is_child, 3.0, 1.0)
    subject = rng.choice(n_people, size=n_events, p=weight / weight.sum())
    sub_child = is_child[subject]
    ctypes, cw = list(_CHILD_WEIGHTS), np.array(list(_CHILD_WEIGHTS.values()))
    atypes, aw = list(_ADULT_WEIGHTS), np.array(list(_ADULT_WEIGHTS.values()))
    etype = np.where(
        sub_child,
        np.array(ctypes, dtype=object)[rng.choice(len(ctypes), n_events, p=cw / cw.sum())],
        np.array(atypes, dtype=object)[rng.choice(len(atypes), n_events, p=aw / aw.sum())],
    )
    # pregnancy notifications are made by mothers
    etype = np.where(
        (etype == "pregnancy_notified") & (role[subject] != "mother"), "adult_joined", etype
    )
    detail = np.full(n_events, None, dtype=object)
    for t, allowed in EVENT_DETAILS.items():
        mask = etype == t
        if allowed is None or not mask.any():
            continue
        if t == "assessment_completed":
            picks = rng.choice(np.array(CONCERNS[:6], dtype=object), size=(mask.sum(), 2))
            joined = np.where(
                picks[:, 0] == picks[:, 1], picks[:, 0], picks[:, 0] + ";" + picks[:, 1]
            )
            detail[mask] = np.where(rng.random(mask.sum()) < 0.2, "not_in_need", joined)
        else:
            detail[mask] = np.array(allowed, dtype=object)[
                rng.integers(0, len(allowed), mask.sum())
            ]
    # dates: from the later of history start and the birth month (ten months earlier for
    # prenatal events about a child) to the end of the world
    lo_hist = _day(HISTORY_START)
    birth_day = birth.astype(np.int64)[subject]
    prenatal = sub_child & np.isin(etype, PRENATAL_EVENTS)
    earliest_prenatal = (
        (birth.astype("datetime64[M]")[subject] - np.timedelta64(9, "M"))
        .astype("datetime64[D]")
        .astype(np.int64)
    )
    lo = np.maximum(lo_hist, np.where(prenatal, earliest_prenatal, birth_day))
    hi = _day(END)
    lo = np.minimum(lo, hi)
    day = lo + np.floor(rng.random(n_events) * (hi - lo + 1)).astype(np.int64)
    # related people: perpetrators and assessed adults' children, unborn children
    first_of_hh = np.searchsorted(hh_of, np.arange(nh), side="left")
    size_of_hh = np.bincount(hh_of, minlength=nh)
    other = first_of_hh[hh_of[subject]] + np.floor(
        rng.random(n_events) * size_of_hh[hh_of[subject]]
    ).astype(np.int64)
    related = np.full(n_events, None, dtype=object)
    rel_adult = (
        (etype == "police_domestic_incident") & ~is_child[other] & (rng.random(n_events) < 0.8)
    )
    related[rel_adult] = pids[other[rel_adult]]
    rel_child = np.isin(etype, ["adult_assessed", "pregnancy_notified"]) & is_child[other]
    related[rel_child] = pids[other[rel_child]]
    # a pregnancy is notified three to eight months before the unborn child's birth month
    notice = (etype == "pregnancy_notified") & rel_child
    due = birth.astype("datetime64[M]")[other[notice]]
    ahead = rng.integers(3, 9, notice.sum()).astype("timedelta64[M]")
    day[notice] = np.maximum((due - ahead).astype("datetime64[D]").astype(np.int64), lo_hist)
    source = np.array(SOURCES, dtype=object)[rng.integers(0, len(SOURCES), n_events)]
    events = pd.DataFrame(
        {
            "event_id": np.array([f"e{i:08d}" for i in range(n_events)], dtype=object),
            "household_id": hids[hh_of[subject]],
            "person_id": pids[subject],
            "date": day.astype("datetime64[D]").astype("datetime64[s]"),
            "type": etype.astype(str),
            "source": source,
            "detail": pd.array(detail, dtype="str"),
            "related_person_id": pd.array(related, dtype="str"),
        }
    )
    events = pd.concat([events, _pregnancies(rng, people, n_events)], ignore_index=True)
    events = events.sort_values(["date", "event_id"], kind="stable").reset_index(drop=True)
    refs = events[(events["type"] == "referral") & (events["date"] >= pd.Timestamp(decisions_from))]
    refs = refs[rng.random(len(refs)) < decision_share]
    decisions = pd.DataFrame(
        {
            "decision_id": "d-" + refs["event_id"].astype(str),
            "person_id": refs["person_id"].to_numpy(),
            "household_id": refs["household_id"].to_numpy(),
            "referral_event_id": refs["event_id"].to_numpy(),
            "decision_date": refs["date"].to_numpy(),
            "practice_outcome": np.array(OUTCOMES, dtype=object)[
                rng.integers(0, len(OUTCOMES), len(refs))
            ],
        }
    ).reset_index(drop=True)
    nd = len(decisions)
    risk = rng.random(nd)
    truth = pd.DataFrame(
        {
            "decision_id": decisions["decision_id"].to_numpy(),
            "true_risk_12m": risk,
            "true_logodds": np.log(risk / (1 - risk + 1e-12) + 1e-12),
            "baseline_logodds": np.full(nd, -3.0),
            **{label: rng.random(nd) < 0.3 for label in LABELS},
            **{f"state_{f}": rng.random(nd) < 0.2 for f in FACTORS},
            **{f"driver_{f}": rng.normal(size=nd) for f in FACTORS},
        }
    )
    return {
        "households": households,
        "people": people,
        "events": events,
        "decisions": decisions,
        "truth": truth,
    }


def _pregnancies(rng: np.random.Generator, people: pd.DataFrame, first_id: int) -> pd.DataFrame:
    """Half the children get a pregnancy notification by their mother, and half of those a
    pre-birth referral between the notification and the birth month."""
    mothers = people[people["role"] == "mother"].set_index("household_id")["person_id"]
    kids = people[
        (people["role"] == "child") & (people["birth_month"] >= pd.Timestamp("2009-01-01"))
    ]
    kids = kids[kids["household_id"].isin(mothers.index) & (rng.random(len(kids)) < 0.5)]
    due = kids["birth_month"].to_numpy().astype("datetime64[M]")
    notice = (due - rng.integers(3, 9, len(kids)).astype("timedelta64[M]")).astype("datetime64[D]")
    gap = due.astype("datetime64[D]") - notice
    referral = notice + (rng.random(len(kids)) * gap.astype(np.int64)).astype("timedelta64[D]")
    with_ref = rng.random(len(kids)) < 0.5
    n, m = len(kids), int(with_ref.sum())
    ids = [f"e{first_id + i:08d}" for i in range(n + m)]
    rows = pd.DataFrame(
        {
            "event_id": ids,
            "household_id": np.concatenate([kids["household_id"], kids["household_id"][with_ref]]),
            "person_id": np.concatenate(
                [mothers.loc[kids["household_id"]].to_numpy(), kids["person_id"][with_ref]]
            ),
            "date": np.concatenate([notice, referral[with_ref]]).astype("datetime64[s]"),
            "type": ["pregnancy_notified"] * n + ["referral"] * m,
            "source": rng.choice(np.array(SOURCES, dtype=object), n + m),
            "detail": pd.array(
                [None] * n + list(rng.choice(np.array(CONCERNS, dtype=object), m)), dtype="str"
            ),
            "related_person_id": pd.array(list(kids["person_id"]) + [None] * m, dtype="str"),
        }
    )
    return rows
