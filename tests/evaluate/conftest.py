"""The evaluate tests share the models tests' tiny worlds with a planted signal."""

from __future__ import annotations

from tests.models.conftest import cfg, fast_train_params, inputs, world

__all__ = ["cfg", "fast_train_params", "inputs", "world"]
