"""Estimands with a planted truth: rank metrics on margins, practice's workload, disparities."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.evaluate.metrics import Scores
from secondlook.sweep.estimands import (
    disparity_estimands,
    flag_rate_ratios,
    pattern_estimands,
    practice_estimands,
    rank_metrics,
)


def _test_split(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 4 == 1  # a quarter warranted, in both groups
    return pd.DataFrame(
        {
            "label_warrants_escalation": y,
            "label_cp_plan_12m": rng.random(n) < 0.2,
            "practice_outcome": np.where(np.arange(n) % 2 == 0, "s47", "nfa"),
            "group_colour": np.where(np.arange(n) < n // 2, "blue", "green"),
        }
    )


def test_rank_metrics_on_planted_margins() -> None:
    test = _test_split()
    y = test["label_warrants_escalation"].to_numpy()
    out = rank_metrics({"perfect": y * 2.0 - 1, "reversed": 1 - y * 2.0}, test)
    assert out["auroc.perfect.warrants_escalation"] == 1.0
    assert out["auprc.perfect.warrants_escalation"] == 1.0
    assert out["auroc.reversed.warrants_escalation"] == 0.0
    assert "auroc.perfect.cp_plan_12m" in out
    assert "auroc.perfect.removal_12m" not in out  # absent column, absent estimand


def test_practice_workload_comparison() -> None:
    test = _test_split()
    y = test["label_warrants_escalation"].to_numpy()
    # practice escalates the even rows and the warranted ones are odd: it catches none
    out = practice_estimands({"perfect": y.astype(float)}, test, "warrants_escalation", seed=1)
    assert out["practice_recall"] == 0.0
    # at practice's workload (200) the perfect score catches all 100: a lead of 1
    assert out["lead_over_practice.perfect"] == 1.0


def test_disparity_on_planted_flags() -> None:
    test = _test_split(n=2000)
    blue = (test["group_colour"] == "blue").to_numpy()
    rng = np.random.default_rng(3)
    # blue (the reference, same size: first in sorted order) flagged at 0.10, green at 0.25
    flag = np.where(blue, rng.random(len(test)) < 0.10, rng.random(len(test)) < 0.25)
    scores = Scores(flag.astype(float) * 0.5, flag)
    out = disparity_estimands(scores, test, "warrants_escalation", ["colour"], 10, seed=0)
    expected = flag[~blue].mean() / flag[blue].mean()
    assert out["max_disparity.colour"] == pytest.approx(max(expected, 1 / expected), rel=1e-9)
    assert out["outside_band.colour"] == 1.0
    same = Scores(np.full(len(test), 0.5), np.arange(len(test)) % 5 == 0)
    even = disparity_estimands(same, test, "warrants_escalation", ["colour"], 10, seed=0)
    assert even["max_disparity.colour"] == pytest.approx(1.0)
    assert even["outside_band.colour"] == 0.0


@pytest.mark.parametrize("seed", range(6))
def test_flag_rate_ratios_are_the_fairness_tables(seed: int) -> None:
    # the sweep's light path must give group_table's flag-rate ratios and suppression exactly:
    # groups of very different sizes, one small enough to be suppressed (with the complementary
    # suppression of the next smallest), a missing group, and a reference whose flag rate may be 0
    from secondlook.evaluate.fairness import group_table

    rng = np.random.default_rng(seed)
    n = 3000
    groups = rng.choice(["a", "b", "c", "d", None], n, p=[0.6, 0.25, 0.1, 0.004, 0.046])
    y = (rng.random(n) < 0.2).astype(np.int64)
    rate = {"a": 0.0 if seed == 5 else 0.1, "b": 0.15, "c": 0.3, "d": 0.5, None: 0.2}
    flag = rng.random(n) < np.array([rate[g] for g in groups])
    table = group_table(y, {"m": Scores(flag * 0.5, flag)}, groups, n_boot=0, seed=0, min_cell=10)
    keep = (
        (table["metric"] == "flag_rate")
        & table["ratio"].notna()
        & (table["group"] != table["reference"])
    )
    expected = dict(zip(table.loc[keep, "group"], table.loc[keep, "ratio"], strict=True))
    got = flag_rate_ratios(y, flag, groups, min_cell=10)
    finite = {k: v for k, v in got.items() if np.isfinite(v)}
    assert finite == expected
    assert "d" not in got  # suppressed: four cells below 10
    assert (seed == 5) == (len(finite) == 0)  # the reference flags nobody: no ratio at all


class _FlagFirstColumn:
    """A stand-in model: flags the rows whose ``x`` is positive."""

    def flag(self, rows: pd.DataFrame) -> np.ndarray:
        return rows["x"].to_numpy() > 0


def test_pattern_recall_and_control_flag_rate_on_planted_flags() -> None:
    # sarah: 4 marked decisions (3 flagged) and 2 unmarked (flagged; they must not count);
    # control_frequent: 5 decisions, 1 flagged
    marks = pd.DataFrame(
        {
            "decision_id": [f"d{i}" for i in range(11)],
            "pattern": ["sarah"] * 6 + ["control_frequent"] * 5,
            "variant": ["s1", "s1", "s2", "s2", "s3", "s3", "c1", "c1", "c2", "c2", "c3"],
            "marked": [True, True, True, True, False, False] + [False] * 5,
        }
    )
    x = [1, 1, -1, 1, 1, 1, 1, -1, -1, -1, -1]
    features = pd.DataFrame({"decision_id": [f"d{i}" for i in range(11)][::-1], "x": x[::-1]})
    out = pattern_estimands({"stub": _FlagFirstColumn()}, features, marks, candidate="stub")  # type: ignore[dict-item]
    assert out["pattern_recall.stub.sarah"] == pytest.approx(3 / 4)
    assert out["control_flag_rate.stub.control_frequent"] == pytest.approx(1 / 5)
    assert out["pattern_recall.candidate.sarah"] == out["pattern_recall.stub.sarah"]
    with pytest.raises(ValueError, match="d3"):
        pattern_estimands(
            {"stub": _FlagFirstColumn()}, features[features.decision_id != "d3"], marks
        )  # type: ignore[dict-item]
