"""secondlook.models.registry: each family recovers the planted signal; each margin is what its
docstring says."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from secondlook.models import FAMILIES, ModelInputError, make_family
from secondlook.models.linear import POINTS_TO_DOUBLE_ODDS, LogRegModel
from secondlook.models.trees import LEAF_CLIP

LABEL = "label_warrants_escalation"


@pytest.fixture(scope="module")
def fitted(world, inputs, cfg):
    return {
        name: make_family(name, cfg).fit(world["train"][inputs], world["train"][LABEL].to_numpy())
        for name in FAMILIES
    }


@pytest.mark.parametrize("family", list(FAMILIES))
def test_family_recovers_planted_signal(fitted, world, family):
    test = world["test"]
    auc = roc_auc_score(test[LABEL], fitted[family].decision_function(test))
    # the planted risk is a function of a handful of features; every family must rank well
    # (rules cannot see signal_continuous; a depth-4 tree has 16 leaves at most)
    floor = {"rules": 0.75, "tree": 0.85}.get(family, 0.93)
    assert auc > floor, f"{family} AUROC {auc:.3f}"


def test_learned_families_find_the_planted_features(fitted, inputs):
    coef = fitted["logreg"].coefficients()["coef_per_sd"]
    for planted in ("bruising_non_mobile", "sibling_ever_removed", "signal_continuous"):
        assert coef[planted] > 0.2, planted
    assert abs(coef["noise_continuous"]) < 0.5 * coef["signal_continuous"]
    ebm = {t["term"]: t["importance"] for t in fitted["ebm"].describe()["terms"]}
    assert ebm["signal_continuous"] > 3 * ebm["noise_continuous"]
    tree_text = fitted["tree"].describe()["text"]
    assert "signal_continuous" in tree_text or "referrals_12m" in tree_text


def test_margins_are_the_documented_log_odds(fitted, world):
    X = world["test"]
    lr = fitted["logreg"]
    assert_allclose(
        lr.decision_function(X), lr.pipeline_.decision_function(X[lr.inputs_].astype(float))
    )
    tree = fitted["tree"]
    p = np.clip(
        tree.tree_.predict_proba(X[tree.inputs_].astype(float))[:, 1], LEAF_CLIP, 1 - LEAF_CLIP
    )
    assert_allclose(tree.decision_function(X), np.log(p / (1 - p)))
    ebm = fitted["ebm"]
    Xe = X[ebm.inputs_].astype(float)
    terms = ebm.ebm_.eval_terms(Xe).sum(axis=1) + np.ravel(ebm.ebm_.intercept_)[0]
    assert_allclose(ebm.decision_function(X), terms, atol=1e-6)
    gbm = fitted["gbm"]
    assert_allclose(
        gbm.decision_function(X), gbm.gbm_.decision_function(X[gbm.inputs_].astype(float))
    )
    assert gbm.gbm_.is_categorical_ is None or not np.any(gbm.gbm_.is_categorical_)


def test_scorecard_points_track_the_margin(fitted, world):
    lr: LogRegModel = fitted["logreg"]
    card = lr.scorecard().set_index("input")["points_per_unit"]
    X = world["test"].head(200)
    points = card["(base)"] + sum(
        X[c].to_numpy(float) * card[c] for c in card.index if c != "(base)"
    )
    approx = points * np.log(2) / POINTS_TO_DOUBLE_ODDS
    # rounding each coefficient to whole points moves the total a little, never much
    assert np.corrcoef(approx, lr.decision_function(X))[0, 1] > 0.99


def test_describe_is_json_able(fitted):
    import json

    for name, model in fitted.items():
        d = json.loads(json.dumps(model.describe()))
        assert d["family"] == name
        assert d["inputs"] == list(model.inputs_)


def test_missing_input_is_named(fitted, world):
    X = world["test"].drop(columns=["signal_continuous"])
    with pytest.raises(ModelInputError, match="signal_continuous"):
        fitted["logreg"].decision_function(X)


def test_non_finite_input_is_named(world, inputs, cfg):
    X = world["train"][inputs].copy()
    X.loc[X.index[3], "referrals_12m"] = np.nan
    with pytest.raises(ModelInputError, match="referrals_12m"):
        make_family("logreg", cfg).fit(X, world["train"][LABEL].to_numpy())


def test_string_input_is_refused(world, inputs, cfg):
    X = world["train"][inputs].assign(signal_continuous="high")
    with pytest.raises(ModelInputError, match="signal_continuous.*numeric"):
        make_family("tree", cfg).fit(X, world["train"][LABEL].to_numpy())


def test_single_class_label_is_refused(world, inputs, cfg):
    y = np.zeros(len(world["train"]), dtype=int)
    with pytest.raises(ModelInputError, match="one class"):
        make_family("logreg", cfg).fit(world["train"][inputs], y)


def test_tree_deeper_than_four_is_refused(world, inputs):
    from secondlook.models import TreeModel

    with pytest.raises(ValueError, match="max_depth"):
        TreeModel(max_depth=5).fit(world["train"][inputs], world["train"][LABEL].to_numpy())


def test_margin_before_fit_is_an_error():
    with pytest.raises(NotFittedError, match="not fitted"):
        LogRegModel().decision_function(pd.DataFrame({"a": [1.0]}))


def test_params_know_exactly_the_registered_families():
    from typing import get_args

    from secondlook.params.train import FamilyName

    assert get_args(FamilyName) == tuple(FAMILIES)
