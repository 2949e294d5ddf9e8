"""The fairness stage end to end on a tiny world."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.evaluate.fairness_stage import run_fairness
from secondlook.features.stage import assemble
from secondlook.models import add_group_inputs, select_inputs, train_family
from secondlook.params import load_section
from secondlook.synth import build_world
from tests.conftest import with_overrides


@pytest.fixture(scope="module")
def setup(raw_params: dict[str, Any]) -> dict[str, Any]:
    # a tiny world: with the default min_cell nearly every cell would be hidden, so here only
    # cells of zero decisions are (the suppression rule itself is tested in test_fairness.py)
    data = with_overrides(
        raw_params,
        {
            "fairness.n_boot": 30,
            "fairness.min_cell": 1,
            "fairness.label_bias.family": "logreg",
            "synth.n_households": 3000,
        },
    )
    synth = load_section("synth", data)
    features = load_section("features", data)
    train_cfg = load_section("train", data)
    _, tables = build_world(synth)
    splits = assemble(tables, features)
    frames = {k: add_group_inputs(v) for k, v in splits.items()}
    inputs = select_inputs(list(frames["train"].columns), False)
    models = {
        f: train_family(f, train_cfg, frames["train"], frames["valid"], inputs)[0]
        for f in ("rules", "logreg")
    }

    def planted_biases_off() -> dict[str, pd.DataFrame]:
        return assemble(build_world(synth.without_planted_biases())[1], features)

    return {
        "cfg": load_section("fairness", data),
        "train_cfg": train_cfg,
        "models": models,
        "splits": splits,
        "planted_biases_off": planted_biases_off,
    }


def test_stage_writes_every_output(setup: dict[str, Any], tmp_path: Path) -> None:
    content = run_fairness(
        setup["cfg"], setup["train_cfg"], setup["models"], setup["splits"], setup["planted_biases_off"],
        tmp_path / "fairness.json", tmp_path / "fairness", log=lambda _: None,
    )  # fmt: skip
    on_disk = json.loads((tmp_path / "fairness.json").read_text())
    assert on_disk["measured_against"] == "warrants_escalation"
    assert set(on_disk["families"]) == {"rules", "logreg"}
    assert set(on_disk["families"]["logreg"]) == set(setup["cfg"].attributes)
    assert content["label_bias"], "the decomposition has rows"
    out = tmp_path / "fairness"
    for name in ("by-group.csv", "label-bias.csv", "label-bias-decomposition.csv", "summary.md"):
        assert (out / name).is_file()
    assert len(list((out / "plots").glob("*.png"))) == 3 * len(setup["cfg"].attributes)
    # a tiny world has small local-authority cells: they are suppressed, never numbers
    by_group = pd.read_csv(out / "by-group.csv")
    hidden = by_group[by_group["suppressed"]]
    assert len(hidden) > 0
    assert hidden[["value", "lo", "hi", "ratio"]].isna().all().all()
    lb = pd.read_csv(out / "label-bias.csv")
    assert set(lb["world"]) == {"as_generated", "without_planted_bias"}
    assert set(lb["trained_on"]) == set(setup["cfg"].label_bias.labels)


@pytest.mark.slow
def test_same_inputs_give_the_same_json(setup: dict[str, Any], tmp_path: Path) -> None:
    texts = []
    for run in ("a", "b"):
        run_fairness(
            setup["cfg"], setup["train_cfg"], setup["models"], setup["splits"], setup["planted_biases_off"],
            tmp_path / run / "fairness.json", tmp_path / run / "out", log=lambda _: None,
        )  # fmt: skip
        texts.append((tmp_path / run / "fairness.json").read_text())
    assert texts[0] == texts[1]


def test_cli_refuses_missing_features(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["fairness", "--features", str(tmp_path / "none"), "--metrics", str(tmp_path / "f.json"),
              "--out", str(tmp_path / "f"), "--no-track"],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "train.parquet not found" in result.output
    assert not (tmp_path / "f.json").exists()
