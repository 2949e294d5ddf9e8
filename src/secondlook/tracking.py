"""The MLflow boundary: where runs go and what they log (:mod:`secondlook.mlflow_registry` reads a
registered model back).

- **Where runs go.** ``MLFLOW_TRACKING_URI`` if set; otherwise an *absolute* SQLite URI to
  ``<repo root>/experiments/mlflow.db``, with artifacts in ``<repo root>/experiments/mlartifacts``.
  The repo root is resolved so that runs under ``dvc exp run --temp`` or ``--queue`` (which execute
  in a copy of the repository under ``<root>/.dvc/tmp/exps/``) land in the real repository's
  database, not in the temporary copy that DVC deletes afterwards.
- **What a pipeline run logs.** One parent run, and a child run per model family holding its
  flattened params, metrics with interval bounds (``auroc``, ``auroc_lo``, ``auroc_hi``…), its
  metadata, and the model itself (skops-serialised, explicit signature and input example),
  registered as ``secondlook-<family>``. The best interpretable family's new version gets the
  alias ``candidate`` (removed from every other family, so exactly one candidate exists).
- Telemetry is off (``MLFLOW_DISABLE_TELEMETRY``, ``DO_NOT_TRACK``) before mlflow is imported.

Everything else in secondlook works with tracking off.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import pandas as pd  # noqa: E402

from secondlook.gitinfo import git_state  # noqa: E402

T = TypeVar("T")

__all__ = [
    "EXPERIMENT",
    "CANDIDATE_ALIAS",
    "FamilyRun",
    "repo_root",
    "tracking_uri",
    "artifact_location",
    "configure",
    "reroot_store",
    "retry_locked",
    "store_lock",
    "flatten",
    "registered_name",
    "log_pipeline_run",
    "log_stage_run",
    "log_sweep_run",
]

#: the MLflow experiment every pipeline run is logged to
EXPERIMENT = "secondlook"
#: the registry alias of the best interpretable family
CANDIDATE_ALIAS = "candidate"


def repo_root(start: str | Path | None = None) -> Path:
    """The repository root, also from inside a DVC temporary experiment copy.

    Parameters
    ----------
    start
        Where to start looking; default the current directory.

    Returns
    -------
    pathlib.Path
        The first ancestor holding ``.dvc/`` or ``.git``, except that a path inside
        ``<root>/.dvc/tmp/`` (DVC's ``--temp``/``--queue`` workspaces) resolves to ``<root>``.
    """
    here = Path(start if start is not None else os.getcwd()).resolve()
    parts = here.parts
    for i in range(len(parts) - 1):
        if parts[i] == ".dvc" and parts[i + 1] == "tmp":
            return Path(*parts[:i])
    for candidate in (here, *here.parents):
        if (candidate / ".dvc").is_dir() or (candidate / ".git").exists():
            return candidate
    return here


def tracking_uri(root: Path | None = None) -> str:
    """``MLFLOW_TRACKING_URI`` if set, else ``sqlite:///<root>/experiments/mlflow.db``."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    db = (root or repo_root()) / "experiments" / "mlflow.db"
    return f"sqlite:///{db.resolve()}"


def artifact_location(root: Path | None = None) -> str:
    """Absolute ``file:`` URI of ``<root>/experiments/mlartifacts``."""
    return ((root or repo_root()) / "experiments" / "mlartifacts").resolve().as_uri()


def store_lock(uri: str | None = None, timeout: float = 600.0) -> Any:
    """A file lock that serialises the writers of one tracking store on this machine.

    ``<db>.lock`` beside a SQLite store; ``<repo root>/experiments/.tracking.lock`` for any
    other store (the registry's alias move is read-delete-set, atomic for no store). Held while
    a store is created and migrated, while a run is logged and while the ``candidate`` alias
    moves, so parallel stages (``dvc queue start -j 2``) neither crash in MLflow's schema
    migration on a fresh store nor leave two candidates.
    """
    from filelock import FileLock

    uri = uri or tracking_uri()
    if uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///")).with_suffix(".db.lock")
    else:
        path = repo_root() / "experiments" / ".tracking.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path), timeout=timeout)


#: how often a write that finds SQLite's database locked is tried, and the first pause (s)
LOCKED_ATTEMPTS, LOCKED_PAUSE = 6, 0.5


def retry_locked(fn: Callable[[], T]) -> T:
    """Run ``fn``; while SQLite answers "database is locked", wait and run it again (bounded).

    Only for idempotent steps (opening the store, moving an alias): a pause that doubles, at
    most :data:`LOCKED_ATTEMPTS` tries, then the error as it came.
    """
    import time

    pause = LOCKED_PAUSE
    for attempt in range(LOCKED_ATTEMPTS):
        try:
            return fn()
        except Exception as exc:
            if "database is locked" not in str(exc) or attempt == LOCKED_ATTEMPTS - 1:
                raise
            time.sleep(pause)
            pause *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def configure(uri: str | None = None, experiment: str = EXPERIMENT) -> str:
    """Point MLflow at ``uri`` (default :func:`tracking_uri`) and select ``experiment``.

    A SQLite store is created and migrated by one process at a time (:func:`store_lock`), and
    artifact locations recorded under another folder's ``experiments/mlartifacts`` -- a clone
    that was moved or copied -- are re-rooted to this store's folder (:func:`reroot_store`).
    A new experiment on a local SQLite store gets the absolute artifact location beside the
    store, so artifacts never land in a temporary working copy.

    Returns
    -------
    str
        The experiment id.
    """
    import mlflow

    uri = uri or tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)

    def open_store() -> str:
        client = mlflow.MlflowClient(tracking_uri=uri)  # creates and migrates a new store
        if uri.startswith("sqlite:///"):
            reroot_store(Path(uri.removeprefix("sqlite:///")))
        exp = client.get_experiment_by_name(experiment)
        if exp is not None:
            return str(exp.experiment_id)
        location = None
        if uri.startswith("sqlite:///"):
            db = Path(uri.removeprefix("sqlite:///"))
            location = (db.parent / "mlartifacts").resolve().as_uri()
        return str(client.create_experiment(experiment, artifact_location=location))

    with store_lock(uri):
        mlflow.set_tracking_uri(uri)
        exp_id = retry_locked(open_store)
    # the fluent API caches the experiment across URIs: select it explicitly (a read that
    # another process's write can find locked, so retried like opening the store)
    retry_locked(lambda: mlflow.set_experiment(experiment_id=exp_id))
    return str(exp_id)


