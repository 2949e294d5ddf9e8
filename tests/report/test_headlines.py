"""The summary's sentences: a missed seed case is named with its reasons; fairness; practice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from secondlook.report.headlines import (
    fairness_headline,
    fidelity_intro,
    label_bias_intro,
    practice_sentence,
    seed_case_sentences,
    stability_intro,
)


def _seed_files(tmp_path: Path, d08_flag: bool) -> dict[str, Path]:
    rows = [
        {"decision_id": f"sarah-D0{i}", "label_warrants_escalation": i == 8,
         "ebm_flag": d08_flag if i == 8 else False, "ebm_score": 0.1}
        for i in range(1, 9)
    ] + [
        {"decision_id": "john-D01", "label_warrants_escalation": True, "ebm_flag": True,
         "ebm_score": 0.9}
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(tmp_path / "seed-cases.csv", index=False)
    (tmp_path / "vignettes").mkdir()
    (tmp_path / "vignettes" / "sarah.yaml").write_text("title: A baby whose sibling was referred\n")
    reasons = pd.DataFrame(
        {
            "decision_id": ["sarah-D08"] * 4 + ["other"],
            "rank": [2, 1, 3, 4, 1],
            "sentence": ["Second reason", "First reason", "Third reason", "Fourth", "Other"],
        }
    )
    reasons.to_csv(tmp_path / "ebm.csv", index=False)
    return {
        "csv": tmp_path / "seed-cases.csv",
        "v": tmp_path / "vignettes",
        "r": tmp_path / "ebm.csv",
    }


SUMMARY = {"seed_cases": {"sarah": [f"sarah-D0{i}" for i in range(1, 9)], "john": ["john-D01"]}}


def test_a_missed_seed_case_is_named_with_its_top_reasons(tmp_path: Path) -> None:
    f = _seed_files(tmp_path, d08_flag=False)
    out = seed_case_sentences(f["csv"], SUMMARY, f["v"], f["r"], "ebm")
    assert len(out) == 2
    john, sarah = out
    assert "john" in john and "flags john-D01." in john
    assert sarah.startswith("Seed case sarah (a baby whose sibling was referred)")
    assert "1 of its 8 decisions warranted escalation" in sarah
    assert "flags none of them and does not flag sarah-D08." in sarah
    assert "First reason; Second reason; Third reason." in sarah and "Fourth" not in sarah


def test_a_reason_against_guidance_is_marked_in_the_summary(tmp_path: Path) -> None:
    f = _seed_files(tmp_path, d08_flag=False)
    reasons = pd.read_csv(f["r"])
    reasons["against_guidance"] = [True, False, False, False, False]  # "Second reason"
    reasons.to_csv(f["r"], index=False)
    sarah = seed_case_sentences(f["csv"], SUMMARY, f["v"], f["r"], "ebm")[1]
    assert "First reason; Second reason (against guidance); Third reason." in sarah
    assert "marked against guidance lowers the score" in sarah


def test_a_flagged_seed_case_says_so(tmp_path: Path) -> None:
    f = _seed_files(tmp_path, d08_flag=True)
    sarah = seed_case_sentences(f["csv"], SUMMARY, f["v"], f["r"], "ebm")[1]
    assert "flags sarah-D08." in sarah and "does not flag" not in sarah


def test_missing_reasons_point_to_the_pack(tmp_path: Path) -> None:
    f = _seed_files(tmp_path, d08_flag=False)
    sarah = seed_case_sentences(f["csv"], SUMMARY, f["v"], tmp_path / "none.csv", "ebm")[1]
    assert "The review pack of sarah-D08 gives its reasons." in sarah
    assert seed_case_sentences(tmp_path / "absent.csv", SUMMARY, f["v"], f["r"], "ebm") == []


def test_fairness_headline_names_the_group_and_its_interval() -> None:
    cell = {"value": 0.22, "lo": 0.2, "hi": 0.24, "ratio": 2.18, "ratio_lo": 1.9, "ratio_hi": 2.5}
    ref = {"value": 0.101, "lo": 0.09, "hi": 0.11, "ratio": 1.0, "ratio_lo": 1.0, "ratio_hi": 1.0}
    fairness = {
        "parity_band": [0.8, 1.25],
        "families": {
            "ebm": {
                "disability": {
                    "reference": "False",
                    "by_group": {"False": {"flag_rate": ref}, "True": {"flag_rate": cell}},
                }
            }
        },
    }
    text = fairness_headline(fairness, "ebm")
    assert text is not None
    assert "disabled children" in text and "share of referrals flagged" in text
    assert "2.18 (1.90 to 2.50) times that of children without a disability" in text
    assert "(22% against 10%)" in text
    # an interval that straddles the band is never the headline
    cell |= {"ratio_lo": 0.7, "ratio_hi": 3.0}
    text = fairness_headline(fairness, "ebm")
    assert text is not None and "no disparity" in text and "too uncertain" in text


def test_practice_comparison_in_percentage_points_with_its_caveat() -> None:
    practice = pd.DataFrame(
        {
            "who": ["practice", "ebm"],
            "escalations": [2010, 2010],
            "recall": [0.63, 0.96],
            "vs_practice": [0.0, 0.33],
            "vs_practice_lo": [0.0, 0.29],
            "vs_practice_hi": [0.0, 0.37],
        }
    )
    text = practice_sentence(practice, "ebm", "95%")
    assert text is not None
    assert "a difference of 33 percentage points (95% interval 29 to 37)" in text
    assert "simulated to fail" in text and "not against real social workers" in text


def test_sections_open_with_what_was_found() -> None:
    fid = {
        "ebm": {"top_k": 3, "top_k_overlap": 0.47, "spearman": 0.47},
        "rules": {"top_k": 3, "top_k_overlap": 0.21, "spearman": 0.22},
        "gbm": {"top_k": 3, "top_k_overlap": 0.49, "spearman": 0.45},
    }
    text = " ".join(fidelity_intro(fid, "ebm"))
    assert "on average 47% of a referral's top 3 reasons" in text
    assert "from 21% (rules" in text and "to 49% (gbm" in text
    stab = {
        "ebm": {"n_boot": 5, "top_k": 3, "top_k_same_mean": 0.61, "top_k_always_same": 0.27},
        "tree": {"n_boot": 5, "top_k": 3, "top_k_same_mean": 0.5, "top_k_always_same": 0.0},
        "rules": {"n_boot": 5, "top_k": 3, "top_k_same_mean": 1.0, "top_k_always_same": 1.0},
    }
    text = " ".join(stability_intro(stab, "ebm"))
    assert "kept on average 61%" in text and "least stable family is tree" in text
    records = [
        {"attribute": "sex", "group": "F", "metric": "fpr", "proxy": "rereferral_12m",
         "ratio_proxy_as_generated": 1.5, "ratio_truth_as_generated": 0.9,
         "from_label": 0.3, "from_world": 0.1},
        {"attribute": "sex", "group": "F", "metric": "tpr", "proxy": "cp_plan_12m",
         "ratio_proxy_as_generated": 1.0, "ratio_truth_as_generated": 1.0,
         "from_label": -0.1, "from_world": 0.0},
    ]  # fmt: skip
    text = " ".join(label_bias_intro(records))
    assert "Over 2 comparisons, the label accounts for 80%" in text
    assert "measured with a re-referral within 12 months, is 1.50 times" in text
    assert "_" not in text and "`" not in text
    assert fidelity_intro({}, "ebm") == () and label_bias_intro([]) == ()
