"""Open an HTML file in headless Chromium and report what a reader's browser would see.

Used by the tests to check the ethics-panel report and the case review packs in a real browser:
no console errors, no failed loads, no broken image, the headings and sections present, and a
full-page screenshot (and a printed PDF) kept as artifacts. It drives Chromium through the
Chrome DevTools Protocol over ``--remote-debugging-pipe`` (file descriptors 3 and 4), so it
needs nothing beyond the standard library and opens no network port.

Chromium is Debian's ``chromium`` package (``/usr/bin/chromium``); set ``SECONDLOOK_CHROMIUM``
to use another binary. The flags are those this machine needs: headless, no sandbox (we may be
root), and no background networking (the network is closed, and the page is a local file).
"""

from __future__ import annotations

import base64
import dataclasses
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["CHROMIUM_FLAGS", "BrowserError", "PageCheck", "check_page", "find_chromium"]

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--mute-audio",
)

#: Chromium will not capture a screenshot taller than this many pixels
_MAX_SHOT = 16000

_INSPECT = """
JSON.stringify({
  title: document.title,
  lang: document.documentElement.lang,
  headings: Array.from(document.querySelectorAll('h1,h2,h3,h4,h5,h6'))
    .map(h => [Number(h.tagName[1]), h.textContent.trim()]),
  sections: Array.from(document.querySelectorAll('section[id]')).map(s => s.id),
  images: document.images.length,
  brokenImages: Array.from(document.images)
    .filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 120)),
  imagesWithoutAlt: Array.from(document.images)
    .filter(i => !(i.getAttribute('alt') || '').trim()).map(i => i.src.slice(0, 60)),
  headerCellsWithoutScope: document.querySelectorAll('th:not([scope])').length,
  tablesWithoutHeader: Array.from(document.querySelectorAll('table'))
    .filter(t => !t.querySelector('th')).length,
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href')),
  text: document.body ? document.body.innerText : ''
})
"""


#: in the print layout: tables wider than the page, and cells beyond the page's right edge
_PRINT_OVERFLOW = """
JSON.stringify((() => {
  const page = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('table')).map((t, i) => {
    const r = t.getBoundingClientRect();
    const cells = Array.from(t.querySelectorAll('th, td'))
      .filter(c => c.getBoundingClientRect().right > page + 0.5).length;
    const cap = t.querySelector('caption');
    return {index: i, caption: cap ? cap.textContent.trim().slice(0, 80) : '',
            width: r.width, page: page, right: r.right, cellsBeyondPage: cells,
            clipped: t.scrollWidth > (t.parentElement ? t.parentElement.clientWidth : page) + 0.5};
  }).filter(x => x.right > x.page + 0.5 || x.cellsBeyondPage > 0 || x.clipped);
})())
"""

#: A4 width minus 12 mm margins on each side, in CSS pixels (96 per inch)
_A4_PRINTABLE_PX = round((210 - 24) / 25.4 * 96)


class BrowserError(RuntimeError):
    """Chromium could not be started, or did not answer in time."""


@dataclasses.dataclass
class PageCheck:
    """What the browser saw.

    Attributes
    ----------
    url
        The page opened.
    title, lang
        The document's title and language.
    headings
        (level, text) of every heading, in document order.
    sections
        Ids of the ``<section>`` elements, in order.
    images, broken_images, images_without_alt
        How many images there are; those that did not decode; those with no alt text.
    header_cells_without_scope, tables_without_header
        Accessibility counts: ``<th>`` with no ``scope``; tables with no header cell.
    links
        Every ``href``, as written.
    console_errors
        Console errors, uncaught exceptions and error-level log entries.
    failed_loads
        Requests that failed (URL and Chromium's error text).
    text
        The page's visible text.
    print_overflow
        Tables that do not fit the printed page (A4, print stylesheet): each with its caption,
        its width and how many of its cells lie beyond the page's right edge. Empty when every
        table fits (checked only when a PDF is asked for).
    """

    url: str
    title: str = ""
    lang: str = ""
    headings: list[tuple[int, str]] = dataclasses.field(default_factory=list)
    sections: list[str] = dataclasses.field(default_factory=list)
    images: int = 0
    broken_images: list[str] = dataclasses.field(default_factory=list)
    images_without_alt: list[str] = dataclasses.field(default_factory=list)
    header_cells_without_scope: int = 0
    tables_without_header: int = 0
    links: list[str] = dataclasses.field(default_factory=list)
    console_errors: list[str] = dataclasses.field(default_factory=list)
    failed_loads: list[str] = dataclasses.field(default_factory=list)
    text: str = ""
    print_overflow: list[dict[str, Any]] = dataclasses.field(default_factory=list)


