"""Practice decides each referral, and its consequences follow.

:func:`practice_outcomes` scores each referral the way simulated practice does, with the failure
modes of the serious case reviews; :func:`decide` records the referrals and their outcomes;
:func:`assess` completes assessments that find some of the factors and assess fathers only
sometimes; :func:`enquire` runs s47 enquiries, conferences and plans; :func:`plans_end` ends
plans and removes children.
"""

from __future__ import annotations

import numpy as np

from secondlook.params import SynthParams
from secondlook.schema import CONCERNS, OUTCOMES, PLAN_CATEGORIES
from secondlook.synth.events import (
    ASSESS_BITS,
    CCODE,
    COMBO_CODE,
    DCODE,
    FACTOR_CONCERN,
    PARENT_FACTORS,
    BoolArray,
    FloatArray,
    IntArray,
)
from secondlook.synth.households import EVENT_DAYS
from secondlook.synth.referrals import Arrivals
from secondlook.synth.risk import sigmoid
from secondlook.synth.state import Month, SimState

__all__ = ["assess", "decide", "enquire", "plans_end", "practice_outcomes"]

#: a child removed in a month is removed on this day of it (calendar mechanics)
REMOVAL_DAY = 27

_PLAN_CODE = np.array([DCODE[c] for c in PLAN_CATEGORIES])
_OUTCOME_CODE = np.array([DCODE[o] for o in OUTCOMES])
_CONCERN_DETAIL = np.array([DCODE[c] for c in CONCERNS])
#: the assessment bit an s47 enquiry records for each concern (neglect for those with none)
_CONCERN_BIT = np.array(
    [1 << ASSESS_BITS.index(c if c in ASSESS_BITS else "neglect") for c in CONCERNS]
)
_POPCOUNT = np.array([bin(v).count("1") for v in range(64)])


def practice_outcomes(
    rng: np.random.Generator,
    params: SynthParams,
    *,
    concern: IntArray,
    own_history: FloatArray,
    sibling_history: FloatArray,
    known_factors: FloatArray,
    bruising_non_mobile: BoolArray,
    eta: FloatArray,
    unassessed_adult: BoolArray,
    la_offset: FloatArray,
) -> tuple[IntArray, FloatArray]:
    """How simulated practice decides referrals (index into OUTCOMES).

    A latent score weighs the current concern heavily, reads the child's own recent history,
    reads the siblings' history and the factors found by earlier assessments only when it does
    not "start again", perceives part of the real risk, gives unassessed adults the weight
    ``weight_unassessed_adult`` (none by default: adults never assessed are not considered), and
    sometimes lets bruising in a non-mobile baby pass. Local authorities differ in threshold.
    What no record explains enters as logistic noise of scale ``decision_noise``.

    Parameters
    ----------
    rng
        The world's random generator.
    params
        The ``synth`` settings (``params.practice`` is used).
    concern, own_history, sibling_history, known_factors, bruising_non_mobile, eta,
    unassessed_adult, la_offset
        One value per referral.

    Returns
    -------
    outcome : ndarray of int64
        0 = nfa, 1 = assessment, 2 = s47.
    margin : ndarray of float64
        How far each referral's latent score lies above its s47 threshold (``s47_cut`` plus the
        local authority's offset; positive for an s47 enquiry): the strength of the concern,
        which :func:`enquire` carries into the conference decision.
    """
    pr = params.practice
    n = len(concern)
    w_concern = np.array([pr.weight_concern[c] for c in CONCERNS])
    reads_history = rng.random(n) >= pr.start_again
    bruise_seen = bruising_non_mobile & (rng.random(n) >= pr.bruising_missed)
    score = (
        w_concern[concern]
        + pr.weight_own_history * own_history
        + reads_history * (pr.weight_sibling_history * sibling_history)
        + reads_history * (pr.weight_known_factors * known_factors)
        + pr.weight_bruising * bruise_seen
        + pr.weight_true_risk * (eta + pr.true_risk_shift)
        + pr.weight_unassessed_adult * unassessed_adult
    )
    latent = score + pr.decision_noise * rng.logistic(size=n)
    outcome = np.ones(n, dtype=np.int64)
    outcome[latent < pr.nfa_cut + la_offset] = 0
    outcome[latent > pr.s47_cut + la_offset] = 2
    return outcome, latent - (pr.s47_cut + la_offset)


