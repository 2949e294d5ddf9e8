"""secondlook.cli.stages: the stage commands (`secondlook train`, `evaluate`, ...) through the
command line -- defaults that name the right folder, one spelling per switch, and dvc.yaml calling
them with the interpreter that runs dvc and no option that shadows a param."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
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


def test_train_out_defaults_to_the_family_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`train --family tree` without --out writes models/tree, never another family's folder."""
    monkeypatch.setattr(model_stage, "_default_model_inputs", toy_model_inputs)
    monkeypatch.chdir(tmp_path)
    for name, (n, seed) in {"train": (1500, 1), "valid": (800, 2)}.items():
        toy_feature_table(n, seed).to_parquet(tmp_path / f"{name}.parquet")
    args = ["train", "--family", "tree", "--train", "train.parquet", "--valid", "valid.parquet"]
    result = CliRunner().invoke(app, [*args, "--params", str(REPO / "params.yaml")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "tree" / "model.skops").is_file()
    assert not (tmp_path / "models" / "logreg").exists()


def _stages() -> dict[str, str]:
    doc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    out = {}
    for name, stage in doc["stages"].items():
        body = stage.get("do", stage)
        out[name] = " ".join(str(body["cmd"]).split())
    return out


def test_stage_commands_run_with_the_interpreter_that_runs_dvc() -> None:
    for name, cmd in _stages().items():
        assert cmd.startswith("python -m secondlook "), (name, cmd)


def test_dvc_yaml_passes_no_option_that_shadows_a_param() -> None:
    """`dvc exp run -S score.engine=dask` must reach the stage: no hard-coded --engine."""
    shadowing = {"--engine", "--from", "--to", "--scheduler"}
    for name, cmd in _stages().items():
        assert not set(re.findall(r"--[a-z-]+", cmd)) & shadowing, (name, cmd)
    doc = yaml.safe_load((REPO / "dvc.yaml").read_text())
    assert "score" in doc["stages"]["score"]["params"]


def test_one_spelling_for_the_tracking_switch() -> None:
    """Every command that logs to MLflow says `--track/--no-track`; none says `--mlflow`."""
    import typer.main

    group = typer.main.get_command(app)
    spellings: dict[str, list[str]] = {}
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for sub in getattr(command, "commands", {name: command}).values():
            for param in sub.params:
                for opt in [*param.opts, *getattr(param, "secondary_opts", [])]:
                    spellings.setdefault(opt, []).append(name)
    assert not [opt for opt in spellings if "mlflow" in opt], spellings
    assert set(spellings["--track"]) == set(spellings["--no-track"])
    assert {"evaluate", "fairness", "explain", "report", "sweep"} <= set(spellings["--track"])


@pytest.mark.skipif(not (Path(sys.prefix) / "bin" / "dvc").exists(), reason="needs the venv")
def test_the_environment_puts_itself_on_path() -> None:
    """`.venv/bin/dvc repro` without activation: its stages' `python` is the venv's."""
    done = subprocess.run(
        [sys.executable, "-c", "import shutil; print(shutil.which('python'))"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert Path(done.stdout.strip()).parent == Path(sys.executable).parent
