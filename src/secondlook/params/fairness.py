"""The ``fairness:`` section: group metrics, intervals, suppression, the label-bias study."""

from __future__ import annotations

from typing import Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from secondlook.params.base import CONFIG, Int, Pos, Prob, Str, rule
from secondlook.params.train import FamilyName

__all__ = ["LabelBiasParams", "FairnessParams"]


@dataclass(frozen=True, config=CONFIG)
class LabelBiasParams:
    """The label-bias study: one family trained on the truth and on proxies, in two worlds."""

    family: FamilyName
    labels: tuple[Str, ...]
    attributes: tuple[Str, ...]
    metrics: tuple[Str, ...]

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.evaluate.fairness import GROUP_METRICS
        from secondlook.schema import LABELS

        for label in self.labels:
            if label not in LABELS:
                raise rule("labels", f"`{label}` is not a label ({', '.join(LABELS)})")
        for metric in self.metrics:
            if metric not in GROUP_METRICS:
                raise rule("metrics", f"`{metric}` is not one of {', '.join(GROUP_METRICS)}")
        return self


@dataclass(frozen=True, config=CONFIG)
class FairnessParams:
    """The ``fairness:`` section: group metrics, intervals, suppression, the label-bias study.

    ``labels[0]`` is the truth every disparity is finally measured against; the others are the
    proxies compared with it.
    """

    attributes: tuple[Str, ...]
    labels: tuple[Str, ...]
    min_cell: Pos
    n_boot: Pos
    ci: Prob
    seed: Int
    label_bias: LabelBiasParams

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.evaluate.fairness import GROUP_ATTRIBUTES
        from secondlook.schema import LABELS

        for a in self.attributes + self.label_bias.attributes:
            if a not in GROUP_ATTRIBUTES:
                raise rule("attributes", f"`{a}` is not one of {', '.join(GROUP_ATTRIBUTES)}")
        for label in self.labels:
            if label not in LABELS:
                raise rule("labels", f"`{label}` is not a label ({', '.join(LABELS)})")
        if self.labels and self.labels[0] != "warrants_escalation":
            raise rule("labels", "must start with the truth, warrants_escalation")
        if not 0 < self.ci < 1:
            raise rule("ci", "must be strictly between 0 and 1")
        return self
