"""The calibration summary: each generated figure beside its published reference.

The targets and tolerances are those of the published figures listed below (each with its source).
Figures are measured over the modelling window (``synth.decisions_from`` .. ``synth.end``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from secondlook.params import SynthParams
from secondlook.schema import LABELS
from secondlook.synth.world import World


@dataclasses.dataclass(frozen=True)
class Target:
    """One published figure, the tolerance the default world must meet, and its source."""

    key: str
    figure: str
    target: float
    low: float
    high: float
    source: str


TARGETS = (
    Target("referrals_per_10k", "referrals per 10,000 children per year", 520, 400, 650, "DfE CIN 2025, C1"),
    Target("rereferral_12m", "re-referral within 12 months of a previous referral", 0.226, 0.17, 0.28, "DfE CIN 2025, C1"),
    Target("nfa_share", "referrals ending in no further action", 0.065, 0.04, 0.10, "DfE CIN 2025, C1"),
    Target("not_in_need_share", "referrals assessed and found not in need", 0.30, 0.22, 0.38, "DfE CIN 2025, C1"),
    Target("s47_per_referral", "section 47 enquiries per referral", 0.36, 0.28, 0.42, "DfE CIN 2025, C4"),
    Target("icpc_per_s47", "initial child protection conferences per s47 enquiry", 0.32, 0.25, 0.40, "DfE CIN 2023/2025, C4"),
    Target("plans_per_referral", "child protection plans started per referral", 0.098, 0.07, 0.13, "DfE CIN 2025, D1"),
    Target("on_plan_per_10k", "children on a plan at 31 March, per 10,000", 41, 30, 55, "DfE CIN 2025, D1"),
    Target("plan_under1_share", "share of children on plans who are under 1", 0.11, 0.08, 0.16, "NSPCC 2014 from DfE 2013"),
    Target("plan_neglect", "plan category: neglect", 0.50, 0.40, 0.60, "DfE A6 2020"),
    Target("plan_emotional", "plan category: emotional abuse", 0.36, 0.26, 0.46, "DfE A6 2020"),
    Target("plan_physical", "plan category: physical abuse", 0.07, 0.0, 0.17, "DfE A6 2020"),
    Target("plan_sexual", "plan category: sexual abuse", 0.04, 0.0, 0.14, "DfE A6 2020"),
    Target("plan_multiple", "plan category: multiple (one category per plan here)", 0.03, 0.0, 0.13, "DfE A6 2020"),
    Target("source_police", "referrals from the police", 0.28, 0.20, 0.36, "DfE 2025"),
    Target("source_school", "referrals from schools", 0.21, 0.13, 0.29, "DfE 2025"),
    Target("factor_domestic_abuse", "assessments finding domestic abuse", 0.45, 0.30, 0.55, "DfE 2016; Foundations 2025"),
    Target("factor_mental_health", "assessments finding parental mental health", 0.35, 0.25, 0.45, "Foundations 2025"),
    Target("factor_drug", "assessments finding drug misuse", 0.193, 0.12, 0.26, "DfE 2016"),
    Target("factor_alcohol", "assessments finding alcohol misuse", 0.184, 0.10, 0.25, "DfE 2016"),
    Target("harm_under1_share", "infants under 1 among children significantly harmed", 0.35, 0.25, 0.45, "CSPRP 2020; Ofsted 2011"),
    Target("harm_with_trio_share", "significant harm with domestic abuse, mental ill-health or substance misuse", 0.75, 0.60, 0.85, "Brandon et al. 2009"),
)  # fmt: skip


def measure(world: World, tables: dict[str, pd.DataFrame], params: SynthParams) -> dict[str, float]:
    """Measure every calibration figure on a simulated world.

    Parameters
    ----------
    world
        The simulated world (for the hidden harm events and point-in-time counts).
    tables
        Its canonical tables (events at least).
    params
        The ``synth`` settings.

    Returns
    -------
    dict of str to float
        One value per :data:`TARGETS` key.
    """
    ev = tables["events"]
    lo, hi = pd.Timestamp(params.decisions_from), pd.Timestamp(params.end)
    win = ev[(ev["date"] >= lo) & (ev["date"] <= hi)]
    n_of = win["type"].value_counts()
    refs = win[win["type"] == "referral"]
    n_ref = max(len(refs), 1)
    m0 = int((np.datetime64(params.decisions_from, "M") - world.start_month).astype(int))
    children = world.diagnostics["children"][m0:]
    years = len(children) / 12.0
    # re-referral: a referral of the same child in the 365 days before
    all_refs = ev[ev["type"] == "referral"].sort_values(["person_id", "date"])
    prev = all_refs.groupby("person_id")["date"].shift()
    rerefer = ((all_refs["date"] - prev).dt.days <= 365) & (all_refs["date"] >= lo)
    outcomes = win.loc[win["type"] == "referral_outcome", "detail"].value_counts()
    assessed = win.loc[win["type"] == "assessment_completed", "detail"]
    in_need = assessed[assessed != "not_in_need"]
    plans = win.loc[win["type"] == "cp_plan_started", "detail"].value_counts(normalize=True)
    sources = refs["source"].value_counts(normalize=True)
    # 31 March of each year in the window
    months = np.arange(m0, world.n_months)
    march = months[((world.start_month + months.astype("timedelta64[M]")).astype(int) % 12) == 2]
    d = world.diagnostics
    on_plan = d["on_plan"][march]
    harm_month = d["harm_month"]
    in_win = harm_month >= m0
    harm_age = harm_month - world.children["birth_month"][d["harm_child"]]

    def share(needle: str) -> float:
        return float(in_need.str.contains(needle, regex=False).mean()) if len(in_need) else 0.0

    return {
        "referrals_per_10k": float(len(refs) / (children.mean() * years) * 1e4),
        "rereferral_12m": float(rerefer.sum() / max((all_refs["date"] >= lo).sum(), 1)),
        "nfa_share": float(outcomes.get("nfa", 0) / n_ref),
        "not_in_need_share": float((assessed == "not_in_need").sum() / n_ref),
        "s47_per_referral": float(outcomes.get("s47", 0) / n_ref),
        "icpc_per_s47": float(n_of.get("icpc", 0) / max(n_of.get("s47_concluded", 0), 1)),
        "plans_per_referral": float(n_of.get("cp_plan_started", 0) / n_ref),
        "on_plan_per_10k": float((on_plan / d["children"][march]).mean() * 1e4),
        "plan_under1_share": float(d["on_plan_under1"][march].sum() / max(on_plan.sum(), 1)),
        "plan_neglect": float(plans.get("neglect", 0.0)),
        "plan_emotional": float(plans.get("emotional", 0.0)),
        "plan_physical": float(plans.get("physical", 0.0)),
        "plan_sexual": float(plans.get("sexual", 0.0)),
        # the event vocabulary records one category per plan, so "multiple" is never recorded
        "plan_multiple": float(plans.get("multiple", 0.0)),
        "source_police": float(sources.get("police", 0.0)),
        "source_school": float(sources.get("school", 0.0)),
        "factor_domestic_abuse": share("domestic_abuse"),
        "factor_mental_health": share("parental_mental_health"),
        "factor_drug": share("parental_drug_misuse"),
        "factor_alcohol": share("parental_alcohol_misuse"),
        "harm_under1_share": float((harm_age[in_win] < 12).mean()) if in_win.any() else 0.0,
        "harm_with_trio_share": float(d["harm_any_trio_factor"][in_win].mean())
        if in_win.any()
        else 0.0,
    }


def summary(world: World, tables: dict[str, pd.DataFrame], params: SynthParams) -> dict[str, Any]:
    """The JSON-ready calibration summary written to ``data/raw/summary.json``.

    Parameters
    ----------
    world, tables, params
        As for :func:`measure`.

    Returns
    -------
    dict
        ``calibration`` (one entry per figure: reference, tolerance, generated value, whether it
        is within tolerance), ``all_within``, ``prevalence`` of each label among decisions,
        ``practice_outcomes`` and table ``counts``.
    """
    measured = measure(world, tables, params)
    rows = []
    for t in TARGETS:
        value = measured[t.key]
        rows.append(
            {
                "key": t.key,
                "figure": t.figure,
                "reference": t.target,
                "tolerance": [t.low, t.high],
                "generated": round(value, 4),
                "within": bool(t.low <= value <= t.high),
                "source": t.source,
            }
        )
    truth = tables["truth"]
    decisions = tables["decisions"]
    return {
        "calibration": rows,
        "all_within": all(r["within"] for r in rows),
        "prevalence": {label: round(float(truth[label].mean()), 4) for label in LABELS},
        "practice_outcomes": {
            k: round(float(v), 4)
            for k, v in decisions["practice_outcome"]
            .value_counts(normalize=True)
            .sort_index()
            .items()
        },
        "counts": {name: int(len(df)) for name, df in tables.items()},
    }
