"""secondlook.cli.cohorts: import, export, observe and score through the command line; a refusal
is one clear message, exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from secondlook.cli import app
from tests.conftest import PARAMS_FILE
from tests.ingest.snippets import child, referral, s47, write_return

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_import_export_observe_round_trip(tmp_path: Path) -> None:
    kids = child(
        "C1", details=referral("2021-06-01", inner=s47("2021-06-02", icpc="2021-06-20"))
    ) + child("C2", details=referral("2021-07-01", nfa="true") + referral("2021-09-01", nfa="true"))
    xml = write_return(tmp_path, "r.xml", kids)
    out = tmp_path / "cohort"
    res = runner.invoke(app, ["import", "cin-census", str(xml), "--out", str(out)])
    assert res.exit_code == 0, res.output
    manifest = json.loads((out / "import-manifest.json").read_text())
    assert manifest["counts_out"]["people"] == 2 and "cin_census" not in manifest["records"]
    again = tmp_path / "again.xml"
    res = runner.invoke(
        app, ["export", "cin-census", str(out), "--year", "2022", "--out", str(again)]
    )
    assert res.exit_code == 0, res.output
    assert b"<LAchildID>C1</LAchildID>" in again.read_bytes()
    obs = tmp_path / "observed"
    res = runner.invoke(
        app,
        [
            "observe",
            str(out),
            "--out",
            str(obs),
            "--end",
            "2022-12-31",
            "--params",
            str(PARAMS_FILE),
        ],
    )
    assert res.exit_code == 0, res.output
    labels = pd.read_parquet(obs / "labels.parquet").set_index("decision_id")
    assert list(labels.columns) == ["cp_plan_12m", "rereferral_12m"]
    assert labels["rereferral_12m"].to_dict() == {
        "201-C1-R2021-06-01": False,
        "201-C2-R2021-07-01": True,
        "201-C2-R2021-09-01": False,
    }


def test_a_refused_import_is_one_message_and_exit_2(tmp_path: Path) -> None:
    xml = write_return(tmp_path, "bad.xml", child("C1", details=referral(source="Police")))
    res = runner.invoke(app, ["import", "cin-census", str(xml), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "bad.xml" in res.output and "ReferralSource" in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "o").exists()


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
