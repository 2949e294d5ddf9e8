"""secondlook.params: bad params give one clear error naming the key."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.params import ParamsError, json_schema, load_params, load_section
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


SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "params.schema.json"


def test_published_schema_is_current() -> None:
    assert SCHEMA.read_text() == json_schema(), (
        "docs/params.schema.json is stale: run `python -m secondlook.params > "
        "docs/params.schema.json`"
    )


def _schema_keys(schema: dict[str, Any], node: dict[str, Any], prefix: str) -> set[str]:
    """Every dotted key the schema declares under ``node`` (following ``$ref``)."""
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].split("/")[-1]]
    keys = set()
    for name, sub in node.get("properties", {}).items():
        keys.add(prefix + name)
        keys |= _schema_keys(schema, sub, f"{prefix}{name}.")
    return keys


def _yaml_keys(data: Any, prefix: str, schema_keys: set[str]) -> set[str]:
    """Every dotted key of params.yaml that is a settings field (mapping-typed keys excluded)."""
    keys = set()
    for name, sub in data.items():
        keys.add(prefix + name)
        if isinstance(sub, dict) and any(k.startswith(f"{prefix}{name}.") for k in schema_keys):
            keys |= _yaml_keys(sub, f"{prefix}{name}.", schema_keys)
    return keys


def test_schema_declares_exactly_the_keys_of_params_yaml(raw_params: dict[str, Any]) -> None:
    schema = json.loads(json_schema())
    declared = _schema_keys(schema, schema, "")
    assert _yaml_keys(raw_params, "", declared) == declared
    harm = schema["$defs"]["HarmParams"]
    assert harm["additionalProperties"] is False
    assert set(harm["required"]) == set(harm["properties"])
    assert schema["$defs"]["TrainParams"]["properties"]["capacity"] == {
        "maximum": 1,
        "minimum": 0,
        "title": "Capacity",
        "type": "number",
    }


def test_unknown_key_names_the_known_keys(raw_params: dict[str, Any]) -> None:
    with pytest.raises(
        ParamsError,
        match=r"`synth.bias.colour` is not a known key \(known: "
        r"disproportionality, surveillance\)",
    ):
        load_section("synth", with_overrides(raw_params, {"synth.bias.colour": 1}))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"synth.seed": True}, "`synth.seed` must be an integer, got True"),
        ({"synth.seed": 3.0}, "`synth.seed` must be an integer, got 3.0"),
        ({"synth.harm.intercept": "1"}, "`synth.harm.intercept` must be a number, got '1'"),
        ({"synth.start": 20130101}, "`synth.start` must be a date YYYY-MM-DD, got 20130101"),
        ({"synth.household": [1]}, "`synth.household` must be a mapping, got list"),
        (
            {"synth.household.pregnancy_notice_months": [1, 2, 3]},
            "`synth.household.pregnancy_notice_months` must be a list of 2 values",
        ),
        (
            {"synth.household.children_weights": [1, "a", 1, 1]},
            r"`synth.household.children_weights\[1\]` must be a number, got 'a'",
        ),
        (
            {"synth.household.ethnicity_weights.White": -1},
            "`synth.household.ethnicity_weights.White` must be a number >= 0, got -1",
        ),
        ({"synth.practice.nfa_cut": 99.0}, "`synth.practice.nfa_cut` must be below s47_cut"),
    ],
)
def test_type_and_rule_messages(raw_params: dict[str, Any], overrides, message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        load_section("synth", with_overrides(raw_params, overrides))


def test_replace_revalidates_and_keeps_settings_frozen(make_synth: Callable) -> None:
    params = make_synth()
    assert dataclasses.replace(params, seed=11).seed == 11
    with pytest.raises(ValueError, match="must differ from seed"):
        dataclasses.replace(params, seed=params.cohort_seed)
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.household.young_parent = 0.5  # type: ignore[misc]
