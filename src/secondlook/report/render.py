"""Render the ethics-panel report: a pure function of the data model.

:func:`render` fills the Jinja2 template ``templates/ethics-panel.html.j2`` (autoescaped, strict
about undefined names) and returns the HTML as a string. It reads no file but the template and
no clock, so the same :class:`~secondlook.report.model.Report` always gives the same bytes.
"""

from __future__ import annotations

import functools

import jinja2

from secondlook.report.model import SECTION_IDS, Report

__all__ = ["TEMPLATE", "render"]

TEMPLATE = "ethics-panel.html.j2"


@functools.lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("secondlook.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(report: Report) -> str:
    """Render the report as one self-contained HTML document.

    Parameters
    ----------
    report
        The filled data model (see :func:`secondlook.report.build.build_report`).

    Returns
    -------
    str
        The HTML: inline CSS, images as data URIs, no script, no external resource.
    """
    return _environment().get_template(TEMPLATE).render(r=report, section_ids=SECTION_IDS)
