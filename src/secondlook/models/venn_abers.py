"""Venn-Abers calibration of a margin: a probability with an interval, never 0 or 1.

An inductive Venn-Abers predictor (Vovk, Petej and Fedorova, NeurIPS 2015) fits isotonic
regression on the calibration split twice for each new score: once as if its label were 0
(giving ``p0``) and once as if it were 1 (``p1``). The pair ``[p0, p1]`` is the interval; the
point probability ``p1 / (1 - p0 + p1)`` lies inside it, is never 0 and never 1. The
``venn-abers`` package computes both isotonic fits for every calibration score at once
(:func:`venn_abers.calc_p0p1`, :func:`venn_abers.calc_probs`).

Those three functions of the score are steps, so distinct margins can still share a probability
(the tie problem of isotonic calibration, scikit-learn #16321). :class:`VennAbersMap` keeps
distinct margins distinct: it evaluates the predictor at the calibration margins, places one knot
at the centre of each run of equal point probabilities, and interpolates ``logit p0``,
``logit p`` and ``logit p1`` linearly between knots with the same weights (beyond the outer
knots, a straight line with the slope of the nearest segment of ``logit p``). Because the
point's knot values strictly increase, the interpolated point strictly increases with the
margin; because the same weights apply to three ordered values, ``p0 <= p <= p1`` holds
everywhere. Logits are kept within ``±LOGIT_LIMIT``, so no output is 0 or 1.

:func:`compare_calibrations` measures this against isotonic and sigmoid (Platt) calibration by
cross-fitting on the validation split: each fold's probabilities come from a map fitted on the
other folds.
"""

from __future__ import annotations

import warnings
from typing import Any, Self

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from venn_abers import calc_p0p1, calc_probs

from secondlook.models.base import ModelInputError, check_binary

__all__ = ["LOGIT_LIMIT", "VennAbersMap", "compare_calibrations", "ece"]

#: logits are clipped to ±LOGIT_LIMIT: probabilities stay within about 1e-6 of 0 and 1
LOGIT_LIMIT = 13.8

FloatArray = npt.NDArray[np.float64]


def _logit(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1 / (1 + np.exp(LOGIT_LIMIT)), 1 / (1 + np.exp(-LOGIT_LIMIT)))
    return np.asarray(np.log(q) - np.log1p(-q), dtype=np.float64)


def _expit(z: FloatArray) -> FloatArray:
    return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -LOGIT_LIMIT, LOGIT_LIMIT))))


