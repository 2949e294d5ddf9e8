"""Additive contributions, plain-language reasons, fidelity against ground truth, stability.

- :func:`explain_model` -- exact contributions of any family's margin as a ``shap.Explanation``;
- :func:`top_reasons` -- the top contributions of each decision as catalogue sentences;
- :func:`factor_contributions` -- contributions summed by the hidden factor they are evidence of;
- :func:`fidelity`, :func:`stability` -- checks against the truth and under retraining;
- :func:`build_case_review`, :func:`render_case_review` -- the case review packs;
- :func:`run_explain` -- the ``explain`` stage.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# functions named as their modules are bound eagerly: importing the module ``fidelity`` would
# otherwise leave the package attribute ``fidelity`` pointing at the module, not the function
from secondlook.explain.fidelity import fidelity
from secondlook.explain.stability import global_importance, stability

if TYPE_CHECKING:
    from secondlook.explain.contributions import (
        ADDITIVITY_TOL,
        AdditivityError,
        additivity_error,
        explain_model,
        margin_scale,
    )
    from secondlook.explain.packs import CaseReview, build_case_review, render_case_review
    from secondlook.explain.reasons import (
        FACTOR_WORDS,
        factor_contributions,
        reason_sentence,
        top_reasons,
    )
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

#: where each name lives: the package imports a module when a name of it is first used, so
#: that ``secondlook.explain.scoring`` (batch scoring) runs without shap, jinja2 and matplotlib
_WHERE: dict[str, str] = {
    "ADDITIVITY_TOL": "secondlook.explain.contributions",
    "AdditivityError": "secondlook.explain.contributions",
    "additivity_error": "secondlook.explain.contributions",
    "explain_model": "secondlook.explain.contributions",
    "margin_scale": "secondlook.explain.contributions",
    "CaseReview": "secondlook.explain.packs",
    "build_case_review": "secondlook.explain.packs",
    "render_case_review": "secondlook.explain.packs",
    "FACTOR_WORDS": "secondlook.explain.reasons",
    "factor_contributions": "secondlook.explain.reasons",
    "reason_sentence": "secondlook.explain.reasons",
    "top_reasons": "secondlook.explain.reasons",
    "explain_split": "secondlook.explain.stage",
    "run_explain": "secondlook.explain.stage",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
