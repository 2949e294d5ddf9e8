"""Case review packs: one self-contained HTML page per decision, in plain words.

:class:`CaseReview` is the data model (what a page says); :func:`build_case_review` fills it
from one decision's row, its explanation and the household's events; :func:`render_case_review`
renders it with a Jinja2 template (autoescaped) into a page whose images are embedded as base64,
so the file can be read anywhere on its own. The true outcome appears only in a separate,
clearly marked "research only" panel.
"""

from __future__ import annotations

import dataclasses
from importlib.metadata import version
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import shap

from secondlook.explain.plots import (
    BASELINE_LABELS,
    png_base64,
    timeline_figure,
    waterfall_figure,
)
from secondlook.explain.reasons import (
    FACTOR_WORDS,
    against_guidance,
    factor_contributions,
    factor_presence,
    reason_sentence,
    top_reasons,
)
from secondlook.features import catalogue_version
from secondlook.schema import FACTORS

__all__ = [
    "CaseReview",
    "OUTCOME_SHORT",
    "OUTCOME_WORDS",
    "build_case_review",
    "case_events",
    "chance_text",
    "margin_text",
    "render_case_review",
]

#: practice's decision in plain words
OUTCOME_WORDS = {
    "nfa": "No further action: the referral was closed without an assessment.",
    "assessment": "A social work assessment of the child's needs (child in need, section 17), "
    "not a child protection enquiry.",
    "s47": "A child protection enquiry (section 47): the escalation this model looks for.",
}
#: practice's decision in a few words, as the packs' index lists it
OUTCOME_SHORT = {
    "nfa": "no further action",
    "assessment": "social work assessment (section 17)",
    "s47": "child protection enquiry (section 47)",
}
assert set(OUTCOME_SHORT) == set(OUTCOME_WORDS), "every outcome needs its short words"


@dataclasses.dataclass
class CaseReview:
    """What one case review page says. Every text field is plain language for a reviewer.

    Attributes
    ----------
    decision_id, decision_date
        The decision (referral) reviewed and its date (ISO).
    child_text, source, concern
        Who the referral is about, who made it, its concern, in words.
    family, unit, scale_text
        The model whose reasons are shown, the unit of its contributions and a sentence saying
        which scale is explained and how calibration maps it to the probability.
    probability_text, threshold_text, capacity_text, flagged
        The calibrated chance (with its interval when the calibration gives one), the flag cut,
        the share flagged, and whether this case is flagged.
    reasons
        Top reasons (``feature``, ``value``, ``contribution``, ``sentence``).
    factors
        Contributions summed by hidden factor: ``words``, ``contribution``; non-zero only.
        Where nothing in the record is evidence of the factor, ``words`` says so ("no record
        of domestic abuse"): the contribution then comes from the absence.
    checklist
        The ``rules`` checklist items that hold for this case (empty if not computed).
    other_models
        Every family's ``family``, ``probability_text``, ``cut_text`` (its own flag cut) and
        ``flagged``.
    events
        The household's events before the decision: ``date``, ``about``, ``what``.
    timeline_png, waterfall_png
        Base64 PNG images.
    practice_text
        What practice decided, in words.
    research
        The truth panel (``true_risk``, ``warrants``, ``harm_observed``, ``drivers``) or None.
    sample_note
        E.g. that the decision was in the training split.
    reference_text
        One plain sentence saying what the reasons are measured against (None: the mean).
    margin_text
        When the chance's interval contains the cut: the sentence saying the flag is at the
        margin (:func:`margin_text`); otherwise None.
    """

    decision_id: str
    decision_date: str
    child_text: str
    source: str
    concern: str
    family: str
    unit: str
    scale_text: str
    probability_text: str
    threshold_text: str
    capacity_text: str
    flagged: bool
    reasons: list[dict[str, Any]]
    factors: list[dict[str, Any]]
    checklist: list[str]
    other_models: list[dict[str, Any]]
    events: list[dict[str, str]]
    timeline_png: str
    waterfall_png: str
    practice_text: str
    research: dict[str, Any] | None = None
    sample_note: str | None = None
    reference_text: str | None = None
    margin_text: str | None = None
    version: str = dataclasses.field(default_factory=lambda: version("secondlook"))
    catalogue_version: str = dataclasses.field(default_factory=catalogue_version)


#: event types and details whose code reads badly in words (the rest: underscores to spaces)
EVENT_WORDS = {
    "ed_attendance": "emergency department attendance",
    "s47_started": "child protection enquiry (section 47) started",
    "s47_concluded": "child protection enquiry (section 47) concluded",
    "icpc": "initial child protection conference",
    "cp_plan_started": "child protection plan started",
    "cp_plan_ended": "child protection plan ended",
    "police_domestic_incident": "police report of a domestic incident",
    "nfa": "no further action",
    "s47": "child protection enquiry (section 47)",
    "no_plan": "no plan",
}


def _words(x: Any) -> str:
    text = str(x)
    return EVENT_WORDS.get(text, text.replace("_", " "))


