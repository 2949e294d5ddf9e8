"""Exact additive contributions of every model family, as :class:`shap.Explanation` objects.

Every family is explained on the scale it ranks on: the **uncalibrated margin**
(:meth:`secondlook.models.ModelFamily.decision_function`) -- log-odds for ``logreg``, ``tree``, ``ebm`` and
``gbm``, checklist points for ``rules``. For each row, ``base_values + values.sum(1)`` equals the
margin to within :data:`ADDITIVITY_TOL`; :func:`explain_model` checks this on every call and
raises :class:`AdditivityError` otherwise. Calibration (isotonic or sigmoid, fitted on the
validation split) is a monotone map applied *after* the sum: it changes the probability shown to
a reviewer but not which referrals rank higher nor which contributions pushed a case up.

How each family is decomposed (all exact, none sampled):

``logreg``
    The closed form of :class:`shap.LinearExplainer` with the training mean as background:
    ``coef_j / scale_j * (x_j - mean_j)``; the base value is the intercept (the margin at the
    training mean).
``tree``
    Path-dependent TreeSHAP (:class:`shap.TreeExplainer`) on a copy of the tree whose leaf
    values are the model's clipped leaf **log-odds** (what :meth:`TreeModel.decision_function` returns), not
    the class probabilities scikit-learn stores; the base value is the training-weighted mean leaf
    log-odds.
``gbm``
    :class:`shap.TreeExplainer` on the HistGradientBoosting model in its default
    ``tree_path_dependent`` mode, raw log-odds output (the model has no native categorical splits;
    interventional mode would be inexact).
``ebm``
    The EBM's own term contributions (``eval_terms``); a pairwise term's contribution is split
    equally between its two features; the base value is the EBM's intercept.
``rules``
    The points of each checklist item that holds; the item "physical-injury concern about a baby
    not yet mobile" reads two features and its points are split equally between them. The base
    value is 0 points (a referral that meets no item).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from secondlook.models import (
    CalibratedModel,
    EBMModel,
    GBMModel,
    LogRegModel,
    ModelFamily,
    RulesModel,
    TreeModel,
    as_inputs,
)
from secondlook.models.rules import ITEM_COLUMNS
from secondlook.models.trees import LEAF_CLIP

if TYPE_CHECKING:  # shap (and matplotlib with it) is imported where it is used: batch scoring
    import shap  # of logreg, ebm and rules never needs it, and it costs seconds per process

__all__ = [
    "ADDITIVITY_TOL",
    "RULE_ITEM_FEATURES",
    "AdditivityError",
    "Contributions",
    "additivity_error",
    "contributions",
    "explain_model",
    "family_of",
    "margin_scale",
]

#: the largest allowed |base + sum of contributions - margin| on any row
ADDITIVITY_TOL = 1e-6

#: the feature(s) each checklist item of the ``rules`` family reads; points are split equally
RULE_ITEM_FEATURES: dict[str, tuple[str, ...]] = ITEM_COLUMNS

Array = npt.NDArray[np.float64]


class AdditivityError(AssertionError):
    """Contributions plus base value do not reproduce the model's margin."""


def family_of(model: ModelFamily | CalibratedModel) -> ModelFamily:
    """The fitted family inside ``model`` (a :class:`CalibratedModel` or the family itself).

    Raises
    ------
    TypeError
        If ``model`` is neither.
    """
    if isinstance(model, CalibratedModel):
        model = model.family
    if not isinstance(model, ModelFamily):
        raise TypeError(f"cannot explain a {type(model).__name__}; expected a ModelFamily")
    if not hasattr(model, "inputs_"):
        raise ValueError(f"the {model.name} model is not fitted")
    return model


def margin_scale(model: ModelFamily | CalibratedModel) -> str:
    """The unit the explanation of ``model`` is in: ``"log-odds"`` or ``"points"``."""
    return family_of(model).margin_scale


# -- per family --------------------------------------------------------------------------------


