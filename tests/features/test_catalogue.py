"""The catalogue is the single source: the builder's columns, reasons and catalogue.md."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from secondlook.features import (
    CATALOGUE,
    FAMILIES,
    build_features,
    catalogue_version,
    feature_names,
    model_inputs,
    reason_text,
    render_markdown,
    spec,
)
from secondlook.features import catalogue as catalogue_module
from secondlook.schema import CONCERNS, FACTORS, SOURCES

REQUIRED = [
    "age_months",
    "unborn",
    "not_yet_mobile",
    "disability",
    "referrals_3m",
    "referrals_12m",
    "referrals_36m",
    "days_since_last_referral",
    "prior_nfa",
    "prior_s47",
    "prior_s47_substantiated",
    "cp_plan_ever",
    "cp_plan_active",
    "sibling_referrals_3m",
    "sibling_referrals_12m",
    "sibling_referrals_36m",
    "days_since_sibling_referral",
    "sibling_prior_nfa",
    "sibling_prior_assessment",
    "sibling_prior_s47",
    "sibling_prior_s47_substantiated",
    "sibling_cp_plan_ever",
    "sibling_ever_removed",
    "sibling_on_plan",
    "police_domestic_12m",
    "police_domestic_36m",
    "adult_contacts_drug_36m",
    "adult_contacts_alcohol_36m",
    "ed_attendances_12m",
    "unexplained_injuries_12m",
    "bruising_non_mobile",
    "missed_appointments_12m",
    "school_concerns_12m",
    "adults_joined_12m",
    "unassessed_adult_present",
    "unassessed_adult_named_in_da",
    "unborn_earlier_removal",
    "months_notification_to_prebirth_referral",
    "deprivation_decile",
    *[f"referrals_36m_{c}" for c in CONCERNS],
    *[f"sibling_referrals_36m_{c}" for c in CONCERNS],
    *[f"source_{s}" for s in SOURCES],
    *[f"concern_{c}" for c in CONCERNS],
]


def test_required_feature_names_exist() -> None:
    missing = set(REQUIRED) - set(feature_names())
    assert not missing


def test_builder_columns_are_exactly_the_catalogue(small_world: dict[str, pd.DataFrame]) -> None:
    w = small_world
    out = build_features(w["households"], w["people"], w["events"], w["decisions"].head(20))
    assert list(out.columns[5:]) == feature_names()


def test_every_entry_is_complete() -> None:
    for s in CATALOGUE:
        assert s.family in FAMILIES
        assert s.description.endswith(".")
        assert s.evidence_of is None or s.evidence_of in FACTORS
        if s.unit != "yes/no":
            assert "{value}" in s.reason, s.name
        else:
            assert s.reason_zero, s.name
    assert [s.name for s in CATALOGUE if s.group_attribute] == ["deprivation_decile"]
    # the hidden factors that leave a recorded trace have at least one feature as evidence
    evidenced = {s.evidence_of for s in CATALOGUE}
    for factor in ("drug", "alcohol", "mental_health", "domestic_abuse"):
        assert factor in evidenced
    assert "unassessed_violent_adult" in evidenced and "earlier_removal" in evidenced


def test_reason_sentences() -> None:
    assert reason_text("sibling_referrals_36m", 7) == (
        "7 referrals about siblings in the last 36 months"
    )
    assert reason_text("sibling_referrals_36m", 0) == (
        "no referrals about siblings in the last 36 months"
    )
    assert reason_text("bruising_non_mobile", 1) == (
        "bruising was recorded while the baby was not yet mobile"
    )
    assert reason_text("days_since_last_referral", 9999) == (
        "no earlier referral about this child is recorded"
    )
    assert reason_text("days_since_last_referral", 30) == (
        "the previous referral about this child was 30 days earlier"
    )
    assert reason_text("sibling_referrals_3m", 2) == (
        "2 referrals about siblings in the last 3 months"
    )
    assert reason_text("days_since_sibling_referral", 9999) == (
        "no earlier referral about a sibling is recorded"
    )
    assert reason_text("days_since_sibling_referral", 72) == (
        "the previous referral about a sibling was 72 days earlier"
    )
    assert reason_text("sibling_cp_plan_ever", 1) == (
        "a sibling has been on a child protection plan before"
    )
    assert reason_text("age_months", 2.5) == "the child was 2.5 months old"
    with pytest.raises(KeyError, match="not in the feature catalogue"):
        reason_text("no_such_feature", 1)
    assert spec("unborn").family == "child"


def test_every_history_feature_has_a_sibling_counterpart_alike() -> None:
    # "the same counts over the other children of the household": each feature of this
    # child's history (bar the plan active now, whose counterpart is sibling_on_plan) has a
    # sibling twin with the same unit, sentinel and evidence
    names = set(feature_names())
    for s in CATALOGUE:
        if s.family != "history" or s.name == "cp_plan_active":
            continue
        twin_name = {"days_since_last_referral": "days_since_sibling_referral"}.get(
            s.name, f"sibling_{s.name}"
        )
        assert twin_name in names, s.name
        twin = spec(twin_name)
        assert twin.family == "siblings"
        assert (twin.unit, twin.evidence_of, twin.sentinel, twin.group_attribute) == (
            s.unit,
            s.evidence_of,
            s.sentinel,
            s.group_attribute,
        ), s.name
        assert "sibling" in twin.reason or "sibling" in (twin.reason_zero or ""), twin_name


def test_version_is_a_content_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    v = catalogue_version()
    assert len(v) == 12 and v == catalogue_version()
    changed = (dataclasses.replace(CATALOGUE[0], description="changed."),) + CATALOGUE[1:]
    monkeypatch.setattr(catalogue_module, "CATALOGUE", changed)
    assert catalogue_module.catalogue_version() != v


def test_markdown_lists_every_feature() -> None:
    md = render_markdown()
    assert catalogue_version() in md
    for s in CATALOGUE:
        assert f"| `{s.name}` |" in md
    assert md.count("\n## ") == len({s.family for s in CATALOGUE})


def test_model_inputs_default_and_with_deprivation() -> None:
    names = feature_names()
    assert model_inputs(names) == [n for n in names if n != "deprivation_decile"]
    assert model_inputs(names, include_deprivation=True) == names
    assert model_inputs(["decision_id", "label_harm_12m_observed", "group_sex"]) == []
