"""Reason sentences, top-k ordering, factor sums, and recovery of planted drivers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from numpy.testing import assert_allclose

from secondlook.explain import (
    explain_model,
    factor_contributions,
    fidelity,
    reason_sentence,
    top_reasons,
)
from secondlook.models.toy import TOY_COEF
from secondlook.schema import FACTORS


def test_exact_text_of_a_reason() -> None:
    assert (
        reason_sentence("sibling_referrals_36m", 3, 0.42)
        == "3 referrals about siblings in the last 36 months — raises the score"
    )
    assert (
        reason_sentence("unassessed_adult_named_in_da", 0, -0.3)
        == "No unassessed adult is named in domestic abuse reports — lowers the score"
    )


def _expl(values: list[list[float]], data: list[list[float]], names: list[str]) -> shap.Explanation:
    return shap.Explanation(
        values=np.array(values, dtype=float),
        base_values=np.zeros(len(values)),
        data=np.array(data, dtype=float),
        feature_names=names,
    )


def test_top_reasons_order_sign_and_k() -> None:
    names = ["sibling_referrals_36m", "police_domestic_12m", "bruising_non_mobile"]
    e = _expl([[0.5, -0.9, 0.0], [0.0, 0.0, 0.0]], [[3, 0, 0], [1, 1, 0]], names)
    out = top_reasons(e, 2)
    assert [r["feature"] for r in out[0]] == ["police_domestic_12m", "sibling_referrals_36m"]
    assert out[0][0]["contribution"] == pytest.approx(-0.9)
    assert out[0][0]["sentence"].endswith("lowers the score")
    assert out[0][1]["sentence"] == (
        "3 referrals about siblings in the last 36 months — raises the score"
    )
    assert out[1] == []  # nothing moved the score: no reasons
    assert len(top_reasons(e, 10)[0]) == 2
    with pytest.raises(ValueError, match="k must be"):
        top_reasons(e, 0)


def test_feature_outside_catalogue_still_reads() -> None:
    e = _expl([[1.0]], [[1.0]], ["ethnicity_black"])
    assert top_reasons(e, 1)[0][0]["sentence"] == "Ethnicity black = 1 — raises the score"


def test_factor_contributions_sum_by_evidence() -> None:
    names = ["adult_contacts_drug_36m", "assessment_found_parental_drug_misuse", "age_months"]
    e = _expl([[0.4, 0.6, -1.0]], [[2, 1, 3]], names)
    f = factor_contributions(e)
    assert list(f.columns) == [*FACTORS, "other"]
    assert f.loc[0, "drug"] == pytest.approx(1.0)
    assert f.loc[0, "other"] == pytest.approx(-1.0)
    assert_allclose(f.to_numpy().sum(1), e.values.sum(1))


# additive families only: in the toy world bruising occurs only in non-mobile babies, and the
# trees legitimately split on that proxy (not_yet_mobile) instead of the rarer bruising flag
@pytest.mark.parametrize("family", ["logreg", "ebm"])
def test_planted_drivers_are_the_top_reasons(toy, toy_models, family) -> None:
    X = toy["test"]
    expl = explain_model(toy_models[family], X)
    reasons = top_reasons(expl, 3)
    # bruising in a non-mobile baby is the strongest planted driver (3 log-odds)
    bruised = np.flatnonzero(X["bruising_non_mobile"].to_numpy() == 1)
    assert len(bruised) > 5
    hits = [any(r["feature"] == "bruising_non_mobile" for r in reasons[i]) for i in bruised]
    assert np.mean(hits) >= 0.9
    # the pure-noise input is almost never a top-3 reason
    noise = np.mean([any(r["feature"] == "noise_continuous" for r in rs) for rs in reasons])
    assert noise < 0.1
    # globally, every planted driver outranks the noise
    imp = pd.Series(np.abs(expl.values).mean(0), index=expl.feature_names)
    assert (imp[list(TOY_COEF)] > imp["noise_continuous"]).all()


def test_fidelity_recovers_planted_factor_drivers(toy, toy_models) -> None:
    X = toy["test"]
    truth = pd.DataFrame(0.0, index=X.index, columns=[f"driver_{f}" for f in FACTORS])
    truth["driver_earlier_removal"] = (
        TOY_COEF["sibling_ever_removed"] * X["sibling_ever_removed"]
        + TOY_COEF["unborn_earlier_removal"] * X["unborn_earlier_removal"]
    )
    truth["driver_unassessed_violent_adult"] = (
        TOY_COEF["unassessed_adult_named_in_da"] * X["unassessed_adult_named_in_da"]
    )
    good = fidelity(explain_model(toy_models["logreg"], X), truth, k=3)
    assert good["n_decisions"] == int((truth.abs().sum(1) > 0).sum())
    assert good["top_k_overlap"] >= 0.9
    assert good["spearman"] > 0.5
    # a shuffled truth is not recovered
    shuffled = truth.sample(frac=1.0, random_state=0).set_axis(truth.index)
    shuffled = shuffled[shuffled.columns[::-1]].set_axis(truth.columns, axis=1)
    bad = fidelity(explain_model(toy_models["logreg"], X), shuffled, k=3)
    assert bad["top_k_overlap"] < good["top_k_overlap"] - 0.3


def test_fidelity_names_a_missing_driver(toy, toy_models) -> None:
    expl = explain_model(toy_models["rules"], toy["test"])
    with pytest.raises(ValueError, match="driver_drug"):
        fidelity(expl, pd.DataFrame(index=toy["test"].index))


def test_reason_columns_mark_a_reason_against_guidance_as_the_packs_do() -> None:
    from secondlook.explain.reasons import against_guidance, top_reason_columns

    # prior_s47 may only raise concern: here 6 enquiries lowered the score (row 0) or raised it
    # (row 1); age_months is not ordered by guidance; row 2 has a single reason
    names = ["prior_s47", "age_months", "police_domestic_12m"]
    e = _expl(
        [[-0.9, 0.3, 0.0], [0.9, -0.3, 0.0], [0.0, 0.0, -0.2]],
        [[6, 40, 0], [6, 40, 0], [0, 40, 2]],
        names,
    )
    clean = {"prior_s47": 0.0, "age_months": 30.0, "police_domestic_12m": 0.0}
    (f1, s1, c1, a1), (f2, _, _, a2) = top_reason_columns(e, 2, clean)
    assert list(f1) == ["prior_s47", "prior_s47", "police_domestic_12m"]
    assert s1[0] == "6 earlier child protection enquiries about this child — lowers the score"
    assert list(a1) == [True, False, True]
    assert list(a2) == [False, False, None] and f2[2] is None
    # the very rule the packs use, reason by reason
    for rank, (feature, _, contribution, against) in enumerate(top_reason_columns(e, 2, clean)):
        for row, reasons in enumerate(top_reasons(e, 2)):
            if rank < len(reasons):
                r = reasons[rank]
                want = against_guidance(
                    r["feature"], r["contribution"], r["value"], clean[r["feature"]]
                )
                assert against[row] is (want is not None)
                assert feature[row] == r["feature"] and contribution[row] == r["contribution"]
    # without a reference to compare the value with, the mark is not known
    assert all(a is None for col in top_reason_columns(e, 2) for a in col[3])
