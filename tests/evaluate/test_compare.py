"""Practice comparison and seed cases, recomputed with masks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secondlook.evaluate import practice_comparison, seed_case_table, top_k
from secondlook.schema import seed_case_prefixes


def test_top_k_takes_the_highest_and_breaks_ties_by_seed():
    s = np.array([5, 1, 3, 3, 3, 0], dtype=float)
    mask = top_k(s, 3, seed=0)
    assert mask.sum() == 3 and mask[0] and not mask[1] and not mask[5]
    assert mask[2:5].sum() == 2
    assert np.array_equal(top_k(s, 3, seed=0), mask)
    with pytest.raises(ValueError, match="k must be"):
        top_k(s, 7, seed=0)


def test_practice_comparison_counts_match_masks():
    rng = np.random.default_rng(0)
    n = 2000
    warranted = rng.random(n) < 0.1
    practice = rng.random(n) < 0.15
    good = warranted + rng.normal(0, 0.5, n)  # a score that knows the truth, noisily
    table = practice_comparison(
        warranted, practice, {"good": good, "random": rng.random(n)}, n_boot=200, seed=1
    ).set_index("who")
    k = int(practice.sum())
    assert (table["escalations"] == k).all()
    assert table.loc["practice", "caught"] == int((practice & warranted).sum())
    assert table.loc["good", "caught"] == int((top_k(good, k, 1) & warranted).sum())
    for who, r in table.iterrows():
        assert r["recall"] == pytest.approx(r["caught"] / warranted.sum())
        assert r["recall_lo"] <= r["recall"] <= r["recall_hi"], who
    assert table.loc["good", "vs_practice_lo"] > 0  # knowing the truth beats chance practice
    assert table.loc["practice", "vs_practice"] == 0


def test_seed_case_table_keeps_only_seed_cases_in_date_order():
    frame = pd.DataFrame(
        {
            "decision_id": ["x-1", "john-2", "sarah-1", "john-1"],
            "person_id": ["a", "j", "s", "j"],
            "decision_date": pd.to_datetime(
                ["2020-01-01", "2021-05-01", "2019-01-01", "2021-01-01"]
            ),
            "practice_outcome": ["nfa", "nfa", "assessment", "s47"],
            "label_warrants_escalation": [False, True, True, True],
        }
    )
    out = seed_case_table(
        frame,
        {"rules": np.array([0.1, 0.2, 0.3, 0.4])},
        {"rules": np.array([0, 1, 0, 1])},
        ["warrants_escalation"],
        ("sarah-", "john-"),
    )
    assert list(out["decision_id"]) == ["sarah-1", "john-1", "john-2"]
    assert list(out["rules_score"]) == [0.3, 0.4, 0.2]
    assert list(out["rules_flag"]) == [False, True, True]


def test_seed_cases_come_from_the_vignette_names_given():
    """A third vignette gets its rows; a name not given gets none (no hard-coded names)."""
    frame = pd.DataFrame(
        {
            "decision_id": ["sarah-D01", "amir-D01", "amir-D02", "x-1"],
            "decision_date": pd.to_datetime(
                ["2020-01-01", "2021-02-01", "2021-01-01", "2020-01-01"]
            ),
        }
    )
    probability, flags = {"rules": np.array([0.1, 0.2, 0.3, 0.4])}, {"rules": np.zeros(4)}
    out = seed_case_table(frame, probability, flags, [], seed_case_prefixes(["amir"]))
    assert list(out["decision_id"]) == ["amir-D02", "amir-D01"]
    assert list(out["rules_score"]) == [0.3, 0.2]
    assert seed_case_table(frame, probability, flags, [], ()).empty
