"""secondlook.params.train: bad train/evaluate params are refused with a message naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from secondlook.params import ParamsError, load_params, load_section

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def params() -> dict:
    return load_params(REPO / "params.yaml")


def edit(params: dict, dotted: str, value: object) -> dict:
    out = copy.deepcopy(params)
    *parents, last = dotted.split(".")
    node = out
    for p in parents:
        node = node[p]
    if value is KeyError:
        del node[last]
    else:
        node[last] = value
    return out


def test_defaults_load(params):
    train = load_section("train", params)
    assert train.capacity == 0.10 and train.label == "warrants_escalation"
    assert set(train.families) == {"rules", "logreg", "tree", "ebm", "gbm"}
    assert load_section("evaluate", params).n_boot > 0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("train.logreg.penalty", "l1", "train.logreg.penalty` is not a known key"),
        ("train.ebm.interactions", KeyError, "train.ebm.interactions` is missing"),
        ("train.tree.max_depth", 6, "train.tree.max_depth` must be at most 4"),
        ("train.capacity", 1.5, "train.capacity` must be a probability"),
        ("train.capacity", 0.0, "train.capacity` must be strictly between 0 and 1"),
        ("train.label", "harm", "train.label` must be one of"),
        (
            "train.calibration",
            "platt",
            "train.calibration` must be one of venn-abers, isotonic, sigmoid",
        ),
        ("train.families", ["rules", "forest"], r"train.families\[1\]` must be one of"),
        ("train.families", ["rules", "rules"], "train.families` must list"),
        (
            "train.rules.points.bruising_non_mobile",
            -1,
            "bruising_non_mobile` must be an integer >= 0",
        ),
        ("train.logreg.C", 0, "train.logreg.C` must be a number > 0"),
        (
            "train.include_group_attributes",
            "yes",
            "include_group_attributes` must be true or false",
        ),
        ("evaluate.n_boot", 0, "evaluate.n_boot` must be an integer > 0"),
        ("evaluate.ci", 1.0, "evaluate.ci` must be strictly between"),
        ("evaluate.select_by", "accuracy", "evaluate.select_by` must be one of auroc, auprc"),
        ("evaluate.bins", 10, "evaluate.bins` is not a known key"),
    ],
)
def test_bad_params_name_the_key(params, key, value, message):
    section = key.split(".")[0]
    with pytest.raises(ParamsError, match=message):
        load_section(section, edit(params, key, value))
