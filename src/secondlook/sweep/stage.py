"""The ``sweep`` command: a design's worlds on Dask, their table, summary, plots and MLflow runs.

Writes into ``out`` (e.g. ``reports/sweep/<design>/``):

- ``worlds.csv`` — one row per world (identifiers, sizes, calibration figures, estimands);
- ``scenarios.csv`` — per scenario and estimand: n, mean, SD, Monte Carlo SE, min, max;
- ``summary.json`` — the small DVC metrics file (headline estimands, ranges, findings);
- ``plots/<estimand>.png`` — a forest plot per headline estimand.

Everything is written into a temporary folder beside ``out`` and moved into place only when all
of it exists, so a failed sweep leaves the previous outputs whole. Wall times are kept out of
these files (they go to the log and MLflow), so the same design and code give the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from secondlook.fileio import save_png, staged_folder
from secondlook.sweep.aggregate import HEADLINE, estimand_columns, summarise, summary_json
from secondlook.sweep.design import Design, load_design
from secondlook.sweep.engine import Engine, run_worlds
from secondlook.sweep.plots import forest_figure
from secondlook.sweep.task import make_tasks

__all__ = ["worlds_frame", "write_outputs", "run_sweep"]

#: columns of a row that vary between identical runs (kept out of the files)
VOLATILE = ("seconds",)


def worlds_frame(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The rows as a table without the volatile columns (wall time)."""
    frame = pd.DataFrame([dict(r) for r in rows])
    return frame.drop(columns=[c for c in VOLATILE if c in frame.columns])


def _plot_name(estimand: str) -> str:
    return estimand.replace(".", "-") + ".png"


def write_outputs(design: Design, worlds: pd.DataFrame, out: Path) -> dict[str, Any]:
    """Write ``worlds.csv``, ``scenarios.csv``, ``summary.json`` and the forest plots atomically.

    Returns
    -------
    dict
        The summary written to ``summary.json``.
    """
    summary = summary_json(design, worlds)
    with staged_folder(out) as tmp:
        worlds.to_csv(tmp / "worlds.csv", index=False, float_format="%.6g")
        summarise(worlds).to_csv(tmp / "scenarios.csv", index=False, float_format="%.6g")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
        (tmp / "plots").mkdir()
        order = [s.name for s in design.scenarios]
        for estimand in HEADLINE:
            if estimand not in estimand_columns(worlds):
                continue
            fig = forest_figure(worlds, estimand, order)
            save_png(fig, tmp / "plots" / _plot_name(estimand), dpi=110, tight=False)
    return summary


def _flat_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, entry in summary["estimands"].items():
        for scenario, stats in entry.items():
            if scenario == "range":
                out[f"{name}.range_low"], out[f"{name}.range_high"] = stats
            elif stats.get("mean") is not None:
                out[f"{name}.{scenario}.mean"] = stats["mean"]
    for name, f in summary["findings"].items():
        if f["holds_in_every_world"] is not None:
            out[f"finding.{name}.holds_in_every_world"] = float(f["holds_in_every_world"])
    return out


def _resized(design: Any, seeds: int | None, n_households: int | None) -> Any:
    """The design with ``seeds`` seeds from its first and ``n_households`` per world (if given)."""
    if seeds is None and n_households is None:
        return design
    return dataclasses.replace(
        design,
        seeds=(
            tuple(range(design.seeds[0], design.seeds[0] + seeds))
            if seeds is not None
            else design.seeds
        ),
        n_households=n_households or design.n_households,
    )


def _vignette_texts(params: Mapping[str, Any], vignettes: Path | None) -> list[tuple[str, str]]:
    """The seed-case files ``synth.vignettes`` names, as (name, YAML text); checked up front."""
    if vignettes is None:
        return []
    from secondlook.synth.vignettes import load_vignettes

    names = tuple(params["synth"].get("vignettes", ()))
    load_vignettes(Path(vignettes), names)  # a clear error for a bad seed case, up front
    return [(n, (Path(vignettes) / f"{n}.yaml").read_text()) for n in names]


def _log_mlflow(
    design: Any,
    summary: Mapping[str, Any],
    rows: list[dict[str, Any]],
    out: Path,
    log: Callable[[str], Any],
) -> None:
    """A parent MLflow run for the sweep with a child run per world."""
    from secondlook.tracking import log_sweep_run

    info = log_sweep_run(
        design.name,
        params={
            "design": {
                "name": design.name,
                "scenarios": [s.name for s in design.scenarios],
                "seeds": list(design.seeds),
                "n_households": design.n_households,
                "families": list(design.families),
            },
            "scenario": {s.name: dict(s.overrides) for s in design.scenarios},
        },
        metrics=_flat_metrics(summary),
        worlds=rows,
        artifacts=[out / n for n in ("worlds.csv", "scenarios.csv", "summary.json", "plots")],
    )
    log(f"sweep: MLflow parent run {info['parent_run_id']} with {len(info['runs'])} worlds")


def run_sweep(
    design_path: Path,
    params: Mapping[str, Any],
    out: Path,
    *,
    cache: Path | None,
    vignettes: Path | None = None,
    engine: Engine = "dask",
    scheduler: str | None = None,
    n_workers: int = 2,
    memory_limit: str | None = None,
    seeds: int | None = None,
    n_households: int | None = None,
    progress: bool = True,
    mlflow: bool = True,
    client: Any = None,
    log: Callable[[str], Any] = print,
) -> dict[str, Any]:
    """Validate a design, run its worlds (resuming from ``cache``), aggregate and write.

    Parameters
    ----------
    design_path
        The design YAML.
    params
        The parsed params.yaml the scenarios override.
    out
        Output folder.
    cache
        Folder of finished worlds; None caches nothing.
    vignettes
        Folder of seed-case files (``synth.vignettes`` are placed in every world), or None.
    engine, scheduler, n_workers, memory_limit, client
        See :func:`secondlook.sweep.engine.run_worlds`.
    seeds, n_households
        Override the design's number of seeds and world size (quick looks, benchmarks).
    progress
        Show the progress bar.
    mlflow
        Log a parent run and a child run per world through :mod:`secondlook.tracking`.
    log
        Where progress lines go.

    Returns
    -------
    dict
        The summary (see :func:`secondlook.sweep.aggregate.summary_json`) and ``seconds`` per
        world under ``world_seconds``.

    Raises
    ------
    DesignError
        If the design does not validate (the message names the file and the key).
    """
    design = _resized(load_design(Path(design_path), params), seeds, n_households)
    tasks = make_tasks(design, _vignette_texts(params, vignettes))
    log(
        f"sweep {design.name}: {len(design.scenarios)} scenarios x {len(design.seeds)} seeds, "
        f"{design.n_households} households per world, families {', '.join(design.families)}"
    )
    rows = run_worlds(
        tasks,
        cache,
        engine=engine,
        scheduler=scheduler,
        client=client,
        n_workers=n_workers,
        memory_limit=memory_limit,
        progress=progress,
        log=log,
    )
    worlds = worlds_frame(rows)
    summary = write_outputs(design, worlds, Path(out))
    held = {k: v["holds_in_every_world"] for k, v in summary["findings"].items()}
    log(
        "sweep: findings holding in every world: "
        + ", ".join(
            f"{k} {'yes' if v else 'no' if v is not None else 'n/a'}" for k, v in held.items()
        )
    )
    if mlflow:
        _log_mlflow(design, summary, rows, Path(out), log)
    return summary | {"world_seconds": [r.get("seconds") for r in rows]}