def _pct(p: float) -> str:
    if p < 0.01:
        return "under 1%"
    if p > 0.99:
        return "over 99%"
    return f"{100 * p:.0f}%"


def chance_text(p: float, low: float | None = None, high: float | None = None) -> str:
    """A chance in words with its interval, e.g. ``"31% (between 28% and 35%)"``.

    ``low`` and ``high`` are the calibration's interval (Venn-Abers); when missing or NaN the
    chance is given alone.
    """
    text = _pct(p)
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
        lo, hi = _pct(low), _pct(high)
        text += f" (between {lo} and {hi})" if lo != hi else f" (interval {lo})"
    return text


def margin_text(
    flagged: bool, threshold: float, low: float | None = None, high: float | None = None
) -> str | None:
    """The sentence for a referral whose chance interval contains the model's cut, or None.

    A referral whose interval runs across the cut is flagged or not by less than the
    calibration's own uncertainty: a reader should not take "not flagged" as a clear verdict.
    """
    if low is None or high is None or not (np.isfinite(low) and np.isfinite(high)):
        return None
    if not low <= threshold <= high:
        return None
    other = "left it unflagged" if flagged else "flagged it"
    return (
        f"The interval ({_pct(low)} to {_pct(high)}) contains this model's cut "
        f"({_pct(threshold)}): this referral lies at the margin, and a slightly different "
        f"calibration would have {other}."
    )


def case_events(
    events: pd.DataFrame,
    people: pd.DataFrame,
    household_id: str,
    person_id: str,
    decision_date: pd.Timestamp,
) -> pd.DataFrame:
    """The household's events dated before the decision, with who each is ``about``.

    Parameters
    ----------
    events, people
        The canonical tables.
    household_id, person_id, decision_date
        The decision's household, child and date.

    Returns
    -------
    pandas.DataFrame
        Columns ``date``, ``type``, ``detail``, ``about`` (``this child``, ``sibling`` or
        ``adult``), ``what`` (a short description), sorted by date.
    """
    ev = events[events["household_id"] == household_id]
    ev = ev[pd.to_datetime(ev["date"]) < decision_date].copy()
    roles = people.set_index("person_id")["role"]
    role = ev["person_id"].map(roles).fillna("child").astype(str)
    ev["about"] = np.where(
        ev["person_id"] == person_id, "this child", np.where(role == "child", "sibling", "adult")
    )
    detail = ev["detail"].astype("string").fillna("")
    ev["what"] = [
        f"{_words(t)}"
        + (f": {'; '.join(_words(x) for x in str(d).split(';'))}" if d else "")
        + f" (by {_words(s)})"
        for t, d, s in zip(ev["type"], detail, ev["source"], strict=True)
    ]
    ev["date"] = pd.to_datetime(ev["date"])
    return ev.sort_values("date", kind="stable")[["date", "type", "detail", "about", "what"]]


def build_case_review(
    row: pd.Series,
    explanation: shap.Explanation,
    *,
    family: str,
    unit: str,
    probability: float,
    flagged: bool,
    threshold: float,
    capacity: float,
    events: pd.DataFrame,
    probability_low: float | None = None,
    probability_high: float | None = None,
    top_k: int = 5,
    checklist: list[str] | None = None,
    other_models: list[dict[str, Any]] | None = None,
    truth: pd.Series | None = None,
    sample_note: str | None = None,
    reference_text: str | None = None,
    compare_to: pd.Series | None = None,
) -> CaseReview:
    """Fill a :class:`CaseReview` for one decision.

    Parameters
    ----------
    row
        The decision's feature-table row (``decision_id``, ``decision_date``, features,
        ``practice_outcome``).
    explanation
        The explanation of this one decision, shape (1, n_features).
    family, unit
        The family explained and its margin unit (``log-odds`` or ``points``).
    probability, flagged, threshold, capacity
        Calibrated probability, the flag, the cut as a probability, and the capacity share.
    events
        The household's events before the decision (see :func:`case_events`).
    probability_low, probability_high
        The calibration's interval around ``probability`` (None or NaN: none shown).
    top_k
        How many reasons to list. Default 5.
    checklist
        Checklist items that hold (from the ``rules`` family), in words.
    other_models
        Every family's score and flag for this decision.
    truth
        The decision's truth-table row (``true_risk_12m``, ``warrants_escalation``,
        ``harm_12m_observed``, ``driver_*``) for the research-only panel, or None.
    sample_note
        A note on which split the decision came from.
    reference_text
        The sentence saying what the reasons are measured against (the clean record).
    compare_to
        The reference's value of each input, to tell a reason that went against guidance.

    Returns
    -------
    CaseReview
    """
    reasons = top_reasons(explanation, top_k)[0]
    ref = {} if compare_to is None else {str(k): float(v) for k, v in compare_to.items()}
    for reason in reasons:
        reason["against_guidance"] = against_guidance(
            reason["feature"], reason["contribution"], reason["value"], ref.get(reason["feature"])
        )
    date = pd.Timestamp(row["decision_date"])
    ev_rows = [
        {"date": d.strftime("%Y-%m-%d"), "about": a, "what": w}
        for d, a, w in zip(events["date"], events["about"], events["what"], strict=True)
    ]
    baseline = BASELINE_LABELS["mean" if reference_text is None else "clean_record"]
    return CaseReview(
        decision_id=str(row["decision_id"]),
        decision_date=date.strftime("%Y-%m-%d"),
        child_text=f"about {_child_words(row)}",
        source=_flag_column_words(row, "source_", "an unrecorded source"),
        concern=_flag_column_words(row, "concern_", "an unrecorded concern"),
        family=family,
        unit=unit,
        scale_text=SCALE_TEXT["points" if unit == "points" else "log-odds"],
        probability_text=chance_text(probability, probability_low, probability_high),
        threshold_text=_pct(threshold),
        capacity_text=f"{100 * capacity:.0f}%",
        flagged=bool(flagged),
        reasons=reasons,
        factors=_factor_rows(explanation),
        checklist=list(checklist or []),
        other_models=list(other_models or []),
        reference_text=reference_text,
        margin_text=margin_text(flagged, threshold, probability_low, probability_high),
        events=ev_rows,
        timeline_png=png_base64(timeline_figure(events, date, title="Recorded events")),
        waterfall_png=_waterfall_png(explanation, top_k + 1, baseline),
        practice_text=OUTCOME_WORDS.get(str(row.get("practice_outcome")), "Not recorded."),
        research=None if truth is None else _research(truth),
        sample_note=sample_note,
    )


