"""Structural checks of the loaded types that skops does not trust by default.

skops refuses ``sklearn.tree._tree.Tree`` by default (skops PR #535) because its node arrays are
used unchecked: an edited ``left_child`` makes ``predict`` read outside the arrays (a crash, or
worse). This project trusts that type -- and the histogram gradient boosting
``TreePredictor``, whose nodes are read the same way -- only together with the checks here,
run on every loaded model before its first use:

- every internal node's children are later nodes of the same tree (so every path ends at a
  leaf, inside the arrays), and a scikit-learn leaf has both children ``-1``;
- every internal node's feature index is one of the model's inputs;
- thresholds are not NaN (scikit-learn: finite), values and sample weights finite, and the
  arrays' shapes agree with the node count;
- no categorical split (the families one-hot encode; a categorical node would index bitsets).

A hash recorded beside the file protects nothing against whoever can edit the folder; these
checks hold whatever the file says.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from secondlook.errors import UntrustedModelError

__all__ = ["ModelStructureError", "check_structure"]


class ModelStructureError(UntrustedModelError):
    """A loaded model's arrays are inconsistent: using it could read outside them."""


def _owners(
    obj: Any, n_features: int | None, seen: set[int]
) -> Iterator[tuple[Any, int | None, str]]:
    """Every object reachable from ``obj``, with the input count of its nearest estimator."""
    if id(obj) in seen or isinstance(obj, str | bytes | int | float | bool | np.ndarray | None):
        return
    seen.add(id(obj))
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from (
                (o, n, f"{key}.{p}" if p else str(key))
                for o, n, p in _owners(value, n_features, seen)
            )
        return
    if isinstance(obj, list | tuple):
        for i, value in enumerate(obj):
            yield from (
                (o, n, f"[{i}]{'.' + p if p else ''}")
                for o, n, p in _owners(value, n_features, seen)
            )
        return
    module = type(obj).__module__ or ""
    if not module.startswith(("secondlook", "sklearn", "interpret")):
        return
    yield obj, n_features, ""
    found = getattr(obj, "n_features_in_", None)
    if isinstance(found, int | np.integer):
        n_features = int(found)
    state = getattr(obj, "__dict__", None)
    if isinstance(state, dict):
        for key, value in state.items():
            yield from (
                (o, n, f"{key}.{p}" if p else key) for o, n, p in _owners(value, n_features, seen)
            )


def check_structure(model: Any, label: str) -> None:
    """Check every tree of a loaded model before it is used.

    Parameters
    ----------
    model
        The loaded object (a :class:`~secondlook.models.calibrate.CalibratedModel`).
    label
        The file it came from, named in the message.

    Raises
    ------
    ModelStructureError
        Naming the file, the tree and the check that failed.
    """
    from sklearn.ensemble._hist_gradient_boosting.predictor import TreePredictor
    from sklearn.tree._tree import Tree

    for obj, n_features, where in _owners(model, None, set()):
        if isinstance(obj, Tree):
            _check_tree(obj, n_features, f"{label}: {where or 'tree'}")
        elif isinstance(obj, TreePredictor):
            _check_predictor(obj, n_features, f"{label}: {where or 'predictor'}")


def _fail(where: str, check: str, detail: str) -> None:
    raise ModelStructureError(
        f"{where} fails the structural check `{check}` ({detail}); the file was altered or "
        "damaged and is not used -- restore it or retrain the model"
    )


def _first(bad: np.ndarray) -> int:
    return int(np.flatnonzero(bad)[0])


def _check_tree(tree: Any, n_features: int | None, where: str) -> None:
    """A scikit-learn ``Tree``: children, features, thresholds and values."""
    n = int(tree.node_count)
    left = np.asarray(tree.children_left)
    right = np.asarray(tree.children_right)
    feature = np.asarray(tree.feature)
    threshold = np.asarray(tree.threshold)
    value = np.asarray(tree.value)
    if n < 1 or not (len(left) == len(right) == len(feature) == len(threshold) == n):
        _fail(where, "node counts consistent", f"node_count {n}, arrays of {len(left)} nodes")
    if value.shape[0] != n:
        _fail(where, "node counts consistent", f"node_count {n}, values of {value.shape[0]} nodes")
    leaf = left == -1
    if (leaf != (right == -1)).any():
        i = _first(leaf != (right == -1))
        _fail(where, "a leaf has no children", f"node {i}: children {left[i]}, {right[i]}")
    index = np.arange(n)
    for name, child in (("left", left), ("right", right)):
        bad = ~leaf & ((child <= index) | (child >= n))
        if bad.any():
            i = _first(bad)
            _fail(where, "children in range", f"node {i}: {name} child {child[i]} of {n} nodes")
    limit = min(x for x in (n_features, int(tree.n_features)) if x is not None)
    bad = ~leaf & ((feature < 0) | (feature >= limit))
    if bad.any():
        i = _first(bad)
        _fail(
            where, "feature index within the inputs", f"node {i}: feature {feature[i]} of {limit}"
        )
    if (~leaf & ~np.isfinite(threshold)).any():
        i = _first(~leaf & ~np.isfinite(threshold))
        _fail(where, "finite thresholds", f"node {i}: threshold {threshold[i]}")
    for name in ("value", "weighted_n_node_samples", "impurity"):
        arr = np.asarray(getattr(tree, name), dtype=float)
        if not np.isfinite(arr).all():
            _fail(where, f"finite {name}", "a value is NaN or infinite")


def _check_predictor(predictor: Any, n_features: int | None, where: str) -> None:
    """A histogram gradient boosting ``TreePredictor``: the same checks on its node records."""
    nodes = predictor.nodes
    n = len(nodes)
    if n < 1:
        _fail(where, "node counts consistent", "no nodes")
    leaf = nodes["is_leaf"].astype(bool)
    index = np.arange(n)
    for name in ("left", "right"):
        child = nodes[name].astype(np.int64)
        bad = ~leaf & ((child <= index) | (child >= n))
        if bad.any():
            i = _first(bad)
            _fail(where, "children in range", f"node {i}: {name} child {child[i]} of {n} nodes")
    feature = nodes["feature_idx"].astype(np.int64)
    limit = n_features if n_features is not None else int(feature.max()) + 1
    bad = ~leaf & ((feature < 0) | (feature >= limit))
    if bad.any():
        i = _first(bad)
        _fail(
            where, "feature index within the inputs", f"node {i}: feature {feature[i]} of {limit}"
        )
    if (~leaf & np.isnan(nodes["num_threshold"])).any():
        _fail(
            where,
            "thresholds are numbers",
            f"node {_first(~leaf & np.isnan(nodes['num_threshold']))}",
        )
    if (~leaf & (nodes["is_categorical"] != 0)).any():
        _fail(
            where, "no categorical split", f"node {_first(~leaf & (nodes['is_categorical'] != 0))}"
        )
    if not np.isfinite(nodes["value"]).all():
        _fail(where, "finite values", f"node {_first(~np.isfinite(nodes['value']))}")
