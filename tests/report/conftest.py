"""A tiny real pipeline run, made once per session by the stages' own entry functions.

generate -> featurize -> train (five families, fast settings) -> evaluate (tracked to a
throwaway MLflow store) -> fairness -> explain, all under a temporary folder laid out as
dvc.yaml lays out the repository, so the report is built from real outputs, never from made-up
numbers.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secondlook.params import TrainParams, load_params, load_section
from secondlook.report import ReportInputs
from secondlook.schema import seed_case_prefixes

REPO = Path(__file__).resolve().parents[2]
#: where the browser test keeps its screenshots and PDFs (git-ignored)
ARTIFACTS = REPO / "test-artifacts" / "report"
N_HOUSEHOLDS = 3000


def _quiet(_: str) -> None:
    pass


def _fast_train(data: dict[str, Any]) -> TrainParams:
    """params.yaml's train section with EBM and GBM settings that fit in about a second."""
    cfg = load_section("train", data)
    return dataclasses.replace(
        cfg,
        ebm=dataclasses.replace(
            cfg.ebm, interactions=2, outer_bags=1, max_rounds=300, max_bins=64, n_jobs=1
        ),
        gbm=dataclasses.replace(cfg.gbm, max_iter=40, learning_rate=0.1, min_samples_leaf=20),
    )


def _train_and_evaluate(
    root: Path, data: dict[str, Any], cfg: TrainParams, *, n_boot: int, track: bool
) -> None:
    """Train every family of ``cfg`` and evaluate them, in the layout dvc.yaml uses."""
    from secondlook.evaluate.stage import run_evaluate
    from secondlook.models.stage import run_train

    for family in cfg.families:
        run_train(
            cfg,
            family,
            root / "features/train.parquet",
            root / "features/valid.parquet",
            root / "models" / family,
            log=_quiet,
        )
    r = root / "reports"
    run_evaluate(
        dataclasses.replace(load_section("evaluate", data), n_boot=n_boot),
        cfg,
        root / "models",
        root / "features/test.parquet",
        metrics_path=r / "metrics.json",
        leaderboard_md=r / "leaderboard.md",
        leaderboard_csv=r / "leaderboard.csv",
        by_label_csv=r / "metrics-by-label.csv",
        practice_csv=r / "practice-comparison.csv",
        seed_cases_csv=r / "seed-cases.csv",
        plots_dir=r / "plots",
        seed_prefixes=seed_case_prefixes(load_section("synth", data).vignettes),
        track=track,
        log=_quiet,
    )


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The root of a tiny pipeline run with every stage's outputs."""
    from secondlook.evaluate.fairness_stage import run_fairness
    from secondlook.explain.stage import run_explain
    from secondlook.features.stage import assemble, run_featurize
    from secondlook.models import load_model
    from secondlook.synth import build_world
    from secondlook.synth.stage import run_generate

    root = tmp_path_factory.mktemp("tiny-pipeline")
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{root / 'mlflow.db'}"
    try:
        data = load_params(REPO / "params.yaml")
        synth = dataclasses.replace(
            load_section("synth", data), n_households=N_HOUSEHOLDS, cohort_households=20
        )
        features_cfg = load_section("features", data)
        train_cfg = _fast_train(data)
        shutil.copytree(REPO / "data" / "vignettes", root / "data" / "vignettes")
        (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
        run_generate(
            synth,
            root / "data/raw",
            root / "data/cohort",
            root / "data/vignettes",
            log=_quiet,
        )
        run_featurize(features_cfg, root / "data/raw", root / "features", synth=synth, log=_quiet)
        _train_and_evaluate(root, data, train_cfg, n_boot=100, track=True)
        r = root / "reports"
        splits = {
            n: pd.read_parquet(root / "features" / f"{n}.parquet")
            for n in ("train", "valid", "test")
        }
        fitted = {f: load_model(root / "models" / f) for f in train_cfg.families}

        def planted_biases_off() -> dict[str, pd.DataFrame]:
            _, tables = build_world(synth.without_planted_biases())
            return assemble(tables, features_cfg)

        # a tiny world: with the default min_cell nearly every cell would be suppressed, so
        # only cells of zero decisions are (suppression itself is tested in tests/evaluate)
        run_fairness(
            dataclasses.replace(load_section("fairness", data), n_boot=30, min_cell=1),
            train_cfg,
            fitted,
            splits,
            planted_biases_off,
            r / "fairness.json",
            r / "fairness",
            log=_quiet,
        )
        run_explain(
            dataclasses.replace(
                load_section("explain", data),
                n_boot=2,
                n_packs=2,
                stability_rows=200,
                plot_rows=300,
                n_dependence=1,
            ),
            train_cfg,
            root / "models",
            root / "features",
            root / "data/raw",
            r / "explanations",
            r / "case-reviews",
            seed_prefixes=seed_case_prefixes(synth.vignettes),
            log=_quiet,
        )
        yield root
    finally:
        if saved is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved


@pytest.fixture(scope="session")
def toy_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fast run: the five families trained and evaluated on the models' toy feature tables.

    No generator, fairness or explain outputs: the report built from it has those sections
    marked "not available in this run", which is what the fast tests check.
    """
    from secondlook.models.toy import toy_feature_table

    root = tmp_path_factory.mktemp("toy-run")
    data = load_params(REPO / "params.yaml")
    (root / "params.yaml").write_text((REPO / "params.yaml").read_text())
    (root / "features").mkdir()
    for name, n, seed in (("train", 1500, 1), ("valid", 1000, 2), ("test", 1500, 3)):
        toy_feature_table(n, seed=seed).to_parquet(root / "features" / f"{name}.parquet")
    cfg = _fast_train(data)
    _train_and_evaluate(root, data, cfg, n_boot=50, track=False)
    return root


@pytest.fixture(scope="session")
def inputs(pipeline: Path) -> ReportInputs:
    """Every input of the tiny run; dvc.lock is the repository's (the tiny run has none)."""
    return dataclasses.replace(ReportInputs.under(pipeline), dvc_lock=REPO / "dvc.lock")
