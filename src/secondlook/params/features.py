"""The ``features:`` section: the temporal split and the optional group-attribute input."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from secondlook.params.base import CONFIG, Bool, Date, rule
from secondlook.params.synth import SynthParams

__all__ = ["WindowParams", "SplitParams", "FeaturesParams"]


@dataclass(frozen=True, config=CONFIG)
class WindowParams:
    """One split window: decisions dated ``start`` to ``end`` inclusive."""

    start: Date
    end: Date

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.end < self.start:
            raise rule("end", f"must not be before start ({self.start})")
        return self


@dataclass(frozen=True, config=CONFIG)
class SplitParams:
    """``features.split``: train, valid and test windows, in time order, not overlapping."""

    train: WindowParams
    valid: WindowParams
    test: WindowParams

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if not self.train.end < self.valid.start:
            raise rule("valid.start", f"must be after train.end ({self.train.end})")
        if not self.valid.end < self.test.start:
            raise rule("test.start", f"must be after valid.end ({self.valid.end})")
        return self

    def windows(self) -> dict[str, WindowParams]:
        """The windows by split name, in time order."""
        return {"train": self.train, "valid": self.valid, "test": self.test}


@dataclass(frozen=True, config=CONFIG)
class FeaturesParams:
    """The ``features:`` section: the temporal split and whether deprivation is an input.

    Each window must lie inside the world and leave ``synth.follow_up_months`` of follow-up
    before ``synth.end``; :meth:`check_world` checks that against the ``synth`` section.
    """

    split: SplitParams
    include_deprivation: Bool
    #: ``exclude`` trains on signals only (no feature whose catalogue kind is ``practice``)
    practice_features: Literal["include", "exclude"] = "include"

    def check_world(self, synth: SynthParams) -> list[tuple[str, str]]:
        """Errors (dotted key under ``features``, message) against the simulated world."""
        import pandas as pd

        errors = []
        last = (pd.Timestamp(synth.end) - pd.DateOffset(months=synth.follow_up_months)).date()
        for name, window in self.split.windows().items():
            if window.start < synth.decisions_from:
                errors.append(
                    (
                        f"split.{name}.start",
                        f"must not be before synth.decisions_from ({synth.decisions_from})",
                    )
                )
            if window.end > last:
                errors.append(
                    (
                        f"split.{name}.end",
                        f"must leave synth.follow_up_months={synth.follow_up_months} months of "
                        f"follow-up before synth.end ({synth.end}): at most {last}",
                    )
                )
        return errors
