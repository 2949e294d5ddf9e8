"""Harm happens: each child's monthly hazard of significant harm, drawn from the true risk.

The hazard comes from the hidden state through :mod:`.risk`, lowered by
``harm.escalation_effect`` while the child is protected by a recent s47 enquiry or a plan. The
uniform draws are kept (``u``) so the potential outcome without escalation can be drawn later
with common random numbers.
"""

from __future__ import annotations

import numpy as np

from secondlook.params import SynthParams
from secondlook.synth.risk import factor_values, logodds, monthly_hazard
from secondlook.synth.state import Month, SimState

__all__ = ["harm_happens"]


def harm_happens(s: SimState, params: SynthParams, month: Month) -> None:
    """Draw this month's harm; sets ``month.age``, ``present``, ``eta``, ``harm``, ``any_factor``.

    Parameters
    ----------
    s
        The simulation state (its last-harm month, panels and harm records are updated).
    params
        The ``synth`` settings.
    month
        This month.
    """
    pop, m, hz = s.pop, month.m, params.harm
    c_hh = pop.child_household
    month.age = m - pop.child_birth
    month.present = (month.age >= 0) & (month.age < params.household.childhood_months) & ~s.removed
    f = s.factors
    values = factor_values(
        {
            "drug": f["drug"][c_hh],
            "alcohol": f["alcohol"][c_hh],
            "mental_health": f["mental_health"][c_hh],
            "domestic_abuse": f["domestic_abuse"][c_hh],
            "unassessed_violent_adult": month.unassessed[c_hh],
            "earlier_removal": pop.earlier_removal[c_hh],
            "young_parent": pop.young_parent[c_hh],
            "disability": pop.child_disability,
        },
        pop.decile[c_hh],
    )
    month.eta = logodds(values, month.age, hz)
    protected = s.on_plan | (s.protect_until >= m)
    u = s.rng.random(pop.n_children)
    month.harm = month.present & (u < monthly_hazard(month.eta + hz.escalation_effect * protected))
    if s.panels["eta"].size:
        s.panels["eta"][:, m] = month.eta
        s.panels["u"][:, m] = u
        s.panels["harm"][:, m] = month.harm
        s.panels["protected"][:, m] = protected
    s.last_harm_month[month.harm] = m
    harmed = np.flatnonzero(month.harm)
    month.any_factor = f["drug"] | f["alcohol"] | f["mental_health"] | f["domestic_abuse"]
    s.records.harm["child"].append(harmed)
    s.records.harm["month"].append(np.full(len(harmed), m))
    s.records.harm["any_trio_factor"].append(month.any_factor[c_hh[harmed]])
