"""Case review packs are drawn evenly from each kind of outcome, seeded."""

from __future__ import annotations

import numpy as np
import pytest
import shap

from secondlook.explain.packs import chance_text, margin_text
from secondlook.explain.reasons import factor_presence
from secondlook.explain.sample import PACK_KINDS, pack_kind, pack_sample


def _outcomes(n: int = 1000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random(n) < 0.1, rng.random(n) < 0.12


def test_sample_is_even_across_kinds_and_kinds_are_right():
    flag, warranted = _outcomes()
    rows, kinds = pack_sample(flag, warranted, 9, np.random.default_rng(1))
    assert sorted(kinds) == sorted(k for k in PACK_KINDS for _ in range(3))
    for r, k in zip(rows, kinds, strict=True):
        assert pack_kind(bool(flag[r]), bool(warranted[r])) == k
    assert np.all(np.diff(rows) > 0)
    again, _ = pack_sample(flag, warranted, 9, np.random.default_rng(1))
    np.testing.assert_array_equal(rows, again)


def test_small_kind_gives_what_it_has_and_the_rest_go_elsewhere():
    flag, warranted = _outcomes()
    # only two missed decisions remain
    missed = np.flatnonzero(~flag & warranted)
    warranted[missed[2:]] = False
    rows, kinds = pack_sample(flag, warranted, 10, np.random.default_rng(2))
    assert len(rows) == 10 and kinds.count("missed") == 2
    assert kinds.count("flagged_warranted") == 4 and kinds.count("flagged_not_warranted") == 4


def test_bad_sample_arguments():
    with pytest.raises(ValueError, match="shape"):
        pack_sample([True], [True, False], 1, np.random.default_rng(0))
    with pytest.raises(ValueError, match="n_packs"):
        pack_sample([True], [True], -1, np.random.default_rng(0))


def test_absence_of_a_record_is_worded_as_an_absence():
    names = ["police_domestic_12m", "referrals_36m_parental_drug_misuse", "age_months"]
    expl = shap.Explanation(
        values=np.array([[-0.4, 0.3, 0.1], [0.5, -0.2, 0.0]]),
        base_values=np.zeros(2),
        data=np.array([[0.0, 2.0, 5.0], [1.0, 0.0, 7.0]]),
        feature_names=names,
    )
    present = factor_presence(expl)
    assert not present.loc[0, "domestic_abuse"] and present.loc[0, "drug"]
    assert present.loc[1, "domestic_abuse"] and not present.loc[1, "drug"]
    assert not present["earlier_removal"].any()  # no input is evidence of it


def test_build_case_review_words_absent_factors(monkeypatch):
    import pandas as pd

    from secondlook.explain import packs

    names = ["police_domestic_12m", "referrals_36m_parental_drug_misuse", "age_months"]
    expl = shap.Explanation(
        values=np.array([[-0.4, 0.3, 0.1]]),
        base_values=np.zeros(1),
        data=np.array([[0.0, 2.0, 5.0]]),
        feature_names=names,
    )
    monkeypatch.setattr(packs, "png_base64", lambda fig: "")
    row = pd.Series(
        {"decision_id": "d1", "decision_date": "2023-01-01", "age_months": 5, "unborn": 0,
         "police_domestic_12m": 0, "referrals_36m_parental_drug_misuse": 2}
    )  # fmt: skip
    events = pd.DataFrame(columns=["date", "type", "detail", "about", "what"])
    events["date"] = pd.to_datetime(events["date"])
    review = packs.build_case_review(
        row, expl, family="logreg", unit="log-odds", probability=0.3, flagged=False,
        threshold=0.4, capacity=0.1, events=events, probability_low=0.25, probability_high=0.36,
    )  # fmt: skip
    words = {f["words"]: f["contribution"] for f in review.factors}
    assert words == {"no record of domestic abuse": -0.4, "parental drug misuse": 0.3}
    assert review.probability_text == "30% (between 25% and 36%)"
    html = packs.render_case_review(review)
    assert "no record of domestic abuse —" in html and "lowers the score" in html


@pytest.mark.parametrize(
    ("args", "text"),
    [
        ((0.31, 0.28, 0.35), "31% (between 28% and 35%)"),
        ((0.31, float("nan"), float("nan")), "31%"),
        ((0.005, 0.001, 0.02), "under 1% (between under 1% and 2%)"),
        ((0.995, 0.99, 0.999), "over 99% (between 99% and over 99%)"),
    ],
)
def test_chance_text(args, text):
    assert chance_text(*args) == text


def test_margin_text_only_when_the_interval_contains_the_cut():
    # sarah-D08's shape: 54% (52-56%) under a 55% cut is not a clear "not flagged"
    text = margin_text(False, 0.55, 0.52, 0.56)
    assert text is not None
    assert "(52% to 56%) contains this model's cut (55%)" in text and "flagged it" in text
    assert "left it unflagged" in (margin_text(True, 0.55, 0.54, 0.60) or "")
    assert margin_text(False, 0.55, 0.40, 0.50) is None  # clearly below
    assert margin_text(True, 0.55, 0.60, 0.70) is None  # clearly above
    assert margin_text(False, 0.55) is None  # no interval (isotonic, sigmoid)
    assert margin_text(False, 0.55, float("nan"), float("nan")) is None
