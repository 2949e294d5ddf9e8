"""The views comparison in the report: read from the views stage's CSV, shown at the end of
section 5 only when the comparison has rows (on real records the stage writes none)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pandas as pd

from secondlook.report import ReportInputs, build_report, render
from secondlook.report.views import MEASURES, views_table


def _views_csv(path: Path) -> Path:
    frame = pd.DataFrame(
        {
            "view": ["multi_agency", "csc_records", "cin_census"],
            "n_inputs": [87, 70, 43],
            "auprc_warrants_escalation": [0.7012, 0.5141, 0.4069],
            "auprc_cp_plan_12m": [0.242, 0.199, 0.194],
            "recall_at_capacity": [0.545, 0.449, 0.373],
            "fidelity_top_k_overlap": [0.61, 0.52, 0.33],
            "fidelity_raised_all": [0.50, 0.47, 0.31],
            "missed_vs_multi_agency": [0.0, 0.18, 0.2619],
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path


def test_the_table_holds_every_measure_of_the_csv_by_view(tmp_path: Path) -> None:
    v = views_table(_views_csv(tmp_path / "views.csv"))
    assert v.shown and v.table is not None
    assert v.table.columns == (
        "measure",
        "multi-agency",
        "children's social care records",
        "CIN census",
    )
    rows = {r[0]: r[1:] for r in v.table.rows}
    assert rows[MEASURES["n_inputs"][0]] == ("87", "70", "43")
    assert rows[MEASURES["auprc_warrants_escalation"][0]] == ("0.701", "0.514", "0.407")
    assert rows[MEASURES["fidelity_top_k_overlap"][0]] == ("0.610", "0.520", "0.330")
    assert MEASURES["practice_recall"][0] not in rows  # not in this CSV: no row, never a 0
    assert "0.407 against 0.701" in v.finding and "26%" in v.finding


def test_absent_or_empty_comparison_is_not_shown(tmp_path: Path) -> None:
    assert not views_table(None).shown
    assert not views_table(tmp_path / "absent.csv").shown
    (tmp_path / "empty.csv").write_text("view,not_available\n")
    assert not views_table(tmp_path / "empty.csv").shown


def test_the_report_shows_it_in_section_5(toy_run: Path, tmp_path: Path) -> None:
    inputs = ReportInputs.under(toy_run)
    without = render(build_report(dataclasses.replace(inputs, views=None), commit="abc"))
    assert 'id="views"' not in without
    path = _views_csv(tmp_path / "views" / "views.csv")
    html = render(build_report(dataclasses.replace(inputs, views=path), commit="abc"))
    perf = html[html.index('<section id="performance"') : html.index('<section id="calibration"')]
    assert '<h3 id="views">' in perf
    assert re.search(r"<td>0\.701</td>\s*<td>0\.514</td>\s*<td>0\.407</td>", perf)
