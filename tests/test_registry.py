"""Reading a registered model back (secondlook.registry): verified against the trained hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from secondlook import registry, tracking
from secondlook.models import (
    CalibratedModel,
    file_sha256,
    load_metadata,
    load_model,
    make_family,
    save_model,
)
from secondlook.models.persist import ModelIntegrityError, content_sha256
from secondlook.models.toy import toy_feature_table, toy_model_inputs
from secondlook.params import load_params, load_section
from tests.support.mlflow_store import migrated_db, tracking_db

__all__ = ["migrated_db", "tracking_db"]  # the fixtures these tests use

REPO = Path(__file__).resolve().parents[1]
LABEL = "label_warrants_escalation"


def _register(tmp_path: Path, metadata_of: dict[str, dict]) -> dict[str, object]:
    """Save a logreg model and log one pipeline run per metadata given (candidate: logreg)."""
    cfg = load_section("train", load_params(REPO / "params.yaml"))
    train, valid, test = (toy_feature_table(800, s) for s in (1, 2, 3))
    inputs = toy_model_inputs(list(train.columns))
    fam = make_family("logreg", cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam).fit(valid, valid[LABEL])
    folder = tmp_path / "models" / "logreg"
    save_model(model, folder, {"family": "logreg"})
    for metadata in metadata_of.values():
        run = tracking.FamilyRun(
            family="logreg",
            model=load_model(folder),
            metadata=metadata or load_metadata(folder),
            metrics={"auroc": 0.9},
            input_example=test[model.inputs].head(3).astype("float64"),
        )
        tracking.log_pipeline_run([run], params={}, metrics={}, artifacts=[], candidate="logreg")
    return {"folder": folder, "test": test}


def test_registered_model_is_checked_against_the_trained_hash(tmp_path, tracking_db):
    """MLflow re-serialises the model; its normalised content must hash to model_sha256."""
    from secondlook.score.model import resolve_model

    got = _register(tmp_path, {"ok": {}})
    folder = got["folder"]
    recorded = load_metadata(folder)
    uri = f"models:/{tracking.registered_name('logreg')}@candidate"
    info = registry.fetch_registered_model(uri, tmp_path / "dl")
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
        registry.fetch_registered_model(uri, tmp_path / "dl")
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
    inputs = toy_model_inputs(list(train.columns))
    runs = []
    for family in cfg.families:
        fam = make_family(family, cfg).fit(train[inputs], train[LABEL].to_numpy())
        model = CalibratedModel(fam).fit(valid, valid[LABEL])
        save_model(model, tmp_path / family, {"family": family})
        runs.append(
            tracking.FamilyRun(
                family=family,
                model=load_model(tmp_path / family),
                metadata=load_metadata(tmp_path / family),
                metrics={"auroc": 0.9},
                input_example=test[model.inputs].head(3).astype("float64"),
            )
        )
    assert sorted(cfg.families) == ["ebm", "gbm", "logreg", "rules", "tree"]
    tracking.log_pipeline_run(runs, params={}, metrics={}, artifacts=[], candidate="logreg")
    for family in cfg.families:
        bundle = resolve_model(f"models:/{tracking.registered_name(family)}/1")
        saved = load_model(tmp_path / family)
        X = test[saved.inputs]
        np.testing.assert_array_equal(bundle.model.predict_proba(X), saved.predict_proba(X))
        assert bundle.version == "1" and bundle.metadata["family"] == family
