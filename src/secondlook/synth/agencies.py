"""Agencies observe: what each agency records in a month, and which records become candidate
referrals (:class:`.referrals.Candidates`).

In order: births and pregnancy notifications (which schedule pre-birth referrals for unborn
children in households with known risk); harm seen by an agency; accidents and illness at
hospital (most injuries are accidental, including some bruising in non-mobile babies); police
domestic incidents; adult services and probation; health visitors (infants; families with a
factor miss appointments more); schools. Each has a detection probability (``signals``) and a
chance of becoming a referral (``referral``, through :func:`.referrals.referral_chance`).
"""

from __future__ import annotations

import numpy as np

from secondlook.params import SynthParams
from secondlook.synth.events import CCODE, DCODE, SCODE, IntArray, choice_codes
from secondlook.synth.households import EVENT_DAYS
from secondlook.synth.referrals import Candidates, referral_chance
from secondlook.synth.state import Month, SimState

__all__ = ["agencies_observe", "births_and_pregnancies"]

# calendar mechanics (not behaviour): signals fall on the first SIGNAL_DAYS days of a month, so
# that the referrals they cause (params referral.lag_days later) stay in the month; a pregnancy
# is notified on one of the first NOTICE_DAYS days
SIGNAL_DAYS = 24
NOTICE_DAYS = 20
#: event details and concerns drawn uniformly (the vocabulary, not behaviour)
HARM_INJURIES = ("injury_unexplained", "fracture", "burn", "ingestion")
ACCIDENTS = ("injury_explained", "illness", "illness", "ingestion")
SCHOOL_HARM_DETAILS = ("disclosure", "presentation")
SCHOOL_HARM_CONCERNS = ("emotional", "sexual", "neglect")
SCHOOL_DETAILS = ("attendance", "presentation")
SCHOOL_CONCERNS = ("neglect", "emotional", "other", "neglect")
NOTIFIERS = ("gp", "health_visitor", "hospital")
#: adult-service contacts: factor, detail recorded, concern referred
ADULT_SERVICE = (
    ("drug", "drug_treatment", "parental_drug_misuse"),
    ("alcohol", "alcohol_treatment", "parental_alcohol_misuse"),
    ("mental_health", "mental_health_treatment", "parental_mental_health"),
)


def _lag(rng: np.random.Generator, params: SynthParams, n: int) -> IntArray:
    """Days from a signal to the referral it causes (``referral.lag_days``)."""
    lo, hi = params.referral.lag_days
    return rng.integers(lo, hi + 1, n)


def births_and_pregnancies(s: SimState, params: SynthParams, month: Month) -> None:
    """Births (term or premature), pregnancy notifications, and the scheduling of pre-birth
    referrals for unborn children in households with known risk."""
    pop, rng, m, rf = s.pop, s.rng, month.m, params.referral
    c_hh, c_person = pop.child_household, pop.child_person
    newborn = np.flatnonzero(pop.child_birth == m)
    hp = params.household
    chance = hp.premature + hp.premature_with_factor * month.any_factor[c_hh[newborn]]
    premature = rng.random(len(newborn)) < chance
    s.events.add(
        c_hh[newborn],
        c_person[newborn],
        month.day + rng.integers(0, EVENT_DAYS, len(newborn)),
        "birth",
        "hospital",
        np.where(premature, DCODE["premature"], DCODE["term"]),
    )
    notified = np.flatnonzero(pop.child_notified == m)
    s.events.add(
        c_hh[notified],
        pop.mother[c_hh[notified]],
        month.day + rng.integers(0, NOTICE_DAYS, len(notified)),
        "pregnancy_notified",
        choice_codes(rng, SCODE, NOTIFIERS, len(notified)),
        None,
        c_person[notified],
    )
    # decide now whether (and when) a pre-birth referral will come
    hh = c_hh[notified]
    risk_known = pop.earlier_removal[hh] | (s.known_mask[hh] != 0) | (s.on_plan[notified])
    will = risk_known & (
        rng.random(len(notified)) < referral_chance(s, month, rf.prebirth, notified)
    )
    late = rng.random(len(notified)) < rf.prebirth_late
    birth = pop.child_birth[notified]
    span = np.maximum(birth - 1 - (m + 1), 0)
    when = np.where(
        late,
        birth - 1,
        m + 1 + (rng.random(len(notified)) * (span + 1)).astype(np.int64),
    )
    when = np.maximum(when, m + 1)
    s.prebirth_month[notified[will]] = when[will]


