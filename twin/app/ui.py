"""Streamlit drawing helpers shared by ``app.py`` and ``pages/`` (the browser front end's top layer).

The one module of the twin that imports streamlit. Only drawing and session plumbing live here;
every decision is in :mod:`twin.app` (``plan``, ``cameras``, ``views``, ``workbench``: pure,
tested) or the library below it.

Where the app's files are (``scenarios/``, ``maps/``, ``static/``) is told by the entry point:
``app.py`` calls :func:`configure` with its own folder on every run; without that (a page run on
its own, the benchmark) they are looked for in the current folder.

Session state: ``st.session_state["plan"]`` holds the planner's plan (a scenario document, its
source, and the :class:`twin.app.plan.PlanSettings` of the controls), shared by all pages. Finished
runs live in one :class:`twin.app.cache.RunCache` per server (``st.cache_resource``), keyed by
:func:`twin.sim.run.crowd_key` and kept with their crowds, so a camera edit places the kept crowd
in front of the new cameras (:func:`result_job`); new crowds are simulated in a warm process pool
over the machine's cores (:func:`run_pool`). The map (:func:`draw_map`) draws the site once and
swaps only its camera and heat layers, so it keeps the planner's centre and zoom across reruns.
Engines and the sample watchlist are ``st.cache_resource`` too.

Long on purpose (about 410 lines of code): the house rule keeps streamlit to this one module, so
every server-wide cache, the process pool and the map component's plumbing sit together here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from twin.app import maplayers, views
from twin.app import plan as plans
from twin.app.cache import LruDict, RunCache
from twin.errors import TwinError
from twin.scenario.specs import MAX_SEED, MAX_WATCHLIST_SIZE, Scenario
from twin.scoring.summary import RunSummary
from twin.sim.parallel import lower_priority, process_pool, warm_worker
from twin.sim.recapture import CrowdChanged, prepare_recapture, recapture
from twin.sim.run import RunResult, crowd_key, run
from twin.world.site import Site, load_site

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_SCENARIO",
    "MAX_SEED",
    "MAX_WATCHLIST_SIZE",
    "AppPaths",
    "Plan",
    "ResultJob",
    "TwinError",
    "configure",
    "current_plan",
    "draw_map",
    "favicon",
    "get_engine",
    "get_result",
    "guarded",
    "headline",
    "paths",
    "plan_cameras",
    "plan_sidebar_caption",
    "result_job",
    "run_cache",
    "run_pool",
    "sample_setup",
    "scenario_files",
    "scored_summary",
    "set_plan",
    "show_error",
    "site_of",
    "table_cache",
    "tile_problem",
]

DEFAULT_SCENARIO = "oxford_circus.yaml"
#: Most worker processes for crowd simulations (replications run in parallel, one per core).
MAX_POOL_WORKERS = 4
#: Scheduling niceness of the pool's workers (Unix ``nice``; 0 is normal, 19 lowest): a simulation uses
#: every core, and the browser drawing the map and the server answering clicks must not wait for it
#: (on 2 cores the map of a cold load took ~2 s longer to appear while the first simulation ran).
POOL_NICENESS = 5
#: The Plan page's map height, px.
MAP_HEIGHT_PX = 540


@dataclasses.dataclass(frozen=True)
class AppPaths:
    """The app's folders: ``scenarios/`` (the plans to start from), ``maps/`` and ``static/`` (served
    files)."""

    root: Path

    @property
    def scenarios(self) -> Path:
        return self.root / "scenarios"

    @property
    def maps(self) -> Path:
        return self.root / "maps"

    @property
    def static(self) -> Path:
        return self.root / "static"


_PATHS = AppPaths(Path.cwd())


def configure(root: str | Path) -> AppPaths:
    """Tell the app where its folders are (``app.py`` passes its own folder)."""
    global _PATHS
    _PATHS = AppPaths(Path(root).resolve())
    return _PATHS


def paths() -> AppPaths:
    """The app's folders (see :func:`configure`)."""
    return _PATHS


