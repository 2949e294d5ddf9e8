"""A command line that cannot surprise: defaults that name the right folder, commands that run
from any folder, one spelling per switch, dvc.yaml passing what the stages read."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.models import stage as model_stage
from secondlook.models.toy import toy_feature_table, toy_model_inputs

REPO = Path(__file__).resolve().parents[1]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"secondlook {version('secondlook')}"


def test_python_dash_m_runs_the_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "secondlook", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stdout.strip().startswith("secondlook ")


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


def test_a_registry_model_without_a_store_says_so_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    (tmp_path / "cohort").mkdir()
    result = CliRunner().invoke(
        app,
        [
            "score",
            "cohort",
            "--model",
            "models:/secondlook-logreg@candidate",
            "--out",
            "out/s.parquet",
            "--params",
            str(REPO / "params.yaml"),
        ],
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "no MLflow tracking store" in _flat(result.output), result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort"]  # no experiments/mlflow.db


def test_params_are_found_from_another_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Outside any repository, without --params, the message says where it looked."""
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["featurize", "--raw", "nowhere"])
    assert result.exit_code == 2
    assert "no params.yaml in" in _flat(result.output) and "--params" in result.output
    # from a sub-folder of the repository, the repository's params.yaml is used
    monkeypatch.chdir(REPO / "src")
    result = CliRunner().invoke(app, ["featurize", "--raw", str(tmp_path / "nowhere")])
    assert "no params.yaml" not in _flat(result.output)


def test_score_outside_the_repository_uses_the_model_repositorys_params(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secondlook.cli import params_file

    fake = tmp_path / "clone"
    (fake / "models" / "logreg").mkdir(parents=True)
    (fake / ".git").mkdir()
    shutil.copy(REPO / "params.yaml", fake / "params.yaml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    found = params_file(Path("params.yaml"), near=fake / "models" / "logreg")
    assert found == fake / "params.yaml"


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
