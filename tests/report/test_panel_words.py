"""What the panel reads: plain words, notes that agree with their cells, readable tables."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from secondlook.report.evidence import _group_table, group_note, suppressed_text
from secondlook.report.explain_tables import policy_table
from secondlook.report.fmt import fmt_points, json_tables
from secondlook.report.labels import price_sentence
from secondlook.report.model import Table
from secondlook.report.worlds import worlds_section, worlds_summary_point
from secondlook.sweep.stage import write_outputs
from tests.report.helpers import code_names
from tests.report.test_worlds_section import _Design, _worlds


def _cell(value: float, ratio: float, lo: float, hi: float) -> dict[str, Any]:
    return {"value": value, "lo": value - 0.01, "hi": value + 0.01, "ratio": ratio,
            "ratio_lo": lo, "ratio_hi": hi}  # fmt: skip


def _entry() -> dict[str, Any]:
    """Deprivation quintiles: group 5's missed share is OUTSIDE the band, but the stage's own
    summary (``groups_outside_band``) covers only flagged, TPR and FPR and lists nothing."""
    inside = _cell(0.1, 1.0, 0.9, 1.1)
    return {
        "reference": "1",
        "groups_outside_band": {"flag_rate": [], "tpr": [], "fpr": []},
        "by_group": {
            "1": {"n": 1500, "flag_rate": inside, "fnr": inside},
            "5": {"n": 700, "flag_rate": inside, "fnr": _cell(0.2, 0.44, 0.3, 0.6)},
            "9": {"n": 400, "flag_rate": "suppressed", "fnr": "suppressed"},
            "10": {"n": "suppressed", "flag_rate": "suppressed", "fnr": "suppressed"},
        },
    }


def test_note_names_every_outside_cell_of_its_table() -> None:
    t = _group_table("ebm", "deprivation_quintile", _entry(), "warrants_escalation", 10, 0.95)
    outside_cells = [(r[0], c) for r in t.rows for c in r if "OUTSIDE" in c]
    assert outside_cells and outside_cells[0][0] == "quintile 5"
    assert "No group's interval lies wholly outside the band" not in (t.note or "")
    assert "warranted: missed (FNR): quintile 5" in (t.note or "")
    # and a table with no OUTSIDE cell says so
    clean = _entry()
    clean["by_group"]["5"]["fnr"] = _cell(0.2, 1.0, 0.9, 1.1)
    note = group_note("deprivation_quintile", clean["by_group"], [("fnr", "missed", True)], 0.95)
    assert "No group's interval lies wholly outside the band." in note


def test_suppressed_cells_say_which_count_was_small() -> None:
    t = _group_table("ebm", "deprivation_quintile", _entry(), "warrants_escalation", 10, 0.95)
    rows = {r[0]: r for r in t.rows}
    assert rows["quintile 9"][1] == "400"
    assert rows["quintile 9"][2] == suppressed_text("flag_rate")
    assert "count of flagged or warranted referrals is small" in rows["quintile 9"][2]
    # a hidden size hides the whole group, and says so in every cell
    assert set(rows["quintile 10"][1:]) == {suppressed_text("n")}
    assert "group is small" in rows["quintile 10"][1]
    assert "fewer than 10" in (t.note or "") and "warranted and flagged" in (t.note or "")
    assert "AUROC" not in suppressed_text("flag_rate")
    assert "warranted" in suppressed_text("auroc")


def test_differences_of_shares_are_percentage_points() -> None:
    assert fmt_points(0.13, 0.08, 0.17) == "+13 percentage points (+8 to +17)"
    assert fmt_points(-0.05, None, None) == "-5 percentage points"
    assert fmt_points(None, 0.1, 0.2) == "not computed"


def test_price_sentence_says_which_model_ranks_better() -> None:
    p = {"metric": "auprc", "family": "ebm", "gbm_minus_family": 0.037, "lo": 0.021, "hi": 0.054}
    assert price_sentence(p).startswith("The black-box reference model ranks better than")
    assert "AUPRC is higher by 0.037" in price_sentence(p)
    p.update(gbm_minus_family=-0.02, lo=-0.03, hi=-0.01)
    assert price_sentence(p).startswith("The best interpretable model, ebm")
    assert "ranks better than the black-box" in price_sentence(p)
    p.update(gbm_minus_family=0.01, lo=-0.01, hi=0.03)
    assert "rank about equally well" in price_sentence(p)


def _policy_record(family: str, setting: str, i: int) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "setting": setting, "family": family, "auprc_margin": 0.7 + i / 100,
        "sarah_recall": 0.5, "john_recall": 1.0, "control_frequent_flag_rate": 0.02,
        "control_deprived_flag_rate": 0.05, "raised_all": 0.5, "raised_observable": 0.9,
        "reasons_against_guidance": 2318 if setting == "none" else 0,
    }  # fmt: skip
    for d in range(1, 15):  # one score and flag per seed decision: the columns left out
        rec[f"sarah-D{d:02d}_probability"], rec[f"sarah-D{d:02d}_flag"] = 0.2, False
    return rec


def test_policy_table_is_a_few_key_columns() -> None:
    settings = ("none", "guidance", "practice-blind", "guidance+practice-blind")
    records = [
        _policy_record(f, s, i)
        for i, (s, f) in enumerate((s, f) for s in settings for f in ("gbm", "rules", "ebm"))
    ]
    t = policy_table(records)
    assert t is not None
    assert len(t.columns) == 9 and len(t.rows) == 12
    assert [r[0] for r in t.rows[:4]] == ["no policy"] * 3 + ["guidance policy"]
    assert t.rows[0][1] == "gbm (black-box reference)"
    col = dict(zip(t.columns, t.rows[0], strict=True))
    assert col["controls flagged"] == "5%"  # the higher of the two control flag rates
    assert col["fidelity"] == "50%" and col["AUPRC"] == "0.700"
    # the generic layout would have had a column per seed decision
    assert len(json_tables(records, "x")[0].columns) > 30


def _strings(x: Any) -> list[str]:
    if isinstance(x, str):
        return [x]
    if isinstance(x, Table) or dataclasses.is_dataclass(x):
        return [
            s
            for f in dataclasses.fields(x)  # type: ignore[arg-type]
            if f.name != "src"
            for s in _strings(getattr(x, f.name))
        ]
    if isinstance(x, tuple | list):
        return [s for v in x for s in _strings(v)]
    return []


def test_cross_world_section_is_in_plain_words(tmp_path: Path) -> None:
    folder = tmp_path / "sweep" / "observability"
    worlds = _worlds()
    worlds["proxy_recall_at_capacity.logreg.removal_12m"] = 0.25
    worlds["fidelity_overlap.candidate"] = 0.4
    write_outputs(_Design(), worlds, folder)  # type: ignore[arg-type]
    section = worlds_section(folder, tmp_path)
    text = " ".join(_strings(section)) + " " + (worlds_summary_point(folder) or "")
    found = code_names(f"<p>{text}</p>")
    assert found == [], found
    assert "FACTS" not in text and "Rosholm et al. 2024" in text
    assert "MCSE" not in text
    assert section.figures and all("the its" not in f.alt for f in section.figures)
    point = worlds_summary_point(folder) or ""
    assert "scenario means vary: the candidate's AUROC ranges from" in point


def test_code_name_scan_catches_what_it_should() -> None:
    html = (
        "<p>row proxy_recall_at_capacity.logreg.removal_12m and top_k_exact</p>"
        '<img alt="plot of auroc.candidate.x" src="data:image/png;base64,AA">'
        "<p>see <code>dvc_repro</code>, reports/policy.json, 0.95 and 1.25</p>"
    )
    assert code_names(html) == [
        "proxy_recall_at_capacity.logreg.removal_12m", "top_k_exact", "auroc.candidate.x"
    ]  # fmt: skip


def test_performance_price_text_says_which_side_is_better() -> None:
    from secondlook.report.performance import _price_text

    price = {"metric": "auprc", "family": "ebm", "gbm_minus_family": 0.04, "lo": 0.02, "hi": 0.05}
    assert "the black box ranks measurably better" in _price_text(
        {"price_of_interpretability": price}
    )
    price.update(gbm_minus_family=-0.04, lo=-0.05, hi=-0.02)
    text = _price_text({"price_of_interpretability": price})
    assert "the interpretable model ranks measurably better" in text
