"""The ethics-panel report: one self-contained HTML file built like a model card.

- :mod:`~secondlook.report.model` -- dataclasses saying what each section holds;
- :func:`build_report` -- reads what the pipeline stages wrote into that model;
- :func:`render` -- a pure function from the model to HTML (Jinja2, autoescaped);
- :func:`run_report` -- the ``report`` stage: build, render, write;
"""

from __future__ import annotations

from secondlook.report.build import ReportInputs, build_report
from secondlook.report.model import SECTION_IDS, Report
from secondlook.report.render import render
from secondlook.report.stage import run_report

__all__ = ["SECTION_IDS", "Report", "ReportInputs", "build_report", "render", "run_report"]
