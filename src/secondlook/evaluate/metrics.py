"""Metrics with bootstrap confidence intervals.

Every metric is computed from per-row weights, so one function gives both the point estimate
(all weights 1) and each bootstrap replicate (weights = how often each row was drawn). The rows
are sorted by score once per model and every replicate is a weighted pass over that order, which
makes 1,000 replicates of eight metrics for five models cost seconds, not minutes. Models scored
on the same replicates can be compared pairwise (:meth:`Bootstrap.difference`).

The metrics (:data:`METRICS`): AUROC, AUPRC (average precision, as scikit-learn computes it),
Brier score, log loss, expected calibration error over equal-mass bins of the probability, and
the precision, recall and flagged share at the model's flag cut. The rank metrics (AUROC, AUPRC)
are computed on the score the model ranks by, its uncalibrated margin (:attr:`Scores.rank`):
calibration may merge distinct margins into one probability (isotonic does, scikit-learn
#16321), and ties change both areas. Brier, log loss and ECE are computed on the probability. Intervals are percentile intervals
(for ECE after a bootstrap bias shift; see :meth:`Bootstrap.interval`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from secondlook.evaluate.resample import weight_chunks

__all__ = ["METRICS", "Scores", "Interval", "Bootstrap", "bootstrap", "ece_bin_edges"]

METRICS = ("auroc", "auprc", "brier", "log_loss", "ece", "precision", "recall", "flag_rate")
_LOGLOSS_EPS = 1e-15
_CHUNK = 100
#: metrics whose replicates are bias-shifted before taking the interval (see Bootstrap.interval)
_BIAS_SHIFTED = frozenset({"ece"})

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class Scores:
    """One model's output on the evaluation rows.

    Attributes
    ----------
    probability
        Calibrated probability, shape (n_rows,): Brier score, log loss, ECE.
    flag
        Whether each row is flagged at the model's cut, shape (n_rows,).
    margin
        The uncalibrated score the model ranks by, shape (n_rows,), or None to rank by the
        probability: AUROC and AUPRC.
    """

    probability: FloatArray
    flag: npt.NDArray[np.bool_]
    margin: FloatArray | None = None

    @property
    def rank(self) -> FloatArray:
        """The score the rank metrics use: the margin when given, else the probability."""
        r = self.probability if self.margin is None else self.margin
        return np.asarray(r, dtype=np.float64)


@dataclasses.dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap interval."""

    value: float
    lo: float
    hi: float

    def contains(self, x: float) -> bool:
        """Whether ``lo <= x <= hi``."""
        return bool(self.lo <= x <= self.hi)

    @property
    def width(self) -> float:
        """``hi - lo``."""
        return self.hi - self.lo


def ece_bin_edges(probability: npt.ArrayLike, n_bins: int) -> FloatArray:
    """Inner edges of at most ``n_bins`` equal-mass bins of ``probability`` (duplicates merged)."""
    p = np.asarray(probability, dtype=np.float64)
    qs = np.quantile(p, np.linspace(0, 1, n_bins + 1)[1:-1])
    return np.unique(qs)


class _Prepared:
    """Per-model quantities that do not change between replicates."""

    def __init__(self, y: npt.NDArray[np.int64], s: Scores, edges: FloatArray) -> None:
        p = np.asarray(s.probability, dtype=np.float64)
        r = s.rank
        self.order = np.argsort(-r, kind="stable")
        ps = r[self.order]
        self.ys = y[self.order].astype(np.float64)
        self.starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
        self.sq_err = (p - y) ** 2
        pc = np.clip(p, _LOGLOSS_EPS, 1 - _LOGLOSS_EPS)
        self.nll = -(y * np.log(pc) + (1 - y) * np.log1p(-pc))
        bins = np.searchsorted(edges, p, side="right")
        onehot = np.zeros((p.size, edges.size + 1))
        onehot[np.arange(p.size), bins] = 1.0
        # per-row contribution to each bin's (observed - predicted) total
        self.gap = onehot * (y - p)[:, None]
        f = np.asarray(s.flag, dtype=np.float64)
        self.flag = f
        self.flag_pos = f * y


