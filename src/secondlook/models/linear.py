"""``logreg``: standardised inputs, elastic-net logistic regression, with a points scorecard.

The margin is ``decision_function`` (log-odds). :meth:`LogRegModel.scorecard` rewrites the
coefficients per unit of each raw input as integer points, 10 points doubling the odds
(``points = round(coef * 10 / ln 2)``), the form a scorecard on paper takes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.optimize import minimize
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from secondlook.models.base import ModelFamily, constraints

__all__ = ["LogRegModel", "POINTS_TO_DOUBLE_ODDS", "sign_constrained_logreg"]

#: scorecard points that double the odds
POINTS_TO_DOUBLE_ODDS = 10


def _objective(
    theta: npt.NDArray[np.float64],
    Z: npt.NDArray[np.float64],
    t: npt.NDArray[np.float64],
    C: float,
    l1_ratio: float,
    layout: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], int],
) -> tuple[float, npt.NDArray[np.float64]]:
    col, sign, p = layout
    w = np.zeros(p)
    np.add.at(w, col, sign * theta[:-1])
    b = theta[-1]
    z = Z @ w + b
    # C * sum log(1 + exp(-t z)) with t in {-1, +1}, and its gradient
    loss = C * float(np.logaddexp(0.0, -t * z).sum())
    r = -t * C * np.exp(-np.logaddexp(0.0, t * z))  # d loss / d z
    grad_w = Z.T @ r + (1.0 - l1_ratio) * w
    value = loss + 0.5 * (1.0 - l1_ratio) * float(w @ w) + l1_ratio * float(theta[:-1].sum())
    grad = np.empty_like(theta)
    grad[:-1] = sign * grad_w[col] + l1_ratio
    grad[-1] = float(r.sum())
    return value, grad


def sign_constrained_logreg(
    Z: npt.ArrayLike,
    y: npt.ArrayLike,
    signs: list[int],
    *,
    C: float,
    l1_ratio: float,
    max_iter: int = 15000,
) -> tuple[npt.NDArray[np.float64], float]:
    """Elastic-net logistic regression with sign-constrained coefficients (L-BFGS-B).

    Minimises scikit-learn's objective for ``LogisticRegression(C, l1_ratio)`` (the intercept
    unpenalised), ``C * sum_i log(1 + exp(-t_i (z_i . w + b))) + (1 - l1_ratio) / 2 ||w||^2 +
    l1_ratio ||w||_1``, subject to ``w_j >= 0`` where ``signs[j] == 1`` and ``w_j <= 0`` where
    ``signs[j] == -1``. The L1 term is made smooth by writing each coefficient as a non-negative
    magnitude times its allowed sign (a free coefficient as the difference of two), so the
    bounded quasi-Newton method solves the same problem exactly. With every sign 0 the solution
    is scikit-learn's (a test holds them together).

    Parameters
    ----------
    Z
        Inputs (standardised), shape (n_rows, n_features).
    y
        0/1 labels, shape (n_rows,).
    signs
        Per feature: 1 (coefficient >= 0), -1 (<= 0) or 0 (free).
    C, l1_ratio
        As in :class:`sklearn.linear_model.LogisticRegression`.
    max_iter
        L-BFGS-B iterations.

    Returns
    -------
    coef, intercept
        Shape (n_features,) and a float.
    """
    Zf = np.asarray(Z, dtype=np.float64)
    t = np.where(np.asarray(y) > 0, 1.0, -1.0)
    p = Zf.shape[1]
    col: list[int] = []
    sgn: list[float] = []
    for j, s in enumerate(signs):
        if s == 0:
            col += [j, j]
            sgn += [1.0, -1.0]
        else:
            col.append(j)
            sgn.append(float(np.sign(s)))
    layout = (np.asarray(col, dtype=np.int64), np.asarray(sgn), p)
    theta0 = np.zeros(len(col) + 1)
    bounds = [(0.0, None)] * len(col) + [(None, None)]
    res = minimize(
        _objective,
        theta0,
        args=(Zf, t, float(C), float(l1_ratio), layout),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "ftol": 1e-14, "gtol": 1e-9, "maxcor": 30},
    )
    w = np.zeros(p)
    np.add.at(w, layout[0], layout[1] * res.x[:-1])
    return w, float(res.x[-1])


class LogRegModel(ModelFamily):
    """Elastic-net logistic regression on standardised inputs (saga solver).

    Parameters
    ----------
    C
        Inverse regularisation strength, > 0. Default 0.1.
    l1_ratio
        Elastic-net mixing, 1 = lasso, 0 = ridge. Default 0.5.
    max_iter
        Solver iterations. Default 5000.
    random_state
        Seed of the saga solver's sampling.
    policy
        ``none`` or ``guidance``: with ``guidance`` the coefficients are refitted by
        :func:`sign_constrained_logreg` so that each respects the catalogue's direction (the
        scaler and the objective are unchanged).
    """

    name = "logreg"
    kind = "scorecard"
    interpretable = True
    margin_scale = "log-odds"

    def __init__(
        self,
        C: float = 0.1,
        l1_ratio: float = 0.5,
        max_iter: int = 5000,
        random_state: int | None = None,
        policy: str = "none",
    ) -> None:
        self.policy = policy
        self.C = C
        self.l1_ratio = l1_ratio
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        self.pipeline_ = Pipeline(
            [
                ("scale", StandardScaler()),
                (
                    "logreg",
                    LogisticRegression(
                        C=self.C,
                        l1_ratio=self.l1_ratio,
                        solver="saga",
                        max_iter=self.max_iter,
                        random_state=self.random_state,
                    ),
                ),
            ]
        ).fit(X, y)
        self.n_iter_ = int(self.pipeline_.named_steps["logreg"].n_iter_[0])
        signs = constraints([str(c) for c in X.columns], self.policy)
        if any(signs):
            scaler: StandardScaler = self.pipeline_.named_steps["scale"]
            lr: LogisticRegression = self.pipeline_.named_steps["logreg"]
            coef, intercept = sign_constrained_logreg(
                scaler.transform(X), y, signs, C=self.C, l1_ratio=self.l1_ratio
            )
            lr.coef_ = coef.reshape(1, -1)
            lr.intercept_ = np.array([intercept])

    def _margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return np.asarray(self.pipeline_.decision_function(X), dtype=np.float64)

    def coefficients(self) -> pd.DataFrame:
        """Coefficients per standard deviation and per raw unit of each input.

        Returns
        -------
        pandas.DataFrame
            Index ``inputs_``; columns ``mean``, ``scale``, ``coef_per_sd``, ``coef_per_unit``.
        """
        scaler: StandardScaler = self.pipeline_.named_steps["scale"]
        lr: LogisticRegression = self.pipeline_.named_steps["logreg"]
        coef = lr.coef_[0]
        return pd.DataFrame(
            {
                "mean": scaler.mean_,
                "scale": scaler.scale_,
                "coef_per_sd": coef,
                "coef_per_unit": coef / scaler.scale_,
            },
            index=pd.Index(self.inputs_, name="input"),
        )

    def intercept_per_unit(self) -> float:
        """The intercept on the raw (unstandardised) scale, in log-odds."""
        c = self.coefficients()
        lr: LogisticRegression = self.pipeline_.named_steps["logreg"]
        return float(lr.intercept_[0] - (c["coef_per_unit"] * c["mean"]).sum())

    def scorecard(self) -> pd.DataFrame:
        """Integer points per raw unit of each input with a non-zero coefficient.

        Returns
        -------
        pandas.DataFrame
            Columns ``input``, ``coef_per_unit``, ``points_per_unit``, sorted by absolute points;
            the first row is the ``(base)`` intercept. The points total times ``ln 2 / 10``
            approximates the margin (rounding aside).
        """
        c = self.coefficients()
        c = c[c["coef_per_unit"] != 0]
        factor = POINTS_TO_DOUBLE_ODDS / math.log(2)
        rows = [
            {
                "input": "(base)",
                "coef_per_unit": self.intercept_per_unit(),
                "points_per_unit": round(self.intercept_per_unit() * factor),
            }
        ]
        body = pd.DataFrame(
            {
                "input": c.index,
                "coef_per_unit": c["coef_per_unit"].to_numpy(),
                "points_per_unit": np.rint(c["coef_per_unit"].to_numpy() * factor).astype(int),
            }
        )
        body = body.iloc[np.argsort(-np.abs(body["coef_per_unit"].to_numpy()), kind="stable")]
        return pd.concat([pd.DataFrame(rows), body], ignore_index=True)

    def _describe(self) -> dict[str, Any]:
        card = self.scorecard()
        return {
            "points_to_double_odds": POINTS_TO_DOUBLE_ODDS,
            "scorecard": [
                {"input": str(name), "coef_per_unit": float(coef), "points_per_unit": int(pts)}
                for name, coef, pts in zip(
                    card["input"],
                    card["coef_per_unit"].to_numpy(dtype=np.float64),
                    card["points_per_unit"].to_numpy(dtype=np.int64),
                    strict=True,
                )
            ],
        }
