"""An imported cohort as the pipeline's records (``data.source: cohort``): no ground truth.

:func:`records_world` turns a cohort's canonical tables into what the ``generate`` stage writes
for the synthetic world: the same ``households``, ``people`` and ``events``; the cohort's
referrals as ``decisions`` (:func:`secondlook.labels.observed_decisions`); and, in place of the
truth, a labels table holding only the labels a real service can observe (``cp_plan_12m``,
``rereferral_12m``, and ``removal_12m`` only where the source records removals), computed with
the synthetic world's own follow-up rule. ``truth.parquet`` then has no ``warrants_escalation``,
``harm_*`` or ``true_risk_12m`` column, and every stage that needs them says
:data:`secondlook.params.NO_GROUND_TRUTH` instead of a figure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.ingest.stage import MANIFEST, read_cohort
from secondlook.labels import LABEL_NEEDS, observed_decisions
from secondlook.params import NO_GROUND_TRUTH
from secondlook.schema import COHORT_TABLES, validate_tables

__all__ = ["cohort_end", "records_world", "run_generate_from_records"]


def cohort_end(events: pd.DataFrame, manifest: Mapping[str, Any] | None) -> dt.date:
    """The cohort's last day: its latest return's reference date, else its latest event."""
    dates = [
        str(i["reference_date"])
        for i in (manifest or {}).get("inputs", [])
        if isinstance(i, Mapping) and i.get("reference_date")
    ]
    if dates:
        return dt.date.fromisoformat(max(dates))
    return pd.Timestamp(events["date"].max()).date()


def records_world(
    tables: Mapping[str, pd.DataFrame],
    manifest: Mapping[str, Any] | None,
    *,
    decisions_from: dt.date,
    follow_up_months: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """A cohort's tables in the shape ``generate`` writes, with observable labels only.

    Parameters
    ----------
    tables
        The cohort's ``households``, ``people`` and ``events``.
    manifest
        Its import manifest (``records``: what the source records; ``inputs``: reference
        dates), or None: then the event kinds present are taken as recorded.
    decisions_from
        Earlier referrals are history only (the first split window's start).
    follow_up_months
        Decisions later than the cohort's end minus this are left out (labels unobservable).

    Returns
    -------
    tables, summary
        ``households``, ``people``, ``events``, ``decisions`` and ``truth`` (``decision_id``
        and the observable labels only); a summary saying the source, what is recorded and
        observable, and that no ground truth exists.
    """
    end = cohort_end(tables["events"], manifest)
    records = (manifest or {}).get("records")
    decisions, labels = observed_decisions(
        tables["events"],
        end=end,
        follow_up_months=follow_up_months,
        decisions_from=decisions_from,
        records=records,
    )
    out = {name: tables[name] for name in COHORT_TABLES}
    out["decisions"] = decisions
    validate_tables(out)
    out["truth"] = labels
    observed = [c for c in labels.columns if c != "decision_id"]
    summary = {
        "source": "cohort",
        "ground_truth": NO_GROUND_TRUTH,
        "format": (manifest or {}).get("format"),
        "records": sorted(records) if records else sorted(pd.unique(tables["events"]["type"])),
        "labels_observed": observed,
        "labels_not_observable": [c for c in LABEL_NEEDS if c not in observed],
        "end": end.isoformat(),
        "decisions_from": decisions_from.isoformat(),
        "follow_up_months": follow_up_months,
        "n_households": len(tables["households"]),
        "n_people": len(tables["people"]),
        "n_events": len(tables["events"]),
        "n_decisions": len(decisions),
        "label_rates": {c: round(float(labels[c].mean()), 6) for c in observed}
        if len(labels)
        else {},
        "inputs": [
            {k: i.get(k) for k in ("file", "sha256")}
            for i in (manifest or {}).get("inputs", [])
            if isinstance(i, Mapping)
        ],
        "seed_cases": {},
        "calibration": [],
    }
    return out, summary


def run_generate_from_records(
    records: Path,
    out: Path,
    cohort: Path,
    *,
    decisions_from: dt.date,
    follow_up_months: int,
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """``generate`` under ``data.source: cohort``: the imported cohort as the pipeline's records.

    Writes ``out/{households,people,events,decisions,truth}.parquet`` (``truth``: the
    observable labels only) and ``summary.json``, and the same cohort's tables into ``cohort``
    (what the ``score`` stage scores), each folder all or nothing.

    Raises
    ------
    ImportRefused
        When ``records`` lacks a cohort table.
    """
    from secondlook.synth.stage import write_tables_atomically

    tables, _ = read_cohort(records)
    path = records / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    world, summary = records_world(
        tables, manifest, decisions_from=decisions_from, follow_up_months=follow_up_months
    )
    write_tables_atomically(world, out, {"summary.json": summary})
    write_tables_atomically({k: tables[k] for k in COHORT_TABLES}, cohort)
    log(
        f"records from {records}: {summary['n_people']} children, {summary['n_decisions']} "
        f"decisions, observable labels {', '.join(summary['labels_observed'])}; no ground truth"
    )
    return summary


def is_real_records(data: Mapping[str, Any]) -> bool:
    """Whether the params say ``data.source: cohort`` (real records, no ground truth)."""
    from secondlook.params import load_section

    return bool(load_section("data", data).source == "cohort")


def generate_from_records(
    data: Mapping[str, Any],
    records: Path | None,
    out: Path,
    cohort: Path,
    *,
    log: Callable[[str], Any] = print,
) -> None:
    """The generate stage when ``data.source`` is ``cohort``: read ``records``, not a world.

    Raises
    ------
    MissingInputError
        If ``records`` is not given or holds no imported cohort (``events.parquet``).
    """
    from secondlook.errors import MissingInputError
    from secondlook.params import load_section

    if records is None or not (records / "events.parquet").is_file():
        raise MissingInputError(
            f"data.source is cohort but --records {records} holds no imported cohort "
            "(run `secondlook import cin-census FILE.xml --out <folder>` first)"
        )
    windows = load_section("features", data).split.windows()
    run_generate_from_records(
        records,
        out,
        cohort,
        decisions_from=min(w.start for w in windows.values()),
        follow_up_months=load_section("synth", data).follow_up_months,
        log=log,
    )


def check_view_for_records(raw: Path, view: str) -> None:
    """Refuse a ``features.view`` the imported records cannot give (its features would be zeros).

    Raises
    ------
    ParamsError
        Naming ``features.view`` and what the records do not hold.
    """
    from secondlook.errors import ParamsError
    from secondlook.features.views import view_needs

    if not (raw / "summary.json").is_file():
        return
    records = json.loads((raw / "summary.json").read_text(encoding="utf-8"))["records"]
    missing = sorted(view_needs(view) - set(records))
    if missing:
        raise ParamsError(
            f"params: `features.view` is {view}, which needs what the records do "
            f"not hold: {', '.join(missing)}; set features.view to a view they have "
            "(an imported CIN census: cin_census)"
        )


def write_not_available(stage: str, out: Path, markdown: Path | None = None) -> None:
    """Write a truth-dependent stage's outputs as "not available" on real records.

    ``patterns`` writes ``{"ground_truth": ..., "headline": {}}``; ``policy`` an empty JSON
    list and a markdown page saying why; ``views`` (``out`` a folder) a ``views.csv`` with the
    header ``view,not_available`` and ``views.md`` saying why.
    """
    from secondlook.fileio import write_json

    if stage == "patterns":
        write_json(out, {"ground_truth": NO_GROUND_TRUTH, "headline": {}})
    elif stage == "policy":
        if markdown is None:
            raise ValueError("the policy stage's not-available output needs its markdown path")
        write_json(out, [])
        markdown.write_text(f"# What the policy on reasons costs and buys\n\n{NO_GROUND_TRUTH}\n")
    elif stage == "views":
        out.mkdir(parents=True, exist_ok=True)
        (out / "views.csv").write_text("view,not_available\n")
        (out / "views.md").write_text(f"# The value of linked records\n\n{NO_GROUND_TRUTH}\n")
    else:
        raise ValueError(f"no not-available output for stage {stage!r}")
