"""The ``report`` stage: build the model from the stage outputs, render it, write one file.

This is the thin edge of the report package: it asks git for the commit and, when no file of
run ids exists, looks the MLflow run up by the test data's hash (through
:mod:`secondlook.tracking`); everything else is :func:`~secondlook.report.build.build_report`
and :func:`~secondlook.report.render.render`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from secondlook.fileio import write_atomically
from secondlook.gitinfo import git_state
from secondlook.report.build import ReportInputs, build_report
from secondlook.report.render import render

__all__ = ["git_commit", "mlflow_runs", "run_report"]


def git_commit(cwd: Path) -> str:
    """``git rev-parse HEAD`` in ``cwd``, marked when code, params or pipeline are uncommitted.

    Returns "" outside a git checkout (or without git).
    """
    # dirty means the code, params, pipeline or seed cases differ from the commit; outputs
    # that dvc repro rewrites while it runs (dvc.lock, metrics) do not count
    state = git_state(cwd, paths=("src", "params.yaml", "dvc.yaml", "data/vignettes"))
    if state is None:
        return ""
    head, dirty = state
    return head + (" + uncommitted changes to code or params" if dirty else "")


def mlflow_runs(metrics_path: Path) -> dict[str, Any] | None:
    """The MLflow runs the evaluate stage logged for the test data in ``metrics_path``.

    The evaluate stage tags its parent run with the test split's SHA-256 (also in
    ``metrics.json``); the newest parent run with that tag and its child runs are returned in
    the shape :func:`secondlook.tracking.log_pipeline_run` returns. None when tracking has no
    such run or MLflow cannot be reached.
    """
    if not metrics_path.is_file():
        return None
    sha = json.loads(metrics_path.read_text()).get("test_sha256")
    if not sha:
        return None
    try:
        import mlflow

        from secondlook import tracking

        uri = tracking.tracking_uri()
        if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).is_file():
            return None  # never create a tracking store just to look in it
        client = mlflow.MlflowClient(tracking_uri=uri)
        exp = client.get_experiment_by_name(tracking.EXPERIMENT)
        if exp is None:
            return None
        parents = client.search_runs(
            [exp.experiment_id],
            filter_string=f"tags.test_sha256 = '{sha}'",
            order_by=["attributes.start_time DESC"],
        )
        top = [p for p in parents if "mlflow.parentRunId" not in p.data.tags]
        if not top:
            return None
        parent = top[0]
        children = client.search_runs(
            [exp.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
        )
        runs = {c.data.tags.get("family", c.info.run_id): c.info.run_id for c in children}
        versions = {}
        for family, run_id in runs.items():
            found = client.search_model_versions(f"run_id = '{run_id}'")
            if found:
                versions[family] = str(found[0].version)
        return {
            "parent_run_id": parent.info.run_id,
            "runs": runs,
            "versions": versions,
            "source": "the MLflow tracking store, matched by the test data's SHA-256",
        }
    except Exception:  # noqa: BLE001 - the report must not fail because tracking is absent
        return None


def run_report(
    inputs: ReportInputs,
    out: Path,
    *,
    commit: str | None = None,
    lookup_runs: bool = True,
    root: Path | None = None,
    log: Callable[[str], Any] = print,
) -> Path:
    """Stage entry: build the report from ``inputs`` and write it to ``out``.

    Parameters
    ----------
    inputs
        The files to read.
    out
        The HTML file to write (its folder is created).
    commit
        The git commit to show; by default asked of git in ``root`` (or the current folder).
    lookup_runs
        When ``inputs.runs`` is not a file, look the MLflow run ids up by the test data hash.
    root
        The repository root: paths under it are shown relative to it.
    log
        Where progress and missing-input lines go.

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    where = root or Path.cwd()
    if commit is None:
        commit = git_commit(where)
    runs = None
    if lookup_runs and (inputs.runs is None or not inputs.runs.is_file()):
        runs = mlflow_runs(inputs.metrics)
    report = build_report(inputs, commit=commit, runs=runs, root=root, log=log)
    html = render(report)
    write_atomically(out, html)
    log(
        f"report: wrote {out} ({len(html.encode()) / 1e6:.1f} MB, "
        f"{len(report.missing)} input(s) not available)"
    )
    return out
