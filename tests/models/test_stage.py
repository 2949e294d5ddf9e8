"""The train stage end to end on a tiny world written to parquet."""

from __future__ import annotations

import dataclasses
import json

import pytest

from secondlook.models import METADATA_FILE, file_sha256, load_model, run_train, select_inputs
from secondlook.models import stage as model_stage
from secondlook.models.stage import ETHNICITY_INPUTS, add_group_inputs
from secondlook.models.toy import toy_model_inputs


@pytest.fixture
def splits(tmp_path, world, monkeypatch):
    try:
        from secondlook.features import model_inputs  # noqa: F401
    except ImportError:  # the features package is not there yet: use the toy table's rule
        monkeypatch.setattr(model_stage, "_default_model_inputs", toy_model_inputs)
    else:  # the toy columns are not in the real catalogue: use the toy rule
        monkeypatch.setattr(model_stage, "_default_model_inputs", toy_model_inputs)
    paths = {}
    for name in ("train", "valid"):
        paths[name] = tmp_path / f"{name}.parquet"
        world[name].to_parquet(paths[name])
    return paths


@pytest.mark.parametrize("family", ["rules", "logreg", "ebm"])
def test_run_train_writes_model_and_metadata(tmp_path, splits, cfg, family):
    out = tmp_path / "models" / family
    meta = run_train(cfg, family, splits["train"], splits["valid"], out, log=lambda _: None)
    saved = json.loads((out / METADATA_FILE).read_text())
    # the timings are returned (and logged) but never written: they differ between reruns
    timings = {k: meta.pop(k) for k in ("fit_seconds", "calibrate_seconds")}
    assert all(v >= 0 for v in timings.values())
    # save_model adds the hashes of the file it wrote, which load_model checks
    hashes = {k: saved.pop(k) for k in ("model_sha256", "model_content_sha256")}
    assert hashes["model_sha256"] == file_sha256(out / "model.skops")
    assert saved == json.loads(json.dumps(meta))
    for key in ("inputs", "label", "calibration", "threshold", "training_window", "data"):
        assert key in saved
    # the recorded data hashes are those of the very files trained and calibrated on
    assert saved["data"]["train_sha256"] == file_sha256(splits["train"])
    assert saved["data"]["valid_sha256"] == file_sha256(splits["valid"])
    assert saved["training_window"]["from"] <= saved["training_window"]["to"]
    assert not any(c.startswith(("label_", "group_", "practice_")) for c in saved["inputs"])
    assert load_model(out).inputs == saved["inputs"]


def test_family_not_in_params_is_refused(tmp_path, splits, cfg):
    cfg = dataclasses.replace(cfg, families=("rules",))
    with pytest.raises(ValueError, match="not in train.families"):
        run_train(cfg, "logreg", splits["train"], splits["valid"], tmp_path / "m")


def test_missing_label_column_is_named(tmp_path, splits, cfg, world):
    bad = world["train"].drop(columns=["label_cp_plan_12m"])
    bad.to_parquet(splits["train"])
    cfg = dataclasses.replace(cfg, label="cp_plan_12m")
    with pytest.raises(ValueError, match="label_cp_plan_12m"):
        run_train(cfg, "rules", splits["train"], splits["valid"], tmp_path / "m")


def test_group_attributes_enter_only_when_switched_on(world):
    frame = add_group_inputs(world["train"])
    cols = list(frame.columns)
    off = select_inputs(cols, False, toy_model_inputs)
    on = select_inputs(cols, True, toy_model_inputs)
    assert not set(ETHNICITY_INPUTS) & set(off)
    assert "group_deprivation_quintile" not in off
    assert set(ETHNICITY_INPUTS) <= set(on) and "group_deprivation_quintile" in on
    assert (frame[list(ETHNICITY_INPUTS)].sum(axis=1) == 1).all()


def test_a_label_offered_as_input_is_refused():
    with pytest.raises(ValueError, match="label_"):
        select_inputs(["a", "label_x"], False, lambda cols, **_: cols)


def test_retraining_gives_byte_identical_model_files(tmp_path, splits, cfg):
    digests = []
    for run in ("a", "b"):
        out = tmp_path / run / "logreg"
        run_train(cfg, "logreg", splits["train"], splits["valid"], out, log=lambda _: None)
        digests.append({f.name: f.read_bytes() for f in sorted(out.iterdir())})
    assert digests[0] == digests[1]


@pytest.mark.parametrize("family", ["rules", "logreg", "tree", "ebm", "gbm"])
def test_fit_family_is_train_familys_model_without_the_metadata(world, cfg, family):
    # a sweep world fits with fit_family (no calibration comparison, no clean-record
    # reference): its model must be train_family's, to the bit
    import numpy as np

    from secondlook.models import fit_family, train_family

    inputs = select_inputs(list(world["train"].columns), False, toy_model_inputs)
    trained, _ = train_family(family, cfg, world["train"], world["valid"], inputs)
    fitted = fit_family(family, cfg, world["train"], world["valid"], inputs)
    test = world["test"]
    np.testing.assert_array_equal(fitted.decision_function(test), trained.decision_function(test))
    np.testing.assert_array_equal(fitted.probability(test), trained.probability(test))
    np.testing.assert_array_equal(fitted.flag(test), trained.flag(test))
    assert fitted.threshold_ == trained.threshold_


def test_fit_family_names_a_missing_label(world, cfg):
    from secondlook.models import fit_family

    cfg = dataclasses.replace(cfg, label="cp_plan_12m")
    train = world["train"].drop(columns=["label_cp_plan_12m"])
    with pytest.raises(ValueError, match="train split has no column label_cp_plan_12m"):
        fit_family("rules", cfg, train, world["valid"], ["a"])
