"""A small world whose every referral fits the census years 2017-2026, and its exports."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secondlook.ingest import export_census, family_links, write_census
from secondlook.ingest.export import prepare

#: the census years the test world's events fall into (1 April 2016 to 31 March 2026)
YEARS = range(2017, 2027)


@pytest.fixture(scope="session")
def census_world(make_synth: Callable[..., Any]) -> dict[str, pd.DataFrame]:
    """A 400-household world simulated from May 2016 to December 2025 (no seed cases)."""
    from secondlook.synth import build_world

    params = make_synth(
        history_start="2010-01-01",
        start="2016-05-01",
        decisions_from="2017-01-01",
        end="2025-12-31",
    )
    _, tables = build_world(params, None, n_households=400)
    return tables


@pytest.fixture(scope="session")
def census_files(
    census_world: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[Path], Path]:
    """The world exported as every census year's returns, and its family links CSV."""
    folder = tmp_path_factory.mktemp("census")
    files: list[Path] = []
    prepared = prepare(census_world)
    for year in YEARS:
        files += write_census(export_census(prepared, year), folder / f"cin_{year}.xml")
    links = folder / "families.csv"
    family_links(census_world).to_csv(links, index=False)
    return files, links
