"""One I/O module: JSON with NaN handling, atomic writes, figures to PNG."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from secondlook.fileio import (  # noqa: E402
    default_file_mode,
    figure_png,
    json_ready,
    json_text,
    png_data_uri,
    save_png,
    staged_folder,
    write_atomically,
    write_json,
)


def test_json_ready_turns_non_finite_numbers_into_null_and_numpy_into_python() -> None:
    data = {
        "a": float("nan"),
        "b": (np.float64(0.5), np.int64(3), -np.inf),
        "c": np.array([1.0, np.nan]),
        "d": {"e": np.bool_(True), "f": "text", "g": None},
    }
    assert json_ready(data) == {
        "a": None,
        "b": [0.5, 3, None],
        "c": [1.0, None],
        "d": {"e": True, "f": "text", "g": None},
    }
    assert type(json_ready(np.int64(3))) is int


def test_json_text_is_indented_with_a_final_newline_and_refuses_what_json_cannot_hold() -> None:
    assert (
        json_text({"b": 1, "a": [np.nan]}, sort_keys=True)
        == '{\n  "a": [\n    null\n  ],\n  "b": 1\n}\n'
    )
    with pytest.raises(TypeError):
        json_text({"when": object()})


def test_write_json_round_trips_with_the_usual_file_mode(tmp_path: Path) -> None:
    path = write_json(tmp_path / "deep" / "m.json", {"x": np.float32(0.25), "y": float("inf")})
    assert json.loads(path.read_text()) == {"x": 0.25, "y": None}
    assert stat.S_IMODE(path.stat().st_mode) == default_file_mode()
    assert os.listdir(path.parent) == ["m.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_text("old\n")
    with pytest.raises(TypeError):
        write_atomically(path, 12345)  # type: ignore[arg-type]
    assert path.read_text() == "old\n"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]


def _figure() -> plt.Figure:
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1, 2], [0, 1, 0])
    return fig


def test_a_figure_gives_the_same_png_bytes_and_is_closed(tmp_path: Path) -> None:
    open_before = len(plt.get_fignums())
    first = figure_png(_figure(), dpi=50)
    second = figure_png(_figure(), dpi=50)
    assert first == second and first.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"Software" not in first and b"matplotlib" not in first
    assert len(plt.get_fignums()) == open_before
    assert save_png(_figure(), tmp_path / "p" / "f.png", dpi=50).read_bytes() == first
    assert png_data_uri(first).startswith("data:image/png;base64,iVBORw0KGgo")


def test_staged_folder_moves_everything_or_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("other")
    (out / "plots").mkdir()
    (out / "plots" / "old.png").write_text("old")
    with staged_folder(out) as tmp:
        (tmp / "a.txt").write_text("a")
        (tmp / "plots").mkdir()
        (tmp / "plots" / "new.png").write_text("new")
    # a staged sub-folder replaces the old one whole; other entries stay
    assert sorted(p.name for p in out.iterdir()) == ["a.txt", "keep.txt", "plots"]
    assert [p.name for p in (out / "plots").iterdir()] == ["new.png"]

    def fail_half_way() -> None:
        with staged_folder(out) as tmp:
            (tmp / "a.txt").write_text("changed")
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        fail_half_way()
    assert (out / "a.txt").read_text() == "a"  # nothing moved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left
