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

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.stats import spearmanr

from secondlook.errors import InputError
from secondlook.explain.reasons import factor_contributions
from secondlook.schema import FACTORS

if TYPE_CHECKING:
    import shap

__all__ = [
    "DRIVER_PREFIX",
    "FidelityResult",
    "ceiling_fidelity",
    "fidelity",
    "observable_factors",
    "raised_fidelity",
    "raised_overlap",
    "top_sets",
]

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


def raised_overlap(
    factor_values: npt.ArrayLike, drivers: npt.ArrayLike, k: int, columns: npt.ArrayLike
) -> float:
    """Mean overlap between the factors that *raised* a score and the truth's top drivers.

    Per decision: the model's top-``k`` factors among those with a positive contribution, the
    truth's top-``k`` positive drivers, both restricted to ``columns``;
    ``|model ∩ truth| / |truth|``, averaged over decisions with at least one positive driver.

    Parameters
    ----------
    factor_values
        Model contributions summed by factor, shape (n_rows, n_factors).
    drivers
        The truth's ``driver_<factor>`` values, same shape.
    k
        Factors compared per decision.
    columns
        Boolean mask of shape (n_factors,): the factors taken into account.

    Returns
    -------
    float
        NaN when no decision has a positive driver among ``columns``.
    """
    mask = np.asarray(columns, dtype=bool)
    model = np.where(mask, np.clip(np.asarray(factor_values, dtype=np.float64), 0, None), 0.0)
    truth = np.where(mask, np.clip(np.asarray(drivers, dtype=np.float64), 0, None), 0.0)
    m_top, t_top = top_sets(model, k), top_sets(truth, k)
    overlap = [len(m & t) / len(t) for m, t in zip(m_top, t_top, strict=True) if t]
    return float(np.mean(overlap)) if overlap else float("nan")


def observable_factors(feature_names: list[str]) -> npt.NDArray[np.bool_]:
    """Which factors of :data:`FACTORS` some of ``feature_names`` is evidence of."""
    from secondlook.explain.reasons import evidence_map

    seen = set(evidence_map(feature_names).values())
    return np.array([f in seen for f in FACTORS])


def raised_fidelity(
    explanation: shap.Explanation, truth: pd.DataFrame, *, k: int = 3
) -> dict[str, float]:
    """Fidelity of the factors that raised each score: over all factors and observable ones.

    Parameters
    ----------
    explanation
        Shape (n_rows, n_features).
    truth
        Aligned rows with ``driver_<factor>`` for every factor.
    k
        Factors compared per decision.

    Returns
    -------
    dict
        ``raised_all`` (every factor of the truth counts) and ``raised_observable`` (only the
        factors some model input is evidence of).
    """
    drivers = truth[[f"{DRIVER_PREFIX}{f}" for f in FACTORS]].to_numpy(dtype=np.float64)
    model = factor_contributions(explanation)[list(FACTORS)].to_numpy()
    every = np.ones(len(FACTORS), dtype=bool)
    seen = observable_factors(list(explanation.feature_names))
    return {
        "raised_all": raised_overlap(model, drivers, k, every),
        "raised_observable": raised_overlap(model, drivers, k, seen),
    }


def ceiling_fidelity(
    train_truth: pd.DataFrame, test_truth: pd.DataFrame, label: str, *, k: int = 3, seed: int = 0
) -> dict[str, float]:
    """The same metric for a model fitted on the hidden state itself (the ceiling).

    A logistic regression on the truth's ``state_<factor>`` columns (no age, no practice), its
    contributions measured against "every factor absent"; what an explanation could reach if
    the record showed the hidden state. Factors without a state column (traits the truth keeps
    as drivers only) stay unseen.

    Parameters
    ----------
    train_truth, test_truth
        Truth rows of the training and test decisions, with ``state_<factor>``,
        ``driver_<factor>`` and ``label``.
    label
        The truth column the ceiling model learns (e.g. ``warrants_escalation``).
    k
        Factors compared per decision.
    seed
        Unused by the deterministic solver; kept for a uniform signature.

    Returns
    -------
    dict
        ``raised_all`` and ``raised_observable`` as in :func:`raised_fidelity`, and the factors
        the ceiling model saw.
    """
    from sklearn.linear_model import LogisticRegression

    cols = [f for f in FACTORS if f"state_{f}" in train_truth.columns]
    Xtr = train_truth[[f"state_{f}" for f in cols]].to_numpy(dtype=np.float64)
    Xte = test_truth[[f"state_{f}" for f in cols]].to_numpy(dtype=np.float64)
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(Xtr, train_truth[label].to_numpy())
    contrib = np.zeros((len(Xte), len(FACTORS)))
    for j, f in enumerate(cols):
        contrib[:, list(FACTORS).index(f)] = lr.coef_[0][j] * Xte[:, j]
    drivers = test_truth[[f"{DRIVER_PREFIX}{f}" for f in FACTORS]].to_numpy(dtype=np.float64)
    seen = np.array([f in cols for f in FACTORS])
    return {
        "raised_all": raised_overlap(contrib, drivers, k, np.ones(len(FACTORS), dtype=bool)),
        "raised_observable": raised_overlap(contrib, drivers, k, seen),
        "factors_seen": float(len(cols)),
    }