@dataclasses.dataclass
class Plan:
    """The planner's current plan.

    Attributes:
        doc: the scenario document (paths as written, relative to ``base_dir``).
        settings: the controls.
        source: where it came from (scenario file name or uploaded file name).
        base_dir: folder relative paths resolve against (scenarios/).
    """

    doc: dict[str, Any]
    settings: plans.PlanSettings
    source: str
    base_dir: Path = dataclasses.field(default_factory=lambda: paths().scenarios)

    def scenario(self) -> Scenario:
        """The validated scenario with the controls applied.

        Raises:
            ScenarioError: invalid.
        """
        return plans.to_scenario(
            plans.apply_settings(self.doc, self.settings), self.base_dir, source=self.source
        )

    def full_doc(self) -> dict[str, Any]:
        """The document with the controls written in (what is saved)."""
        return plans.apply_settings(self.doc, self.settings)


def favicon() -> Any:
    """The tab icon, drawn in memory (a Material or emoji icon would be fetched from a CDN: not offline)."""
    from PIL import Image, ImageDraw

    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    d = ImageDraw.Draw(im)
    d.rounded_rectangle((2, 10, 50, 54), radius=8, fill=(21, 101, 192, 255))
    d.polygon([(50, 24), (62, 16), (62, 48), (50, 40)], fill=(21, 101, 192, 255))
    d.ellipse((14, 20, 38, 44), fill=(255, 255, 255, 255))
    d.ellipse((21, 27, 31, 37), fill=(21, 101, 192, 255))
    return im


def show_error(exc: BaseException) -> None:
    """One clear message for a library error (never a traceback)."""
    st.error(str(exc), icon=":material/error:")


def set_plan(
    doc: dict[str, Any], source: str, *, keep_window: bool = False, keep_replications: bool = False
) -> Plan:
    """Make ``doc`` the current plan (controls initialised from it)."""
    plan = Plan(
        doc=doc,
        settings=plans.settings_from_doc(doc, keep_window=keep_window, keep_replications=keep_replications),
        source=source,
    )
    st.session_state["plan"] = plan
    st.session_state["plan_version"] = st.session_state.get("plan_version", 0) + 1
    return plan


def current_plan() -> Plan:
    """The session's plan; on first use, the default site's scenario with a 1-hour window."""
    plan = st.session_state.get("plan")
    if plan is None:
        folder = paths().scenarios
        path = folder / DEFAULT_SCENARIO
        if not path.is_file():
            files = plans.list_scenarios(folder)
            if not files:
                st.error(f"No scenario files in {folder}; the app needs at least one to start from.")
                st.stop()
            path = files[0].path
        plan = set_plan(plans.load_plan(path), path.name)
    return plan


@st.cache_resource(show_spinner=False)
def run_cache() -> RunCache:
    """Finished runs, shared by all sessions of this server."""
    return RunCache(max_entries=8)


@st.cache_resource(show_spinner=False)
def table_cache() -> LruDict:
    """Each camera's view tables (and each site's route stations), shared by all sessions: a camera edit
    computes only the edited camera's tables."""
    return LruDict(max_entries=96)


#: Replication-hours up to which a run's draw-free capture work is kept for the next camera edit
#: (:func:`frames_cache`): about 25 MB per replication-hour at Oxford Circus (measured: 127 MB for 5
#: replications of 1 h), so at most about 500 MB; a longer run recaptures every camera in the pool.
FRAMES_MAX_REPLICATION_H = 20.0


@st.cache_resource(show_spinner=False)
def _frames_caches() -> LruDict:
    return LruDict(max_entries=2)


def frames_cache(scenario: Scenario) -> dict[str, Any] | None:
    """The kept draw-free capture work (:func:`twin.world.frames.track_frames`) of the scenario's crowd
    family (its crowd without cameras), shared by all sessions, for :func:`twin.sim.recapture.recapture`;
    None when the run is longer than :data:`FRAMES_MAX_REPLICATION_H` replication-hours (too much to
    keep)."""
    if scenario.replications * scenario.time.duration_s / 3600 > FRAMES_MAX_REPLICATION_H:
        return None
    family = crowd_key(scenario, cameras=False)
    caches = _frames_caches()
    got = caches.get(family)
    if got is None:
        got = caches[family] = {}
    return got  # type: ignore[no-any-return]


