"""The ``explain:`` section: exact contributions, reasons, fidelity, stability, review packs."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from secondlook.params.base import CONFIG, Int, Pos, rule
from secondlook.params.train import FamilyName

__all__ = ["ExplainParams"]


@dataclass(frozen=True, config=CONFIG)
class ExplainParams:
    """The ``explain:`` section: reasons per decision, packs, and the stability refits."""

    seed: Int
    top_k: Pos
    fidelity_k: Pos
    pack_family: FamilyName
    n_packs: Int
    n_boot: Pos
    stability_rows: Pos
    plot_rows: Pos
    n_dependence: Int
    #: what contributions are measured against: a referral with nothing recorded, or the mean
    reference: Literal["clean_record", "mean"] = "clean_record"

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.n_packs < 0:
            raise rule("n_packs", f"must be >= 0, got {self.n_packs}")
        if self.n_dependence < 0:
            raise rule("n_dependence", f"must be >= 0, got {self.n_dependence}")
        return self