#: (table, column) of a SQLite store that hold artifact locations
_LOCATION_COLUMNS = (
    ("experiments", "artifact_location"),
    ("runs", "artifact_uri"),
    ("logged_models", "artifact_location"),
    ("model_versions", "storage_location"),
    ("model_versions", "source"),
)


def reroot_store(db: Path) -> int:
    """Point artifact locations of a moved or copied store at its own ``mlartifacts``.

    MLflow records absolute ``file:`` locations. A store at ``<root>/experiments/mlflow.db``
    whose locations name another ``…/experiments/mlartifacts`` (the clone was moved or copied)
    would read the old folder's artifacts, or fail when it is gone; they are rewritten to
    ``<root>/experiments/mlartifacts``. Locations anywhere else (a server's, a custom root) are
    left alone. Call it holding :func:`store_lock`.

    Returns
    -------
    int
        Rows rewritten.
    """
    import sqlite3

    here = (db.parent / "mlartifacts").resolve().as_uri()
    con = sqlite3.connect(db, timeout=60)
    try:
        tables = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
        if "experiments" not in tables:
            return 0
        roots = set()
        for (loc,) in con.execute("select artifact_location from experiments"):
            if isinstance(loc, str) and loc.startswith("file://"):
                head = loc.split("/experiments/mlartifacts", 1)
                if len(head) == 2 and head[0] + "/experiments/mlartifacts" != here:
                    roots.add(head[0] + "/experiments/mlartifacts")
        changed = 0
        for old in sorted(roots):
            for table, column in _LOCATION_COLUMNS:
                if table in tables:
                    cur = con.execute(
                        f"update {table} set {column} = replace({column}, ?, ?) "  # noqa: S608
                        f"where {column} like ?",
                        (old, here, old + "%"),
                    )
                    changed += cur.rowcount
        con.commit()
        return changed
    finally:
        con.close()


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Flatten nested mappings and dataclasses to ``{"a.b.c": value}`` (lists become strings)."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            value = dataclasses.asdict(value)
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        elif isinstance(value, list | tuple):
            out[name] = ",".join(map(str, value))
        else:
            out[name] = value
    return out


def registered_name(family: str) -> str:
    """The registry name of a family's model: ``secondlook-<family>``."""
    return f"secondlook-{family}"


@dataclasses.dataclass
class FamilyRun:
    """What one family's child run logs.

    Attributes
    ----------
    family
        The family name.
    model
        The fitted :class:`~secondlook.models.calibrate.CalibratedModel`.
    metadata
        The model's ``metadata.json`` content.
    metrics
        Flat ``{name: value}`` (``auroc``, ``auroc_lo``, …).
    input_example
        A few rows of the model's inputs (float64), used for the signature and example.
    """

    family: str
    model: Any
    metadata: dict[str, Any]
    metrics: dict[str, float]
    input_example: pd.DataFrame


