"""One planning run: scenario -> site -> crowd -> captures -> scores -> metrics (``twin.run``).

:func:`run` is the facade the CLI, the app and the tests call. Replications use spawned seeds
(:func:`twin.rng.replication_seeds`), so a run reproduces bit-for-bit from its seed whatever the
number of worker processes; with ``workers > 1`` they run in local processes through Dask, or on
a Dask cluster given its scheduler address.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin._version import __version__
from twin.arrivals import expected_arrivals, hourly_rates
from twin.crowd import simulate_crowd
from twin.errors import CameraGeometryError, ClusterError, EngineError, ScenarioError
from twin.operations import OpsResult, run_operations
from twin.recognition.engines.base import check_threshold
from twin.rng import Streams, replication_seeds
from twin.scenario.load import load_scenario, scenario_hash
from twin.scenario.specs import OperationsSpec, Scenario
from twin.scoring.equitability import equitability_summary
from twin.scoring.metrics import Outcome, RepData, score_replication, summarise
from twin.scoring.score_model import ScoreModel, default_score_model, load_score_model
from twin.world.camera import Camera
from twin.world.capture import TRACK_FIELDS, ViewTable, build_view_tables, new_tracks, reduce_tracks
from twin.world.site import Site, load_site

if TYPE_CHECKING:
    from twin.realrun import RealEngineRun

__all__ = ["Context", "RunResult", "prepare", "run", "simulate_replication"]

log = logging.getLogger(__name__)

#: Seconds to wait for a Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 10

#: How far outside the geofence a camera may stand, m (a van parks on the footway at the edge).
CAMERA_OUTSIDE_TOLERANCE_M = 5.0


@dataclass
class Context:
    """Everything a replication needs that does not depend on its seed."""

    scenario: Scenario
    site: Site
    cameras: list[Camera]
    tables: list[ViewTable]
    rates_per_h: np.ndarray
    score_model: ScoreModel
    warnings: list[str] = field(default_factory=list)
    #: threshold the statistical engine scores with (its own scale): the scenario's for
    #: engine.kind statistical; for a real engine, see :func:`prepare`.
    threshold: float | None = None
    #: a real engine's alert threshold (its scale) and where it came from; None for statistical runs.
    real_threshold: float | None = None
    real_threshold_source: str | None = None

    @property
    def stat_threshold(self) -> float:
        """The statistical scoring threshold (the scenario's when not set)."""
        return self.scenario.watchlist.threshold if self.threshold is None else self.threshold


def prepare(scenario: Scenario) -> Context:
    """Load the site, place the cameras, precompute view tables and validate the engine settings.

    Raises:
        MapFileError, GeofenceError: the site map (see :func:`twin.world.site.load_site`).
        CameraGeometryError: a camera outside the area.
        EngineError: unsupported engine for a planning run, or threshold outside its score range.
        ScenarioError: footfall unusable.
    """
    site = load_site(
        scenario.site.map,
        route_weights=scenario.site.route_weights,
        extra_signage=[(s.lat, s.lon) for s in scenario.site.signage],
    )
    cameras = [Camera.from_spec(c) for c in scenario.cameras]
    from shapely import Point

    for c in cameras:
        gap = site.geofence.distance(Point(c.x, c.y))
        if gap > CAMERA_OUTSIDE_TOLERANCE_M:
            raise CameraGeometryError(
                f"camera {c.id} stands {gap:.0f} m outside the {site.name} geofence; place it inside the "
                f"target area (within {CAMERA_OUTSIDE_TOLERANCE_M:.0f} m of it), e.g. at a van position of the map"
            )
    model = load_score_model(scenario.engine.score_model) if scenario.engine.score_model else default_score_model()
    real_t: float | None = None
    real_src: str | None = None
    if scenario.engine.kind == "statistical":
        stat_t = scenario.watchlist.threshold
        try:
            check_threshold(model, stat_t)
        except EngineError as exc:
            raise ScenarioError(f"watchlist.threshold: {exc}") from exc
    else:
        from twin.realrun import resolve_threshold

        real_t, real_src = resolve_threshold(scenario)
        stat_t = _statistical_threshold(model, scenario.engine.kind, real_t)
    tables = build_view_tables(site, cameras, scenario.capture)
    warnings = []
    for i, c in enumerate(cameras):
        if not any(t.camera == i and t.frontal and t.zone.any() for t in tables):
            warnings.append(f"camera {c.id} captures no usable face on any route: check its position and heading")
    rates = hourly_rates(scenario, site.daily_passers_by)
    return Context(scenario, site, cameras, tables, rates, model, warnings, stat_t, real_t, real_src)


def _statistical_threshold(model: ScoreModel, kind: str, real_threshold: float) -> float:
    """The statistical engine's threshold in a real-engine run.

    The real threshold is on the real engine's scale. With a ScoreModel calibrated on that engine
    kind (``twin calibrate --engine ...``, which stores the score map) it is translated onto the
    model's scale; otherwise the model scores at its own default threshold (0.6 for the NPL model).
    """
    sm = model.score_map
    if sm is not None and sm.engine_kind == kind:
        return float(np.clip(sm.to_unit(real_threshold), 0.0, 1.0))
    return float(model.default_threshold)


def simulate_replication(
    ctx: Context, seed: np.random.SeedSequence, *, keep_tracks: bool = False,
    progress: Callable[[float], None] | None = None,
) -> tuple[RepData, pd.DataFrame | None]:
    """Simulate one replication of the scenario.

    Args:
        ctx: from :func:`prepare`.
        seed: this replication's seed sequence.
        keep_tracks: also return the full per person x camera track table (the events).
        progress: called with the share of the crowd simulation done.

    Returns:
        (RepData, tracks DataFrame or None).
    """
    sc = ctx.scenario
    streams = Streams(seed)
    t0 = time.perf_counter()
    crowd = simulate_crowd(
        ctx.site, ctx.cameras, ctx.tables, sc.crowd, ctx.rates_per_h, sc.time.start_s, sc.time.duration_s,
        streams, progress,
    )
    t1 = time.perf_counter()
    rng_c = streams["capture"]
    phases = rng_c.uniform(0.0, 1.0, len(ctx.cameras)) / np.array([c.fps for c in ctx.cameras])
    parts = []
    for table, walkers in zip(ctx.tables, crowd.walkers, strict=True):
        if len(walkers.person) == 0:
            continue
        cam = ctx.cameras[table.camera]
        if not table.frontal:
            # only backs of heads: frames in view are counted elsewhere as zero usable
            continue
        parts.append(reduce_tracks(table, cam, walkers, sc.capture, ctx.score_model, phase_s=float(phases[table.camera]), rng=rng_c))
    t2 = time.perf_counter()
    if parts:
        tracks = {k: np.concatenate([p[k] for p in parts]) for k in TRACK_FIELDS}
    else:
        tracks = new_tracks(0)
    keep = tracks["frames_in_view"] > 0
    tracks = {k: v[keep] for k, v in tracks.items()}
    tb = np.where(np.isnan(tracks["t_best_s"]), np.inf, tracks["t_best_s"])
    order = np.lexsort((tb, tracks["person"]))
    tracks = {k: v[order] for k, v in tracks.items()}

    people = crowd.people
    P, T = len(people["t_arrive_s"]), len(tracks["person"])
    rng_e = streams["engine"]
    u_wl = rng_e.random(P).astype(np.float32)
    u_nm = rng_e.random(P)
    z_p = rng_e.standard_normal(P).astype(np.float32)
    z_t = rng_e.standard_normal(T).astype(np.float32)
    rep = RepData(
        duration_s=sc.time.duration_s, t_arrive_s=people["t_arrive_s"], turned_back=people["turned_back"],
        t_leave_s=people["t_leave_s"], u_watchlist=u_wl, u_nonmated=u_nm, z_person=z_p,
        track_person=tracks["person"].astype(np.int64), track_camera=tracks["camera"].astype(np.int16),
        track_in_zone=tracks["in_zone"].astype(bool), track_usable=tracks["usable_captures"].astype(np.int32),
        track_t_best_s=tracks["t_best_s"].astype(np.float64), track_mated_mean=tracks["mated_mean"].astype(np.float32),
        track_z=z_t, speed_m_s=people["speed_m_s"].astype(np.float32),
        extra={
            "peak_density_p_m2": crowd.peak_density_p_m2, "simpy_events": crowd.events,
            "crowd_s": t1 - t0, "capture_s": t2 - t1,
        },
    )
    df = None
    if keep_tracks:
        df = pd.DataFrame(tracks)
        df["camera_id"] = pd.Categorical.from_codes(df["camera"].astype(int), [c.id for c in ctx.cameras])
        df["route_id"] = [ctx.site.routes[r].id for r in people["route"][df["person"].to_numpy()]]
        df["group"] = people["group"][df["person"].to_numpy()]
        df["t_arrive_s"] = people["t_arrive_s"][df["person"].to_numpy()]
    return rep, df


def _replicate(scenario: Scenario, seed: np.random.SeedSequence, keep: bool) -> tuple[RepData, pd.DataFrame | None]:
    """Worker entry point: prepare and simulate one replication (runs in a worker process)."""
    return simulate_replication(prepare(scenario), seed, keep_tracks=keep)


@dataclass
class RunResult:
    """A finished run: what was simulated, the summary, and the data to re-score or inspect.

    Attributes:
        scenario, context: the input and its prepared site, cameras and view tables.
        seed: root seed.
        reps: per-replication stored draws (:class:`twin.scoring.metrics.RepData`).
        outcomes: per-replication alerts under the scenario's watchlist settings.
        summary: :func:`twin.scoring.metrics.summarise` output plus run metadata (JSON-ready, no timestamps).
        tracks: replication 0's person x camera table (the events), a DataFrame.
        timings: wall-clock seconds per phase.
        operations: per-replication review and response of the alerts (:mod:`twin.operations`).
        real: with ``engine.kind`` dlib or insightface, the real pipeline's pass over replication 0
            (:class:`twin.realrun.RealEngineRun`: its summary section, the alerts with their review
            crops, audit entries); None for statistical runs.
    """

    scenario: Scenario
    context: Context
    seed: int
    reps: list[RepData]
    outcomes: list[Outcome]
    summary: dict[str, Any]
    tracks: pd.DataFrame
    timings: dict[str, float]
    operations: list[OpsResult] = field(default_factory=list)
    real: RealEngineRun | None = None

    def rescore(self, *, threshold: float | None = None, watchlist_size: int | None = None,
                prevalence: float | None = None, officers: int | None = None,
                operations: OperationsSpec | None = None) -> tuple[list[Outcome], dict[str, Any]]:
        """Outcomes and summary under other watchlist or operations settings, without re-simulating the crowd.

        ``officers`` overrides the officer count of ``operations`` (default: the scenario's block);
        the summary's ``operations`` section is recomputed from the same "operations" streams.

        Raises:
            ScenarioError: threshold outside the engine's score range, size < 1, prevalence outside [0, 1],
                officers < 0.
        """
        wl = self.scenario.watchlist
        t = self.context.stat_threshold if threshold is None else float(threshold)
        n = wl.size if watchlist_size is None else int(watchlist_size)
        p = wl.prevalence if prevalence is None else float(prevalence)
        try:
            check_threshold(self.context.score_model, t)
        except EngineError as exc:
            raise ScenarioError(f"threshold: {exc}") from exc
        if n < 1:
            raise ScenarioError(f"watchlist size {n} must be >= 1")
        if not 0 <= p <= 1:
            raise ScenarioError(f"prevalence {p} must be in [0, 1]")
        outs = [score_replication(r, self.context.score_model, threshold=t, watchlist_size=n, prevalence=p) for r in self.reps]
        summ = summarise(outs, duration_s=self.scenario.time.duration_s, model=self.context.score_model,
                         threshold=t, watchlist_size=n, prevalence=p)
        summ["equitability"] = equitability_summary(self.context.score_model, self.scenario.population, self.reps,
                                                    threshold=t, watchlist_size=n)
        summ["operations"] = self._operations(outs, operations or self.scenario.operations, officers)[1]
        return outs, summ

    def _operations(self, outcomes: list[Outcome], spec: OperationsSpec,
                    officers: int | None = None) -> tuple[list[OpsResult], dict[str, Any]]:
        sc = self.scenario
        return run_operations(self.reps, outcomes, replication_seeds(self.seed, len(self.reps)), spec,
                              duration_s=sc.time.duration_s, default_speed_m_s=sc.crowd.free_speed_mean_m_s,
                              officers=officers)


def _metadata(ctx: Context, seed: int, replications: int) -> dict[str, Any]:
    sc = ctx.scenario
    return {
        "scenario": sc.name,
        "scenario_sha256": scenario_hash(sc),
        "site": {"id": ctx.site.id, "name": ctx.site.name, "map_sha256": ctx.site.sha256, "approximate": ctx.site.approximate,
                 "area_m2": round(ctx.site.area_m2, 1), "routes": len(ctx.site.routes)},
        "seed": seed,
        "replications": replications,
        "twin_version": __version__,
        "engine": {"kind": sc.engine.kind, "model_id": ctx.score_model.model_id, "params": ctx.score_model.to_dict()},
        **({"real_engine": {"kind": sc.engine.kind, "threshold": ctx.real_threshold,
                            "statistical_threshold": ctx.stat_threshold}} if ctx.real_threshold is not None else {}),
        "window": {"start": sc.time.start, "duration_s": sc.time.duration_s,
                   "expected_passers_by": round(expected_arrivals(ctx.rates_per_h, sc.time.start_s, sc.time.duration_s), 1)},
        "cameras": [c.id for c in ctx.cameras],
        "warnings": list(ctx.warnings),
    }


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    overrides: tuple[str, ...] | list[str] = (),
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> RunResult:
    """Run a scenario: replications of the crowd, captures and scores, and their summary.

    With ``engine.kind`` dlib or insightface the replications are simulated and scored by the
    statistical engine as usual (labelled so), and replication 0's usable captures, at most
    ``engine.max_real_probes`` of them (default 200), are then rendered as faces and run through
    the real recognition pipeline (:mod:`twin.realrun`); its figures are ``summary["real_engine"]``.
    The engine and face bank are built before the simulation, so a bad model folder fails fast.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario YAML.
        seed: root seed (default: the scenario's).
        replications: how many (default: the scenario's).
        overrides: ``key.path=value`` overrides when ``scenario`` is a path.
        workers: local worker processes for replications (1: in this process).
        scheduler: a Dask scheduler address (``tcp://host:8786``) to run replications on a cluster.
        progress: called as ``progress(done_replications, total, share_of_current_done)``.
        on_stage: called with a short description when a real-engine stage starts.

    Returns:
        :class:`RunResult`.

    Raises:
        TwinError: any invalid input (see :func:`prepare` and :func:`twin.scenario.load.load_scenario`).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    seed = scenario.seed if seed is None else int(seed)
    reps_n = scenario.replications if replications is None else int(replications)
    if seed < 0:
        raise ScenarioError(f"seed {seed} must be >= 0")
    if reps_n < 1:
        raise ScenarioError(f"replications {reps_n} must be >= 1")
    t_start = time.perf_counter()
    engine = bank = None
    if scenario.engine.kind != "statistical":
        from twin.realrun import build_bank, build_engine, check_engine_config

        check_engine_config(scenario)
    ctx = prepare(scenario)
    if scenario.engine.kind != "statistical":
        if on_stage is not None:
            on_stage(f"loading the {scenario.engine.kind} engine and the face bank")
        engine = build_engine(scenario)
        bank = build_bank(scenario, engine)
    seeds = replication_seeds(seed, reps_n)
    results: list[tuple[RepData, pd.DataFrame | None]] = []
    if workers > 1 or scheduler:
        results = _run_dask(scenario, seeds, workers, scheduler, progress)
    else:
        for i, s in enumerate(seeds):
            def cb(frac: float, i: int = i) -> None:
                if progress is not None:
                    progress(i, reps_n, frac)

            results.append(simulate_replication(ctx, s, keep_tracks=(i == 0), progress=cb))
        if progress is not None:
            progress(reps_n, reps_n, 1.0)
    t_sim = time.perf_counter()
    reps = [r for r, _ in results]
    tracks = results[0][1]
    wl = scenario.watchlist
    t_stat = ctx.stat_threshold
    outcomes = [score_replication(r, ctx.score_model, threshold=t_stat, watchlist_size=wl.size, prevalence=wl.prevalence) for r in reps]
    summary = summarise(outcomes, duration_s=scenario.time.duration_s, model=ctx.score_model,
                        threshold=t_stat, watchlist_size=wl.size, prevalence=wl.prevalence)
    summary["equitability"] = equitability_summary(ctx.score_model, scenario.population, reps,
                                                   threshold=t_stat, watchlist_size=wl.size)
    summary["run"] = _metadata(ctx, seed, reps_n)
    summary["crowd"] = {
        "peak_density_p_m2": _round_band([r.extra["peak_density_p_m2"] for r in reps]),
    }
    ops, summary["operations"] = run_operations(
        reps, outcomes, seeds, scenario.operations, duration_s=scenario.time.duration_s,
        default_speed_m_s=scenario.crowd.free_speed_mean_m_s,
    )
    timings = {"simulate_s": t_sim - t_start, "score_s": time.perf_counter() - t_sim}
    real = None
    if engine is not None and bank is not None:
        from twin.realrun import run_real_engine

        if on_stage is not None:
            on_stage(f"real engine ({engine.model_id}) on replication 0")
        try:
            real = run_real_engine(ctx, reps[0], tracks if tracks is not None else pd.DataFrame(), seeds[0], engine=engine,
                                   bank=bank, threshold=float(ctx.real_threshold),  # type: ignore[arg-type]
                                   threshold_source=str(ctx.real_threshold_source))
        finally:
            close = getattr(engine, "close", None)
            if callable(close):
                close()
        summary["real_engine"] = real.summary
        timings["real_engine_s"] = real.elapsed_s
    return RunResult(scenario, ctx, seed, reps, outcomes, summary, tracks if tracks is not None else pd.DataFrame(),
                     timings, ops, real)


def _round_band(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "max": float(v.max())}


def _run_dask(scenario: Scenario, seeds: list[np.random.SeedSequence], workers: int, scheduler: str | None,
              progress: Callable[[int, int, float], None] | None) -> list[tuple[RepData, pd.DataFrame | None]]:
    """Replications on Dask: local processes, or a cluster at ``scheduler``."""
    n = len(seeds)
    if scheduler:
        from dask.distributed import Client, as_completed

        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); check the address "
                "(tcp://host:8786) and that the scheduler runs, or drop --scheduler to run here"
            ) from exc
        with client:
            futs = [client.submit(_replicate, scenario, s, i == 0, pure=False) for i, s in enumerate(seeds)]
            done = 0
            for _ in as_completed(futs):
                done += 1
                if progress is not None:
                    progress(done, n, 0.0)
            return [f.result() for f in futs]
    import dask
    from dask.callbacks import Callback

    class _Progress(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.done = 0

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            self.done += 1
            if progress is not None:
                progress(min(self.done, n), n, 0.0)

    tasks = [dask.delayed(_replicate)(scenario, s, i == 0) for i, s in enumerate(seeds)]
    with _Progress():
        out = dask.compute(*tasks, scheduler="processes", num_workers=max(1, workers))
    return list(out)
