"""The hidden parental factors: where they start, and how they evolve each month.

Drug misuse, alcohol misuse and mental ill-health are monthly Markov processes (onset and
recovery), with a household frailty and a deprivation effect on onset; each starts in its
stationary distribution. Domestic abuse can only start, and only persists, while a violent adult
(a father or a partner) lives in the household. A violent adult nobody has assessed is a factor
of its own.
"""

from __future__ import annotations

import numpy as np

from secondlook.params import SynthParams
from secondlook.synth.events import BoolArray, FloatArray, logit
from secondlook.synth.risk import sigmoid
from secondlook.synth.state import Month, Population, SimState

__all__ = ["MARKOV_FACTORS", "evolve_factors", "initial_factors"]

#: the factors that come and go on their own (domestic abuse needs a violent adult)
MARKOV_FACTORS = ("drug", "alcohol", "mental_health")


def initial_factors(
    rng: np.random.Generator, params: SynthParams, pop: Population
) -> tuple[dict[str, BoolArray], dict[str, FloatArray]]:
    """Each household's factors at month 0 and the onset log-odds of each factor.

    Returns
    -------
    (dict, dict)
        Factor -> bool per household (domestic abuse all False at first); factor -> onset
        log-odds per household.
    """
    fp = params.factors
    state = {f: np.zeros(pop.n_households, dtype=bool) for f in (*MARKOV_FACTORS, "domestic_abuse")}
    onset_shift = pop.frailty + fp.deprivation_onset * (10 - pop.decile) / 9.0
    onset = {f: logit(getattr(fp, f).onset) + onset_shift for f in MARKOV_FACTORS}
    for f in MARKOV_FACTORS:
        p_on = sigmoid(onset[f])
        recovery = getattr(fp, f).recovery
        state[f] = rng.random(pop.n_households) < p_on / (p_on + recovery)
    onset["domestic_abuse"] = logit(fp.domestic_abuse.onset) + onset_shift
    return state, onset


def evolve_factors(s: SimState, params: SynthParams, month: Month) -> None:
    """One month of onset and recovery; sets ``month.perpetrator`` and ``month.unassessed``."""
    fp, pop, rng = params.factors, s.pop, s.rng
    nh = pop.n_households
    violent = pop.father_violent | s.partner_violent
    month.perpetrator = np.where(
        pop.father_violent, pop.father, np.where(s.partner_violent, s.partner, -1)
    )
    state = s.factors
    for f in MARKOV_FACTORS:
        r = rng.random(nh)
        on = ~state[f] & (r < sigmoid(s.onset_logodds[f]))
        off = state[f] & (r < getattr(fp, f).recovery)
        state[f] = (state[f] | on) & ~off
    r = rng.random(nh)
    da = state["domestic_abuse"]
    da_on = ~da & violent & (r < sigmoid(s.onset_logodds["domestic_abuse"]))
    da_off = da & (r < fp.domestic_abuse.recovery)
    state["domestic_abuse"] = violent & ((da | da_on) & ~da_off)
    month.unassessed = violent & ~s.assessed[np.maximum(month.perpetrator, 0)]
