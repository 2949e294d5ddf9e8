"""The monthly simulation of households known (or not yet known) to children's social care.

:func:`simulate` is pure: settings and a seed in, a :class:`World` of arrays out. It is
vectorised over people with numpy; the only Python loop is over months (an event's effect on
the next month — an escalation lowering the hazard, an assessment making an adult "assessed" —
needs the months in order).

Each month runs the steps a reader names, in this order (one module each):

- households form once, before month 0, and partners join and leave (:mod:`.households`);
- factors evolve (:mod:`.factors`);
- harm happens (:mod:`.harm`), and plans end or children are removed (:mod:`.practice`);
- agencies observe (:mod:`.agencies`) and referrals arrive (:mod:`.referrals`);
- practice decides, assesses and enquires (:mod:`.practice`).

The random draws are made in a fixed order, so a seed gives the same world byte for byte.

In more detail:

1. transient partners join and leave households (adult_joined / adult_left);
2. the hidden parental factors move (monthly Markov onset and recovery, with a household
   frailty and a deprivation effect on onset; domestic abuse only while a violent adult lives
   there); a violent adult nobody has assessed is a factor of its own;
3. each child's hazard of significant harm is drawn from the true risk (:mod:`.risk`), lowered
   while the child is protected by a recent s47 enquiry or a plan; the uniform draws are kept so
   the potential outcome without escalation can be drawn with common random numbers;
4. agencies record what they see, each with a detection probability: police domestic incidents,
   adult service contacts, hospital attendances (most injuries accidental), health visitor
   contacts for infants (including bruising in a non-mobile baby), school concerns, births and
   pregnancy notifications;
5. some of those records become referrals; the chance carries the planted biases (surveillance
   by deprivation, disproportionality by ethnic group); plus background referrals with no signal
   behind them, and pre-birth referrals for unborn children in households with known risk;
6. practice decides each referral (:func:`practice_outcomes`), with the failure modes of the
   serious case reviews, and its consequences follow: assessments that find some of the
   factors and assess fathers only sometimes, s47 enquiries, conferences, plans, removals.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from secondlook.params import SynthParams
from secondlook.synth.agencies import agencies_observe, births_and_pregnancies
from secondlook.synth.events import DETAILS, PARENT_FACTORS, ROLE_CODES, TYPES, month_day
from secondlook.synth.factors import evolve_factors, initial_factors
from secondlook.synth.harm import harm_happens
from secondlook.synth.households import form_households, partners_move
from secondlook.synth.practice import assess, decide, enquire, plans_end, practice_outcomes
from secondlook.synth.referrals import (
    Candidates,
    arrive,
    background_referrals,
    prebirth_referrals,
    world_bias_offsets,
)
from secondlook.synth.state import NEVER, Clock, Month, Records, SimState

__all__ = [
    "DETAILS",
    "ROLE_CODES",
    "TYPES",
    "World",
    "practice_outcomes",
    "simulate",
    "world_bias_offsets",
]


@dataclasses.dataclass
class World:
    """A simulated world as arrays (ids are integer indexes; :mod:`.tables` names them).

    Attributes
    ----------
    start_month
        ``numpy.datetime64`` month of simulation month 0.
    n_months
        Number of simulated months.
    households
        Columns ``local_authority`` (int), ``deprivation_decile``, ``ethnicity`` (int code),
        ``earlier_removal``, ``young_parent`` (bool).
    people
        Columns ``household``, ``role``, ``sex`` (int codes), ``birth_month`` (month index,
        relative to ``start_month``), ``disability`` (-1 adult, 0, 1).
    events
        Columns ``household``, ``person``, ``day`` (days since 1970-01-01), ``type``, ``source``,
        ``detail`` (code into :data:`DETAILS`, -1 none), ``related`` (person, -1 none),
        ``outcome`` (referrals only: index into OUTCOMES, else -1), ``ref_index`` (referrals:
        row into ``referrals``, else -1).
    referrals
        One row per referral: ``child`` (index into ``children``), ``month``, ``eta`` (true
        log-odds at the decision), the state of every factor, ``age``.
    children
        ``person`` per child row; ``eta``, ``u``, ``harm``, ``protected`` are
        (n_children, n_months) panels.
    diagnostics
        Monthly counts used by the calibration summary.
    """

    start_month: np.datetime64
    n_months: int
    households: dict[str, np.ndarray]
    people: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    referrals: dict[str, np.ndarray]
    children: dict[str, np.ndarray]
    diagnostics: dict[str, np.ndarray]


def _clock(params: SynthParams) -> Clock:
    start_month = np.datetime64(params.start, "M")
    return Clock(
        start_month=start_month,
        n_months=int((np.datetime64(params.end, "M") - start_month).astype(int)) + 1,
        history_day=int(np.datetime64(params.history_start, "D").astype(np.int64)),
        start_day=int(np.datetime64(params.start, "D").astype(np.int64)),
        end_day=int(np.datetime64(params.end, "D").astype(np.int64)),
    )


def _start(params: SynthParams, seed: int, n_households: int, keep_panels: bool) -> SimState:
    """Households form, factors take their starting values, nothing has happened yet."""
    rng = np.random.default_rng(seed)
    clock = _clock(params)
    pop, people, events = form_households(rng, params, n_households, clock)
    factors, onset = initial_factors(rng, params, pop)
    nh, nc = pop.n_households, pop.n_children
    la_offset = rng.normal(0.0, params.practice.la_sd, size=params.practice.n_local_authorities)
    # background concerns gather in some households (their frailty), as repeat referrals do;
    # the shift keeps the mean rate at signals.background_referral
    conc = params.signals.background_concentration
    background_shift = conc * pop.frailty - 0.5 * (conc * params.factors.frailty_sd) ** 2
    panel_shape = (nc, clock.n_months) if keep_panels else (0, 0)
    return SimState(
        rng=rng,
        clock=clock,
        pop=pop,
        people=people,
        events=events,
        records=Records.empty((*PARENT_FACTORS, "unassessed_violent_adult")),
        factors=factors,
        onset_logodds=onset,
        partner=np.full(nh, -1, dtype=np.int64),
        partner_violent=np.zeros(nh, dtype=bool),
        known_mask=np.zeros(nh, dtype=np.int64),
        referral_bias=world_bias_offsets(params, pop.decile, pop.ethnicity),
        background_shift=background_shift,
        la_offset=la_offset,
        assessed=np.zeros(0, dtype=bool),
        removed=np.zeros(nc, dtype=bool),
        on_plan=np.zeros(nc, dtype=bool),
        plan_category=np.full(nc, -1, dtype=np.int64),
        protect_until=np.full(nc, -1, dtype=np.int64),
        referral_ring=np.zeros((nc, 12), dtype=np.int64),
        prebirth_month=np.full(nc, NEVER, dtype=np.int64),
        last_harm_month=np.full(nc, NEVER, dtype=np.int64),
        panels={
            "eta": np.zeros(panel_shape),
            "u": np.zeros(panel_shape),
            "harm": np.zeros(panel_shape, dtype=bool),
            "protected": np.zeros(panel_shape, dtype=bool),
        },
    )


def _count(s: SimState, month: Month) -> None:
    """Point-in-time counts (every month, for the calibration summary)."""
    present, on_plan, counts = month.present, s.on_plan, s.records.counts
    counts["children"].append(np.array([present.sum()]))
    counts["on_plan"].append(np.array([(on_plan & present).sum()]))
    counts["on_plan_under1"].append(np.array([(on_plan & present & (month.age < 12)).sum()]))
    unborn = on_plan & (month.age < 0) & ~s.removed
    counts["on_plan_unborn"].append(np.array([unborn.sum()]))


def _run_month(s: SimState, params: SynthParams, m: int) -> None:
    """One month: the steps in their order (the order of the random draws)."""
    # agencies refer children already known to children's social care more readily
    known = s.referral_ring.sum(axis=1) > 0
    month = Month(
        m=m,
        day=month_day(s.clock.start_month, m),
        referral_boost=params.referral.known_child * known,
    )
    partners_move(s, params, month)
    evolve_factors(s, params, month)
    harm_happens(s, params, month)
    plans_end(s, params, month)
    births_and_pregnancies(s, params, month)
    cands = Candidates()
    agencies_observe(s, params, month, cands)
    background_referrals(s, params, month, np.flatnonzero(month.present), cands)
    prebirth_referrals(s, month, cands)
    refs = arrive(cands, s.clock.end_day)
    outcome, margin = decide(s, params, month, refs)
    assess(s, params, month, refs, outcome)
    enquire(s, params, month, refs, outcome, margin)
    _count(s, month)


def simulate(
    params: SynthParams, seed: int, n_households: int, *, keep_panels: bool = True
) -> World:
    """Simulate a world of ``n_households`` households month by month.

    Parameters
    ----------
    params
        The ``synth`` settings.
    seed
        Seed of the world's random generator (``synth.seed`` or ``synth.cohort_seed``).
    n_households
        Households drawn; those whose children are all adults before the window are dropped.
    keep_panels
        Keep the (children x months) panels of log-odds, draws and harm (needed for truth).

    Returns
    -------
    World
    """
    s = _start(params, seed, n_households, keep_panels)
    for m in range(s.clock.n_months):
        _run_month(s, params, m)
    return _assemble(s)


def _assemble(s: SimState) -> World:
    """The world's arrays from the final state and the logs."""
    pop, rec = s.pop, s.records
    referrals = {k: np.concatenate(v) if v else np.zeros(0) for k, v in rec.referrals.items()}
    ref_child = referrals["child"].astype(np.int64)
    ref_hh = pop.child_household[ref_child]
    referrals["state_earlier_removal"] = pop.earlier_removal[ref_hh]
    referrals["state_young_parent"] = pop.young_parent[ref_hh]
    referrals["state_disability"] = pop.child_disability[ref_child].astype(bool)
    referrals["deprivation_decile"] = pop.decile[ref_hh]
    return World(
        start_month=s.clock.start_month,
        n_months=s.clock.n_months,
        households={
            "local_authority": pop.local_authority,
            "deprivation_decile": pop.decile,
            "ethnicity": pop.ethnicity,
            "earlier_removal": pop.earlier_removal,
            "young_parent": pop.young_parent,
        },
        people=s.people.arrays(),
        events=s.events.arrays(),
        referrals=referrals,
        children={
            "person": pop.child_person,
            "household": pop.child_household,
            "birth_month": pop.child_birth,
            **s.panels,
        },
        diagnostics={
            **{k: np.concatenate(v) for k, v in rec.counts.items()},
            "harm_month": np.concatenate(rec.harm["month"]),
            "harm_child": np.concatenate(rec.harm["child"]),
            "harm_any_trio_factor": np.concatenate(rec.harm["any_trio_factor"]),
        },
    )
