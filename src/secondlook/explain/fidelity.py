"""Fidelity of explanations against the synthetic world's true drivers.

The truth table decomposes each decision's true log-odds over the hidden factors
(``driver_<factor>``, an exact Shapley decomposition). A model's contributions, summed by the
factor each feature is evidence of (:func:`secondlook.explain.reasons.factor_contributions`), can
be compared with it:

- **per decision** -- the overlap between the model's top-``k`` factors and the truth's top-``k``
  drivers (by absolute size, non-zero only): ``|model ∩ truth| / |truth|``, over decisions with at
  least one non-zero driver;
- **globally** -- the Spearman rank correlation, across factors, between the model's mean
  |factor contribution| and the truth's mean |driver|.

Factors no model input is evidence of (``young_parent``, and ``deprivation`` unless a study makes
the decile an input) get a model importance of 0: the explanation cannot name what the model
cannot see, and fidelity counts that against it on purpose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import shap
from scipy.stats import spearmanr

from secondlook.errors import InputError
from secondlook.explain.reasons import factor_contributions
from secondlook.schema import FACTORS

__all__ = ["DRIVER_PREFIX", "FidelityResult", "fidelity", "top_sets"]

DRIVER_PREFIX = "driver_"


def top_sets(matrix: npt.ArrayLike, k: int) -> list[frozenset[int]]:
    """Column indices of the ``k`` largest |values| of each row, non-zero ones only.

    Parameters
    ----------
    matrix
        Shape (n_rows, n_columns).
    k
        At most this many columns per row.

    Returns
    -------
    list of frozenset of int
    """
    m = np.abs(np.asarray(matrix, dtype=np.float64))
    kk = min(k, m.shape[1])
    order = np.argsort(-m, axis=1, kind="stable")[:, :kk]
    size = np.take_along_axis(m, order, axis=1)
    return [
        frozenset(int(j) for j, s in zip(row, sz, strict=True) if s > 1e-12)
        for row, sz in zip(order, size, strict=True)
    ]


class FidelityResult(dict[str, Any]):
    """``fidelity`` output: the summary dict, with per-decision and per-factor tables attached.

    Keys: ``top_k``, ``top_k_overlap`` (mean), ``top_k_exact`` (share of decisions whose sets
    are equal), ``spearman`` (factor-level), ``n_decisions``. Attributes ``per_decision`` and
    ``per_factor`` are DataFrames.
    """

    per_decision: pd.DataFrame
    per_factor: pd.DataFrame


def fidelity(
    explanation: shap.Explanation,
    truth: pd.DataFrame,
    *,
    k: int = 3,
    decision_ids: npt.ArrayLike | None = None,
) -> FidelityResult:
    """Compare an explanation with the truth's drivers.

    Parameters
    ----------
    explanation
        Shape (n_rows, n_features), from :func:`secondlook.explain.explain_model`.
    truth
        Rows aligned with the explanation, holding ``driver_<factor>`` for every factor of
        :data:`secondlook.schema.FACTORS` (e.g. the truth table indexed to the same decisions).
    k
        How many factors to compare per decision. Default 3.
    decision_ids
        Optional identifiers of the rows, carried into ``per_decision``.

    Returns
    -------
    FidelityResult
        See the class; ``spearman`` is NaN when either importance vector is constant.

    Raises
    ------
    InputError
        If a driver column is missing or the row counts differ.
    """
    missing = [f"{DRIVER_PREFIX}{f}" for f in FACTORS if f"{DRIVER_PREFIX}{f}" not in truth]
    if missing:
        raise InputError(f"truth: driver column(s) missing: {', '.join(missing)}")
    drivers = truth[[f"{DRIVER_PREFIX}{f}" for f in FACTORS]].to_numpy(dtype=np.float64)
    model = factor_contributions(explanation)[list(FACTORS)].to_numpy()
    if len(drivers) != len(model):
        raise InputError(f"truth has {len(drivers)} rows, the explanation {len(model)}")
    truth_top = top_sets(drivers, k)
    model_top = top_sets(model, k)
    overlap = np.array(
        [len(m & t) / len(t) if t else np.nan for m, t in zip(model_top, truth_top, strict=True)]
    )
    exact = np.array(
        [float(m == t) if t else np.nan for m, t in zip(model_top, truth_top, strict=True)]
    )
    model_imp = np.abs(model).mean(axis=0) if len(model) else np.zeros(len(FACTORS))
    truth_imp = np.abs(drivers).mean(axis=0) if len(drivers) else np.zeros(len(FACTORS))
    if np.ptp(model_imp) > 0 and np.ptp(truth_imp) > 0:
        rho = float(spearmanr(model_imp, truth_imp).statistic)
    else:
        rho = float("nan")
    names = list(FACTORS)
    per_decision = pd.DataFrame(
        {
            "decision_id": (
                np.arange(len(model)) if decision_ids is None else np.asarray(decision_ids)
            ),
            "model_top": [",".join(names[j] for j in sorted(s)) for s in model_top],
            "truth_top": [",".join(names[j] for j in sorted(s)) for s in truth_top],
            "overlap": overlap,
        }
    )
    per_factor = pd.DataFrame(
        {"factor": names, "model_mean_abs": model_imp, "truth_mean_abs_driver": truth_imp}
    )
    valid = ~np.isnan(overlap)
    result = FidelityResult(
        top_k=k,
        top_k_overlap=float(np.mean(overlap[valid])) if valid.any() else float("nan"),
        top_k_exact=float(np.mean(exact[valid])) if valid.any() else float("nan"),
        spearman=rho,
        n_decisions=int(valid.sum()),
    )
    result.per_decision = per_decision
    result.per_factor = per_factor
    return result
