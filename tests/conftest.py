"""Shared fixtures: settings from the committed params.yaml, and tiny seeded worlds."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

from secondlook.params import SynthParams, load_params, load_section  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PARAMS_FILE = ROOT / "params.yaml"
VIGNETTES = ROOT / "data" / "vignettes"


def with_overrides(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a params mapping with dotted keys (``synth.bias.surveillance``) replaced."""
    out = copy.deepcopy(data)
    for dotted, value in overrides.items():
        node = out
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    return out


@pytest.fixture(scope="session")
def raw_params() -> dict[str, Any]:
    """The committed params.yaml, parsed (do not mutate: use :func:`with_overrides`)."""
    return load_params(PARAMS_FILE)


@pytest.fixture(scope="session")
def make_synth(raw_params: dict[str, Any]) -> Callable[..., SynthParams]:
    """Build ``synth`` settings with dotted overrides relative to the section."""

    def make(**overrides: Any) -> SynthParams:
        data = with_overrides(raw_params, {f"synth.{k}": v for k, v in overrides.items()})
        return load_section("synth", data)

    return make


@pytest.fixture(scope="session")
def synth_params(make_synth: Callable[..., SynthParams]) -> SynthParams:
    """The default ``synth`` settings."""
    return make_synth()


TINY = 800


@pytest.fixture(scope="session")
def tiny_world(synth_params: SynthParams) -> tuple[Any, dict[str, Any]]:
    """A simulated world of 800 households with the two seed cases placed in it."""
    from secondlook.synth import build_world
    from secondlook.synth.vignettes import load_vignettes

    vignettes = load_vignettes(VIGNETTES, synth_params.vignettes)
    return build_world(synth_params, vignettes, n_households=TINY)
