"""secondlook.labels: the labels a real service can observe, computed from an imported cohort's
own events, equal the synthetic world's proxy labels for the same referrals (the truth the
exporter planted)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from secondlook.ingest.export import lea_code
from secondlook.labels import observed_decisions
from secondlook.schema import PROXY_LABELS


def test_observed_labels_recover_the_worlds_proxies(census_world, census_files) -> None:
    from secondlook.ingest import import_census

    files, links = census_files
    imported = import_census(files, households=links)
    end = dt.date(2025, 12, 31)
    decisions, labels = observed_decisions(
        imported.tables["events"],
        end=end,
        follow_up_months=12,
        decisions_from=dt.date(2017, 1, 1),
        records=imported.manifest["records"],
    )
    # the census records no removals: that label is absent, never False
    assert list(labels.columns) == ["decision_id", "cp_plan_12m", "rereferral_12m"]
    assert "removal_12m" not in labels

    world_dec = census_world["decisions"]
    la = census_world["households"].set_index("household_id")["local_authority"].map(lea_code)
    world_dec = world_dec.assign(
        person_id=world_dec["household_id"].map(la) + "-" + world_dec["person_id"]
    )
    truth = census_world["truth"].set_index("decision_id")
    want = world_dec.assign(
        **{p: truth.loc[world_dec["decision_id"], p].to_numpy() for p in PROXY_LABELS}
    )
    got = decisions.merge(labels, on="decision_id")
    merged = got.merge(
        want,
        left_on=["person_id", "decision_date"],
        right_on=["person_id", "decision_date"],
        suffixes=("", "_world"),
    )
    # every world decision is found among the cohort's, with the same practice outcome
    assert len(merged) == len(want) == len(got)
    assert (merged["practice_outcome"] == merged["practice_outcome_world"]).all()
    for label in ("cp_plan_12m", "rereferral_12m"):
        pd.testing.assert_series_equal(
            merged[label].astype(bool), merged[f"{label}_world"].astype(bool), check_names=False
        )
    assert merged["cp_plan_12m"].sum() > 5 and merged["rereferral_12m"].sum() > 20
