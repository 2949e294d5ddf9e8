"""The thin edge of the importers and the exporter: read and write folders, all or nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.fileio import staged_folder
from secondlook.ingest.errors import ImportRefused
from secondlook.schema import COHORT_TABLES

__all__ = ["MANIFEST", "read_cohort", "write_import"]

#: the manifest's file name in an imported cohort folder
MANIFEST = "import-manifest.json"


def write_import(
    out: Path,
    tables: Mapping[str, pd.DataFrame],
    side: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any],
) -> list[Path]:
    """Write an imported cohort: the canonical tables, the code side tables and the manifest.

    Everything is written into a temporary folder beside ``out`` and moved in at the end, so a
    failure leaves nothing half-written.

    Parameters
    ----------
    out
        The cohort folder; created. Refused when it already holds any file.
    tables
        ``households``, ``people``, ``events`` -> ``<name>.parquet``.
    side
        ``codes_*`` side tables -> ``<name>.parquet``.
    manifest
        Written as ``import-manifest.json``.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ImportRefused
        When ``out`` exists and is not an empty folder.
    """
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ImportRefused(str(out), "the output folder exists and is not empty")
    names = []
    with staged_folder(out) as tmp:
        for name, df in {**tables, **side}.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
            names.append(f"{name}.parquet")
        text = json.dumps(manifest, indent=2, sort_keys=True, default=str)
        (tmp / MANIFEST).write_text(text + "\n", encoding="utf-8")
        names.append(MANIFEST)
    return [out / n for n in names]


def read_cohort(folder: Path) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """The canonical tables of a cohort folder (parquet) and its ``codes_*`` side tables.

    Raises
    ------
    ImportRefused
        When a table is missing.
    """
    tables = {}
    for name in COHORT_TABLES:
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise ImportRefused(str(path), f"the cohort has no `{name}` table")
        tables[name] = pd.read_parquet(path)
    side = {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("codes_*.parquet"))}
    return tables, side


def _summary(manifest: Mapping[str, Any]) -> str:
    out = manifest["counts_out"]
    parts = [f"{out['people']} children, {out['households']} households, {out['events']} events"]
    for block in ("repairs", "drops", "warnings"):
        items = manifest[block]
        if items:
            parts.append(
                f"{block}: " + ", ".join(f"{k} {v['count']}" for k, v in sorted(items.items()))
            )
    return "; ".join(parts)


def run_import_census(
    files: list[Path],
    out: Path,
    *,
    households: Path | None = None,
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """``secondlook import cin-census``: import, then write all or nothing; returns the manifest."""
    from secondlook.ingest.census import import_census

    result = import_census(files, households=households)
    write_import(out, result.tables, result.codes, result.manifest)
    log(f"imported {len(files)} return(s) into {out}: {_summary(result.manifest)}")
    return result.manifest


def run_import_annex_a(
    workbook: Path,
    out: Path,
    *,
    mappings: Path | None = None,
    lea: str = "000",
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """``secondlook import annex-a``: import, then write all or nothing; returns the manifest."""
    from secondlook.ingest.annex_a import import_annex_a

    result = import_annex_a(workbook, mappings=mappings, lea=lea)
    write_import(out, result.tables, result.codes, result.manifest)
    log(f"imported {workbook} into {out}: {_summary(result.manifest)}")
    return result.manifest


def run_export_census(
    cohort: Path,
    year: int,
    out: Path,
    *,
    households_out: Path | None = None,
    log: Callable[[str], Any] = print,
) -> list[Path]:
    """``secondlook export cin-census``: one return per local authority; returns the files."""
    from secondlook.ingest.export import export_census, family_links, write_census

    tables, side = read_cohort(cohort)
    docs = export_census(tables, year, side=side)
    if not docs:
        raise ImportRefused(str(cohort), f"no child of the cohort is in the {year} census year")
    written = write_census(docs, out)
    if households_out is not None:
        households_out.parent.mkdir(parents=True, exist_ok=True)
        family_links(tables).to_csv(households_out, index=False)
    log(f"wrote {', '.join(str(p) for p in written)}")
    return written


def run_observe(
    cohort: Path,
    out: Path,
    *,
    end: Any,
    follow_up_months: int,
    decisions_from: Any = None,
    log: Callable[[str], Any] = print,
) -> dict[str, int]:
    """``secondlook observe``: a cohort's decisions and the labels its source can observe.

    Writes ``decisions.parquet`` and ``labels.parquet`` into ``out`` (all or nothing); the
    labels are those :func:`secondlook.labels.observed_decisions` can compute from what the
    cohort records (its import manifest's ``records`` when it has one). Returns counts.
    """
    from secondlook.labels import observed_decisions

    tables, _ = read_cohort(cohort)
    records = None
    manifest = cohort / MANIFEST
    if manifest.is_file():
        records = json.loads(manifest.read_text(encoding="utf-8")).get("records")
    decisions, labels = observed_decisions(
        tables["events"],
        end=end,
        follow_up_months=follow_up_months,
        decisions_from=decisions_from,
        records=records,
    )
    with staged_folder(out) as tmp:
        decisions.to_parquet(tmp / "decisions.parquet", index=False)
        labels.to_parquet(tmp / "labels.parquet", index=False)
    counts = {"decisions": len(decisions)}
    counts.update({c: int(labels[c].sum()) for c in labels.columns if c != "decision_id"})
    log(f"observe: {counts} -> {out}; labels not observable here are absent")
    return counts