class VennAbersMap(BaseEstimator):  # type: ignore[misc]
    """Inductive Venn-Abers calibration of a margin, interpolated so it is strictly increasing.

    Attributes
    ----------
    knots_
        Margins of the knots, strictly increasing, shape (n_knots,).
    logit_point_, logit_low_, logit_high_
        ``logit`` of the point probability, of ``p0`` and of ``p1`` at each knot, shape
        (n_knots,); ``logit_low_ <= logit_point_ <= logit_high_``.
    slope_left_, slope_right_
        Slopes (logit per margin unit) of the straight lines beyond the outer knots.
    n_calibration_
        Rows the map was fitted on.
    """

    def fit(self, margin: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Fit on the calibration split.

        Parameters
        ----------
        margin
            The model's uncalibrated scores, shape (n_rows,), finite.
        y
            Binary labels, shape (n_rows,), both classes present.

        Returns
        -------
        self

        Raises
        ------
        ModelInputError
            If the margin is not finite, lengths differ or the label has one class.
        """
        m = np.asarray(margin, dtype=np.float64)
        target = check_binary(y)
        if m.ndim != 1 or m.shape != target.shape:
            raise ModelInputError(
                f"margin shape {m.shape} does not match the label's {target.shape}"
            )
        if not np.isfinite(m).all():
            raise ModelInputError("the margin holds missing or infinite values")
        # the package's convex-hull walk divides by zero and takes nanmin of all-NaN slices
        # by design (vertical segments of the cumulative sum diagram); silence only those
        # (catch_warnings is not thread-safe before Python 3.14: two fits in threads of one
        # Dask worker can restore each other's filters, so the warning may still be shown)
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
            p0, p1, c = calc_p0p1(np.column_stack([-m, m]), target.astype(np.float64))
        _, p0p1 = calc_probs(p0, p1, c, np.column_stack([-c, c]))
        low, high = p0p1[:, 0], p0p1[:, 1]
        point = high / (1 - low + high)
        # one knot per run of equal point probabilities, at the run's centre
        starts = np.flatnonzero(np.r_[True, np.diff(point) > 0])
        ends = np.r_[starts[1:], point.size]
        self.knots_ = np.array([(c[s] + c[e - 1]) / 2 for s, e in zip(starts, ends, strict=True)])
        self.logit_point_ = _logit(point[starts])
        self.logit_low_ = _logit(low[starts])
        self.logit_high_ = _logit(high[starts])
        if self.knots_.size >= 2:
            dz = np.diff(self.logit_point_)
            dm = np.diff(self.knots_)
            self.slope_left_ = float(dz[0] / dm[0])
            self.slope_right_ = float(dz[-1] / dm[-1])
        else:  # a constant margin ranks nothing; the map is flat
            self.slope_left_ = self.slope_right_ = 0.0
        self.n_calibration_ = int(m.size)
        return self

    def _interpolate(self, m: FloatArray, at_knots: FloatArray) -> FloatArray:
        k = self.knots_
        z = np.interp(m, k, at_knots)
        z = np.where(m < k[0], at_knots[0] + self.slope_left_ * (m - k[0]), z)
        return np.asarray(np.where(m > k[-1], at_knots[-1] + self.slope_right_ * (m - k[-1]), z))

    def predict_interval(self, margin: npt.ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
        """The calibrated probability and its Venn-Abers interval for each margin.

        Parameters
        ----------
        margin
            Scores, shape (n_rows,).

        Returns
        -------
        point, low, high
            Each shape (n_rows,), in (0, 1), with ``low <= point <= high``; ``point`` is
            strictly increasing in the margin (up to the ``LOGIT_LIMIT`` clip).
        """
        if not hasattr(self, "knots_"):
            raise ModelInputError("the Venn-Abers map is not fitted")
        m = np.asarray(margin, dtype=np.float64)
        z = self._interpolate(m, self.logit_point_)
        lo = self._interpolate(m, self.logit_low_)
        hi = self._interpolate(m, self.logit_high_)
        point = _expit(z)
        return point, np.minimum(_expit(lo), point), np.maximum(_expit(hi), point)

    def predict(self, margin: npt.ArrayLike) -> FloatArray:
        """The calibrated probability only, shape (n_rows,)."""
        return self.predict_interval(margin)[0]


def ece(y: npt.ArrayLike, p: npt.ArrayLike, n_bins: int = 10) -> float:
    """Expected calibration error over equal-mass bins of ``p`` (mean |observed - predicted|).

    Parameters
    ----------
    y
        Binary labels, shape (n_rows,).
    p
        Probabilities, shape (n_rows,).
    n_bins
        Number of equal-mass bins (fewer if quantiles coincide). Default 10.
    """
    yv = np.asarray(y, dtype=np.float64)
    pv = np.asarray(p, dtype=np.float64)
    edges = np.unique(np.quantile(pv, np.linspace(0, 1, n_bins + 1)[1:-1]))
    bins = np.searchsorted(edges, pv, side="right")
    gap = np.bincount(bins, weights=yv - pv, minlength=edges.size + 1)
    return float(np.abs(gap).sum() / yv.size)


def _fit_predict(
    method: str, m_fit: FloatArray, y_fit: FloatArray, m_new: FloatArray
) -> tuple[FloatArray, FloatArray | None]:
    if method == "venn-abers":
        point, lo, hi = VennAbersMap().fit(m_fit, y_fit).predict_interval(m_new)
        return point, hi - lo
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(m_fit, y_fit)
        return np.asarray(iso.predict(m_new), dtype=np.float64), None
    if method == "sigmoid":
        lr = LogisticRegression(C=1e6).fit(m_fit.reshape(-1, 1), y_fit)
        return np.asarray(lr.predict_proba(m_new.reshape(-1, 1))[:, 1], dtype=np.float64), None
    raise ValueError(f"unknown calibration method {method!r}")


def compare_calibrations(
    margin: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    n_splits: int = 5,
    seed: int = 0,
    n_bins: int = 10,
) -> dict[str, dict[str, Any]]:
    """Venn-Abers, isotonic and sigmoid calibration compared by cross-fitting.

    The rows are split into ``n_splits`` stratified folds (seeded); each fold's probabilities
    come from a map fitted on the other folds, so every figure is measured on rows the map did
    not see.

    Parameters
    ----------
    margin
        Uncalibrated scores on the validation split, shape (n_rows,).
    y
        Binary labels, shape (n_rows,).
    n_splits, seed, n_bins
        Folds, their seed, and the equal-mass bins of the ECE. The folds are fewer when the
        rarer label has fewer than ``n_splits`` rows (each fold needs one of each); with a
        single row of a label nothing can be cross-fitted and the result is empty.

    Returns
    -------
    dict
        ``{method: {"brier", "log_loss", "ece", "distinct_margins", "distinct_probabilities",
        "zero_or_one", "mean_width"}}`` for ``venn-abers``, ``isotonic`` and ``sigmoid``;
        ``mean_width`` (mean ``p1 - p0``) is None for the methods without an interval.
    """
    m = np.asarray(margin, dtype=np.float64)
    target = check_binary(y).astype(np.float64)
    rarer = int(min(target.sum(), len(target) - target.sum()))
    if min(n_splits, rarer) < 2:
        return {}
    folds = StratifiedKFold(n_splits=min(n_splits, rarer), shuffle=True, random_state=seed)
    out: dict[str, dict[str, Any]] = {}
    for method in ("venn-abers", "isotonic", "sigmoid"):
        p = np.empty_like(m)
        width: FloatArray | None = np.empty_like(m) if method == "venn-abers" else None
        for fit_rows, new_rows in folds.split(m.reshape(-1, 1), target):
            p[new_rows], w = _fit_predict(method, m[fit_rows], target[fit_rows], m[new_rows])
            if width is not None and w is not None:
                width[new_rows] = w
        pc = np.clip(p, 1e-15, 1 - 1e-15)
        out[method] = {
            "brier": float(np.mean((p - target) ** 2)),
            "log_loss": float(-np.mean(target * np.log(pc) + (1 - target) * np.log1p(-pc))),
            "ece": ece(target, p, n_bins),
            "distinct_margins": int(np.unique(m).size),
            "distinct_probabilities": int(np.unique(p).size),
            "zero_or_one": int(((p <= 0) | (p >= 1)).sum()),
            "mean_width": None if width is None else float(width.mean()),
        }
    return out
