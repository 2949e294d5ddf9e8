"""Views of the record: which features each source can give; absent, never zero."""

from __future__ import annotations

import pandas as pd
import pytest

from secondlook.features import CATALOGUE, feature_names
from secondlook.features.stage import restrict_to_view
from secondlook.features.views import (
    VIEWS,
    ViewError,
    check_cohort,
    cohort_records,
    view_features,
    view_needs,
)
from secondlook.schema import EVENT_TYPES


def test_every_feature_says_what_it_needs() -> None:
    vocabulary = set(EVENT_TYPES) | {"household", "adults", "deprivation", "disability"}
    for s in CATALOGUE:
        assert s.needs, s.name
        assert set(s.needs) <= vocabulary, s.name


def test_views_nest_and_the_multi_agency_view_has_everything() -> None:
    assert view_features("multi_agency") == feature_names()
    cin, csc = set(view_features("cin_census")), set(view_features("csc_records"))
    assert cin < csc < set(feature_names())
    # what the census cannot hold: other agencies, siblings, adults, the s47 outcome
    for name in (
        "police_domestic_12m",
        "ed_attendances_12m",
        "school_concerns_12m",
        "sibling_referrals_36m",
        "adults_present",
        "prior_s47_substantiated",
        "deprivation_decile",
        "assessment_found_domestic_abuse",
    ):
        assert name not in cin, name
    for name in ("referrals_12m", "prior_s47", "cp_plan_active", "age_months", "source_police"):
        assert name in cin, name
    # the local authority's own records have the family link and the assessed adults
    assert "sibling_referrals_36m" in csc and "assessment_found_domestic_abuse" in csc
    assert "police_domestic_12m" not in csc
    assert view_needs("cin_census") <= VIEWS["cin_census"]


def test_a_view_drops_the_features_it_cannot_compute() -> None:
    frame = pd.DataFrame({name: [0, 1] for name in feature_names()})
    frame["decision_id"] = ["a", "b"]
    frame["label_cp_plan_12m"] = [True, False]
    out = restrict_to_view(frame, "cin_census")
    assert out.attrs["view"] == "cin_census"
    assert "police_domestic_12m" not in out.columns  # absent, not filled with 0
    assert {"decision_id", "label_cp_plan_12m"} <= set(out.columns)
    assert [c for c in out.columns if c in feature_names()] == view_features("cin_census")


def test_cohort_records_and_the_refusal_names_what_is_missing() -> None:
    tables = {
        "households": pd.DataFrame(
            {"household_id": ["h1"], "deprivation_decile": pd.array([pd.NA], dtype="Int64")}
        ),
        "people": pd.DataFrame(
            {
                "household_id": ["h1"],
                "role": ["child"],
                "disability": pd.array([True], dtype="boolean"),
            }
        ),
        "events": pd.DataFrame({"type": ["referral", "referral_outcome"]}),
    }
    records = cohort_records(tables)
    assert records == {"referral", "referral_outcome", "disability"}
    assert cohort_records(tables, declared=["referral"]) == {"referral"}
    check_cohort(["referral", "disability"], "cin_census", records)
    with pytest.raises(ViewError, match="event kinds police_domestic_incident and links household"):
        check_cohort(["referral", "police_domestic_incident", "household"], "multi_agency", records)
    with pytest.raises(ViewError, match="unknown view"):
        view_features("police_only")
