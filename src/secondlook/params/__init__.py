"""params.yaml -> frozen, validated settings.

This is the one package that knows the shape of ``params.yaml``: one module per section
(:mod:`~secondlook.params.synth`, :mod:`~secondlook.params.features`, ...), each a tree of
frozen pydantic dataclasses. :func:`load_section` builds a section from the parsed YAML and
rejects unknown keys, missing keys, wrong types, out-of-range values and broken cross-field
rules with a :class:`ParamsError` whose message names the full dotted key
(``synth.harm.beta.drug``). :func:`json_schema` is the file's JSON schema, published as
``docs/params.schema.json``.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import TypeAdapter
from pydantic.dataclasses import dataclass

from secondlook.errors import ParamsError
from secondlook.params.base import CONFIG, NonNeg, Pos, Prob, from_mapping
from secondlook.params.data import NO_GROUND_TRUTH, DataParams
from secondlook.params.evaluate import EvaluateParams
from secondlook.params.explain import ExplainParams
from secondlook.params.fairness import FairnessParams, LabelBiasParams
from secondlook.params.features import FeaturesParams, SplitParams, WindowParams
from secondlook.params.score import ScoreParams
from secondlook.params.synth import (
    AgeParams,
    BetaParams,
    BiasParams,
    FactorParams,
    HarmParams,
    HouseholdParams,
    MarkovParams,
    PracticeParams,
    ReferralParams,
    SignalParams,
    SubstantiationParams,
    SynthParams,
)
from secondlook.params.train import (
    FAMILY_NAMES,
    EBMParams,
    FamilyName,
    GBMParams,
    LogRegParams,
    RulesParams,
    RulesPoints,
    TrainParams,
    TreeParams,
)

__all__ = [
    "ParamsError",
    "DataParams",
    "NO_GROUND_TRUTH",
    "Prob",
    "NonNeg",
    "Pos",
    "SynthParams",
    "HouseholdParams",
    "MarkovParams",
    "FactorParams",
    "AgeParams",
    "BetaParams",
    "HarmParams",
    "SignalParams",
    "ReferralParams",
    "BiasParams",
    "PracticeParams",
    "SubstantiationParams",
    "FeaturesParams",
    "SplitParams",
    "WindowParams",
    "TrainParams",
    "RulesPoints",
    "RulesParams",
    "LogRegParams",
    "TreeParams",
    "EBMParams",
    "GBMParams",
    "EvaluateParams",
    "ExplainParams",
    "ScoreParams",
    "FairnessParams",
    "LabelBiasParams",
    "FAMILY_NAMES",
    "FamilyName",
    "SECTIONS",
    "ParamsFile",
    "load_params",
    "load_section",
    "from_mapping",
    "json_schema",
]


@dataclass(frozen=True, config=CONFIG)
class ParamsFile:
    """The whole of ``params.yaml``: one section per stage."""

    data: DataParams
    synth: SynthParams
    features: FeaturesParams
    train: TrainParams
    evaluate: EvaluateParams
    explain: ExplainParams
    score: ScoreParams
    fairness: FairnessParams


#: the settings class of each top-level section, by section name (in params.yaml's order)
SECTIONS: dict[str, type] = typing.get_type_hints(ParamsFile)


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read a params file into a plain mapping, with a clear error if it is not YAML.

    Parameters
    ----------
    path
        The params file (default ``params.yaml``).

    Returns
    -------
    dict
        The parsed top-level mapping (sections are validated by :func:`load_section`).

    Raises
    ------
    ParamsError
        If the file is missing, is not YAML, is not a mapping or has an unknown section.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"params: file {path} not found") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"params: {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"params: {path} must hold a mapping of sections")
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ParamsError(
            f"params: `{unknown[0]}` is not a known section (known: {', '.join(sorted(SECTIONS))})"
        )
    return data


def load_section(name: str, data: Mapping[str, Any]) -> Any:
    """Validate one top-level section of the parsed params.

    Parameters
    ----------
    name
        Section name, e.g. ``"synth"``.
    data
        The whole parsed params mapping.

    Returns
    -------
    object
        The section's frozen settings object (the class :data:`SECTIONS` names).

    Raises
    ------
    ParamsError
        If the section is missing or invalid; the message names the dotted key.
    """
    if name not in data:
        raise ParamsError(f"params: section `{name}` is missing")
    return from_mapping(SECTIONS[name], data[name], name)


def json_schema() -> str:
    """The JSON schema of ``params.yaml`` (draft 2020-12), as published in ``docs/``.

    Returns
    -------
    str
        Indented JSON with sorted keys and a trailing newline; byte-identical across runs.
        Cross-field rules (``end`` after ``start``) are not expressible in it; the loader
        checks them.
    """
    schema = TypeAdapter(ParamsFile).json_schema()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "secondlook params.yaml",
        **schema,
    }
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
