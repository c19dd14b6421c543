"""End to end in a real browser with no network: `streamlit run app.py`, driven by Playwright and Debian's
chromium.

The test starts the app headless on a free localhost port, opens it in chromium with every request
that is not to localhost blocked (``page.route``), waits for the Leaflet map with the geofence path
and for the results, moves the threshold slider and checks the false-alert figure updates (down).
It fails if any request to another host (a CDN) was attempted. On failure a screenshot is saved
under ``.cache/test-artifacts/`` and its path printed.

Chromium: ``/usr/bin/chromium`` (``.ci/run`` installs it). Missing chromium fails the test in CI
(``CI=true``) and skips it elsewhere.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from conftest import IN_CI, REPO

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = REPO / ".cache" / "test-artifacts"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _need(condition: bool, why: str) -> None:
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{why} (CI=true: the browser test must run; .ci/run installs Debian's chromium)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def app_url() -> Iterator[str]:
    """The app served by `streamlit run app.py` on a free localhost port."""
    _need(
        Path(CHROMIUM).is_file() or shutil.which("chromium") is not None, f"chromium not found at {CHROMIUM}"
    )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _need(False, "the playwright package is not installed")
    log = ARTIFACTS / "streamlit.log"
    try:
        with _driver().serve(log, timeout_s=60) as url:  # bench/appdriver.py: the server bench_app times
            yield url
    except RuntimeError as exc:  # it did not start
        pytest.fail(f"{exc}\n{log.read_text()[-2000:] if log.is_file() else ''}")


#: The "False alerts" metric's value (the label matched exactly; during a rerun Streamlit may briefly
#: keep the stale element next to the new one, so the last match is taken).
FALSE_ALERTS_JS = """() => {
    const ms = [...document.querySelectorAll('[data-testid="stMetric"]')].filter(
        e => (e.querySelector('[data-testid="stMetricLabel"]')?.innerText || '').trim() === 'False alerts');
    const v = ms.length ? ms[ms.length - 1].querySelector('[data-testid="stMetricValue"]') : null;
    return v ? v.innerText.trim() : null;
}"""


def _false_alerts(page) -> str:  # type: ignore[no-untyped-def]
    page.wait_for_function(FALSE_ALERTS_JS, timeout=60_000)
    return str(page.evaluate(FALSE_ALERTS_JS))


def test_plan_page_offline_map_and_threshold(app_url: str, request: pytest.FixtureRequest) -> None:
    from playwright.sync_api import sync_playwright

    attempted: list[str] = []
    loaded: list[str] = []

    def route(r) -> None:  # type: ignore[no-untyped-def]
        url = r.request.url
        if url.startswith(("data:", "blob:", "about:")) or urlparse(url).hostname in LOCAL_HOSTS:
            loaded.append(url)
            r.continue_()
        else:
            attempted.append(url)
            r.abort()

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        context.route("**/*", route)
        page = context.new_page()
        try:
            page.goto(app_url, timeout=60_000)
            # the map: Leaflet's container inside the st_folium frame, with the geofence's dashed path
            frame = page.frame_locator('iframe[title="streamlit_folium.st_folium"]')
            frame.locator(".leaflet-container").wait_for(timeout=120_000)
            fence = frame.locator('path.leaflet-interactive[stroke="#1565c0"][stroke-dasharray="8 6"]')
            fence.first.wait_for(state="attached", timeout=30_000)
            assert fence.count() == 1
            assert frame.locator("path.leaflet-interactive").count() > 20  # streets, routes, camera wedges
            # the results and the per-hour chart (Vega, bundled with Streamlit)
            before = _false_alerts(page)
            page.locator('[data-testid="stVegaLiteChart"]').first.wait_for(timeout=30_000)
            # threshold 0.600 -> 0.640 with the keyboard (step 0.005)
            slider = page.get_by_role("slider", name="Alert threshold (score)")
            assert slider.get_attribute("value") == "0.6"
            slider.focus()
            for _ in range(8):
                page.keyboard.press("ArrowRight")
            t0 = time.monotonic()
            page.get_by_text("threshold 0.640").first.wait_for(
                timeout=30_000
            )  # the page reran with the new value
            page.wait_for_function(
                f"([before]) => ({FALSE_ALERTS_JS})() !== before", arg=[before], timeout=30_000
            )
            after = _false_alerts(page)
            updated_s = time.monotonic() - t0
            assert float(after.split()[0]) < float(before.split()[0]), (before, after)
            print(f"false alerts {before} -> {after}, updated {updated_s:.1f} s after the key presses")
            assert not attempted, f"requests to other hosts were attempted: {attempted}"
            assert any("/app/static/vendor/leaflet-1.9.3.js" in u for u in loaded), (
                "Leaflet not loaded from static/vendor"
            )
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"{request.node.name}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}; blocked requests: {attempted}")
            raise
        finally:
            browser.close()


def _driver():  # type: ignore[no-untyped-def]
    """bench/appdriver.py (what a planner clicks, shared with bench/bench_app.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("appdriver", REPO / "bench" / "appdriver.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("appdriver", mod)  # its dataclasses look their module up
    spec.loader.exec_module(sys.modules["appdriver"])
    mod = sys.modules["appdriver"]
    return mod


def _saved_plan(page) -> dict:  # type: ignore[no-untyped-def]
    """The plan as "Save this plan" downloads it (the scenario YAML a planner keeps)."""
    import yaml

    with page.expect_download(timeout=30_000) as dl:
        page.get_by_role("button", name="Save this plan (.yaml)").click()
    return dict(yaml.safe_load(Path(dl.value.path()).read_text()))


#: Oxford Street's footway, where the vans already watch (bench/bench_app.py's first add), and a move of
#: about 5.5 m east along it.
ADD_AT = (51.5152881, -0.1425125)
MOVE_BY_DEG = 0.00008


def test_a_camera_clicked_in_moved_turned_and_deleted_in_the_saved_yaml(
    app_url: str, request: pytest.FixtureRequest
) -> None:
    from playwright.sync_api import sync_playwright

    ad = _driver()
    lat, lon = ADD_AT
    with sync_playwright() as pw:
        browser, page, reqs = ad.open_browser(pw)
        pp = ad.PlanPage(page)
        try:
            page.goto(app_url, timeout=60_000)
            pp.wait_caption("For this plan")
            start = _saved_plan(page)
            others = {c["id"]: c for c in start["cameras"]}
            n = len(others)
            pp.set_view(lat, lon, 19)
            view = pp.view()

            page.get_by_text("Add a camera", exact=True).click()
            pp.wait_idle()
            pp.click_map(lat, lon)
            pp.wait_caption(f"{n + 1} cameras")
            plan = _saved_plan(page)
            (new,) = [c for c in plan["cameras"] if c["id"] not in others]
            assert abs(new["lat"] - lat) < 2e-5 and abs(new["lon"] - lon) < 3e-5, new  # within ~2 m
            assert {c["id"]: c for c in plan["cameras"] if c["id"] in others} == others
            assert pp.view() == pytest.approx(view)  # the planner's centre and zoom kept (defect 3)

            page.get_by_text("Move the selected camera", exact=True).click()
            pp.wait_idle()
            pp.click_map(lat, lon + MOVE_BY_DEG)
            pp.wait_text(f"Camera {new['id']} moved.")
            pp.wait_idle()
            moved = next(c for c in _saved_plan(page)["cameras"] if c["id"] == new["id"])
            assert moved["lon"] - new["lon"] == pytest.approx(MOVE_BY_DEG, abs=3e-5)
            assert moved["heading_deg"] == new["heading_deg"]  # a move keeps the direction

            page.get_by_text("Nothing (look around)", exact=True).click()
            pp.wait_idle()
            heading = page.get_by_role("spinbutton", name="Heading, °")
            turned_to = round((float(heading.input_value()) + 10) % 360, 1)
            heading.fill(f"{turned_to:.1f}")
            page.get_by_role("button", name=f"Apply to {new['id']}").click()
            pp.wait_text(f"Camera {new['id']} updated.")
            pp.wait_idle()
            plan = _saved_plan(page)
            turned = next(c for c in plan["cameras"] if c["id"] == new["id"])
            assert turned["heading_deg"] == pytest.approx(turned_to)
            assert (turned["lat"], turned["lon"]) == (moved["lat"], moved["lon"])
            assert {c["id"]: c for c in plan["cameras"] if c["id"] in others} == others

            page.get_by_role("button", name=f"Delete {new['id']}").click()
            pp.wait_caption(f"{n} cameras")
            assert _saved_plan(page)["cameras"] == start["cameras"]
            assert pp.view() == pytest.approx(view)
            assert not reqs.blocked, f"requests to other hosts were attempted: {reqs.blocked}"
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"{request.node.name}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}; blocked requests: {reqs.blocked}")
            raise
        finally:
            browser.close()


def test_hostile_plans_run_no_script_in_the_running_app(app_url: str, request: pytest.FixtureRequest) -> None:
    """A plan whose name and description carry every payload loads and shows them as text; one whose camera
    id carries one is refused with the CLI's line. ``window.__pwned`` stays undefined in the page and in
    every frame (the map's iframe included)."""
    import yaml
    from playwright.sync_api import sync_playwright

    from browser import PAYLOADS
    from conftest import SCENARIOS

    hostile = " ".join(PAYLOADS.values())
    doc = yaml.safe_load((SCENARIOS / "oxford_circus.yaml").read_text())
    doc.update(name=f"Plan {hostile}", description=hostile, replications=2)
    doc["time"]["duration_s"] = 3600
    bad = yaml.safe_load((SCENARIOS / "oxford_circus.yaml").read_text())
    bad["cameras"][0]["id"] = "cam" + PAYLOADS["template"]
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.route(
            "**/*",
            lambda r: r.continue_() if urlparse(r.request.url).hostname in LOCAL_HOSTS else r.abort(),
        )
        try:
            page.goto(app_url, timeout=60_000)
            page.frame_locator('iframe[title="streamlit_folium.st_folium"]').locator(
                ".leaflet-container"
            ).wait_for(timeout=120_000)
            upload = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
            body = yaml.safe_dump(doc).encode()
            upload.set_input_files(
                files=[{"name": "hostile.yaml", "mimeType": "application/x-yaml", "buffer": body}]
            )
            page.get_by_text(f"Plan {hostile}"[:60], exact=False).first.wait_for(timeout=120_000)
            page.wait_for_timeout(2000)  # the map redrawn for the new plan
            marks = [f.evaluate("window.__pwned") for f in page.frames]
            assert marks == [None] * len(marks), marks
            body = yaml.safe_dump(bad).encode()
            upload.set_input_files(
                files=[{"name": "badid.yaml", "mimeType": "application/x-yaml", "buffer": body}]
            )
            page.get_by_text("may hold only letters, digits").first.wait_for(timeout=60_000)
            marks = [f.evaluate("window.__pwned") for f in page.frames]
            assert marks == [None] * len(marks), marks
            assert not [e for e in errors if "pwned" in e], errors
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shot = ARTIFACTS / f"{request.node.name}.png"
            page.screenshot(path=str(shot), full_page=True)
            print(f"screenshot of the failure: {shot}")
            raise
        finally:
            browser.close()