@st.cache_resource(show_spinner=False)
def run_pool() -> Executor | None:
    """A process pool over this machine's cores for crowd simulations and recaptures, started once per
    server and warmed at once (None on a single core): :func:`twin.sim.parallel.process_pool`. A pool
    broken by a worker that died is replaced (:func:`_live_pool`)."""
    n = min(os.cpu_count() or 1, MAX_POOL_WORKERS)
    if n < 2:
        return None
    pool = process_pool(n, initializer=lower_priority, initargs=(POOL_NICENESS,))
    for _ in range(n):
        pool.submit(warm_worker)
    return pool


def _live_pool() -> Executor | None:
    """The process pool (:func:`run_pool`), replaced first if a worker died and broke it."""
    pool = run_pool()
    if pool is not None and getattr(pool, "_broken", False):
        run_pool.clear()
        pool = run_pool()
    return pool


def _in_pool(fn: Callable[[Executor | None], RunResult]) -> RunResult:
    """``fn(pool)``; if the pool breaks meanwhile (a worker killed, e.g. for memory), once more here."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return fn(_live_pool())
    except BrokenProcessPool:
        run_pool.clear()
        return fn(None)


@st.cache_resource(show_spinner=False, max_entries=16)
def _site(
    map_path: str, weights: tuple[tuple[str, float], ...], signs: tuple[tuple[float, float], ...]
) -> Site:
    return load_site(map_path, route_weights=dict(weights), extra_signage=list(signs))


def site_of(scenario: Scenario) -> Site:
    """The scenario's site, loaded once per server (the map draws from it before any simulation).

    Raises:
        MapFileError, GeofenceError: as :func:`twin.world.site.load_site`.
    """
    sp = scenario.site
    weights = tuple(sorted((sp.route_weights or {}).items()))
    return _site(str(Path(sp.map).resolve()), weights, tuple((s.lat, s.lon) for s in sp.signage))


def plan_cameras(scenario: Scenario, site: Site) -> list[Any]:
    """The scenario's cameras on its site (:func:`twin.app.maplayers.plan_cameras`), kept per camera list.

    Raises:
        TwinError: a camera outside London or too far outside the geofence.
    """
    key = json.dumps([site.sha256, [c.model_dump(mode="json") for c in scenario.cameras]], sort_keys=True)
    return _plan_cameras(key, scenario, site)


@st.cache_resource(show_spinner=False, max_entries=32)
def _plan_cameras(key: str, _scenario: Scenario, _site: Site) -> list[Any]:
    return maplayers.plan_cameras(_scenario, _site)


@dataclasses.dataclass(kw_only=True)
class ResultJob:
    """How the run of a scenario will be had, before it is had: from the cache (``"cached"``), by
    placing a kept crowd in front of edited cameras (``"recapture"``, about a second), or by a new crowd
    simulation (``"simulate"``, with ``reason`` saying why when the crowd of an earlier run could not
    serve).

    :meth:`run` draws its progress bar where it is called (the page calls it where the numbers go).
    """

    scenario: Scenario
    kind: str
    result: RunResult | None = None
    context: Any = None
    reason: str = ""

    @property
    def quick(self) -> bool:
        """No crowd simulation needed."""
        return self.kind != "simulate"

    def run(self, *, what: str = "") -> RunResult:
        """The run (stored in the cache).

        Raises:
            TwinError: invalid scenario (shown by the caller).
        """
        if self.kind == "cached" and self.result is not None:
            return self.result
        sc = self.scenario
        key = crowd_key(sc)
        family = crowd_key(sc, cameras=False)
        if self.kind == "recapture" and self.result is not None:
            base = self.result
            label = "Placing the kept crowd in front of the edited cameras (no new crowd simulation)"
            bar = st.progress(0.0, text=label)
            frames = frames_cache(sc)
            try:
                if frames is not None:  # the unchanged cameras' capture work is kept: here, under a second
                    result = recapture(base, sc, ctx=self.context, progress=_bar(bar, label), frames=frames)
                else:
                    result = _in_pool(
                        lambda pool: recapture(
                            base, sc, ctx=self.context, progress=_bar(bar, label), executor=pool
                        )
                    )
            except CrowdChanged as exc:  # not expected after result_job checked; simulate then
                self.kind, self.reason = "simulate", str(exc)
                return self.run(what=what)
            finally:
                bar.empty()
        else:
            result = _simulate(sc, what=what, reason=self.reason)
            _warm_frames(result)
        run_cache().put(key, result, family=family)
        return result


def _warm_frames(result: RunResult) -> None:
    """Work out a new crowd's draw-free capture work for its cameras in a background thread, so that the
    first camera edit after a simulation keeps the unchanged cameras' work like every later one (the
    simulation ran in the pool, whose processes cannot hand it back cheaply)."""
    frames = frames_cache(result.scenario)
    if frames is None or not result.crowds:
        return

    def warm() -> None:
        try:
            recapture(result, result.scenario, ctx=result.context, frames=frames)
        except Exception:  # only a head start: the edit works the capture out itself then
            log.exception("warming the kept capture work failed")

    threading.Thread(target=warm, name="twin-warm-frames", daemon=True).start()


def _bar(bar: Any, label: str) -> Callable[[int, int, float], None]:
    def progress(done: int, total: int, frac: float) -> None:
        share = min(1.0, (done + frac) / max(total, 1))
        bar.progress(share, text=f"{label} — replication {min(done + 1, total)} of {total}")

    return progress


def _simulate(scenario: Scenario, *, what: str, reason: str) -> RunResult:
    reps = scenario.replications
    cores = f" on {os.cpu_count()} cores" if run_pool() is not None else ""
    label = (
        f"Simulating the crowd of {what or scenario.name}: {scenario.time.duration_s / 3600:g} h window, "
        f"{reps} replications{cores}"
    )
    if reason:
        label += f" ({reason})"
    bar = st.progress(0.0, text=label)
    try:
        return _in_pool(
            lambda pool: run(
                scenario,
                progress=_bar(bar, label),
                executor=pool,
                keep_crowds=True,
                site=site_of(scenario),
                view_tables=table_cache(),
            )
        )
    finally:
        bar.empty()


def result_job(scenario: Scenario) -> ResultJob:
    """How the run of ``scenario`` will be had (see :class:`ResultJob`); nothing heavy is run here
    but, for a camera edit, the edited camera's view tables.

    Raises:
        TwinError: the scenario is invalid.
    """
    cache = run_cache()
    hit = cache.get(crowd_key(scenario))
    if hit is not None:
        return ResultJob(scenario=scenario, kind="cached", result=hit)
    base = cache.latest(crowd_key(scenario, cameras=False))
    if base is None or not base.crowds:
        return ResultJob(scenario=scenario, kind="simulate")
    ctx, reason = prepare_recapture(base, scenario, view_tables=table_cache())
    if reason is not None:
        return ResultJob(scenario=scenario, kind="simulate", reason=reason)
    return ResultJob(scenario=scenario, kind="recapture", result=base, context=ctx)


def get_result(scenario: Scenario, *, what: str = "") -> RunResult:
    """The run for ``scenario``: from the cache, from a kept crowd, or simulated now with a progress bar.

    Raises:
        TwinError: invalid scenario (shown by the caller).
    """
    return result_job(scenario).run(what=what)


def cached_result(scenario: Scenario) -> RunResult | None:
    """The cached run of ``scenario``, or None (nothing is computed)."""
    return run_cache().get(crowd_key(scenario))  # type: ignore[no-any-return]


def scored_summary(result: RunResult, scenario: Scenario) -> RunSummary:
    """The run's summary under ``scenario``'s watchlist and operations settings, re-scored without a new
    simulation (kept per crowd key and settings: a page rerun with nothing changed re-scores nothing)."""
    wl = scenario.watchlist
    key = json.dumps(
        [
            crowd_key(scenario),
            wl.threshold,
            wl.size,
            wl.prevalence,
            scenario.operations.model_dump(mode="json") if scenario.operations is not None else None,
        ],
        sort_keys=True,
    )
    return _scored(key, result, scenario)


@st.cache_resource(show_spinner=False, max_entries=32)
def _scored(key: str, _result: RunResult, _scenario: Scenario) -> RunSummary:
    ran, wl = _result.scenario, _scenario.watchlist
    if ran.watchlist == wl and ran.operations == _scenario.operations:
        return _result.summary  # scored with these settings already: re-scoring would give the same
    return _result.rescore_as(_scenario).filled_from(_result.summary)


@st.cache_data(show_spinner=False, ttl=10)
def scenario_files(folder: str) -> list[plans.ScenarioFile]:
    """The scenario files to start from (:func:`twin.app.plan.list_scenarios`), read at most every 10 s."""
    return plans.list_scenarios(folder)


@st.cache_resource(show_spinner="Loading the face engine…")
def get_engine(kind: str = "dlib", model_dir: str | None = None) -> Any:
    """A real engine, created once per server.

    Raises:
        EngineError, EngineUnavailableError, ModelFolderError.
    """
    from twin.recognition.engines.registry import create_engine

    opts: dict[str, Any] = {}
    if model_dir:
        opts["model_dir"] = model_dir
    return create_engine(kind, **opts)


def plan_sidebar_caption(plan: Plan) -> None:
    """A short line in the sidebar naming the current plan (for the pages that use it)."""
    s = plan.settings
    st.sidebar.caption(
        f"Current plan: **{plan.doc.get('name', plan.source)}** · {s.start} for {s.duration_h} h · "
        f"{len(plan.doc.get('cameras') or [])} cameras · threshold {s.threshold:g}. Change it on the "
        "Plan page."
    )


def headline(col: Any, figure: views.Headline) -> None:
    """One headline figure (:func:`twin.app.views.headline_figures`): the mean with its unit, the 95% PI
    underneath."""
    col.metric(figure.label, figure.value, help=figure.help)
    col.caption(figure.caption)


def guarded(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; on a TwinError show it and stop the page."""
    try:
        return fn(*args, **kwargs)
    except TwinError as exc:
        show_error(exc)
        st.stop()


