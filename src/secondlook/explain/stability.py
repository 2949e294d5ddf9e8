"""Stability of explanations under retraining on bootstrap resamples of the training split.

For a family, the reference is the model as trained; each of ``B`` refits sees a bootstrap
resample of the training rows (same hyperparameters and seed). On a fixed set of evaluation rows
we compare:

- the **global importance ranking** (mean |contribution| per input): Kendall's tau between each
  refit's ranking and the reference's, summarised by its mean and minimum;
- **each case's top reasons**: the share of refits whose set of top-``k`` features (by
  |contribution|) equals the reference's set for that case, averaged over cases, and the share of
  cases whose top-``k`` set never changes.

``rules`` learns nothing from data, so its refits are identical and its stability is 1 by
construction; it is reported for completeness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import kendalltau

from secondlook.explain.contributions import explain_model
from secondlook.explain.fidelity import top_sets
from secondlook.models import CalibratedModel, ModelFamily

if TYPE_CHECKING:
    import shap

__all__ = ["global_importance", "stability"]


def global_importance(explanation: shap.Explanation) -> pd.Series:
    """Mean |contribution| of each input, largest first.

    Parameters
    ----------
    explanation
        Shape (n_rows, n_features).

    Returns
    -------
    pandas.Series
        Indexed by feature name, sorted descending (ties in input order).
    """
    values = np.abs(np.asarray(explanation.values, dtype=np.float64))
    imp = values.mean(axis=0) if len(values) else np.zeros(values.shape[1])
    s = pd.Series(imp, index=pd.Index(list(explanation.feature_names), name="feature"))
    return s.iloc[np.argsort(-s.to_numpy(), kind="stable")].rename("mean_abs_contribution")


def stability(
    reference: ModelFamily | CalibratedModel,
    make: Callable[[], ModelFamily],
    train_X: pd.DataFrame,
    train_y: npt.ArrayLike,
    eval_X: pd.DataFrame,
    *,
    n_boot: int,
    seed: int,
    k: int = 3,
) -> dict[str, Any]:
    """Retrain on ``n_boot`` bootstrap resamples and measure how much explanations move.

    Parameters
    ----------
    reference
        The fitted model whose explanations are reported.
    make
        Returns a fresh unfitted family with the reference's hyperparameters.
    train_X, train_y
        The training split (inputs and label) the resamples are drawn from.
    eval_X
        Rows whose explanations are compared (e.g. a sample of the test split).
    n_boot
        Number of bootstrap refits, >= 1.
    seed
        Seed of the resampling.
    k
        Size of the top-reasons set compared per case. Default 3.

    Returns
    -------
    dict
        ``n_boot``, ``kendall_tau_mean``, ``kendall_tau_min``, ``top_k``,
        ``top_k_same_mean`` (mean over cases of the share of refits with the same top-k set),
        ``top_k_always_same`` (share of cases whose set never changes), ``n_rows``.
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    y = np.asarray(train_y)
    ref = explain_model(reference, eval_X)
    ref_imp = global_importance(ref)
    ref_top = top_sets(ref.values, k)
    same = np.zeros((n_boot, len(eval_X)))
    taus = []
    for b in range(n_boot):
        rows = rng.integers(0, len(train_X), len(train_X))
        model = make().fit(train_X.iloc[rows], y[rows])
        expl = explain_model(model, eval_X)
        imp = global_importance(expl).reindex(ref_imp.index)
        tau = kendalltau(ref_imp.to_numpy(), imp.to_numpy()).statistic
        taus.append(1.0 if np.isnan(tau) and np.allclose(imp, ref_imp) else float(tau))
        same[b] = [a == c for a, c in zip(ref_top, top_sets(expl.values, k), strict=True)]
    share = same.mean(axis=0)
    return {
        "n_boot": n_boot,
        "kendall_tau_mean": float(np.nanmean(taus)),
        "kendall_tau_min": float(np.nanmin(taus)),
        "top_k": k,
        "top_k_same_mean": float(share.mean()) if share.size else float("nan"),
        "top_k_always_same": float((share == 1).mean()) if share.size else float("nan"),
        "n_rows": len(eval_X),
    }
