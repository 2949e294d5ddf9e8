"""secondlook.report.explain_tables: the explanation and policy tables, a few key columns in plain
words, never a code name."""

from __future__ import annotations

from typing import Any

from secondlook.report.explain_tables import policy_table, stability_table
from secondlook.report.fmt import json_tables


def _policy_record(family: str, setting: str, i: int) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "setting": setting, "family": family, "auprc_margin": 0.7 + i / 100,
        "sarah_recall": 0.5, "john_recall": 1.0, "control_frequent_flag_rate": 0.02,
        "control_deprived_flag_rate": 0.05, "raised_all": 0.5, "raised_observable": 0.9,
        "reasons_against_guidance": 2318 if setting == "none" else 0,
    }  # fmt: skip
    for d in range(1, 15):  # one score and flag per seed decision: the columns left out
        rec[f"sarah-D{d:02d}_probability"], rec[f"sarah-D{d:02d}_flag"] = 0.2, d == 10
    for d in range(1, 4):  # a third seed case, named in synth.vignettes or not
        rec[f"amir-D{d}_probability"], rec[f"amir-D{d}_flag"] = 0.7, d == 3
    return rec


def test_policy_table_is_a_few_key_columns() -> None:
    settings = ("none", "guidance", "practice-blind", "guidance+practice-blind")
    records = [
        _policy_record(f, s, i)
        for i, (s, f) in enumerate((s, f) for s in settings for f in ("gbm", "rules", "ebm"))
    ]
    t = policy_table(records, ("sarah",))
    assert t is not None
    assert len(t.columns) == 9 and len(t.rows) == 12
    # the seed case's last decision (D14 by number, not D09 by text), flagged or not
    assert t.columns[-1] == "sarah-D14 flagged" and t.rows[0][-1] == "no"
    # every case named in synth.vignettes gets its column; no hard-coded case
    three = policy_table(records, ("sarah", "amir"))
    assert three is not None and three.columns[-2:] == ("sarah-D14 flagged", "amir-D3 flagged")
    assert three.rows[0][-1] == "yes"
    plain = policy_table(records)  # no seed case named: no seed column
    assert plain is not None and len(plain.columns) == 8
    assert [r[0] for r in t.rows[:4]] == ["no policy"] * 3 + ["guidance policy"]
    assert t.rows[0][1] == "gbm (black-box reference)"
    col = dict(zip(t.columns, t.rows[0], strict=True))
    assert col["controls flagged"] == "5%"  # the higher of the two control flag rates
    assert col["fidelity"] == "50%" and col["AUPRC"] == "0.700"
    # the generic layout would have had a column per seed decision
    assert len(json_tables(records, "x")[0].columns) > 30


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
          "sarah_recall": 0.817, "sarah-D08_flag": True, "sarah-D08_probability": 0.6}],
        ("sarah", "john"),
    )  # fmt: skip
    assert policy is not None and len(policy.columns) == 9
    assert policy.rows[0][0] == "both" and policy.rows[0][-1] == "yes"
    for t in (table, policy):
        assert not any("_" in c for c in t.columns)


def test_pattern_columns_follow_the_pattern_list(monkeypatch) -> None:
    # a third seed pattern gets its columns in both tables; no table lists the patterns itself
    from secondlook.report import explain_tables

    monkeypatch.setattr(explain_tables, "SEED_PATTERNS", ("sarah", "john", "amir"))
    row = {"family": "ebm", "amir_recall": 0.25, "amir_reasons_name_pattern": 0.5,
           "sarah_recall": 0.75, "control_frequent_flag_rate": 0.01}  # fmt: skip
    t = explain_tables.patterns_table({"ebm": row}, ["ebm"])
    assert t is not None
    col = dict(zip(t.columns[5:7], t.rows[0][5:7], strict=True))
    assert col == {"Amir-like decisions flagged": "25%", "their reasons name the pattern": "50%"}
    assert t.columns[1] == "Sarah-like decisions flagged" and t.rows[0][1] == "75%"
    assert t.columns[-2:] == (
        "control: often referred, no risk, flagged",
        "control: deprived, no risk, flagged",
    )
    policy = explain_tables.policy_table([{**row, "setting": "none"}])
    assert policy is not None and "Amir-like decisions flagged" in policy.columns
