"""Reasons against the clean record: exact baseline Shapley values for every family.

Each family is fitted on a handful of features so every coalition can be enumerated; the exact
values must equal brute-force Shapley enumeration within 1e-9 and sum to the margin's change
from the reference.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from secondlook.explain import explain_model
from secondlook.explain.baseline import baseline_shapley, brute_force_shapley
from secondlook.features.catalogue import NO_REFERRAL_DAYS
from secondlook.features.reference import clean_record_reference, reference_sentence
from secondlook.models import FAMILIES, make_family
from secondlook.models.rules import RULE_COLUMNS

from ..models.conftest import FAST_EBM, FAST_GBM, fast_train_params

SMALL = [
    "referrals_12m",
    "sibling_referrals_36m",
    "days_since_last_referral",
    "police_domestic_12m",
    "not_yet_mobile",
    "concern_physical_injury",
]


def small_world(n: int = 1500, seed: int = 3) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "referrals_12m": rng.poisson(1.0, n),
            "sibling_referrals_36m": rng.poisson(1.5, n),
            "days_since_last_referral": np.where(
                rng.random(n) < 0.4, NO_REFERRAL_DAYS, rng.integers(1, 1500, n)
            ),
            "police_domestic_12m": rng.poisson(0.5, n),
            "not_yet_mobile": rng.binomial(1, 0.2, n),
            "concern_physical_injury": rng.binomial(1, 0.3, n),
        }
    ).astype(float)
    logit = (
        -2
        + 0.5 * X["referrals_12m"]
        + 0.4 * X["police_domestic_12m"]
        + 1.5 * X["not_yet_mobile"] * X["concern_physical_injury"]
        + 0.3 * X["sibling_referrals_36m"]
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _fit(name: str, X: pd.DataFrame, y: np.ndarray):
    cfg = fast_train_params(
        ebm=dataclasses.replace(FAST_EBM, interactions=3, max_rounds=200, max_bins=32),
        gbm=dataclasses.replace(FAST_GBM, max_iter=15, learning_rate=0.2, max_leaf_nodes=8),
    )
    if name == "rules":  # the checklist reads its own columns: give it a full table
        full = pd.DataFrame(0.0, index=X.index, columns=list(RULE_COLUMNS))
        full[[c for c in X.columns if c in RULE_COLUMNS]] = X[
            [c for c in X.columns if c in RULE_COLUMNS]
        ]
        full["bruising_non_mobile"] = (X["not_yet_mobile"] * (X["referrals_12m"] > 1)).to_numpy()
        full["sibling_ever_removed"] = (X["sibling_referrals_36m"] > 3).astype(float)
        return make_family(name, cfg).fit(full, y), full
    return make_family(name, cfg).fit(X, y), X


@pytest.mark.parametrize("family", list(FAMILIES))
def test_exact_against_brute_force_enumeration(family):
    X, y = small_world()
    model, table = _fit(family, X, y)
    F = table[model.inputs_].astype(float)
    reference = clean_record_reference(F, list(model.inputs_))
    rows = F.iloc[:40]
    phi = baseline_shapley(model, rows, reference)
    r = reference.to_numpy()
    for i in range(len(rows)):
        x = rows.iloc[i].to_numpy()
        expected = brute_force_shapley(
            lambda A: model.decision_function(pd.DataFrame(A, columns=F.columns)), x, r
        )
        assert_allclose(phi[i], expected, atol=1e-9, rtol=0)
    # additivity to the margin, through the public entry point
    expl = explain_model(model, rows, reference=reference)
    total = expl.base_values + expl.values.sum(axis=1)
    assert_allclose(total, model.decision_function(rows), atol=1e-9, rtol=0)
    ref_margin = model.decision_function(pd.DataFrame([r], columns=F.columns))[0]
    assert_allclose(expl.base_values, ref_margin)


def test_clean_record_is_nothing_recorded_and_the_most_common_referral():
    X, _ = small_world()
    X["source_police"] = 0.0
    X["source_school"] = 1.0
    X.loc[X.index[:100], ["source_police", "source_school"]] = [1.0, 0.0]
    X["age_months"] = 30.0
    X["unborn"] = 0.0
    X["disability"] = 0.0
    ref = clean_record_reference(X, list(X.columns))
    assert ref["referrals_12m"] == 0 and ref["police_domestic_12m"] == 0
    assert ref["days_since_last_referral"] == NO_REFERRAL_DAYS
    assert ref["source_school"] == 1 and ref["source_police"] == 0  # one consistent source
    assert ref["not_yet_mobile"] == 0 and ref["age_months"] == 30
    assert ref["concern_physical_injury"] == 0  # the more common value of the concern block
    sentence = reference_sentence(ref)
    assert "nothing recorded" in sentence and "school" in sentence
    with pytest.raises(ValueError, match="missing"):
        clean_record_reference(X, ["no_such_feature"])


def test_absence_is_no_reason_against_the_clean_record():
    """A case with nothing recorded gets no contribution from its (empty) history."""
    X, y = small_world()
    model, _ = _fit("logreg", X, y)
    reference = clean_record_reference(X, list(model.inputs_))
    empty = pd.DataFrame([reference.to_numpy()], columns=model.inputs_)
    expl = explain_model(model, empty, reference=reference)
    assert_allclose(expl.values, 0.0, atol=1e-12)
    mean_expl = explain_model(model, empty)  # the mean-referenced one gives absence a reason
    assert np.abs(mean_expl.values).max() > 0.05


def test_a_reason_against_guidance_is_judged_against_the_reference():
    from secondlook.explain.reasons import AGAINST_GUIDANCE, against_guidance

    # a `raises` feature above the reference that lowered the score: against guidance
    assert against_guidance("sibling_prior_nfa", -0.4, 3, 0) == AGAINST_GUIDANCE[1]
    assert against_guidance("sibling_prior_nfa", 0.4, 3, 0) is None
    # below the (mean) reference, lowering the score is what guidance allows
    assert against_guidance("police_domestic_12m", -0.2, 0, 0.4) is None
    # a `lowers` feature: a recent referral (fewer days than the none value) must not lower it
    assert against_guidance("days_since_last_referral", -0.3, 30, NO_REFERRAL_DAYS) is not None
    assert against_guidance("days_since_last_referral", 0.3, 30, NO_REFERRAL_DAYS) is None
    assert against_guidance("age_months", -5.0, 3, 30) is None  # guidance does not order age
    assert against_guidance("ethnicity_white", -1.0, 1, 0) is None  # outside the catalogue
