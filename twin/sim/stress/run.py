"""One stress run: options, the load, the pool, the figures (see :mod:`twin.sim.stress`)."""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from twin.errors import EngineError, EngineUnavailableError, ImageError, ScenarioError
from twin.rng import Streams
from twin.scenario.specs import MAX_FOOTFALL_SCALE, MAX_SEED, Scenario
from twin.sim.budget import MAX_WORKERS
from twin.sim.stress.build import synthetic_load, video_load
from twin.sim.stress.capacity import TARGET_P95_S, CapacityPoint, find_capacity, limiting_stage
from twin.sim.stress.figures import figures
from twin.sim.stress.load import FrameSchedule, SyntheticSource, VideoSource
from twin.sim.stress.pool import DROP_POLICIES, Driven, drive
from twin.sim.stress.worker import FaultPlan, WorkerConfig, engine_providers

__all__ = ["ENGINES", "StressOptions", "StressResult", "check_providers", "run_stress"]

logger = logging.getLogger(__name__)

#: Most frames per pipeline call: a GPU batch of 256 aligned 112 px faces is ~10 MB; more only queues.
MAX_BATCH = 256
#: Most frames one camera's queue holds: 1,000 s at 10 fps (the default 20 is 2 s).
MAX_QUEUE = 10_000

#: Engines ``twin stress`` runs.
ENGINES: tuple[str, ...] = ("dlib", "insightface")
#: Seconds of crowd simulated before the load window opens, so the window starts with people already in
#: view (an empty site fills in about the time a walker takes to cross it; 300 m at 1.34 m/s ≈ 220 s).
WARMUP_S: float = 240.0


@dataclass(frozen=True, kw_only=True)
class StressOptions:
    """What to run (the CLI's options).

    Attributes:
        engine: one of :data:`ENGINES` (the scenario's ``engine`` gives model folder, faces, providers).
        duration_s: load window, s (> 0): the first ``duration_s`` s of the scenario's window; with
            ``realtime`` also the wall-clock length of the run.
        cameras: use the scenario's first N cameras (None: all).
        footfall_scale: multiplies the scenario's footfall (> 0, at most footfall.scale's limit).
        workers: W pipeline workers (1 to :data:`~twin.sim.budget.MAX_WORKERS`).
        batch: B frames per pipeline call (1 to :data:`MAX_BATCH`).
        queue_len: frames each camera's queue holds (1 to :data:`MAX_QUEUE`; default 20 = 2 s at 10 fps).
        policy: :data:`~twin.sim.stress.pool.DROP_POLICIES`.
        realtime: pace arrivals on the wall clock (default: as fast as possible).
        pool: ``processes`` or ``threads``.
        video: a video file to use instead of composed frames.
        max_wall_s: ``fast``: stop releasing frames after this many seconds (None: every frame).
        find_capacity: also search the sustainable load.
        target_p95_s: the capacity target, s.
        faults: faults to inject.
        seed: root seed (None: the scenario's).
    """

    engine: str = "dlib"
    duration_s: float = 60.0
    cameras: int | None = None
    footfall_scale: float = 1.0
    workers: int = 2
    batch: int = 1
    queue_len: int = 20
    policy: Literal["drop-oldest", "drop-newest"] = "drop-oldest"
    realtime: bool = False
    pool: Literal["processes", "threads"] = "processes"
    video: Path | None = None
    max_wall_s: float | None = None
    find_capacity: bool = False
    target_p95_s: float = TARGET_P95_S
    faults: FaultPlan = field(default_factory=FaultPlan)
    seed: int | None = None

    def check(self, scenario: Scenario) -> None:
        """Raise on a bad option, before anything is loaded.

        Raises:
            ScenarioError: a value out of range (the message names it and the fix).
            EngineError: an unknown engine or pool.
            ImageError: the video file is missing.
        """
        if self.engine not in ENGINES:
            raise EngineError(
                f"--engine {self.engine!r} is not a stress engine; use one of {', '.join(ENGINES)}"
            )
        if not 1 <= self.workers <= MAX_WORKERS:
            raise ScenarioError(
                f"--workers {self.workers} must be between 1 and {MAX_WORKERS} (pipeline worker processes)"
            )
        if not 1 <= self.batch <= MAX_BATCH:
            raise ScenarioError(
                f"--batch {self.batch} must be between 1 and {MAX_BATCH} (frames per pipeline call)"
            )
        if not 1 <= self.queue_len <= MAX_QUEUE:
            raise ScenarioError(
                f"--queue {self.queue_len} must be between 1 and {MAX_QUEUE} (frames per camera queue)"
            )
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise ScenarioError(f"--seed {self.seed} must be between 0 and {MAX_SEED} (2**53 - 1); e.g. 7")
        if self.max_wall_s is not None and not (math.isfinite(self.max_wall_s) and self.max_wall_s > 0):
            raise ScenarioError(f"--max-wall-s {self.max_wall_s:g} must be > 0 seconds, e.g. 30")
        if not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise ScenarioError(f"--duration-s {self.duration_s:g} must be > 0 seconds, e.g. 60")
        if self.duration_s > scenario.time.duration_s:
            raise ScenarioError(
                f"--duration-s {self.duration_s:g} is longer than the scenario's window "
                f"({scenario.time.duration_s:g} s); give at most that"
            )
        n = len(scenario.cameras)
        if self.cameras is not None and not 1 <= self.cameras <= n:
            raise ScenarioError(
                f"--cameras {self.cameras} is outside 1..{n}: {scenario.name} has {n} camera(s); "
                "raise the load with --footfall-scale, or let --find-capacity add camera streams"
            )
        if not (math.isfinite(self.footfall_scale) and 0 < self.footfall_scale <= MAX_FOOTFALL_SCALE):
            raise ScenarioError(
                f"--footfall-scale {self.footfall_scale:g} must be > 0 and at most {MAX_FOOTFALL_SCALE:g} "
                "(footfall.scale's limit), e.g. 1 or 2.5"
            )
        if self.policy not in DROP_POLICIES:
            raise ScenarioError(f"--drop {self.policy!r} must be one of {', '.join(DROP_POLICIES)}")
        if self.pool not in ("processes", "threads"):
            raise EngineError(f"--pool {self.pool!r} must be 'processes' or 'threads'")
        if not (self.target_p95_s > 0):
            raise ScenarioError(f"--target-p95-s {self.target_p95_s:g} must be > 0 seconds")
        if self.video is not None and not Path(self.video).is_file():
            raise ImageError(
                f"--video {str(self.video)!r} is not a file; give a video OpenCV can read (mp4, avi)"
            )


