"""Static checks of rendered HTML: heading order, alt text, header cells, self-containment."""

from __future__ import annotations

import html as htmlmod
import re
from html.parser import HTMLParser

import pytest

from tests.support.browser import PageCheck, check_page, find_chromium


class Outline(HTMLParser):
    """Collects headings, images, header cells, links and resources of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.images: list[dict[str, str | None]] = []
        self.th: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.resources: list[str] = []
        self.scripts = 0
        self.section_ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if len(tag) == 2 and tag[0] == "h" and tag[1].isdigit():
            self.headings.append(int(tag[1]))
        elif tag == "img":
            self.images.append(a)
            self.resources.append(a.get("src") or "")
        elif tag == "th":
            self.th.append(a)
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"] or "")
        elif tag == "link" and a.get("href"):
            self.resources.append(a["href"] or "")
        elif tag == "script":
            self.scripts += 1
        elif tag == "section" and a.get("id"):
            self.section_ids.append(a["id"] or "")


def outline(html: str) -> Outline:
    """Parse ``html`` into an :class:`Outline`."""
    o = Outline()
    o.feed(html)
    return o


def assert_accessible(html: str) -> Outline:
    """Headings in order (one h1, no level skipped), alt text everywhere, scoped header cells."""
    o = outline(html)
    assert o.headings and o.headings[0] == 1 and o.headings.count(1) == 1
    for before, after in zip(o.headings, o.headings[1:], strict=False):
        assert after <= before + 1, f"heading level jumps from h{before} to h{after}"
    for img in o.images:
        assert (img.get("alt") or "").strip(), f"image without alt text: {str(img)[:80]}"
    for th in o.th:
        assert th.get("scope") in ("col", "row"), f"header cell without scope: {th}"
    return o


def assert_self_contained(o: Outline) -> None:
    """No script, every resource embedded, links only inside the page or to review packs."""
    assert o.scripts == 0
    for src in o.resources:
        assert src.startswith("data:image/"), f"external resource {src[:60]}"
    for href in o.links:
        assert href.startswith("#") or href.startswith("case-reviews/"), href


def browser_or_skip() -> str:
    """The Chromium binary, or a loud skip saying why the browser test did not run."""
    binary = find_chromium()
    if binary is None:
        pytest.skip(
            "BROWSER TEST SKIPPED: headless Chromium not found. Install Debian's `chromium` "
            "(`make browser` does, as root with apt-get) or set SECONDLOOK_CHROMIUM."
        )
    return binary


def assert_clean_page(check: PageCheck) -> None:
    """What a reader's browser saw: no console error, no failed load, every image decoded."""
    assert check.console_errors == [], check.console_errors
    assert check.failed_loads == [], check.failed_loads
    assert check.broken_images == [], check.broken_images
    assert check.images_without_alt == []
    assert check.header_cells_without_scope == 0
    assert check.tables_without_header == 0


__all__ = [
    "Outline",
    "assert_accessible",
    "assert_clean_page",
    "assert_self_contained",
    "browser_or_skip",
    "check_page",
    "outline",
]


#: a dotted code name or a snake_case token (``auroc.candidate.x``, ``top_k_exact``)
_CODE_NAME = re.compile(r"(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:[._][A-Za-z0-9]+)+")
#: file names the report names on purpose (where an output is, what to run)
_FILE_NAME = re.compile(r"\.(json|md|csv|parquet|html|yaml|lock|png)$")


def code_names(html: str) -> list[str]:
    """Code names in what a reader of ``html`` sees: its visible text and its images' alt texts.

    Text inside ``<code>`` and ``<pre>`` (commands and names shown as code on purpose), the
    reproducibility section (which lists parameters by name), numbers and file names are not
    counted.
    """
    page = re.sub(r'src="data:[^"]*"', "", html)
    page = re.sub(r"<style>.*?</style>", " ", page, flags=re.S)
    page = re.sub(r"<code>.*?</code>|<pre>.*?</pre>", " ", page, flags=re.S)
    page = re.sub(r'<section id="reproducibility".*?</section>', " ", page, flags=re.S)
    alts = " ".join(re.findall(r'alt="([^"]*)"', page))
    text = htmlmod.unescape(re.sub(r"<[^>]+>", " ", page) + " " + alts)
    return [t for t in _CODE_NAME.findall(text) if not _FILE_NAME.search(t)]