def _metrics(W: FloatArray, y: FloatArray, m: _Prepared) -> dict[str, FloatArray]:
    """Each metric for each row of weights ``W`` (shape (B, n_rows)) -> arrays of shape (B,)."""
    n = W.sum(axis=1)
    pos = W @ y
    neg = n - pos
    Ws = W[:, m.order]
    P = np.add.reduceat(Ws * m.ys, m.starts, axis=1)
    N = np.add.reduceat(Ws * (1 - m.ys), m.starts, axis=1)
    tp = np.cumsum(P, axis=1)
    fp = np.cumsum(N, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auroc = (N * (tp - P + 0.5 * P)).sum(axis=1) / (pos * neg)
        precision_curve = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        auprc = (P * precision_curve).sum(axis=1) / pos
        flagged = W @ m.flag
        caught = W @ m.flag_pos
        out = {
            "auroc": auroc,
            "auprc": auprc,
            "brier": (W @ m.sq_err) / n,
            "log_loss": (W @ m.nll) / n,
            "ece": np.abs(W @ m.gap).sum(axis=1) / n,
            "precision": caught / flagged,
            "recall": caught / pos,
            "flag_rate": flagged / n,
        }
    return out


@dataclasses.dataclass
class Bootstrap:
    """Point estimates and bootstrap replicates of :data:`METRICS` for several models.

    Attributes
    ----------
    point
        ``point[model][metric]``: the estimate on the evaluation rows.
    replicates
        ``replicates[model][metric]``: shape (n_boot,), one value per replicate (NaN where a
        replicate had no positive or no flagged row).
    ci
        Interval level, e.g. 0.95.
    """

    point: dict[str, dict[str, float]]
    replicates: dict[str, dict[str, FloatArray]]
    ci: float

    def _bounds(self, values: FloatArray) -> tuple[float, float]:
        a = (1 - self.ci) / 2
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return float("nan"), float("nan")
        lo, hi = np.quantile(finite, [a, 1 - a])
        return float(lo), float(hi)

    def interval(self, model: str, metric: str) -> Interval:
        """The point estimate of ``metric`` for ``model`` and its percentile interval.

        The expected calibration error sums absolute gaps, so resampling inflates it (noise
        never cancels); its replicates are first shifted by the bootstrap bias estimate
        (their mean minus the point estimate), which centres the interval on the estimate.
        """
        values = self.replicates[model][metric]
        point = self.point[model][metric]
        if metric in _BIAS_SHIFTED:
            # the shift can push replicates below zero; an error is never negative
            values = np.maximum(values - (np.nanmean(values) - point), 0.0)
        lo, hi = self._bounds(values)
        return Interval(point, lo, hi)

    def difference(self, a: str, b: str, metric: str) -> Interval:
        """``metric(a) - metric(b)`` on paired replicates (the same rows drawn for both)."""
        lo, hi = self._bounds(self.replicates[a][metric] - self.replicates[b][metric])
        return Interval(self.point[a][metric] - self.point[b][metric], lo, hi)

    def table(self) -> dict[str, dict[str, Interval]]:
        """``{model: {metric: Interval}}`` for every model and metric."""
        return {m: {k: self.interval(m, k) for k in METRICS} for m in self.point}


def bootstrap(
    y: npt.ArrayLike,
    models: Mapping[str, Scores],
    *,
    n_boot: int,
    seed: int,
    ci: float = 0.95,
    ece_bins: int = 10,
) -> Bootstrap:
    """Point estimates and ``n_boot`` paired bootstrap replicates of every metric.

    Parameters
    ----------
    y
        Binary label, shape (n_rows,).
    models
        Model name -> its :class:`Scores` on the same rows.
    n_boot
        Number of replicates (rows drawn with replacement, ``n_rows`` per replicate).
    seed
        Seed of the draws; the same seed gives the same intervals.
    ci
        Interval level. Default 0.95.
    ece_bins
        Equal-mass bins for the expected calibration error (edges fixed from each model's
        scores on all rows). Default 10.

    Returns
    -------
    Bootstrap
    """
    yv = np.asarray(y).astype(np.int64)
    n = yv.size
    if n == 0:
        raise ValueError("cannot evaluate on zero rows")
    prepared = {
        name: _Prepared(yv, s, ece_bin_edges(s.probability, ece_bins)) for name, s in models.items()
    }
    yf = yv.astype(np.float64)
    ones = np.ones((1, n))
    point = {
        name: {k: float(v[0]) for k, v in _metrics(ones, yf, m).items()}
        for name, m in prepared.items()
    }
    parts: dict[str, dict[str, list[FloatArray]]] = {
        name: {k: [] for k in METRICS} for name in models
    }
    for W in weight_chunks(n, n_boot, seed, _CHUNK):
        for name, m in prepared.items():
            for k, v in _metrics(W, yf, m).items():
                parts[name][k].append(v)
    replicates = {
        name: {k: np.concatenate(v) for k, v in per.items()} for name, per in parts.items()
    }
    return Bootstrap(point=point, replicates=replicates, ci=ci)
