"""secondlook.report.groups: groups and labels in words, the label-bias study's table."""

from __future__ import annotations

import math

from secondlook.report.groups import group_label, label_bias_table, label_name


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
