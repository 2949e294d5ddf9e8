"""The ``generate`` stage: simulate, add the seed cases, validate, summarise, write atomically."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.fileio import staged_folder
from secondlook.params import SynthParams
from secondlook.schema import COHORT_TABLES, TABLES, seed_case_prefixes, validate_tables
from secondlook.synth.calibration import summary
from secondlook.synth.tables import to_tables
from secondlook.synth.vignettes import load_vignettes, vignette_tables
from secondlook.synth.world import World, simulate


def build_world(
    params: SynthParams, vignettes: list[Any] | None = None, *, n_households: int | None = None
) -> tuple[World, dict[str, pd.DataFrame]]:
    """Simulate the labelled world and place the seed cases in it.

    Parameters
    ----------
    params
        The ``synth`` settings.
    vignettes
        Validated seed cases (:func:`secondlook.synth.vignettes.load_vignettes`), or None.
    n_households
        Override ``params.n_households`` (tests use tiny worlds).

    Returns
    -------
    (World, dict of str to pandas.DataFrame)
        The simulation and its validated tables: households, people, events, decisions, truth.
    """
    world = simulate(params, params.seed, n_households or params.n_households)
    tables = to_tables(world, params)
    for v in vignettes or []:
        extra = vignette_tables(v, params)
        for name in TABLES:
            tables[name] = pd.concat([tables[name], extra[name]], ignore_index=True)
    validate_tables(tables, (params.history_start, params.end))
    return world, tables


def build_cohort(
    params: SynthParams, *, n_households: int | None = None
) -> dict[str, pd.DataFrame]:
    """Simulate the unlabelled scoring cohort (another seed; no decisions, no truth)."""
    world = simulate(
        params, params.cohort_seed, n_households or params.cohort_households, keep_panels=False
    )
    tables = to_tables(world, params, labelled=False)
    validate_tables(tables, (params.history_start, params.end))
    return tables


def write_tables_atomically(
    tables: Mapping[str, pd.DataFrame], folder: Path, extra: Mapping[str, Any] | None = None
) -> None:
    """Write ``<name>.parquet`` per table (and JSON extras) so that no partial output remains.

    Everything is written into a temporary folder beside ``folder`` and only then moved into
    place, file by file (:func:`secondlook.fileio.staged_folder`).
    """
    with staged_folder(folder) as tmp:
        for name, df in tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        for name, obj in (extra or {}).items():
            (tmp / name).write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


def run_generate(
    params: SynthParams,
    out: Path,
    cohort: Path,
    vignette_dir: Path,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate ``out/{households,people,events,decisions,truth}.parquet``, ``summary.json``
    and the scoring cohort ``cohort/{households,people,events}.parquet``.

    Parameters
    ----------
    params
        The ``synth`` settings.
    out, cohort, vignette_dir
        Output folders and the folder of seed-case files.
    log
        Where progress lines go.

    Returns
    -------
    dict
        The calibration summary.
    """
    vignettes = load_vignettes(vignette_dir, params.vignettes)
    world, tables = build_world(params, vignettes)
    summ = summary(world, tables, params)
    summ["seed_cases"] = {
        v.name: sorted(
            tables["decisions"].loc[
                tables["decisions"]["decision_id"].str.startswith(seed_case_prefixes([v.name])),
                "decision_id",
            ]
        )
        for v in vignettes
    }
    cohort_tables = build_cohort(params)
    write_tables_atomically(tables, out, {"summary.json": summ})
    write_tables_atomically({k: cohort_tables[k] for k in COHORT_TABLES}, cohort)
    off = [r["key"] for r in summ["calibration"] if not r["within"]]
    log(
        f"generated {len(tables['households'])} households, {len(tables['events'])} events, "
        f"{len(tables['decisions'])} decisions; calibration: "
        + ("all within tolerance" if not off else f"outside tolerance: {', '.join(off)}")
    )
    return summ
