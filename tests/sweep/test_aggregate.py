"""Aggregation: Monte Carlo SE by hand, per-scenario summaries, ranges, findings in every world."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from secondlook.sweep.aggregate import findings, interval_half_width, mcse, ranges, summarise


def test_mcse_matches_a_hand_computation() -> None:
    values = [0.70, 0.74, 0.78, 0.72]
    # mean 0.735; squared deviations 0.001225 + 0.000025 + 0.002025 + 0.000225 = 0.0035
    sd = math.sqrt(0.0035 / 3)
    assert mcse(values) == pytest.approx(sd / 2, abs=1e-15)
    assert mcse([0.5]) != mcse([0.5])  # NaN with one world
    assert mcse([0.1, np.nan, 0.3]) == pytest.approx(math.sqrt(0.02) / math.sqrt(2), abs=1e-15)


def test_interval_uses_students_t_for_few_worlds() -> None:
    # t(0.975, 2) = 4.302652729749464 and t(0.975, 19) = 2.093024054408263 (printed tables)
    assert interval_half_width(0.1, 3) == pytest.approx(0.4302652729749464, abs=1e-12)
    assert interval_half_width(1.0, 20) == pytest.approx(2.093024054408263, abs=1e-12)
    assert interval_half_width(1.0, 100_000) == pytest.approx(1.959977, abs=1e-4)
    assert interval_half_width(0.05, 3, level=0.9) == pytest.approx(0.05 * 2.919986, abs=1e-6)
    assert math.isnan(interval_half_width(0.1, 1))
    assert math.isnan(interval_half_width(math.nan, 5))


def _worlds() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "design": "d",
            "scenario": ["low", "low", "low", "high", "high", "high"],
            "seed": [1, 2, 3, 1, 2, 3],
            "candidate": ["ebm"] * 6,
            "lead_over_practice.candidate": [0.30, 0.35, 0.40, 0.10, -0.05, 0.20],
            "price_of_interpretability": [0.01, 0.02, 0.03, 0.02, 0.02, 0.02],
            "outside_band.ethnicity": [1.0, 1.0, np.nan, 1.0, 1.0, 1.0],
        }
    )


def test_summarise_per_scenario() -> None:
    table = summarise(_worlds()).set_index(["scenario", "estimand"])
    low = table.loc[("low", "lead_over_practice.candidate")]
    assert low["n"] == 3
    assert low["mean"] == pytest.approx(0.35, abs=1e-12)
    assert low["sd"] == pytest.approx(0.05, abs=1e-12)
    assert low["mcse"] == pytest.approx(0.05 / math.sqrt(3), abs=1e-12)
    assert (low["min"], low["max"]) == pytest.approx((0.30, 0.40))
    assert table.loc[("low", "outside_band.ethnicity"), "n"] == 2  # NaN left out
    assert "seed" not in table.index.get_level_values("estimand")
    assert list(dict.fromkeys(table.index.get_level_values("scenario"))) == ["low", "high"]


def test_ranges_across_scenarios() -> None:
    r = ranges(summarise(_worlds())).set_index("estimand")
    row = r.loc["lead_over_practice.candidate"]
    assert row["low"] == pytest.approx(0.25 / 3)
    assert row["low_scenario"] == "high"
    assert row["high"] == pytest.approx(0.35)
    assert row["high_scenario"] == "low"


def test_findings_say_where_they_fail() -> None:
    out = findings(_worlds())
    beats = out["candidate_beats_practice"]
    assert beats["worlds"] == 6 and beats["holds"] == 5
    assert beats["holds_in_every_world"] is False
    assert beats["fails_in"] == ["high/2"]
    assert out["black_box_ranks_better"]["holds_in_every_world"] is True
    band = out["disparity_outside_band.ethnicity"]
    assert band["worlds"] == 5 and band["holds_in_every_world"] is True  # NaN: not measurable
    assert out["proxy_costs_accuracy.cp_plan_12m"]["holds_in_every_world"] is None  # absent


def test_external_calibration_against_the_published_band() -> None:
    from secondlook.sweep.aggregate import external_calibration

    worlds = pd.DataFrame(
        {
            "scenario": ["low", "low", "high", "high"],
            "seed": [1, 2, 1, 2],
            "proxy_auroc.logreg.cp_plan_12m": [0.70, 0.72, 0.80, 0.84],
            "proxy_recall_at_capacity.logreg.cp_plan_12m": [0.3, 0.4, 0.5, 0.5],
        }
    )
    out = external_calibration(summarise(worlds))
    auroc = out["proxy_auroc.logreg.cp_plan_12m"]
    assert auroc["reference"] == [0.76, 0.87]
    assert auroc["scenarios"]["low"] == {"mean": 0.71, "within": False}
    assert auroc["scenarios"]["high"] == {"mean": 0.82, "within": True}
    recall = out["proxy_recall_at_capacity.logreg.cp_plan_12m"]
    assert recall["scenarios"]["low"]["within"] is None  # a reference line, not a tolerance
    assert "proxy_auroc.logreg.removal_12m" not in out
