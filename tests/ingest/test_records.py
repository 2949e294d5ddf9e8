"""An imported cohort as the pipeline's records (``data.source: cohort``): no ground truth."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.ingest import import_census
from secondlook.ingest.records import cohort_end, records_world
from secondlook.ingest.stage import write_import
from secondlook.labels import observed_decisions
from secondlook.params import NO_GROUND_TRUTH
from tests.conftest import with_overrides


@pytest.fixture(scope="module")
def imported(census_files: tuple[list[Path], Path]) -> Any:
    files, links = census_files
    return import_census(files, households=links)


def test_records_world_has_the_observed_labels_and_no_truth(imported: Any) -> None:
    tables, summary = records_world(
        imported.tables, imported.manifest, decisions_from=dt.date(2017, 1, 1), follow_up_months=12
    )
    # the latest return's reference date (31 March 2026) is the cohort's end
    assert summary["end"] == "2026-03-31"
    decisions, labels = observed_decisions(
        imported.tables["events"],
        end=dt.date(2026, 3, 31),
        follow_up_months=12,
        decisions_from=dt.date(2017, 1, 1),
        records=imported.manifest["records"],
    )
    pd.testing.assert_frame_equal(tables["decisions"], decisions)
    pd.testing.assert_frame_equal(tables["truth"], labels)
    assert list(tables["truth"].columns) == ["decision_id", "cp_plan_12m", "rereferral_12m"]
    assert summary["source"] == "cohort" and summary["ground_truth"] == NO_GROUND_TRUTH
    assert summary["labels_not_observable"] == ["removal_12m"]
    assert summary["n_decisions"] == len(decisions) > 50
    assert summary["label_rates"]["cp_plan_12m"] == pytest.approx(labels["cp_plan_12m"].mean())
    for name in ("households", "people", "events"):
        assert tables[name] is imported.tables[name]


def test_cohort_end_without_a_manifest_is_the_last_event() -> None:
    events = pd.DataFrame({"date": pd.to_datetime(["2020-01-02", "2021-05-06"])})
    assert cohort_end(events, None) == dt.date(2021, 5, 6)
    assert cohort_end(events, {"inputs": [{"reference_date": "2022-03-31"}]}) == dt.date(
        2022, 3, 31
    )


def _cohort_params(tmp_path: Path, raw_params: dict[str, Any], **extra: Any) -> Path:
    data = with_overrides(raw_params, {"data.source": "cohort", **extra})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_generate_without_records_is_refused(tmp_path: Path, raw_params: dict[str, Any]) -> None:
    params = _cohort_params(tmp_path, raw_params)
    args = ["generate", "--out", str(tmp_path / "raw"), "--cohort", str(tmp_path / "cohort")]
    result = CliRunner().invoke(
        app, [*args, "--records", str(tmp_path / "none"), "--params", str(params)]
    )
    assert result.exit_code != 0
    assert "data.source is cohort" in result.output and "secondlook import" in result.output
    assert not (tmp_path / "raw").exists()


def test_a_view_the_records_cannot_give_is_refused(
    imported: Any, tmp_path: Path, raw_params: dict[str, Any]
) -> None:
    write_import(tmp_path / "records", imported.tables, imported.codes, imported.manifest)
    params = _cohort_params(tmp_path, raw_params, **{"features.view": "multi_agency"})
    raw, cohort = tmp_path / "raw", tmp_path / "cohort"
    result = CliRunner().invoke(
        app,
        ["generate", "--out", str(raw), "--cohort", str(cohort), "--records",
         str(tmp_path / "records"), "--params", str(params)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((raw / "summary.json").read_text())["source"] == "cohort"
    assert sorted(p.name for p in cohort.iterdir()) == [
        "events.parquet",
        "households.parquet",
        "people.parquet",
    ]
    result = CliRunner().invoke(
        app, ["featurize", "--raw", str(raw), "--out", str(tmp_path / "f"), "--params", str(params)]
    )
    assert result.exit_code != 0
    assert "features.view" in result.output and "multi_agency" in result.output
    assert "police" in result.output.replace("\n", " ")
    assert not (tmp_path / "f").exists()
