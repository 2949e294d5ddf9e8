"""Cells of the report's evidence tables."""

from __future__ import annotations

from secondlook.report.evidence import _groupcell


def test_group_cell_words_suppressed_and_empty_cells() -> None:
    assert _groupcell(None, "suppressed (n < 10)") == "suppressed (n < 10)"
    assert _groupcell("suppressed", "suppressed (n < 10)") == "suppressed (n < 10)"


def test_group_cell_shows_a_bare_value_as_it_is() -> None:
    """A value that is not an interval (a count, a word) is shown, not called."""
    assert _groupcell(12, "—") == "12"
    assert _groupcell("not computed", "—") == "not computed"


def test_group_cell_folds_an_interval_and_its_ratio() -> None:
    cell = {"value": 0.25, "lo": 0.2, "hi": 0.3, "ratio": 1.5, "in_band": False}
    text = _groupcell(cell, "—")
    assert text.endswith("; ratio 1.50, OUTSIDE band")
    assert "25" in text and "20" in text and "30" in text
