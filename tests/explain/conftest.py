"""Fixtures: a toy table with planted drivers, every family fitted on it, and a small world."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secondlook.models import CalibratedModel, save_model, train_family
from secondlook.models.toy import toy_feature_table, toy_model_inputs
from secondlook.params import TrainParams, load_params, load_section
from tests.models.conftest import fast_train_params as _fast

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ("rules", "logreg", "tree", "ebm", "gbm")


def fast_train_params() -> TrainParams:
    """The models tests' fast settings, with the committed GBM at 100 iterations and rate 0.1."""
    committed = load_section("train", load_params(REPO / "params.yaml"))
    return _fast(gbm=dataclasses.replace(committed.gbm, max_iter=100, learning_rate=0.1))


@pytest.fixture(scope="session")
def train_cfg() -> TrainParams:
    return fast_train_params()


@pytest.fixture(scope="session")
def toy() -> dict[str, pd.DataFrame]:
    return {
        "train": toy_feature_table(2000, seed=11),
        "valid": toy_feature_table(1000, seed=12),
        "test": toy_feature_table(600, seed=13),
    }


@pytest.fixture(scope="session")
def toy_models(toy: dict[str, pd.DataFrame], train_cfg: TrainParams) -> dict[str, CalibratedModel]:
    inputs = toy_model_inputs(list(toy["train"].columns))
    return {f: train_family(f, train_cfg, toy["train"], toy["valid"], inputs)[0] for f in FAMILIES}


@pytest.fixture(scope="session")
def small_pipeline(tmp_path_factory: pytest.TempPathFactory, synth_params: Any) -> dict[str, Any]:
    """A simulated world of 3,000 households with the seed cases: raw tables, features, models."""
    from secondlook.features.stage import assemble
    from secondlook.models import add_group_inputs, select_inputs
    from secondlook.synth import build_world
    from secondlook.synth.vignettes import load_vignettes

    root = tmp_path_factory.mktemp("explain-world")
    vignettes = load_vignettes(REPO / "data" / "vignettes", synth_params.vignettes)
    _, tables = build_world(synth_params, vignettes, n_households=3000)
    raw = root / "raw"
    raw.mkdir()
    for name, frame in tables.items():
        frame.to_parquet(raw / f"{name}.parquet")
    features = root / "features"
    features.mkdir()
    splits = assemble(tables, load_section("features", load_params(REPO / "params.yaml")))
    for name, frame in splits.items():
        frame.to_parquet(features / f"{name}.parquet")
    cfg = fast_train_params()
    train = add_group_inputs(splits["train"])
    valid = add_group_inputs(splits["valid"])
    inputs = select_inputs(list(train.columns), cfg.include_group_attributes)
    models = {}
    for f in FAMILIES:
        model, meta = train_family(f, cfg, train, valid, inputs)
        save_model(model, root / "models" / f, meta)
        models[f] = model
    return {
        "root": root,
        "raw": raw,
        "features": features,
        "models_dir": root / "models",
        "tables": tables,
        "splits": splits,
        "models": models,
        "cfg": cfg,
    }
