"""Shared fixtures: settings from the committed params.yaml, tiny seeded worlds, and a small world
exported as census returns (used by the ingest, labels and score tests)."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
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


#: the census years the test world's events fall into (1 April 2016 to 31 March 2026)
YEARS = range(2017, 2027)
#: the simulation window whose referrals all fall into the census years :data:`YEARS`
CENSUS_WINDOW = {
    "history_start": "2010-01-01",
    "start": "2016-05-01",
    "decisions_from": "2017-01-01",
    "end": "2025-12-31",
}


@pytest.fixture(scope="session")
def census_world(make_synth: Callable[..., Any]) -> dict[str, pd.DataFrame]:
    """A 400-household world simulated from May 2016 to December 2025 (no seed cases)."""
    from secondlook.synth import build_world

    _, tables = build_world(make_synth(**CENSUS_WINDOW), None, n_households=400)
    return tables


@pytest.fixture(scope="session")
def census_files(
    census_world: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Path], Path]:
    """The world exported as every census year's returns, and its family links CSV."""
    from secondlook.ingest import export_census, family_links, write_census
    from secondlook.ingest.export import prepare

    folder = tmp_path_factory.mktemp("census")
    files: list[Path] = []
    prepared = prepare(census_world)
    for year in YEARS:
        files += write_census(export_census(prepared, year), folder / f"cin_{year}.xml")
    links = folder / "families.csv"
    family_links(census_world).to_csv(links, index=False)
    return files, links
