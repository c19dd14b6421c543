"""The planner's loop in a real browser: how long the Plan page takes, measured in one run.

Starts `streamlit run app.py` (a fresh, cold server for each cold load), opens it in Debian's
chromium with Playwright (every request not to localhost blocked: the app must work offline) and
prints, for the default plan (Oxford Circus, 1-hour window, 5 replications):

  * cold first load: seconds from opening the page to the map drawn (Leaflet's geofence path), and
    to the numbers (the figures' caption "For this plan: ..."); target map <= 5 s, numbers <= 15 s;
  * a camera added by clicking Oxford Street's footway, moved by a click, turned in its form and
    deleted: seconds from the click to the new figures on the page; target <= 2 s each (and, no
    target, to the end of the run);
  * a threshold change (slider, keyboard): from the last key press to the new figures; target <= 1 s;
  * a footfall change (a new crowd simulation on every core): no target, reported.

Each action is repeated (``--repeat``, default 3; cold loads ``--cold``, default 2) and every
measurement is printed, then the median and the worst; the machine is shared, so one figure alone
says little. The figures' caption says whether an edit kept the crowd. Exit status 1 when a median
misses its target.

Usage: python bench/bench_app.py [--repeat N] [--cold N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appdriver import REPO, PlanPage, open_browser, serve

#: Targets on a 2-core machine (issue 13), seconds.
TARGETS = {"map": 5.0, "numbers": 15.0, "camera": 2.0, "threshold": 1.0}
#: Points on Oxford Street's footways (WGS84) where a camera is added, and where it is moved to:
#: footways the vans already cover, so the crowd is kept (a route given its first recognition zone
#: changes the crowd: people who avoid zones re-route, and a new crowd is simulated).
ADD_AT = [(51.5152881, -0.1425125), (51.5154051, -0.1415580), (51.5151381, -0.1424646)]
MOVE_BY = (0.0, 0.00008)  # about 5.5 m east along the footway
LOG = REPO / ".cache" / "bench" / "streamlit.log"


def _timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def cold_load(pw) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(to the map, to the numbers) on a fresh server, seconds."""
    with serve(LOG) as url:
        browser, page, reqs = open_browser(pw)
        try:
            pp = PlanPage(page)
            t0 = time.perf_counter()
            page.goto(url, timeout=120_000)
            pp.wait_map()
            t_map = time.perf_counter() - t0
            pp.wait_caption("For this plan", idle=False)
            t_num = time.perf_counter() - t0
            if reqs.blocked:
                sys.exit(f"requests to other hosts were attempted: {reqs.blocked}")
            return t_map, t_num
        finally:
            browser.close()


def camera_loop(pp: PlanPage, lat: float, lon: float, n_before: int) -> dict[str, float]:
    """Add, move, turn and delete a camera at (lat, lon): seconds each from the click to the new figures
    on the page ("add", ...), and to the end of the run ("add, run over", ...: Streamlit's status
    widget gone, checked twice 150 ms apart, so about 0.3 s more by construction)."""
    page = pp.page
    out: dict[str, float] = {}

    def timed(name: str, act: Callable[[], None], shown: Callable[[], None]) -> None:
        t = time.perf_counter()
        act()
        shown()
        out[name] = time.perf_counter() - t
        pp.wait_idle()
        out[f"{name}, run over"] = time.perf_counter() - t

    page.get_by_text("Add a camera", exact=True).click()
    pp.wait_idle()
    before = pp.metric("Faces scanned")

    def added() -> None:
        pp.wait_caption(f"{n_before + 1} cameras", idle=False)
        pp.wait_changed("Faces scanned", before)

    timed("add", lambda: pp.click_map(lat, lon), added)
    cam = page.get_by_role("button", name="Apply to").first.inner_text().removeprefix("Apply to ").strip()
    out["add kept crowd"] = float("kept crowd" in pp.results_caption())
    page.get_by_text("Move the selected camera", exact=True).click()
    pp.wait_idle()
    before = pp.metric("Faces scanned")

    def moved() -> None:
        pp.wait_text(f"Camera {cam} moved.")
        pp.wait_changed("Faces scanned", before)

    timed("move", lambda: pp.click_map(lat + MOVE_BY[0], lon + MOVE_BY[1]), moved)
    page.get_by_text("Nothing (look around)", exact=True).click()
    pp.wait_idle()
    heading = page.get_by_role("spinbutton", name="Heading, °")
    heading.fill(f"{(float(heading.input_value()) + 10) % 360:.1f}")
    before = pp.metric("Faces scanned")

    def turned() -> None:
        pp.wait_text(f"Camera {cam} updated.")
        pp.wait_changed("Faces scanned", before)

    timed("turn", lambda: page.get_by_role("button", name=f"Apply to {cam}").click(), turned)
    timed(
        "delete",
        lambda: page.get_by_role("button", name=f"Delete {cam}").click(),
        lambda: pp.wait_caption(f"{n_before} cameras", idle=False),
    )
    return out


