"""What a cohort folder records, checked against what a model's view needs before scoring."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.score.errors import CohortError, ScoreError
from secondlook.score.io import TableSource

__all__ = ["check_view", "cohort_folder_records"]


def cohort_folder_records(
    folder: Path, sources: Mapping[str, TableSource] | None = None
) -> frozenset[str]:
    """What a cohort folder records: its import manifest's ``records`` list when it has one,
    else the event types present and the links its tables carry
    (:func:`secondlook.features.views.cohort_records`).

    ``sources`` (from :func:`secondlook.score.io.open_cohort`) gives each CSV's separator, as
    found from its header (an Excel "CSV UTF-8" export uses ``;``); without it a CSV is read
    with ``,``.

    Raises
    ------
    CohortError
        If the events table has no rows (nothing to score, and nothing to say what the cohort
        records).
    """
    import json

    from secondlook.features.views import cohort_records

    manifest = folder / "import-manifest.json"
    if manifest.is_file():
        declared = json.loads(manifest.read_text(encoding="utf-8")).get("records")
        if declared is not None:
            return frozenset(declared)
    columns = {
        "households": ["household_id", "deprivation_decile"],
        "people": ["household_id", "role", "disability"],
        "events": ["type"],
    }
    tables = {}
    for name, cols in columns.items():
        source = (sources or {}).get(name)
        parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
        if parquet.is_file():
            tables[name] = pd.read_parquet(parquet, columns=cols)
        else:
            frame = pd.read_csv(
                csv,
                sep=source.delimiter if source is not None else ",",
                usecols=frozenset(cols).__contains__,
                dtype=str,
                encoding="utf-8-sig",
            )
            tables[name] = frame
    if tables["events"].empty:
        path = parquet if (folder / "events.parquet").is_file() else folder / "events.csv"
        raise CohortError(f"table `events` ({path}) has no rows: there is nothing to score")
    return cohort_records(tables)


def check_view(
    folder: Path, metadata: dict[str, Any], sources: Mapping[str, TableSource] | None = None
) -> None:
    """Refuse a cohort that lacks what the model's view needs, naming what is missing."""
    from secondlook.features.views import ViewError, check_cohort

    view = metadata.get("view")
    if not view:  # a model trained before views existed read the multi-agency view
        return
    try:
        check_cohort(view["needs"], view["name"], cohort_folder_records(folder, sources))
    except ViewError as exc:
        raise ScoreError(f"cohort {folder}: {exc}") from None
