"""The estimands of one world: what a sweep measures in every world it simulates.

Given a world's feature splits, its truth and its trained families, :func:`world_estimands`
returns one flat row (estimand name -> number). Names are dotted, ``<estimand>.<family>[.<label>]``:

- ``auroc.<family>.<label>``, ``auprc.<family>.<label>`` — each family (trained on
  ``train.label``) against the truth and each proxy label, on the test split. Rank metrics are
  computed on the family's uncalibrated margin (isotonic calibration makes ties, which lowers
  AUPRC; scikit-learn #16321).
- ``proxy_auroc.logreg.<proxy>`` — a logistic model *trained on a proxy and evaluated on the
  same proxy*: what published models report (0.76–0.87, FACTS.md), and
  ``proxy_recall_at_capacity.logreg.<proxy>`` its recall of that proxy at the capacity cut
  (What Works for CSC 2020 found about 0.2 at the top of the list); ``proxy_on_truth_auroc``
  is that proxy-trained model's AUROC against the truth, and ``proxy_cost.logreg.<proxy>``
  the truth-trained logistic model's AUROC minus it (what training on the proxy costs).
- ``recall_at_capacity.<family>`` — share of referrals that warranted escalation flagged at the
  family's capacity cut (set on the validation split).
- ``price_of_interpretability`` — AUPRC (``evaluate.select_by``) of ``gbm`` minus that of the
  best interpretable family (``candidate``, named in ``candidate``).
- ``practice_recall`` and ``lead_over_practice.<family>`` — recall at practice's own workload
  (its number of s47 enquiries) and the family's recall there minus practice's.
- ``fidelity_overlap.<family>``, ``fidelity_spearman.<family>`` — explanations against the
  truth's drivers (:func:`secondlook.explain.fidelity.fidelity`).
- ``max_disparity.<attribute>`` — the candidate's largest flag-rate ratio between a group and
  the reference group (as ``max(r, 1/r)``, suppressed groups left out), and
  ``outside_band.<attribute>`` (1 when some group's ratio is outside [0.8, 1.25]).
- ``pattern_recall.<family>.<pattern>`` and ``control_flag_rate.<family>.<control>`` — the
  seed patterns' variants (Sarah, John) flagged at their marked decisions, and the negative
  controls' decisions flagged (:func:`pattern_estimands`).
- ``seed_flag.<decision_id>`` — whether the candidate flags each seed-case decision (1/0).
- ``<estimand>.candidate[...]`` — the candidate's AUROC, AUPRC, recall at capacity, lead over
  practice and fidelity again under one name, whichever family the candidate is in the world.

Every function here is pure: frames and fitted models in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from secondlook.evaluate.compare import practice_comparison
from secondlook.evaluate.fairness import PARITY_BAND
from secondlook.evaluate.metrics import Scores
from secondlook.explain.contributions import explain_model
from secondlook.explain.fidelity import fidelity
from secondlook.models import INTERPRETABLE, CalibratedModel, label_column
from secondlook.schema import LABELS

__all__ = [
    "PROXY_TRAINED",
    "rank_metrics",
    "practice_estimands",
    "disparity_estimands",
    "flag_rate_ratios",
    "fidelity_estimands",
    "pattern_estimands",
    "world_estimands",
]

#: proxies a logistic model is trained and evaluated on for the external calibration
PROXY_TRAINED = ("cp_plan_12m", "removal_12m")


def _auroc(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if 0 < y.sum() < y.size else math.nan


def _auprc(y: np.ndarray, score: np.ndarray) -> float:
    return float(average_precision_score(y, score)) if 0 < y.sum() < y.size else math.nan


def rank_metrics(
    margins: Mapping[str, np.ndarray], test: pd.DataFrame, labels: Sequence[str] = LABELS
) -> dict[str, float]:
    """AUROC and AUPRC of each family's margin against each label present in ``test``.

    Parameters
    ----------
    margins
        Family -> margin on the test rows, shape (n_rows,).
    test
        The test split with ``label_<label>`` columns.
    labels
        Labels to measure against (missing columns are skipped).

    Returns
    -------
    dict
        ``auroc.<family>.<label>`` and ``auprc.<family>.<label>``; NaN where the label has one
        class only.
    """
    out: dict[str, float] = {}
    for label in labels:
        col = label_column(label)
        if col not in test.columns:
            continue
        y = test[col].to_numpy().astype(np.int64)
        for family, m in margins.items():
            out[f"auroc.{family}.{label}"] = _auroc(y, m)
            out[f"auprc.{family}.{label}"] = _auprc(y, m)
    return out


def practice_estimands(
    margins: Mapping[str, np.ndarray], test: pd.DataFrame, truth_label: str, seed: int
) -> dict[str, float]:
    """Recall at practice's workload: practice's, and each family's lead over it.

    Uses :func:`secondlook.evaluate.compare.practice_comparison` (one bootstrap replicate: only
    the point estimates are read).

    Returns
    -------
    dict
        ``practice_recall`` and ``lead_over_practice.<family>`` (recall difference, in [-1, 1]).
    """
    y = test[label_column(truth_label)].to_numpy().astype(bool)
    escalated = (test["practice_outcome"].astype(str) == "s47").to_numpy()
    table = practice_comparison(y, escalated, dict(margins), n_boot=1, seed=seed)
    recall = dict(zip(table["who"], table["recall"].to_numpy(dtype=np.float64), strict=True))
    lead = dict(zip(table["who"], table["vs_practice"].to_numpy(dtype=np.float64), strict=True))
    out = {"practice_recall": float(recall["practice"])}
    for family in margins:
        out[f"lead_over_practice.{family}"] = float(lead[family])
    return out


def flag_rate_ratios(
    y: np.ndarray, flag: np.ndarray, groups: np.ndarray, min_cell: int
) -> dict[str, float]:
    """Each group's flag rate over the reference group's, with the fairness stage's suppression.

    The flag-rate ratios of :func:`secondlook.evaluate.fairness.group_table` (no bootstrap),
    computed without its other metrics: the reference is the largest group, and a group's
    ratio is left out when its cells or the reference's are suppressed
    (:func:`secondlook.evaluate.fairness.suppress`, on the same counts). A world needs only
    these ratios; ``group_table`` computes every metric with fairlearn (4.6 CPU-seconds of a
    default-size world for five attributes).

    Parameters
    ----------
    y
        Binary label, shape (n_rows,).
    flag
        Flags, shape (n_rows,).
    groups
        Group of each row, shape (n_rows,).
    min_cell
        Suppress cells smaller than this.

    Returns
    -------
    dict
        Group -> ratio (NaN when the reference's flag rate is 0), for every group other than the
        reference whose ratio is not suppressed.
    """
    from secondlook.evaluate.fairness import GROUP_METRICS, _cells, group_labels, suppress

    yv = np.asarray(y).astype(np.int64)
    f = np.asarray(flag, dtype=bool)
    g = group_labels(groups)
    names = sorted(np.unique(g))
    masks = {name: g == name for name in names}
    sizes = pd.Series({k: int(v.sum()) for k, v in masks.items()})
    reference = str(sizes.sort_values(ascending=False, kind="stable").index[0])
    den = pd.DataFrame({k: _cells(yv[m], f[m]) for k, m in masks.items()}).T
    hidden = suppress(den, min_cell)
    kind = GROUP_METRICS["flag_rate"]
    if hidden.loc[reference, kind]:  # a hidden reference hides every ratio
        return {}
    ref_rate = float(f[masks[reference]].mean())
    out: dict[str, float] = {}
    for k in names:
        if k == reference or hidden.loc[k, kind]:
            continue
        rate = float(f[masks[k]].mean())
        out[k] = rate / ref_rate if ref_rate else math.nan
    return out


def disparity_estimands(
    scores: Scores,
    test: pd.DataFrame,
    truth_label: str,
    attributes: Sequence[str],
    min_cell: int,
    seed: int,
) -> dict[str, float]:
    """The candidate's largest flag-rate disparity per group attribute, and whether any is
    outside the parity band.

    Parameters
    ----------
    scores
        The candidate's probabilities and flags on the test rows.
    test
        The test split (``label_<truth_label>`` and ``group_<attribute>`` columns).
    truth_label, attributes, min_cell, seed
        The headline label, group attributes, small-cell threshold and seed (unused: no
        bootstrap; kept for the callers).

    Uses :func:`flag_rate_ratios` (the fairness stage's ratios and suppression, without
    bootstrap); suppressed groups (small cells) never enter the figure.

    Returns
    -------
    dict
        ``max_disparity.<attribute>`` (>= 1, NaN when every other group is suppressed) and
        ``outside_band.<attribute>`` (1.0 or 0.0, NaN likewise).
    """
    y = test[label_column(truth_label)].to_numpy().astype(np.int64)
    out: dict[str, float] = {}
    for attribute in attributes:
        groups = test[f"group_{attribute}"].astype(str).to_numpy()
        ratios = np.array(
            list(flag_rate_ratios(y, np.asarray(scores.flag), groups, min_cell).values()),
            dtype=np.float64,
        )
        ratios = ratios[np.isfinite(ratios) & (ratios > 0)]
        if ratios.size == 0:
            out[f"max_disparity.{attribute}"] = math.nan
            out[f"outside_band.{attribute}"] = math.nan
            continue
        out[f"max_disparity.{attribute}"] = float(np.max(np.maximum(ratios, 1 / ratios)))
        outside = (ratios < PARITY_BAND[0]) | (ratios > PARITY_BAND[1])
        out[f"outside_band.{attribute}"] = float(outside.any())
    return out


def fidelity_estimands(
    models: Mapping[str, CalibratedModel], test: pd.DataFrame, truth: pd.DataFrame, k: int
) -> dict[str, float]:
    """Top-``k`` overlap and Spearman correlation of each family's explanations with the truth.

    Parameters
    ----------
    models
        Family -> fitted model.
    test
        The test split.
    truth
        The truth rows aligned with ``test`` (``driver_<factor>`` columns).
    k
        ``explain.fidelity_k``.

    Returns
    -------
    dict
        ``fidelity_overlap.<family>`` and ``fidelity_spearman.<family>``.
    """
    out: dict[str, float] = {}
    for family, model in models.items():
        fid = fidelity(explain_model(model, test, check_additivity=False), truth, k=k)
        out[f"fidelity_overlap.{family}"] = float(fid["top_k_overlap"])
        out[f"fidelity_spearman.{family}"] = float(fid["spearman"])
    return out


def world_estimands(
    models: Mapping[str, CalibratedModel],
    proxy_models: Mapping[str, CalibratedModel],
    truth_logreg: CalibratedModel,
    test: pd.DataFrame,
    truth: pd.DataFrame,
    *,
    truth_label: str,
    select_by: str,
    attributes: Sequence[str],
    min_cell: int,
    fidelity_k: int,
    seed: int,
    seed_cases: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Every estimand of one world (see the module docstring for the names).

    Parameters
    ----------
    models
        Family -> model trained on ``train.label``, in the design's order.
    proxy_models
        Proxy label -> logistic model trained on it (:data:`PROXY_TRAINED`).
    truth_logreg
        A logistic model trained on the truth (the reference for ``proxy_cost``).
    test
        The test split (labels, ``practice_outcome``, ``group_`` columns).
    truth
        Truth rows aligned with ``test``.
    truth_label
        The headline label (``evaluate.label``).
    select_by
        ``auroc`` or ``auprc``: how the candidate is picked among interpretable families.
    attributes, min_cell
        Group attributes and small-cell threshold (``fairness``).
    fidelity_k
        Factors compared per decision.
    seed
        Seed of tie-breaking in the practice comparison.
    seed_cases
        Feature rows of the seed-case decisions (any split), or None.

    Returns
    -------
    dict
        ``candidate`` (a family name) and numeric estimands.
    """
    margins = {f: m.decision_function(test) for f, m in models.items()}
    row: dict[str, Any] = rank_metrics(margins, test)
    y = test[label_column(truth_label)].to_numpy().astype(np.int64)
    for family, model in models.items():
        flagged = model.flag(test)
        row[f"recall_at_capacity.{family}"] = (
            float((flagged & (y == 1)).sum() / y.sum()) if y.sum() else math.nan
        )
    interpretable = [f for f in models if f in INTERPRETABLE]
    metric = f"{select_by}.{{}}.{truth_label}"
    candidate = max(interpretable, key=lambda f: row[metric.format(f)], default=None)
    row["candidate"] = candidate or ""
    if candidate is not None and "gbm" in models:
        row["price_of_interpretability"] = row[metric.format("gbm")] - row[metric.format(candidate)]
    truth_margin = truth_logreg.decision_function(test)
    truth_auroc = _auroc(y, truth_margin)
    for proxy, model in proxy_models.items():
        m = model.decision_function(test)
        yp = test[label_column(proxy)].to_numpy().astype(np.int64)
        row[f"proxy_auroc.logreg.{proxy}"] = _auroc(yp, m)
        flagged = model.flag(test)
        row[f"proxy_recall_at_capacity.logreg.{proxy}"] = (
            float((flagged & (yp == 1)).sum() / yp.sum()) if yp.sum() else math.nan
        )
        row[f"proxy_on_truth_auroc.logreg.{proxy}"] = _auroc(y, m)
        row[f"proxy_cost.logreg.{proxy}"] = (
            truth_auroc - row[f"proxy_on_truth_auroc.logreg.{proxy}"]
        )
    row |= practice_estimands(margins, test, truth_label, seed)
    row |= fidelity_estimands(models, test, truth, fidelity_k)
    if candidate is not None:
        # the candidate's figures under one name, whichever family it is in this world
        for name in (
            f"auroc.{{}}.{truth_label}",
            f"auprc.{{}}.{truth_label}",
            "recall_at_capacity.{}",
            "lead_over_practice.{}",
            "fidelity_overlap.{}",
        ):
            row[name.format("candidate")] = row[name.format(candidate)]
        chosen = models[candidate]
        scores = Scores(chosen.probability(test), chosen.flag(test))
        row |= disparity_estimands(scores, test, truth_label, attributes, min_cell, seed)
        if seed_cases is not None and len(seed_cases):
            flags = models[candidate].flag(seed_cases)
            for did, flag in zip(seed_cases["decision_id"].astype(str), flags, strict=True):
                row[f"seed_flag.{did}"] = float(flag)
    return row


def pattern_estimands(
    models: Mapping[str, CalibratedModel],
    features: pd.DataFrame,
    marks: pd.DataFrame,
    candidate: str | None = None,
) -> dict[str, float]:
    """Recall of the seed patterns' marked decisions and the negative controls' flag rate.

    The variants (:func:`secondlook.synth.patterns.pattern_tables`) are scored, never trained
    on; a decision counts as flagged when the family's calibrated score passes its capacity cut,
    as in :func:`secondlook.evaluate.patterns.pattern_metrics` (whose reasons and bootstrap the
    sweep leaves out: the spread over worlds replaces the bootstrap).

    Parameters
    ----------
    models
        Family -> fitted model.
    features
        Feature rows of the variants' decisions (``decision_id`` and the inputs).
    marks
        ``decision_id``, ``pattern``, ``variant``, ``marked``.
    candidate
        The world's candidate family: its figures are repeated under the name ``candidate``.

    Returns
    -------
    dict
        ``pattern_recall.<family>.<pattern>`` (share of the marked decisions of the Sarah and
        John patterns flagged) and ``control_flag_rate.<family>.<control>`` (share of a negative
        control's decisions flagged), in [0, 1].

    Raises
    ------
    ValueError
        When a mark names a decision with no feature row.
    """
    from secondlook.evaluate.patterns import PATTERN_FACTORS

    missing = ~marks["decision_id"].isin(features["decision_id"])
    if missing.any():
        raise ValueError(
            f"pattern marks: no feature row for decision(s) {marks.loc[missing, 'decision_id'].head(5).tolist()}"
        )
    rows = marks.merge(features, on="decision_id", how="inner", validate="one_to_one")
    out: dict[str, float] = {}
    pattern = rows["pattern"].astype(str).to_numpy()
    marked = rows["marked"].to_numpy(dtype=bool)
    for family, model in models.items():
        flags = np.asarray(model.flag(rows), dtype=bool)
        for name in sorted(set(pattern)):
            if name in PATTERN_FACTORS:
                m = (pattern == name) & marked
                out[f"pattern_recall.{family}.{name}"] = (
                    float(flags[m].mean()) if m.any() else math.nan
                )
            else:
                out[f"control_flag_rate.{family}.{name}"] = float(flags[pattern == name].mean())
    if candidate is not None and candidate in models:
        for key in [k for k in out if f".{candidate}." in k]:
            out[key.replace(f".{candidate}.", ".candidate.", 1)] = out[key]
    return out
