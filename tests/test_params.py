"""Bad params give one clear error naming the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.params import ParamsError, load_params, load_section
from tests.conftest import with_overrides


@pytest.mark.parametrize(
    ("overrides", "key", "words"),
    [
        ({"synth.colour": "red"}, "synth.colour", "not a known key"),
        ({"synth.harm.beta.luck": 1.0}, "synth.harm.beta.luck", "not a known key"),
        ({"synth.household.young_parent": 1.5}, "synth.household.young_parent", "probability"),
        ({"synth.practice.icpc": -0.1}, "synth.practice.icpc", "probability"),
        ({"synth.end": "2013-01-01"}, "synth.end", "after start"),
        ({"synth.start": "next year"}, "synth.start", "date"),
        ({"synth.n_households": 0}, "synth.n_households", "integer > 0"),
        ({"synth.seed": "abc"}, "synth.seed", "integer"),
        (
            {"synth.bias.disproportionality": {"White": 0.0}},
            "synth.bias.disproportionality",
            "each of",
        ),
    ],
)
def test_bad_param_names_the_key(
    raw_params: dict[str, Any], overrides, key: str, words: str
) -> None:
    with pytest.raises(ParamsError) as exc:
        load_section("synth", with_overrides(raw_params, overrides))
    assert f"`{key}`" in str(exc.value)
    assert words in str(exc.value)


def test_missing_key_is_named(raw_params: dict[str, Any]) -> None:
    data = with_overrides(raw_params, {})
    del data["synth"]["harm"]["co_occurrence"]
    with pytest.raises(ParamsError, match=r"`synth.harm.co_occurrence` is missing"):
        load_section("synth", data)


def test_settings_are_frozen(make_synth: Callable) -> None:
    params = make_synth()
    with pytest.raises(AttributeError):
        params.seed = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        params.bias.disproportionality["White"] = 1.0  # type: ignore[index]


def test_unknown_section_and_bad_yaml(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("synth: [unclosed\n")
    with pytest.raises(ParamsError, match="not valid YAML"):
        load_params(bad)
    bad.write_text(yaml.safe_dump({"sinth": {}}))
    with pytest.raises(ParamsError, match="`sinth` is not a known section"):
        load_params(bad)


def test_cli_reports_a_bad_param_without_traceback(
    raw_params: dict[str, Any], tmp_path: Path
) -> None:
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(with_overrides(raw_params, {"synth.practice.plan": 2})))
    out = tmp_path / "raw"
    result = CliRunner().invoke(
        app,
        ["generate", "--params", str(params), "--out", str(out), "--cohort", str(tmp_path / "c")],
    )
    assert result.exit_code == 2
    assert "synth.practice.plan" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_without_planted_biases_switches_off_only_the_biases(make_synth: Callable) -> None:
    params = make_synth()
    off = params.without_planted_biases()
    assert off.bias.surveillance == 0.0
    assert set(off.bias.disproportionality.values()) == {0.0}
    assert set(off.bias.disproportionality) == set(params.bias.disproportionality)
    assert off.practice == params.practice and off.seed == params.seed
    assert params.bias.surveillance > 0  # the original is untouched (frozen)
