"""Group metrics with bootstrap intervals, disparity ratios and small-cell suppression.

For each group attribute (``group_<attribute>`` columns of a feature table) the metrics of
:data:`GROUP_METRICS` are computed per group with fairlearn's :class:`~fairlearn.metrics.MetricFrame`
(the point estimates), and their intervals (level ``fairness.ci``) from the weighted bootstrap the overall
metrics use (:mod:`secondlook.evaluate.metrics`): each replicate reweights the rows, and a
group's metric is a ratio of weighted sums over that group's rows. The disparity ratio of a
group is its metric over the reference group's (the largest group), with an interval from the
paired replicates, and it is marked inside or outside the parity band [0.8, 1.25] (Aequitas's
convention). This measures; it does not make anything "fair".

**Small cells.** A group's rates, together with its size, give back the four cells of its
label-by-flag table (flagged positives, flagged negatives, missed positives, unflagged
negatives): observed x n is the positives, flag rate x n the flagged, TPR x positives the flagged
positives, and so on. So every rate of a group is *suppressed* when any of those four cells is
below ``min_cell`` (AUROC when either class is; everything, the size included, when the group is
smaller than ``min_cell``): it is carried as ``None`` with ``suppressed=True`` and never as a
number, in every output. So that a suppressed group's counts cannot be recovered by subtracting
the published groups from a published total, suppression is complementary: whenever exactly one
group of an attribute is suppressed for a kind of cell, the next-smallest group is too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    false_negative_rate,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from sklearn.metrics import precision_score, roc_auc_score

from secondlook.evaluate.metrics import Scores
from secondlook.evaluate.resample import bootstrap_weights

__all__ = [
    "GROUP_ATTRIBUTES",
    "GROUP_METRICS",
    "PARITY_BAND",
    "group_table",
    "parity_verdict",
    "metricframe_point",
    "suppress",
    "proxy_statements",
]

#: the group attributes of a feature table (``group_<name>``)
GROUP_ATTRIBUTES = ("ethnicity", "deprivation_quintile", "sex", "disability", "local_authority")
#: metric -> the cells of the group's counts it could reveal (see :func:`_cells`)
GROUP_METRICS: dict[str, str] = {
    "flag_rate": "two_by_two",
    "tpr": "two_by_two",
    "fpr": "two_by_two",
    "fnr": "two_by_two",
    "ppv": "two_by_two",
    "auroc": "both_classes",
    "mean_predicted": "n",
    "observed": "two_by_two",
}
#: Aequitas's parity band for disparity ratios
PARITY_BAND = (0.8, 1.25)
_NUMBERS = ("value", "lo", "hi", "ratio", "ratio_lo", "ratio_hi", "in_band")

FloatArray = npt.NDArray[np.float64]


def parity_verdict(
    lo: float | None, hi: float | None, band: tuple[float, float] = PARITY_BAND
) -> Literal["inside", "outside", "uncertain"]:
    """Whether a disparity ratio's interval ``[lo, hi]`` lies inside or outside the band.

    Returns ``"inside"`` when the whole interval lies within the band, ``"outside"`` when the
    whole interval lies beyond one of its ends, and ``"uncertain"`` otherwise (the interval
    straddles an edge, or is missing): a statement about parity is made only in the first two
    cases.
    """
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "uncertain"
    if band[0] <= lo and hi <= band[1]:
        return "inside"
    if hi < band[0] or lo > band[1]:
        return "outside"
    return "uncertain"


def group_labels(groups: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """Each row's group as text; a missing group is the group ``unknown`` of its own.

    pandas 3 keeps missing values missing through ``astype(str)``: without this, rows whose
    attribute is not recorded would be dropped or crash the table. ``unknown`` is then a group
    like any other, suppressed when small.
    """
    from secondlook.schema import UNKNOWN

    s = pd.Series(np.asarray(groups, dtype=object))
    return np.asarray(s.where(s.notna(), UNKNOWN).astype(str).to_numpy(), dtype=str)


def _auroc(y: npt.ArrayLike, p: npt.ArrayLike) -> float:
    y = np.asarray(y)
    if y.min() == y.max():
        return float("nan")
    return float(roc_auc_score(y, p))


def metricframe_point(y: npt.ArrayLike, scores: Scores, groups: npt.ArrayLike) -> pd.DataFrame:
    """Point estimates of :data:`GROUP_METRICS` per group, computed by fairlearn's MetricFrame.

    Parameters
    ----------
    y
        Binary label, shape (n_rows,).
    scores
        The model's probabilities and flags.
    groups
        Group of each row, shape (n_rows,).

    Returns
    -------
    pandas.DataFrame
        Index: the groups (sorted); one column per metric.
    """
    yv = np.asarray(y).astype(np.int64)
    g = group_labels(groups)
    flags = MetricFrame(
        metrics={
            "flag_rate": selection_rate,
            "tpr": true_positive_rate,
            "fpr": false_positive_rate,
            "fnr": false_negative_rate,
            "ppv": lambda t, f: precision_score(t, f, zero_division=np.nan),
        },
        y_true=yv,
        y_pred=np.asarray(scores.flag).astype(np.int64),
        sensitive_features=g,
    )
    ranks = MetricFrame(
        metrics={"auroc": _auroc},
        y_true=yv,
        y_pred=scores.rank,
        sensitive_features=g,
    )
    probs = MetricFrame(
        metrics={
            "mean_predicted": lambda t, p: float(np.mean(p)),
            "observed": lambda t, p: float(np.mean(t)),
        },
        y_true=yv,
        y_pred=np.asarray(scores.probability, dtype=np.float64),
        sensitive_features=g,
    )
    out = pd.concat([flags.by_group, ranks.by_group, probs.by_group], axis=1).astype(np.float64)
    out.index = out.index.astype(str)
    return out[list(GROUP_METRICS)].sort_index()


def _weighted_auroc(W: FloatArray, y: FloatArray, p: FloatArray) -> FloatArray:
    """AUROC for each row of weights (ties count one half), shape (B,)."""
    order = np.argsort(-p, kind="stable")
    ps, ys = p[order], y[order]
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    Ws = W[:, order]
    P = np.add.reduceat(Ws * ys, starts, axis=1)
    N = np.add.reduceat(Ws * (1 - ys), starts, axis=1)
    tp = np.cumsum(P, axis=1)
    pos, neg = P.sum(axis=1), N.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray((N * (tp - 0.5 * P)).sum(axis=1) / (pos * neg))


def _weighted(W: FloatArray, y: FloatArray, s: Scores) -> dict[str, FloatArray]:
    """Each metric for each row of weights over one group's rows, shape (B,)."""
    f = np.asarray(s.flag, dtype=np.float64)
    p = np.asarray(s.probability, dtype=np.float64)
    n = W.sum(axis=1)
    pos = W @ y
    neg = n - pos
    flagged = W @ f
    tp = W @ (f * y)
    fp = flagged - tp
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = tp / pos
        return {
            "flag_rate": flagged / n,
            "tpr": tpr,
            "fpr": fp / neg,
            "fnr": 1 - tpr,
            "ppv": tp / flagged,
            "auroc": _weighted_auroc(W, y, s.rank),
            "mean_predicted": (W @ p) / n,
            "observed": pos / n,
        }


