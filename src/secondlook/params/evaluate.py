"""The ``evaluate:`` section: metrics with bootstrap intervals on the test split."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from secondlook.params.base import CONFIG, Int, Pos, Prob, Str, rule

__all__ = ["EvaluateParams"]


@dataclass(frozen=True, config=CONFIG)
class EvaluateParams:
    """The ``evaluate:`` section: the headline label, bootstrap size and interval level."""

    seed: Int
    n_boot: Pos
    ci: Prob
    label: Str
    ece_bins: Pos
    select_by: Literal["auroc", "auprc"]
    #: variants drawn of each seed pattern and negative control (scored, never trained on)
    pattern_variants: Pos = 60
    #: seed of the pattern draws
    pattern_seed: Int = 4242

    @model_validator(mode="after")
    def _rules(self) -> Self:
        from secondlook.schema import LABELS

        if not 0 < self.ci < 1:
            raise rule("ci", f"must be strictly between 0 and 1, got {self.ci}")
        if self.label not in LABELS:
            raise rule("label", f"must be one of {', '.join(LABELS)}; got {self.label!r}")
        if self.ece_bins < 2:
            raise rule("ece_bins", f"must be at least 2, got {self.ece_bins}")
        return self
