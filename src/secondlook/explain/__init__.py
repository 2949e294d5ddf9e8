"""Additive contributions, plain-language reasons, fidelity against ground truth, stability.

- :func:`explain_model` -- exact contributions of any family's margin as a ``shap.Explanation``;
- :func:`top_reasons` -- the top contributions of each decision as catalogue sentences;
- :func:`factor_contributions` -- contributions summed by the hidden factor they are evidence of;
- :func:`fidelity`, :func:`stability` -- checks against the truth and under retraining;
- :func:`build_case_review`, :func:`render_case_review` -- the case review packs;
- :func:`run_explain` -- the ``explain`` stage.
"""

from __future__ import annotations

from secondlook.explain.contributions import (
    ADDITIVITY_TOL,
    AdditivityError,
    additivity_error,
    explain_model,
    margin_scale,
)
from secondlook.explain.fidelity import fidelity
from secondlook.explain.packs import CaseReview, build_case_review, render_case_review
from secondlook.explain.reasons import (
    FACTOR_WORDS,
    factor_contributions,
    reason_sentence,
    top_reasons,
)
from secondlook.explain.stability import global_importance, stability
from secondlook.explain.stage import explain_split, run_explain

__all__ = [
    "ADDITIVITY_TOL",
    "FACTOR_WORDS",
    "AdditivityError",
    "CaseReview",
    "additivity_error",
    "build_case_review",
    "explain_model",
    "explain_split",
    "factor_contributions",
    "fidelity",
    "global_importance",
    "margin_scale",
    "reason_sentence",
    "render_case_review",
    "run_explain",
    "stability",
    "top_reasons",
]