def threshold_change(pp: PlanPage, presses: int, key: str, want: str) -> float:
    """Move the threshold slider with the keyboard; seconds from the last key press to the new figures."""
    slider = pp.page.get_by_role("slider", name="Alert threshold (score)")
    slider.focus()
    for _ in range(presses):
        pp.page.keyboard.press(key)
    t = time.perf_counter()
    pp.wait_caption(f"threshold {want}", idle=False)
    dt = time.perf_counter() - t
    pp.wait_idle()
    return dt


def footfall_change(pp: PlanPage, presses: int, key: str) -> tuple[float, str]:
    """Move the footfall slider ``presses`` steps (a new crowd each time); seconds from the last key press
    to the figures for the value it ended at, and that value ("1.05").

    One press at a time, each waited on: key presses made while the page reruns are not all applied
    (ten quick presses moved the slider three steps), so a figure asked for by its value might never
    come.
    """
    slider = pp.page.get_by_role("slider", name="Footfall, × the site's usual")
    slider.focus()
    before = _footfall_shown(pp)
    for i in range(presses):
        if i:
            pp.wait_idle()
        pp.page.keyboard.press(key)
    t = time.perf_counter()
    pp.page.wait_for_function(
        """(b) => [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
        .some(e => { const m = e.innerText.startsWith('For this plan:')
                               && e.innerText.match(/footfall ×([0-9.]+)/);
                     return m && m[1] !== b; })""",
        arg=before,
        timeout=pp.timeout_ms,
    )
    dt = time.perf_counter() - t
    pp.wait_idle()
    return dt, _footfall_shown(pp)


def _footfall_shown(pp: PlanPage) -> str:
    """The footfall factor the figures' caption states ("0.64")."""
    import re

    m = re.search(r"footfall ×([0-9.]+)", pp.results_caption())
    return m.group(1) if m else ""


def _report(name: str, values: list[float], target: float | None) -> bool:
    med, worst = statistics.median(values), max(values)
    each = ", ".join(f"{v:.2f}" for v in values)
    verdict = "" if target is None else f"   target <= {target:g} s: {'OK' if med <= target else 'MISSED'}"
    print(f"{name:<34} median {med:5.2f} s, worst {worst:5.2f} s  ({each}){verdict}")
    return target is None or med <= target


def main() -> int:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--cold", type=int, default=2)
    args = ap.parse_args()
    res: dict[str, list[float]] = {}
    with sync_playwright() as pw:
        for _ in range(args.cold):
            t_map, t_num = cold_load(pw)
            res.setdefault("cold load: map drawn", []).append(t_map)
            res.setdefault("cold load: numbers shown", []).append(t_num)
        with serve(LOG) as url:
            browser, page, reqs = open_browser(pw)
            pp = PlanPage(page)
            page.goto(url, timeout=120_000)
            pp.wait_caption("For this plan")
            n = int(pp.results_caption().split(" cameras")[0].split()[-1])
            for i in range(args.repeat):
                for k, v in camera_loop(pp, *ADD_AT[i % len(ADD_AT)], n).items():
                    res.setdefault(f"camera {k}", []).append(v)
            steps = [(8, "ArrowRight", "0.640"), (4, "ArrowLeft", "0.620"), (6, "ArrowLeft", "0.590")]
            for presses, key, want in steps[: max(args.repeat, 1)]:
                res.setdefault("threshold change", []).append(threshold_change(pp, presses, key, want))
            pp.timeout_ms = 300_000  # a new crowd on a loaded machine may take minutes
            for presses, key in [(1, "ArrowRight"), (1, "ArrowRight")]:
                try:
                    t_ff, now = footfall_change(pp, presses, key)
                    print(f"footfall change to ×{now}: {t_ff:.2f} s", flush=True)
                except Exception as exc:  # reported, not fatal: the other figures still print
                    print(f"footfall change: no new figures within 300 s ({type(exc).__name__})")
                    t_ff = float("inf")
                res.setdefault("footfall change (new crowd)", []).append(t_ff)
            browser.close()
            if reqs.blocked:
                sys.exit(f"requests to other hosts were attempted: {reqs.blocked}")
    kept = res.pop("camera add kept crowd")
    print(
        f"Plan page, Oxford Circus, 1 h window, 5 replications; {len(kept)} camera loops, "
        f"{int(sum(kept))} of the adds kept the crowd; 0 requests to other hosts."
    )
    ok = True
    for name, values in res.items():
        target = next((t for k, t in TARGETS.items() if k in name), None)
        if name.startswith("cold load: map"):
            target = TARGETS["map"]
        if "run over" in name:
            target = None
        ok &= _report(name, values, target)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
