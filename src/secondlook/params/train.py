"""The ``train:`` section: the model families, calibration and the capacity threshold."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal, Self, get_args

from pydantic import Strict, model_validator
from pydantic.dataclasses import dataclass

from secondlook.params.base import (
    CONFIG,
    Bool,
    Float,
    Int,
    NonNeg,
    Pos,
    Prob,
    Str,
    enum_schema,
    one_of,
    rule,
)

__all__ = [
    "FamilyName",
    "FAMILY_NAMES",
    "RulesPoints",
    "RulesParams",
    "LogRegParams",
    "TreeParams",
    "EBMParams",
    "GBMParams",
    "TrainParams",
]

#: a model family; ``gbm`` is the black-box reference
FamilyName = Literal["rules", "logreg", "tree", "ebm", "gbm"]
#: the model families, in the order reports list them
FAMILY_NAMES: tuple[str, ...] = get_args(FamilyName)
#: a family's name, typed ``str`` (so dicts keyed by ``train.families`` stay ``dict[str, ...]``)
Family = Annotated[str, Strict(), one_of(FAMILY_NAMES), enum_schema(FAMILY_NAMES)]


@dataclass(frozen=True, config=CONFIG)
class RulesPoints:
    """Points each checklist item adds (0 switches an item off)."""

    bruising_non_mobile: Int
    unborn_earlier_removal: Int
    sibling_ever_removed: Int
    unassessed_adult_named_in_da: Int
    unexplained_injuries: Int
    concern_sexual: Int
    injury_non_mobile: Int
    repeat_referrals: Int
    sibling_referrals: Int
    police_domestic: Int
    cp_plan_active: Int

    @model_validator(mode="after")
    def _rules(self) -> Self:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value < 0:
                raise rule(f.name, f"must be an integer >= 0, got {value!r}")
        return self


@dataclass(frozen=True, config=CONFIG)
class RulesParams:
    """``train.rules``: a fixed checklist from guidance; only its flag cut is set from data."""

    points: RulesPoints
    referrals_12m_min: Pos
    sibling_referrals_36m_min: Pos
    police_domestic_12m_min: Pos


@dataclass(frozen=True, config=CONFIG)
class LogRegParams:
    """``train.logreg``: standardised inputs, elastic-net logistic regression (saga)."""

    C: Float
    l1_ratio: Prob
    max_iter: Pos

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.C > 0:
            raise rule("C", f"must be a number > 0, got {self.C!r}")
        return self


@dataclass(frozen=True, config=CONFIG)
class TreeParams:
    """``train.tree``: a shallow decision tree a reader can follow (depth at most 4)."""

    max_depth: Pos
    min_samples_leaf: Pos
    ccp_alpha: NonNeg

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.max_depth > 4:
            raise rule("max_depth", f"must be at most 4, got {self.max_depth}")
        return self


@dataclass(frozen=True, config=CONFIG)
class EBMParams:
    """``train.ebm``: interpret-core ExplainableBoostingClassifier settings."""

    interactions: Int
    outer_bags: Pos
    max_rounds: Pos
    learning_rate: Float
    max_bins: Pos
    min_samples_leaf: Pos
    n_jobs: Int

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.interactions < 0:
            raise rule("interactions", f"must be an integer >= 0, got {self.interactions}")
        if not 0 < self.learning_rate <= 1:
            raise rule("learning_rate", f"must be in (0, 1], got {self.learning_rate}")
        if self.n_jobs == 0:
            raise rule("n_jobs", "must not be 0 (use a positive count, or -1 for all cores)")
        return self


@dataclass(frozen=True, config=CONFIG)
class GBMParams:
    """``train.gbm``: HistGradientBoostingClassifier, the black-box reference."""

    max_iter: Pos
    learning_rate: Float
    max_leaf_nodes: Pos
    min_samples_leaf: Pos
    l2_regularization: NonNeg
    n_threads: Pos

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not 0 < self.learning_rate <= 1:
            raise rule("learning_rate", f"must be in (0, 1], got {self.learning_rate}")
        return self


@dataclass(frozen=True, config=CONFIG)
class TrainParams:
    """The ``train:`` section: which families, on which label, calibrated how, flagging how many."""

    seed: Int
    families: tuple[Family, ...]
    label: Str
    capacity: Prob
    calibration: Literal["venn-abers", "isotonic", "sigmoid"]
    include_group_attributes: Bool
    rules: RulesParams
    logreg: LogRegParams
    tree: TreeParams
    ebm: EBMParams
    gbm: GBMParams
    #: ``guidance`` makes every family respect the catalogue's directions (monotone constraints)
    policy: Literal["none", "guidance"] = "none"

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.schema import LABELS

        if not self.families or len(set(self.families)) != len(self.families):
            raise rule("families", "must list at least one family, each once")
        if self.label not in LABELS:
            raise rule("label", f"must be one of {', '.join(LABELS)}; got {self.label!r}")
        if not 0 < self.capacity < 1:
            raise rule("capacity", f"must be strictly between 0 and 1, got {self.capacity}")
        return self
