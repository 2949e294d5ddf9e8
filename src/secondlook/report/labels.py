"""Plain words for the names the pipeline writes: the one label map of the report.

The stages write JSON keys and estimand names meant for code (``top_k_exact``,
``auroc.candidate.warrants_escalation``); an ethics panel reads words. Every key, estimand,
scenario or code value the report shows goes through :func:`plain` (or :data:`ESTIMAND_TEXT`),
and ``tests/report`` scans the rendered report for code names left over.
"""

from __future__ import annotations

from typing import Any

from secondlook.report.plots import FAMILY_LABELS
from secondlook.synth.patterns import CONTROL_WORDS, CONTROLS, SEED_PATTERNS

_BLACK_BOX = "gbm"

__all__ = [
    "COUNT_KEYS",
    "ESTIMAND_TEXT",
    "KEY_TEXT",
    "SCENARIO_TEXT",
    "plain",
    "price_sentence",
    "sentence_case",
]

#: headline estimand of a sweep -> (plain name, digits) in the report's table and plots
ESTIMAND_TEXT: dict[str, tuple[str, int]] = {
    "auroc.candidate.warrants_escalation": ("candidate's AUROC against the truth", 3),
    "auprc.candidate.warrants_escalation": ("candidate's AUPRC against the truth", 3),
    "price_of_interpretability": ("price of interpretability (AUPRC of the black box minus the candidate's)", 3),
    "practice_recall": ("practice's recall of warranted referrals", 3),
    "lead_over_practice.candidate": ("candidate's lead over practice (recall, same workload)", 3),
    "recall_at_capacity.candidate": ("candidate's recall at the capacity cut", 3),
    "proxy_auroc.logreg.cp_plan_12m": ("scorecard's AUROC, trained and judged on child protection plans (a proxy)", 3),
    "proxy_auroc.logreg.removal_12m": ("scorecard's AUROC, trained and judged on removals into care (a proxy)", 3),
    "proxy_recall_at_capacity.logreg.cp_plan_12m": ("scorecard's recall of child protection plans at the capacity cut, trained on plans", 3),
    "proxy_recall_at_capacity.logreg.removal_12m": ("scorecard's recall of removals into care at the capacity cut, trained on removals", 3),
    "proxy_cost.logreg.cp_plan_12m": ("AUROC against the truth lost by training on the plan proxy", 3),
    "fidelity_overlap.candidate": ("share of the candidate's top 3 reasons that are true drivers", 3),
    "max_disparity.ethnicity": ("largest flag-rate ratio between ethnic groups", 2),
    "max_disparity.deprivation_quintile": ("largest flag-rate ratio between deprivation quintiles", 2),
    "n_referrals": ("referrals in the world", 0),
    "calibration.referrals_per_10k": ("referrals per 10,000 children a year", 0),
    "calibration_within": ("calibration figures within tolerance (of 22)", 1),
}  # fmt: skip

#: a sweep's scenario names
SCENARIO_TEXT: dict[str, str] = {"as_now": "as now"}

