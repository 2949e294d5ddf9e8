"""Score the seed-pattern variants: recall at the marked decisions, reasons, control flag rates.

Per family and pattern, over the variants drawn by :mod:`secondlook.synth.patterns` (scored,
never trained on):

- ``recall`` -- share of the marked decisions of the Sarah and John patterns that are flagged;
- ``reasons_name_pattern`` -- share of marked decisions whose top-3 reasons that *raise* the
  score include a feature that is evidence of one of the pattern's factors;
- ``flag_rate`` -- for the negative controls, share of their decisions flagged;
- ``warrants`` -- share of the marked decisions the truth says warranted an enquiry.

Each share has a percentile bootstrap interval that resamples variants (households), so the
decisions of one variant stay together. Reasons are measured against the clean record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from secondlook.evaluate.resample import bootstrap_weights
from secondlook.explain import explain_model
from secondlook.features.catalogue import CATALOGUE
from secondlook.features.reference import clean_record_reference
from secondlook.models import CalibratedModel

__all__ = ["PATTERN_FACTORS", "pattern_metrics"]

#: the hidden factors each seed pattern is about (reasons name the pattern when they cite one)
PATTERN_FACTORS: dict[str, tuple[str, ...]] = {
    "sarah": ("drug", "alcohol", "mental_health"),
    "john": ("earlier_removal", "unassessed_violent_adult", "domestic_abuse"),
}
#: features that name a pattern although no hidden factor stands behind them in the catalogue
_PATTERN_FEATURES: dict[str, tuple[str, ...]] = {
    "sarah": ("sibling_referrals_3m", "sibling_referrals_12m", "sibling_referrals_36m"),
    "john": ("bruising_non_mobile",),
}


def _pattern_features(pattern: str) -> set[str]:
    factors = set(PATTERN_FACTORS.get(pattern, ()))
    named = {s.name for s in CATALOGUE if s.evidence_of in factors}
    return named | set(_PATTERN_FEATURES.get(pattern, ()))


def _share_ci(
    values: np.ndarray, groups: np.ndarray, n_boot: int, seed: int, ci: float
) -> dict[str, float]:
    """The share of ``values`` with a cluster-bootstrap interval: whole variants (``groups``)
    are resampled, with the package's one bootstrap (:mod:`secondlook.evaluate.resample`)."""
    if len(values) == 0:
        return {"value": float("nan"), "lo": float("nan"), "hi": float("nan"), "n": 0}
    labels, inv = np.unique(groups, return_inverse=True)
    sums = np.bincount(inv, weights=values.astype(float))
    counts = np.bincount(inv).astype(float)
    weights = bootstrap_weights(len(labels), n_boot, seed)  # (n_boot, variants): draw counts
    boot = (weights @ sums) / (weights @ counts)
    a = (1 - ci) / 2
    return {
        "value": float(values.mean()),
        "lo": float(np.quantile(boot, a)),
        "hi": float(np.quantile(boot, 1 - a)),
        "n": int(len(values)),
    }


