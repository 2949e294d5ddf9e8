"""The one small interface every model family implements.

A family is a scikit-learn style estimator: hyperparameters are keyword arguments stored
unchanged, ``fit(X, y)`` learns state in attributes ending in ``_``. Beyond ``fit`` it offers

- :meth:`ModelFamily.margin` — the uncalibrated score that explanations decompose additively:
  log-odds for the learned families, checklist points for ``rules`` (see
  :attr:`ModelFamily.margin_scale`);
- :meth:`ModelFamily.describe` — a JSON-able description of the fitted model.

Probabilities come from :class:`secondlook.models.calibrate.CalibratedModel`, which maps the
margin to a probability fitted on the validation split, so every family is calibrated the same
way.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator

__all__ = ["POLICIES", "ModelFamily", "ModelInputError", "as_inputs", "check_binary", "constraints"]

#: ``train.policy`` values: ``none`` learns any direction; ``guidance`` enforces the catalogue's
POLICIES = ("none", "guidance")


class ModelInputError(ValueError):
    """The inputs given to a model are missing, non-numeric or not finite."""


def as_inputs(X: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Select ``columns`` from ``X`` as a float64 frame, naming any problem column.

    Parameters
    ----------
    X
        A feature table with at least ``columns``.
    columns
        The model's inputs, in order.

    Returns
    -------
    pandas.DataFrame
        Shape (n_rows, len(columns)), dtype float64, a fresh copy.

    Raises
    ------
    ModelInputError
        If a column is missing, not numeric or holds a missing or infinite value.
    """
    if not isinstance(X, pd.DataFrame):
        raise ModelInputError(f"inputs must be a pandas DataFrame, got {type(X).__name__}")
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ModelInputError(f"input column(s) missing: {', '.join(missing)}")
    out = pd.DataFrame(index=X.index)
    for c in columns:
        col = X[c]
        if not (pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)):
            raise ModelInputError(f"input column `{c}` must be numeric, got {col.dtype}")
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        if not np.isfinite(values).all():
            raise ModelInputError(f"input column `{c}` holds missing or infinite values")
        out[c] = values
    return out


def check_binary(y: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Return ``y`` as a 0/1 integer array, or raise if it is not a two-class label.

    Parameters
    ----------
    y
        Labels, bool or 0/1, shape (n_rows,).

    Returns
    -------
    numpy.ndarray
        int64 array of shape (n_rows,).
    """
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ModelInputError(f"the label must be one-dimensional, got shape {arr.shape}")
    if pd.isna(arr).any():
        raise ModelInputError("the label holds missing values")
    out = arr.astype(np.int64)
    if not np.isin(out, (0, 1)).all():
        raise ModelInputError("the label must be 0/1 or boolean")
    if out.min() == out.max():
        raise ModelInputError("the label has one class only; nothing can be learned")
    return out


def constraints(columns: list[str], policy: str) -> list[int]:
    """The monotone sign of each column under ``policy``: +1 raises, -1 lowers, 0 free.

    Parameters
    ----------
    columns
        The model's inputs, in order.
    policy
        ``none`` (every sign 0) or ``guidance`` (the feature catalogue's ``direction``).

    Returns
    -------
    list of int
        One of -1, 0, 1 per column.

    Raises
    ------
    ValueError
        If ``policy`` is unknown.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
    if policy == "none":
        return [0] * len(columns)
    from secondlook.features.catalogue import directions

    signs = directions(columns)
    return [signs[c] for c in columns]


class ModelFamily(BaseEstimator):  # type: ignore[misc]
    """Base class of the five families: ``fit``, ``margin``, ``describe``.

    Subclasses set :attr:`name`, :attr:`interpretable` and :attr:`margin_scale` and implement
    :meth:`_fit` and :meth:`_margin` on the float64 input frame.
    """

    #: the family's name in params.yaml and on disk
    name: ClassVar[str] = ""
    #: whether a reviewer can read the whole model (``gbm`` is the black-box reference)
    interpretable: ClassVar[bool] = True
    #: the unit of :meth:`margin`: ``"log-odds"`` or ``"points"``
    margin_scale: ClassVar[str] = "log-odds"

    def _select(self, X: pd.DataFrame) -> list[str]:
        """Which columns of ``X`` the family uses (all, unless a family narrows them)."""
        return [str(c) for c in X.columns]

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> Self:
        """Fit the family.

        Parameters
        ----------
        X
            Feature table, shape (n_rows, n_inputs); every column is an input (numeric).
        y
            Binary label, shape (n_rows,).

        Returns
        -------
        self
        """
        self.inputs_ = self._select(X)
        frame = as_inputs(X, self.inputs_)
        target = check_binary(y)
        if len(frame) != len(target):
            raise ModelInputError(f"X has {len(frame)} rows but y has {len(target)}")
        self.n_features_in_ = len(self.inputs_)
        self._fit(frame, target)
        return self

    def margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        """The uncalibrated score, shape (n_rows,), in :attr:`margin_scale` units."""
        if not hasattr(self, "inputs_"):
            raise ModelInputError(f"the {self.name} model is not fitted")
        return np.asarray(self._margin(as_inputs(X, self.inputs_)), dtype=np.float64)

    def describe(self) -> dict[str, Any]:
        """A JSON-able description of the fitted model (what a reviewer reads)."""
        return {
            "family": self.name,
            "interpretable": self.interpretable,
            "margin_scale": self.margin_scale,
            "inputs": list(getattr(self, "inputs_", [])),
            **self._describe(),
        }

    # -- for subclasses ------------------------------------------------------------------------
    def _fit(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:  # pragma: no cover
        raise NotImplementedError

    def _describe(self) -> dict[str, Any]:
        return {}