@st.cache_resource(show_spinner="Enrolling the sample watchlist…")
def sample_setup(kind: str = "dlib", model_dir: str | None = None) -> tuple[Any, Any]:
    """(face bank, watchlist) of the sample photos for an engine, built once per server.

    Raises:
        TwinError: the engine or the samples are unusable.
    """
    from twin.app import workbench
    from twin.recognition.faces.bank import FaceBank

    engine = get_engine(kind, model_dir)
    bank = FaceBank.from_samples(engine)
    return bank, workbench.sample_watchlist(engine, bank)


@st.cache_data(show_spinner=False, ttl=30)
def _tile_problem(url: str, lat: float, lon: float) -> str | None:
    return plans.tile_server_problem(url, lat, lon)


def tile_problem(url: str, site: Site) -> str | None:
    """Why the tile server at ``url`` does not serve the site's centre tile, or None (asked at most every
    30 s per URL, :func:`twin.app.plan.tile_server_problem`)."""
    from twin.world.geo import bng_to_lonlat

    c = site.geofence.centroid
    lon, lat = bng_to_lonlat(c.x, c.y)
    return _tile_problem(url, round(float(lat), 5), round(float(lon), 5))


# -- the map ----------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _MapBase:
    """A site's base map as streamlit-folium's component takes it, rendered once: the Leaflet script,
    the page's html and header, the assets to load, the component key, and the base layers' names."""

    script: str
    html: str
    header: str
    css_links: tuple[str, ...]
    js_links: tuple[str, ...]
    key: str
    overlays: tuple[tuple[str, str], ...]


