"""The files the report reads, as dvc.yaml lays them out."""

from __future__ import annotations

import dataclasses
from pathlib import Path

__all__ = ["ReportInputs"]


@dataclasses.dataclass(frozen=True)
class ReportInputs:
    """The files the report reads (dvc.yaml passes each as a CLI option).

    Attributes
    ----------
    params
        params.yaml.
    summary
        ``data/raw/summary.json`` (calibration against published figures, prevalences, seed ids).
    decisions
        ``data/raw/decisions.parquet`` (dates and practice outcomes of the seed-case decisions).
    vignettes
        ``data/vignettes`` (each seed case's title and story).
    metrics, leaderboard, by_label, practice, seed_cases, plots
        The evaluate stage's outputs.
    models
        Folder of ``<family>/metadata.json`` (cut, versions of the packages a model was fitted
        with).
    fairness
        ``reports/fairness.json`` (optional: the fairness stage).
    explanations
        ``reports/explanations`` (optional: the explain stage's PNGs and JSON metrics).
    case_reviews
        ``reports/case-reviews`` (optional: one review pack per decision).
    dvc_lock
        ``dvc.lock`` (optional: output hashes).
    runs
        A JSON file of MLflow run ids (optional; see :func:`build_report`'s ``runs``).
    patterns
        ``reports/patterns.json`` (optional: the seed-pattern variants' metrics).
    policy
        ``reports/policy.json`` (optional: what the policy on reasons costs and buys).
    sweep
        ``reports/sweep/<design>`` (optional: a ``secondlook sweep`` over invented worlds).
    views
        ``reports/views/views.csv`` (optional: one model per view of the record).
    """

    params: Path
    summary: Path
    decisions: Path
    vignettes: Path
    metrics: Path
    leaderboard: Path
    by_label: Path
    practice: Path
    seed_cases: Path
    plots: Path
    models: Path
    fairness: Path
    explanations: Path
    case_reviews: Path
    dvc_lock: Path
    runs: Path | None = None
    patterns: Path | None = None
    policy: Path | None = None
    sweep: Path | None = None
    views: Path | None = None

    @classmethod
    def under(cls, root: Path) -> ReportInputs:
        """The default layout (that of dvc.yaml) under a repository root."""
        r = root / "reports"
        return cls(
            params=root / "params.yaml",
            summary=root / "data/raw/summary.json",
            decisions=root / "data/raw/decisions.parquet",
            vignettes=root / "data/vignettes",
            metrics=r / "metrics.json",
            leaderboard=r / "leaderboard.csv",
            by_label=r / "metrics-by-label.csv",
            practice=r / "practice-comparison.csv",
            seed_cases=r / "seed-cases.csv",
            plots=r / "plots",
            models=root / "models",
            fairness=r / "fairness.json",
            explanations=r / "explanations",
            case_reviews=r / "case-reviews",
            dvc_lock=root / "dvc.lock",
            patterns=r / "patterns.json",
            policy=r / "policy.json",
            sweep=r / "sweep" / "observability",
            views=r / "views" / "views.csv",
        )
