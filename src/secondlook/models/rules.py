"""``rules``: a transparent checklist from guidance, scored in additive points.

Nothing is learned from data except where the flag cut falls (set by the capacity threshold in
:mod:`secondlook.models.calibrate`). The margin is the **points total**: each item that holds adds
its points (params ``train.rules.points``); the scale is points, not log-odds, and calibration maps
the total to a probability. The items (column names are those of the feature tables):

==============================  ===============================================================
item                            holds when
==============================  ===============================================================
bruising_non_mobile             ``bruising_non_mobile > 0`` (any bruising in a baby not yet mobile)
unborn_earlier_removal          ``unborn_earlier_removal == 1``
sibling_ever_removed            ``sibling_ever_removed == 1``
unassessed_adult_named_in_da    ``unassessed_adult_named_in_da == 1``
unexplained_injuries            ``unexplained_injuries_12m > 0``
concern_sexual                  ``concern_sexual == 1``
injury_non_mobile               ``concern_physical_injury == 1 and not_yet_mobile == 1``
repeat_referrals                ``referrals_12m >= referrals_12m_min``
sibling_referrals               ``sibling_referrals_36m >= sibling_referrals_36m_min``
police_domestic                 ``police_domestic_12m >= police_domestic_12m_min``
cp_plan_active                  ``cp_plan_active == 1``
==============================  ===============================================================

A referral is flagged when its points total reaches the cut stored with the model
(``CalibratedModel.margin_threshold_``). The family's own ``predict_proba`` (unused by the
pipeline, which calibrates on the validation split) maps the points total through a logistic link
fitted on the training rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy.special import expit
from sklearn.linear_model import LogisticRegression

from secondlook.models.base import ModelFamily, ModelInputError, as_inputs

__all__ = [
    "CHECKLIST",
    "ITEM_COLUMNS",
    "RULE_COLUMNS",
    "RULE_TEXT",
    "DEFAULT_POINTS",
    "RulesModel",
]

#: the checklist, in report order: item -> (the feature columns it reads, its plain-language
#: text ({n} is the item's minimum count), its default points, as params.yaml
#: ``train.rules.points``). Every other list of the items is derived from this one.
CHECKLIST: dict[str, tuple[tuple[str, ...], str, int]] = {
    "bruising_non_mobile": (
        ("bruising_non_mobile",),
        "bruising recorded in a baby who is not yet mobile",
        5,
    ),
    "unborn_earlier_removal": (
        ("unborn_earlier_removal",),
        "an unborn child whose mother had an earlier child removed",
        4,
    ),
    "sibling_ever_removed": (
        ("sibling_ever_removed",),
        "a sibling has been removed into care",
        2,
    ),
    "unassessed_adult_named_in_da": (
        ("unassessed_adult_named_in_da",),
        "an adult named in domestic abuse incidents was never assessed",
        2,
    ),
    "unexplained_injuries": (
        ("unexplained_injuries_12m",),
        "an unexplained injury in the last 12 months",
        2,
    ),
    "concern_sexual": (("concern_sexual",), "the referral's concern is sexual abuse", 3),
    "injury_non_mobile": (
        ("concern_physical_injury", "not_yet_mobile"),
        "a physical injury concern about a baby not yet mobile",
        3,
    ),
    "repeat_referrals": (
        ("referrals_12m",),
        "{n} or more referrals of this child in the last 12 months",
        1,
    ),
    "sibling_referrals": (
        ("sibling_referrals_36m",),
        "{n} or more referrals of siblings in the last 36 months",
        1,
    ),
    "police_domestic": (
        ("police_domestic_12m",),
        "{n} or more police domestic incidents in the last 12 months",
        1,
    ),
    "cp_plan_active": (("cp_plan_active",), "the child is already on a child protection plan", 1),
}
#: the feature column(s) each item reads
ITEM_COLUMNS: dict[str, tuple[str, ...]] = {k: v[0] for k, v in CHECKLIST.items()}
#: the feature columns the checklist reads, each once, in checklist order
RULE_COLUMNS: tuple[str, ...] = tuple(
    dict.fromkeys(c for columns in ITEM_COLUMNS.values() for c in columns)
)
#: plain-language text of each item ({n} is the item's minimum count)
RULE_TEXT: dict[str, str] = {k: v[1] for k, v in CHECKLIST.items()}
#: default points, the same as params.yaml ``train.rules.points`` (a test holds them equal)
DEFAULT_POINTS: dict[str, int] = {k: v[2] for k, v in CHECKLIST.items()}


class RulesModel(ModelFamily):
    """Additive checklist (see the module docstring for every item).

    Parameters
    ----------
    points
        Points per item, keys as in :data:`RULE_TEXT`; ``None`` uses :data:`DEFAULT_POINTS`.
    referrals_12m_min, sibling_referrals_36m_min, police_domestic_12m_min
        Minimum counts for the count items. Default 3, 3, 2.
    """

    name = "rules"
    kind = "checklist"
    interpretable = True
    margin_scale = "points"

    def __init__(
        self,
        points: Mapping[str, int] | None = None,
        referrals_12m_min: int = 3,
        sibling_referrals_36m_min: int = 3,
        police_domestic_12m_min: int = 2,
    ) -> None:
        self.points = points
        self.referrals_12m_min = referrals_12m_min
        self.sibling_referrals_36m_min = sibling_referrals_36m_min
        self.police_domestic_12m_min = police_domestic_12m_min

    def _points(self) -> dict[str, int]:
        points = dict(DEFAULT_POINTS if self.points is None else self.points)
        unknown = sorted(set(points) - set(RULE_TEXT))
        missing = sorted(set(RULE_TEXT) - set(points))
        if unknown or missing:
            raise ValueError(f"rules points: unknown items {unknown}, missing items {missing}")
        if any(int(v) < 0 for v in points.values()):
            raise ValueError("rules points must be >= 0")
        return {k: int(points[k]) for k in RULE_TEXT}

    def _select(self, X: pd.DataFrame) -> list[str]:
        from secondlook.features.catalogue import PRACTICE_FEATURES

        missing = [c for c in RULE_COLUMNS if c not in X.columns]
        # a practice-blind table (features.practice_features: exclude) has no practice
        # columns: the items reading them leave the checklist; any other gap is an error
        other = [c for c in missing if c not in PRACTICE_FEATURES]
        if other:
            raise ModelInputError(f"the rules checklist needs column(s): {', '.join(other)}")
        self.dropped_items_ = [
            k for k, cols in ITEM_COLUMNS.items() if any(c in missing for c in cols)
        ]
        return [c for c in RULE_COLUMNS if c not in missing]

    def _array_names(self, n_columns: int) -> list[str]:
        if n_columns != len(RULE_COLUMNS):
            raise ModelInputError(
                f"the rules checklist reads {len(RULE_COLUMNS)} named columns "
                f"({', '.join(RULE_COLUMNS)}); an array input must have them in that order, "
                f"got {n_columns} column(s)"
            )
        self.dropped_items_ = []
        return list(RULE_COLUMNS)

    def _fit(self, X: pd.DataFrame, y: npt.NDArray[np.int64]) -> None:
        for name in ("referrals_12m_min", "sibling_referrals_36m_min", "police_domestic_12m_min"):
            if not int(getattr(self, name)) >= 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        dropped = getattr(self, "dropped_items_", [])
        self.points_ = {k: 0 if k in dropped else v for k, v in self._points().items()}
        # predict_proba's link from points to log-odds (a one-input logistic fit on the
        # training rows); the pipeline calibrates on the validation split instead
        link = LogisticRegression(C=1e6).fit(self._margin(X).reshape(-1, 1), y)
        self.link_intercept_ = float(link.intercept_[0])
        self.link_slope_ = float(link.coef_[0, 0])

    def _probability(self, margin: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Points total to probability through the logistic link fitted in ``fit``."""
        return np.asarray(expit(self.link_intercept_ + self.link_slope_ * margin), np.float64)

    def items(self, X: pd.DataFrame) -> pd.DataFrame:
        """Which checklist items hold for each row.

        Parameters
        ----------
        X
            Feature table with the columns in :data:`RULE_COLUMNS`.

        Returns
        -------
        pandas.DataFrame
            Shape (n_rows, 11), one 0/1 int column per item, in :data:`RULE_TEXT` order.
        """
        # a checklist fitted without practice columns reads the columns it has; its items that
        # need the others are left out (points 0), so their stand-in value never counts
        present = list(getattr(self, "inputs_", RULE_COLUMNS))
        f = as_inputs(X, present).reindex(columns=list(RULE_COLUMNS), fill_value=0.0)
        held = {
            "bruising_non_mobile": f["bruising_non_mobile"] > 0,
            "unborn_earlier_removal": f["unborn_earlier_removal"] >= 1,
            "sibling_ever_removed": f["sibling_ever_removed"] >= 1,
            "unassessed_adult_named_in_da": f["unassessed_adult_named_in_da"] >= 1,
            "unexplained_injuries": f["unexplained_injuries_12m"] > 0,
            "concern_sexual": f["concern_sexual"] >= 1,
            "injury_non_mobile": (f["concern_physical_injury"] >= 1) & (f["not_yet_mobile"] >= 1),
            "repeat_referrals": f["referrals_12m"] >= self.referrals_12m_min,
            "sibling_referrals": f["sibling_referrals_36m"] >= self.sibling_referrals_36m_min,
            "police_domestic": f["police_domestic_12m"] >= self.police_domestic_12m_min,
            "cp_plan_active": f["cp_plan_active"] >= 1,
        }
        return pd.DataFrame({k: v.astype(np.int64) for k, v in held.items()}, index=X.index)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Points each item adds for each row; the row sums equal the margin exactly.

        The margin is :meth:`decision_function`.
        """
        points = getattr(self, "points_", None) or self._points()
        items = self.items(X)
        return items * pd.Series(points)[items.columns]

    def _margin(self, X: pd.DataFrame) -> npt.NDArray[np.float64]:
        return self.contributions(X).sum(axis=1).to_numpy(dtype=np.float64)

    def checklist(self) -> list[dict[str, Any]]:
        """The checklist as rows of ``item``, ``points``, ``text``."""
        points = getattr(self, "points_", None) or self._points()
        mins = {
            "repeat_referrals": self.referrals_12m_min,
            "sibling_referrals": self.sibling_referrals_36m_min,
            "police_domestic": self.police_domestic_12m_min,
        }
        return [
            {"item": k, "points": points[k], "text": RULE_TEXT[k].format(n=mins.get(k, ""))}
            for k in RULE_TEXT
        ]

    def _describe(self) -> dict[str, Any]:
        return {"checklist": self.checklist()}