#: JSON keys the stages write -> column or row names a reader understands
KEY_TEXT: dict[str, str] = {
    # explanations/summary.json
    "additivity_max_error": "largest gap between score and sum of contributions",
    "decisions_with_reason_against_guidance": "decisions with a reason against guidance",
    "reasons_against_guidance": "reasons against guidance",
    "reasons_against_guidance_share": "share of reasons against guidance",
    "margin_scale": "scale of the contributions",
    "reference": "compared with",
    "rows": "referrals explained",
    # explanations/fidelity.json
    "ceiling_factors_seen": "hidden factors the best model saw",
    "ceiling_raised_all": "best possible (all drivers)",
    "ceiling_raised_observable": "best possible (recordable drivers)",
    "n_decisions": "decisions",
    "raised_all": "raising reasons that are true drivers",
    "raised_observable": "the same, recordable drivers only",
    "spearman": "rank agreement (Spearman)",
    "top_k": "reasons per decision",
    "top_k_exact": "top reasons exactly the true ones",
    "top_k_overlap": "top reasons among the true ones",
    # explanations/stability.json
    "kendall_tau_mean": "agreement of the reason order across refits (mean Kendall's tau)",
    "kendall_tau_min": "agreement of the reason order across refits (lowest)",
    "n_boot": "refits on resampled data",
    "n_rows": "referrals compared",
    "top_k_always_same": "decisions whose top reasons never change",
    "top_k_same_mean": "top reasons the same across refits (mean share)",
    # patterns.json / policy.json
    **{f"{c}_flag_rate": f"control flagged: {CONTROL_WORDS[c]}" for c in CONTROLS},
    **{f"{p}_recall": f"{p.capitalize()}-pattern recall" for p in SEED_PATTERNS},
    **{
        f"{p}_reasons_name_pattern": f"{p.capitalize()} pattern named in the reasons"
        for p in SEED_PATTERNS
    },
    "auprc_margin": "AUPRC (margin)",
    "n_inputs": "inputs",
    "practice_features": "practice's own records as inputs",
    # labels
    "warrants_escalation": "the truth (warrants escalation)",
    "cp_plan_12m": "child protection plan within 12 months",
    "rereferral_12m": "referred again within 12 months",
    "removal_12m": "taken into care within 12 months",
    "harm_12m_observed": "harm within 12 months, as things happened",
    "harm_12m_no_action": "harm within 12 months had nothing been done",
    # code values shown as cell text
    "clean_record": "a referral with a clean record",
    "points": "checklist points",
    "deprivation_quintile": "deprivation quintile",
    "local_authority": "local authority",
    "flag_rate": "flagged",
    "tpr": "warranted: flagged (TPR)",
    "fpr": "not warranted: flagged (FPR)",
    "fnr": "warranted: missed (FNR)",
}

#: keys whose values are counts (shown without decimals)
COUNT_KEYS = frozenset(
    {
        "ceiling_factors_seen",
        "decisions_with_reason_against_guidance",
        "n_decisions",
        "n_boot",
        "n_inputs",
        "n_rows",
        "reasons_against_guidance",
        "rows",
        "top_k",
    }
)


def plain(name: Any) -> str:
    """A key, family, scenario or code value in words (underscores become spaces otherwise).

    Parameters
    ----------
    name
        What a stage wrote.

    Returns
    -------
    str
    """
    key = str(name)
    if key in KEY_TEXT:
        return KEY_TEXT[key]
    if key in FAMILY_LABELS:
        return FAMILY_LABELS[key]
    if key in ESTIMAND_TEXT:
        return ESTIMAND_TEXT[key][0]
    if key in SCENARIO_TEXT:
        return SCENARIO_TEXT[key]
    return key.replace("_", " ")


def sentence_case(text: str) -> str:
    """``text`` with its first letter upper-case."""
    return text[:1].upper() + text[1:]


def price_sentence(price: dict[str, Any]) -> str:
    """The summary's sentence on the price of interpretability, saying which model is better.

    Parameters
    ----------
    price
        ``metrics.json``'s ``price_of_interpretability``: ``metric``, ``family`` (the best
        interpretable family), ``gbm_minus_family`` and its interval ``lo``, ``hi``.

    Returns
    -------
    str
        Which model ranks better, by how much, and whether the interval rules out no
        difference.
    """
    d, lo, hi = price.get("gbm_minus_family"), price.get("lo"), price.get("hi")
    metric = str(price.get("metric", "")).upper()
    fam = f"the best interpretable model, {plain(price.get('family', ''))}"
    if not isinstance(d, int | float):
        return "The price of interpretability was not computed."
    ends = (lo, hi) if isinstance(lo, int | float) and isinstance(hi, int | float) else None
    gap = f"{abs(float(d)):.3f}"
    if ends:
        gap += f" (interval of the black box minus the other: {ends[0]:.3f} to {ends[1]:.3f})"
    if ends and ends[0] <= 0 <= ends[1]:
        return (
            f"The black-box reference model and {fam}, rank about equally well: their {metric} "
            f"differs by {gap}, an interval that covers zero. This run shows no measurable price "
            "for a model whose reasons can be read."
        )
    if float(d) > 0:
        return (
            f"The black-box reference model ranks better than {fam}: its {metric} is higher by "
            f"{gap}. That is the price of choosing a model whose reasons can be read."
        )
    return (
        f"{sentence_case(fam)}, ranks better than the black-box reference model: its {metric} "
        f"is higher by {gap}. Here a model whose reasons can be read costs nothing."
    )