def _harm_seen(s: SimState, params: SynthParams, month: Month, cands: Candidates) -> None:
    """Harm an agency sees: bruising in a baby, injuries, school concerns, faltering growth."""
    sg, rng, pop = params.signals, s.rng, s.pop
    c_hh, c_person = pop.child_household, pop.child_person
    harmed = np.flatnonzero(month.harm)
    seen = harmed[rng.random(len(harmed)) < sg.harm_seen]
    seen = seen[month.present[seen]]
    age_s = month.age[seen]
    day = month.day + rng.integers(0, SIGNAL_DAYS, len(seen))
    kind = rng.random(len(seen))
    bruise = (age_s < sg.non_mobile_months) & (kind < sg.bruising_non_mobile)
    school_age = age_s >= sg.school_age_months[0]
    neglect_kind = ~bruise & (kind > 1 - sg.harm_seen_as_neglect)
    # bruising in a non-mobile baby: health visitor or hospital
    b = seen[bruise]
    hv = rng.random(len(b)) < sg.bruising_seen_by_health_visitor
    b_day = day[bruise]
    s.events.add(
        c_hh[b[hv]], c_person[b[hv]], b_day[hv], "health_contact", "health_visitor",
        "bruising_observed",
    )  # fmt: skip
    s.events.add(
        c_hh[b[~hv]], c_person[b[~hv]], b_day[~hv], "ed_attendance", "hospital", "bruising"
    )
    # injuries to older children at hospital
    inj = ~bruise & ~neglect_kind & ~school_age
    injured = seen[inj]
    injury = choice_codes(rng, DCODE, HARM_INJURIES, len(injured))
    s.events.add(c_hh[injured], c_person[injured], day[inj], "ed_attendance", "hospital", injury)
    sch = ~bruise & school_age
    pupils = seen[sch]
    sign = choice_codes(rng, DCODE, SCHOOL_HARM_DETAILS, len(pupils))
    s.events.add(c_hh[pupils], c_person[pupils], day[sch], "school_concern", "school", sign)
    ng = ~bruise & neglect_kind & ~school_age
    faltering = seen[ng]
    s.events.add(
        c_hh[faltering], c_person[faltering], day[ng], "health_contact", "health_visitor",
        "faltering_growth",
    )  # fmt: skip
    refer = rng.random(len(seen)) < referral_chance(s, month, params.referral.harm_seen, seen)
    src = np.where(
        bruise,
        np.where(
            rng.random(len(seen)) < sg.bruising_seen_by_health_visitor,
            SCODE["health_visitor"],
            SCODE["hospital"],
        ),
        np.where(
            school_age & ~bruise,
            SCODE["school"],
            np.where(ng, SCODE["health_visitor"], SCODE["hospital"]),
        ),
    )
    conc = np.where(
        sch,
        choice_codes(rng, CCODE, SCHOOL_HARM_CONCERNS, len(seen)),
        np.where(ng, CCODE["neglect"], CCODE["physical_injury"]),
    )
    lag = _lag(rng, params, int(refer.sum()))
    cands.add(seen[refer], day[refer] + lag, src[refer], conc[refer], bruise[refer])


def _hospital(
    s: SimState, params: SynthParams, month: Month, kids: IntArray, cands: Candidates
) -> None:
    """Accidents and illness at hospital, and accidental bruising in non-mobile babies."""
    sg, rng, pop = params.signals, s.rng, s.pop
    c_hh, c_person = pop.child_household, pop.child_person
    acc = kids[rng.random(len(kids)) < sg.ed_accidental]
    day = month.day + rng.integers(0, EVENT_DAYS, len(acc))
    detail = choice_codes(rng, DCODE, ACCIDENTS, len(acc))
    s.events.add(c_hh[acc], c_person[acc], day, "ed_attendance", "hospital", detail)
    babies = kids[month.age[kids] < sg.non_mobile_months]
    ab = babies[rng.random(len(babies)) < sg.accidental_bruise_non_mobile]
    d_ab = month.day + rng.integers(0, SIGNAL_DAYS, len(ab))
    s.events.add(c_hh[ab], c_person[ab], d_ab, "ed_attendance", "hospital", "bruising")
    r_ab = rng.random(len(ab)) < referral_chance(s, month, params.referral.harm_seen, ab)
    cands.add(ab[r_ab], d_ab[r_ab] + 1, "hospital", "physical_injury", True)


def _police(
    s: SimState, params: SynthParams, month: Month, kids: IntArray, cands: Candidates
) -> None:
    """Police domestic incidents: each child in the household may be referred."""
    rng, pop = s.rng, s.pop
    nh, c_hh = pop.n_households, pop.child_household
    da_hh = np.flatnonzero(
        s.factors["domestic_abuse"] & (rng.random(nh) < params.signals.police_domestic)
    )
    inc_day = month.day + rng.integers(0, SIGNAL_DAYS, nh)
    s.events.add(
        da_hh,
        pop.mother[da_hh],
        inc_day[da_hh],
        "police_domestic_incident",
        "police",
        None,
        month.perpetrator[da_hh],
    )
    incident = np.zeros(nh, dtype=bool)
    incident[da_hh] = True
    kids_da = kids[incident[c_hh[kids]]]
    p = referral_chance(s, month, params.referral.police_domestic, kids_da)
    kd = kids_da[rng.random(len(kids_da)) < p]
    cands.add(kd, inc_day[c_hh[kd]] + _lag(rng, params, len(kd)), "police", "domestic_abuse")