def find_chromium() -> str | None:
    """The Chromium binary: ``$SECONDLOOK_CHROMIUM``, else ``chromium`` (or a known alias) on
    PATH, else None."""
    env = os.environ.get("SECONDLOOK_CHROMIUM")
    if env:
        return env if Path(env).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _high_fd(fd: int) -> int:
    """A copy of ``fd`` numbered 10 or above (so placing pipes at 3 and 4 cannot clobber it)."""
    new = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return new


class _Pipe:
    """A CDP connection over Chromium's ``--remote-debugging-pipe``."""

    def __init__(self, write_fd: int, read_fd: int, deadline: float) -> None:
        self.write_fd, self.read_fd, self.deadline = write_fd, read_fd, deadline
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def _read_message(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        message: dict[str, Any] = json.loads(raw)
        return message

    def send(self, method: str, params: dict[str, Any] | None = None, session: str = "") -> Any:
        """Send one command and wait for its result, keeping events that arrive meanwhile."""
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.write_fd, data) :]
        while True:
            reply = self._read_message()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str) -> dict[str, Any]:
        """Wait for the first event named ``method`` (already received ones count)."""
        for i, ev in enumerate(self.events):
            if ev.get("method") == method:
                return self.events.pop(i)
        while True:
            ev = self._read_message()
            if ev.get("method") == method:
                return ev
            self.events.append(ev)


