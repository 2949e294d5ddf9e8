"""The simulated world: contract, truth, potential outcomes, determinism and planted biases."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from secondlook.params import SynthParams
from secondlook.schema import FACTORS, LABELS, SCHEMAS, TABLES, validate_tables
from secondlook.synth import build_world, simulate
from secondlook.synth.calibration import summary
from secondlook.synth.stage import build_cohort, write_tables_atomically
from secondlook.synth.tables import to_tables
from tests.conftest import TINY


def test_tables_follow_the_contract(synth_params: SynthParams, tiny_world) -> None:
    _, tables = tiny_world
    validate_tables(tables, (synth_params.history_start, synth_params.end))
    assert set(tables) == set(TABLES)
    assert len(tables["decisions"]) == len(tables["truth"]) > 100


def test_drivers_sum_to_true_logodds_minus_baseline(tiny_world) -> None:
    _, tables = tiny_world
    truth = tables["truth"]
    drivers = truth[[f"driver_{f}" for f in FACTORS]].sum(axis=1)
    assert_allclose(drivers, truth["true_logodds"] - truth["baseline_logodds"], rtol=0, atol=1e-9)
    assert_allclose(truth["true_risk_12m"], 1 / (1 + np.exp(-truth["true_logodds"])), atol=1e-12)


def test_truth_logodds_is_the_simulated_hazard_at_the_decision(tiny_world) -> None:
    world, tables = tiny_world
    # the simulation's own log-odds at each referral, recorded in the monthly loop, keyed by
    # the referred child and the referral's day (one referral per child per month)
    refs = world.referrals
    person = world.children["person"][refs["child"].astype(np.int64)]
    sim = pd.DataFrame(
        {
            "person_id": tables["people"]["person_id"].to_numpy()[person],
            "decision_date": refs["day"].astype(np.int64).astype("datetime64[D]"),
            "eta": refs["eta"],
        }
    )
    assert not sim.duplicated(["person_id", "decision_date"]).any()
    decisions = tables["decisions"].merge(tables["truth"], on="decision_id", validate="1:1")
    simulated = decisions[~decisions["decision_id"].str.contains("-")]
    simulated = simulated.assign(decision_date=simulated["decision_date"].astype("datetime64[s]"))
    sim["decision_date"] = sim["decision_date"].astype("datetime64[s]")
    matched = simulated.merge(sim, on=["person_id", "decision_date"], how="left", validate="1:1")
    assert matched["eta"].notna().all(), "a decision with no simulated referral behind it"
    # each decision's truth is its own referral's log-odds, not merely one that occurs somewhere
    assert_allclose(matched["true_logodds"], matched["eta"], rtol=0, atol=1e-9)


def test_potential_outcomes_use_common_random_numbers(make_synth: Callable) -> None:
    # with escalation effective, observed harm implies harm without action
    params = make_synth(**{"harm.escalation_effect": -3.0})
    tables = to_tables(simulate(params, 11, TINY), params)
    t = tables["truth"]
    assert not (t["harm_12m_observed"] & ~t["harm_12m_no_action"]).any()
    assert t["harm_12m_no_action"].sum() > t["harm_12m_observed"].sum()
    # with no effect of escalation the two potential outcomes coincide exactly
    params0 = make_synth(**{"harm.escalation_effect": 0.0})
    t0 = to_tables(simulate(params0, 11, TINY), params0)["truth"]
    assert (t0["harm_12m_observed"] == t0["harm_12m_no_action"]).all()


def test_warrants_escalation_is_the_threshold_on_true_risk(
    synth_params: SynthParams, tiny_world
) -> None:
    t = tiny_world[1]["truth"]
    expected = t["true_risk_12m"] >= synth_params.escalation_threshold
    assert (t["warrants_escalation"] == expected).all()
    assert 0.02 < t["warrants_escalation"].mean() < 0.5


def test_harm_tracks_true_risk(tiny_world) -> None:
    t = tiny_world[1]["truth"]
    high = t["true_risk_12m"] > t["true_risk_12m"].quantile(0.8)
    assert t.loc[high, "harm_12m_no_action"].mean() > 2 * t.loc[~high, "harm_12m_no_action"].mean()


def _digest(folder: Path) -> dict[str, str]:
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(folder.iterdir())}


def test_same_seed_gives_byte_identical_files(synth_params: SynthParams, tmp_path: Path) -> None:
    digests = []
    for run in ("a", "b"):
        world, tables = build_world(synth_params, n_households=300)
        write_tables_atomically(
            tables, tmp_path / run, {"summary.json": summary(world, tables, synth_params)}
        )
        digests.append(_digest(tmp_path / run))
    assert digests[0] == digests[1]
    assert len(digests[0]) == 6


def test_another_seed_gives_other_files(make_synth: Callable, tmp_path: Path) -> None:
    a = to_tables(simulate(make_synth(), 1, 300), make_synth())
    b = to_tables(simulate(make_synth(), 2, 300), make_synth())
    write_tables_atomically(a, tmp_path / "a")
    write_tables_atomically(b, tmp_path / "b")
    da, db = _digest(tmp_path / "a"), _digest(tmp_path / "b")
    assert all(da[k] != db[k] for k in da)


def test_cohort_has_no_labels(synth_params: SynthParams) -> None:
    cohort = build_cohort(synth_params, n_households=200)
    assert set(cohort) == {"households", "people", "events"}
    assert (cohort["events"]["type"] == "referral").sum() > 0
    # nothing of the truth leaks into a cohort's columns: its tables hold exactly the contract's
    for name, table in cohort.items():
        assert list(table.columns) == list(SCHEMAS[name].columns), name
    truth_only = set(LABELS) | {"true_risk_12m", "true_logodds"}
    assert not truth_only & {c for t in cohort.values() for c in t.columns}


def test_no_partial_output_on_failure(tmp_path: Path) -> None:
    class Boom:
        def to_parquet(self, *args: object, **kwargs: object) -> None:
            raise OSError("disk full")

    good = pd.DataFrame({"a": [1]})
    with pytest.raises(OSError, match="disk full"):
        write_tables_atomically({"good": good, "bad": Boom()}, tmp_path / "out")  # type: ignore[dict-item]
    assert list(tmp_path.iterdir()) == []  # no output folder, no temporary folder beside it


def _background_only(make_synth: Callable, **bias: object) -> SynthParams:
    """A world where referrals come only from the background process (no risk behind them)."""
    signals = {
        f"signals.{k}": 0.0
        for k in (
            "police_domestic",
            "adult_service",
            "harm_seen",
            "school_concern",
            "accidental_bruise_non_mobile",
            "missed_appointment",
        )
    }
    return make_synth(
        **signals,
        **{
            "signals.background_referral": 0.004,
            "referral.prebirth": 0.0,
            "factors.frailty_sd": 0.0,
        },
        **{f"bias.{k}": v for k, v in bias.items()},
    )


def _referral_rates(params: SynthParams, seed: int) -> tuple[pd.Series, pd.Series]:
    tables = to_tables(simulate(params, seed, 3000, keep_panels=False), params, labelled=False)
    people, hh, ev = tables["people"], tables["households"], tables["events"]
    kids = people[people["role"] == "child"].merge(hh, on="household_id")
    n_ref = ev[ev["type"] == "referral"].groupby("person_id").size()
    kids["referrals"] = kids["person_id"].map(n_ref).fillna(0)
    deprived = kids["deprivation_decile"] <= 3
    by_dep = pd.Series(
        {
            "deprived": kids.loc[deprived, "referrals"].mean(),
            "affluent": kids.loc[kids["deprivation_decile"] >= 8, "referrals"].mean(),
        }
    )
    by_eth = kids.groupby("ethnicity")["referrals"].mean()
    return by_dep, by_eth


def test_surveillance_bias_and_its_absence(make_synth: Callable) -> None:
    dispro0 = {e: 0.0 for e in ("White", "Mixed", "Asian", "Black", "Other")}
    on, _ = _referral_rates(
        _background_only(make_synth, surveillance=1.0, disproportionality=dispro0), 5
    )
    off, _ = _referral_rates(
        _background_only(make_synth, surveillance=0.0, disproportionality=dispro0), 5
    )
    assert on["deprived"] / on["affluent"] > 1.5
    assert off["deprived"] / off["affluent"] == pytest.approx(1.0, abs=0.12)


def test_disproportionality_and_its_absence(make_synth: Callable) -> None:
    planted = {"White": 0.0, "Mixed": 0.0, "Asian": 0.0, "Black": 1.0, "Other": 0.0}
    zero = dict.fromkeys(planted, 0.0)
    weights = {"White": 0.5, "Mixed": 0.0, "Asian": 0.0, "Black": 0.5, "Other": 0.0}
    params_on = _background_only(make_synth, surveillance=0.0, disproportionality=planted)
    params_off = _background_only(make_synth, surveillance=0.0, disproportionality=zero)
    import dataclasses

    params_on = dataclasses.replace(
        params_on, household=dataclasses.replace(params_on.household, ethnicity_weights=weights)
    )
    params_off = dataclasses.replace(
        params_off, household=dataclasses.replace(params_off.household, ethnicity_weights=weights)
    )
    _, on = _referral_rates(params_on, 6)
    _, off = _referral_rates(params_off, 6)
    assert on["Black"] / on["White"] > 2.0
    assert off["Black"] / off["White"] == pytest.approx(1.0, abs=0.12)


@pytest.mark.slow
def test_default_world_is_within_every_calibration_tolerance(synth_params: SynthParams) -> None:
    world, tables = build_world(synth_params)
    s = summary(world, tables, synth_params)
    off = {r["key"]: r["generated"] for r in s["calibration"] if not r["within"]}
    assert not off, json.dumps(off)
    assert s["all_within"]


def test_summary_reports_prevalences(synth_params: SynthParams, tiny_world) -> None:
    world, tables = tiny_world
    s = summary(world, tables, synth_params)
    # every label's prevalence, recomputed from the truth table (rounded to 4 places as written)
    truth = tables["truth"]
    assert s["prevalence"] == {x: round(float(truth[x].mean()), 4) for x in LABELS}
    assert 0 < s["prevalence"]["warrants_escalation"] < 1
    # every figure of FACTS.md's calibration table is there, once
    assert [r["key"] for r in s["calibration"]] == [
        "referrals_per_10k", "rereferral_12m", "nfa_share", "not_in_need_share",
        "s47_per_referral", "icpc_per_s47", "plans_per_referral", "on_plan_per_10k",
        "plan_under1_share", "plan_neglect", "plan_emotional", "plan_physical", "plan_sexual",
        "plan_multiple", "source_police", "source_school", "factor_domestic_abuse",
        "factor_mental_health", "factor_drug", "factor_alcohol", "harm_under1_share",
        "harm_with_trio_share",
    ]  # fmt: skip
    for r in s["calibration"]:
        assert r["within"] == (r["tolerance"][0] <= r["generated"] <= r["tolerance"][1])
    assert all(isinstance(r["within"], bool) for r in s["calibration"])
