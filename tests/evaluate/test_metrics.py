"""Bootstrap metrics: point estimates match scikit-learn; intervals behave."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from secondlook.evaluate import METRICS, Scores, bootstrap
from secondlook.evaluate.metrics import ece_bin_edges


def calibrated_world(n: int, seed: int, rounding: int | None = None):
    rng = np.random.default_rng(seed)
    p = rng.beta(1, 6, n)
    if rounding is not None:
        p = np.round(p, rounding)  # ties, as isotonic calibration makes
    y = (rng.random(n) < p).astype(int)
    flag = p >= np.quantile(p, 0.9)
    return y, Scores(p, flag)


@pytest.mark.parametrize("rounding", [None, 2])
def test_point_estimates_match_sklearn_and_masks(rounding):
    y, s = calibrated_world(3000, 0, rounding)
    b = bootstrap(y, {"m": s}, n_boot=10, seed=0)
    pt = b.point["m"]
    assert pt["auroc"] == pytest.approx(roc_auc_score(y, s.probability), abs=1e-12)
    assert pt["auprc"] == pytest.approx(average_precision_score(y, s.probability), abs=1e-12)
    assert pt["brier"] == pytest.approx(brier_score_loss(y, s.probability), abs=1e-12)
    assert pt["log_loss"] == pytest.approx(log_loss(y, s.probability), abs=1e-12)
    f = s.flag
    assert pt["precision"] == pytest.approx(y[f].mean())
    assert pt["recall"] == pytest.approx(f[y == 1].mean())
    assert pt["flag_rate"] == pytest.approx(f.mean())
    # ECE by explicit masks over the same equal-mass bins
    bins = np.searchsorted(ece_bin_edges(s.probability, 10), s.probability, side="right")
    ece = sum(
        (bins == b_).mean() * abs(y[bins == b_].mean() - s.probability[bins == b_].mean())
        for b_ in np.unique(bins)
    )
    assert pt["ece"] == pytest.approx(ece, abs=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_each_interval_contains_its_point_estimate(seed):
    y, s = calibrated_world(1500, seed, rounding=seed % 2 + 1)
    b = bootstrap(y, {"m": s}, n_boot=300, seed=seed)
    for metric, iv in b.table()["m"].items():
        assert iv.lo <= iv.value <= iv.hi, (metric, iv)
        assert iv.lo < iv.hi, metric


def test_intervals_narrow_with_more_data():
    small_y, small_s = calibrated_world(400, 1)
    big_y, big_s = calibrated_world(10_000, 1)
    small = bootstrap(small_y, {"m": small_s}, n_boot=300, seed=1).table()["m"]
    big = bootstrap(big_y, {"m": big_s}, n_boot=300, seed=1).table()["m"]
    for metric in METRICS:
        assert big[metric].width < 0.5 * small[metric].width, metric


def test_same_seed_same_intervals_and_paired_difference():
    y, s = calibrated_world(1000, 3)
    noisy = Scores(
        np.clip(s.probability + np.random.default_rng(0).normal(0, 0.1, y.size), 0, 1), s.flag
    )
    a = bootstrap(y, {"m": s, "n": noisy}, n_boot=200, seed=9)
    b = bootstrap(y, {"m": s, "n": noisy}, n_boot=200, seed=9)
    assert a.table() == b.table()
    same = a.difference("m", "m", "auroc")
    assert (same.value, same.lo, same.hi) == (0.0, 0.0, 0.0)
    d = a.difference("m", "n", "auroc")
    assert d.value > 0 and d.lo > 0  # the noisy copy ranks worse, measurably


def test_empty_evaluation_is_refused():
    with pytest.raises(ValueError, match="zero rows"):
        bootstrap(np.array([], dtype=int), {}, n_boot=1, seed=0)


def test_ece_interval_never_goes_below_zero():
    # two score levels, each exactly calibrated: the point ECE is 0, every replicate is above
    # it, and the bias shift pushes about half of them below zero
    p = np.repeat([0.1, 0.3], 1000)
    y = np.zeros(2000, dtype=int)
    y[:100] = 1
    y[1000:1300] = 1
    s = Scores(p, p > 0.2)
    b = bootstrap(y, {"m": s}, n_boot=300, seed=1, ece_bins=2)
    assert b.point["m"]["ece"] == pytest.approx(0.0, abs=1e-12)
    replicates = b.replicates["m"]["ece"]
    shifted = replicates - (np.nanmean(replicates) - b.point["m"]["ece"])
    assert np.quantile(shifted, 0.025) < 0  # what an unclipped interval would report
    iv = b.interval("m", "ece")
    assert iv.lo >= 0.0
    assert iv.lo <= iv.value <= iv.hi


def test_rank_metrics_use_the_margin_calibration_metrics_the_probability():
    # a calibration that ties distinct margins (isotonic-like steps): ranking must not change
    rng = np.random.default_rng(7)
    margin = rng.normal(-1.5, 1.5, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-margin))).astype(int)
    # 11 levels for 4,000 distinct margins, none 0 or 1
    tied = np.clip(np.round(1 / (1 + np.exp(-margin)), 1), 0.05, 0.95)
    flag = margin >= np.quantile(margin, 0.9)
    s = Scores(tied, flag, margin)
    pt = bootstrap(y, {"m": s}, n_boot=5, seed=0).point["m"]
    assert pt["auroc"] == pytest.approx(roc_auc_score(y, margin), abs=1e-12)
    assert pt["auprc"] == pytest.approx(average_precision_score(y, margin), abs=1e-12)
    assert abs(roc_auc_score(y, tied) - roc_auc_score(y, margin)) > 1e-3  # the ties matter
    assert pt["brier"] == pytest.approx(brier_score_loss(y, tied), abs=1e-12)
    assert pt["log_loss"] == pytest.approx(log_loss(y, tied), abs=1e-12)
    # without a margin the probability ranks (the old behaviour, kept for plain scores)
    plain = bootstrap(y, {"m": Scores(tied, flag)}, n_boot=5, seed=0).point["m"]
    assert plain["auroc"] == pytest.approx(roc_auc_score(y, tied), abs=1e-12)
