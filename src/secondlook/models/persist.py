"""Saving and loading models with skops, and their metadata.

No pickle is executed on load: :func:`load_model` reads the skops file with the explicit list of
types in :data:`TRUSTED_TYPES`, each reviewed, and :func:`save_model` refuses to write a model
holding any other type (a new type is a change to review, not something to trust silently).

A trusted type list does not notice a model whose numbers were changed (coefficients zeroed, a
threshold moved) or a file with bytes appended: :func:`save_model` records the SHA-256 of the
exact bytes it writes in ``metadata.json`` (``model_sha256``), and :func:`load_model` refuses a
file that no longer matches it (:class:`ModelIntegrityError`) -- and a folder whose metadata
records no hash, since nothing could then say whether it was altered.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import skops.io as sio

from secondlook.errors import MissingInputError, ModelIntegrityError, UntrustedModelError
from secondlook.fileio import file_sha256
from secondlook.models.calibrate import CalibratedModel
from secondlook.models.safety import check_structure

__all__ = [
    "MODEL_FILE",
    "METADATA_FILE",
    "TRUSTED_TYPES",
    "UntrustedModelError",
    "ModelIntegrityError",
    "MODEL_SHA256_KEY",
    "MODEL_CONTENT_SHA256_KEY",
    "save_model",
    "load_model",
    "load_metadata",
    "file_sha256",
    "bytes_sha256",
    "content_sha256",
]

MODEL_FILE = "model.skops"
METADATA_FILE = "metadata.json"
#: the key of ``metadata.json`` holding the SHA-256 of ``model.skops`` as written by save_model
MODEL_SHA256_KEY = "model_sha256"
#: the key of ``metadata.json`` holding :func:`content_sha256` of the model (registry checks)
MODEL_CONTENT_SHA256_KEY = "model_content_sha256"

#: every type beyond skops' defaults (numpy, scipy, plain sklearn estimators) a model may hold
TRUSTED_TYPES: list[str] = [
    # ours
    "secondlook.models.calibrate.CalibratedModel",
    "secondlook.models.venn_abers.VennAbersMap",
    "secondlook.models.rules.RulesModel",
    "secondlook.models.linear.LogRegModel",
    "secondlook.models.trees.TreeModel",
    "secondlook.models.trees.GBMModel",
    "secondlook.models.ebm.EBMModel",
    # the fitted internals of scikit-learn's trees and boosting
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    # interpret-core's EBM (plain attributes: arrays, lists, dicts)
    "interpret.glassbox._ebm._ebm.ExplainableBoostingClassifier",
]


def bytes_sha256(data: bytes) -> str:
    """Hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def content_sha256(data: bytes) -> str:
    """SHA-256 of what a skops archive holds, however and whenever it was written.

    The archive is normalised as :func:`save_model` normalises what it writes, and the
    ``__id__`` identity markers are left out: they record which values were the same Python
    object, and a model that was loaded and saved again (as MLflow does when it logs a model)
    shares different objects -- small numbers and strings especially -- while holding the same
    values. What is hashed is the schema's every value, type and array reference, and every
    array's values, field by field (never the padding bytes between a record's fields). :func:`save_model` records it as ``model_content_sha256``. Only the zip and
    its JSON schema are read; nothing is deserialised.

    Raises
    ------
    ModelIntegrityError
        If ``data`` is not a readable skops archive.
    """

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "__id__"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    try:
        archive = zipfile.ZipFile(io.BytesIO(_stable_zip(data)))
        h = hashlib.sha256()
        schema = strip(json.loads(archive.read("schema.json")))
        h.update(json.dumps(schema, separators=(",", ":")).encode())
        for name in archive.namelist():
            if name != "schema.json":
                h.update(f"\n{name}\n".encode())
                _hash_array(h, archive.read(name))
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ModelIntegrityError(f"not a readable skops archive ({exc})") from None
    return h.hexdigest()


def _hash_array(h: Any, body: bytes) -> None:
    """Add one ``.npy`` entry to ``h`` by its values, field by field.

    A structured array (a tree's node records) has padding bytes between its fields that hold
    whatever memory held (scikit-learn PR #27580): the same tree saved twice differs there. Each
    field is hashed on its own -- name, type, shape and values -- so equal models hash equal.
    An entry numpy cannot read without unpickling is hashed as bytes.
    """
    try:
        arr = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError):
        h.update(f"bytes:{len(body)}\n".encode())
        h.update(body)
        return
    fields = arr.dtype.names or (None,)
    for field in fields:
        part = arr if field is None else arr[field]
        h.update(f"{field}:{part.dtype.str}:{part.shape}\n".encode())
        h.update(np.ascontiguousarray(part).tobytes())