def _cells(y: npt.NDArray[np.int64], flag: npt.NDArray[np.bool_]) -> dict[str, int]:
    """The smallest count behind each kind of published number, for one group.

    ``n``: the group's size. ``two_by_two``: the smallest cell of the label-by-flag table
    (flagged and not, positive and not). Every rate (flag rate, TPR, FPR, FNR, PPV, observed)
    together with the group's size gives back these cells by multiplication or subtraction, so
    all of them are hidden when any cell is small. ``both_classes``: the smaller class (AUROC).
    """
    pos = y.astype(bool)
    f = np.asarray(flag, dtype=bool)
    table = [
        int((f & pos).sum()),
        int((f & ~pos).sum()),
        int((~f & pos).sum()),
        int((~f & ~pos).sum()),
    ]
    return {
        "n": len(y),
        "two_by_two": min(table),
        "both_classes": min(int(pos.sum()), int((~pos).sum())),
    }


def suppress(denominators: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """Which (group, denominator) cells are suppressed, with complementary suppression.

    Parameters
    ----------
    denominators
        Index: groups; one column per kind of cell (``n``, ``two_by_two``, ``both_classes``):
        the smallest count behind the numbers of that kind.
    min_cell
        Cells from fewer decisions than this are suppressed.

    Returns
    -------
    pandas.DataFrame of bool
        Same shape: True where the cell is suppressed. Where exactly one group of a column is
        below ``min_cell`` (and there are other groups), the next-smallest group is suppressed
        too, so no suppressed count follows from a published total by subtraction.
    """
    out = denominators < min_cell
    for col in denominators.columns:
        if out[col].sum() == 1 and len(out) > 1:
            others = denominators.loc[~out[col], col]
            out.loc[others.idxmin(), col] = True
    # a group whose size is hidden hides every count-based cell derived from it
    return out.apply(lambda c: c | out["n"])


def group_table(
    y: npt.ArrayLike,
    models: Mapping[str, Scores],
    groups: npt.ArrayLike,
    *,
    n_boot: int,
    seed: int,
    min_cell: int,
    ci: float = 0.95,
) -> pd.DataFrame:
    """Per-group metrics, intervals, disparity ratios and suppression for several models.

    Parameters
    ----------
    y
        Binary label, shape (n_rows,).
    models
        Model name -> its scores on the same rows.
    groups
        Group of each row, shape (n_rows,).
    n_boot
        Bootstrap replicates (rows drawn with replacement, paired across models and groups).
    seed
        Seed of the draws.
    min_cell
        Suppress metrics from fewer decisions than this.
    ci
        Interval level. Default 0.95.

    Returns
    -------
    pandas.DataFrame
        Long table, one row per (model, group, metric): ``model``, ``group``, ``n`` (None if
        suppressed), ``reference`` (the reference group), ``metric``, ``value``, ``lo``, ``hi``,
        ``ratio``, ``ratio_lo``, ``ratio_hi``, ``in_band`` and ``suppressed``. Suppressed rows
        carry no number at all.
    """
    yv = np.asarray(y).astype(np.int64)
    g = group_labels(groups)
    names = sorted(np.unique(g))
    masks = {name: g == name for name in names}
    sizes = pd.Series({k: int(v.sum()) for k, v in masks.items()})
    reference = str(sizes.sort_values(ascending=False, kind="stable").index[0])
    W = bootstrap_weights(len(yv), n_boot, seed) if n_boot else None
    a = (1 - ci) / 2
    rows = []
    for model, s in models.items():
        point = metricframe_point(yv, s, g)
        flag = np.asarray(s.flag, dtype=bool)
        den = pd.DataFrame({k: _cells(yv[m], flag[m]) for k, m in masks.items()}).T
        hidden = suppress(den, min_cell)
        reps: dict[str, dict[str, FloatArray]] = {}
        for k, m in masks.items():
            sub = Scores(np.asarray(s.probability)[m], flag[m], s.rank[m])
            reps[k] = _weighted(W[:, m], yv[m].astype(np.float64), sub) if W is not None else {}
        for k in names:
            for metric, kind in GROUP_METRICS.items():
                row: dict[str, object] = {
                    "model": model,
                    "group": k,
                    "n": None if hidden.loc[k, "n"] else int(sizes[k]),
                    "reference": reference,
                    "metric": metric,
                    "denominator": kind,
                }
                if hidden.loc[k, kind]:
                    rows.append({**row, **dict.fromkeys(_NUMBERS), "suppressed": True})
                    continue
                value = float(point.loc[k, metric])  # type: ignore[arg-type]
                lo, hi = _q(reps[k].get(metric), a)
                ratio_cells: dict[str, object] = dict.fromkeys(_NUMBERS[3:])
                if not hidden.loc[reference, kind]:  # a hidden reference hides every ratio
                    ref_value = float(point.loc[reference, metric])  # type: ignore[arg-type]
                    with np.errstate(invalid="ignore", divide="ignore"):
                        ratio = value / ref_value if ref_value else float("nan")
                        rr = (
                            reps[k][metric] / reps[reference][metric] if metric in reps[k] else None
                        )
                    rlo, rhi = _q(rr, a)
                    finite = bool(np.isfinite(ratio))
                    ratio_cells = {
                        "ratio": _num(ratio),
                        "ratio_lo": rlo,
                        "ratio_hi": rhi,
                        "in_band": bool(PARITY_BAND[0] <= ratio <= PARITY_BAND[1])
                        if finite
                        else None,
                    }
                rows.append(
                    {
                        **row,
                        "value": _num(value),
                        "lo": lo,
                        "hi": hi,
                        **ratio_cells,
                        "suppressed": False,
                    }
                )
    return pd.DataFrame(rows)


def _num(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _q(values: FloatArray | None, a: float) -> tuple[float | None, float | None]:
    if values is None:
        return None, None
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None, None
    lo, hi = np.quantile(finite, [a, 1 - a])
    return float(lo), float(hi)


#: the proxy labels in words (the sentences never show a column name)
_LABEL_WORDS = {
    "cp_plan_12m": "a child protection plan within 12 months",
    "rereferral_12m": "a re-referral within 12 months",
    "removal_12m": "a removal into care within 12 months",
    "harm_12m_observed": "observed harm within 12 months",
    "harm_12m_no_action": "harm within 12 months had nothing been escalated",
}


def _band_words(verdict: str) -> str:
    return {
        "outside": "outside the parity band",
        "inside": "inside the parity band",
        "uncertain": "too uncertain to say whether it is inside the parity band",
    }[verdict]


def proxy_statements(
    tables: Mapping[str, pd.DataFrame],
    *,
    truth_label: str,
    attribute: str,
    metrics: Sequence[str] = ("tpr", "fpr", "ppv"),
    ci: float = 0.95,
) -> list[str]:
    """Plain sentences where a proxy label makes a model look within or outside parity while
    the truth says otherwise.

    Parameters
    ----------
    tables
        Label -> the :func:`group_table` of that label (same models, same groups).
    truth_label
        The label that is the truth (e.g. ``warrants_escalation``).
    attribute
        The group attribute the tables are about (used in the sentences).
    metrics
        Which label-dependent metrics to compare.
    ci
        The level of the tables' intervals (``fairness.ci``), named in the sentences.

    Returns
    -------
    list of str
        One sentence per (proxy, model, group, metric) where one label puts the disparity
        ratio's whole interval outside the parity band while the other does not (its interval
        is inside the band, or straddles an edge: "too uncertain to say"); suppressed cells
        never appear, and no column name is shown.
    """
    truth = tables[truth_label]
    key = ["model", "group", "metric"]
    out = []
    names = {"tpr": "share of referrals that warranted escalation it flags (TPR)",
             "fpr": "share of referrals that did not warrant escalation it flags (FPR)",
             "ppv": "share of its flags that warranted escalation (PPV)",
             "fnr": "share of referrals that warranted escalation it misses (FNR)",
             "flag_rate": "share of referrals it flags"}  # fmt: skip
    t = truth[truth["metric"].isin(metrics) & ~truth["suppressed"].astype(bool)]
    for label, table in tables.items():
        if label == truth_label:
            continue
        p = table[table["metric"].isin(metrics) & ~table["suppressed"].astype(bool)]
        both = t.merge(p, on=key, suffixes=("_truth", "_proxy"))
        both = both[both["in_band_truth"].notna() & both["in_band_proxy"].notna()]
        # a ratio of zero with no spread says the proxy never occurs there, not that a
        # disparity is known: such cells support no verdict
        for side in ("truth", "proxy"):
            both = both[both[f"ratio_hi_{side}"] > both[f"ratio_lo_{side}"]]
        # only verdicts the data support: one side's whole interval outside the band, the
        # other side's estimate inside it (a point estimate near the edge proves nothing)
        lo_band, hi_band = PARITY_BAND
        sure_out = {
            side: (both[f"ratio_hi_{side}"] < lo_band) | (both[f"ratio_lo_{side}"] > hi_band)
            for side in ("truth", "proxy")
        }
        # the other side: its whole interval inside the band, or too uncertain to say
        inside = {
            side: (both[f"ratio_lo_{side}"] >= lo_band) & (both[f"ratio_hi_{side}"] <= hi_band)
            for side in ("truth", "proxy")
        }
        unsure = {side: ~sure_out[side] & ~inside[side] for side in ("truth", "proxy")}
        differ = both[
            (sure_out["proxy"] & (inside["truth"] | unsure["truth"]))
            | (sure_out["truth"] & (inside["proxy"] | unsure["proxy"]))
        ]
        words = _LABEL_WORDS.get(label, label.replace("_", " "))
        for r in differ.itertuples(index=False):
            p_lo, p_hi = float(r.ratio_lo_proxy), float(r.ratio_hi_proxy)  # type: ignore[arg-type]
            t_lo, t_hi = float(r.ratio_lo_truth), float(r.ratio_hi_truth)  # type: ignore[arg-type]
            proxy_out = bool(p_hi < lo_band or p_lo > hi_band)
            verdict = {
                "proxy": "outside" if proxy_out else parity_verdict(p_lo, p_hi),
                "truth": "outside" if not proxy_out else parity_verdict(t_lo, t_hi),
            }
            out.append(
                f"Measured against {words}, the {r.model} model's "
                f"{names.get(str(r.metric), str(r.metric))} for {attribute.replace('_', ' ')} group "
                f"{r.group} is {_band_words(verdict['proxy'])} (ratio {r.ratio_proxy:.2f}, {100 * ci:g}% "
                f"interval {r.ratio_lo_proxy:.2f} to {r.ratio_hi_proxy:.2f}, against group "
                f"{r.reference_truth}); against the truth it is {_band_words(verdict['truth'])} "
                f"(ratio {r.ratio_truth:.2f}, {r.ratio_lo_truth:.2f} to {r.ratio_hi_truth:.2f})."
            )
    return out
