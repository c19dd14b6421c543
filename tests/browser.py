"""Chromium for the tests (Debian's, driven by Playwright), and the hostile strings that must never run.

``need_chromium()`` fails the test under ``CI=true`` when Chromium or Playwright is missing and skips
it elsewhere. ``open_file`` loads a local HTML file with every request that leaves the machine
blocked and reports what the page did: whether ``window.__pwned`` got set, uncaught script errors
(an injected fragment that broke the page's own script shows up there), and the blocked requests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from conftest import IN_CI

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

#: Strings that set ``window.__pwned`` if a page ever runs them: as HTML (an element with a handler),
#: by closing the page's ``<script>``, inside a JavaScript template literal, by closing one, and by
#: closing a quoted JavaScript string. Each is tried on its own: one that breaks a script's syntax
#: would stop the others from running and hide them.
PAYLOADS: dict[str, str] = {
    "html": '<img src=x onerror="window.__pwned=1">',
    "script": "</script><script>window.__pwned=1</script>",
    "template": "${window.__pwned=1}",
    "backtick": "`+(window.__pwned=1)+`",
    "quote": "'+(window.__pwned=1)+'\"+(window.__pwned=1)+\"",
}


def need_chromium() -> None:
    """Skip (fail under CI=true) unless Chromium and Playwright are there."""
    why = ""
    if not (Path(CHROMIUM).is_file() or shutil.which("chromium")):
        why = f"chromium not found at {CHROMIUM}"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            why = "the playwright package is not installed"
    if why:
        if IN_CI:
            pytest.fail(f"{why} (CI=true: the browser tests must run; .ci/run installs Debian's chromium)")
        pytest.skip(why)


@dataclass
class PageReport:
    """What a page did once loaded: ``pwned`` (the marker's value), script errors, requests blocked, what
    the ``then`` script returned, and the page's visible text."""

    pwned: Any = None
    errors: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    result: Any = None
    text: str = ""


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright browser on Debian's Chromium (closed afterwards)."""
    from playwright.sync_api import sync_playwright

    need_chromium()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def watch(page: Any, report: PageReport) -> None:
    """Record the page's uncaught errors and block (and record) every request off this machine."""
    page.on("pageerror", lambda exc: report.errors.append(str(exc)))

    def route(r: Any) -> None:
        url = r.request.url
        host = urlparse(url).hostname
        if url.startswith(("file:", "data:", "blob:", "about:")) or host in LOCAL_HOSTS:
            r.continue_()
        else:
            report.blocked.append(url)
            r.abort()

    page.route("**/*", route)


def open_file(browser: Any, path: Path, *, then: str | None = None) -> PageReport:
    """Load ``path`` in a fresh page, run the script ``then`` (e.g. open the tooltips), and report.

    The marker is read after the load and after ``then`` (handlers such as ``onerror`` run late).
    """
    report = PageReport()
    page = browser.new_page()
    watch(page, report)
    page.goto(path.resolve().as_uri(), wait_until="load")
    if then:
        report.result = page.evaluate(then)
    page.wait_for_timeout(300)
    report.pwned = page.evaluate("window.__pwned")
    report.text = page.inner_text("body")
    page.close()
    return report


#: Opens every Leaflet layer's tooltip and returns the tooltips' texts (a map's globals are its layers).
OPEN_TOOLTIPS = """() => {
    for (const k of Object.keys(window)) {
        const v = window[k];
        if (v && typeof v.getTooltip === 'function' && v.getTooltip()) {
            const at = v.getLatLng ? v.getLatLng() : v.getBounds().getCenter();
            v.openTooltip(at);
        }
    }
    return [...document.querySelectorAll('.leaflet-tooltip')].map(e => e.innerText);
}"""
