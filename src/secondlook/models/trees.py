"""``tree`` (a decision tree of depth at most 4) and ``gbm`` (the black-box reference).

- ``tree``: the margin is the log-odds of the leaf's training share of positives, clipped to
  ``[LEAF_CLIP, 1 - LEAF_CLIP]`` so pure leaves stay finite.
- ``gbm``: HistGradientBoostingClassifier on numeric inputs only (``categorical_features=None``:
  native categorical splits make SHAP's tree explanations wrong); the margin is its
  ``decision_function`` (raw log-odds), which SHAP's TreeExplainer decomposes exactly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.tree import DecisionTreeClassifier, export_text
from threadpoolctl import threadpool_limits

from secondlook.models.base import ModelFamily, constraints

__all__ = ["TreeModel", "GBMModel", "LEAF_CLIP", "MAX_TREE_DEPTH"]

#: leaf probabilities are clipped to [LEAF_CLIP, 1 - LEAF_CLIP] before taking log-odds
LEAF_CLIP = 1e-4
#: the deepest tree a reviewer is asked to follow
MAX_TREE_DEPTH = 4


def _cst(self: ModelFamily, X: pd.DataFrame) -> list[int] | None:
    signs = constraints([str(c) for c in X.columns], getattr(self, "policy", "none"))
    return signs if any(signs) else None


class TreeModel(ModelFamily):
    """A shallow decision tree.

    Parameters
    ----------
    max_depth
        At most :data:`MAX_TREE_DEPTH`. Default 4.
    min_samples_leaf
        Default 50.
    ccp_alpha
        Cost-complexity pruning. Default 0.
    random_state
        Seed for tie-breaking between equally good splits.
    policy
        ``none`` or ``guidance`` (``monotonic_cst`` from the catalogue's directions).
    """

    name = "tree"
    kind = "depth ≤ 4"
    interpretable = True
    margin_scale = "log-odds"
    _cst = _cst

    def __init__(
        self,
        max_depth: int = 4,
        min_samples_leaf: int = 50,
        ccp_alpha: float = 0.0,
        random_state: int | None = None,
        policy: str = "none",
    ) -> None:
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.ccp_alpha = ccp_alpha
        self.random_state = random_state
        self.policy = policy

    def _fit(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:
        if not 1 <= self.max_depth <= MAX_TREE_DEPTH:
            raise ValueError(f"max_depth must be in 1..{MAX_TREE_DEPTH}, got {self.max_depth}")
        self.tree_ = DecisionTreeClassifier(
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            ccp_alpha=self.ccp_alpha,
            random_state=self.random_state,
            monotonic_cst=self._cst(X),
        ).fit(X, y)

    def _margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        p = np.clip(self.tree_.predict_proba(X)[:, 1], LEAF_CLIP, 1 - LEAF_CLIP)
        return np.asarray(np.log(p) - np.log1p(-p), dtype=np.float64)

    def _describe(self) -> dict[str, Any]:
        return {
            "depth": int(self.tree_.get_depth()),
            "leaves": int(self.tree_.get_n_leaves()),
            "text": export_text(self.tree_, feature_names=list(self.inputs_), decimals=2),
        }


class GBMModel(ModelFamily):
    """Histogram gradient boosting, the black-box reference that prices interpretability.

    Parameters
    ----------
    max_iter, learning_rate, max_leaf_nodes, min_samples_leaf, l2_regularization
        As in :class:`sklearn.ensemble.HistGradientBoostingClassifier`. Early stopping is off so
        the number of trees is exactly ``max_iter``.
    n_threads
        OpenMP threads for fitting. Default 1: with other work on the machine, OpenMP's
        busy-waiting made 2 threads ten times slower than 1 on 2 cores. The fitted model does
        not depend on it.
    random_state
        Seed.
    policy
        ``none`` or ``guidance`` (``monotonic_cst`` from the catalogue's directions).
    """

    name = "gbm"
    kind = "black-box reference"
    interpretable = False
    margin_scale = "log-odds"
    _cst = _cst

    def __init__(
        self,
        max_iter: int = 300,
        learning_rate: float = 0.05,
        max_leaf_nodes: int = 15,
        min_samples_leaf: int = 40,
        l2_regularization: float = 1.0,
        n_threads: int = 1,
        random_state: int | None = None,
        policy: str = "none",
    ) -> None:
        self.policy = policy
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.n_threads = n_threads
        self.random_state = random_state

    def _fit(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:
        with threadpool_limits(limits=self.n_threads, user_api="openmp"):
            self._fit_gbm(X, y)

    def _fit_gbm(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:
        self.gbm_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            l2_regularization=self.l2_regularization,
            categorical_features=None,
            early_stopping=False,
            random_state=self.random_state,
            monotonic_cst=self._cst(X),
        ).fit(X, y)
        self.n_iter_ = int(self.gbm_.n_iter_)

    def _margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return np.asarray(self.gbm_.decision_function(X), dtype=np.float64)

    def _describe(self) -> dict[str, Any]:
        return {"trees": int(self.gbm_.n_iter_)}