def _git_commit(cwd: Path) -> str:
    state = git_state(cwd)
    return "unknown" if state is None else state[0]


def _loggable(metrics: Mapping[str, float | None]) -> dict[str, float]:
    """The metrics MLflow can hold: None and NaN are skipped, the rest made floats."""
    return {k: float(v) for k, v in metrics.items() if v is not None and v == v}


def _log_artifacts(paths: list[Path]) -> None:
    """Attach files and folders to the active run; missing ones are skipped."""
    import mlflow

    for path in paths:
        p = Path(path)
        if p.is_dir():
            mlflow.log_artifacts(str(p), artifact_path=p.name)
        elif p.is_file():
            mlflow.log_artifact(str(p))


def _requirements() -> list[str]:
    from importlib.metadata import version

    return [
        f"{p}=={version(p)}"
        for p in ("scikit-learn", "interpret-core", "skops", "numpy", "pandas", "scipy")
    ]


def _log_model(run: FamilyRun) -> Any:
    import mlflow
    from mlflow.models import infer_signature

    from secondlook.models.persist import TRUSTED_TYPES

    example = run.input_example
    signature = infer_signature(example, run.model.predict_proba(example))
    return mlflow.sklearn.log_model(
        run.model,
        name="model",
        signature=signature,
        input_example=example,
        pyfunc_predict_fn="predict_proba",
        serialization_format="skops",
        skops_trusted_types=TRUSTED_TYPES,
        pip_requirements=_requirements(),
        registered_model_name=registered_name(run.family),
    )


def log_pipeline_run(
    runs: list[FamilyRun],
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: list[Path],
    candidate: str | None,
    tags: Mapping[str, str] | None = None,
    uri: str | None = None,
    experiment: str = EXPERIMENT,
) -> dict[str, Any]:
    """Log one pipeline run: a parent run and a child run (with a registered model) per family.

    Parameters
    ----------
    runs
        One :class:`FamilyRun` per family.
    params
        Nested params (e.g. ``{"train": TrainParams, "evaluate": EvaluateParams}``), flattened.
    metrics
        Flat pipeline-level metrics for the parent run.
    artifacts
        Files to attach to the parent run (leaderboard, plots, catalogue…); missing ones skipped.
    candidate
        The family whose new model version gets the ``candidate`` alias (None: no alias change).
    tags
        Extra tags (the data hash, …); ``git_commit`` and ``dvc_exp_name`` are added here.
    uri, experiment
        Tracking URI (default :func:`tracking_uri`) and experiment name.

    Returns
    -------
    dict
        ``parent_run_id``, ``runs`` (family -> child run id), ``versions`` (family -> registered
        version), ``tracking_uri``.
    """

    uri = uri or tracking_uri()
    configure(uri, experiment)
    root = repo_root()
    exp_name = os.environ.get("DVC_EXP_NAME", "")
    all_tags = {
        "git_commit": _git_commit(Path.cwd()),
        "dvc_exp_name": exp_name,
        "repo_root": str(root),
        **dict(tags or {}),
    }
    flat_params = flatten(params)
    child_ids: dict[str, str] = {}
    versions: dict[str, str] = {}
    # one writer at a time: parallel stages (dvc queue -j N) lose no run and leave one candidate
    with store_lock(uri):
        return _log_pipeline_locked(
            runs,
            uri,
            exp_name,
            all_tags,
            flat_params,
            metrics,
            artifacts,
            candidate,
            child_ids,
            versions,
        )


def _log_pipeline_locked(
    runs: list[FamilyRun],
    uri: str,
    exp_name: str,
    all_tags: dict[str, str],
    flat_params: dict[str, Any],
    metrics: Mapping[str, float],
    artifacts: list[Path],
    candidate: str | None,
    child_ids: dict[str, str],
    versions: dict[str, str],
) -> dict[str, Any]:
    import mlflow

    with mlflow.start_run(run_name=exp_name or "pipeline") as parent:
        mlflow.set_tags(all_tags)
        mlflow.log_params(flat_params)
        mlflow.log_metrics(_loggable(metrics))
        _log_artifacts(artifacts)
        for run in runs:
            with mlflow.start_run(run_name=run.family, nested=True) as child:
                mlflow.set_tags({**all_tags, "family": run.family})
                meta = {k: v for k, v in run.metadata.items() if k != "description"}
                mlflow.log_params(flatten({"model": meta}))
                mlflow.log_metrics(_loggable(run.metrics))
                mlflow.log_dict(run.metadata, "metadata.json")
                info = _log_model(run)
                child_ids[run.family] = child.info.run_id
                versions[run.family] = str(info.registered_model_version)
    client = mlflow.MlflowClient(tracking_uri=uri)
    if candidate is not None and candidate in versions:
        chosen = candidate

        def move_alias() -> None:
            # exactly one candidate: take the alias off every other secondlook model
            for rm in client.search_registered_models(filter_string="name LIKE 'secondlook-%'"):
                if rm.name != registered_name(chosen) and CANDIDATE_ALIAS in (rm.aliases or {}):
                    client.delete_registered_model_alias(rm.name, CANDIDATE_ALIAS)
            client.set_registered_model_alias(
                registered_name(chosen), CANDIDATE_ALIAS, versions[chosen]
            )

        retry_locked(move_alias)  # under store_lock: no other writer moves it meanwhile
    return {
        "parent_run_id": parent.info.run_id,
        "runs": child_ids,
        "versions": versions,
        "tracking_uri": uri,
    }


