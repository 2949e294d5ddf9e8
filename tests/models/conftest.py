"""Tiny seeded worlds with a planted signal, and fast training settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from secondlook.models.toy import toy_feature_table, toy_model_inputs
from secondlook.params import EBMParams, GBMParams, TrainParams, load_params, load_section

REPO = Path(__file__).resolve().parents[2]


#: EBM and GBM settings that fit the toy tables in a fraction of a second
FAST_EBM = EBMParams(
    interactions=2,
    outer_bags=1,
    max_rounds=300,
    learning_rate=0.05,
    max_bins=64,
    min_samples_leaf=4,
    n_jobs=1,
)
FAST_GBM = GBMParams(
    max_iter=60,
    learning_rate=0.1,
    max_leaf_nodes=15,
    min_samples_leaf=20,
    l2_regularization=1.0,
    n_threads=1,
)


def fast_train_params(**changes: object) -> TrainParams:
    """params.yaml's train section with :data:`FAST_EBM` and :data:`FAST_GBM` (unless
    ``changes`` name others) and any other ``changes``."""
    cfg = load_section("train", load_params(REPO / "params.yaml"))
    fast = {"ebm": FAST_EBM, "gbm": FAST_GBM}
    return dataclasses.replace(cfg, **(fast | changes))  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def world() -> dict[str, pd.DataFrame]:
    return {
        "train": toy_feature_table(2000, seed=1),
        "valid": toy_feature_table(1500, seed=2),
        "test": toy_feature_table(3000, seed=3),
    }


@pytest.fixture(scope="session")
def inputs(world: dict[str, pd.DataFrame]) -> list[str]:
    return toy_model_inputs(list(world["train"].columns))


@pytest.fixture(scope="session")
def cfg() -> TrainParams:
    return fast_train_params()
