"""Reading a registered model back out of MLflow's registry, checked against its trained hash.

:mod:`secondlook.tracking` writes runs and registers models; this module is its read side,
used by ``secondlook score --model models:/<name>@<alias>``. Nothing is deserialised here:
the caller loads the downloaded folder through :func:`secondlook.models.load_model`, with its
trusted-types list and hash check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from secondlook.models.persist import (
    METADATA_FILE,
    MODEL_CONTENT_SHA256_KEY,
    MODEL_FILE,
    MODEL_SHA256_KEY,
    ModelIntegrityError,
    bytes_sha256,
    content_sha256,
)

# importing tracking first sets the telemetry variables before mlflow is imported
from secondlook.tracking import reroot_store, store_lock, tracking_uri

__all__ = ["fetch_registered_model"]


def fetch_registered_model(uri: str, dst: Path, *, tracking: str | None = None) -> dict[str, Any]:
    """Download a registered model's files (``models:/<name>@<alias>`` or ``/<version>``).

    MLflow stores the model as it serialised it again (its own ``skops.io.dump`` of the loaded
    model), so its bytes are not the bytes ``secondlook train`` wrote and hashed. The check is
    therefore on content: :func:`~secondlook.models.persist.content_sha256` of the downloaded
    ``model.skops`` (every value, type and array of the archive) must equal the
    ``model_content_sha256`` recorded by ``train`` in the ``metadata.json`` logged with the
    model's run. On a match, that ``metadata.json`` is written into ``folder`` with
    ``model_sha256`` set to the hash of the verified download, so
    :func:`~secondlook.models.load_model` loads exactly the bytes that were checked. A version
    whose run logged no ``metadata.json`` with ``model_content_sha256`` (logged before model
    hashes were recorded) is refused: nothing could say whether its file was altered.

    Parameters
    ----------
    uri
        ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.
    dst
        An empty folder to download into.
    tracking
        Tracking URI (default :func:`secondlook.tracking.tracking_uri`).

    Returns
    -------
    dict
        ``name``, ``version``, ``run_id``, ``folder`` (the downloaded model folder) and
        ``metadata`` (the run's ``metadata.json``, or ``{}``).

    Raises
    ------
    LookupError
        If there is no store (a SQLite file that does not exist is never created here), or
        the name, alias or version is not in the registry.
    secondlook.errors.ModelIntegrityError
        If the run recorded no model hash, or the downloaded model does not match it.
    """
    store = tracking or tracking_uri()
    name, mv, folder = _download_model(uri, store, dst)
    metadata = _run_metadata(store, uri, mv.run_id, dst) if mv.run_id else {}
    _verify(Path(folder), metadata, f"registered model {name} version {mv.version}")
    return {
        "name": name,
        "version": str(mv.version),
        "run_id": mv.run_id,
        "folder": folder,
        "metadata": metadata,
    }


def _download_model(uri: str, store: str, dst: Path) -> tuple[str, Any, str]:
    """Look ``uri`` up in ``store`` and download its model folder into ``dst/model``.

    Returns the registered name, the model version and the downloaded folder.
    """
    import mlflow

    sqlite = store.startswith("sqlite:///")
    if sqlite and not Path(store.removeprefix("sqlite:///")).is_file():
        # never create an empty store only to report "not found"
        raise LookupError(
            f"there is no MLflow tracking store at {store.removeprefix('sqlite:///')}, so no "
            "registry to look the model up in; run the pipeline (`make repro`) from the "
            "repository, set MLFLOW_TRACKING_URI to the store that holds it, or score a model "
            "folder (--model models/<family>)"
        )
    client = mlflow.MlflowClient(tracking_uri=store)
    body = uri.removeprefix("models:/")
    try:
        if "@" in body:
            name, alias = body.split("@", 1)
            mv = client.get_model_version_by_alias(name, alias)
        else:
            name, version = body.rsplit("/", 1)
            mv = client.get_model_version(name, version)
        mlflow.set_tracking_uri(store)
        if sqlite:
            with store_lock(store):
                reroot_store(Path(store.removeprefix("sqlite:///")))
        folder = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{name}/{mv.version}", dst_path=str(dst / "model")
        )
    except mlflow.exceptions.MlflowException as exc:
        raise LookupError(f"not found in the registry at {store}: {exc}") from None
    except OSError as exc:  # the registry knows it, its files are gone
        raise LookupError(
            f"{uri} is registered at {store}, but its files cannot be read ({exc}); the "
            "store's artifact folder was moved or deleted"
        ) from None
    return name, mv, folder


def _run_metadata(store: str, uri: str, run_id: str, dst: Path) -> dict[str, Any]:
    """The ``metadata.json`` the model's run logged, or ``{}`` if it logged none.

    Raises
    ------
    LookupError
        If none of the run's artifacts can be read (the artifact folder is gone), as opposed
        to an older run that logged no metadata.
    """
    import mlflow

    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="metadata.json", dst_path=str(dst / "run")
        )
    except (mlflow.exceptions.MlflowException, OSError) as exc:
        listed = []
        try:
            client = mlflow.MlflowClient(tracking_uri=store)
            listed = [f.path for f in client.list_artifacts(run_id)]
        except (mlflow.exceptions.MlflowException, OSError):
            pass
        if not listed:  # nothing readable at all: a missing folder, not an old run
            raise LookupError(
                f"{uri}: the artifacts of its run {run_id} cannot be read "
                f"({type(exc).__name__}); the store's artifact folder was moved or deleted"
            ) from None
        return {}
    try:
        metadata = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return metadata if isinstance(metadata, dict) else {}


def _verify(folder: Path, metadata: dict[str, Any], label: str) -> None:
    """Check the downloaded ``model.skops`` against the run's recorded content hash, then
    write the run's ``metadata.json`` beside it with the verified file's byte hash.

    Raises
    ------
    ModelIntegrityError
        If no hash was recorded, the file is missing or unreadable, or its content differs.
    """
    recorded = metadata.get(MODEL_CONTENT_SHA256_KEY)
    if not isinstance(recorded, str):
        raise ModelIntegrityError(
            f"{label} cannot be checked: its run logged no {METADATA_FILE} with "
            f"{MODEL_CONTENT_SHA256_KEY} (it was logged before model hashes were recorded); "
            "retrain and log it again (`dvc repro`), or score the model folder models/<family>"
        )
    skops_path = folder / MODEL_FILE
    if not skops_path.is_file():
        raise ModelIntegrityError(f"{label} holds no {MODEL_FILE}")
    data = skops_path.read_bytes()
    try:
        actual = content_sha256(data)
    except ModelIntegrityError as exc:
        raise ModelIntegrityError(f"{label}: {MODEL_FILE} is {exc}") from None
    if actual != recorded:
        raise ModelIntegrityError(
            f"{label} has been altered since it was trained: the content SHA-256 of its "
            f"{MODEL_FILE} {actual} does not match its run's {METADATA_FILE} "
            f"({MODEL_CONTENT_SHA256_KEY} {recorded})"
        )
    checked = {**metadata, MODEL_SHA256_KEY: bytes_sha256(data)}
    (folder / METADATA_FILE).write_text(json.dumps(checked, indent=2, sort_keys=True) + "\n")
