"""The ``score:`` section: batch scoring of an anonymised cohort."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from secondlook.params.base import CONFIG, Date, Pos, rule

__all__ = ["ScoreParams"]


@dataclass(frozen=True, config=CONFIG)
class ScoreParams:
    """The ``score:`` section: the referral window, chunking, reasons and the engine.

    ``start``/``end`` (inclusive, ``null``: unbounded) are the referral dates scored; the CLI's
    ``--from``/``--to`` override them. Memory is bounded by ``chunk_households`` (households
    scored together) and ``batch_rows`` (rows read at a time).
    """

    start: Date | None
    end: Date | None
    chunk_households: Pos
    batch_rows: Pos
    top_k: Pos
    engine: Literal["pandas", "dask"]
    dask_workers: Pos

    @model_validator(mode="after")
    def _rules(self) -> Self:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise rule("end", f"must not be before start ({self.start})")
        return self
