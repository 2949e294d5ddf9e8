"""The report's tables in plain words: labels, groups, the label-bias study, the interval."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from secondlook.report.explain_tables import policy_table, stability_table
from secondlook.report.groups import group_label, label_bias_table, label_name
from secondlook.report.inputs import ReportInputs
from secondlook.report.performance import calibration_section


def test_groups_and_labels_read_as_words() -> None:
    assert group_label("disability", "True") == "disabled"
    assert group_label("disability", "False") == "not disabled"
    assert group_label("sex", "F") == "female"
    assert group_label("deprivation_quintile", 5) == "quintile 5"
    assert group_label("ethnicity", "Black") == "Black"
    assert label_name("cp_plan_12m") == "a child protection plan within 12 months"
    assert "_" not in label_name("warrants_escalation")


def test_label_bias_table_multiplies_out() -> None:
    """Planted: a ratio of 0.8 without bias, the world adds x1.5, the label x1.25 -> 1.5."""
    rec = {
        "attribute": "deprivation_quintile", "group": "5", "metric": "fpr",
        "proxy": "rereferral_12m", "ratio_truth_without_bias": 0.8,
        "from_world": math.log(1.5), "ratio_truth_as_generated": 1.2,
        "from_label": math.log(1.25), "ratio_proxy_as_generated": 1.5,
        "log_ratio_total": math.log(1.5), "remaining": math.log(0.8),
    }  # fmt: skip
    table = label_bias_table([rec], "suppressed")
    assert table is not None
    (row,) = table.rows
    assert row == (
        "deprivation quintile 5",
        "not warranted: flagged (FPR)",
        "a re-referral within 12 months",
        "0.80",
        "× 1.50",
        "1.20",
        "× 1.25",
        "1.50",
    )
    assert not any("_" in c for c in (*table.columns, *row))
    assert label_bias_table([], "suppressed") is None


def test_explanation_tables_have_no_code_names() -> None:
    stab = {"ebm": {"kendall_tau_mean": 0.73, "kendall_tau_min": 0.70, "n_boot": 5,
                    "n_rows": 2000, "top_k": 3, "top_k_always_same": 0.27,
                    "top_k_same_mean": 0.61}}  # fmt: skip
    table = stability_table(stab, ["ebm"])
    assert table is not None
    assert table.rows == (("ebm (explainable boosting)", "61%", "27%", "0.73", "0.70"),)
    assert "5 refits" in table.caption
    policy = policy_table(
        [{"setting": "guidance+practice-blind", "family": "logreg", "n_inputs": 75,
          "auprc_margin": 0.7, "reasons_against_guidance_share": 0.0, "john_recall": 1.0,
          "sarah_recall": 0.817, "sarah-D08_flag": True, "sarah-D08_probability": 0.6}]
    )  # fmt: skip
    assert policy is not None and len(policy.columns) == 9
    assert policy.rows[0][0] == "both" and policy.rows[0][-1] == "yes"
    for t in (table, policy):
        assert not any("_" in c for c in t.columns)


def test_calibration_section_shows_the_interval_in_words(tmp_path: Path) -> None:
    folder = tmp_path / "plots" / "calibration"
    folder.mkdir(parents=True)
    frame = pd.DataFrame(
        {"bin": [0, 1], "mean_predicted": [0.0004, 0.5], "observed_rate": [0.0, 0.45],
         "count": [100, 300], "mean_low": [0.000001, 0.44], "mean_high": [0.0005, 0.56]}
    )  # fmt: skip
    frame.to_csv(folder / "ebm.csv", index=False)
    board = pd.DataFrame(
        [{"family": "ebm", "brier": 0.05, "brier_lo": 0.04, "brier_hi": 0.06, "ece": 0.01,
          "ece_lo": 0.0, "ece_hi": 0.02}]
    )  # fmt: skip
    inputs = ReportInputs.under(tmp_path)
    inputs = ReportInputs(**{**inputs.__dict__, "plots": tmp_path / "plots"})
    section = calibration_section(inputs, board, ["ebm"], "ebm")
    assert section.table is not None
    # weighted by bin size: (100 * 0.000499 + 300 * 0.12) / 400 = 0.0901 -> 9.0 points
    assert section.table.rows[0][-1] == "9.0 percentage points"
    assert "runs from 44% to 56%" in section.interval_text
    assert section.interval_table is not None
    first, last = section.interval_table.rows
    assert first[1:3] == ("under 0.1%", "under 0.1% to 0.1%")  # never "0.0%" for a chance
    assert last == ("300", "50.0%", "44.0% to 56.0%", "45.0%")
    # a calibration without intervals says so and adds no column
    frame.drop(columns=["mean_low", "mean_high"]).to_csv(folder / "ebm.csv", index=False)
    plain = calibration_section(inputs, board, ["ebm"], "ebm")
    assert plain.table is not None and len(plain.table.columns) == 3
    assert plain.interval_table is None
    assert "gives no interval" in plain.interval_text
