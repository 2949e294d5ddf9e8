"""Fixtures for the feature tests: seeded random worlds and the DuckDB oracle module."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from tests.features.feature_worlds import random_world

REPO = Path(__file__).resolve().parents[2]


def load_benchmark(name: str) -> ModuleType:
    """Import ``benchmarks/<name>.py`` (the benchmarks folder is not a package)."""
    path = REPO / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session", params=["duckdb_features", "duckdb_fast"])
def oracle(request: pytest.FixtureRequest) -> ModuleType:
    """A DuckDB implementation of the features: the oracle, and the fast formulation that
    ``benchmarks/bench_features.py`` times (both must give exactly the builder's table)."""
    return load_benchmark(request.param)


@pytest.fixture(scope="session")
def small_world() -> dict[str, pd.DataFrame]:
    """A seeded random world: ~40 households, ~1,700 events, ~300 decisions."""
    return random_world(7, n_households=40)
