"""Study files validate against params.yaml and become `dvc exp run` commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.params import ParamsError, load_params
from secondlook.studies import StudyError, apply_overrides, load_study, study_command

REPO = Path(__file__).resolve().parents[1]
STUDIES = REPO / "experiments" / "studies"
REQUIRED = ("proxy-label", "with-group-attributes", "no-bias", "practice-without-failures")


@pytest.mark.parametrize("name", REQUIRED)
def test_each_study_validates_against_params(name):
    study = load_study(name, STUDIES)
    assert study.description
    out = apply_overrides(load_params(REPO / "params.yaml"), study.overrides)
    assert out != load_params(REPO / "params.yaml")


def test_proxy_label_trains_on_the_proxy_and_evaluates_on_the_truth():
    study = load_study("proxy-label", STUDIES)
    out = apply_overrides(load_params(REPO / "params.yaml"), study.overrides)
    assert out["train"]["label"] == "cp_plan_12m"
    assert out["evaluate"]["label"] == "warrants_escalation"


def test_command_line():
    study = load_study("with-group-attributes", STUDIES)
    assert study_command(study) == [
        "dvc",
        "exp",
        "run",
        "-n",
        "with-group-attributes",
        "-S",
        "train.include_group_attributes=true",
    ]
    assert "--queue" in study_command(study, queue=True)


def test_unknown_key_is_named(tmp_path):
    (tmp_path / "bad.yaml").write_text("description: x\nset:\n  train.lable: cp_plan_12m\n")
    with pytest.raises(StudyError, match="train.lable"):
        apply_overrides(load_params(REPO / "params.yaml"), load_study("bad", tmp_path).overrides)


def test_invalid_value_is_named():
    with pytest.raises(ParamsError, match="train.capacity"):
        apply_overrides(load_params(REPO / "params.yaml"), {"train.capacity": 2})


def test_missing_study_lists_the_known_ones(tmp_path):
    with pytest.raises(StudyError, match="proxy-label"):
        load_study("nope", STUDIES)


def test_cli_dry_run_and_error():
    runner = CliRunner()
    ok = runner.invoke(
        app,
        [
            "study",
            "proxy-label",
            "--dry-run",
            "--params",
            str(REPO / "params.yaml"),
            "--studies",
            str(STUDIES),
        ],
    )
    assert ok.exit_code == 0, ok.output
    # a dry run prints the exact experiment command the study's file describes
    assert "$ dvc exp run -n proxy-label -S train.label=cp_plan_12m" in ok.output
    bad = runner.invoke(
        app,
        [
            "study",
            "nope",
            "--dry-run",
            "--params",
            str(REPO / "params.yaml"),
            "--studies",
            str(STUDIES),
        ],
    )
    assert bad.exit_code == 2
    out = " ".join(bad.output.split())
    assert "`nope` not found" in out and "proxy-label" in out  # names the study and the known ones
    assert "Traceback" not in bad.output


def test_temp_with_queue_is_refused_not_dropped():
    """A queued experiment always runs in a temporary copy: --temp with --queue is an error
    naming both, and nothing is run (not even on a dry run)."""
    study = load_study("with-group-attributes", STUDIES)
    assert "--temp" in study_command(study, temp=True)
    with pytest.raises(StudyError, match="--temp and --queue cannot be combined"):
        study_command(study, queue=True, temp=True)
    result = CliRunner().invoke(
        app,
        [
            "study",
            "with-group-attributes",
            "--temp",
            "--queue",
            "--dry-run",
            "--params",
            str(REPO / "params.yaml"),
            "--studies",
            str(STUDIES),
        ],
    )
    assert result.exit_code == 2, result.output
    flat = " ".join(result.output.split())
    assert flat.count("error:") == 1 and "Traceback" not in flat
    assert "queued experiment always runs in a temporary copy" in flat
    assert "$ dvc" not in flat  # the command was not even printed


def test_stages_limit_the_experiment():
    """``--stage`` passes dvc's targets after the params, so the study reruns only those stages
    and what they depend on (the simulation-study stage is left alone)."""
    study = load_study("guidance-practice-blind", STUDIES)
    assert study_command(study, temp=True, targets=("headline",)) == [
        "dvc",
        "exp",
        "run",
        "-n",
        "guidance-practice-blind",
        "--temp",
        "-S",
        "train.policy=guidance",
        "-S",
        "features.practice_features=exclude",
        "headline",
    ]
    result = CliRunner().invoke(
        app,
        [
            "study",
            "practice-blind",
            "--temp",
            "--stage",
            "headline",
            "--stage",
            "policy",
            "--dry-run",
            "--params",
            str(REPO / "params.yaml"),
            "--studies",
            str(STUDIES),
        ],
    )
    assert result.exit_code == 0, result.output
    line = " ".join(result.output.split())
    assert (
        "$ dvc exp run -n practice-blind --temp -S features.practice_features=exclude headline policy"
        in line
    )


def test_policy_check_compares_a_run_with_the_policy_table(tmp_path, monkeypatch):
    """A committed pipeline run's figures are read back and set against the policy stage's
    rows of the setting its params name; a planted difference is reported where it is."""
    import json
    import shutil
    import subprocess

    if shutil.which("git") is None:
        pytest.skip("needs git")
    params = (REPO / "params.yaml").read_text().replace("policy: none", "policy: guidance")
    files = {
        "params.yaml": params,
        "reports/metrics.json": json.dumps({"families": {"logreg": {"auprc": 0.5}}}),
        "reports/patterns.json": json.dumps({"headline": {"logreg": {"sarah_recall": 0.25}}}),
        "reports/explanations/summary.json": json.dumps(
            {"logreg": {"reasons_against_guidance": 0}}
        ),
        "reports/explanations/fidelity.json": json.dumps(
            {"logreg": {"raised_all": 0.4, "raised_observable": 0.8}}
        ),
        "reports/seed-cases.csv": "decision_id,logreg_score,logreg_flag\nsarah-D08,0.9,True\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([*git, "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "run"], cwd=tmp_path, check=True)
    row = {
        "family": "logreg",
        "auprc_margin": 0.5,
        "sarah_recall": 0.25,
        "reasons_against_guidance": 0,
        "raised_all": 0.4,
        "raised_observable": 0.8,
        "sarah-D08_probability": 0.9,
        "sarah-D08_flag": True,
    }
    table = [{**row, "setting": "none", "auprc_margin": 0.1}, {**row, "setting": "guidance"}]
    (tmp_path / "policy.json").write_text(json.dumps(table))
    monkeypatch.chdir(tmp_path)
    ok = CliRunner().invoke(app, ["policy-check", "HEAD", "--policy", "policy.json"])
    assert ok.exit_code == 0, ok.output
    lines = [line.split() for line in ok.output.splitlines() if line.split()[:1] == ["guidance"]]
    assert {line[1] for line in lines} >= {"auprc_margin", "raised_all", "sarah_recall"}
    assert all(float(line[3]) == 0 for line in lines)  # the guidance row agrees exactly
    table[1]["raised_all"] = 0.35
    (tmp_path / "policy.json").write_text(json.dumps(table))
    off = CliRunner().invoke(app, ["policy-check", "HEAD", "--policy", "policy.json"])
    got = {
        line.split()[1]: float(line.split()[3])
        for line in off.output.splitlines()
        if line.split()[:1] == ["guidance"]
    }
    assert got["raised_all"] == pytest.approx(0.05) and got["auprc_margin"] == 0
    bad = CliRunner().invoke(app, ["policy-check", "nope", "--policy", "policy.json"])
    assert bad.exit_code == 2 and "nope" in bad.output and "Traceback" not in bad.output
