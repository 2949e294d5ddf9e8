"""Households form (before month 0), and partners join and leave them (each month).

A household has 1-4 children born a birth gap apart, a mother (young or not), perhaps a father
present from the start (perhaps violent), and over time transient partners (perhaps violent).
Households whose children are all adults before the window starts, or born after it, are
dropped. Some mothers had an earlier child removed before the window, dated in the history.
"""

from __future__ import annotations

import numpy as np

from secondlook.params import SynthParams
from secondlook.schema import ETHNICITIES
from secondlook.synth.events import EventLog, weighted_choice
from secondlook.synth.state import Clock, Month, People, Population, SimState

__all__ = ["form_households", "partners_move"]

#: events of a month fall on its first this-many days (calendar mechanics, not behaviour)
EVENT_DAYS = 28


def form_households(
    rng: np.random.Generator, params: SynthParams, n_households: int, clock: Clock
) -> tuple[Population, People, EventLog]:
    """Draw households, their adults and children, and the earlier removals.

    Parameters
    ----------
    rng
        The world's random generator.
    params
        The ``synth`` settings.
    n_households
        Households drawn; those with no child in the window are dropped.
    clock
        The world's calendar.

    Returns
    -------
    (Population, People, EventLog)
        The households and children, the people registry and the event log holding the earlier
        removals.
    """
    hp, fp, pr = params.household, params.factors, params.practice
    n_slots = len(hp.children_weights)
    n_kids = 1 + weighted_choice(rng, hp.children_weights, n_households)
    first_birth = rng.integers(-hp.childhood_months, clock.n_months, size=n_households)
    gap_lo, gap_hi = hp.birth_gap_months
    gaps = rng.integers(gap_lo, gap_hi + 1, size=(n_households, n_slots))
    gaps[:, 0] = 0
    births = first_birth[:, None] + np.cumsum(gaps, axis=1)
    slot = np.arange(n_slots)[None, :]
    keep_child = (
        (slot < n_kids[:, None]) & (births + hp.childhood_months > 0) & (births < clock.n_months)
    )
    # drop households with no child in the window
    idx = np.flatnonzero(keep_child.any(axis=1))
    nh = len(idx)
    births, keep_child, first_birth = births[idx], keep_child[idx], first_birth[idx]
    la = rng.integers(0, pr.n_local_authorities, size=nh)
    decile = rng.integers(1, 11, size=nh)
    eth_w = np.array([hp.ethnicity_weights[e] for e in ETHNICITIES])
    eth = rng.choice(len(ETHNICITIES), size=nh, p=eth_w / eth_w.sum())
    frailty = rng.normal(0.0, fp.frailty_sd, size=nh)
    young = rng.random(nh) < hp.young_parent
    # frailty raises the chance with its mean effect divided out (lognormal mean)
    k = hp.earlier_removal_frailty
    earlier_removal = rng.random(nh) < hp.earlier_removal * np.exp(k * frailty) / np.exp(
        0.5 * (k * fp.frailty_sd) ** 2
    )
    father_present = rng.random(nh) < hp.father_present
    father_violent = father_present & (rng.random(nh) < hp.father_violent)

    people = People()
    hh_all = np.arange(nh, dtype=np.int64)
    (y_lo, y_hi), (o_lo, o_hi) = hp.young_mother_age_years, hp.mother_age_years
    mother_age = np.where(
        young,
        rng.integers(y_lo * 12, (y_hi + 1) * 12, nh),
        rng.integers(o_lo * 12, (o_hi + 1) * 12, nh),
    )
    mother = people.add(hh_all, 1, np.zeros(nh), first_birth - mother_age, np.full(nh, -1))
    father = np.full(nh, -1, dtype=np.int64)
    fh = np.flatnonzero(father_present)
    f_lo, f_hi = hp.father_older_months
    father[fh] = people.add(
        fh,
        2,
        np.ones(len(fh)),
        first_birth[fh] - mother_age[fh] - rng.integers(f_lo, f_hi + 1, len(fh)),
        np.full(len(fh), -1),
    )
    c_hh = np.repeat(hh_all, n_slots)[keep_child.ravel()]
    c_birth = births.ravel()[keep_child.ravel()]
    nc = len(c_hh)
    c_dis = (rng.random(nc) < hp.disability).astype(np.int64)
    c_person = people.add(c_hh, 0, rng.integers(0, 2, nc), c_birth, c_dis)
    lo, hi = hp.pregnancy_notice_months
    c_notified = c_birth - rng.integers(lo, hi + 1, nc)

    events = EventLog()
    # earlier removals, dated between history_start and the window's start
    er = np.flatnonzero(earlier_removal)
    rem_day = rng.integers(clock.history_day, clock.start_day, size=len(er))
    rem_month = (
        rem_day.astype("datetime64[D]").astype("datetime64[M]") - clock.start_month
    ).astype(np.int64)
    r_lo, r_hi = hp.removed_child_age_months
    rem_birth = rem_month - rng.integers(r_lo, r_hi + 1, len(er))
    rem_person = people.add(er, 0, rng.integers(0, 2, len(er)), rem_birth, np.zeros(len(er)))
    events.add(er, rem_person, rem_day, "child_removed", "other")

    pop = Population(
        local_authority=la,
        decile=decile,
        ethnicity=eth,
        frailty=frailty,
        young_parent=young,
        earlier_removal=earlier_removal,
        father_present=father_present,
        father_violent=father_violent,
        first_birth=first_birth,
        mother_age=mother_age,
        mother=mother,
        father=father,
        child_household=c_hh,
        child_birth=c_birth,
        child_disability=c_dis,
        child_person=c_person,
        child_notified=c_notified,
    )
    return pop, people, events


def _grow_assessed(s: SimState) -> None:
    """Extend the per-person ``assessed`` flags to everyone registered so far."""
    if len(s.assessed) < s.people.count:
        grow = np.zeros(s.people.count - len(s.assessed), dtype=bool)
        s.assessed = np.concatenate([s.assessed, grow])


def partners_move(s: SimState, params: SynthParams, month: Month) -> None:
    """Transient partners leave (``adult_left``) and join (``adult_joined``) households.

    Only households without a father present take a partner; a joining partner is violent
    with chance ``household.violent_adult``.
    """
    hp, pop, rng = params.household, s.pop, s.rng
    nh = pop.n_households
    n_before = s.people.count
    _grow_assessed(s)
    leaving = np.flatnonzero((s.partner >= 0) & (rng.random(nh) < hp.partner_leave))
    s.events.add(
        leaving,
        s.partner[leaving],
        month.day + rng.integers(0, EVENT_DAYS, len(leaving)),
        "adult_left",
        "other",
    )
    s.partner[leaving] = -1
    s.partner_violent[leaving] = False
    can_join = (s.partner < 0) & ~pop.father_present
    joining = np.flatnonzero(can_join & (rng.random(nh) < hp.partner_join))
    if len(joining):
        p_lo, p_hi = hp.partner_older_months
        pid = s.people.add(
            joining,
            3,
            np.ones(len(joining)),
            pop.first_birth[joining]
            - pop.mother_age[joining]
            - rng.integers(p_lo, p_hi + 1, len(joining)),
            np.full(len(joining), -1),
        )
        s.partner[joining] = pid
        s.partner_violent[joining] = rng.random(len(joining)) < hp.violent_adult
        day = month.day + rng.integers(0, EVENT_DAYS, len(joining))
        s.events.add(joining, pid, day, "adult_joined", "other")
    if s.people.count > n_before:
        _grow_assessed(s)
