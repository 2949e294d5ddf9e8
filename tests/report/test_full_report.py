"""The full report from a tiny real pipeline run (every stage), checked in a real browser.

Slow (about a minute and a half on a busy two-core machine): every stage runs for real,
evaluate tracked to a throwaway MLflow store, then fairness and explain.

Cross-cutting (named by what it checks, not by a module): every stage feeds the report read here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from secondlook.report import SECTION_IDS, ReportInputs, build_report, run_report
from secondlook.report.groups import group_label
from secondlook.report.stage import git_commit
from tests.report.conftest import ARTIFACTS, REPO
from tests.report.helpers import (
    assert_accessible,
    assert_clean_page,
    assert_self_contained,
    browser_or_skip,
    check_page,
    code_names,
)
from tests.support.pdf import pdf_text, printed_gaps

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full_html(pipeline: Path, inputs: ReportInputs) -> Path:
    out = pipeline / "reports" / "ethics-panel.html"
    run_report(inputs, out, commit=git_commit(REPO), root=pipeline, log=print)
    return out


def test_every_section_is_filled(inputs: ReportInputs, pipeline: Path) -> None:
    from secondlook.report.stage import mlflow_runs

    runs = mlflow_runs(inputs.metrics)
    assert runs is not None and set(runs["runs"]) == {"rules", "logreg", "tree", "ebm", "gbm"}
    report = build_report(inputs, commit="abc", runs=runs, root=pipeline)
    # The tiny pipeline runs every stage but the simulation study over many worlds (minutes per
    # world); that section is built from a real sweep in tests/report/test_worlds.py.
    assert [m.path for m in report.missing] == ["reports/sweep/observability/summary.json"]
    assert report.fairness.tables and report.fairness.label_bias and report.fairness.figures
    assert report.explanations.figures and report.explanations.fidelity
    assert report.explanations.stability
    assert report.world.calibration is not None and report.world.calibration.rows
    assert report.reproducibility.runs is not None
    assert runs["parent_run_id"] in {row[1] for row in report.reproducibility.runs.rows}


def test_suppressed_cells_are_words_never_numbers(inputs: ReportInputs) -> None:
    content = json.loads(inputs.fairness.read_text())
    report = build_report(inputs, commit="abc")
    shown = {t.caption: t for t in report.fairness.tables}
    for family, attributes in content["families"].items():
        if family != report.candidate:
            continue
        for attribute, entry in attributes.items():
            table = next(t for c, t in shown.items() if f"by {attribute.replace('_', ' ')}" in c)
            for group, cells in entry["by_group"].items():
                name = group_label(attribute, group)  # groups are shown in words
                row = next(r for r in table.rows if r[0].removesuffix(" (reference)") == name)
                if cells["n"] == "suppressed":
                    assert row[1].startswith("suppressed")
                for metric, cell in cells.items():
                    if cell == "suppressed" and metric != "n":
                        assert any(c.startswith("suppressed") for c in row[2:])


def test_seed_cases_link_to_their_packs(full_html: Path, inputs: ReportInputs) -> None:
    summary = json.loads(inputs.summary.read_text())
    html = full_html.read_text()
    for ids in summary["seed_cases"].values():
        for did in ids:
            assert f'href="case-reviews/{did}.html"' in html
            assert (full_html.parent / "case-reviews" / f"{did}.html").is_file()


def test_full_report_is_deterministic_and_accessible(
    full_html: Path, inputs: ReportInputs, pipeline: Path
) -> None:
    again = pipeline / "again.html"
    run_report(inputs, again, commit=git_commit(REPO), root=pipeline, log=print)
    assert again.read_bytes() == full_html.read_bytes()
    o = assert_accessible(full_html.read_text())
    assert_self_contained(o)
    # every section but the cross-world one (no sweep in the tiny pipeline; see above) is filled
    assert full_html.read_text().count("Not available in this run") == 1
    # the panel reads words: no code name in the visible text or an alt text
    assert code_names(full_html.read_text()) == []


def test_report_and_every_pack_in_a_real_browser(full_html: Path) -> None:
    binary = browser_or_skip()
    check = check_page(
        full_html,
        screenshot=ARTIFACTS / "ethics-panel.png",
        pdf=ARTIFACTS / "ethics-panel.pdf",
        chromium=binary,
    )
    assert_clean_page(check)
    assert check.sections == list(SECTION_IDS)
    assert [h for h in check.headings if h[0] == 1] == [(1, check.title)]
    assert (ARTIFACTS / "ethics-panel.png").stat().st_size > 50_000
    assert (ARTIFACTS / "ethics-panel.pdf").read_bytes()[:4] == b"%PDF"
    # printed, no table loses a column off the page (the fairness tables once lost two), and
    # the PDF's own text has every heading, caption and column header, and no code marks
    assert check.print_overflow == []
    assert printed_gaps(full_html.read_text(), ARTIFACTS / "ethics-panel.pdf") == []
    printed = pdf_text(ARTIFACTS / "ethics-panel.pdf")
    assert "`" not in printed and "f(x)" not in printed and "E[f(X)]" not in printed
    packs = sorted({h for h in check.links if h.startswith("case-reviews/")})
    assert packs
    for href in packs:
        pack = full_html.parent / href
        seen = check_page(pack, chromium=binary)
        assert seen.console_errors == [] and seen.failed_loads == [], (href, seen)
        assert seen.broken_images == [], href
        assert seen.title, href
