"""Cells of the report's evidence tables."""

from __future__ import annotations

from typing import Any

from secondlook.report.evidence import _group_table, _groupcell, group_note, suppressed_text


def test_group_cell_words_suppressed_and_empty_cells() -> None:
    assert _groupcell(None, "suppressed (n < 10)") == "suppressed (n < 10)"
    assert _groupcell("suppressed", "suppressed (n < 10)") == "suppressed (n < 10)"


def test_group_cell_shows_a_bare_value_as_it_is() -> None:
    """A value that is not an interval (a count, a word) is shown, not called."""
    assert _groupcell(12, "—") == "12"
    assert _groupcell("not computed", "—") == "not computed"


def test_group_cell_folds_an_interval_and_its_ratio() -> None:
    cell = {"value": 0.25, "lo": 0.2, "hi": 0.3, "ratio": 1.5, "ratio_lo": 1.3, "ratio_hi": 1.7}
    text = _groupcell(cell, "—")
    assert text.endswith("; ratio 1.50, OUTSIDE the band")
    assert "25" in text and "20" in text and "30" in text


def test_group_cell_calls_a_ratio_whose_interval_crosses_the_band_uncertain() -> None:
    """An interval of 0.51-2.10 is neither inside nor outside the band: say so."""
    cell = {"value": 0.25, "lo": 0.2, "hi": 0.3, "ratio": 1.0, "ratio_lo": 0.51, "ratio_hi": 2.1}
    assert _groupcell(cell, "—").endswith("; ratio 1.00, too uncertain to say")


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
