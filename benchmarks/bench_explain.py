"""Time the exact explanations against SHAP's model-agnostic permutation explainer.

Usage: ``python benchmarks/bench_explain.py [--models models] [--test features/test.parquet]
[--rows 100]``. For every family it explains the same test rows twice:

- **exact**: :func:`secondlook.explain.explain_model` (closed form / TreeSHAP / EBM terms /
  checklist points), additivity checked;
- **baseline**: ``shap.PermutationExplainer`` on the family's margin with an independent masker
  of 100 training-distribution rows (the test split here) and ``max_evals = 2 * n_features + 1``
  (its minimum: one permutation each way).

It prints seconds per 1,000 rows for both, the ratio baseline / exact (how many times faster the
exact method is) and the largest difference between the two sets of contributions (the
permutation explainer estimates with a background, so it is not expected to be 0), plus the
exact method's throughput on the whole split.

A second table times the explanations against the clean record (exact baseline Shapley values,
:mod:`secondlook.explain.baseline`) on the whole test split beside today's mean-referenced exact
ones, and prints the ratio clean / mean per family, in wall and in CPU seconds (the target is at
most 2). ``--clean-only`` prints that table alone.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shap

from secondlook.explain import additivity_error, explain_model
from secondlook.features.reference import clean_record_reference
from secondlook.models import add_group_inputs, as_inputs, load_model

ROOT = Path(__file__).resolve().parents[1]
FAMILIES = ("rules", "logreg", "tree", "ebm", "gbm")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models")
    parser.add_argument("--test", type=Path, default=ROOT / "features" / "test.parquet")
    parser.add_argument("--train", type=Path, default=ROOT / "features" / "train.parquet")
    parser.add_argument("--rows", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--clean-only", action="store_true", help="only the clean-record vs mean table"
    )
    args = parser.parse_args()
    test = add_group_inputs(pd.read_parquet(args.test))
    if args.clean_only:
        clean_record_table(args.models, test, add_group_inputs(pd.read_parquet(args.train)))
        return
    rng = np.random.default_rng(args.seed)
    rows = test.iloc[np.sort(rng.choice(len(test), size=min(args.rows, len(test)), replace=False))]
    print(
        f"{'family':8} {'exact s/1k':>11} {'perm s/1k':>10} {'ratio':>8} {'max|diff|':>10} "
        f"{'additivity':>11} {'full split':>14}"
    )
    for family in FAMILIES:
        model = load_model(args.models / family)
        inputs = model.inputs
        X = as_inputs(rows, inputs)
        t0 = time.perf_counter()
        exact = explain_model(model, X)
        t_exact = time.perf_counter() - t0
        background = as_inputs(test.sample(100, random_state=args.seed), inputs)
        masker = shap.maskers.Independent(background, max_samples=100)

        def f(a: np.ndarray, cols: list[str] = inputs, m: object = model) -> np.ndarray:
            return m.decision_function(pd.DataFrame(a, columns=cols))  # type: ignore[attr-defined]

        explainer = shap.PermutationExplainer(f, masker)
        t0 = time.perf_counter()
        perm = explainer(X, max_evals=2 * len(inputs) + 1, silent=True)
        t_perm = time.perf_counter() - t0
        diff = float(np.max(np.abs(perm.values - exact.values)))
        full = as_inputs(test, inputs)
        t0 = time.perf_counter()
        whole = explain_model(model, full)
        t_full = time.perf_counter() - t0
        err = additivity_error(whole, model.decision_function(full))
        print(
            f"{family:8} {1000 * t_exact / len(X):11.4f} {1000 * t_perm / len(X):10.2f} "
            f"{t_perm / t_exact:8.0f} {diff:10.3f} {err:11.1e} "
            f"{len(full) / t_full:9.0f} rows/s"
        )
    clean_record_table(args.models, test, add_group_inputs(pd.read_parquet(args.train)))


def _best_of(repeats: int, run: Callable[[], object]) -> tuple[float, float]:
    """The fastest of ``repeats`` runs: (wall seconds, CPU seconds of this process)."""
    wall, cpu = np.inf, np.inf
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        run()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def clean_record_table(
    models: Path, test: pd.DataFrame, train: pd.DataFrame, repeats: int = 3
) -> None:
    """Whole test split: clean-record vs mean-referenced exact explanations, seconds and ratio.

    Each is timed ``repeats`` times after one warm-up call (the tree explainers are built
    once per model) and the fastest run is kept, as wall and as CPU seconds: on a shared
    machine the CPU seconds say more.
    """
    print(
        f"\n{'family':8} {'mean s':>8} {'clean s':>8} {'ratio':>6} {'mean cpu':>9} "
        f"{'clean cpu':>9} {'ratio':>6} {'additivity':>11}"
    )
    for family in FAMILIES:
        model = load_model(models / family)
        full = as_inputs(test, model.inputs)
        reference = clean_record_reference(train, list(model.inputs))
        explain_model(model, full.iloc[:10], check_additivity=False)
        explain_model(model, full.iloc[:10], check_additivity=False, reference=reference)
        w_mean, c_mean = _best_of(
            repeats, lambda m=model, x=full: explain_model(m, x, check_additivity=False)
        )
        w_clean, c_clean = _best_of(
            repeats,
            lambda m=model, x=full, r=reference: explain_model(
                m, x, check_additivity=False, reference=r
            ),
        )
        clean = explain_model(model, full, check_additivity=False, reference=reference)
        err = additivity_error(clean, model.decision_function(full))
        print(
            f"{family:8} {w_mean:8.3f} {w_clean:8.3f} {w_clean / w_mean:6.2f} {c_mean:9.3f} "
            f"{c_clean:9.3f} {c_clean / c_mean:6.2f} {err:11.1e}"
        )


if __name__ == "__main__":
    main()
