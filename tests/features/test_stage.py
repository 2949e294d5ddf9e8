"""The featurize stage and command: split tables, catalogue, failure paths."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.features import catalogue_version
from secondlook.features.stage import GROUP_COLUMNS, SPLITS, run_featurize
from secondlook.params import (
    FeaturesParams,
    ParamsError,
    from_mapping,
    load_params,
    load_section,
)
from secondlook.schema import LABELS
from tests.features.feature_worlds import random_world

REPO = Path(__file__).resolve().parents[2]
SPLIT = {
    "train": {"start": "2016-01-01", "end": "2019-12-31"},
    "valid": {"start": "2020-01-01", "end": "2021-06-30"},
    "test": {"start": "2021-07-01", "end": "2023-12-31"},
}


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("raw")
    for name, table in random_world(5, n_households=30).items():
        table.to_parquet(folder / f"{name}.parquet", index=False)
    return folder


def _settings(**split: dict[str, str]) -> FeaturesParams:
    return from_mapping(
        FeaturesParams, {"split": {**SPLIT, **split}, "include_deprivation": False}, "features"
    )


def test_run_featurize_writes_the_splits_and_catalogue(raw: Path, tmp_path: Path) -> None:
    synth = load_section("synth", load_params(REPO / "params.yaml"))
    splits = run_featurize(_settings(), raw, tmp_path, synth=synth, log=lambda _: None)
    decisions = pd.read_parquet(raw / "decisions.parquet")
    seen: set[str] = set()
    for name in SPLITS:
        table = pd.read_parquet(tmp_path / f"{name}.parquet")
        table["decision_date"] = table["decision_date"].astype("datetime64[s]")
        pd.testing.assert_frame_equal(table, splits[name])
        window = SPLIT[name]
        assert table["decision_date"].min() >= pd.Timestamp(window["start"])
        assert table["decision_date"].max() <= pd.Timestamp(window["end"])
        assert {f"label_{x}" for x in LABELS} <= set(table.columns)
        assert set(GROUP_COLUMNS) <= set(table.columns)
        assert table["group_deprivation_quintile"].between(1, 5).all()
        merged = table.merge(decisions, on="decision_id", suffixes=("", "_d"))
        assert (merged["practice_outcome"] == merged["practice_outcome_d"]).all()
        assert not seen & set(table["decision_id"])
        seen |= set(table["decision_id"])
    in_windows = decisions["decision_date"].between("2016-01-01", "2023-12-31")
    assert seen == set(decisions.loc[in_windows, "decision_id"])
    assert catalogue_version() in (tmp_path / "catalogue.md").read_text()


def test_window_without_follow_up_is_refused(raw: Path, tmp_path: Path) -> None:
    synth = load_section("synth", load_params(REPO / "params.yaml"))
    late = _settings(test={"start": "2021-07-01", "end": "2024-06-30"})
    with pytest.raises(ParamsError, match=r"features\.split\.test\.end.*follow-up"):
        run_featurize(late, raw, tmp_path, synth=synth, log=lambda _: None)


def test_overlapping_windows_are_refused() -> None:
    with pytest.raises(ParamsError, match=r"features\.split\.valid\.start"):
        _settings(valid={"start": "2019-06-01", "end": "2021-06-30"})
    with pytest.raises(ParamsError, match=r"features\.split\.train\.end"):
        _settings(train={"start": "2016-01-01", "end": "2015-12-31"})


def test_cli_featurize(raw: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "features"
    result = runner.invoke(
        app,
        ["featurize", "--raw", str(raw), "--out", str(out), "--params", str(REPO / "params.yaml")],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "catalogue.md",
        "test.parquet",
        "train.parquet",
        "valid.parquet",
    ]


def test_cli_featurize_reports_a_missing_table(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "featurize",
            "--raw",
            str(tmp_path / "nowhere"),
            "--out",
            str(tmp_path / "out"),
            "--params",
            str(REPO / "params.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert "parquet not found" in " ".join(result.output.split()).replace("\n", "")
