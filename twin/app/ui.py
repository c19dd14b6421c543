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
:func:`twin.sim.run.crowd_key`; engines and the sample watchlist are ``st.cache_resource`` too.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import streamlit as st

from twin.app import plan as plans
from twin.app import views
from twin.app.cache import RunCache
from twin.errors import TwinError
from twin.scenario.specs import MAX_SEED, MAX_WATCHLIST_SIZE, Scenario
from twin.scoring.summary import RunSummary
from twin.sim.run import RunResult, crowd_key, run

__all__ = [
    "DEFAULT_SCENARIO",
    "MAX_SEED",
    "MAX_WATCHLIST_SIZE",
    "AppPaths",
    "Plan",
    "TwinError",
    "configure",
    "current_plan",
    "favicon",
    "get_engine",
    "get_result",
    "guarded",
    "headline",
    "paths",
    "plan_sidebar_caption",
    "run_cache",
    "sample_setup",
    "scored_summary",
    "set_plan",
    "show_error",
]

DEFAULT_SCENARIO = "oxford_circus.yaml"


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


def get_result(scenario: Scenario, *, what: str = "") -> RunResult:
    """The run for ``scenario``: from the cache, else simulated now with a progress bar.

    Raises:
        TwinError: invalid scenario (shown by the caller).
    """
    key = crowd_key(scenario)
    cache = run_cache()
    hit = cache.get(key)
    if hit is not None:
        return hit
    reps = scenario.replications
    label = (
        f"Simulating {what or scenario.name}: {scenario.time.duration_s / 3600:g} h window, {reps} "
        "replications"
    )
    bar = st.progress(0.0, text=label)

    def progress(done: int, total: int, frac: float) -> None:
        share = min(1.0, (done + frac) / max(total, 1))
        bar.progress(share, text=f"{label} — replication {min(done + 1, total)} of {total}")

    try:
        result = run(scenario, progress=progress)
    finally:
        bar.empty()
    cache.put(key, result)
    return result


def scored_summary(result: RunResult, scenario: Scenario) -> RunSummary:
    """The run's summary under ``scenario``'s watchlist and operations settings, re-scored without a new
    simulation."""
    return result.rescore_as(scenario).filled_from(result.summary)


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
