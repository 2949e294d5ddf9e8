"""The one small interface every model family implements.

A family is a scikit-learn binary classifier: hyperparameters are keyword arguments stored
unchanged and validated in ``fit(X, y)``, which learns state in attributes ending in ``_``.
Beyond ``fit`` it offers

- :meth:`ModelFamily.decision_function` — the *margin*, the uncalibrated score that
  explanations decompose additively: log-odds for the learned families, checklist points for
  ``rules`` (see :attr:`ModelFamily.margin_scale`);
- ``predict_proba``, ``predict``, ``classes_`` — the rest of scikit-learn's binary-classifier
  protocol, so ecosystem tools compose with a family and ``parametrize_with_checks`` runs on it;
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
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d, validate_data

from secondlook.errors import ModelInputError

__all__ = ["POLICIES", "ModelFamily", "ModelInputError", "as_inputs", "check_binary", "constraints"]

#: ``train.policy`` values: ``none`` learns any direction; ``guidance`` enforces the catalogue's
POLICIES = ("none", "guidance")


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
    repeated = [] if X.columns.is_unique else [c for c in columns if (X.columns == c).sum() > 1]
    if repeated:
        raise ModelInputError(f"input column `{repeated[0]}` appears more than once")
    # the checks per column, then one conversion of the whole block: a column-by-column copy
    # costs about 30 ms for 87 inputs whatever the rows, most of explaining a small chunk
    block = X[list(columns)]
    for c, dtype in zip(columns, block.dtypes, strict=True):
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise ModelInputError(f"input column `{c}` must be numeric, got {dtype}")
    values = block.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    finite = np.isfinite(values).all(axis=0)
    if not finite.all():
        bad = columns[int(np.flatnonzero(~finite)[0])]
        raise ModelInputError(f"input column `{bad}` holds missing or infinite values")
    return pd.DataFrame(values, index=X.index, columns=list(columns), copy=False)


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


class ModelFamily(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Base class of the five families: a binary scikit-learn classifier plus ``describe``.

    Subclasses set :attr:`name`, :attr:`interpretable`, :attr:`kind` and :attr:`margin_scale` and
    implement
    :meth:`_fit` and :meth:`_margin` on the float64 input frame (columns :attr:`inputs_`).

    Inputs are either a feature table (a DataFrame: the family picks its :attr:`inputs_` by name,
    so wider tables and any column order are accepted, and a bad column is named) or a 2-D
    array (the columns are then called ``x0, x1, ...``; ``rules`` reads its checklist columns in
    :data:`~secondlook.models.rules.RULE_COLUMNS` order).

    Attributes
    ----------
    inputs_
        The input columns, in the order the model reads them.
    classes_
        The two labels seen in ``fit``, sorted; ``classes_[1]`` is the positive class.
    n_features_in_, feature_names_in_
        As in scikit-learn (``feature_names_in_`` only when fitted on a DataFrame).
    """

    #: the family's name in params.yaml and on disk
    name: ClassVar[str] = ""
    #: whether a reviewer can read the whole model (``gbm`` is the black-box reference)
    interpretable: ClassVar[bool] = True
    #: what the family is, in a few words (the report names it ``<name> (<kind>)``)
    kind: ClassVar[str] = ""
    #: the unit of :meth:`decision_function`: ``"log-odds"`` or ``"points"``
    margin_scale: ClassVar[str] = "log-odds"

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # a second look is a yes/no question
        return tags

    def _select(self, X: pd.DataFrame) -> list[str]:
        """Which columns of ``X`` the family uses (all, unless a family narrows them)."""
        return [str(c) for c in X.columns]

    def _array_names(self, n_columns: int) -> list[str]:
        """Names given to the columns of an array input (``x0, x1, ...``)."""
        return [f"x{i}" for i in range(n_columns)]

    def _frame(self, X: Any, *, reset: bool) -> pd.DataFrame:
        """The float64 input frame from a DataFrame or an array, checking it as sklearn does."""
        if isinstance(X, pd.DataFrame) and all(isinstance(c, str) for c in X.columns):
            if reset:
                self.inputs_ = self._select(X)
            frame = as_inputs(X, self.inputs_)
            if reset:
                validate_data(self, frame, reset=True, dtype=np.float64)
            return frame
        arr = validate_data(self, X, reset=reset, dtype=np.float64)
        if reset:
            self.inputs_ = self._array_names(arr.shape[1])
        return pd.DataFrame(arr, columns=self.inputs_)

    def fit(self, X: pd.DataFrame | npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Fit the family.

        Parameters
        ----------
        X
            Feature table, shape (n_rows, n_inputs), numeric (a DataFrame or a 2-D array).
        y
            Binary label, shape (n_rows,): two distinct values (bool, 0/1 or strings).

        Returns
        -------
        self

        Raises
        ------
        ModelInputError
            If an input column is missing, not numeric or not finite, or the label does not
            have exactly two classes.
        ValueError
            If a hyperparameter is out of range (checked here, not in ``__init__``).
        """
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attr)  # a refit starts clean
        frame = self._frame(X, reset=True)
        target = self._encode_target(y)
        if len(frame) != len(target):
            raise ModelInputError(f"X has {len(frame)} rows but y has {len(target)}")
        self._fit(frame, target)
        return self

    def _encode_target(self, y: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Set :attr:`classes_` and return ``y`` as 0/1 (1 = ``classes_[1]``)."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None"
            )
        arr = column_or_1d(y, warn=True)
        if arr.dtype.kind in "fc":  # NaN or infinity (scikit-learn's wording)
            check_array(arr, ensure_2d=False, dtype=None, input_name="y")
        if pd.isna(arr).any():
            raise ModelInputError("the label holds missing values")
        check_classification_targets(arr)
        classes = np.unique(arr)
        if len(classes) == 1:
            raise ModelInputError("the label has one class only; nothing can be learned")
        if len(classes) > 2:
            kind = type_of_target(arr, input_name="y")
            raise ModelInputError(
                "Only binary classification is supported. The type of the target is "
                f"{kind} ({len(classes)} classes)."
            )
        self.classes_ = classes
        return (arr == classes[1]).astype(np.int64)

    def decision_function(self, X: pd.DataFrame | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The margin: the uncalibrated score, shape (n_rows,), in :attr:`margin_scale` units.

        Higher means ``classes_[1]`` is more likely. This is the score explanations decompose
        additively.
        """
        check_is_fitted(self, "inputs_")
        return np.asarray(self._margin(self._frame(X, reset=False)), dtype=np.float64)

    def predict_proba(self, X: pd.DataFrame | npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The family's own (uncalibrated) probabilities, shape (n_rows, 2), columns ``classes_``.

        The pipeline's probabilities come from
        :class:`~secondlook.models.calibrate.CalibratedModel` instead.
        """
        p = self._probability(self.decision_function(X))
        return np.column_stack([1 - p, p])

    def predict(self, X: pd.DataFrame | npt.ArrayLike) -> npt.NDArray[Any]:
        """The more probable class of each row, shape (n_rows,)."""
        p = self.predict_proba(X)[:, 1]
        return np.asarray(self.classes_)[(p > 0.5).astype(np.int64)]

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
    def _probability(self, margin: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Margin to probability of ``classes_[1]``: the logistic function of log-odds."""
        return np.asarray(expit(margin), dtype=np.float64)

    def _fit(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:  # pragma: no cover
        raise NotImplementedError

    def _margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:  # pragma: no cover
        raise NotImplementedError

    def _describe(self) -> dict[str, Any]:
        return {}
