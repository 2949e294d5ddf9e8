"""Exact additivity for every family, and agreement with SHAP's own explainers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from numpy.testing import assert_allclose

from secondlook.explain import ADDITIVITY_TOL, explain_model, margin_scale
from secondlook.models import CalibratedModel, ModelInputError, TreeModel
from tests.explain.conftest import FAMILIES


@pytest.mark.parametrize("family", FAMILIES)
def test_contributions_add_up_to_the_margin(toy, toy_models, family) -> None:
    model = toy_models[family]
    X = toy["test"]
    expl = explain_model(model, X)
    assert expl.values.shape == (len(X), len(model.inputs))
    assert list(expl.feature_names) == model.inputs
    total = expl.base_values + expl.values.sum(axis=1)
    assert_allclose(total, model.decision_function(X), rtol=0, atol=ADDITIVITY_TOL)
    # the family alone gives the same explanation as the calibrated wrapper
    assert_allclose(explain_model(model.family, X).values, expl.values)


def test_scales(toy_models) -> None:
    assert margin_scale(toy_models["rules"]) == "points"
    assert all(margin_scale(toy_models[f]) == "log-odds" for f in FAMILIES if f != "rules")


def test_logreg_equals_linear_explainer(toy, toy_models) -> None:
    model = toy_models["logreg"].family
    pipe = model.pipeline_
    X = toy["test"][model.inputs_]
    Z = pipe.named_steps["scale"].transform(X)
    bg = pipe.named_steps["scale"].transform(toy["train"][model.inputs_])
    # background at the training mean (0 after scaling): SHAP's linear values are coef * z
    ref = shap.LinearExplainer(pipe.named_steps["logreg"], np.zeros((1, bg.shape[1])))
    assert_allclose(explain_model(model, X).values, ref.shap_values(Z), atol=1e-10)


def test_gbm_equals_tree_explainer(toy, toy_models) -> None:
    model = toy_models["gbm"].family
    X = toy["test"][model.inputs_].astype(float)
    ref = shap.TreeExplainer(model.gbm_).shap_values(X)
    assert_allclose(explain_model(model, X).values, ref, atol=1e-10)


def test_tree_is_explained_in_log_odds_not_probability(toy, toy_models) -> None:
    model = toy_models["tree"]
    X = toy["test"]
    expl = explain_model(model, X)
    p = model.family.tree_.predict_proba(X[model.inputs].astype(float))[:, 1]
    # the sum is the leaf log-odds, well outside [0, 1] for most rows
    assert (np.abs(expl.base_values + expl.values.sum(1)) > 1).mean() > 0.5
    assert not np.allclose(expl.base_values + expl.values.sum(1), p)


def test_tree_stump_matches_hand_computation() -> None:
    # one split on x0: every contribution belongs to x0 and equals leaf - weighted mean
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"x0": rng.integers(0, 2, 400), "x1": rng.normal(size=400)})
    y = (X["x0"].to_numpy() == 1) & (rng.random(400) < 0.8) | (rng.random(400) < 0.1)
    model = TreeModel(max_depth=1, min_samples_leaf=10).fit(X, y)
    expl = explain_model(model, X)
    margin = model.decision_function(X)
    share = X["x0"].mean()
    expected_base = share * margin[X["x0"] == 1][0] + (1 - share) * margin[X["x0"] == 0][0]
    assert_allclose(expl.base_values, expected_base, atol=1e-9)
    assert_allclose(expl.values[:, 1], 0.0, atol=1e-12)
    assert_allclose(expl.values[:, 0], margin - expected_base, atol=1e-9)


def test_ebm_pairs_are_split_equally(toy, toy_models) -> None:
    model = toy_models["ebm"].family
    X = toy["test"][model.inputs_]
    terms = model.ebm_.eval_terms(X)
    pairs = [t for t, f in enumerate(model.ebm_.term_features_) if len(f) == 2]
    assert pairs, "the fast EBM settings ask for interaction terms"
    expl = explain_model(model, X)
    # zeroing one pair's term reduces each of its features' contributions by half of it
    t = pairs[0]
    a, b = model.ebm_.term_features_[t]
    mains = {f[0]: i for i, f in enumerate(model.ebm_.term_features_) if len(f) == 1}
    other_pairs_a = sum(
        terms[:, u] / 2 for u in pairs if u != t and a in model.ebm_.term_features_[u]
    )
    assert_allclose(expl.values[:, a], terms[:, mains[a]] + terms[:, t] / 2 + other_pairs_a)
    assert b != a


def test_rules_contributions_are_the_points(toy, toy_models) -> None:
    model: CalibratedModel = toy_models["rules"]
    X = toy["test"]
    expl = explain_model(model, X)
    assert_allclose(expl.base_values, 0.0)
    names = list(expl.feature_names)
    held = X["bruising_non_mobile"].to_numpy() > 0
    assert_allclose(expl.values[held, names.index("bruising_non_mobile")], 5.0)
    assert_allclose(expl.values[~held, names.index("bruising_non_mobile")], 0.0)
    both = (X["concern_physical_injury"] == 1) & (X["not_yet_mobile"] == 1)
    assert_allclose(expl.values[both.to_numpy(), names.index("not_yet_mobile")], 1.5)


def test_missing_column_is_named(toy, toy_models) -> None:
    with pytest.raises(ModelInputError, match="signal_continuous"):
        explain_model(toy_models["logreg"], toy["test"].drop(columns="signal_continuous"))


def test_unfitted_and_foreign_models_are_refused(toy) -> None:
    with pytest.raises(ValueError, match="not fitted"):
        explain_model(TreeModel(), toy["test"])
    with pytest.raises(TypeError, match="ModelFamily"):
        explain_model(object(), toy["test"])  # type: ignore[arg-type]


def test_zero_rows(toy, toy_models) -> None:
    expl = explain_model(toy_models["gbm"], toy["test"].iloc[:0])
    assert expl.values.shape == (0, len(toy_models["gbm"].inputs))
