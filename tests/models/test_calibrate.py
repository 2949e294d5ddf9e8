"""Calibration improves Brier on held-out data; the capacity cut flags the documented share."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit
from sklearn.metrics import brier_score_loss

from secondlook.models import CalibratedModel, capacity_cut, make_family
from secondlook.params import LogRegParams

LABEL = "label_warrants_escalation"


@pytest.mark.parametrize("method", ["venn-abers", "isotonic", "sigmoid"])
@pytest.mark.parametrize("family", ["rules", "logreg"])
def test_calibration_improves_brier_on_held_out_data(world, inputs, cfg, method, family):
    # a heavily regularised logreg has shrunk margins; rules points are not log-odds at all
    cfg = dataclasses.replace(cfg, logreg=LogRegParams(C=0.002, l1_ratio=0.0, max_iter=5000))
    train, valid, test = world["train"], world["valid"], world["test"]
    fam = make_family(family, cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam, method=method).fit(valid, valid[LABEL])
    raw = brier_score_loss(test[LABEL], expit(fam.decision_function(test)))
    calibrated = brier_score_loss(test[LABEL], model.probability(test))
    assert calibrated < 0.8 * raw, (raw, calibrated)


def test_probabilities_are_monotone_in_the_margin(world, inputs, cfg):
    train, valid, test = world["train"], world["valid"], world["test"]
    fam = make_family("gbm", cfg).fit(train[inputs], train[LABEL].to_numpy())
    for method in ("venn-abers", "isotonic", "sigmoid"):
        model = CalibratedModel(fam, method=method).fit(valid, valid[LABEL])
        order = np.argsort(model.decision_function(test))
        assert np.all(np.diff(model.probability(test)[order]) >= 0)
        proba = model.predict_proba(test)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert proba.min() > 0 and proba.max() < 1  # finite log loss


def test_capacity_cut_on_continuous_scores_is_the_quantile():
    rng = np.random.default_rng(0)
    m = rng.normal(size=1000)
    cut, share = capacity_cut(m, 0.1)
    assert share == pytest.approx(0.1)
    assert (m >= cut).sum() == 100


def test_capacity_cut_on_ties_picks_the_closest_level():
    m = np.array([0] * 80 + [1] * 12 + [2] * 8, dtype=float)
    # level 2 flags 8% (0.02 from 10%), level 1 flags 20% (0.10 away)
    assert capacity_cut(m, 0.10) == (2.0, 0.08)
    # equally close levels (5% and 15%): the one flagging fewer wins
    m = np.array([0] * 85 + [1] * 10 + [2] * 5, dtype=float)
    assert capacity_cut(m, 0.10) == (2.0, 0.05)


def test_capacity_flags_the_capacity_share_of_valid(world, inputs, cfg):
    train, valid = world["train"], world["valid"]
    fam = make_family("logreg", cfg).fit(train[inputs], train[LABEL].to_numpy())
    for capacity in (0.05, 0.1, 0.3):
        model = CalibratedModel(fam, capacity=capacity).fit(valid, valid[LABEL])
        assert model.flag(valid).mean() == pytest.approx(capacity, abs=1 / len(valid))
        assert model.valid_flag_rate_ == pytest.approx(model.flag(valid).mean())
        # the stored probability cut is the calibrated score at the margin cut
        assert model.threshold_ == pytest.approx(
            float(model._calibrate(np.array([model.margin_threshold_]))[0])
        )


def test_sigmoid_flag_equals_probability_at_or_above_threshold(world, inputs, cfg):
    train, valid, test = world["train"], world["valid"], world["test"]
    fam = make_family("ebm", cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam, method="sigmoid").fit(valid, valid[LABEL])
    np.testing.assert_array_equal(model.flag(test), model.probability(test) >= model.threshold_)


@given(
    values=st.lists(st.integers(-5, 5), min_size=1, max_size=200),
    capacity=st.floats(0.01, 0.99),
)
@settings(max_examples=200, deadline=None)
def test_capacity_cut_property(values, capacity):
    m = np.asarray(values, dtype=float)
    cut, share = capacity_cut(m, capacity)
    assert share == pytest.approx((m >= cut).mean())
    # no other observed level flags a share closer to the capacity
    best_gap = min(abs((m >= level).mean() - capacity) for level in np.unique(m))
    assert abs(share - capacity) <= best_gap + 1e-12