def pattern_metrics(
    models: Mapping[str, CalibratedModel],
    features: pd.DataFrame,
    marks: pd.DataFrame,
    truth: pd.DataFrame,
    train: pd.DataFrame,
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    seed: int = 0,
    k: int = 3,
) -> dict[str, Any]:
    """Per family and pattern: recall, reasons that name the pattern, control flag rate.

    Parameters
    ----------
    models
        Fitted calibrated models by family.
    features
        Feature rows of the variants' decisions (``decision_id`` and the inputs).
    marks
        ``decision_id``, ``pattern``, ``variant``, ``marked``.
    truth
        ``decision_id`` and ``warrants_escalation``.
    train
        The training split (for the clean-record reference's most common values).
    n_boot, ci, seed
        Bootstrap resamples (over variants), interval level and seed.
    k
        Reasons inspected per decision.

    Returns
    -------
    dict
        ``{family: {pattern: {metric: {value, lo, hi, n}}}}``.
    """
    rows = marks.merge(features, on="decision_id", how="inner", validate="one_to_one")
    rows = rows.merge(truth[["decision_id", "warrants_escalation"]], on="decision_id")
    out: dict[str, Any] = {}
    for family, model in models.items():
        inputs = list(model.family.inputs_)
        flags = np.asarray(model.flag(rows), dtype=bool)
        probs = np.asarray(model.probability(rows), dtype=float)
        ref = clean_record_reference(train, inputs)
        expl = explain_model(model, rows, reference=ref)
        vals = np.asarray(expl.values)
        order = np.argsort(-vals, axis=1, kind="stable")[:, :k]
        per: dict[str, Any] = {}
        for pattern, sub in rows.groupby("pattern", sort=True):
            idx = sub.index.to_numpy()
            groups = sub["variant"].to_numpy()
            if pattern in PATTERN_FACTORS:
                m = sub["marked"].to_numpy(dtype=bool)
                named = _pattern_features(str(pattern))
                hits = np.array(
                    [
                        any(vals[i, j] > 1e-9 and inputs[j] in named for j in order[i])
                        for i in idx[m]
                    ],
                    dtype=bool,
                )
                per[str(pattern)] = {
                    "recall": _share_ci(flags[idx[m]], groups[m], n_boot, seed, ci),
                    "reasons_name_pattern": _share_ci(hits, groups[m], n_boot, seed, ci),
                    "warrants": _share_ci(
                        sub["warrants_escalation"].to_numpy(dtype=bool)[m], groups[m], n_boot,
                        seed, ci,
                    ),
                    "mean_probability": float(probs[idx[m]].mean()),
                }  # fmt: skip
            else:
                per[str(pattern)] = {
                    "flag_rate": _share_ci(flags[idx], groups, n_boot, seed, ci),
                    "mean_probability": float(probs[idx].mean()),
                }
        out[family] = per
    return out


def headline(result: Mapping[str, Any]) -> dict[str, Any]:
    """A few headline numbers of :func:`pattern_metrics` for ``metrics.json`` and MLflow.

    Returns
    -------
    dict
        ``{family: {sarah_recall, john_recall, sarah_reasons_name_pattern,
        john_reasons_name_pattern, control_frequent_flag_rate, control_deprived_flag_rate}}``.
    """
    out: dict[str, Any] = {}
    for family, per in result.items():
        row: dict[str, float] = {}
        for pattern, metrics in per.items():
            for name in ("recall", "reasons_name_pattern", "flag_rate"):
                if name in metrics:
                    row[f"{pattern}_{name}"] = metrics[name]["value"]
        out[family] = row
    return out


def run_patterns(
    models: Mapping[str, CalibratedModel],
    tables: Mapping[str, pd.DataFrame],
    train: pd.DataFrame,
    *,
    n_boot: int,
    ci: float,
    seed: int,
) -> dict[str, Any]:
    """Featurize the pattern variants' tables and score them with every model.

    Parameters
    ----------
    models
        Fitted calibrated models by family.
    tables
        From :func:`secondlook.synth.patterns.pattern_tables` (the CLI draws them: evaluation
        never imports the simulator).
    train
        The training split.
    n_boot, ci, seed
        Bootstrap settings.

    Returns
    -------
    dict
        ``patterns`` (the full result), ``headline`` and ``n_variants`` per pattern.
    """
    from secondlook.features import build_features
    from secondlook.models import add_group_inputs

    features = add_group_inputs(
        build_features(
            tables["households"], tables["people"], tables["events"], tables["decisions"]
        )
    )
    result = pattern_metrics(
        models, features, tables["marks"], tables["truth"], train, n_boot=n_boot, ci=ci, seed=seed
    )
    return {
        "n_variants": tables["marks"].groupby("pattern")["variant"].nunique().to_dict(),
        "headline": headline(result),
        "patterns": result,
    }
