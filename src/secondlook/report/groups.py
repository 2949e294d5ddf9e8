"""Plain words for what the fairness outputs name by code: labels, groups, measures.

The fairness stage writes column values (``disability`` ``True``, ``cp_plan_12m``,
``flag_rate``); the panel reads "disabled", "a child protection plan within 12 months", "share
flagged". :func:`label_bias_table` turns the label-bias study's records into a table whose
columns multiply out: the ratio with the truth in a world without the planted biases, times the
factor the planted world adds, times the factor the proxy label adds, gives the ratio the proxy
shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from secondlook.report.fmt import finite
from secondlook.report.headlines import ATTRIBUTE_WORDS, PROXY_WORDS
from secondlook.report.model import Table

__all__ = ["LABEL_NAMES", "MEASURE_NAMES", "group_label", "label_bias_table", "label_name"]

#: every label's short plain name
LABEL_NAMES = {
    "warrants_escalation": "the truth (the referral warranted escalation)",
    "harm_12m_no_action": "harm within 12 months had nothing been done",
    "harm_12m_observed": "harm within 12 months, as it happened",
    **PROXY_WORDS,
}

#: by-group measures, short (table cells)
MEASURE_NAMES = {
    "flag_rate": "share flagged",
    "tpr": "warranted: flagged (TPR)",
    "fpr": "not warranted: flagged (FPR)",
    "fnr": "warranted: missed (FNR)",
    "ppv": "flags warranted (PPV)",
}

_TRUE = ("True", "true", "1", "1.0")


def label_name(label: str) -> str:
    """A label's plain name (the code name itself when unknown)."""
    return LABEL_NAMES.get(label, label.replace("_", " "))


def group_label(attribute: str, group: Any) -> str:
    """A group as a table shows it: ``disabled``, ``female``, ``quintile 5``, ``LA04``."""
    g = str(group)
    if attribute == "disability":
        return "disabled" if g in _TRUE else "not disabled"
    if attribute == "sex":
        return {"F": "female", "M": "male"}.get(g, g)
    if attribute == "deprivation_quintile":
        return f"quintile {g}"
    return g


def _factor(log_value: Any) -> str:
    return f"× {math.exp(float(log_value)):.2f}" if finite(log_value) else "not computed"


def _ratio(x: Any) -> str:
    return f"{float(x):.2f}" if finite(x) else "not computed"


def label_bias_table(records: list[Mapping[str, Any]], suppressed: str) -> Table | None:
    """The label-bias study as a table in words (None when there are no records).

    Parameters
    ----------
    records
        The fairness stage's ``label_bias`` list: ``attribute``, ``group``, ``metric``,
        ``proxy``, ``ratio_truth_without_bias``, ``from_world``, ``ratio_truth_as_generated``,
        ``from_label``, ``ratio_proxy_as_generated`` (the ``from_*`` on the log scale).
    suppressed
        The text of a cell with too few decisions.
    """
    rows = []
    for r in records:
        if not isinstance(r, Mapping):
            continue
        attribute = str(r.get("attribute", ""))
        rows.append(
            (
                f"deprivation quintile {r.get('group')}"
                if attribute == "deprivation_quintile"
                else f"{ATTRIBUTE_WORDS.get(attribute, attribute.replace('_', ' '))}: "
                + group_label(attribute, r.get("group")),
                MEASURE_NAMES.get(str(r.get("metric")), str(r.get("metric"))),
                PROXY_WORDS.get(str(r.get("proxy")), str(r.get("proxy"))),
                _ratio(r.get("ratio_truth_without_bias")),
                _factor(r.get("from_world")),
                _ratio(r.get("ratio_truth_as_generated")),
                _factor(r.get("from_label")),
                _ratio(r.get("ratio_proxy_as_generated")),
            )
        )
    if not rows:
        return None
    return Table(
        caption="Label-bias study: where each disparity a proxy label shows comes from",
        columns=(
            "group",
            "measure",
            "proxy label",
            "ratio with the truth, no planted bias",
            "planted world biases",
            "ratio with the truth",
            "the proxy label",
            "ratio with the proxy",
        ),
        rows=tuple(rows),
        note="Each ratio compares the group with the reference group of the same attribute. "
        "Read a row left to right: the ratio in a world without the planted biases, times what "
        "the planted biases (surveillance, disproportionality) add, gives the ratio with the "
        "truth; times what training and measuring on the proxy label adds, gives the ratio the "
        f"proxy shows. A factor of × 1.00 means no change. Cells with too few decisions: {suppressed}.",
    )
