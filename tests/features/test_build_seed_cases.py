"""The seed cases show, at the relevant decision, what the serious case reviews describe."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from secondlook.features import build_features, reason_text
from secondlook.params import load_params, load_section
from secondlook.schema import validate_tables

REPO = Path(__file__).resolve().parents[2]
VIGNETTES = REPO / "data" / "vignettes"


def _seed_case(name: str) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    from secondlook.synth.vignettes import load_vignette, vignette_tables

    synth = load_section("synth", load_params(REPO / "params.yaml"))
    tables = vignette_tables(load_vignette(VIGNETTES / f"{name}.yaml"), synth)
    validate_tables(tables, (synth.history_start, synth.end))
    features = build_features(
        tables["households"], tables["people"], tables["events"], tables["decisions"]
    )
    assert features["decision_id"].str.startswith(f"{name}-").all()
    return tables, features.set_index("decision_id")


def _decision(
    tables: dict[str, pd.DataFrame], features: pd.DataFrame, person: str, concern: str
) -> pd.Series:
    events = tables["events"].set_index("event_id")
    rows = features[
        (features["person_id"] == person)
        & (events.loc[features["referral_event_id"], "detail"].to_numpy() == concern)
    ]
    assert len(rows) >= 1, f"no {concern} decision about {person}"
    return rows.iloc[0]


def test_sarah_sibling_history_is_visible_at_her_referral() -> None:
    tables, features = _seed_case("sarah")
    at = _decision(tables, features, "sarah-sarah", "physical_injury")
    # seven referrals about the older brother within 36 months, none escalated
    assert at["sibling_referrals_36m"] == 7
    # sarah.yaml: the brother's physical-injury referrals on days -850, -400, -60 and
    # parental-drug-misuse referrals on days -990, -700, -230
    assert at["sibling_referrals_36m_physical_injury"] == 3
    assert at["sibling_referrals_36m_parental_drug_misuse"] == 3
    assert at["sibling_prior_s47"] == 0
    assert at["referrals_36m"] == 0  # Sarah herself: a first referral, judged afresh
    # and Sarah's own signals: a non-mobile baby with bruising, parental drug misuse on record
    assert at["not_yet_mobile"] == 1
    assert at["bruising_non_mobile"] == 1
    assert at["assessment_found_parental_drug_misuse"] == 1
    assert at["adult_contacts_drug_36m"] == 3  # drug treatment on days -702, -500, -232
    assert reason_text("sibling_referrals_36m", at["sibling_referrals_36m"]) == (
        "7 referrals about siblings in the last 36 months"
    )
    # the brother's referrals are the whole story: every one of them ended below s47
    events = tables["events"]
    brother = events[events["person_id"] == "sarah-brother"]
    outcomes = brother.loc[brother["type"] == "referral_outcome", "detail"]
    assert len(outcomes) == 7 and (outcomes != "s47").all()


def test_john_household_history_is_visible() -> None:
    tables, features = _seed_case("john")
    prebirth = _decision(tables, features, "john-john", "parental_mental_health")
    assert prebirth["unborn"] == 1
    assert prebirth["unborn_earlier_removal"] == 1
    assert prebirth["sibling_ever_removed"] == 1
    # a late pre-birth referral: months after the notification, a month before the due date
    # john.yaml: notified on day -150, the pre-birth referral on day -26 (four months later)
    assert prebirth["months_notification_to_prebirth_referral"] == 4
    assert prebirth["months_prebirth_referral_before_due"] == 1

    bruising = _decision(tables, features, "john-john", "physical_injury")
    assert bruising["sibling_ever_removed"] == 1
    assert bruising["not_yet_mobile"] == 1
    assert bruising["bruising_non_mobile"] == 1
    assert bruising["unassessed_adult_named_in_da"] == 1  # the father, never assessed
    assert bruising["unassessed_adult_present"] == 1
    assert bruising["police_domestic_12m"] == 1  # the incident of day 60; the next is day 150


@pytest.mark.parametrize("name", ["sarah", "john"])
def test_seed_cases_agree_with_the_duckdb_oracle(oracle: ModuleType, name: str) -> None:
    tables, features = _seed_case(name)
    duck = oracle.duckdb_features(
        tables["households"], tables["people"], tables["events"], tables["decisions"]
    ).set_index("decision_id")
    pd.testing.assert_frame_equal(features, duck, check_dtype=False)