@dataclass(kw_only=True)
class StressResult:
    """A stress run's measurements (``stress.json`` is :meth:`to_json`; ``latency.parquet`` is ``frames``).

    Attributes:
        scenario: the scenario name.
        options: the :class:`StressOptions`.
        model_id: the engine's model id.
        providers: the execution providers the workers' engines really ran on (every figure is on these).
        frames: one row per frame of the schedule (see :func:`_frame_table`).
        summary: the figures (see :meth:`to_json`).
        queue_trace: (t_s, camera id, queue length) rows.
        capacity: the capacity curve (empty unless searched).
        partial: stopped by Ctrl-C before the end.
        alerts: the alerts, one per (camera, track, watchlist identity) (``alerts.parquet``;
            :func:`twin.sim.stress.alerts.dedupe_alerts`): watchlist identities, scores and times only.
    """

    scenario: str
    options: StressOptions
    model_id: str
    providers: list[str]
    frames: pd.DataFrame
    summary: dict[str, Any]
    queue_trace: pd.DataFrame
    capacity: list[CapacityPoint]
    partial: bool
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_json(self) -> dict[str, Any]:
        """The ``stress.json`` document."""
        o = self.options
        return {
            "scenario": self.scenario,
            "partial": self.partial,
            "engine": {"kind": o.engine, "model_id": self.model_id, "providers": self.providers},
            "options": {
                "duration_s": o.duration_s,
                "cameras": o.cameras,
                "footfall_scale": o.footfall_scale,
                "workers": o.workers,
                "batch": o.batch,
                "queue_len": o.queue_len,
                "drop_policy": o.policy,
                "pacing": "realtime" if o.realtime else "fast",
                "pool": o.pool,
                "video": None if o.video is None else str(o.video),
                "seed": o.seed,
                "target_p95_s": o.target_p95_s,
            },
            **self.summary,
            "capacity": [p.to_json() for p in self.capacity],
        }


