"""skops round trip with an explicit trusted list; untrusted types are refused."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest
import skops.io as sio

from secondlook.models import (
    FAMILIES,
    METADATA_FILE,
    MODEL_FILE,
    CalibratedModel,
    ModelFamily,
    UntrustedModelError,
    load_metadata,
    load_model,
    make_family,
    save_model,
)

LABEL = "label_warrants_escalation"


class _Sneaky(ModelFamily):
    """A family defined outside the package: its type is not in TRUSTED_TYPES."""

    name = "sneaky"

    def _fit(self, X, y):
        self.w_ = np.ones(X.shape[1])

    def _margin(self, X):
        return X.to_numpy() @ self.w_


@pytest.mark.parametrize("family", list(FAMILIES))
def test_round_trip_gives_identical_probabilities(tmp_path, world, inputs, cfg, family):
    train, valid, test = world["train"], world["valid"], world["test"]
    fam = make_family(family, cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam, capacity=0.1).fit(valid, valid[LABEL])
    save_model(model, tmp_path / family, {"family": family})
    loaded = load_model(tmp_path / family)
    np.testing.assert_array_equal(loaded.predict_proba(test), model.predict_proba(test))
    np.testing.assert_array_equal(loaded.flag(test), model.flag(test))
    assert loaded.margin_threshold_ == model.margin_threshold_
    assert load_metadata(tmp_path / family) == {"family": family}
    # a skops file is a zip of a JSON schema and arrays: no pickle stream to execute
    with zipfile.ZipFile(tmp_path / family / MODEL_FILE) as zf:
        assert "schema.json" in zf.namelist()
        assert not any(n.endswith((".pkl", ".pickle")) for n in zf.namelist())


def test_save_refuses_an_untrusted_type(tmp_path, world, inputs):
    train = world["train"]
    fam = _Sneaky().fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam).fit(train, train[LABEL])
    with pytest.raises(UntrustedModelError, match="_Sneaky"):
        save_model(model, tmp_path / "m", {})
    assert not (tmp_path / "m" / MODEL_FILE).exists()


def test_load_refuses_an_untrusted_type(tmp_path, world, inputs):
    train = world["train"]
    fam = _Sneaky().fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam).fit(train, train[LABEL])
    (tmp_path / "m").mkdir()
    sio.dump(model, tmp_path / "m" / MODEL_FILE)  # bypass save_model's check
    with pytest.raises(UntrustedModelError, match="_Sneaky"):
        load_model(tmp_path / "m")


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="secondlook train"):
        load_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="secondlook train"):
        load_metadata(tmp_path)


def test_metadata_is_sorted_json(tmp_path, world, inputs, cfg):
    train = world["train"]
    fam = make_family("rules", cfg).fit(train[inputs], train[LABEL].to_numpy())
    model = CalibratedModel(fam).fit(train, train[LABEL])
    save_model(model, tmp_path, {"b": 1, "a": [1, 2]})
    text = (tmp_path / METADATA_FILE).read_text()
    assert json.loads(text) == {"a": [1, 2], "b": 1}
    assert text.index('"a"') < text.index('"b"')
