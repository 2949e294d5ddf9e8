"""Hand-built worlds with known answers for :func:`secondlook.features.build_features`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.features import build_features
from secondlook.features.build import months_before
from secondlook.features.catalogue import NO_REFERRAL_DAYS
from secondlook.schema import validate_tables
from tests.features.feature_worlds import World, sibling_history_world


def _build(world: World) -> pd.DataFrame:
    t = world.tables()
    validate_tables(t)
    out = build_features(t["households"], t["people"], t["events"], t["decisions"])
    return out.set_index("decision_id")


def _family() -> World:
    w = World()
    w.household("h1", decile=2)
    w.person("mum", "h1", "mother", birth="1990-01-01")
    w.person("dad", "h1", "father", birth="1988-01-01", sex="M")
    w.person("amy", "h1", "child", birth="2015-03-01", disability=True)
    w.person("ben", "h1", "child", birth="2020-02-01", sex="M")
    return w


def test_only_events_strictly_before_the_decision_count() -> None:
    w = _family()
    w.referral("amy", "2019-05-10", "neglect", outcome="nfa", decision=False)
    w.referral("amy", "2020-06-15", "physical_injury", outcome="s47", decision=False)
    cur = w.referral("amy", "2021-03-31", "domestic_abuse", source="school", outcome="nfa")
    # same day as the decision: another referral and an ED attendance -- not yet visible
    w.event("amy", "2021-03-31", "referral", "sexual")
    w.event("amy", "2021-03-31", "ed_attendance", "fracture")
    w.event("amy", "2021-03-30", "ed_attendance", "injury_unexplained")
    f = _build(w).loc[f"d-{cur}"]
    assert f["referrals_36m"] == 2
    assert f["referrals_12m"] == 1
    assert f["referrals_3m"] == 0
    assert f["referrals_36m_physical_injury"] == 1
    assert f["referrals_36m_sexual"] == 0
    assert f["prior_nfa"] == 1  # the earlier nfa, never the current referral's own nfa
    assert f["prior_s47"] == 1
    assert f["ed_attendances_12m"] == 1
    assert f["unexplained_injuries_12m"] == 1
    assert (
        f["days_since_last_referral"]
        == (pd.Timestamp("2021-03-31") - pd.Timestamp("2020-06-15")).days
    )
    assert f["source_school"] == 1
    assert f["concern_domestic_abuse"] == 1
    assert f[[c for c in f.index if c.startswith("source_")]].sum() == 1
    assert f[[c for c in f.index if c.startswith("concern_")]].sum() == 1
    assert f["age_months"] == 72
    assert f["disability"] == 1
    assert f["deprivation_decile"] == 2


def test_window_edges_use_calendar_months_clamped_at_month_end() -> None:
    w = _family()
    w.referral("amy", "2021-02-28", outcome=None, decision=False)  # = 2021-05-31 minus 3 months
    w.referral("amy", "2021-02-27", outcome=None, decision=False)  # one day earlier
    w.referral("amy", "2018-05-31", outcome=None, decision=False)  # exactly 36 months
    w.referral("amy", "2018-05-30", outcome=None, decision=False)
    cur = w.referral("amy", "2021-05-31")
    f = _build(w).loc[f"d-{cur}"]
    assert f["referrals_3m"] == 1
    assert f["referrals_12m"] == 2
    assert f["referrals_36m"] == 3


def test_months_before_matches_pandas_calendar_arithmetic() -> None:
    days = pd.date_range("2015-01-01", "2017-12-31", freq="D")
    as_int = days.values.astype("datetime64[D]").astype(np.int64)
    for k in (1, 3, 12, 36):
        expected = (days - pd.DateOffset(months=k)).values.astype("datetime64[D]")
        np.testing.assert_array_equal(months_before(as_int, k), expected.astype(np.int64))


def test_no_earlier_referral_gives_the_sentinel() -> None:
    w = _family()
    cur = w.referral("amy", "2021-01-10")
    f = _build(w).loc[f"d-{cur}"]
    assert f["days_since_last_referral"] == NO_REFERRAL_DAYS
    assert f["referrals_36m"] == 0


def test_siblings_plans_and_removals() -> None:
    w = _family()
    w.person("cat", "h1", "child", birth="2012-01-01")
    w.person("gus", "h1", "child", birth="2014-01-01", sex="M")
    for date in ("2019-01-05", "2019-06-05", "2020-02-05"):
        w.referral("gus", date, "parental_drug_misuse", decision=False)
    w.referral("cat", "2020-03-01", "neglect", outcome="s47", decision=False)
    w.event("cat", "2020-04-01", "cp_plan_started", "neglect")
    w.event("amy", "2020-05-01", "cp_plan_started", "physical")
    w.event("amy", "2020-09-01", "cp_plan_ended", "physical")
    w.event("cat", "2020-10-01", "child_removed")
    cur = w.referral("amy", "2020-12-01")
    later = w.referral("amy", "2021-06-01")
    w.event("cat", "2021-01-01", "cp_plan_ended", "neglect")
    f = _build(w)
    now = f.loc[f"d-{cur}"]
    assert now["sibling_referrals_36m"] == 4
    assert now["sibling_referrals_12m"] == 2
    assert now["sibling_referrals_36m_parental_drug_misuse"] == 3
    assert now["referrals_36m"] == 0  # the siblings' referrals are not this child's
    assert now["sibling_prior_s47"] == 1
    assert now["prior_s47"] == 0
    assert now["sibling_on_plan"] == 1
    assert now["cp_plan_ever"] == 1
    assert now["cp_plan_active"] == 0
    assert now["sibling_ever_removed"] == 1
    assert f.loc[f"d-{later}", "sibling_on_plan"] == 0
    assert f.loc[f"d-{later}", "referrals_36m"] == 1


def test_siblings_history_mirrors_the_childs_own() -> None:
    w, ids = sibling_history_world()
    f = _build(w)
    amy, ben, amy_next = (f.loc[ids[k]] for k in ("amy", "ben", "amy_next"))
    # amy on 2020-12-01: ben's referral, outcome, substantiated s47 and plan that day are unseen
    assert amy["sibling_referrals_3m"] == 1  # cat on 2020-09-20
    assert amy["sibling_referrals_12m"] == 2
    assert amy["sibling_referrals_36m"] == 3
    assert amy["referrals_3m"] == 1  # her own, on 2020-11-20
    assert amy["days_since_last_referral"] == 11
    # her own referral is more recent than any sibling's and is skipped
    assert amy["days_since_sibling_referral"] == 72  # 2020-09-20 -> 2020-12-01
    assert amy["sibling_prior_nfa"] == 1  # gus's; amy's own nfa are hers
    assert amy["prior_nfa"] == 1  # 2020-11-20; never the current referral's own nfa
    assert amy["sibling_prior_assessment"] == 1
    assert amy["prior_assessment"] == 0
    assert amy["sibling_prior_s47"] == 1  # cat's, not ben's of the same day
    assert amy["sibling_prior_s47_substantiated"] == 1  # cat's; gus's was not substantiated
    assert amy["prior_s47_substantiated"] == 1  # her own
    assert amy["sibling_cp_plan_ever"] == 1
    assert amy["cp_plan_ever"] == 0
    assert amy["sibling_on_plan"] == 1
    # ben on 2020-12-01: amy's referral that day is unseen, her earlier one is a sibling's
    assert ben["sibling_referrals_3m"] == 2  # amy 2020-11-20, cat 2020-09-20
    assert ben["days_since_sibling_referral"] == 11
    assert ben["days_since_last_referral"] == NO_REFERRAL_DAYS
    assert ben["sibling_prior_nfa"] == 2  # gus's and amy's 2020-11-20, not amy's of the day
    assert ben["sibling_prior_assessment"] == 1
    assert ben["sibling_prior_s47"] == 1
    assert ben["sibling_prior_s47_substantiated"] == 2  # cat and amy
    assert ben["prior_s47_substantiated"] == 0  # his own of the day is unseen
    assert ben["sibling_cp_plan_ever"] == 1
    assert ben["cp_plan_ever"] == 0
    # a day later everything dated 2020-12-01 has become history
    assert amy_next["sibling_referrals_3m"] == 2  # cat and ben
    assert amy_next["days_since_sibling_referral"] == 1
    assert amy_next["days_since_last_referral"] == 1
    assert amy_next["sibling_prior_nfa"] == 1
    assert amy_next["prior_nfa"] == 2
    assert amy_next["sibling_prior_s47"] == 2
    assert amy_next["sibling_prior_s47_substantiated"] == 2  # cat and ben
    assert amy_next["sibling_cp_plan_ever"] == 1


def test_latest_sibling_referral_with_ties_and_runs_of_own_referrals() -> None:
    w = _family()
    w.person("cat", "h1", "child", birth="2012-01-01")
    w.referral("cat", "2020-01-10", decision=False)
    w.referral("amy", "2020-01-10", decision=False)  # same day as cat's
    w.referral("amy", "2020-02-01", decision=False)
    w.referral("amy", "2020-02-01", decision=False)
    w.referral("amy", "2020-03-01", decision=False)
    cur = w.referral("amy", "2020-04-01")
    ben = w.referral("ben", "2020-04-01")  # ben: his siblings' latest is amy's 03-01
    f = _build(w)
    assert f.loc[f"d-{cur}", "days_since_sibling_referral"] == 82  # 2020-01-10 -> 2020-04-01
    assert f.loc[f"d-{cur}", "days_since_last_referral"] == 31
    assert f.loc[f"d-{ben}", "days_since_sibling_referral"] == 31


def test_no_sibling_referral_gives_the_sentinel() -> None:
    w = _family()
    w.referral("amy", "2019-01-10", decision=False)  # her own: not a sibling's
    cur = w.referral("amy", "2021-01-10")
    w.referral("ben", "2021-01-10", decision=False)  # a sibling's, but on the decision date
    f = _build(w).loc[f"d-{cur}"]
    assert f["days_since_sibling_referral"] == NO_REFERRAL_DAYS
    assert f["sibling_referrals_3m"] == 0
    assert f["days_since_last_referral"] < NO_REFERRAL_DAYS


def test_adults_present_and_assessed() -> None:
    w = _family()
    w.person("pat", "h1", "partner", birth="1985-01-01", sex="M")
    w.person("oli", "h1", "other_adult", birth="1970-01-01", sex="M")
    w.event("dad", "2019-01-01", "adult_left")
    w.event("pat", "2020-09-01", "adult_joined")
    w.event("oli", "2018-01-01", "adult_joined")
    w.event("oli", "2018-05-01", "adult_left")
    w.event("mum", "2020-10-01", "police_domestic_incident", related="dad")
    first = w.referral("amy", "2020-11-01")
    w.event("pat", "2020-12-01", "adult_assessed", related="amy")
    w.event("dad", "2020-12-01", "adult_assessed", related="amy")
    second = w.referral("amy", "2021-01-05")
    f = _build(w)
    a, b = f.loc[f"d-{first}"], f.loc[f"d-{second}"]
    assert a["adults_present"] == 2  # mum and pat; dad left, oli came and went
    assert a["adults_joined_12m"] == 1
    assert a["unassessed_adult_present"] == 1  # pat, never assessed
    assert a["unassessed_adult_named_in_da"] == 1  # dad, named by police, never assessed
    assert a["police_domestic_12m"] == 1
    assert b["unassessed_adult_present"] == 0
    assert b["unassessed_adult_named_in_da"] == 0


def test_mother_alone_is_not_an_unassessed_adult() -> None:
    w = World()
    w.household("h2")
    w.person("m2", "h2", "mother", birth="1995-01-01")
    w.person("k2", "h2", "child", birth="2018-01-01")
    cur = w.referral("k2", "2020-01-01")
    f = _build(w).loc[f"d-{cur}"]
    assert f["adults_present"] == 1
    assert f["unassessed_adult_present"] == 0


def test_bruising_counts_only_while_not_yet_mobile() -> None:
    w = _family()
    w.person("dan", "h1", "child", birth="2021-01-01", sex="M")
    w.event("dan", "2021-08-10", "ed_attendance", "bruising")  # seven months old: mobile
    early = w.referral("dan", "2021-09-01")
    w.event("ben", "2020-04-20", "health_contact", "bruising_observed")  # two months old
    ben = w.referral("ben", "2020-05-01")
    f = _build(w)
    assert f.loc[f"d-{early}", "bruising_non_mobile"] == 0
    assert f.loc[f"d-{ben}", "bruising_non_mobile"] == 1
    assert f.loc[f"d-{ben}", "not_yet_mobile"] == 1
    assert f.loc[f"d-{early}", "not_yet_mobile"] == 0


def test_pregnancy_features() -> None:
    w = _family()
    w.person("eve", "h1", "child", birth="2012-01-01")
    w.event("eve", "2013-05-01", "child_removed")
    w.person("fin", "h1", "child", birth="2021-09-01", sex="M")
    w.event("mum", "2021-02-14", "pregnancy_notified", related="fin")
    cur = w.referral("fin", "2021-08-03", "parental_mental_health", source="health_visitor")
    f = _build(w).loc[f"d-{cur}"]
    assert f["unborn"] == 1
    assert f["age_months"] == 0
    assert f["unborn_earlier_removal"] == 1
    assert f["months_notification_to_prebirth_referral"] == 6
    assert f["months_prebirth_referral_before_due"] == 1
    assert f["not_yet_mobile"] == 0


def test_scoring_mode_matches_decisions_mode(small_world: dict[str, pd.DataFrame]) -> None:
    w = small_world
    with_decisions = build_features(w["households"], w["people"], w["events"], w["decisions"])
    scored = build_features(
        w["households"], w["people"], w["events"], start="2016-01-01", end="2024-12-31"
    )
    refs = w["events"][
        (w["events"]["type"] == "referral") & (w["events"]["date"] >= pd.Timestamp("2016-01-01"))
    ]
    assert len(scored) == len(refs)
    assert (scored["decision_id"] == scored["referral_event_id"]).all()
    assert scored["decision_date"].is_monotonic_increasing
    a = with_decisions.drop(columns="decision_id").set_index("referral_event_id")
    b = scored.drop(columns="decision_id").set_index("referral_event_id").loc[a.index]
    pd.testing.assert_frame_equal(a, b)


def test_scoring_mode_respects_the_date_range(small_world: dict[str, pd.DataFrame]) -> None:
    w = small_world
    out = build_features(
        w["households"], w["people"], w["events"], start="2020-01-01", end="2020-12-31"
    )
    assert len(out) > 0
    assert out["decision_date"].min() >= pd.Timestamp("2020-01-01")
    assert out["decision_date"].max() <= pd.Timestamp("2020-12-31")


def test_output_is_numeric_and_ordered_like_decisions(
    small_world: dict[str, pd.DataFrame],
) -> None:
    w = small_world
    dec = w["decisions"].sample(frac=1.0, random_state=3).reset_index(drop=True)
    out = build_features(w["households"], w["people"], w["events"], dec)
    assert out["decision_id"].tolist() == dec["decision_id"].tolist()
    features = out.columns[5:]
    assert all(out[c].dtype == np.int64 for c in features)
    assert str(out["decision_date"].dtype) == "datetime64[s]"


def test_unknown_referral_is_refused(small_world: dict[str, pd.DataFrame]) -> None:
    w = small_world
    dec = w["decisions"].head(3).copy()
    dec.loc[0, "referral_event_id"] = "no-such-event"
    with pytest.raises(ValueError, match="no-such-event"):
        build_features(w["households"], w["people"], w["events"], dec)


def test_decision_on_a_non_referral_event_is_refused(
    small_world: dict[str, pd.DataFrame],
) -> None:
    w = small_world
    other = w["events"][w["events"]["type"] == "ed_attendance"].iloc[0]
    dec = w["decisions"].head(1).copy()
    dec["referral_event_id"] = other["event_id"]
    with pytest.raises(ValueError, match="must name a `referral` event"):
        build_features(w["households"], w["people"], w["events"], dec)
