"""Time training of every family and the evaluation bootstrap against named baselines.

Usage::

    .venv/bin/python benchmarks/bench_train.py [--features features] [--rows 25000] [--boot 200]

1. **train**: each family in ``train.families`` with params.yaml settings on ``features/train``
   (calibrated on ``features/valid``); without the feature tables, on a toy world of ``--rows``
   rows. Baseline for ``ebm``: interpret's library defaults (14 outer bags, 3x interactions).
2. **bootstrap**: :func:`secondlook.evaluate.bootstrap` (weighted, one sort per model) against a
   naive loop that resamples rows and calls scikit-learn's metrics, for five models.

Prints seconds and the ratio ours / baseline (lower is better).
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from secondlook.evaluate import Scores, bootstrap
from secondlook.models import add_group_inputs, select_inputs, train_family
from secondlook.models.ebm import EBMModel
from secondlook.models.toy import toy_feature_table, toy_model_inputs
from secondlook.params import load_params, load_section

REPO = Path(__file__).resolve().parents[1]


def _splits(folder: Path, rows: int) -> tuple[pd.DataFrame, pd.DataFrame, list[str], str]:
    if (folder / "train.parquet").is_file():
        train = add_group_inputs(pd.read_parquet(folder / "train.parquet"))
        valid = add_group_inputs(pd.read_parquet(folder / "valid.parquet"))
        return train, valid, select_inputs(list(train.columns), False), f"{folder}/"
    train, valid = toy_feature_table(rows, 1), toy_feature_table(rows // 4, 2)
    return train, valid, toy_model_inputs(list(train.columns)), f"toy world ({rows} rows)"


def bench_train(folder: Path, rows: int) -> None:
    cfg = load_section("train", load_params(REPO / "params.yaml"))
    train, valid, inputs, source = _splits(folder, rows)
    print(f"train: {len(train)} rows x {len(inputs)} inputs from {source}")
    total = 0.0
    for family in cfg.families:
        t = time.perf_counter()
        _, meta = train_family(family, cfg, train, valid, inputs)
        dt = time.perf_counter() - t
        total += dt
        print(f"  {family:7s} {dt:7.2f} s  (fit {meta['fit_seconds']:.2f} s)")
    print(f"  all     {total:7.2f} s")
    label = f"label_{cfg.label}"
    t = time.perf_counter()
    EBMModel(random_state=cfg.seed, **dataclasses.asdict(cfg.ebm)).fit(
        train[inputs], train[label].to_numpy()
    )
    ours = time.perf_counter() - t
    from interpret.glassbox import ExplainableBoostingClassifier

    t = time.perf_counter()
    ExplainableBoostingClassifier(random_state=cfg.seed).fit(
        train[inputs].astype(float), train[label].to_numpy()
    )
    base = time.perf_counter() - t
    print(
        f"  ebm params.yaml {ours:.2f} s vs library defaults {base:.2f} s: ratio {ours / base:.2f}"
    )


def bench_bootstrap(n: int, n_boot: int) -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.12).astype(int)
    models = {}
    for i in range(5):
        p = np.clip(0.12 + 0.3 * (y - 0.12) + rng.normal(0, 0.1 + 0.02 * i, n), 0.001, 0.999)
        models[f"m{i}"] = Scores(p, p >= np.quantile(p, 0.9))
    t = time.perf_counter()
    bootstrap(y, models, n_boot=n_boot, seed=0)
    ours = time.perf_counter() - t
    t = time.perf_counter()
    for _ in range(n_boot):
        idx = rng.integers(0, n, n)
        for s in models.values():
            yy, pp, ff = y[idx], s.probability[idx], s.flag[idx]
            roc_auc_score(yy, pp), average_precision_score(yy, pp)
            brier_score_loss(yy, pp), log_loss(yy, pp)
            (yy[ff].mean(), ff[yy == 1].mean(), ff.mean())
    base = time.perf_counter() - t
    print(
        f"bootstrap: {n} rows, 5 models, {n_boot} replicates: ours {ours:.2f} s "
        f"(with ECE) vs naive sklearn loop {base:.2f} s (without ECE): ratio {ours / base:.3f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", type=Path, default=REPO / "features")
    ap.add_argument("--rows", type=int, default=25_000)
    ap.add_argument("--boot", type=int, default=200)
    args = ap.parse_args()
    bench_train(args.features, args.rows)
    bench_bootstrap(6000, args.boot)


if __name__ == "__main__":
    main()
