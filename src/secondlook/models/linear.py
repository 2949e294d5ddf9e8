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
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from secondlook.models.base import ModelFamily

__all__ = ["LogRegModel", "POINTS_TO_DOUBLE_ODDS"]

#: scorecard points that double the odds
POINTS_TO_DOUBLE_ODDS = 10


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
    """

    name = "logreg"
    interpretable = True
    margin_scale = "log-odds"

    def __init__(
        self,
        C: float = 0.1,
        l1_ratio: float = 0.5,
        max_iter: int = 5000,
        random_state: int | None = None,
    ) -> None:
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
