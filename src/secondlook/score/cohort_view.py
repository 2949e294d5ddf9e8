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
    if all((folder / f"{name}.parquet").is_file() for name in columns):
        return _parquet_records(folder, columns)
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


def _parquet_records(folder: Path, columns: Mapping[str, list[str]]) -> frozenset[str]:
    """:func:`secondlook.features.views.cohort_records` of parquet tables, read in batches.

    The same answer as reading the columns whole, in the memory of one batch: ten million
    referrals bring some two hundred million event types, which as one pandas column would
    take gigabytes. Only whether a household holds several people may need one column whole:
    when no batch of ``people`` repeats a household (one person per household, nearly).
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    def batches(name: str) -> Any:
        pf = pq.ParquetFile(folder / f"{name}.parquet")
        return pf.iter_batches(batch_size=1 << 20, columns=columns[name], use_threads=False)

    found: set[Any] = set()
    events = 0
    for b in batches("events"):
        events += b.num_rows
        found.update(pc.unique(b.column("type")).to_pylist())
    if not events:
        raise CohortError(
            f"table `events` ({folder / 'events.parquet'}) has no rows: there is nothing to score"
        )
    found.discard(None)
    for b in batches("people"):
        # a missing role counts as not a child, as pandas' `!=` counts it
        if not pc.all(pc.fill_null(pc.equal(b.column("role"), "child"), False)).as_py():
            found.add("adults")
        if b.column("disability").null_count < b.num_rows:
            found.add("disability")
        ids = b.column("household_id")
        if len(pc.unique(ids)) < len(ids):
            found.add("household")
    for b in batches("households"):
        if b.column("deprivation_decile").null_count < b.num_rows:
            found.add("deprivation")
    if "household" not in found:  # households split across batches: the whole column once
        ids = pq.read_table(folder / "people.parquet", columns=["household_id"])
        if len(pc.unique(ids.column("household_id"))) < ids.num_rows:
            found.add("household")
    return frozenset(found)


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
