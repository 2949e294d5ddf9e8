"""secondlook.score.cohort_view: an imported census cohort scores with a model of the census
view, and is refused by one of the multi-agency view, naming what the census does not record."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from secondlook.features.stage import assemble
from secondlook.features.views import view_features
from secondlook.ingest.stage import run_import_census
from secondlook.models import save_model, select_inputs, train_family
from secondlook.params import load_params, load_section
from secondlook.score import ScoreError, run_score
from tests.conftest import PARAMS_FILE


def _quiet(*_: object) -> None:
    return None


def train(world: dict[str, pd.DataFrame], view: str, folder: Path) -> Path:
    data = load_params(PARAMS_FILE)
    settings = dataclasses.replace(load_section("features", data), view=view)
    splits = assemble(world, settings)
    assert splits["train"].attrs["view"] == view
    inputs = select_inputs(list(splits["train"].columns), False)
    assert set(inputs) <= set(view_features(view))
    model, meta = train_family(
        "logreg", load_section("train", data), splits["train"], splits["valid"], inputs
    )
    from secondlook.models.stage import _view_of

    meta["view"] = _view_of(splits["train"], inputs)
    save_model(model, folder, meta)
    return folder


@pytest.fixture(scope="module")
def imported_dir(census_files, tmp_path_factory) -> Path:
    files, _ = census_files
    out = tmp_path_factory.mktemp("imp") / "cohort"
    run_import_census(files, out, log=_quiet)
    return out


def test_census_view_model_scores_the_imported_cohort(census_world, imported_dir, tmp_path) -> None:
    model = train(census_world, "cin_census", tmp_path / "m_cin")
    score = load_section("score", load_params(PARAMS_FILE))
    score = dataclasses.replace(score, start=None, end=None)
    doc = run_score(imported_dir, str(model), tmp_path / "s.parquet", score, log=_quiet)
    got = pd.read_parquet(tmp_path / "s.parquet")
    assert len(got) == doc["counts"]["referrals_in_window"] > 100
    assert (got["status"] == "scored").all()


def test_multi_agency_model_is_refused_naming_the_missing_kinds(
    census_world, imported_dir, tmp_path
) -> None:
    model = train(census_world, "multi_agency", tmp_path / "m_all")
    score = dataclasses.replace(
        load_section("score", load_params(PARAMS_FILE)), start=None, end=None
    )
    with pytest.raises(ScoreError, match="multi_agency") as info:
        run_score(imported_dir, str(model), tmp_path / "s.parquet", score, log=_quiet)
    msg = str(info.value)
    assert "police_domestic_incident" in msg and "household" in msg
    assert not (tmp_path / "s.parquet").exists()