@st.cache_resource(show_spinner=False, max_entries=16)
def _map_base(site_key: str, _site: Site, min_ied_px: float, tile_url: str | None, key: str) -> _MapBase:
    import streamlit_folium as sf

    m = maplayers.plan_base_map(_site, min_ied_px=min_ied_px, tile_url=tile_url)
    m.get_root().render()
    html, header = sf._get_html(m), sf._get_header(m)
    script = sf._get_map_string(m)  # renames the map to map_div and its layers to stable names
    css, js = maplayers.map_assets(m)
    overlays = tuple((name, var) for name, var in maplayers.map_overlays(m))
    return _MapBase(
        script=script,
        html=html,
        header=header,
        css_links=tuple(css),
        js_links=tuple(js),
        key=sf.generate_js_hash(script, key, False),
        overlays=overlays,
    )


@st.cache_resource(show_spinner=False, max_entries=32)
def _layers_js(
    cams_key: str, heat_key: str, min_ied_px: float, _cameras: list[Any], _heat_xy: np.ndarray | None
) -> tuple[str, tuple[str, ...]]:
    """The changing layers' script and names (kept per cameras and heat: a threshold change redraws
    nothing on the map)."""
    import streamlit_folium as sf

    layers = maplayers.plan_layers(_cameras, min_ied_px=min_ied_px, heat_xy=_heat_xy)
    host = maplayers.layer_host()
    js = "".join(sf._get_feature_group_string(fg, map=host, idx=i) for i, (_, fg) in enumerate(layers))
    return js, tuple(name for name, _ in layers)


