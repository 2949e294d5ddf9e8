"""Metrics with bootstrap intervals, the practice comparison, the seed cases, the leaderboard.

- :func:`bootstrap` -- AUROC, AUPRC, Brier, log loss, ECE, precision/recall/flag rate at the cut,
  each with a paired bootstrap interval;
- :func:`practice_comparison` -- at practice's number of escalations, who caught the referrals
  that warranted one;
- :func:`evaluate_models` / :func:`run_evaluate` -- the ``evaluate`` stage.
"""

from __future__ import annotations

from secondlook.evaluate.compare import practice_comparison, seed_case_table, top_k
from secondlook.evaluate.curves import calibration_frame, pr_frame, roc_frame
from secondlook.evaluate.metrics import METRICS, Bootstrap, Interval, Scores, bootstrap
from secondlook.evaluate.stage import (
    Evaluation,
    evaluate_models,
    leaderboard_markdown,
    run_evaluate,
)

__all__ = [
    "METRICS",
    "Bootstrap",
    "Evaluation",
    "Interval",
    "Scores",
    "bootstrap",
    "calibration_frame",
    "evaluate_models",
    "leaderboard_markdown",
    "practice_comparison",
    "pr_frame",
    "roc_frame",
    "run_evaluate",
    "seed_case_table",
    "top_k",
]
