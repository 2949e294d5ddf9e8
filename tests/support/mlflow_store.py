"""A throw-away MLflow store per test, and models to log in it.

``tracking_db`` is a migrated SQLite database copied into ``tmp_path``; import both fixtures
into a test module (``from tests.support.mlflow_store import migrated_db, tracking_db``) to use
it. :func:`save_toy_model` and :func:`family_run` fit, save and wrap a family on the toy
feature tables, as the train stage would.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secondlook import tracking
from secondlook.models import CalibratedModel, load_metadata, load_model, make_family, save_model
from secondlook.models.toy import toy_model_inputs

__all__ = ["LABEL", "family_run", "migrated_db", "save_toy_model", "tracking_db"]

#: the toy tables' training label
LABEL = "label_warrants_escalation"


def save_toy_model(
    family: str, cfg: Any, train: pd.DataFrame, valid: pd.DataFrame, folder: Path
) -> CalibratedModel:
    """Fit ``family`` on ``train``, calibrate it on ``valid`` and save it to ``folder``."""
    inputs = toy_model_inputs(list(train.columns))
    fam = make_family(family, cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam).fit(valid, valid[LABEL])
    save_model(model, folder, {"family": family})
    return model


def family_run(
    family: str,
    folder: Path,
    example: pd.DataFrame,
    *,
    metadata: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
) -> tracking.FamilyRun:
    """The run that logs the model saved in ``folder`` (its own metadata unless given)."""
    model = load_model(folder)
    return tracking.FamilyRun(
        family=family,
        model=model,
        metadata=load_metadata(folder) if metadata is None else metadata,
        metrics={"auroc": 0.9} if metrics is None else metrics,
        input_example=example[model.inputs].head(3).astype("float64"),
    )


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """An MLflow SQLite DB already migrated (copying it costs ~0.05 s, creating one ~2 s)."""
    db = tmp_path_factory.mktemp("mlflow") / "template.db"
    tracking.configure(f"sqlite:///{db}", experiment="warmup")
    return db


@pytest.fixture
def tracking_db(tmp_path, migrated_db, monkeypatch) -> str:
    db = tmp_path / "experiments" / "mlflow.db"
    db.parent.mkdir()
    shutil.copy(migrated_db, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri
