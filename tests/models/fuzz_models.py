"""Damage model files and load them, in a process of its own (so that a crash is seen, not felt).

``python -m tests.models.fuzz_models <mode> <model folder> <features.parquet> <trials> <seed>``
prints one JSON line: how many trials were refused (by the loader, with a message naming the
file) and how many loaded a model with exactly the original probabilities; a trial that loaded
a *different* model is listed under ``different`` with its damage. A segfault ends the process
with a signal, which the calling test sees as a negative return code.

Modes:

- ``bytes``: flip one to four random bytes of ``model.skops`` anywhere, then record the new
  file's SHA-256 in ``metadata.json`` (whoever can edit the folder can do that too);
- ``nodes``: set one field of one node of one tree (``left_child``, ``right_child``,
  ``feature``, ``threshold`` of a scikit-learn tree; ``left``, ``right``, ``feature_idx``,
  ``num_threshold`` of a boosting predictor) to a random value, in a valid archive with the
  hash rewritten. Such a model may load (the checks accept any tree that stays in bounds) but
  must then score without crashing and give finite probabilities.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

NODE_FIELDS = {
    "left_child": "int",
    "right_child": "int",
    "feature": "int",
    "threshold": "float",
    "left": "int",
    "right": "int",
    "feature_idx": "int",
    "num_threshold": "float",
}


def _rewrite_hash(folder: Path, data: bytes) -> None:
    meta_path = folder / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["model_sha256"] = hashlib.sha256(data).hexdigest()
    meta_path.write_text(json.dumps(meta))


def edit_nodes(data: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One random node field of one tree set to a random value; a valid archive."""
    src = zipfile.ZipFile(io.BytesIO(data))
    entries = []
    for info in src.infolist():
        if info.filename.endswith(".npy"):
            arr = np.load(io.BytesIO(src.read(info.filename)), allow_pickle=False)
            if arr.dtype.names and set(arr.dtype.names) & set(NODE_FIELDS):
                entries.append(info.filename)
    if not entries:
        return data, "no tree"
    name = entries[int(rng.integers(len(entries)))]
    arr = np.load(io.BytesIO(src.read(name)), allow_pickle=False).copy()
    fields = [f for f in arr.dtype.names or () if f in NODE_FIELDS]
    field = fields[int(rng.integers(len(fields)))]
    node = int(rng.integers(len(arr)))
    if NODE_FIELDS[field] == "int":
        choices = [-(2**31), -5, -1, 0, node, len(arr), len(arr) + 7, 2**31 - 1]
        value: object = choices[int(rng.integers(len(choices)))]
    else:
        value = [np.nan, np.inf, -np.inf, 1e308][int(rng.integers(4))]
    arr[field][node] = np.array(value).astype(arr.dtype[field], casting="unsafe")
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = buf.getvalue() if info.filename == name else src.read(info.filename)
            dst.writestr(info, body)
    return out.getvalue(), f"{name}:{field}[{node}]={value}"


def main() -> None:
    from secondlook.score.errors import ModelLoadError
    from secondlook.score.model import resolve_model

    mode, folder_arg, features_arg, trials_arg, seed_arg = sys.argv[1:6]
    folder = Path(folder_arg)
    X = pd.read_parquet(features_arg)
    original = (folder / "model.skops").read_bytes()
    meta = (folder / "metadata.json").read_text()
    want = resolve_model(str(folder)).model.predict_proba(X)
    rng = np.random.default_rng(int(seed_arg))
    counts = {"refused": 0, "identical": 0, "loaded_finite": 0, "different": []}
    for _ in range(int(trials_arg)):
        if mode == "bytes":
            data = bytearray(original)
            where = rng.integers(len(data), size=int(rng.integers(1, 5)))
            for i in where:
                data[i] ^= int(rng.integers(1, 256))
            damaged, what = bytes(data), f"bytes {sorted(where.tolist())}"
        else:
            damaged, what = edit_nodes(original, rng)
        (folder / "model.skops").write_bytes(damaged)
        _rewrite_hash(folder, damaged)
        try:
            model = resolve_model(str(folder)).model
        except ModelLoadError as exc:
            if str(folder) not in str(exc):  # a refusal names the model
                counts["different"].append(f"{what}: unnamed refusal {exc}")
            counts["refused"] += 1
            continue
        got = model.predict_proba(X)
        if np.array_equal(got, want):
            counts["identical"] += 1
        elif mode == "nodes" and np.isfinite(got).all():
            counts["loaded_finite"] += 1
        else:
            counts["different"].append(what)
    (folder / "model.skops").write_bytes(original)
    (folder / "metadata.json").write_text(meta)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
