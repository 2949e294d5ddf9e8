"""The ``data:`` section: where the pipeline's records come from."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from secondlook.params.base import CONFIG

__all__ = ["NO_GROUND_TRUTH", "DataParams"]

#: what every truth-dependent output says when the records are real (a cohort)
NO_GROUND_TRUTH = (
    "not available: real records have no ground truth. Whether a referral truly warranted an "
    "enquiry is known only in the synthetic world; an imported cohort records what practice did "
    "and what followed (plans, re-referrals), never what was really happening to the child."
)


@dataclass(frozen=True, config=CONFIG)
class DataParams:
    """The ``data:`` section.

    ``source: synthetic`` (the default) simulates the world; ``source: cohort`` reads an imported
    cohort (``secondlook import ...``; the folder is the ``generate`` stage's ``--records``
    dependency): its referrals are the decisions, the labels are those its source can observe
    (``cp_plan_12m``, ``rereferral_12m``, ``removal_12m`` where recorded), and every output that
    needs the ground truth says it is not available.
    """

    source: Literal["synthetic", "cohort"]
