"""Leakage guarantees: later events never change a decision's features, the current outcome
is never visible, and no label, group or truth column is ever a model input."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secondlook.features import CATALOGUE, build_features, model_inputs
from secondlook.features.stage import GROUP_COLUMNS, assemble
from secondlook.params import FeaturesParams, from_mapping
from secondlook.schema import (
    ADULT_EVENTS,
    EVENT_DETAILS,
    LABELS,
    SOURCES,
    TRUTH,
    validate_tables,
)

SPLIT = {
    "split": {
        "train": {"start": "2016-01-01", "end": "2019-12-31"},
        "valid": {"start": "2020-01-01", "end": "2021-06-30"},
        "test": {"start": "2021-07-01", "end": "2023-12-31"},
    },
    "include_deprivation": False,
}


def _features(w: dict[str, pd.DataFrame], events: pd.DataFrame) -> pd.DataFrame:
    return build_features(w["households"], w["people"], events, w["decisions"]).set_index(
        "decision_id"
    )


@st.composite
def later_events(draw: st.DrawFn, world: dict[str, pd.DataFrame]) -> tuple[str, pd.DataFrame]:
    """A decision, and events dated on or after its date (its own outcome first)."""
    dec = world["decisions"]
    row = dec.iloc[draw(st.integers(0, len(dec) - 1))]
    people = world["people"]
    in_hh = people[people["household_id"] == row["household_id"]]
    anyone = people.sample(1, random_state=draw(st.integers(0, 10_000))).iloc[0]
    n = draw(st.integers(1, 12))
    rows = [
        {
            "event_id": "new-outcome",
            "household_id": row["household_id"],
            "person_id": row["person_id"],
            "date": row["decision_date"] + pd.Timedelta(days=draw(st.integers(0, 3))),
            "type": "referral_outcome",
            "source": "other",
            "detail": draw(st.sampled_from(["nfa", "assessment", "s47"])),
            "related_person_id": None,
        }
    ]
    for i in range(n):
        etype = draw(st.sampled_from(list(EVENT_DETAILS)))
        adult = etype in ADULT_EVENTS
        pool = in_hh[(in_hh["role"] != "child") == adult]
        if pool.empty:
            continue
        subject = pool.iloc[draw(st.integers(0, len(pool) - 1))]
        allowed = EVENT_DETAILS[etype]
        detail = None if allowed is None else draw(st.sampled_from(list(allowed)))
        related = None
        if etype in ("police_domestic_incident", "adult_assessed", "pregnancy_notified"):
            related = draw(st.sampled_from([None, anyone["person_id"], *in_hh["person_id"]]))
        rows.append(
            {
                "event_id": f"new-{i}",
                "household_id": row["household_id"],
                "person_id": subject["person_id"],
                "date": row["decision_date"] + pd.Timedelta(days=draw(st.integers(0, 2000))),
                "type": etype,
                "source": draw(st.sampled_from(list(SOURCES))),
                "detail": detail,
                "related_person_id": related,
            }
        )
    new = pd.DataFrame(rows)
    new["date"] = new["date"].astype("datetime64[s]")
    for col in ("detail", "related_person_id"):
        new[col] = new[col].astype("str")
    return str(row["decision_id"]), new


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_events_on_or_after_the_decision_date_never_change_its_features(
    small_world: dict[str, pd.DataFrame], data: st.DataObject
) -> None:
    decision_id, new = data.draw(later_events(small_world))
    before = _features(small_world, small_world["events"])
    events = pd.concat([small_world["events"], new], ignore_index=True)
    after = _features(small_world, events)
    # the chosen decision, and every decision dated no later than the earliest new event
    earliest = new["date"].min()
    unaffected = before.index[before["decision_date"] <= earliest].union([decision_id])
    pd.testing.assert_frame_equal(before.loc[unaffected], after.loc[unaffected])


def test_the_hypothesis_world_really_reacts_to_earlier_events(
    small_world: dict[str, pd.DataFrame],
) -> None:
    # the property above is not vacuous: the same events dated a day *before* do change things
    dec = small_world["decisions"].iloc[len(small_world["decisions"]) // 2]
    events = small_world["events"]
    copy = events[events["person_id"] == dec["person_id"]].head(1).copy()
    copy["event_id"] = "moved"
    copy["type"] = "referral"
    copy["detail"] = "neglect"
    copy["date"] = dec["decision_date"] - pd.Timedelta(days=1)
    moved = pd.concat([events, copy.astype(events.dtypes.to_dict())], ignore_index=True)
    before = _features(small_world, events).loc[dec["decision_id"]]
    after = _features(small_world, moved).loc[dec["decision_id"]]
    assert after["referrals_3m"] == before["referrals_3m"] + 1
    assert after["days_since_last_referral"] == 1


def test_the_current_referrals_outcome_is_never_visible(
    small_world: dict[str, pd.DataFrame],
) -> None:
    w = small_world
    events = w["events"].copy()
    dec = w["decisions"]
    # give every decision an outcome event on its date, then flip every outcome
    own = pd.DataFrame(
        {
            "event_id": "own-" + dec["decision_id"],
            "household_id": dec["household_id"],
            "person_id": dec["person_id"],
            "date": dec["decision_date"],
            "type": "referral_outcome",
            "source": "other",
            "detail": dec["practice_outcome"],
            "related_person_id": pd.Series([None] * len(dec), dtype="str"),
        }
    )
    with_own = pd.concat([events, own], ignore_index=True)
    is_own = with_own["event_id"].str.startswith("own-").to_numpy()
    swap = {"nfa": "s47", "s47": "assessment", "assessment": "nfa"}
    a = build_features(w["households"], w["people"], with_own, dec).set_index("decision_id")
    changed: list[bool] = []
    for day in dec["decision_date"].quantile([0.1, 0.5, 0.9], interpolation="nearest"):
        # flip the outcome (event and practice's decision) of every referral dated day or later:
        # the decisions dated `day` lose nothing but see a different outcome of their own
        flipped = with_own.copy()
        late = is_own & (flipped["date"] >= day).to_numpy()
        flipped.loc[late, "detail"] = flipped.loc[late, "detail"].map(swap)
        dec_flipped = dec.copy()
        late_dec = dec["decision_date"] >= day
        dec_flipped.loc[late_dec, "practice_outcome"] = dec.loc[late_dec, "practice_outcome"].map(
            swap
        )
        b = build_features(w["households"], w["people"], flipped, dec_flipped).set_index(
            "decision_id"
        )
        seen = a.index[a["decision_date"] <= day]
        assert (a.loc[seen, "decision_date"] == day).any()
        pd.testing.assert_frame_equal(a.loc[seen], b.loc[seen])
        changed.append(not a.equals(b))
    # the flips are real: later decisions do see earlier outcomes in their history
    assert any(changed)
    assert "practice_outcome" not in a.columns


def test_no_label_group_or_truth_column_is_a_model_input(
    small_world: dict[str, pd.DataFrame],
) -> None:
    validate_tables(small_world)
    settings_ = from_mapping(FeaturesParams, SPLIT, "features")
    table = assemble(small_world, settings_)["train"]
    # the worst case: someone joins the whole truth table onto the features
    wide = table.merge(small_world["truth"], on="decision_id", how="left")
    for include in (False, True):
        inputs = model_inputs(wide.columns, include_deprivation=include)
        assert inputs, "no inputs at all"
        banned = set(TRUTH.columns) | {f"label_{x}" for x in LABELS} | set(GROUP_COLUMNS)
        banned |= {"decision_id", "person_id", "household_id", "decision_date"}
        banned |= {"referral_event_id", "practice_outcome"}
        assert not banned & set(inputs)
        assert not [c for c in inputs if c.startswith(("label_", "group_", "driver_", "state_"))]
        assert all(np.issubdtype(wide[c].dtype, np.number) for c in inputs)
        assert ("deprivation_decile" in inputs) is include
    assert {f"label_{x}" for x in LABELS} <= set(table.columns)
    assert set(GROUP_COLUMNS) <= set(table.columns)


@given(st.lists(st.text(min_size=1, max_size=30), max_size=20))
def test_model_inputs_accepts_only_catalogue_features(extra: list[str]) -> None:
    names = [s.name for s in CATALOGUE]
    columns = extra + names + [f"label_{x}" for x in LABELS] + ["group_sex"]
    inputs = model_inputs(columns)
    assert set(inputs) <= set(names)
    assert "deprivation_decile" not in inputs
    assert len(inputs) == len(set(inputs)) + (len(inputs) - len(set(inputs)))


def _same_day_flood(w: dict[str, pd.DataFrame], day: pd.Timestamp) -> pd.DataFrame:
    """One event of every type and detail, dated ``day``, for every person of every household.

    Adults get the adult events (naming a household adult or child as related person), children
    the others: the siblings' referrals, outcomes, s47 conclusions, plans and removals included.
    """
    people = w["people"]
    related = people.groupby("household_id")["person_id"].first()
    rows = []
    for person in people.itertuples(index=False):
        adult = person.role != "child"
        for etype, allowed in EVENT_DETAILS.items():
            if (etype in ADULT_EVENTS) != adult:
                continue
            for detail in allowed or (None,):
                rows.append(
                    {
                        "household_id": person.household_id,
                        "person_id": person.person_id,
                        "date": day,
                        "type": etype,
                        "source": "other",
                        "detail": detail,
                        "related_person_id": related[person.household_id] if adult else None,
                    }
                )
    flood = pd.DataFrame(rows)
    flood.insert(0, "event_id", [f"flood-{i}" for i in range(len(flood))])
    flood["date"] = flood["date"].astype("datetime64[s]")
    for col in ("detail", "related_person_id"):
        flood[col] = flood[col].astype("str")
    return flood


def test_every_kind_of_event_on_the_decision_date_is_invisible(
    small_world: dict[str, pd.DataFrame],
) -> None:
    # the deterministic companion of the property test: at a few decision dates, every person
    # of every household gets every kind of event that same day (a sibling's referral, outcome,
    # substantiated s47, plan or removal included); no decision dated that day or earlier moves.
    # The days are those of the decisions with the most features at zero, where a leak shows.
    w = small_world
    before = _features(w, w["events"])
    zeros = (before[[s.name for s in CATALOGUE]] == 0).sum(axis=1)
    days = before.loc[zeros.sort_values(ascending=False, kind="stable").index, "decision_date"]
    for day in days.drop_duplicates().head(4):
        events = pd.concat([w["events"], _same_day_flood(w, day)], ignore_index=True)
        after = _features(w, events)
        seen = before.index[before["decision_date"] <= day]
        assert (before.loc[seen, "decision_date"] == day).any()
        pd.testing.assert_frame_equal(before.loc[seen], after.loc[seen])
        # and the flood is visible the day after: every decision later than `day` changes
        later = before.index[before["decision_date"] > day]
        assert not before.loc[later].equals(after.loc[later])
