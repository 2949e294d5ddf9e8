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
    cell = {"value": 0.25, "lo": 0.2, "hi": 0.3, "ratio": 1.5, "ratio_lo": 1.3, "ratio_hi": 1.7}
    text = _groupcell(cell, "—")
    assert text.endswith("; ratio 1.50, OUTSIDE the band")
    assert "25" in text and "20" in text and "30" in text


def test_group_cell_calls_a_ratio_whose_interval_crosses_the_band_uncertain() -> None:
    """An interval of 0.51-2.10 is neither inside nor outside the band: say so."""
    cell = {"value": 0.25, "lo": 0.2, "hi": 0.3, "ratio": 1.0, "ratio_lo": 0.51, "ratio_hi": 2.1}
    assert _groupcell(cell, "—").endswith("; ratio 1.00, too uncertain to say")
