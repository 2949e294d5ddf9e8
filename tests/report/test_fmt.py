"""secondlook.report.fmt: numbers, intervals and JSON tables as the panel reads them."""

from __future__ import annotations

from secondlook.report.fmt import fmt_points, json_tables


def test_differences_of_shares_are_percentage_points() -> None:
    assert fmt_points(0.13, 0.08, 0.17) == "+13 percentage points (+8 to +17)"
    assert fmt_points(-0.05, None, None) == "-5 percentage points"
    assert fmt_points(None, 0.1, 0.2) == "not computed"


def test_json_tables_fold_intervals_and_word_nulls() -> None:
    tables = json_tables(
        {
            "logreg": {"tau": 0.5, "tau_lo": 0.4, "tau_hi": 0.6, "overlap": None},
            "ebm": {"tau": 0.7, "tau_lo": 0.65, "tau_hi": 0.75, "overlap": 0.3},
        },
        "stability",
        none_text="suppressed",
    )
    (t,) = tables
    assert t.columns == ("", "tau", "overlap")
    assert t.rows[0] == ("logreg (scorecard)", "0.500 (0.400 to 0.600)", "suppressed")
    assert t.rows[1][2] == "0.300"