def plans_end(s: SimState, params: SynthParams, month: Month) -> None:
    """Plans end, or the child is removed (likelier in a month of harm, and in a household that
    has had a child removed before: ``removal_earlier_removal``); removed children leave
    ``month.present``."""
    pr, rng, pop = params.practice, s.rng, s.pop
    c_hh, c_person = pop.child_household, pop.child_person
    plan_kids = np.flatnonzero(s.on_plan & (month.age >= 0))
    r = rng.random(len(plan_kids))
    p_remove = pr.removal * np.where(month.harm[plan_kids], pr.removal_harm_factor, 1.0)
    if pr.removal_earlier_removal != 1.0:
        hh = c_hh[plan_kids]
        removed_before = np.bincount(c_hh[s.removed], minlength=pop.n_households) > 0
        earlier = pop.earlier_removal[hh] | removed_before[hh]
        p_remove = p_remove * np.where(earlier, pr.removal_earlier_removal, 1.0)
    removed = plan_kids[r < p_remove]
    ended = plan_kids[(r >= p_remove) & (r < p_remove + pr.plan_end)]
    for kids in (ended, removed):
        s.events.add(
            c_hh[kids],
            c_person[kids],
            month.day + rng.integers(0, EVENT_DAYS, len(kids)),
            "cp_plan_ended",
            "other",
            _PLAN_CODE[s.plan_category[kids]],
        )
    day = np.full(len(removed), month.day + REMOVAL_DAY)
    s.events.add(c_hh[removed], c_person[removed], day, "child_removed", "other")
    s.on_plan[ended] = False
    s.on_plan[removed] = False
    s.removed[removed] = True
    month.present &= ~s.removed


def decide(
    s: SimState, params: SynthParams, month: Month, refs: Arrivals
) -> tuple[IntArray, FloatArray]:
    """Practice decides the month's referrals; log them, their outcomes and the truth rows.

    Returns
    -------
    outcome, margin
        The outcome of each referral (index into OUTCOMES) and its latent margin over the s47
        threshold (:func:`practice_outcomes`).
    """
    pop, m = s.pop, month.m
    ch = refs.child
    ring = s.referral_ring
    own = ring[ch].sum(axis=1).astype(np.float64)
    hh = pop.child_household[ch]
    hh_sum = np.bincount(pop.child_household, weights=ring.sum(axis=1), minlength=pop.n_households)
    known_factors = _POPCOUNT[s.known_mask[hh] & 63]
    outcome, margin = practice_outcomes(
        s.rng,
        params,
        concern=refs.concern,
        own_history=own,
        sibling_history=hh_sum[hh] - own,
        known_factors=known_factors.astype(np.float64),
        bruising_non_mobile=refs.bruise,
        eta=month.eta[ch],
        unassessed_adult=month.unassessed[hh],
        la_offset=s.la_offset[pop.local_authority[hh]],
    )
    rec = s.records
    ridx = np.arange(rec.n_referrals, rec.n_referrals + len(ch))
    rec.n_referrals += len(ch)
    person = pop.child_person[ch]
    detail = _CONCERN_DETAIL[refs.concern]
    s.events.add(hh, person, refs.day, "referral", refs.source, detail, None, ridx)
    s.events.add(hh, person, refs.day, "referral_outcome", "other", _OUTCOME_CODE[outcome])
    ring[:, m % 12] = 0
    ring[ch, m % 12] = 1
    for key, val in (
        ("child", ch),
        ("month", np.full(len(ch), m)),
        ("eta", month.eta[ch]),
        ("age", month.age[ch]),
        ("concern", refs.concern),
        ("source", refs.source),
        ("outcome", outcome),
        ("day", refs.day),
    ):
        rec.referrals[key].append(val)
    for f in PARENT_FACTORS:
        rec.referrals[f"state_{f}"].append(s.factors[f][hh])
    rec.referrals["state_unassessed_violent_adult"].append(month.unassessed[hh])
    return outcome, margin


def assess(
    s: SimState, params: SynthParams, month: Month, refs: Arrivals, outcome: IntArray
) -> None:
    """Assessments (for assessment and s47 outcomes) find some factors and assess some adults."""
    pr, rng, pop, m = params.practice, s.rng, s.pop, month.m
    a = np.flatnonzero(outcome >= 1)
    ka = refs.child[a]
    ha = pop.child_household[ka]
    concern = refs.concern[a]
    lo, hi = pr.assessment_days
    a_day = refs.day[a] + rng.integers(lo, hi + 1, len(a))
    bits = np.zeros(len(a), dtype=np.int64)
    for f in PARENT_FACTORS:
        found = s.factors[f][ha] & (rng.random(len(a)) < pr.factor_found)
        bits |= found.astype(np.int64) << ASSESS_BITS.index(FACTOR_CONCERN[f])
    harmed = (m - s.last_harm_month[ka]) < pr.recent_harm_months
    injury = concern == CCODE["physical_injury"]
    bits |= (harmed & injury).astype(np.int64) << ASSESS_BITS.index("physical_injury")
    neglect_anyway = month.any_factor[ha] & (rng.random(len(a)) < pr.neglect_recorded)
    bits |= (harmed & ~injury | neglect_anyway).astype(np.int64) << ASSESS_BITS.index("neglect")
    s47 = outcome[a] == 2
    # an s47 enquiry always records at least the concern it was about
    bits = np.where(s47 & (bits == 0), _CONCERN_BIT[concern], bits)
    # some assessments that find a factor still conclude the child is not in need
    bits = np.where(~s47 & (rng.random(len(a)) < pr.not_in_need_despite_factor), 0, bits)
    a_detail = np.where(bits == 0, DCODE["not_in_need"], COMBO_CODE[bits])
    a_day = np.minimum(a_day, s.clock.end_day)
    child = pop.child_person[ka]
    s.events.add(ha, child, a_day, "assessment_completed", "other", a_detail)
    np.bitwise_or.at(s.known_mask, ha, bits & 15)
    s.events.add(ha, pop.mother[ha], a_day, "adult_assessed", "other", None, child)
    s.assessed[pop.mother[ha]] = True
    for adult in (pop.father, s.partner):
        who = adult[ha]
        inc = (who >= 0) & (rng.random(len(a)) < pr.assess_father)
        s.events.add(ha[inc], who[inc], a_day[inc], "adult_assessed", "other", None, child[inc])
        s.assessed[who[inc]] = True


