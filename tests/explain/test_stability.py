"""Unit tests of :mod:`secondlook.explain.stability` on planted cases with known answers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shap
from numpy.testing import assert_allclose

from secondlook.explain.stability import global_importance, stability
from secondlook.models import LogRegModel, RulesModel
from secondlook.models.toy import toy_feature_table

LABEL = "label_warrants_escalation"


def test_global_importance_is_mean_abs_contribution_largest_first() -> None:
    values = np.array([[1.0, -4.0, 0.5, 2.0], [-3.0, 2.0, -0.5, 2.0]])
    expl = shap.Explanation(values=values, feature_names=["a", "b", "c", "d"])
    imp = global_importance(expl)
    # means of |values|: a 2, b 3, c 0.5, d 2 -> b, then a and d tied in input order, then c
    assert list(imp.index) == ["b", "a", "d", "c"]
    assert_allclose(imp.to_numpy(), [3.0, 2.0, 2.0, 0.5])
    assert imp.name == "mean_abs_contribution"


def _linear_table(n: int, seed: int, *, signal: bool) -> tuple[pd.DataFrame, np.ndarray]:
    """Three inputs with log-odds weights 3, 1.5 and 0 (or a label of pure noise)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["strong", "medium", "none"])
    logit = 3.0 * X["strong"] + 1.5 * X["medium"] if signal else np.zeros(n)
    y = rng.random(n) < 1 / (1 + np.exp(-logit))
    return X, y.astype(int)


def _run(signal: bool, **kw: object) -> dict[str, float]:
    X, y = _linear_table(1500, 1, signal=signal)
    ref = LogRegModel(C=1.0, random_state=0).fit(X, y)
    return stability(
        ref, lambda: LogRegModel(C=1.0, random_state=0), X, y, X.head(200), n_boot=4, seed=5, **kw
    )


def test_a_planted_ranking_is_stable_and_noise_is_not() -> None:
    planted = _run(signal=True)
    noise = _run(signal=False)
    # strong > medium > none survives every resample: the ranking never moves
    assert planted["kendall_tau_mean"] == pytest.approx(1.0)
    assert planted["kendall_tau_min"] == pytest.approx(1.0)
    # with no signal the coefficients are noise and their order changes between resamples
    assert noise["kendall_tau_mean"] < 0.9
    assert noise["top_k_same_mean"] < planted["top_k_same_mean"]
    assert planted["n_boot"] == 4 and planted["n_rows"] == 200 and planted["top_k"] == 3


def test_top_one_reason_of_a_planted_driver_never_changes() -> None:
    X, y = _linear_table(1500, 1, signal=True)
    rows = X[(X["strong"].abs() > 1.5) & (X["medium"].abs() < 0.2)].head(50)
    ref = LogRegModel(C=1.0, random_state=0).fit(X, y)
    out = stability(
        ref, lambda: LogRegModel(C=1.0, random_state=0), X, y, rows, n_boot=3, seed=2, k=1
    )
    # where one planted driver dominates, every refit names it first for every case
    assert out["top_k_same_mean"] == 1.0 and out["top_k_always_same"] == 1.0


def test_rules_refits_are_identical_so_stability_is_one() -> None:
    table = toy_feature_table(800, seed=3)
    ref = RulesModel().fit(table, table[LABEL])
    out = stability(ref, RulesModel, table, table[LABEL], table.head(100), n_boot=2, seed=0)
    assert out["kendall_tau_mean"] == 1.0 and out["kendall_tau_min"] == 1.0
    assert out["top_k_same_mean"] == 1.0 and out["top_k_always_same"] == 1.0


def test_same_seed_same_answer_and_n_boot_is_checked() -> None:
    assert _run(signal=False) == _run(signal=False)
    X, y = _linear_table(100, 0, signal=True)
    ref = LogRegModel().fit(X, y)
    with pytest.raises(ValueError, match="n_boot"):
        stability(ref, LogRegModel, X, y, X, n_boot=0, seed=0)
