"""Calibration of the margin on the validation split, and the capacity threshold.

:class:`CalibratedModel` wraps a fitted family. On the validation split it fits a monotone map
from the family's margin to a probability (per ``train.calibration``: ``venn-abers``, the default,
which gives each probability an interval and keeps distinct margins distinct — see
:mod:`secondlook.models.venn_abers`; ``isotonic`` regression; or a logistic ``sigmoid`` fit) and
sets the flag cut so that ``capacity`` of the validation referrals are
flagged.

The cut is stored on both scales: ``margin_threshold_`` (the margin at the cut) and
``threshold_`` (the calibrated probability there). A referral is flagged when its margin reaches
``margin_threshold_``. Because calibration is monotone this is the same ranking as the calibrated
probability; where isotonic calibration gives a run of referrals the same probability, the margin
breaks the tie, so the flagged share stays close to ``capacity``. When the margin itself has ties
(the ``rules`` points), the cut is the points level whose flagged share is closest to capacity.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from secondlook.models.base import ModelFamily, ModelInputError, check_binary
from secondlook.models.venn_abers import VennAbersMap

__all__ = ["CalibratedModel", "capacity_cut", "PROBA_CLIP"]

#: calibrated probabilities are clipped to [PROBA_CLIP, 1 - PROBA_CLIP] so log loss is finite
PROBA_CLIP = 1e-4


def capacity_cut(margin: npt.ArrayLike, capacity: float) -> tuple[float, float]:
    """The margin level that flags the share of rows closest to ``capacity``.

    Parameters
    ----------
    margin
        Scores, shape (n_rows,); a row is flagged when its score is >= the cut.
    capacity
        Target flagged share, in (0, 1).

    Returns
    -------
    cut, share
        The cut (one of the observed values) and the share of rows it flags. Among equally close
        levels the one flagging fewer rows wins.
    """
    m = np.asarray(margin, dtype=np.float64)
    if m.size == 0:
        raise ModelInputError("cannot set a capacity threshold on zero rows")
    if not 0 < capacity < 1:
        raise ValueError(f"capacity must be in (0, 1), got {capacity}")
    levels, counts = np.unique(m, return_counts=True)
    # share flagged when the cut is each level: rows at or above it
    shares = np.cumsum(counts[::-1])[::-1] / m.size
    gap = np.abs(shares - capacity)
    best = np.flatnonzero(gap <= gap.min() + 1e-12)  # equal up to rounding
    i = best[np.argmin(shares[best])]
    return float(levels[i]), float(shares[i])


class CalibratedModel(BaseEstimator, ClassifierMixin):  # type: ignore[misc]
    """A fitted family, its margin-to-probability calibration and its capacity cut.

    Parameters
    ----------
    family
        A fitted :class:`~secondlook.models.base.ModelFamily`.
    method
        ``"venn-abers"``, ``"isotonic"`` or ``"sigmoid"``. Default ``"venn-abers"``.
    capacity
        Share of referrals to flag, in (0, 1). Default 0.10.

    Attributes
    ----------
    calibrator_
        The fitted map from margin to probability.
    threshold_, margin_threshold_
        The flag cut as a calibrated probability and as a margin.
    valid_flag_rate_
        The share of the validation split the cut flags.
    classes_
        ``array([0, 1])``.
    """

    def __init__(
        self,
        family: ModelFamily,
        method: Literal["venn-abers", "isotonic", "sigmoid"] = "venn-abers",
        capacity: float = 0.10,
    ) -> None:
        self.family = family
        self.method = method
        self.capacity = capacity

    @property
    def inputs(self) -> list[str]:
        """The columns the model reads."""
        return list(self.family.inputs_)

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> Self:
        """Fit the calibration and the capacity cut on held-out data (the validation split).

        Parameters
        ----------
        X
            Feature table with the family's inputs, shape (n_rows, ...).
        y
            Binary label, shape (n_rows,).

        Returns
        -------
        self
        """
        target = check_binary(y)
        margin = self.family.decision_function(X)
        if self.method == "venn-abers":
            cal: Any = VennAbersMap().fit(margin, target)
        elif self.method == "isotonic":
            cal = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
            cal.fit(margin, target)
        elif self.method == "sigmoid":
            cal = LogisticRegression(C=1e6).fit(margin.reshape(-1, 1), target)
        else:
            raise ValueError(f"method must be venn-abers, isotonic or sigmoid, got {self.method!r}")
        self.calibrator_ = cal
        self.classes_ = np.array([0, 1])
        self.margin_threshold_, self.valid_flag_rate_ = capacity_cut(margin, self.capacity)
        self.threshold_ = float(self._calibrate(np.array([self.margin_threshold_]))[0])
        return self

    def _calibrate(self, margin: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        if self.method == "venn-abers":
            return np.asarray(self.calibrator_.predict(margin), dtype=np.float64)
        if self.method == "isotonic":
            p = self.calibrator_.predict(margin)
        else:
            p = self.calibrator_.predict_proba(margin.reshape(-1, 1))[:, 1]
        return np.clip(np.asarray(p, dtype=np.float64), PROBA_CLIP, 1 - PROBA_CLIP)

    def decision_function(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The family's uncalibrated margin, shape (n_rows,) (higher = more likely flagged)."""
        return self.family.decision_function(X)

    def probability(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Calibrated probability of the positive class, shape (n_rows,)."""
        return self._calibrate(self.decision_function(X))

    def interval_from_margin(
        self, margin: npt.ArrayLike
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Calibrated probability, its low end and its high end for given margins.

        Parameters
        ----------
        margin
            The family's margins, shape (n_rows,).

        Returns
        -------
        probability, low, high
            Each shape (n_rows,). With ``venn-abers`` calibration ``[low, high]`` is the
            Venn-Abers interval ``[p0, p1]`` (``low <= probability <= high``, none of them 0 or
            1). The other methods give no interval: ``low`` and ``high`` are NaN.
        """
        m = np.asarray(margin, dtype=np.float64)
        if self.method == "venn-abers":
            point, low, high = self.calibrator_.predict_interval(m)
            return point, low, high
        return self._calibrate(m), np.full(m.shape, np.nan), np.full(m.shape, np.nan)

    def probability_interval(
        self, X: pd.DataFrame
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Calibrated probability and its interval, each shape (n_rows,).

        See :meth:`interval_from_margin`.
        """
        return self.interval_from_margin(self.decision_function(X))

    def predict_proba(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """Calibrated probabilities, shape (n_rows, 2): columns are class 0 and class 1."""
        p = self.probability(X)
        return np.column_stack([1 - p, p])

    def flag(self, X: pd.DataFrame) -> npt.NDArray[np.bool_]:
        """Whether each row is flagged for a second look, shape (n_rows,)."""
        return self.decision_function(X) >= self.margin_threshold_

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.int64]:
        """The flag as 0/1, shape (n_rows,)."""
        return self.flag(X).astype(np.int64)
