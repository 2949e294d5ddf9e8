"""The seed-pattern generator: many variants, truth from the world's risk model, marked decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.features import build_features
from secondlook.synth.patterns import PATTERNS, draw_variant, pattern_tables


@pytest.fixture(scope="module")
def tables(synth_params):
    return pattern_tables(6, seed=11, params=synth_params)


def test_every_pattern_has_its_variants_and_marks(tables):
    marks = tables["marks"]
    assert set(marks["pattern"]) == set(PATTERNS)
    assert (marks.groupby("pattern")["variant"].nunique() == 6).all()
    per_variant = marks[marks["marked"]].groupby(["pattern", "variant"]).size()
    assert (per_variant.loc["sarah"] == 2).all()  # the pre-birth referral and the first after birth
    assert (per_variant.loc["john"] == 1).all()  # the bruising referral
    assert set(marks["decision_id"]) == set(tables["decisions"]["decision_id"])


def test_truth_comes_from_the_risk_model(tables):
    t = tables["marks"].merge(tables["truth"], on="decision_id")
    john = t[(t["pattern"] == "john") & t["marked"]]
    assert john["warrants_escalation"].all()  # removal, unassessed violent adult, a baby
    controls = t[t["pattern"].str.startswith("control")]
    assert not controls["warrants_escalation"].any()
    assert (controls["driver_drug"] == 0).all() and (controls["driver_domestic_abuse"] == 0).all()
    sarah = t[(t["pattern"] == "sarah") & t["marked"]]
    assert (sarah["driver_drug"] + sarah["driver_alcohol"] > 0).all()


def test_variants_vary_and_reruns_are_identical(tables, synth_params):
    again = pattern_tables(6, seed=11, params=synth_params)
    for name in tables:
        pd.testing.assert_frame_equal(tables[name], again[name])
    hh = tables["households"]
    assert len(set(hh["local_authority"])) > 1 and len(set(hh["deprivation_decile"])) > 1
    assert tables["decisions"]["decision_date"].nunique() > 20


def test_sarah_variants_show_the_pattern_in_the_features(tables):
    f = build_features(
        tables["households"], tables["people"], tables["events"], tables["decisions"]
    ).merge(tables["marks"], on="decision_id")
    marked = f[(f["pattern"] == "sarah") & f["marked"]]
    assert (marked["sibling_referrals_36m"] >= 4).all()
    assert (marked["sibling_prior_s47"] == 0).all()  # none escalated
    after_birth = marked[marked["unborn"] == 0]
    assert len(after_birth) == 6 and (after_birth["bruising_non_mobile"] == 1).all()
    john = f[(f["pattern"] == "john") & f["marked"]]
    assert (john["sibling_ever_removed"] == 1).all()
    assert (john["unassessed_adult_named_in_da"] == 1).all()


def test_unknown_pattern_is_refused(synth_params):
    with pytest.raises(ValueError, match="unknown pattern"):
        draw_variant("nobody", 0, np.random.default_rng(0), synth_params)


def test_variants_are_checked_against_the_contract(synth_params, monkeypatch):
    # pattern_tables checks the variants' concatenated tables once (not each variant): a
    # variant that breaks the contract is still refused, naming the table, column and value
    from secondlook.errors import VignetteError
    from secondlook.synth import patterns

    real = patterns.vignette_tables
    calls = []

    def broken_third(v, params, *, validate=True):
        assert validate is False  # the check is the concatenation's
        tables = real(v, params, validate=validate)
        calls.append(v.name)
        if len(calls) == 3:
            tables["events"].loc[1, "type"] = "visit"
        return tables

    monkeypatch.setattr(patterns, "vignette_tables", broken_third)
    with pytest.raises(
        VignetteError, match=r"(?s)pattern variants: .*`events`, column `type`.*visit"
    ):
        pattern_tables(2, seed=11, params=synth_params)
    assert len(calls) == 2 * len(PATTERNS)
