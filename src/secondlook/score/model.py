"""Which model scores the cohort: a model folder or a registered MLflow model, loaded safely.

``--model models/<family>`` reads the folder the ``train`` stage wrote; ``--model
models:/<name>@<alias>`` (or ``models:/<name>/<version>``) downloads the registered model's
files through :mod:`secondlook.tracking` and loads them the same way. Either way the skops file
is read with :func:`secondlook.models.load_model`: its bytes must match the SHA-256 recorded in
``metadata.json`` when the model was trained, and only an explicit list of types is trusted
(nothing is unpickled). Any failure -- a missing path, a damaged or altered file, a folder with
no recorded hash, an untrusted type -- is one :class:`~secondlook.score.errors.ModelLoadError`.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from secondlook.models import (
    MODEL_FILE,
    CalibratedModel,
    load_metadata,
    load_model,
)
from secondlook.models.persist import (
    MODEL_CONTENT_SHA256_KEY,
    MODEL_SHA256_KEY,
    UntrustedModelError,
)
from secondlook.score.errors import ModelLoadError

__all__ = ["ModelBundle", "resolve_model"]


@dataclass
class ModelBundle:
    """A loaded model and what identifies it.

    Attributes
    ----------
    model
        The calibrated model.
    name
        The family (a folder) or the registered model's name.
    version
        The registry version, or ``"unregistered"`` for a folder.
    sha256
        SHA-256 of the skops file that was loaded (MLflow saves a registered model again, so
        a registry version's file hash differs from its training folder's).
    source
        The ``--model`` argument as given.
    metadata
        The model's ``metadata.json`` (empty when the registry run holds none).
    """

    model: CalibratedModel
    name: str
    version: str
    sha256: str
    source: str
    metadata: dict[str, Any]

    @property
    def content_sha256(self) -> str | None:
        """The model's identity: the hash of its content (values, types and arrays), equal for
        a training folder and its registry versions; None for a model trained before it was
        recorded (:func:`secondlook.models.persist.content_sha256`)."""
        value = self.metadata.get(MODEL_CONTENT_SHA256_KEY)
        return None if value is None else str(value)


def _load_folder(folder: Path, source: str) -> tuple[CalibratedModel, str]:
    path = folder / MODEL_FILE
    if not path.is_file():
        raise ModelLoadError(
            f"model {source}: no {MODEL_FILE} in {folder}; give a model folder written by "
            "`secondlook train` (e.g. models/logreg) or models:/<name>@<alias>"
        )
    try:
        model = load_model(folder)
    except UntrustedModelError as exc:  # altered, unhashed or holding untrusted types
        raise ModelLoadError(f"model {source}: {exc}") from None
    except Exception as exc:  # skops raises many types on a damaged file; all mean the same
        raise ModelLoadError(
            f"model {source}: {path} could not be loaded safely; it may be damaged or altered "
            f"({type(exc).__name__}: {exc})"
        ) from None
    # the hash load_model verified the loaded bytes against
    return model, str(load_metadata(folder)[MODEL_SHA256_KEY])


def resolve_model(spec: str) -> ModelBundle:
    """Load the model named by ``spec``.

    Parameters
    ----------
    spec
        A model folder (``models/logreg``), its ``model.skops`` file, or a registry URI
        ``models:/<name>@<alias>`` / ``models:/<name>/<version>``.

    Returns
    -------
    ModelBundle

    Raises
    ------
    ModelLoadError
        If the model does not exist or cannot be loaded safely.
    """
    if spec.startswith("models:/"):
        from secondlook.mlflow_registry import fetch_registered_model

        with tempfile.TemporaryDirectory(prefix="secondlook-model-") as tmp:
            try:
                info = fetch_registered_model(spec, Path(tmp))
            except (LookupError, UntrustedModelError) as exc:
                raise ModelLoadError(f"model {spec}: {exc}") from None
            model, sha = _load_folder(Path(info["folder"]), spec)
            return ModelBundle(
                model, str(info["name"]), str(info["version"]), sha, spec, info["metadata"]
            )
    folder = Path(spec)
    if folder.is_file() and folder.name == MODEL_FILE:
        folder = folder.parent
    if not folder.exists():
        raise ModelLoadError(
            f"model {spec} not found: give a model folder written by `secondlook train` "
            "(e.g. models/logreg) or models:/<name>@<alias>"
        )
    model, sha = _load_folder(folder, spec)
    try:
        metadata = load_metadata(folder)
    except (FileNotFoundError, ValueError) as exc:
        raise ModelLoadError(f"model {spec}: {exc}") from None
    name = str(metadata.get("family", folder.name))
    return ModelBundle(model, name, "unregistered", sha, spec, metadata)