def _adult_services(
    s: SimState, params: SynthParams, month: Month, kids: IntArray, cands: Candidates
) -> None:
    """Adult services (and probation) see parental drug, alcohol and mental health problems."""
    sg, rng, pop = params.signals, s.rng, s.pop
    nh, c_hh = pop.n_households, pop.child_household
    for f, detail, concern in ADULT_SERVICE:
        seen_hh = np.flatnonzero(s.factors[f] & (rng.random(nh) < sg.adult_service))
        if f == "mental_health":
            det = np.where(
                rng.random(len(seen_hh)) < sg.mental_health_crisis,
                DCODE["mental_health_crisis"],
                DCODE[detail],
            )
        else:
            det = np.full(len(seen_hh), DCODE[detail])
        father = pop.father[seen_hh]
        about_father = (father >= 0) & (rng.random(len(seen_hh)) < sg.adult_service_father)
        subject = np.where(about_father, father, pop.mother[seen_hh])
        day = month.day + rng.integers(0, SIGNAL_DAYS, nh)
        # some drug misuse is seen by probation, recorded as a probation contact (the draw is
        # made for every factor, so that each factor's stream of draws is the same)
        probation_draw = rng.random(len(seen_hh)) < sg.drug_seen_by_probation
        on_probation = (f == "drug") & probation_draw
        source = np.where(on_probation, SCODE["probation"], SCODE["adult_services"])
        det = np.where(on_probation, DCODE["probation"], det)
        s.events.add(seen_hh, subject, day[seen_hh], "adult_service_contact", source, det)
        seen = np.zeros(nh, dtype=bool)
        seen[seen_hh] = True
        source_hh = np.full(nh, SCODE["adult_services"])
        source_hh[seen_hh] = source
        kk = kids[seen[c_hh[kids]]]
        kk = kk[rng.random(len(kk)) < referral_chance(s, month, params.referral.adult_service, kk)]
        cands.add(kk, day[c_hh[kk]] + _lag(rng, params, len(kk)), source_hh[c_hh[kk]], concern)


def _health_visitors(
    s: SimState, params: SynthParams, month: Month, kids: IntArray, cands: Candidates
) -> None:
    """Health visitors see infants; families with a factor miss appointments more."""
    sg, rng, pop = params.signals, s.rng, s.pop
    c_hh, c_person = pop.child_household, pop.child_person
    inf = kids[month.age[kids] < sg.infant_months]
    day = month.day + rng.integers(0, SIGNAL_DAYS, len(inf))
    routine = rng.random(len(inf)) < sg.health_visit
    visited = inf[routine]
    s.events.add(
        c_hh[visited], c_person[visited], day[routine], "health_contact", "health_visitor",
        "routine",
    )  # fmt: skip
    p_miss = sg.missed_appointment_base + sg.missed_appointment * month.any_factor[c_hh[inf]]
    miss = rng.random(len(inf)) < p_miss
    missed = inf[miss]
    s.events.add(
        c_hh[missed], c_person[missed], day[miss], "health_contact", "health_visitor",
        "missed_appointment",
    )  # fmt: skip
    p = referral_chance(s, month, params.referral.missed_appointment, inf)
    rm = miss & (rng.random(len(inf)) < p)
    cands.add(inf[rm], day[rm] + _lag(rng, params, int(rm.sum())), "health_visitor", "neglect")


def _schools(
    s: SimState, params: SynthParams, month: Month, kids: IntArray, cands: Candidates
) -> None:
    """Schools see school-age children, more often when their household has factors."""
    sg, rng, pop = params.signals, s.rng, s.pop
    c_hh, c_person = pop.child_household, pop.child_person
    age = month.age[kids]
    first, last = sg.school_age_months
    sc = kids[(age >= first) & (age <= last)]
    n_factors = sum(s.factors[f][c_hh[sc]].astype(np.int64) for f in s.factors)
    hit = rng.random(len(sc)) < sg.school_concern * (sg.school_concern_base + n_factors)
    k = sc[hit]
    day = month.day + rng.integers(0, SIGNAL_DAYS, len(k))
    detail = choice_codes(rng, DCODE, SCHOOL_DETAILS, len(k))
    s.events.add(c_hh[k], c_person[k], day, "school_concern", "school", detail)
    rs = rng.random(len(k)) < referral_chance(s, month, params.referral.school_concern, k)
    n = int(rs.sum())
    lag = _lag(rng, params, n)
    cands.add(k[rs], day[rs] + lag, "school", choice_codes(rng, CCODE, SCHOOL_CONCERNS, n))


def agencies_observe(s: SimState, params: SynthParams, month: Month, cands: Candidates) -> None:
    """Every agency's records this month, in a fixed order, and their candidate referrals."""
    _harm_seen(s, params, month, cands)
    kids = np.flatnonzero(month.present)
    _hospital(s, params, month, kids, cands)
    _police(s, params, month, kids, cands)
    _adult_services(s, params, month, kids, cands)
    _health_visitors(s, params, month, kids, cands)
    _schools(s, params, month, kids, cands)
