"""Views of the record: what each data source records, and so which features it can give.

A view is the set of event types and links (:data:`secondlook.features.catalogue.LINKS`) a
source records. A feature is in a view when everything it needs
(:attr:`~secondlook.features.catalogue.FeatureSpec.needs`) is; a feature the view cannot
compute is left out of the model's inputs, never filled with 0.

- ``multi_agency``: everything the simulator emits (police, health, school and adult services
  beside children's social care; households, adults and the address-based deprivation decile).
- ``csc_records``: a local authority's own case records (what the Standard Safeguarding Dataset
  extracts): referrals and their outcomes, assessments (of children and of the adults assessed
  with them), s47 enquiries and their outcomes, conferences, plans, removals; the family link,
  the adults who are clients, addresses. No police, health or school records, no household
  comings and goings, no pregnancy notifications.
- ``cin_census``: what the annual CIN census return holds: referrals and outcomes, assessments
  (factor codes), s47 starts, conferences and plans, the child's disability. No adults, no
  households, no addresses, no s47 outcome, no removals.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal

import pandas as pd

from secondlook.errors import SecondlookError
from secondlook.features.catalogue import CATALOGUE, LINKS
from secondlook.schema import EVENT_TYPES

__all__ = [
    "VIEWS",
    "CENSUS_RECORDS",
    "View",
    "ViewError",
    "check_cohort",
    "cohort_records",
    "view_features",
    "view_needs",
]

View = Literal["multi_agency", "csc_records", "cin_census"]

_CSC_EVENTS = (
    "referral",
    "referral_outcome",
    "assessment_completed",
    "adult_assessed",
    "s47_started",
    "s47_concluded",
    "icpc",
    "cp_plan_started",
    "cp_plan_ended",
    "child_removed",
)
#: what a CIN census return (and an Ofsted Annex A workbook) records: event kinds and links, in
#: the order the census import's manifest lists them (the one list; the importers read it here)
CENSUS_RECORDS = (
    "referral",
    "referral_outcome",
    "assessment_completed",
    "s47_started",
    "icpc",
    "cp_plan_started",
    "cp_plan_ended",
    "disability",
)
#: view -> the event types and links its source records
VIEWS: dict[str, frozenset[str]] = {
    "multi_agency": frozenset(EVENT_TYPES) | frozenset(LINKS),
    "csc_records": frozenset(_CSC_EVENTS) | {"household", "adults", "deprivation", "disability"},
    "cin_census": frozenset(CENSUS_RECORDS),
}


class ViewError(SecondlookError, ValueError):
    """A cohort lacks what a model's view needs, or a view is unknown."""


def _check(view: str) -> frozenset[str]:
    if view not in VIEWS:
        raise ViewError(f"unknown view `{view}` (one of {', '.join(VIEWS)})")
    return VIEWS[view]


def view_features(view: str) -> list[str]:
    """The catalogue features a view can compute, in catalogue order.

    Parameters
    ----------
    view
        One of :data:`VIEWS`.

    Returns
    -------
    list of str

    Raises
    ------
    ViewError
        If the view is unknown.
    """
    records = _check(view)
    return [s.name for s in CATALOGUE if set(s.needs) <= records]


def view_needs(view: str, features: Iterable[str] | None = None) -> frozenset[str]:
    """What a cohort must record for ``features`` (default: every feature of the view).

    Returns
    -------
    frozenset of str
        Event types and links.
    """
    chosen = set(view_features(view) if features is None else features)
    return frozenset(n for s in CATALOGUE if s.name in chosen for n in s.needs)


def cohort_records(
    tables: Mapping[str, pd.DataFrame], declared: Iterable[str] | None = None
) -> frozenset[str]:
    """What a cohort records: its declared list (an import manifest's ``records``) or, without
    one, the event types present and the links its tables carry.

    Parameters
    ----------
    tables
        ``households``, ``people``, ``events``.
    declared
        The source's own statement of what it records, when it has one.

    Returns
    -------
    frozenset of str
    """
    if declared is not None:
        return frozenset(declared)
    found: set[str] = set(pd.unique(tables["events"]["type"]))
    people, hh = tables["people"], tables["households"]
    if (people["role"] != "child").any():
        found.add("adults")
    if people["household_id"].duplicated().any():
        found.add("household")
    if hh["deprivation_decile"].notna().any():
        found.add("deprivation")
    if people["disability"].notna().any():
        found.add("disability")
    return frozenset(found)


def check_cohort(needs: Iterable[str], view: str, records: Iterable[str]) -> None:
    """Refuse a cohort that lacks what a model's inputs need, naming the missing kinds.

    Parameters
    ----------
    needs
        What the model's inputs need (its metadata's ``view.needs``).
    view
        The view the model was trained on (for the message).
    records
        What the cohort records (:func:`cohort_records`).

    Raises
    ------
    ViewError
        Naming the missing event kinds and links.
    """
    missing = sorted(set(needs) - set(records))
    if missing:
        kinds = [m for m in missing if m in EVENT_TYPES]
        links = [m for m in missing if m not in EVENT_TYPES]
        parts = []
        if kinds:
            parts.append(f"event kinds {', '.join(kinds)}")
        if links:
            parts.append(f"links {', '.join(links)}")
        raise ViewError(
            f"the model was trained on the `{view}` view; the cohort does not record "
            f"{' and '.join(parts)} (use a model trained on a view the cohort has, e.g. "
            f"features.view: cin_census)"
        )
