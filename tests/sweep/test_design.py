"""Design files: scenarios validated like studies; every error names the file and the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from secondlook.sweep.design import DesignError, load_design
from tests.sweep.conftest import FAST, write_design

DESIGNS = Path(__file__).resolve().parents[2] / "experiments" / "designs"


def _body(**extra: Any) -> dict[str, Any]:
    return {
        "seeds": 2,
        "scenarios": {"a": {}, "b": {"set": {"synth.bias.surveillance": 0.0}}},
    } | extra


def test_scale_multiplies_the_base_value_and_set_wins(tmp_path: Path, raw_params: dict) -> None:
    path = write_design(
        tmp_path,
        "d",
        _body(
            scenarios={
                "low": {
                    "scale": {"synth.signals.police_domestic": 0.5, "synth.signals.harm_seen": 2},
                    "set": {"synth.signals.harm_seen": 0.9},
                }
            }
        ),
    )
    design = load_design(path, raw_params)
    (low,) = design.scenarios
    base = raw_params["synth"]["signals"]
    assert low.overrides["synth.signals.police_domestic"] == round(base["police_domestic"] / 2, 12)
    assert low.params["synth"]["signals"]["police_domestic"] == pytest.approx(
        base["police_domestic"] * 0.5, abs=1e-15
    )
    assert low.params["synth"]["signals"]["harm_seen"] == 0.9  # set wins over scale
    assert raw_params["synth"]["signals"]["harm_seen"] == base["harm_seen"]  # untouched
    assert design.seeds == (raw_params["synth"]["seed"], raw_params["synth"]["seed"] + 1)
    assert design.n_households == raw_params["synth"]["n_households"]
    assert design.families == tuple(raw_params["train"]["families"])


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (_body(scenarios={"a": {"set": {"synth.signals.polce": 0.1}}}), "synth.signals.polce"),
        (_body(scenarios={"a": {"scale": {"synth.nope": 2}}}), "synth.nope"),
        (
            _body(scenarios={"a": {"scale": {"synth.signals.harm_seen": "x"}}}),
            "synth.signals.harm_seen",
        ),
        (
            _body(scenarios={"a": {"scale": {"synth.signals.harm_seen": 3}}}),
            "synth.signals.harm_seen",
        ),
        (_body(scenarios={"a": {"sett": {}}}), "sett"),
        (_body(seedz=3), "seedz"),
        (_body(seeds=0), "seeds"),
        (_body(families=["logreg", "forest"]), "forest"),
        ({"scenarios": {"a": {}}}, "seeds"),
        (_body(set={"train.capacity": 1.5}), "train.capacity"),
    ],
)
def test_invalid_design_names_file_and_key(
    tmp_path: Path, raw_params: dict, body: dict, needle: str
) -> None:
    path = write_design(tmp_path, "bad", body)
    with pytest.raises(DesignError) as info:
        load_design(path, raw_params)
    message = str(info.value)
    assert str(path) in message
    assert needle in message


def test_missing_and_malformed_files(tmp_path: Path, raw_params: dict) -> None:
    with pytest.raises(DesignError, match="not found"):
        load_design(tmp_path / "none.yaml", raw_params)
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: [1,\n")
    with pytest.raises(DesignError, match="not valid YAML"):
        load_design(bad, raw_params)


@pytest.mark.parametrize("name", ["observability", "biases", "practice", "recalibrated"])
def test_committed_designs_validate(raw_params: dict, name: str) -> None:
    design = load_design(DESIGNS / f"{name}.yaml", raw_params)
    assert len(design.scenarios) >= 2
    assert "as_now" in [s.name for s in design.scenarios]
    as_now = next(s for s in design.scenarios if s.name == "as_now")
    # as_now changes nothing about the world (only shared run settings such as threads)
    assert not [k for k in as_now.overrides if k.startswith("synth.")]


def test_cli_reports_an_invalid_design(tmp_path: Path) -> None:
    from secondlook.cli import app

    path = write_design(tmp_path, "bad", _body(scenarios={"a": {"set": {"synth.nothing": 1}}}))
    result = CliRunner().invoke(
        app, ["sweep", str(path), "--no-track", "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "synth.nothing" in result.output and str(path) in result.output
    assert not (tmp_path / "o").exists()


def test_fast_settings_are_valid(tmp_path: Path, raw_params: dict) -> None:
    path = write_design(tmp_path, "fast", _body(set=FAST))
    assert load_design(path, raw_params).scenarios[0].params["train"]["ebm"]["n_jobs"] == 1


def test_two_scenarios_with_the_same_worlds_are_refused(tmp_path: Path, raw_params: dict) -> None:
    body = _body(scenarios={"a": {}, "b": {"scale": {"synth.bias.surveillance": 1}}})
    path = write_design(tmp_path, "twice", body)
    with pytest.raises(DesignError, match=r"scenarios\.b and scenarios\.a"):
        load_design(path, raw_params)
