"""What a printed PDF says: its text, and which of a page's headings and table columns it lost.

Used by the report tests after Chromium prints the report (``check_page(..., pdf=...)``): the
text is extracted with pypdf and compared with the HTML's headings and table header cells,
ignoring white space (a printed cell wraps its words across lines).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import lxml.html
from pypdf import PdfReader

__all__ = ["pdf_text", "printed_gaps", "squash"]


def squash(text: str) -> str:
    """``text`` in compatibility form (ligatures such as "ﬁ" spelled out) without white space
    or soft hyphens, so a word wrapped across lines still matches."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    return re.sub(r"\s+", "", text)


def pdf_text(path: Path) -> str:
    """Every page's text, in order, in compatibility form."""
    reader = PdfReader(path)
    return unicodedata.normalize("NFKC", "\n".join(p.extract_text() or "" for p in reader.pages))


def printed_gaps(html: str, pdf: Path) -> list[str]:
    """Headings, table captions and column headers of ``html`` that the printed ``pdf`` lacks.

    Returns
    -------
    list of str
        Each missing item as ``"heading: …"``, ``"caption: …"`` or ``"column: <caption> › …"``;
        empty when everything printed.
    """
    printed = squash(pdf_text(pdf))
    doc = lxml.html.fromstring(html)
    gaps = []
    for h in doc.iter("h1", "h2", "h3"):
        if h.xpath("ancestor::nav"):
            continue  # the contents list is not printed (print stylesheet)
        if squash(h.text_content()) not in printed:
            gaps.append(f"heading: {h.text_content().strip()}")
    for table in doc.iter("table"):
        cap = table.find("caption")
        caption = cap.text_content().strip() if cap is not None else ""
        if caption and squash(caption) not in printed:
            gaps.append(f"caption: {caption}")
        for th in table.xpath(".//thead//th"):
            if squash(th.text_content()) not in printed:
                gaps.append(f"column: {caption[:60]} › {th.text_content().strip()}")
    return gaps