def _plan_category(
    s: SimState, params: SynthParams, concern: IntArray, household: IntArray, draw: FloatArray
) -> IntArray:
    """Index into PLAN_CATEGORIES of each new plan."""
    cat = np.where(
        concern == CCODE["sexual"],
        3,
        np.where(
            (concern == CCODE["physical_injury"]) & (draw < params.practice.plan_physical),
            1,
            np.where(
                s.factors["domestic_abuse"][household]
                | (concern == CCODE["emotional"])
                | (concern == CCODE["domestic_abuse"]),
                2,
                0,
            ),
        ),
    )
    # many emotional-abuse plans are recorded as neglect
    as_neglect = draw > 1 - params.practice.plan_emotional_as_neglect
    return np.where((cat == 2) & as_neglect, 0, cat)


def enquire(
    s: SimState,
    params: SynthParams,
    month: Month,
    refs: Arrivals,
    outcome: IntArray,
    margin: FloatArray,
) -> None:
    """s47 enquiries (which protect the child for a while), conferences and plans.

    A conference follows an enquiry with probability ``icpc`` (times ``icpc_substantiated`` or
    ``icpc_not_substantiated``), its log-odds raised by ``icpc_margin`` per unit of the
    referral's latent ``margin`` over the s47 threshold: the stronger the concern that started
    the enquiry, the likelier the conference.
    """
    pr, rng, pop, m = params.practice, s.rng, s.pop, month.m
    end_day = s.clock.end_day
    e = np.flatnonzero(outcome == 2)
    ke = refs.child[e]
    he = pop.child_household[ke]
    s.protect_until[ke] = m + params.harm.protect_months
    harmed = (m - s.last_harm_month[ke]) < pr.recent_harm_months
    sb = pr.substantiation
    perceived = month.eta[ke] + pr.true_risk_shift
    p_subst = sigmoid(sb.intercept + sb.recent_harm * harmed + sb.true_risk * perceived)
    subst = rng.random(len(e)) < p_subst
    lo, hi = pr.s47_days
    e_day = np.minimum(refs.day[e] + rng.integers(lo, hi + 1, len(e)), end_day)
    finding = np.where(subst, DCODE["substantiated"], DCODE["not_substantiated"])
    s.events.add(he, pop.child_person[ke], e_day, "s47_concluded", "other", finding)
    factor = np.where(subst, pr.icpc_substantiated, pr.icpc_not_substantiated)
    p_conf = np.clip(pr.icpc * factor, 0, 1)
    if pr.icpc_margin != 0:
        p_conf = np.clip(p_conf, 1e-9, 1 - 1e-9)
        p_conf = sigmoid(np.log(p_conf / (1 - p_conf)) + pr.icpc_margin * margin[e])
    conf = rng.random(len(e)) < p_conf
    conf &= ~s.on_plan[ke]
    kc, hc = ke[conf], he[conf]
    c_lo, c_hi = pr.conference_days
    c_day = np.minimum(e_day[conf] + rng.integers(c_lo, c_hi + 1, conf.sum()), end_day)
    plan = rng.random(len(kc)) < pr.plan
    decision = np.where(plan, DCODE["plan"], DCODE["no_plan"])
    s.events.add(hc, pop.child_person[kc], c_day, "icpc", "other", decision)
    kp, hp = kc[plan], hc[plan]
    concern = refs.concern[e][conf][plan]
    cat = _plan_category(s, params, concern, hp, rng.random(len(kp)))
    s.events.add(hp, pop.child_person[kp], c_day[plan], "cp_plan_started", "other", _PLAN_CODE[cat])
    s.on_plan[kp] = True
    s.plan_category[kp] = cat
