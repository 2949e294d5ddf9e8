"""The ``evaluate`` stage: every family on the test split, against every label.

:func:`evaluate_models` is the pure core (models and a frame in, an :class:`Evaluation` out);
:func:`run_evaluate` is the stage entry that reads and writes the paths dvc.yaml passes and,
unless told not to, logs the pipeline run to MLflow through :mod:`secondlook.tracking`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from secondlook.errors import InputError, MissingInputError
from secondlook.evaluate.compare import practice_comparison, seed_case_table
from secondlook.evaluate.curves import calibration_frame, pr_frame, roc_frame
from secondlook.evaluate.leaderboard import leaderboard_markdown
from secondlook.evaluate.metrics import METRICS, Bootstrap, Scores, bootstrap
from secondlook.fileio import json_ready, write_json
from secondlook.models import (
    INTERPRETABLE,
    CalibratedModel,
    add_group_inputs,
    file_sha256,
    label_column,
    load_metadata,
    load_model,
)
from secondlook.params import NO_GROUND_TRUTH, EvaluateParams, TrainParams
from secondlook.schema import LABELS

__all__ = ["Evaluation", "evaluate_models", "leaderboard_markdown", "run_evaluate"]

#: metrics a lower value of which is better
LOWER_IS_BETTER = frozenset({"brier", "log_loss", "ece"})
#: metrics shown per label in metrics.json (the CSV has all of them)
BY_LABEL_IN_JSON = ("auroc", "auprc", "recall")


@dataclasses.dataclass
class Evaluation:
    """Everything the evaluate stage writes.

    Attributes
    ----------
    metrics
        The content of ``metrics.json``.
    by_label
        Long table: ``label``, ``family``, ``metric``, ``value``, ``lo``, ``hi``.
    leaderboard
        One row per family on the headline label, best first by ``evaluate.select_by``.
    practice
        The practice comparison (see :func:`~secondlook.evaluate.compare.practice_comparison`).
    seed_cases
        The seed cases' decisions with each family's score and flag.
    curves
        ``curves[kind][family]`` for kind in ``roc``, ``pr``, ``calibration``.
    best_interpretable
        The interpretable family with the best ``select_by`` on the headline label (or None).
    """

    metrics: dict[str, Any]
    by_label: pd.DataFrame
    leaderboard: pd.DataFrame
    practice: pd.DataFrame
    seed_cases: pd.DataFrame
    curves: dict[str, dict[str, pd.DataFrame]]
    best_interpretable: str | None


def _flat(boot: Bootstrap, family: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in METRICS:
        iv = boot.interval(family, k)
        out.update({k: iv.value, f"{k}_lo": iv.lo, f"{k}_hi": iv.hi})
    return out


def evaluate_models(
    models: Mapping[str, CalibratedModel],
    test: pd.DataFrame,
    cfg: EvaluateParams,
    *,
    train_label: str,
    seed_sources: Mapping[str, pd.DataFrame] | None = None,
    seed_prefixes: tuple[str, ...] = (),
) -> Evaluation:
    """Evaluate each model on ``test`` against every label present.

    Parameters
    ----------
    models
        Family -> fitted calibrated model, in report order.
    test
        The test feature table (``label_<x>`` columns, ``practice_outcome``, ``decision_id``).
    cfg
        The ``evaluate:`` section (headline label, bootstrap size, seed, interval level).
    train_label
        The label the models were trained on (reported beside the headline label).
    seed_prefixes
        Decision-id prefixes of the seed cases (from ``synth.vignettes``); none: no seed rows.
    seed_sources
        Split name -> feature table to look for seed-case decisions in (they fall in whichever
        split their dates put them; a ``split`` column says which, since scores on the training
        split are in-sample). Default: the test split only.

    Returns
    -------
    Evaluation
    """
    if not models:
        raise InputError("no models to evaluate")
    head = label_column(cfg.label)
    if head not in test.columns:
        raise InputError(f"the test split has no column {head} (evaluate.label)")
    probability = {f: m.probability(test) for f, m in models.items()}
    margin = {f: m.decision_function(test) for f, m in models.items()}
    flags = {f: margin[f] >= models[f].margin_threshold_ for f in models}
    scores = {f: Scores(probability[f], flags[f], margin[f]) for f in models}
    labels = [x for x in LABELS if label_column(x) in test.columns]
    boots, by_label = _every_label(test, scores, labels, cfg)
    if cfg.label not in boots:
        raise InputError(f"the test split's {head} has a single class; nothing to evaluate")
    main = boots[cfg.label]

    interpretable = [f for f in models if f in INTERPRETABLE]
    sign = -1.0 if cfg.select_by in LOWER_IS_BETTER else 1.0
    best = max(interpretable, key=lambda f: sign * main.point[f][cfg.select_by], default=None)

    y_head = test[head].to_numpy().astype(bool)
    if "practice_outcome" in test.columns:
        escalated = (test["practice_outcome"].astype(str) == "s47").to_numpy()
        practice = practice_comparison(
            y_head, escalated, margin, n_boot=cfg.n_boot, seed=cfg.seed, ci=cfg.ci
        )
    else:
        practice = pd.DataFrame()
    seeds = _seed_cases(models, seed_sources or {"test": test}, labels, seed_prefixes)
    curves = {
        "roc": {f: roc_frame(y_head, margin[f]) for f in models},
        "pr": {f: pr_frame(y_head, margin[f]) for f in models},
        "calibration": {
            f: calibration_frame(
                y_head, probability[f], cfg.ece_bins, *models[f].interval_from_margin(margin[f])[1:]
            )
            for f in models
        },
    }
    metrics: dict[str, Any] = {
        "label": cfg.label,
        "train_label": train_label,
        "n_test": len(test),
        "prevalence": float(y_head.mean()),
        "best_interpretable": best,
        "families": {f: _flat(main, f) for f in models},
        "by_label": {x: _by_label_json(b, models) for x, b in boots.items()},
    }
    metrics |= _price_and_practice_json(main, best, practice, models, cfg)
    return Evaluation(
        metrics=json_ready(metrics),
        by_label=by_label,
        leaderboard=_leaderboard(models, main, practice, cfg),
        practice=practice,
        seed_cases=seeds,
        curves=curves,
        best_interpretable=best,
    )


def _every_label(
    test: pd.DataFrame, scores: Mapping[str, Scores], labels: list[str], cfg: EvaluateParams
) -> tuple[dict[str, Bootstrap], pd.DataFrame]:
    """Bootstrap every metric of every family against each label with both classes present.

    Returns the bootstrap per label (seeded ``evaluate.seed`` + the label's position) and the
    long table ``label``, ``family``, ``metric``, ``value``, ``lo``, ``hi``.
    """
    boots: dict[str, Bootstrap] = {}
    rows = []
    for i, x in enumerate(labels):
        y = test[label_column(x)].to_numpy().astype(np.int64)
        if y.min() == y.max():
            continue  # one class only: no ranking metric is defined
        boots[x] = bootstrap(
            y, scores, n_boot=cfg.n_boot, seed=cfg.seed + i, ci=cfg.ci, ece_bins=cfg.ece_bins
        )
        for f in scores:
            for k in METRICS:
                iv = boots[x].interval(f, k)
                rows.append(
                    {"label": x, "family": f, "metric": k, "value": iv.value}
                    | {"lo": iv.lo, "hi": iv.hi}
                )
    by_label = pd.DataFrame(rows, columns=["label", "family", "metric", "value", "lo", "hi"])
    return boots, by_label


def _by_label_json(boot: Bootstrap, families: Iterable[str]) -> dict[str, dict[str, float]]:
    """``{family: {metric, metric_lo, metric_hi}}`` for the metrics of :data:`BY_LABEL_IN_JSON`."""
    return {
        f: {
            key: val
            for k in BY_LABEL_IN_JSON
            for key, val in zip(
                (k, f"{k}_lo", f"{k}_hi"), dataclasses.astuple(boot.interval(f, k)), strict=True
            )
        }
        for f in families
    }


def _leaderboard(
    models: Mapping[str, CalibratedModel],
    main: Bootstrap,
    practice: pd.DataFrame,
    cfg: EvaluateParams,
) -> pd.DataFrame:
    """One row per family on the headline label, best first by ``evaluate.select_by``."""
    board_rows = []
    for f in models:
        row: dict[str, Any] = {
            "family": f,
            "interpretable": f in INTERPRETABLE,
            "label": cfg.label,
            **_flat(main, f),
        }
        if not practice.empty:
            p = practice.set_index("who").loc[f]
            row |= {
                "recall_at_practice_k": p["recall"],
                "recall_at_practice_k_lo": p["recall_lo"],
                "recall_at_practice_k_hi": p["recall_hi"],
            }
        if "gbm" in models:
            d = main.difference("gbm", f, cfg.select_by)
            row |= {
                f"price_{cfg.select_by}": d.value,
                f"price_{cfg.select_by}_lo": d.lo,
                f"price_{cfg.select_by}_hi": d.hi,
            }
        board_rows.append(row)
    board = pd.DataFrame(board_rows)
    return board.sort_values(
        cfg.select_by, ascending=cfg.select_by in LOWER_IS_BETTER, kind="stable"
    ).reset_index(drop=True)


def _price_and_practice_json(
    main: Bootstrap,
    best: str | None,
    practice: pd.DataFrame,
    models: Mapping[str, CalibratedModel],
    cfg: EvaluateParams,
) -> dict[str, Any]:
    """``price_of_interpretability`` (gbm minus the best interpretable family) and
    ``practice`` (each family at practice's workload), where they can be computed."""
    out: dict[str, Any] = {}
    if best is not None and "gbm" in models:
        d = main.difference("gbm", best, cfg.select_by)
        out["price_of_interpretability"] = {
            "metric": cfg.select_by,
            "family": best,
            "gbm_minus_family": d.value,
            "lo": d.lo,
            "hi": d.hi,
        }
    if not practice.empty:
        out["practice"] = {
            str(r["who"]): {
                "escalations": int(r["escalations"]),
                "caught": int(r["caught"]),
                "recall": r["recall"],
                "recall_lo": r["recall_lo"],
                "recall_hi": r["recall_hi"],
            }
            for r in practice.to_dict("records")
        }
    return out


def _seed_cases(
    models: Mapping[str, CalibratedModel],
    sources: Mapping[str, pd.DataFrame],
    labels: list[str],
    prefixes: tuple[str, ...],
) -> pd.DataFrame:
    parts = []
    for split, frame in sources.items():
        if not prefixes:
            break
        rows = frame[frame["decision_id"].astype(str).str.startswith(prefixes)]
        if rows.empty:
            continue
        prob = {f: m.probability(rows) for f, m in models.items()}
        flag = {f: m.flag(rows) for f, m in models.items()}
        table = seed_case_table(rows, prob, flag, labels, prefixes)
        table.insert(1, "split", split)
        parts.append(table)
    if not parts:
        return pd.DataFrame(columns=["decision_id", "split"])
    out = pd.concat(parts, ignore_index=True)
    # one child's decisions together, in date order
    keys = [c for c in ("person_id", "decision_date", "decision_id") if c in out.columns]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def run_evaluate(
    cfg: EvaluateParams,
    train_cfg: TrainParams,
    models_dir: Path,
    test_path: Path,
    *,
    metrics_path: Path,
    leaderboard_md: Path,
    leaderboard_csv: Path,
    by_label_csv: Path,
    practice_csv: Path,
    seed_cases_csv: Path,
    plots_dir: Path,
    seed_splits: Mapping[str, Path] | None = None,
    seed_prefixes: tuple[str, ...] = (),
    catalogue: Path | None = None,
    track: bool = True,
    log: Callable[[str], Any] = print,
    patterns_path: Path | None = None,
) -> Evaluation:
    """Stage entry: load ``models_dir/<family>`` for each of ``train.families``, evaluate, write.

    Parameters
    ----------
    cfg, train_cfg
        The ``evaluate:`` and ``train:`` sections.
    models_dir
        Folder holding one model folder per family.
    test_path
        The test feature table (parquet).
    metrics_path, leaderboard_md, leaderboard_csv, by_label_csv, practice_csv, seed_cases_csv
        Output files.
    plots_dir
        Folder for ``roc/<family>.csv``, ``pr/<family>.csv``, ``calibration/<family>.csv``.
    seed_splits
        Other splits (name -> parquet) to look for seed-case decisions in, e.g. train and valid.
    seed_prefixes
        Decision-id prefixes of the seed cases
        (:func:`secondlook.schema.seed_case_prefixes` of ``synth.vignettes``).
    catalogue
        The feature catalogue, attached to the MLflow run.
    patterns_path
        ``reports/patterns.json`` from the patterns stage (optional): its headline numbers
        (pattern recall, reasons naming the pattern, control flag rates) join ``metrics.json``
        under ``patterns`` and the MLflow run.
    track
        Log the run to MLflow (parent run, child run and registered model per family).
    log
        Where progress lines go.

    Returns
    -------
    Evaluation
    """
    for path in (test_path, *(seed_splits or {}).values()):
        if not Path(path).is_file():
            raise MissingInputError(f"{path} not found; run `dvc repro featurize` first")
    models = {f: load_model(models_dir / f) for f in train_cfg.families}
    metas = {f: load_metadata(models_dir / f) for f in train_cfg.families}
    test = add_group_inputs(pd.read_parquet(test_path))
    sources = {
        name: add_group_inputs(pd.read_parquet(path)) for name, path in (seed_splits or {}).items()
    } | {"test": test}
    ev = evaluate_models(
        models,
        test,
        cfg,
        train_label=train_cfg.label,
        seed_sources=sources,
        seed_prefixes=seed_prefixes,
    )
    ev.metrics["test_sha256"] = file_sha256(test_path)
    ev.metrics |= _observed_label_notes(test, cfg)
    if patterns_path is not None:
        if not patterns_path.is_file():
            raise MissingInputError(f"{patterns_path} not found; run `dvc repro patterns` first")
        ev.metrics["patterns"] = json.loads(patterns_path.read_text())["headline"]

    tables = {
        leaderboard_csv: ev.leaderboard,
        by_label_csv: ev.by_label,
        practice_csv: ev.practice,
        seed_cases_csv: ev.seed_cases,
    }
    for path in (metrics_path, leaderboard_md, *tables):
        path.parent.mkdir(parents=True, exist_ok=True)
    write_json(metrics_path, ev.metrics)
    leaderboard_md.write_text(leaderboard_markdown(ev, cfg))
    for path, frame in tables.items():
        frame.to_csv(path, index=False, float_format="%.6g")
    for kind, per in ev.curves.items():
        (plots_dir / kind).mkdir(parents=True, exist_ok=True)
        for name, frame in per.items():
            frame.to_csv(plots_dir / kind / f"{name}.csv", index=False, float_format="%.6g")
    for r in ev.leaderboard.to_dict("records"):
        log(
            f"evaluate {r['family']}: AUROC {r['auroc']:.3f} ({r['auroc_lo']:.3f}-"
            f"{r['auroc_hi']:.3f}), AUPRC {r['auprc']:.3f}, recall@cut {r['recall']:.3f}"
        )
    if track:
        artifacts = [
            leaderboard_md,
            leaderboard_csv,
            practice_csv,
            seed_cases_csv,
            by_label_csv,
            metrics_path,
            plots_dir,
            catalogue,
        ]
        out = _log_run(
            ev, cfg, train_cfg, models, metas, test, [p for p in artifacts if p is not None]
        )
        log(
            f"mlflow: run {out['parent_run_id']} at {out['tracking_uri']}; "
            f"candidate = {ev.best_interpretable}"
        )
    return ev


def _observed_label_notes(test: pd.DataFrame, cfg: EvaluateParams) -> dict[str, str]:
    """On real records (data.source: cohort; no ``label_warrants_escalation``) every figure is
    against an observed label: ``ground_truth`` and ``practice_note`` say so. Else nothing."""
    if "label_warrants_escalation" in test.columns:
        return {}
    return {
        "ground_truth": NO_GROUND_TRUTH,
        "practice_note": (
            f"measured against {cfg.label}, an outcome practice's own decisions lead to (a plan "
            "follows an enquiry practice chose to make), so practice's recall is high by "
            "construction; it is not recall of the children who were really at risk"
        ),
    }


def _log_run(
    ev: Evaluation,
    cfg: EvaluateParams,
    train_cfg: TrainParams,
    models: Mapping[str, CalibratedModel],
    metas: Mapping[str, dict[str, Any]],
    test: pd.DataFrame,
    artifacts: list[Path],
) -> dict[str, Any]:
    """Log the pipeline run to MLflow: a child run and a registered model per family, the
    headline numbers (price of interpretability, prevalence, pattern headline) on the parent."""
    from secondlook import tracking

    example = {f: test[m.inputs].head(5).astype("float64") for f, m in models.items()}
    runs = [
        tracking.FamilyRun(
            family=f,
            model=models[f],
            metadata=metas[f],
            metrics=ev.metrics["families"][f],
            input_example=example[f],
        )
        for f in models
    ]
    head = {
        k: v
        for k, v in (
            ev.metrics.get("price_of_interpretability", {})
            | {"prevalence": ev.metrics["prevalence"]}
        ).items()
        if isinstance(v, int | float)
    }
    pattern_head = {
        f"patterns_{family}_{k}": v
        for family, row in ev.metrics.get("patterns", {}).items()
        for k, v in row.items()
        if isinstance(v, int | float) and v == v  # NaN-free
    }
    return tracking.log_pipeline_run(
        runs,
        params={"train": train_cfg, "evaluate": cfg},
        metrics={f"price_{k}" if k != "prevalence" else k: v for k, v in head.items()}
        | pattern_head,
        artifacts=artifacts,
        candidate=ev.best_interpretable,
        tags={
            "test_sha256": ev.metrics["test_sha256"],
            "train_sha256": str(next(iter(metas.values())).get("data", {}).get("train_sha256", "")),
            "label": train_cfg.label,
        },
    )