def _logreg(model: LogRegModel, F: pd.DataFrame) -> tuple[Array, Array]:
    scaler = model.pipeline_.named_steps["scale"]
    lr = model.pipeline_.named_steps["logreg"]
    per_unit = lr.coef_[0] / scaler.scale_
    values = (F.to_numpy() - scaler.mean_) * per_unit
    base = np.full(len(F), float(lr.intercept_[0]))
    return values, base


# TreeExplainers are costly to build for boosted models; batch scoring calls explain_model on
# many chunks with the same fitted model, so keep one explainer per live estimator.
_EXPLAINERS: weakref.WeakKeyDictionary[Any, shap.TreeExplainer] = weakref.WeakKeyDictionary()


def _tree_log_odds_explainer(model: TreeModel) -> shap.TreeExplainer:
    import shap

    est = model.tree_
    if est not in _EXPLAINERS:
        t = est.tree_
        counts = t.value[:, 0, :]
        frac = counts[:, 1] / counts.sum(axis=1)
        p = np.clip(frac, LEAF_CLIP, 1 - LEAF_CLIP)
        log_odds = np.log(p) - np.log1p(-p)
        spec = {
            "children_left": t.children_left.astype(np.int32),
            "children_right": t.children_right.astype(np.int32),
            # inputs are validated finite, so the missing-value branch is never taken
            "children_default": t.children_left.astype(np.int32),
            "features": t.feature.astype(np.int32),
            "thresholds": t.threshold.astype(np.float64),
            "values": log_odds.reshape(-1, 1),
            "node_sample_weight": t.weighted_n_node_samples.astype(np.float64),
        }
        _EXPLAINERS[est] = shap.TreeExplainer({"trees": [spec]})
    return _EXPLAINERS[est]


def _tree(model: TreeModel, F: pd.DataFrame) -> tuple[Array, Array]:
    explainer = _tree_log_odds_explainer(model)
    values = np.asarray(explainer.shap_values(F.to_numpy()), dtype=np.float64)
    base = np.full(len(F), float(np.ravel(explainer.expected_value)[0]))
    return values, base


def _gbm(model: GBMModel, F: pd.DataFrame) -> tuple[Array, Array]:
    import shap

    est = model.gbm_
    if est not in _EXPLAINERS:
        _EXPLAINERS[est] = shap.TreeExplainer(est)  # tree_path_dependent, raw log-odds
    explainer = _EXPLAINERS[est]
    values = np.asarray(explainer.shap_values(F, check_additivity=False), dtype=np.float64)
    base = np.full(len(F), float(np.ravel(explainer.expected_value)[0]))
    return values, base


def _ebm(model: EBMModel, F: pd.DataFrame) -> tuple[Array, Array]:
    ebm = model.ebm_
    terms = np.asarray(ebm.eval_terms(F), dtype=np.float64)
    values = np.zeros((len(F), F.shape[1]))
    for t, features in enumerate(ebm.term_features_):
        share = terms[:, t] / len(features)  # a pair's share is split equally
        for j in features:
            values[:, j] += share
    base = np.full(len(F), float(np.ravel(ebm.intercept_)[0]))
    return values, base


def _rules(model: RulesModel, F: pd.DataFrame) -> tuple[Array, Array]:
    points = model.contributions(F)
    index = {name: j for j, name in enumerate(F.columns)}
    values = np.zeros((len(F), F.shape[1]))
    for item, features in RULE_ITEM_FEATURES.items():
        if not model.points_.get(item, 0):
            continue  # an item left out of the checklist reads no column
        share = points[item].to_numpy(dtype=np.float64) / len(features)
        for name in features:
            values[:, index[name]] += share
    return values, np.zeros(len(F))


_DISPATCH: dict[type[ModelFamily], Any] = {
    LogRegModel: _logreg,
    TreeModel: _tree,
    GBMModel: _gbm,
    EBMModel: _ebm,
    RulesModel: _rules,
}


def additivity_error(explanation: shap.Explanation | Contributions, margin: npt.ArrayLike) -> float:
    """The largest |base + sum of contributions - margin| over the rows.

    Parameters
    ----------
    explanation
        Shape (n_rows, n_features).
    margin
        The model's margin, shape (n_rows,).

    Returns
    -------
    float
        0.0 for zero rows.
    """
    m = np.asarray(margin, dtype=np.float64)
    if m.size == 0:
        return 0.0
    total = np.asarray(explanation.base_values) + np.asarray(explanation.values).sum(axis=1)
    return float(np.max(np.abs(total - m)))


