"""Tiny sweep designs: two scenarios x two seeds of tiny worlds, fast model settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

#: households per world in the sweep tests (big enough for both classes of every proxy)
TINY_WORLD = 1500

#: fast model settings shared by every tiny design
FAST = {
    "train.ebm.n_jobs": 1,
    "train.ebm.outer_bags": 1,
    "train.ebm.interactions": 0,
    "train.ebm.max_rounds": 300,
    "train.gbm.max_iter": 20,
    "train.logreg.max_iter": 500,
}


def write_design(folder: Path, name: str, body: dict[str, Any]) -> Path:
    """Write ``body`` as ``folder/<name>.yaml`` and return the path."""
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@pytest.fixture
def tiny_design(tmp_path: Path) -> Path:
    """Two scenarios (as now; agencies see half as much) x two seeds of 1,500-household worlds."""
    return write_design(
        tmp_path,
        "tiny",
        {
            "description": "tiny test design",
            "seeds": 2,
            "first_seed": 11,
            "n_households": TINY_WORLD,
            "families": ["rules", "logreg", "gbm"],
            "set": FAST,
            "scenarios": {
                "as_now": {"description": "default world"},
                "low": {
                    "description": "agencies see half as much",
                    "scale": {"synth.signals.police_domestic": 0.5},
                },
            },
        },
    )
