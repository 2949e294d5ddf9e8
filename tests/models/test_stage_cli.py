"""`secondlook train` / `secondlook evaluate` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.models import stage as model_stage
from secondlook.models.toy import toy_feature_table, toy_model_inputs

REPO = Path(__file__).resolve().parents[2]
PARAMS = str(REPO / "params.yaml")


@pytest.fixture
def splits(tmp_path, monkeypatch):
    # the toy columns are not in the feature catalogue: use the toy rule for inputs
    monkeypatch.setattr(model_stage, "_default_model_inputs", toy_model_inputs)
    for name, (n, seed) in {"train": (3000, 1), "valid": (1500, 2), "test": (1500, 3)}.items():
        toy_feature_table(n, seed).to_parquet(tmp_path / f"{name}.parquet")
    return tmp_path


def test_train_missing_split_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--family",
            "rules",
            "--train",
            str(tmp_path / "nope.parquet"),
            "--valid",
            str(tmp_path / "nope.parquet"),
            "--out",
            str(tmp_path / "m"),
            "--params",
            PARAMS,
        ],
    )
    assert result.exit_code == 2
    assert "nope.parquet not found" in " ".join(result.output.split())  # rich wraps lines


def test_train_unknown_family_is_a_clear_error(splits):
    result = CliRunner().invoke(
        app,
        [
            "train",
            "--family",
            "forest",
            "--train",
            str(splits / "train.parquet"),
            "--valid",
            str(splits / "valid.parquet"),
            "--out",
            str(splits / "m"),
            "--params",
            PARAMS,
        ],
    )
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "forest" in out and "train.families" in out


@pytest.mark.slow
def test_train_and_evaluate_every_family_with_default_params(splits):
    runner = CliRunner()
    for family in ("rules", "logreg", "tree", "ebm", "gbm"):
        result = runner.invoke(
            app,
            [
                "train",
                "--family",
                family,
                "--train",
                str(splits / "train.parquet"),
                "--valid",
                str(splits / "valid.parquet"),
                "--out",
                str(splits / "models" / family),
                "--params",
                PARAMS,
            ],
        )
        assert result.exit_code == 0, result.output
    r = splits / "reports"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--models",
            str(splits / "models"),
            "--test",
            str(splits / "test.parquet"),
            "--train",
            str(splits / "train.parquet"),
            "--valid",
            str(splits / "valid.parquet"),
            "--metrics",
            str(r / "metrics.json"),
            "--leaderboard-md",
            str(r / "leaderboard.md"),
            "--leaderboard-csv",
            str(r / "leaderboard.csv"),
            "--by-label",
            str(r / "by-label.csv"),
            "--practice",
            str(r / "practice.csv"),
            "--seed-cases",
            str(r / "seed.csv"),
            "--plots",
            str(r / "plots"),
            "--no-track",
            "--params",
            PARAMS,
        ],
    )
    assert result.exit_code == 0, result.output
    metrics = json.loads((r / "metrics.json").read_text())
    assert set(metrics["families"]) == {"rules", "logreg", "tree", "ebm", "gbm"}
    assert metrics["families"]["ebm"]["auroc"] > 0.9
    assert "sarah-r01" in (r / "seed.csv").read_text()