def check_providers(scenario: Scenario, engine: str) -> None:
    """Fail before any frame is loaded when CUDA is asked for and ONNX Runtime cannot provide it.

    onnxruntime-gpu silently falls back to the CPU when CUDA or cuDNN is missing; the engine's sessions
    are asked again after loading (``get_providers()``, :mod:`twin.recognition.engines.insightface`).

    Raises:
        EngineUnavailableError: CUDAExecutionProvider asked, and not among ONNX Runtime's providers.
    """
    want = [str(p) for p in scenario.engine.providers]
    if engine != "insightface" or "CUDAExecutionProvider" not in want:
        return
    try:
        import onnxruntime
    except ImportError as exc:  # pragma: no cover - a dependency
        raise EngineUnavailableError(
            "onnxruntime is not installed; pip install -c constraints.txt -e ."
        ) from exc
    have = onnxruntime.get_available_providers()
    if "CUDAExecutionProvider" not in have:
        raise EngineUnavailableError(
            f"engine.providers asks for CUDAExecutionProvider but this onnxruntime offers only "
            f"{', '.join(have)}: "
            "install onnxruntime-gpu with CUDA 13 and cuDNN 9 (bench/gpu_stress.sh), or set "
            "engine.providers: [CPUExecutionProvider]"
        )


def _scenario_for(scenario: Scenario, o: StressOptions) -> Scenario:
    """The scenario with the stress engine, window, cameras and footfall applied."""
    sim_s = min(float(scenario.time.duration_s), float(o.duration_s) + WARMUP_S)
    upd: dict[str, Any] = {
        "engine": scenario.engine.model_copy(update={"kind": o.engine}),
        "time": scenario.time.model_copy(update={"duration_s": sim_s}),
        "footfall": scenario.footfall.model_copy(
            update={"scale": scenario.footfall.scale * o.footfall_scale}
        ),
    }
    if o.cameras is not None:
        upd["cameras"] = list(scenario.cameras[: o.cameras])
    return scenario.model_copy(update=upd)


def _engine_factory(sc: Scenario) -> Callable[[], Any]:
    """A picklable engine constructor for the workers (as :func:`twin.sim.engine_setup.build_engine`)."""
    from twin.recognition.engines.registry import create_engine

    eng, gate = sc.engine, sc.capture
    if eng.kind == "dlib":
        smallest = gate.min_ied_px * math.cos(math.radians(gate.max_abs_yaw_deg))
        return functools.partial(create_engine, "dlib", expected_ied_px=max(1.0, smallest), det_scores=False)
    w = max(c.width_px for c in sc.cameras)
    h = max(c.height_px for c in sc.cameras)
    det_size = (32 * math.ceil(w / 32), 32 * math.ceil(h / 32))
    return functools.partial(
        create_engine,
        "insightface",
        model_dir=eng.model_dir,
        providers=list(eng.providers),
        det_size=det_size,
    )


