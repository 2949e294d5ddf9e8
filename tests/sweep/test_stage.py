"""secondlook.sweep.stage: a tiny design end to end on an in-process Dask cluster; a world's row
is the same on every path."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from secondlook import tracking
from secondlook.sweep.design import load_design
from secondlook.sweep.engine import run_worlds
from secondlook.sweep.stage import run_sweep
from secondlook.sweep.task import make_tasks, run_world

VIGNETTES = Path(__file__).resolve().parents[2] / "data" / "vignettes"


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    a = {k: v for k, v in a.items() if k != "seconds"}
    b = {k: v for k, v in b.items() if k != "seconds"}
    assert a.keys() == b.keys()
    for k in a:
        if isinstance(a[k], float) and math.isnan(a[k]):
            assert isinstance(b[k], float) and math.isnan(b[k]), k
        else:
            assert a[k] == b[k], k


@pytest.fixture
def tracking_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


@pytest.mark.slow
def test_tiny_design_on_an_in_process_cluster(
    tiny_design: Path, raw_params: dict, tmp_path: Path, tracking_db: str
) -> None:
    from distributed import Client, LocalCluster

    out, cache = tmp_path / "out", tmp_path / "cache"
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cl,
        Client(cl) as client,
    ):
        summary = run_sweep(
            tiny_design, raw_params, out, cache=cache, vignettes=VIGNETTES, client=client,
            progress=False, log=str,
        )  # fmt: skip
    worlds = pd.read_csv(out / "worlds.csv")
    assert len(worlds) == 4
    assert list(worlds["scenario"]) == ["as_now", "as_now", "low", "low"]
    assert list(worlds["seed"]) == [11, 12, 11, 12]
    assert "seconds" not in worlds.columns
    assert len(list(cache.glob("*.json"))) == 4
    # the estimands are there and in range
    for family in ("rules", "logreg", "gbm"):
        auroc = worlds[f"auroc.{family}.warrants_escalation"]
        assert ((auroc > 0.5) & (auroc <= 1)).all(), family
        assert worlds[f"lead_over_practice.{family}"].between(-1, 1).all()
    assert worlds["candidate"].isin(["rules", "logreg"]).all()
    assert (worlds["proxy_auroc.logreg.cp_plan_12m"] > 0.5).all()
    # the planted change is seen: fewer police-domestic detections, fewer referrals
    by = worlds.groupby("scenario")["n_referrals"].mean()
    assert by["low"] < by["as_now"]
    assert any(c.startswith("seed_flag.sarah-") for c in worlds.columns)
    # summary, table and plots
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk == {k: v for k, v in summary.items() if k != "world_seconds"}
    lead = on_disk["estimands"]["lead_over_practice.candidate"]
    assert set(lead) == {"as_now", "low", "range"}
    means = worlds.groupby("scenario")["lead_over_practice.candidate"].mean()
    assert lead["as_now"]["mean"] == pytest.approx(means["as_now"], abs=1e-4)
    assert lead["range"] == pytest.approx([means.min(), means.max()], abs=1e-4)
    assert on_disk["findings"]["candidate_beats_practice"]["worlds"] == 4
    scenarios = pd.read_csv(out / "scenarios.csv")
    assert set(scenarios["scenario"]) == {"as_now", "low"}
    assert (out / "plots" / "lead_over_practice-candidate.png").stat().st_size > 1000
    # MLflow: one parent run and a child per world
    import mlflow

    exp = mlflow.MlflowClient(tracking_db).get_experiment_by_name(tracking.EXPERIMENT)
    runs = mlflow.MlflowClient(tracking_db).search_runs([exp.experiment_id])
    parents = [r for r in runs if r.info.run_name == "sweep-tiny"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert len(parents) == 1 and len(children) == 4

    # a world's row is identical alone, on the pandas path and on Dask (from the cache)
    design = load_design(tiny_design, raw_params)
    texts = [(n, (VIGNETTES / f"{n}.yaml").read_text()) for n in raw_params["synth"]["vignettes"]]
    task = make_tasks(design, texts)[2]
    alone = run_world(task)
    (pandas_row,) = run_worlds([task], None, engine="pandas", progress=False, log=str)
    dask_row = json.loads((cache / f"{task.key}.json").read_text())
    dask_row = {k: (math.nan if v is None else v) for k, v in dask_row.items()}
    _same(alone, pandas_row)
    _same(alone, dask_row)

    # a rerun resumes from the cache: nothing to run, the same bytes
    before = (out / "worlds.csv").read_bytes()
    shutil.rmtree(out)
    run_sweep(
        tiny_design, raw_params, out, cache=cache, vignettes=VIGNETTES, engine="pandas",
        progress=False, mlflow=False, log=str,
    )  # fmt: skip
    assert (out / "worlds.csv").read_bytes() == before