def log_stage_run(
    stage: str,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    artifacts: list[Path],
    tags: Mapping[str, str] | None = None,
    uri: str | None = None,
    experiment: str = EXPERIMENT,
) -> str:
    """Log one stage's run (e.g. ``explain``): flattened params, flat metrics, artifacts.

    Parameters
    ----------
    stage
        The run name and the ``stage`` tag.
    params
        Nested params, flattened with :func:`flatten`.
    metrics
        Flat ``{name: value}``; NaN and None are skipped.
    artifacts
        Files or folders to attach; missing ones are skipped.
    tags
        Extra tags; ``git_commit`` and ``dvc_exp_name`` are added here.
    uri, experiment
        Tracking URI (default :func:`tracking_uri`) and experiment name.

    Returns
    -------
    str
        The run id.
    """
    import mlflow

    uri = uri or tracking_uri()
    configure(uri, experiment)
    exp_name = os.environ.get("DVC_EXP_NAME", "")
    all_tags = {
        "git_commit": _git_commit(Path.cwd()),
        "dvc_exp_name": exp_name,
        "stage": stage,
        **dict(tags or {}),
    }
    with (
        store_lock(uri),
        mlflow.start_run(run_name=f"{exp_name or 'pipeline'}-{stage}") as run,
    ):
        mlflow.set_tags(all_tags)
        mlflow.log_params(flatten(params))
        mlflow.log_metrics(_loggable(metrics))
        _log_artifacts(artifacts)
    return str(run.info.run_id)


def log_sweep_run(
    design: str,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, float],
    worlds: Sequence[Mapping[str, Any]],
    artifacts: list[Path],
    uri: str | None = None,
    experiment: str = EXPERIMENT,
) -> dict[str, Any]:
    """Log a sweep: a parent run for the design and a child run per world.

    Parameters
    ----------
    design
        The design's name (the parent run is ``sweep-<design>``).
    params
        Nested design description for the parent (flattened with :func:`flatten`).
    metrics
        Flat summary metrics for the parent; NaN and None are skipped.
    worlds
        One row per world: ``scenario``, ``seed``, ``world_key``, ``candidate`` become the
        child's params, every other finite number a metric.
    artifacts
        Files or folders attached to the parent; missing ones are skipped.
    uri, experiment
        Tracking URI (default :func:`tracking_uri`) and experiment name.

    Returns
    -------
    dict
        ``parent_run_id``, ``runs`` (``scenario/seed`` -> child run id), ``tracking_uri``.
    """
    import mlflow

    uri = uri or tracking_uri()
    configure(uri, experiment)
    tags = {"git_commit": _git_commit(Path.cwd()), "stage": "sweep", "design": design}
    ids = ("design", "scenario", "seed", "world_key", "candidate", "n_households")
    children: dict[str, str] = {}

    def finite(v: Any) -> bool:
        return isinstance(v, int | float) and not isinstance(v, bool) and v == v

    with mlflow.start_run(run_name=f"sweep-{design}") as parent:
        mlflow.set_tags(tags)
        mlflow.log_params(flatten(params))
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if finite(v)})
        _log_artifacts(artifacts)
        for row in worlds:
            name = f"{row.get('scenario')}/{row.get('seed')}"
            with mlflow.start_run(run_name=name, nested=True) as child:
                mlflow.set_tags({**tags, "scenario": str(row.get("scenario"))})
                mlflow.log_params({k: row[k] for k in ids if k in row})
                mlflow.log_metrics(
                    {k: float(v) for k, v in row.items() if k not in ids and finite(v)}
                )
                children[name] = child.info.run_id
    return {"parent_run_id": parent.info.run_id, "runs": children, "tracking_uri": uri}
