"""ROC, precision-recall and calibration curves as tidy frames (written as DVC plot CSVs)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from secondlook.evaluate.metrics import ece_bin_edges

__all__ = ["roc_frame", "pr_frame", "calibration_frame", "MAX_POINTS"]

#: curves are thinned to at most this many points (evenly spaced along the curve)
MAX_POINTS = 400


def _thin(frame: pd.DataFrame) -> pd.DataFrame:
    if len(frame) <= MAX_POINTS:
        return frame.reset_index(drop=True)
    idx = np.unique(np.linspace(0, len(frame) - 1, MAX_POINTS).round().astype(int))
    return frame.iloc[idx].reset_index(drop=True)


def roc_frame(y: npt.ArrayLike, score: npt.ArrayLike) -> pd.DataFrame:
    """Columns ``fpr``, ``tpr``, ``threshold`` from (0, 0) to (1, 1).

    ``score`` is what the model ranks by (its margin); ``threshold`` is on that scale, empty
    (NaN) at the first point, where nothing is flagged.
    """
    fpr, tpr, thr = roc_curve(np.asarray(y).astype(int), score)
    thr = np.where(np.isfinite(thr), thr, np.nan)
    return _thin(pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thr}))


def pr_frame(y: npt.ArrayLike, score: npt.ArrayLike) -> pd.DataFrame:
    """Columns ``recall``, ``precision``, ``threshold`` (on the ``score`` scale), by recall."""
    precision, recall, thr = precision_recall_curve(np.asarray(y).astype(int), score)
    frame = pd.DataFrame(
        {"recall": recall[:-1], "precision": precision[:-1], "threshold": thr}
    ).iloc[::-1]
    return _thin(frame)


def calibration_frame(
    y: npt.ArrayLike,
    probability: npt.ArrayLike,
    n_bins: int,
    low: npt.ArrayLike | None = None,
    high: npt.ArrayLike | None = None,
) -> pd.DataFrame:
    """Reliability table over equal-mass bins of the score.

    Parameters
    ----------
    y, probability
        Outcomes and calibrated probabilities, shape (n_rows,).
    n_bins
        Number of equal-mass bins.
    low, high
        The calibration's interval around each probability (Venn-Abers), shape (n_rows,);
        when given and finite, the bin means are added as ``mean_low`` and ``mean_high``.

    Returns
    -------
    pandas.DataFrame
        Columns ``bin``, ``mean_predicted``, ``observed_rate``, ``count`` (and ``mean_low``,
        ``mean_high``); one row per non-empty bin.
    """
    p = np.asarray(probability, dtype=np.float64)
    yv = np.asarray(y).astype(np.float64)
    bins = np.searchsorted(ece_bin_edges(p, n_bins), p, side="right")
    frame = pd.DataFrame({"bin": bins, "p": p, "y": yv})
    g = frame.groupby("bin", sort=True)
    out = pd.DataFrame(
        {
            "bin": g.size().index.to_numpy(),
            "mean_predicted": g["p"].mean().to_numpy(),
            "observed_rate": g["y"].mean().to_numpy(),
            "count": g.size().to_numpy(),
        }
    )
    if low is not None and high is not None:
        lo, hi = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        if np.isfinite(lo).all() and np.isfinite(hi).all():
            out["mean_low"] = pd.Series(lo).groupby(bins).mean().to_numpy()
            out["mean_high"] = pd.Series(hi).groupby(bins).mean().to_numpy()
    return out