@dataclass(frozen=True)
class Contributions:
    """Exact contributions as plain arrays: what :func:`explain_model` wraps in a
    ``shap.Explanation`` (the same attributes), without importing shap.

    Attributes
    ----------
    values
        Shape (n_rows, n_inputs), margin units.
    base_values
        Shape (n_rows,).
    data
        The inputs as float64, shape (n_rows, n_inputs).
    feature_names
        The model's inputs, in order.
    """

    values: Array
    base_values: Array
    data: Array
    feature_names: list[str]


def contributions(
    model: ModelFamily | CalibratedModel,
    X: pd.DataFrame,
    *,
    check_additivity: bool = True,
    reference: pd.Series | None = None,
    margin: npt.ArrayLike | None = None,
) -> Contributions:
    """:func:`explain_model` as plain arrays (batch scoring reads them without shap).

    Parameters, errors and values are those of :func:`explain_model`; ``margin``, shape
    (n_rows,), is the model's margin of ``X`` when the caller has it already (the additivity
    check then compares with it instead of computing it again).
    """
    family = family_of(model)
    F = as_inputs(X, list(family.inputs_))
    handler = next((h for cls, h in _DISPATCH.items() if isinstance(family, cls)), None)
    if handler is None:
        raise TypeError(f"no exact explainer for the {type(family).__name__} family")
    if len(F) == 0:
        values, base = np.zeros((0, F.shape[1])), np.zeros(0)
    elif reference is not None:
        from secondlook.explain.baseline import baseline_explanation

        values, ref_margin = baseline_explanation(family, F, reference)
        base = np.full(len(F), ref_margin)
    else:
        values, base = handler(family, F)
    out = Contributions(
        values=np.ascontiguousarray(values, dtype=np.float64),
        base_values=np.asarray(base, dtype=np.float64),
        data=F.to_numpy(dtype=np.float64),
        feature_names=list(family.inputs_),
    )
    if check_additivity and len(F):
        err = additivity_error(out, family.decision_function(F) if margin is None else margin)
        if not err <= ADDITIVITY_TOL:
            raise AdditivityError(
                f"{family.name}: base + contributions differ from the margin by {err:.3g} "
                f"(> {ADDITIVITY_TOL:g})"
            )
    return out


def explain_model(
    model: ModelFamily | CalibratedModel,
    X: pd.DataFrame,
    *,
    check_additivity: bool = True,
    reference: pd.Series | None = None,
) -> shap.Explanation:
    """Exact additive contributions of ``model``'s margin for every row of ``X``.

    Parameters
    ----------
    model
        A fitted family or the :class:`CalibratedModel` saved in ``models/<family>``.
    X
        A feature table holding at least the model's inputs, shape (n_rows, ...).
    check_additivity
        Recompute the margin and raise :class:`AdditivityError` if any row is off by more than
        :data:`ADDITIVITY_TOL`. Default True.
    reference
        One value per input: measure contributions against this referral (exact baseline
        Shapley values, :mod:`secondlook.explain.baseline`; the base value is the margin of the
        reference). ``None`` (default): against the training mean as described above.

    Returns
    -------
    shap.Explanation
        ``values`` shape (n_rows, n_inputs) in margin units (log-odds, or points for ``rules``);
        ``base_values`` shape (n_rows,); ``data`` the inputs as float64; ``feature_names`` the
        model's inputs in order. ``base_values + values.sum(1)`` is the margin.

    Raises
    ------
    secondlook.models.ModelInputError
        If an input column is missing or not numeric and finite.
    AdditivityError
        If the decomposition does not reproduce the margin.
    """
    import shap

    c = contributions(model, X, check_additivity=check_additivity, reference=reference)
    return shap.Explanation(
        values=c.values,
        base_values=c.base_values,
        data=c.data,
        feature_names=c.feature_names,
    )
