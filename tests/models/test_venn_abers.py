"""Venn-Abers calibration: strictly increasing, never 0 or 1, an interval around each point."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from venn_abers import VennAbers

from secondlook.models import CalibratedModel, make_family
from secondlook.models.base import ModelInputError
from secondlook.models.venn_abers import LOGIT_LIMIT, VennAbersMap, compare_calibrations, ece

LABEL = "label_warrants_escalation"


def logistic_world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Margins whose true probability is expit(margin): a calibrated truth to recover."""
    rng = np.random.default_rng(seed)
    m = rng.normal(-1.5, 1.5, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-m))).astype(int)
    return m, y


def test_distinct_margins_stay_distinct_and_no_probability_is_0_or_1():
    m, y = logistic_world(4000, 0)
    va = VennAbersMap().fit(m, y)
    # far beyond the calibration margins too: extrapolation keeps the order
    grid = np.sort(np.r_[np.linspace(-9, 6, 3000), m[:500]])
    grid = np.unique(grid)
    p, lo, hi = va.predict_interval(grid)
    assert np.all(np.diff(p) > 0)
    assert p.min() > 0 and p.max() < 1
    assert lo.min() > 0 and hi.max() < 1
    assert np.all(lo <= p) and np.all(p <= hi)
    assert np.all(hi - lo > 0)


def test_at_the_knots_it_is_the_packages_venn_abers_predictor():
    m, y = logistic_world(3000, 1)
    va = VennAbersMap().fit(m, y)
    ref = VennAbers().fit(np.column_stack([-m, m]), y)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # the package's own probabilities and intervals at a knot (the centre of a run)
        p_ref, p0p1 = ref.predict_proba(np.column_stack([-va.knots_, va.knots_]))
    p, lo, hi = va.predict_interval(va.knots_)
    np.testing.assert_allclose(p, p_ref[:, 1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(lo, np.maximum(p0p1[:, 0], 1e-6), atol=2e-6)
    np.testing.assert_allclose(hi, np.minimum(p0p1[:, 1], 1 - 1e-6), atol=2e-6)


def test_recovers_a_planted_calibration():
    m, y = logistic_world(20000, 2)
    va = VennAbersMap().fit(m, y)
    grid = np.linspace(-4, 1.5, 50)
    truth = 1 / (1 + np.exp(-grid))
    np.testing.assert_allclose(va.predict(grid), truth, atol=0.05)


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(20, 300),
    seed=st.integers(0, 10_000),
    levels=st.one_of(st.none(), st.integers(2, 12)),
)
def test_interval_contains_the_point_property(n, seed, levels):
    rng = np.random.default_rng(seed)
    m = rng.normal(size=n)
    if levels is not None:  # ties in the margin, as the rules points have
        m = np.round(m * levels / 4)
    y = (rng.random(n) < 0.3).astype(int)
    y[:2] = [0, 1]
    va = VennAbersMap().fit(m, y)
    new = np.r_[m, rng.normal(scale=3, size=50)]
    p, lo, hi = va.predict_interval(new)
    assert np.all((p > 0) & (p < 1))
    assert np.all(lo <= p) and np.all(p <= hi)
    order = np.argsort(new, kind="stable")
    d_m, d_p = np.diff(new[order]), np.diff(p[order])
    # strictly increasing, except where both ends sit at the documented LOGIT_LIMIT clip
    # (far outside tiny calibration sets, where steep end slopes reach it)
    clipped = (p[order] <= 1.1 / (1 + np.exp(LOGIT_LIMIT))) | (
        p[order] >= 1 - 1.1 / (1 + np.exp(LOGIT_LIMIT))
    )
    inside = ~(clipped[1:] & clipped[:-1])
    if va.knots_.size >= 2:
        assert np.all(d_p[(d_m > 0) & inside] > 0)
    assert np.all(d_p[d_m == 0] == 0)


def test_bad_input_is_named():
    with pytest.raises(ModelInputError, match="infinite"):
        VennAbersMap().fit([0.0, np.inf, 1.0], [0, 1, 1])
    with pytest.raises(ModelInputError, match="one class"):
        VennAbersMap().fit([0.0, 1.0], [1, 1])
    with pytest.raises(ModelInputError, match="not fitted"):
        VennAbersMap().predict_interval([0.0])


def test_calibrated_model_interval(world, inputs, cfg):
    train, valid, test = world["train"], world["valid"], world["test"]
    fam = make_family("logreg", cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam, method="venn-abers").fit(valid, valid[LABEL])
    p, lo, hi = model.probability_interval(test)
    np.testing.assert_array_equal(p, model.probability(test))
    assert np.all((lo <= p) & (p <= hi)) and lo.min() > 0 and hi.max() < 1
    margin = model.decision_function(test)
    assert np.unique(p).size == np.unique(margin).size
    iso = CalibratedModel(fam, method="isotonic").fit(valid, valid[LABEL])
    _, ilo, ihi = iso.probability_interval(test)
    assert np.isnan(ilo).all() and np.isnan(ihi).all()  # no interval claimed


def test_compare_calibrations_counts_ties_and_measures_on_held_out_rows():
    m, y = logistic_world(3000, 3)
    out = compare_calibrations(m, y, n_splits=5, seed=0)
    assert set(out) == {"venn-abers", "isotonic", "sigmoid"}
    assert out["venn-abers"]["distinct_probabilities"] == np.unique(m).size
    assert out["isotonic"]["distinct_probabilities"] < np.unique(m).size / 5  # isotonic ties
    assert out["venn-abers"]["zero_or_one"] == 0
    assert out["isotonic"]["mean_width"] is None
    assert 0 < out["venn-abers"]["mean_width"] < 0.1
    # the truth is logistic in the margin: sigmoid is the right model, and all are close to it
    truth = 1 / (1 + np.exp(-m))
    best = float(np.mean((truth - y) ** 2))
    for row in out.values():
        assert best - 0.005 < row["brier"] < best + 0.01


def test_ece_by_masks():
    rng = np.random.default_rng(4)
    p = rng.random(1000)
    y = (rng.random(1000) < p).astype(int)
    edges = np.unique(np.quantile(p, np.linspace(0, 1, 11)[1:-1]))
    bins = np.searchsorted(edges, p, side="right")
    expected = sum(
        (bins == b).mean() * abs(y[bins == b].mean() - p[bins == b].mean()) for b in np.unique(bins)
    )
    assert ece(y, p) == pytest.approx(expected, abs=1e-12)
