"""``ebm``: interpret-core's Explainable Boosting Machine, pairwise interactions allowed.

The margin is ``decision_function`` (log-odds); ``eval_terms(X)`` gives each term's exact
contribution, which with ``intercept_`` sums to the margin.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from interpret.glassbox import ExplainableBoostingClassifier

from secondlook.models.base import ModelFamily, constraints

__all__ = ["EBMModel"]


class EBMModel(ModelFamily):
    """Explainable Boosting Machine (a GAM with a few pairwise interactions).

    Parameters
    ----------
    interactions
        Number of pairwise interaction terms (0 = main effects only). Default 10.
    outer_bags, max_rounds, learning_rate, max_bins, min_samples_leaf, n_jobs
        As in :class:`interpret.glassbox.ExplainableBoostingClassifier`; the defaults keep a
        25k-row fit to seconds on 2 cores (the library's own defaults take minutes).
    random_state
        Seed.
    policy
        ``none`` or ``guidance``: the catalogue's directions as ``monotone_constraints`` (the
        library then leaves constrained features out of pairwise interactions, so the whole
        margin is monotone in each of them).
    """

    name = "ebm"
    kind = "explainable boosting"
    interpretable = True
    margin_scale = "log-odds"

    def __init__(
        self,
        interactions: int = 10,
        outer_bags: int = 4,
        max_rounds: int = 2000,
        learning_rate: float = 0.04,
        max_bins: int = 256,
        min_samples_leaf: int = 4,
        n_jobs: int = 1,
        random_state: int | None = None,
        policy: str = "none",
    ) -> None:
        self.policy = policy
        self.interactions = interactions
        self.outer_bags = outer_bags
        self.max_rounds = max_rounds
        self.learning_rate = learning_rate
        self.max_bins = max_bins
        self.min_samples_leaf = min_samples_leaf
        self.n_jobs = n_jobs
        self.random_state = random_state

    def _fit(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:
        signs = constraints([str(c) for c in X.columns], self.policy)
        self.ebm_ = ExplainableBoostingClassifier(
            interactions=self.interactions,
            outer_bags=self.outer_bags,
            max_rounds=self.max_rounds,
            learning_rate=self.learning_rate,
            max_bins=self.max_bins,
            min_samples_leaf=self.min_samples_leaf,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            monotone_constraints=signs if any(signs) else None,
        ).fit(X, y)

    def _margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return np.asarray(self.ebm_.decision_function(X), dtype=np.float64)

    def _describe(self) -> dict[str, Any]:
        importances = self.ebm_.term_importances()
        pairs = sorted(
            ((str(n), float(i)) for n, i in zip(self.ebm_.term_names_, importances, strict=True)),
            key=lambda t: -t[1],
        )
        terms = [{"term": n, "importance": i} for n, i in pairs]
        return {"intercept": float(np.ravel(self.ebm_.intercept_)[0]), "terms": terms}
