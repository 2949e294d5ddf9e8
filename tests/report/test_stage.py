"""secondlook.report.stage: the report from a fast run (evaluate outputs only) -- sections marked
missing, determinism, accessibility, escaping, errors a user can hit, and the page in a real
browser."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from secondlook.cli import app
from secondlook.report import SECTION_IDS, ReportInputs, build_report, render, run_report
from tests.report.conftest import ARTIFACTS
from tests.report.helpers import (
    assert_accessible,
    assert_clean_page,
    assert_self_contained,
    browser_or_skip,
    check_page,
    code_names,
)
from tests.support.pdf import pdf_text, printed_gaps


@pytest.fixture(scope="module")
def toy_inputs(toy_run: Path) -> ReportInputs:
    return ReportInputs.under(toy_run)


@pytest.fixture(scope="module")
def toy_html(toy_run: Path, toy_inputs: ReportInputs) -> Path:
    out = toy_run / "reports" / "ethics-panel.html"
    run_report(toy_inputs, out, commit="0123abc", lookup_runs=False, root=toy_run, log=print)
    return out


def test_absent_inputs_are_marked_not_available(toy_inputs: ReportInputs, toy_run: Path) -> None:
    report = build_report(toy_inputs, commit="0123abc", root=toy_run)
    assert report.performance.available and report.practice.available
    for section in (report.world, report.fairness, report.explanations, report.seed_cases):
        assert not section.available
    paths = {m.path for m in report.missing}
    assert {"reports/fairness.json", "reports/explanations", "data/raw/summary.json"} <= paths
    html = render(report)
    assert html.count("Not available in this run.") >= 4
    for path in paths:
        assert path in html
    assert "This run is incomplete" in html
    # what makes each input is named by its stage, never by a tracker's issue number
    assert not any(re.search(r"issue \d", m.produced_by) for m in report.missing)
    assert not re.search(r"issue \d", html)


def test_same_inputs_give_the_same_bytes(
    toy_run: Path, toy_inputs: ReportInputs, toy_html: Path
) -> None:
    again = toy_run / "again.html"
    run_report(toy_inputs, again, commit="0123abc", lookup_runs=False, root=toy_run, log=print)
    assert again.read_bytes() == toy_html.read_bytes()


def test_numbers_come_from_the_evaluate_outputs(toy_html: Path, toy_run: Path) -> None:
    import json

    html = toy_html.read_text()
    metrics = json.loads((toy_run / "reports" / "metrics.json").read_text())
    best = metrics["best_interpretable"]
    auroc = metrics["families"][best]
    assert (
        f"AUROC {auroc['auroc']:.2f} ({auroc['auroc_lo']:.2f} to {auroc['auroc_hi']:.2f})" in html
    )
    assert f"{metrics['n_test']:,} referrals" in html


def test_accessible_and_self_contained(toy_html: Path) -> None:
    o = assert_accessible(toy_html.read_text())
    assert_self_contained(o)
    assert o.section_ids == list(SECTION_IDS)
    assert len(o.images) >= 3


def test_panel_reads_no_code_names(toy_html: Path) -> None:
    """No dotted code name or snake_case token in the visible text or an alt text."""
    assert code_names(toy_html.read_text()) == []


def test_text_is_escaped(toy_inputs: ReportInputs) -> None:
    report = build_report(toy_inputs, commit="<script>alert(1)</script>")
    html = render(dataclasses.replace(report, title="<b>title</b>"))
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    assert "&lt;b&gt;title&lt;/b&gt;" in html


def test_missing_evaluate_output_is_a_clear_error(toy_inputs: ReportInputs, tmp_path: Path) -> None:
    gone = dataclasses.replace(toy_inputs, metrics=tmp_path / "metrics.json")
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        build_report(gone)
    result = CliRunner().invoke(
        app,
        ["report", "--metrics", str(tmp_path / "metrics.json"), "--out", str(tmp_path / "r.html")],
    )
    assert result.exit_code == 2
    assert "metrics.json" in result.output and "dvc repro evaluate" in result.output


def test_report_in_a_real_browser(toy_html: Path) -> None:
    binary = browser_or_skip()
    shot = ARTIFACTS / "ethics-panel-partial.png"
    check = check_page(toy_html, screenshot=shot, chromium=binary)
    assert_clean_page(check)
    assert check.sections == list(SECTION_IDS)
    assert check.images >= 3
    assert check.lang == "en-GB"
    assert "Not available in this run." in check.text
    assert shot.is_file() and shot.stat().st_size > 10_000


def test_interval_level_and_ranking_metric_come_from_the_settings(
    toy_inputs: ReportInputs, toy_run: Path, tmp_path: Path
) -> None:
    """The words follow evaluate.ci and evaluate.select_by; nothing says 95% or AUPRC by habit."""
    params = yaml.safe_load((toy_run / "params.yaml").read_text())
    params["evaluate"] |= {"ci": 0.9, "select_by": "auroc"}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    report = build_report(dataclasses.replace(toy_inputs, params=path), commit="0", root=toy_run)
    perf = report.performance
    assert perf.leaderboard is not None
    assert perf.leaderboard.caption == "Leaderboard on the test split, best first by AUROC"
    assert "with its 90% bootstrap interval" in perf.intro
    assert "95%" not in render(report)
    # the interval chart draws the ranking metric, best first as the leaderboard, chance 0.5
    chart = perf.figures[0]
    assert chart.title == "AUROC of each model family with its 90% interval"
    assert "Dot-and-whisker chart of AUROC" in chart.alt and "AUPRC" not in chart.alt
    assert chart.alt.endswith("The dashed line marks chance level, 0.50.")


def test_printed_report_loses_no_column(toy_html: Path, tmp_path: Path) -> None:
    binary = browser_or_skip()
    check = check_page(toy_html, pdf=tmp_path / "report.pdf", chromium=binary)
    assert (tmp_path / "report.pdf").read_bytes()[:4] == b"%PDF"
    assert check.print_overflow == []
    # the PDF's own text: every heading, caption and column header printed; no code marks
    assert printed_gaps(toy_html.read_text(), tmp_path / "report.pdf") == []
    text = pdf_text(tmp_path / "report.pdf")
    assert "6. Calibration" in text and "`" not in text and "f(x)" not in text
    # the checks can fail: a table of unbreakable cells wider than A4 is caught, and the
    # PDF's text lacks the column headers printed beyond the page's edge
    wide = tmp_path / "wide.html"
    heads = "".join(f"<th scope='col'>column{i}</th>" for i in range(12))
    cells = "".join(f"<td>{'x' * 40}{i}</td>" for i in range(12))
    wide.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>w</title>'
        "<style>td{white-space:nowrap}</style></head><body><table><caption>too wide</caption>"
        f"<thead><tr>{heads}</tr></thead><tr>{cells}</tr></table></body></html>"
    )
    caught = check_page(wide, pdf=tmp_path / "wide.pdf", chromium=binary)
    assert [t["caption"] for t in caught.print_overflow] == ["too wide"]
    assert caught.print_overflow[0]["cellsBeyondPage"] > 0
    lost = printed_gaps(wide.read_text(), tmp_path / "wide.pdf")
    assert "column: too wide › column11" in lost
    assert "column: too wide › column0" not in lost


def test_code_name_scan_catches_what_it_should() -> None:
    html = (
        "<p>row proxy_recall_at_capacity.logreg.removal_12m and top_k_exact</p>"
        '<img alt="plot of auroc.candidate.x" src="data:image/png;base64,AA">'
        "<p>see <code>dvc_repro</code>, reports/policy.json, 0.95 and 1.25</p>"
    )
    assert code_names(html) == [
        "proxy_recall_at_capacity.logreg.removal_12m", "top_k_exact", "auroc.candidate.x"
    ]  # fmt: skip