def _stable_zip(data: bytes) -> bytes:
    """The same skops archive in a form that depends only on the model.

    A skops file is a zip of ``schema.json`` and one ``.npy`` entry per array, named after the
    array's ``id()`` in the saving process, and stamped with the time of saving. Here the
    entries are renamed by their order in the archive (``0000.npy``, ...; the traversal that
    writes them is deterministic), the ``__id__`` identity markers in ``schema.json`` (also
    ``id()`` values) are renumbered by first appearance -- which keeps shared references shared
    -- and every timestamp is fixed, so the same model gives the same bytes whenever and
    wherever it is saved.
    """
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = [i for i in src.infolist() if i.filename != "schema.json"]
    names = {i.filename: f"{n:04d}.npy" for n, i in enumerate(entries)}
    ids: dict[int, int] = {}

    def renumber(node: Any) -> Any:
        # "__id__" marks object identity (shared references); "file" names an array entry
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, value in node.items():
                if key == "__id__" and isinstance(value, int):
                    out[key] = ids.setdefault(value, len(ids))
                elif key == "file" and isinstance(value, str) and value in names:
                    out[key] = names[value]
                else:
                    out[key] = renumber(value)
            return out
        if isinstance(node, list):
            return [renumber(v) for v in node]
        return node

    schema = json.dumps(renumber(json.loads(src.read("schema.json"))), indent=2)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            name = names.get(info.filename, info.filename)
            fixed = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = info.compress_type
            fixed.external_attr = info.external_attr
            body = schema.encode() if name == "schema.json" else src.read(info.filename)
            dst.writestr(fixed, body)
    return out.getvalue()


def save_model(model: CalibratedModel, folder: str | Path, metadata: dict[str, Any]) -> Path:
    """Write ``model.skops`` and ``metadata.json`` into ``folder``.

    Parameters
    ----------
    model
        The fitted, calibrated model.
    folder
        Destination folder (created).
    metadata
        JSON-able description of the model; written with sorted keys, with
        ``model_sha256`` (:data:`MODEL_SHA256_KEY`) set to the SHA-256 of the bytes written
        and ``model_content_sha256`` to their :func:`content_sha256`.

    Returns
    -------
    pathlib.Path
        The path of the skops file.

    Raises
    ------
    UntrustedModelError
        If the model holds a type outside :data:`TRUSTED_TYPES`.
    """
    data = _stable_zip(sio.dumps(model))
    extra = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    if extra:
        raise UntrustedModelError(
            f"the model holds types not in TRUSTED_TYPES: {', '.join(extra)}; "
            "review them and add them to secondlook.models.persist.TRUSTED_TYPES"
        )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / MODEL_FILE
    path.write_bytes(data)
    metadata = {
        **metadata,
        MODEL_SHA256_KEY: bytes_sha256(data),
        MODEL_CONTENT_SHA256_KEY: content_sha256(data),
    }
    (folder / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    return path


def _recorded_sha256(folder: Path) -> str:
    """The ``model_sha256`` of ``folder/metadata.json``; refuses a folder that records none."""
    meta_path = folder / METADATA_FILE
    retrain = (
        "retrain the model (`secondlook train`, or `dvc repro train`) so that its hash is recorded"
    )
    if not meta_path.is_file():
        raise ModelIntegrityError(
            f"{folder / MODEL_FILE} cannot be checked: there is no {meta_path} recording its "
            f"SHA-256; {retrain}"
        )
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelIntegrityError(f"{meta_path} is not readable JSON ({exc}); {retrain}") from None
    recorded = meta.get(MODEL_SHA256_KEY) if isinstance(meta, dict) else None
    if not isinstance(recorded, str) or len(recorded) != 64:
        raise ModelIntegrityError(
            f"{folder / MODEL_FILE} cannot be checked: {meta_path} records no {MODEL_SHA256_KEY} "
            f"(it was written before model hashes were recorded, or edited); {retrain}"
        )
    return recorded


def load_model(folder: str | Path) -> CalibratedModel:
    """Load ``model.skops`` from ``folder``, checked against its hash, trusting only
    :data:`TRUSTED_TYPES`.

    The file's bytes are read once; their SHA-256 must equal the ``model_sha256`` that
    :func:`save_model` recorded in ``metadata.json``, and the same bytes are then loaded.

    Raises
    ------
    FileNotFoundError
        If the folder holds no model file.
    ModelIntegrityError
        If the file has been altered since it was saved, or ``metadata.json`` is missing or
        records no hash.
    UntrustedModelError
        If the file holds a type outside the trusted list, or a tree whose arrays fail the
        structural checks of :func:`secondlook.models.safety.check_structure`.
    """
    folder = Path(folder)
    path = folder / MODEL_FILE
    if not path.is_file():
        raise MissingInputError(f"no model at {path}; run `secondlook train` first")
    recorded = _recorded_sha256(folder)
    data = path.read_bytes()
    actual = bytes_sha256(data)
    if actual != recorded:
        raise ModelIntegrityError(
            f"{path} has been altered since it was trained: its SHA-256 {actual} does not match "
            f"{folder / METADATA_FILE} ({MODEL_SHA256_KEY} {recorded}); restore the file or "
            "retrain the model"
        )
    untrusted = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    if untrusted:
        raise UntrustedModelError(f"{path} holds untrusted types: {', '.join(untrusted)}")
    model = sio.loads(data, trusted=TRUSTED_TYPES)
    if not isinstance(model, CalibratedModel):
        raise UntrustedModelError(f"{path} does not hold a CalibratedModel")
    # trusted types beyond skops' defaults are used only once their arrays are checked
    check_structure(model, str(path))
    return model


def load_metadata(folder: str | Path) -> dict[str, Any]:
    """Read ``metadata.json`` from a model folder."""
    path = Path(folder) / METADATA_FILE
    if not path.is_file():
        raise MissingInputError(f"no model metadata at {path}; run `secondlook train` first")
    out: dict[str, Any] = json.loads(path.read_text())
    return out