def _errors(events: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    console, failed = [], []
    for ev in events:
        m, p = ev.get("method"), ev.get("params", {})
        if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            args = " ".join(
                str(a.get("value", a.get("description", ""))) for a in p.get("args", [])
            )
            console.append(f"console.{p.get('type')}: {args}")
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            console.append(
                f"exception: {d.get('text', '')} {d.get('exception', {}).get('description', '')}"
            )
        elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            e = p["entry"]
            console.append(f"log: {e.get('text', '')} {e.get('url', '')}".strip())
        elif m == "Network.loadingFailed" and not p.get("canceled"):
            failed.append(f"{p.get('requestId')}: {p.get('errorText', '')}")
        elif m == "Network.responseReceived":
            r = p.get("response", {})
            if int(r.get("status", 0)) >= 400:
                failed.append(f"{r.get('url', '')[:120]}: HTTP {r.get('status')}")
    return console, failed


def check_page(
    path: Path,
    *,
    screenshot: Path | None = None,
    pdf: Path | None = None,
    width: int = 1200,
    timeout: float = 60.0,
    chromium: str | None = None,
) -> PageCheck:
    """Open ``path`` in headless Chromium and return what it saw.

    Parameters
    ----------
    path
        An HTML file on disk (opened as a ``file://`` URL).
    screenshot
        Where to save a full-page PNG screenshot (scaled down if the page is taller than
        Chromium can capture at once).
    pdf
        Where to save the page printed to PDF (A4, print stylesheet).
    width
        Viewport width in CSS pixels.
    timeout
        Seconds to wait for the whole check.
    chromium
        The browser binary (default :func:`find_chromium`).

    Returns
    -------
    PageCheck

    Raises
    ------
    BrowserError
        If Chromium is not found, cannot start or does not answer in time.
    """
    binary = chromium or find_chromium()
    if binary is None:
        raise BrowserError("Chromium not found (install Debian's `chromium` package)")
    url = Path(path).resolve().as_uri()
    print_overflow: list[dict[str, Any]] = []
    to_chrome_r, to_chrome_w = (_high_fd(fd) for fd in os.pipe())
    from_chrome_r, from_chrome_w = (_high_fd(fd) for fd in os.pipe())

    def place_pipes() -> None:  # runs in the child, before exec
        os.dup2(to_chrome_r, 3)
        os.dup2(from_chrome_w, 4)

    with tempfile.TemporaryDirectory(prefix="secondlook-chromium-") as profile:
        proc = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                "--remote-debugging-pipe",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(3, 4),
            preexec_fn=place_pipes,  # noqa: PLW1509 - no threads are started before exec
        )
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        cdp = _Pipe(to_chrome_w, from_chrome_r, time.monotonic() + timeout)
        try:
            target = cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = cdp.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                cdp.send(f"{domain}.enable", session=session)
            cdp.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            cdp.events.clear()
            nav = cdp.send("Page.navigate", {"url": url}, session=session)
            if nav.get("errorText"):
                raise BrowserError(f"{url}: {nav['errorText']}")
            cdp.wait_for("Page.loadEventFired")
            raw = cdp.send(
                "Runtime.evaluate",
                {"expression": _INSPECT, "returnByValue": True, "awaitPromise": True},
                session=session,
            )
            seen = json.loads(raw["result"]["value"])
            if screenshot is not None:
                size = cdp.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
                w, h = float(size["width"]), float(size["height"])
                scale = min(1.0, _MAX_SHOT / max(h, 1.0))
                shot = cdp.send(
                    "Page.captureScreenshot",
                    {
                        "format": "png",
                        "captureBeyondViewport": True,
                        "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": scale},
                    },
                    session=session,
                )
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            if pdf is not None:
                printed = cdp.send(
                    "Page.printToPDF",
                    {"paperWidth": 8.27, "paperHeight": 11.69, "printBackground": False},
                    session=session,
                )
                pdf.parent.mkdir(parents=True, exist_ok=True)
                pdf.write_bytes(base64.b64decode(printed["data"]))
                # the same layout as the PDF: print media at the printable width of A4
                cdp.send("Emulation.setEmulatedMedia", {"media": "print"}, session=session)
                cdp.send(
                    "Emulation.setDeviceMetricsOverride",
                    {
                        "width": _A4_PRINTABLE_PX,
                        "height": 1100,
                        "deviceScaleFactor": 1,
                        "mobile": False,
                    },
                    session=session,
                )
                over = cdp.send(
                    "Runtime.evaluate",
                    {"expression": _PRINT_OVERFLOW, "returnByValue": True},
                    session=session,
                )
                print_overflow = json.loads(over["result"]["value"])
            # let late console messages arrive before reading the events
            cdp.send("Runtime.evaluate", {"expression": "1"}, session=session)
            console, failed = _errors(cdp.events)
            try:
                cdp.send("Browser.close")
            except BrowserError:
                pass
        finally:
            for fd in (to_chrome_w, from_chrome_r):
                os.close(fd)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return PageCheck(
        url=url,
        title=seen["title"],
        lang=seen["lang"],
        headings=[(int(level), str(text)) for level, text in seen["headings"]],
        sections=list(seen["sections"]),
        images=int(seen["images"]),
        broken_images=list(seen["brokenImages"]),
        images_without_alt=list(seen["imagesWithoutAlt"]),
        header_cells_without_scope=int(seen["headerCellsWithoutScope"]),
        tables_without_header=int(seen["tablesWithoutHeader"]),
        links=list(seen["links"]),
        console_errors=console,
        failed_loads=failed,
        text=str(seen["text"]),
        print_overflow=print_overflow,
    )