def draw_map(
    *,
    key: str,
    site: Site,
    cameras: list[Any],
    min_ied_px: float,
    heat_xy: np.ndarray | None,
    tile_url: str | None,
    on_click: Callable[[], None] | None = None,
    height: int = MAP_HEIGHT_PX,
) -> dict[str, Any] | None:
    """The Plan page's map: the site's base map (drawn once per site, so Leaflet keeps the planner's
    centre and zoom) with the heat and camera layers swapped in on each rerun.

    A click on the map stores ``{"last_clicked": {"lat", "lng"}}`` in ``st.session_state[key]`` and
    calls ``on_click`` before the page reruns.

    Built on streamlit-folium 0.27's component (``_component_func`` and its helpers, the version
    pinned in constraints.txt): ``st_folium`` renders the whole folium map on every rerun (about
    0.4 s for Oxford Circus's streets), while its component only needs the base map's script once.

    Returns:
        the component's value (the last click), or None.

    Raises:
        TwinError: a map element needs an asset that is not served locally.
    """
    import streamlit_folium as sf

    site_key = f"{site.sha256}:{','.join(r.id for r in site.routes)}:{len(site.signage)}"
    base = _map_base(site_key, site, float(min_ied_px), tile_url, key)
    cams_key = json.dumps([dataclasses.asdict(c) for c in cameras], sort_keys=True, default=str)
    heat_key = "" if heat_xy is None else f"{len(heat_xy)}:{hash(np.asarray(heat_xy).tobytes())}"
    fg_js, names = _layers_js(cams_key, heat_key, float(min_ied_px), cameras, heat_xy)
    overlays = [*base.overlays, *((name, f"feature_group_feature_group_{i}") for i, name in enumerate(names))]
    entries = ", ".join(f"{maplayers.js_string(name)}: {var}" for name, var in overlays)
    control = (
        f"var layer_control_layer_control = L.control.layers(null, {{{entries}}}, "
        "{collapsed: true}).addTo(map_div);\nwindow.layer_control = layer_control_layer_control;\n"
    )

    def changed() -> None:
        st.session_state[key] = st.session_state.get(base.key, {})
        if on_click is not None:
            on_click()

    return sf._component_func(  # type: ignore[no-any-return]
        script=base.script,
        header=base.header,
        html=base.html,
        id="map_div",
        key=base.key,
        height=height,
        width=None,
        returned_objects=["last_clicked"],
        default={"last_clicked": None},
        zoom=None,
        center=None,
        feature_group=fg_js,
        return_on_hover=False,
        layer_control=control,
        pixelated=False,
        css_links=list(base.css_links),
        js_links=list(base.js_links),
        on_change=changed,
        wrap_longitude=False,
    )
