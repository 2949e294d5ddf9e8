"""secondlook.models.persist: model files that cannot surprise: equal models hash equal, tampered
trees are refused before they are used, and damaged files are refused cleanly -- never a crash."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio

from secondlook.models import CalibratedModel, load_model, make_family, save_model
from secondlook.models.persist import MODEL_FILE, content_sha256
from secondlook.score.errors import ModelLoadError
from secondlook.score.model import resolve_model

from .conftest import REPO

LABEL = "label_warrants_escalation"


@pytest.fixture(scope="module")
def saved(tmp_path_factory, world, inputs, cfg) -> dict[str, Path]:
    """tree and gbm folders (the families whose trusted types hold node arrays)."""
    root = tmp_path_factory.mktemp("safety")
    out = {}
    for family in ("tree", "gbm"):
        fam = make_family(family, cfg).fit(world["train"][inputs], world["train"][LABEL].to_numpy())
        model = CalibratedModel(fam).fit(world["valid"], world["valid"][LABEL])
        save_model(model, root / family, {"family": family})
        out[family] = root / family
    return out


def _copy(folder: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(folder, tmp_path / folder.name))


def _edit_field(folder: Path, field: str, node: int, value: object) -> None:
    """Set one node field of the first tree in the archive; record the new file's hash."""
    path = folder / MODEL_FILE
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    done = False
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if not done and info.filename.endswith(".npy"):
                arr = np.load(io.BytesIO(body), allow_pickle=False)
                if arr.dtype.names and field in arr.dtype.names:
                    arr = arr.copy()
                    arr[field][node] = value
                    buf = io.BytesIO()
                    np.save(buf, arr, allow_pickle=False)
                    body, done = buf.getvalue(), True
            dst.writestr(info, body)
    assert done, field
    data = out.getvalue()
    path.write_bytes(data)
    meta = json.loads((folder / "metadata.json").read_text())
    meta["model_sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "metadata.json").write_text(json.dumps(meta))


def test_a_tree_saved_again_keeps_its_content_hash(saved: dict[str, Path]) -> None:
    """The padding bytes of the node records differ between saves; the identity does not."""
    for folder in saved.values():
        data = (folder / MODEL_FILE).read_bytes()
        again = sio.dumps(load_model(folder))
        assert content_sha256(again) == content_sha256(data)


def test_the_content_hash_sees_a_changed_field(saved: dict[str, Path], tmp_path: Path) -> None:
    folder = _copy(saved["tree"], tmp_path)
    before = content_sha256((folder / MODEL_FILE).read_bytes())
    _edit_field(folder, "threshold", 0, 0.123)
    assert content_sha256((folder / MODEL_FILE).read_bytes()) != before


@pytest.mark.parametrize(
    ("family", "field", "node", "value", "check"),
    [
        ("tree", "left_child", 0, 10_000_000, "children in range"),
        ("tree", "right_child", 0, 0, "children in range"),  # a loop to the root
        ("tree", "left_child", 0, -1, "a leaf has no children"),
        ("tree", "feature", 0, 4096, "feature index within the inputs"),
        ("tree", "threshold", 0, np.nan, "finite thresholds"),
        ("gbm", "left", 0, 10_000_000, "children in range"),
        ("gbm", "feature_idx", 0, -3, "feature index within the inputs"),
        ("gbm", "num_threshold", 0, np.nan, "thresholds are numbers"),
        ("gbm", "is_categorical", 0, 1, "no categorical split"),
    ],
)
def test_an_edited_tree_is_refused_before_use(
    saved: dict[str, Path],
    tmp_path: Path,
    family: str,
    field: str,
    node: int,
    value: object,
    check: str,
) -> None:
    """The hash beside the file was rewritten too: the structural check still refuses."""
    folder = _copy(saved[family], tmp_path)
    _edit_field(folder, field, node, value)
    with pytest.raises(ModelLoadError) as info:
        resolve_model(str(folder))
    message = str(info.value)
    assert str(folder / MODEL_FILE) in message and f"`{check}`" in message


def _fuzz(mode: str, folder: Path, X: pd.DataFrame, tmp_path: Path, trials: int) -> dict:
    features = tmp_path / "X.parquet"
    X.to_parquet(features)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.models.fuzz_models",
            mode,
            str(folder),
            str(features),
            str(trials),
            "7",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])  # < 0: a signal
    return json.loads(done.stdout.strip().splitlines()[-1])


# each case starts a process (~15 s here): the fast suite fuzzes the edited-tree case, which
# crashed the scorer before the structural checks; the slow suite runs every case, longer
TRIALS = [pytest.param(120, id="120", marks=pytest.mark.slow)]
FAST = [pytest.param("tree", 8, id="tree-8")]
SLOW = [
    pytest.param(family, trials, id=f"{family}-{trials}", marks=pytest.mark.slow)
    for family in ("tree", "gbm")
    for trials in (120,)
]


@pytest.mark.parametrize("trials", TRIALS)
@pytest.mark.parametrize("family", ["tree", "gbm"])
def test_byte_flips_give_a_clean_refusal_or_the_same_model(
    saved: dict[str, Path], world, tmp_path: Path, family: str, trials: int
) -> None:
    folder = _copy(saved[family], tmp_path)
    X = world["test"].head(300)
    counts = _fuzz("bytes", folder, X, tmp_path, trials=trials)
    assert counts["different"] == []
    assert counts["refused"] + counts["identical"] == trials and counts["refused"] > 0


@pytest.mark.parametrize(("family", "trials"), FAST + SLOW)
def test_edited_node_fields_never_crash_the_scorer(
    saved: dict[str, Path], world, tmp_path: Path, family: str, trials: int
) -> None:
    folder = _copy(saved[family], tmp_path)
    X = world["test"].head(300)
    counts = _fuzz("nodes", folder, X, tmp_path, trials=trials)
    assert counts["different"] == []  # a loaded model gives finite probabilities
    assert counts["refused"] > 0