#: which scale the reasons are on, by the family's margin unit
SCALE_TEXT = {
    "points": (
        "This model adds checklist points; the reasons below are those points (its score "
        "units). A calibration fitted on earlier referrals turns the total into the chance "
        "shown."
    ),
    "log-odds": (
        "The reasons below are contributions to the model's score, in score units (the "
        "logarithm of the odds, before calibration): they add up exactly to the score, and "
        "one unit more multiplies the odds by about 2.7. A calibration fitted on earlier "
        "referrals turns the score into the chance shown without changing the order of cases; "
        "the interval beside the chance shows how much that calibration moves for a score like "
        "this one (narrow where many earlier referrals scored alike). It is not a margin of "
        "error for everything: on later referrals the share that warranted escalation can fall "
        "outside it (the report's calibration section says how often)."
    ),
}


def _factor_rows(explanation: shap.Explanation) -> list[dict[str, Any]]:
    """Contributions summed by hidden factor (non-zero only), an absence worded as one."""
    by_factor = {k: float(v) for k, v in factor_contributions(explanation).iloc[0].items()}
    present = factor_presence(explanation).iloc[0]
    return [
        {
            "words": FACTOR_WORDS[f] if present[f] else f"no record of {FACTOR_WORDS[f]}",
            "contribution": float(by_factor[f]),
        }
        for f in sorted(FACTORS, key=lambda f: -abs(by_factor[f]))
        if abs(by_factor[f]) >= 0.01
    ]


def _child_words(row: pd.Series) -> str:
    age = int(row.get("age_months", 0))
    if int(row.get("unborn", 0)):
        return "an unborn child"
    if age == 0:
        return "a baby under one month old"
    return f"a child aged {age} months" if age < 24 else f"a child aged {age // 12} years"


def _flag_column_words(row: pd.Series, prefix: str, none_text: str) -> str:
    """The first one-hot column ``prefix*`` set in ``row``, in words (e.g. the concern)."""
    return next(
        (_words(c.removeprefix(prefix)) for c in row.index if c.startswith(prefix) and row[c] == 1),
        none_text,
    )


def _research(truth: pd.Series) -> dict[str, Any]:
    drivers: list[dict[str, Any]] = [
        {"words": FACTOR_WORDS[f], "value": float(truth[f"driver_{f}"])}
        for f in FACTORS
        if f"driver_{f}" in truth and abs(float(truth[f"driver_{f}"])) >= 0.01
    ]
    drivers.sort(key=lambda d: -abs(float(d["value"])))
    return {
        "true_risk": _pct(float(truth["true_risk_12m"])),
        "warrants": "yes" if bool(truth["warrants_escalation"]) else "no",
        "harm_observed": "yes" if bool(truth["harm_12m_observed"]) else "no",
        "drivers": drivers,
    }


def _waterfall_png(explanation: shap.Explanation, max_display: int, baseline: str) -> str:
    labels = [
        reason_sentence(str(n), float(v), 1.0).rsplit(" — ", 1)[0]
        for n, v in zip(explanation.feature_names, np.asarray(explanation.data)[0], strict=True)
    ]
    return png_base64(
        waterfall_figure(explanation[0], max_display=max_display, labels=labels, baseline=baseline)
    )


_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("secondlook.explain", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def render_case_review(review: CaseReview) -> str:
    """Render a case review as a self-contained HTML page.

    Parameters
    ----------
    review
        The filled data model.

    Returns
    -------
    str
        The HTML (all images embedded; every text field escaped).
    """
    return _ENV.get_template("case_review.html.j2").render(r=review)