def run_stress(
    scenario: Scenario,
    options: StressOptions,
    *,
    stop: threading.Event | None = None,
    on_step: Callable[[str], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> StressResult:
    """Run the stress test (see :mod:`twin.sim.stress`).

    Raises:
        ScenarioError, EngineError, ImageError: bad options (:meth:`StressOptions.check`), before anything
            is loaded.
        EngineUnavailableError: CUDA asked and not available (:func:`check_providers`), before any frame.
        ModelFolderError, WatchlistError: from the engine set-up.
    """
    from twin.sim.engine_setup import check_engine_config, resolve_threshold
    from twin.sim.realpass import live_gate

    step = on_step or (lambda _m: None)
    o = options
    o.check(scenario)
    sc = _scenario_for(scenario, o)
    check_engine_config(sc)
    check_providers(sc, o.engine)
    seed = sc.seed if o.seed is None else o.seed
    threshold, threshold_source = resolve_threshold(sc)
    factory = _engine_factory(sc)
    step(f"loading the {o.engine} engine")
    engine = factory()
    schedule, source, truth, wl, tracks, meta = _load(sc, o, engine, seed, step)
    gate = live_gate(sc)
    cfg = WorkerConfig(
        engine_factory=factory,
        watchlist=wl,
        threshold=threshold,
        gate=gate,
        source=source,
        truth=truth,
        faults=o.faults,
    )
    step(f"{len(schedule)} frames through {o.workers} {o.pool[:-2] if o.workers == 1 else o.pool}")
    try:
        driven = _drive(schedule, cfg, o, stop, progress)
    finally:
        wl.destroy()
        source.wipe()
    providers = sorted({p for ps in driven.providers for p in ps}) or engine_providers(engine)
    frames, summary, trace, alerts = figures(
        schedule,
        driven,
        workers=o.workers,
        batch=o.batch,
        queue_len=o.queue_len,
        policy=o.policy,
        realtime=o.realtime,
        seed=seed,
    )
    summary["threshold"] = {"value": threshold, "source": threshold_source}
    summary["load"].update(meta)
    capacity: list[CapacityPoint] = []
    if o.find_capacity and tracks is not None and not driven.partial:
        step("searching the sustainable load")
        capacity = _search(tracks, frames, sc, o, seed)
        if capacity:
            summary["capacity_result"] = _capacity_result(capacity, summary, o)
    return StressResult(
        scenario=sc.name,
        options=o,
        model_id=str(engine.model_id),
        providers=providers,
        frames=frames,
        summary=summary,
        queue_trace=trace,
        capacity=capacity,
        partial=driven.partial,
        alerts=alerts,
    )


def _load(
    sc: Scenario, o: StressOptions, engine: Any, seed: int, step: Callable[[str], None]
) -> tuple[
    FrameSchedule, SyntheticSource | VideoSource, dict[int, tuple[str, bool]], Any, pd.DataFrame | None, dict
]:
    """(schedule, frame source, truth per track, watchlist, tracks or None for a video, metadata)."""
    if o.video is not None:
        schedule, vsource, wl, meta = video_load(sc, o.video, o.duration_s, engine, seed)
        return schedule, vsource, {}, wl, None, meta
    return synthetic_load(sc, engine, seed, o.duration_s, step)


def _drive(
    schedule: FrameSchedule,
    cfg: WorkerConfig,
    o: StressOptions,
    stop: threading.Event | None,
    progress: Callable[[int, int], None] | None,
) -> Driven:
    return drive(
        schedule,
        cfg,
        workers=o.workers,
        batch=o.batch,
        queue_len=o.queue_len,
        policy=o.policy,
        pacing="realtime" if o.realtime else "fast",
        pool=o.pool,
        duration_s=o.duration_s if o.realtime else None,
        max_wall_s=o.max_wall_s,
        stop=stop,
        progress=progress,
    )


def _search(
    tracks: pd.DataFrame, frames: pd.DataFrame, sc: Scenario, o: StressOptions, seed: int
) -> list[CapacityPoint]:
    """The capacity curve from the service times of the decided frames (empty when none was decided)."""
    measured = frames[frames["status"] == "decided"]
    if not len(measured):
        return []
    return find_capacity(
        tracks,
        fps=float(sc.cameras[0].fps),
        base_cameras=len(sc.cameras),
        window_s=o.duration_s,
        measured_faces=measured["n_faces"].to_numpy(),
        measured_s=measured["service_s"].to_numpy(),
        workers=o.workers,
        batch=o.batch,
        queue_len=o.queue_len,
        policy=o.policy,
        rng=Streams(seed)["stress"],
        target_s=o.target_p95_s,
    )


def _capacity_result(curve: list[CapacityPoint], summary: dict[str, Any], o: StressOptions) -> dict[str, Any]:
    full = [p for p in curve if p.footfall_share == 1.0 and p.sustainable]
    shares = [p for p in curve if p.cameras == 1 and p.sustainable]
    first_fail = next((p for p in curve if not p.sustainable), None)
    stages = summary["stages_mean_s"]
    stage = (
        limiting_stage(stages, first_fail.utilisation, first_fail.p95_s, o.target_p95_s)
        if first_fail
        else "none"
    )
    return {
        "sustainable_cameras": max((p.cameras for p in full), default=0),
        "sustainable_footfall_share_at_1_camera": max((p.footfall_share for p in shares), default=0.0),
        "limiting_stage": stage,
        "target_p95_s": o.target_p95_s,
        "target_source": "assumption (no vendor or published door-to-alert figure found); "
        "see twin.sim.stress.capacity",
        "method": "trace-driven replay of the service times measured in this run, drawn by faces per frame",
    }
