"""Drive the planner's app in a real browser: `streamlit run app.py` and Debian's chromium (Playwright).

Shared by ``bench/bench_app.py`` (timings) and ``tests/app/test_browser.py`` (what a planner clicks).
Every request that is not to localhost is blocked and recorded (the app must work offline).

* :func:`serve` starts the app headless on a free localhost port (a fresh, cold server process);
* :func:`open_browser` opens chromium with the blocking router;
* :class:`PlanPage` waits for the map, the figures and the end of a rerun, clicks the map at a
  latitude and longitude (through the page's Leaflet map object), and reads metrics.

Needs the ``playwright`` package (the ``test`` extra) and chromium at :data:`CHROMIUM`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
REPO = Path(__file__).resolve().parents[1]
MAP_FRAME = 'iframe[title="streamlit_folium.st_folium"]'

#: The value of a metric by its exact label (the last match: during a rerun Streamlit may briefly keep
#: the stale element next to the new one).
METRIC_JS = """(label) => {
    const ms = [...document.querySelectorAll('[data-testid="stMetric"]')].filter(
        e => (e.querySelector('[data-testid="stMetricLabel"]')?.innerText || '').trim() === label);
    const v = ms.length ? ms[ms.length - 1].querySelector('[data-testid="stMetricValue"]') : null;
    return v ? v.innerText.trim() : null;
}"""

#: True while the script runs (Streamlit's status widget shows "Running...", or elements of the last run
#: are marked stale while the new run redraws them).
RUNNING_JS = """() => !!document.querySelector('[data-testid="stStatusWidget"], [data-stale="true"]')"""


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve(log: Path, *, port: int | None = None, timeout_s: float = 90.0) -> Iterator[str]:
    """`streamlit run app.py` on a free localhost port; yields its URL, stops the server afterwards.

    Raises:
        RuntimeError: the server did not answer its health check within ``timeout_s``.
    """
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for proxy in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(proxy, None)
    log.parent.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    cmd += ["--server.address", "localhost", "--server.headless", "true"]
    cmd += ["--browser.gatherUsageStats", "false"]
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"streamlit did not start (exit {proc.poll()}); log: {log}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@dataclass
class Requests:
    """Requests the page made: ``loaded`` (localhost, data:, blob:) and ``blocked`` (anything else)."""

    loaded: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def route(self, r: Any) -> None:
        url = r.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname in LOCAL_HOSTS:
            self.loaded.append(url)
            r.continue_()
        else:
            self.blocked.append(url)
            r.abort()


def open_browser(pw: Any, *, width: int = 1400, height: int = 900) -> tuple[Any, Any, Requests]:
    """(browser, page, requests): chromium with every non-localhost request blocked."""
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    context = browser.new_context(viewport={"width": width, "height": height})
    reqs = Requests()
    context.route("**/*", reqs.route)
    return browser, context.new_page(), reqs


class PlanPage:
    """The Plan page in a browser page: waits and actions a planner's loop needs.

    Timeouts are milliseconds (Playwright's unit).
    """

    def __init__(self, page: Any, timeout_ms: float = 120_000) -> None:
        self.page = page
        self.timeout_ms = timeout_ms
        self.frame = page.frame_locator(MAP_FRAME)

    def wait_map(self) -> None:
        """Until Leaflet drew the site: the map container and the geofence's dashed path."""
        self.frame.locator(".leaflet-container").wait_for(timeout=self.timeout_ms)
        fence = self.frame.locator('path.leaflet-interactive[stroke="#1565c0"][stroke-dasharray="8 6"]')
        fence.first.wait_for(state="attached", timeout=self.timeout_ms)

    def metric(self, label: str) -> str | None:
        """A metric's value text, or None when it is not on the page."""
        return self.page.evaluate(METRIC_JS, label)

    def wait_metric(self, label: str) -> str:
        """A metric's value text, once it is on the page."""
        self.page.wait_for_function(METRIC_JS, arg=label, timeout=self.timeout_ms)
        return str(self.metric(label))

    def wait_idle(self, settle_ms: float = 150) -> None:
        """Until the script is not running (checked twice, ``settle_ms`` apart: a rerun may follow)."""
        for _ in range(2):
            self.page.wait_for_function(f"() => !({RUNNING_JS})()", timeout=self.timeout_ms)
            self.page.wait_for_timeout(settle_ms)

    def wait_text(self, text: str) -> None:
        """Until ``text`` is visible on the page."""
        self.page.get_by_text(text).first.wait_for(timeout=self.timeout_ms)

    def wait_changed(self, label: str, before: str | None) -> str:
        """Until metric ``label`` shows something other than ``before``; returns the new value."""
        self.page.wait_for_function(
            f"([l, b]) => {{ const v = ({METRIC_JS})(l); return v !== null && v !== b; }}",
            arg=[label, before],
            timeout=self.timeout_ms,
        )
        return str(self.metric(label))

    def results_caption(self) -> str:
        """The caption under the figures saying which plan they are for ("For this plan: ..."), or ""."""
        return str(
            self.page.evaluate(
                """() => { const c = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
                .map(e => e.innerText).filter(t => t.startsWith('For this plan:'));
                return c.length ? c[c.length - 1] : ''; }"""
            )
        )

    def wait_caption(self, part: str, *, idle: bool = True) -> str:
        """Until the figures' caption ("For this plan: ...") contains ``part`` (the figures are on the
        page) and, with ``idle``, the run is over."""
        self.page.wait_for_function(
            """(p) => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
            .some(e => e.innerText.startsWith('For this plan:') && e.innerText.includes(p))""",
            arg=part,
            timeout=self.timeout_ms,
        )
        if idle:
            self.wait_idle()
        return self.results_caption()

    def wait_leaflet(self) -> None:
        """Until the map frame's Leaflet map object (``window.map``) exists: a rerun may redraw the frame."""
        deadline = time.monotonic() + self.timeout_ms / 1000
        while not self.frame.locator("body").evaluate("() => !!window.map"):
            if time.monotonic() > deadline:
                raise TimeoutError("the map frame has no Leaflet map (window.map)")
            time.sleep(0.1)

    def view(self) -> dict[str, float]:
        """The map's centre and zoom: {"lat", "lng", "zoom"}."""
        self.wait_leaflet()
        return dict(
            self.frame.locator("body").evaluate(
                "(el) => { const c = window.map.getCenter(); "
                "return {lat: c.lat, lng: c.lng, zoom: window.map.getZoom()}; }"
            )
        )

    def set_view(self, lat: float, lon: float, zoom: int) -> None:
        """Pan and zoom the map as a planner would (no rerun: the page asks only for clicks)."""
        self.wait_leaflet()
        self.frame.locator("body").evaluate(
            "(el, [lat, lon, z]) => window.map.setView([lat, lon], z, {animate: false})", [lat, lon, zoom]
        )

    def click_map(self, lat: float, lon: float) -> None:
        """Click the map at a WGS84 position (where Leaflet draws it now)."""
        self.wait_leaflet()
        frame_el = self.page.locator(MAP_FRAME)
        frame_el.scroll_into_view_if_needed()
        box = frame_el.bounding_box()
        pt = self.frame.locator("body").evaluate(
            "(el, [lat, lon]) => { const p = window.map.latLngToContainerPoint([lat, lon]); "
            "const r = window.map.getContainer().getBoundingClientRect(); "
            "return {x: p.x + r.left, y: p.y + r.top}; }",
            [lat, lon],
        )
        self.page.mouse.click(box["x"] + pt["x"], box["y"] + pt["y"])

    def count_in_map(self, selector: str) -> int:
        """How many elements of the map frame match ``selector``."""
        return int(self.frame.locator(selector).count())
