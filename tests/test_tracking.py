"""The MLflow boundary: URIs, repo root under DVC temp runs, logging a pipeline run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from secondlook import tracking
from secondlook.models import (
    load_model,
)
from secondlook.models.toy import toy_feature_table
from secondlook.params import load_params, load_section
from tests.support.mlflow_store import family_run, migrated_db, save_toy_model, tracking_db

REPO = Path(__file__).resolve().parents[1]

__all__ = ["migrated_db", "tracking_db"]  # the fixtures these tests use


def test_repo_root_from_a_dvc_temp_workspace(tmp_path):
    root = tmp_path / "repo"
    (root / ".dvc").mkdir(parents=True)
    temp = root / ".dvc" / "tmp" / "exps" / "tmpab12cd" / "src"
    temp.mkdir(parents=True)
    (temp.parent / ".dvc").mkdir()  # the temp copy is itself a DVC repo
    assert tracking.repo_root(temp) == root.resolve()
    assert tracking.repo_root(root / ".dvc") == root.resolve()
    (root / "src").mkdir()
    assert tracking.repo_root(root / "src") == root.resolve()


def test_tracking_uri_is_absolute_sqlite_unless_env(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = tracking.tracking_uri(tmp_path)
    assert uri == f"sqlite:///{(tmp_path / 'experiments' / 'mlflow.db').resolve()}"
    assert Path(uri.removeprefix("sqlite:///")).is_absolute()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking.tracking_uri(tmp_path) == "http://127.0.0.1:5000"


_SPY_ON_MLFLOW_IMPORT = """
import os, sys
seen = {}
class Spy:
    def find_spec(self, name, path=None, target=None):
        if name == "mlflow" and not seen:
            seen["at_import"] = [os.environ.get(k) for k in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")]
        return None
sys.meta_path.insert(0, Spy())
import secondlook.tracking
import mlflow
print(*seen["at_import"])
"""


def test_telemetry_is_off_before_mlflow_is_imported():
    # a fresh interpreter without the variables (conftest sets them for this one): importing
    # the package must switch telemetry off before mlflow itself is first imported
    import os
    import subprocess
    import sys

    env = {
        k: v for k, v in os.environ.items() if k not in ("MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK")
    }
    run = subprocess.run(
        [sys.executable, "-c", _SPY_ON_MLFLOW_IMPORT], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["true", "true"]


def test_flatten():
    cfg = load_section("train", load_params(REPO / "params.yaml"))
    flat = tracking.flatten({"train": cfg})
    assert flat["train.logreg.C"] == cfg.logreg.C
    assert flat["train.families"] == ",".join(cfg.families)
    assert flat["train.rules.points.bruising_non_mobile"] == cfg.rules.points.bruising_non_mobile


def test_registered_model_round_trip(tmp_path, tracking_db):
    import mlflow

    cfg = load_section("train", load_params(REPO / "params.yaml"))
    train, valid, test = (toy_feature_table(800, s) for s in (1, 2, 3))
    runs = []
    for family in ("rules", "logreg"):
        model = save_toy_model(family, cfg, train, valid, tmp_path / family)
        runs.append(
            family_run(
                family,
                tmp_path / family,
                test,
                metadata={"family": family, "inputs": model.inputs},
                metrics={"auroc": 0.9, "auroc_lo": 0.85, "auroc_hi": 0.95},
            )
        )
    (tmp_path / "leaderboard.md").write_text("# board\n")
    out = tracking.log_pipeline_run(
        runs,
        params={"train": cfg},
        metrics={"price_auprc": 0.01},
        artifacts=[tmp_path / "leaderboard.md"],
        candidate="logreg",
        tags={"test_sha256": "abc"},
    )
    assert out["tracking_uri"] == tracking_db
    client = mlflow.MlflowClient(tracking_uri=tracking_db)
    parent = client.get_run(out["parent_run_id"])
    assert parent.data.params["train.logreg.C"] == str(cfg.logreg.C)
    assert parent.data.tags["test_sha256"] == "abc" and "git_commit" in parent.data.tags
    for family, run_id in out["runs"].items():
        assert client.get_run(run_id).data.tags["family"] == family
        child = client.get_run(run_id)
        assert child.data.tags["mlflow.parentRunId"] == out["parent_run_id"]
        assert child.data.metrics["auroc_lo"] == 0.85
    # the registered candidate returns exactly the saved model's probabilities
    loaded = mlflow.pyfunc.load_model(f"models:/{tracking.registered_name('logreg')}@candidate")
    saved = load_model(tmp_path / "logreg")
    X = test[saved.inputs].astype("float64")
    np.testing.assert_allclose(
        np.asarray(loaded.predict(X)), saved.predict_proba(X), rtol=0, atol=0
    )
    # a later run with another candidate moves the alias: exactly one candidate
    tracking.log_pipeline_run(runs[:1], params={}, metrics={}, artifacts=[], candidate="rules")
    rules = client.get_model_version_by_alias(tracking.registered_name("rules"), "candidate")
    assert str(rules.version) == "2"
    with pytest.raises(mlflow.exceptions.MlflowException):
        client.get_model_version_by_alias(tracking.registered_name("logreg"), "candidate")
