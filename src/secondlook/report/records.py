"""The report on real records (``data.source: cohort``): what is measured, what cannot be.

A self-contained addition to the ethics-panel report. When ``data/raw/summary.json`` says the
records are an imported cohort, :func:`records_notice` writes the panel a notice, placed before
the summary: where the records came from, which label every figure is measured against (one the
service can observe, never the truth), and each analysis that needs the ground truth and is
therefore not available, with why. :func:`outcome_words` lets sentences written for the truth
say what the observed label is instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from secondlook.params import NO_GROUND_TRUTH

__all__ = ["NOT_AVAILABLE", "READ_AS", "Records", "outcome_words", "records_notice"]

#: each analysis that needs the ground truth, and why, in the words the panel reads
NOT_AVAILABLE: dict[str, str] = {
    "Fidelity of the reasons": "whether a model's reasons name what really drove a child's "
    "risk needs to know what really drove it; only the simulation knows that",
    "The label-bias study": "how far each recorded label departs from the truth, by group, "
    "needs the truth and a second world without the planted biases",
    "The seed patterns and the policy comparison": "their verdicts are scored against the "
    "simulated risk of invented cases, not against these records",
    "The value of linked records (views)": "it compares views against the truth on one "
    "simulated world; on real records each view's model can only be judged by the observed label",
    "The calibration of the world against published figures": "these records are not an "
    "invented world: there is nothing to calibrate",
    "The seed cases": "they are invented households placed in the simulated world; real "
    "records hold none",
}
#: how to read the sections written for the simulated world, on real records
READ_AS: tuple[str, ...] = (
    "Sections 3 and 4 describe the simulator this pipeline was built on, not these records; "
    "the truth's rows in section 4 have no figures here.",
    "Wherever a section says a referral \u201cwarranted\u201d escalation, read: it was followed "
    "by the observed outcome named above. Section 8 compares the models with practice against "
    "that outcome; practice's own enquiries lead to the plans that follow, so practice's recall "
    "there is high by construction and says nothing about the children it missed.",
    "Case review packs are sampled by the observed outcome and show no truth panel.",
)

_FOLLOWED = {
    "cp_plan_12m": "a child protection plan",
    "rereferral_12m": "another referral",
    "removal_12m": "a removal into care",
}


@dataclasses.dataclass(frozen=True)
class Records:
    """The notice on real records.

    Attributes
    ----------
    available
        True when the report was built from an imported cohort (then the notice is shown).
    intro
        Where the records came from and how many there are.
    measured
        What every figure in the report is measured against.
    not_available
        (analysis, why) for each analysis that needs the ground truth.
    read_as
        How to read the sections written for the simulated world.
    ground_truth
        :data:`secondlook.params.NO_GROUND_TRUTH`.
    """

    available: bool = False
    intro: str = ""
    measured: str = ""
    not_available: tuple[tuple[str, str], ...] = ()
    read_as: tuple[str, ...] = ()
    ground_truth: str = NO_GROUND_TRUTH


def outcome_words(label: str) -> tuple[str, str]:
    """How the report names a positive decision under ``label``.

    Returns
    -------
    those, flags
        ``those`` completes "ranks those that ..." and "reaches X of those that ...";
        ``flags`` completes "Y of its flags ...". For the truth: "warranted escalation" and
        "warranted it"; for an observed label: "were followed by <outcome> within 12 months".
    """
    if label not in _FOLLOWED:
        return "warranted escalation", "warranted it"
    what = _FOLLOWED[label]
    return (
        f"were followed by {what} within 12 months (recorded, not the truth)",
        f"were followed by {what}",
    )


def records_notice(summary: Mapping[str, Any] | None, metrics: Mapping[str, Any]) -> Records:
    """The notice for a report built on real records, or an unavailable one for a simulation.

    Parameters
    ----------
    summary
        ``data/raw/summary.json`` (an imported cohort's says ``source: cohort``), or None.
    metrics
        The evaluate stage's ``metrics.json`` (its ``label``).

    Returns
    -------
    Records
    """
    if not summary or summary.get("source") != "cohort":
        return Records()
    label = str(metrics.get("label") or "")
    fmt = summary.get("format") or "an imported cohort"
    intro = (
        f"This report was built from real records ({fmt}): {summary.get('n_people', 0):,} "
        f"children, {summary.get('n_events', 0):,} recorded events and "
        f"{summary.get('n_decisions', 0):,} referrals up to {summary.get('end', 'its end')}."
    )
    observed = ", ".join(summary.get("labels_observed") or []) or "none"
    missing = ", ".join(summary.get("labels_not_observable") or [])
    measured = (
        f"Every figure is measured against {label or 'an observed label'}: what the service "
        f"recorded afterwards, which follows its own decisions. Labels these records can give: "
        f"{observed}." + (f" Not recorded by this source: {missing}." if missing else "")
    )
    return Records(
        available=True,
        intro=intro,
        measured=measured,
        not_available=tuple(NOT_AVAILABLE.items()),
        read_as=READ_AS,
    )
