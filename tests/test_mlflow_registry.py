"""secondlook.mlflow_registry: a registered model read back, checked against its trained hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from secondlook import mlflow_registry, tracking
from secondlook.models import (
    file_sha256,
    load_metadata,
    load_model,
)
from secondlook.models.persist import ModelIntegrityError, content_sha256
from secondlook.models.toy import toy_feature_table
from secondlook.params import load_params, load_section
from tests.support.mlflow_store import family_run, migrated_db, save_toy_model, tracking_db

__all__ = ["migrated_db", "tracking_db"]  # the fixtures these tests use

REPO = Path(__file__).resolve().parents[1]


def _register(tmp_path: Path, metadata_of: dict[str, dict]) -> dict[str, object]:
    """Save a logreg model and log one pipeline run per metadata given (candidate: logreg)."""
    cfg = load_section("train", load_params(REPO / "params.yaml"))
    train, valid, test = (toy_feature_table(800, s) for s in (1, 2, 3))
    folder = tmp_path / "models" / "logreg"
    save_toy_model("logreg", cfg, train, valid, folder)
    for metadata in metadata_of.values():
        run = family_run("logreg", folder, test, metadata=metadata or None)
        tracking.log_pipeline_run([run], params={}, metrics={}, artifacts=[], candidate="logreg")
    return {"folder": folder, "test": test}


def test_registered_model_is_checked_against_the_trained_hash(tmp_path, tracking_db):
    """MLflow re-serialises the model; its normalised content must hash to model_sha256."""
    from secondlook.score.model import resolve_model

    got = _register(tmp_path, {"ok": {}})
    folder = got["folder"]
    recorded = load_metadata(folder)
    uri = f"models:/{tracking.registered_name('logreg')}@candidate"
    info = mlflow_registry.fetch_registered_model(uri, tmp_path / "dl")
    skops = (Path(info["folder"]) / "model.skops").read_bytes()
    # MLflow's bytes are its own; what they hold is what train wrote
    assert file_sha256(folder / "model.skops") == recorded["model_sha256"]
    assert content_sha256(skops) == recorded["model_content_sha256"]
    assert load_metadata(info["folder"])["model_sha256"] == hashlib.sha256(skops).hexdigest()
    bundle = resolve_model(uri)
    assert bundle.version == "1" and bundle.metadata["family"] == "logreg"
    X = got["test"][bundle.model.inputs]
    np.testing.assert_array_equal(
        bundle.model.predict_proba(X), load_model(folder).predict_proba(X)
    )


def test_registered_model_that_does_not_match_its_hash_is_refused(tmp_path, tracking_db):
    from secondlook.score.errors import ModelLoadError
    from secondlook.score.model import resolve_model

    wrong = {"family": "logreg", "model_content_sha256": "0" * 64}
    _register(tmp_path, {"wrong": wrong})
    uri = f"models:/{tracking.registered_name('logreg')}@candidate"
    with pytest.raises(ModelIntegrityError, match="has been altered since it was trained"):
        mlflow_registry.fetch_registered_model(uri, tmp_path / "dl")
    with pytest.raises(ModelLoadError, match=f"model {uri}: registered model .* altered"):
        resolve_model(uri)


def test_registered_model_without_a_recorded_hash_is_refused(tmp_path, tracking_db):
    from secondlook.score.errors import ModelLoadError
    from secondlook.score.model import resolve_model

    _register(tmp_path, {"old": {"family": "logreg"}})
    uri = f"models:/{tracking.registered_name('logreg')}/1"
    with pytest.raises(ModelLoadError, match="cannot be checked.*retrain"):
        resolve_model(uri)


def test_every_family_round_trips_through_the_registry_and_scores(tmp_path, tracking_db):
    """MLflow saves each model again; every family's registered version must verify and give
    exactly the trained folder's probabilities (the tree's node padding changes between saves)."""
    from secondlook.score.model import resolve_model
    from tests.models.conftest import fast_train_params

    cfg = fast_train_params()
    train, valid, test = (toy_feature_table(800, s) for s in (1, 2, 3))
    runs = []
    for family in cfg.families:
        save_toy_model(family, cfg, train, valid, tmp_path / family)
        runs.append(family_run(family, tmp_path / family, test))
    assert sorted(cfg.families) == ["ebm", "gbm", "logreg", "rules", "tree"]
    tracking.log_pipeline_run(runs, params={}, metrics={}, artifacts=[], candidate="logreg")
    for family in cfg.families:
        bundle = resolve_model(f"models:/{tracking.registered_name(family)}/1")
        saved = load_model(tmp_path / family)
        X = test[saved.inputs]
        np.testing.assert_array_equal(bundle.model.predict_proba(X), saved.predict_proba(X))
        assert bundle.version == "1" and bundle.metadata["family"] == family
        # one identity for one model: the folder's and the registry's content hash agree
        folder = resolve_model(str(tmp_path / family))
        assert bundle.content_sha256 is not None
        assert bundle.content_sha256 == folder.content_sha256
