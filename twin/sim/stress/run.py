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

import numpy as np
import pandas as pd

from twin.errors import EngineError, EngineUnavailableError, ImageError, ScenarioError
from twin.rng import Streams
from twin.scenario.specs import Scenario
from twin.sim.stress.capacity import TARGET_P95_S, CapacityPoint, find_capacity, limiting_stage
from twin.sim.stress.load import FrameSchedule, SyntheticSource, VideoSource, frame_schedule
from twin.sim.stress.pool import DROP_POLICIES, Driven, drive
from twin.sim.stress.replay import replay
from twin.sim.stress.worker import FaultPlan, WorkerConfig, engine_providers

__all__ = ["ENGINES", "StressOptions", "StressResult", "check_providers", "run_stress"]

logger = logging.getLogger(__name__)

#: Engines ``twin stress`` runs.
ENGINES: tuple[str, ...] = ("dlib", "insightface")
#: Seconds of crowd simulated before the load window opens, so the window starts with people already in
#: view (an empty site fills in about the time a walker takes to cross it; 300 m at 1.34 m/s ≈ 220 s).
WARMUP_S: float = 240.0
#: Video frames probed for a face before a ``--video`` run starts.
VIDEO_PROBE_FRAMES: int = 12
#: Stage names of the report, in pipeline order, and the row columns they sum.
STAGES: dict[str, str] = {
    "frame source": "source_s",
    "detector": "detect_s",
    "embedder": "embed_s",
    "search": "search_s",
    "gate and alerts": "other_s",
}


@dataclass(frozen=True, kw_only=True)
class StressOptions:
    """What to run (the CLI's options).

    Attributes:
        engine: one of :data:`ENGINES` (the scenario's ``engine`` gives model folder, faces, providers).
        duration_s: load window, s (> 0): the first ``duration_s`` s of the scenario's window; with
            ``realtime`` also the wall-clock length of the run.
        cameras: use the scenario's first N cameras (None: all).
        footfall_scale: multiplies the scenario's footfall (> 0).
        workers: W pipeline workers (>= 1).
        batch: B frames per pipeline call (>= 1).
        queue_len: frames each camera's queue holds (>= 1; default 20 = 2 s at 10 fps).
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
        if self.workers < 1:
            raise ScenarioError(f"--workers {self.workers} must be >= 1 (pipeline worker processes)")
        if self.batch < 1:
            raise ScenarioError(f"--batch {self.batch} must be >= 1 (frames per pipeline call)")
        if self.queue_len < 1:
            raise ScenarioError(f"--queue {self.queue_len} must be >= 1 (frames per camera queue)")
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
        if not (math.isfinite(self.footfall_scale) and self.footfall_scale > 0):
            raise ScenarioError(f"--footfall-scale {self.footfall_scale:g} must be > 0, e.g. 1 or 2.5")
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


def _synthetic_load(
    sc: Scenario, engine: Any, seed: int, window_s: float, on_step: Callable[[str], None]
) -> tuple[FrameSchedule, SyntheticSource, dict[int, tuple[str, bool]], Any, pd.DataFrame, dict[str, Any]]:
    """The crowd's frames, their source, the truth per track, the enrolled watchlist, the tracks.

    The crowd is simulated for the warm-up and the window (``sc.time.duration_s``); frames come from the
    last ``window_s`` seconds, with times counted from the window's start.
    """
    from twin.recognition.faces.render import light_gain, render_probe
    from twin.sim.context import prepare
    from twin.sim.engine_setup import build_bank
    from twin.sim.realpass import JPEG_QUALITY, NOISE_SD, FaceCache, assign_identities, enrol_watchlist
    from twin.sim.replication import simulate_replication

    on_step("simulating the crowd")
    ctx = prepare(sc)
    rep, tracks = simulate_replication(ctx, np.random.SeedSequence(seed), keep_tracks=True)
    assert tracks is not None
    usable = tracks[(tracks["usable_captures"] > 0) & np.isfinite(tracks["ied_px"])].reset_index(drop=True)
    warmup = sc.time.duration_s - window_s
    usable["t_best_s"] = usable["t_best_s"] - warmup
    usable = usable[(usable["t_best_s"] > -30.0) & (usable["t_best_s"] < window_s + 30.0)].reset_index(
        drop=True
    )
    schedule = frame_schedule(
        usable, fps=[c.fps for c in ctx.cameras], camera_ids=[c.id for c in ctx.cameras], duration_s=window_s
    )
    on_step("enrolling the watchlist")
    rng = Streams(seed)["render"]
    bank = build_bank(sc, engine)
    faces = FaceCache(bank, engine)
    enr = enrol_watchlist(sc, engine, bank, faces, rng)
    wl_person = np.asarray(rep.u_watchlist) < sc.watchlist.prevalence
    who = assign_identities(usable, wl_person, enr, bank, rng)
    on_step(f"rendering {len(usable)} passers-by")
    probes: list[Any] = []
    for i in range(len(usable)):
        row = usable.iloc[i]
        src = who.sources[int(row["person"])]
        clock_h = ((sc.time.start_s + warmup + float(row["t_best_s"])) / 3600.0) % 24.0
        try:
            probes.append(
                render_probe(
                    bank.load(src),
                    faces(src),
                    ied_px=float(row["ied_px"]),
                    rng=rng,
                    yaw_deg=float(np.clip(row["yaw_deg"], -89.0, 89.0)),
                    blur_px=float(max(0.0, row["blur_px"])),
                    light=light_gain(clock_h),
                    noise_sd=NOISE_SD,
                    jpeg_quality=JPEG_QUALITY,
                )
            )
        except ImageError:
            probes.append(None)
    persons = usable["person"].to_numpy(int)
    truth = {i: (who.identities[int(p)], bool(wl_person[int(p)])) for i, p in enumerate(persons)}
    source = SyntheticSource(
        probes=probes,
        positions=list(zip(usable["u_px"].astype(float), usable["v_px"].astype(float), strict=True)),
        members=schedule.members,
        frame_camera=tuple(int(c) for c in schedule.frames["camera"]),
        sizes=tuple((c.width_px, c.height_px) for c in ctx.cameras),
        seed=seed,
        persons=tuple(int(p) for p in persons),
    )
    meta = {
        "watchlist": {**enr.meta, "search": "faiss ANN" if enr.watchlist.uses_ann() else "exact (numpy)"},
        "watchlisted_tracks": int(sum(1 for _, (_, w) in truth.items() if w)),
        "tracks": len(usable),
        "render_failures": sum(p is None for p in probes),
    }
    return schedule, source, truth, enr.watchlist, usable, meta


def _video_load(
    sc: Scenario, o: StressOptions, engine: Any, seed: int
) -> tuple[FrameSchedule, VideoSource, Any, dict[str, Any]]:
    """The video's frames, replayed by each camera (offset by a share of the video), and a watchlist."""
    import cv2

    from twin.recognition.fillers import add_fillers
    from twin.recognition.watchlist import Watchlist

    path = Path(o.video)  # type: ignore[arg-type]
    cap = cv2.VideoCapture(str(path))
    try:
        n_video = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 10.0
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None or n_video <= 0:
            raise ImageError(f"--video {str(path)!r} cannot be decoded by OpenCV; give an mp4/avi file")
        found = 0
        embs = []
        for k in np.linspace(0, n_video - 1, min(VIDEO_PROBE_FRAMES, n_video)).astype(int):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(k))
            ok, bgr = cap.read()
            if not ok:
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            fs = engine.detect(rgb)
            if fs:
                found += 1
                embs.append(engine.embed(rgb, fs[:1]))
                rgb[...] = 0
        if not found:
            raise ImageError(
                f"--video {str(path)!r}: no face found in {min(VIDEO_PROBE_FRAMES, n_video)} frames spread "
                "over it; "
                "a stress test needs faces to recognise: give a video of people facing the camera"
            )
    finally:
        cap.release()
    n_cams = len(sc.cameras)
    idx, cams, ts = [], [], []
    for c in range(n_cams):
        off = (c * n_video) // max(1, n_cams)
        for j in range(int(min(n_video, o.duration_s * fps))):
            idx.append((off + j) % n_video)
            cams.append(c)
            ts.append(j / fps)
    order = np.lexsort((np.array(cams), np.array(ts)))
    frames = pd.DataFrame(
        {
            "frame": np.arange(len(order), dtype=np.int64),
            "camera": np.array(cams, np.int64)[order],
            "t_s": np.array(ts, float)[order],
            "n_faces": np.ones(len(order), np.int64),  # unknown: faces as they are
        }
    )
    schedule = FrameSchedule(
        frames=frames,
        members=tuple(() for _ in order),
        camera_ids=tuple(c.id for c in sc.cameras),
        duration_s=float(o.duration_s),
    )
    # the watchlist: the first face seen in the video (a mated identity), filled to the scenario's size
    wl = Watchlist.for_engine(engine)
    from twin.recognition.watchlist import WatchlistEntry

    wl.add(np.vstack(embs[:1]).astype(np.float32), [WatchlistEntry("video-subject", str(path))])
    if sc.watchlist.size > 1:
        ref = np.vstack(embs).astype(np.float32)
        if len(ref) >= 2:
            add_fillers(wl, sc.watchlist.size - 1, Streams(seed)["render"], reference=ref)
        ref[...] = 0.0
    source = VideoSource(path=path, frame_index=tuple(int(idx[k]) for k in order))
    return (
        schedule,
        source,
        wl,
        {"watchlist": {"entries": wl.size, "fillers": wl.n_fillers}, "video_fps": fps},
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
    source: SyntheticSource | VideoSource
    if o.video is not None:
        schedule, source, wl, meta = _video_load(sc, o, engine, seed)
        truth: dict[int, tuple[str, bool]] = {}
        tracks = None
    else:
        schedule, source, truth, wl, tracks, meta = _synthetic_load(sc, engine, seed, o.duration_s, step)
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
        driven = drive(
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
    finally:
        wl.destroy()
        source.wipe()
    providers = sorted({p for ps in driven.providers for p in ps}) or engine_providers(engine)
    frames, summary, trace = _figures(schedule, driven, o, seed)
    summary["threshold"] = {"value": threshold, "source": threshold_source}
    summary["load"].update(meta)
    capacity: list[CapacityPoint] = []
    measured = frames[frames["status"] == "decided"]
    if o.find_capacity and tracks is not None and len(measured) and not driven.partial:
        step("searching the sustainable load")
        capacity = find_capacity(
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


def _pct(x: np.ndarray) -> dict[str, float | None]:
    if len(x) == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    p = np.percentile(x, [50, 95, 99])
    return {
        "p50": round(float(p[0]), 4),
        "p95": round(float(p[1]), 4),
        "p99": round(float(p[2]), 4),
        "max": round(float(x.max()), 4),
        "n": int(len(x)),
    }


def _figures(
    schedule: FrameSchedule, d: Driven, o: StressOptions, seed: int
) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame]:
    """The per-frame table, the summary figures and the queue trace."""
    sf = schedule.frames
    rows = pd.DataFrame(d.rows)
    df = sf.merge(rows.drop(columns=["camera"]), on="frame", how="left") if len(rows) else sf.copy()
    df["camera_id"] = [schedule.camera_ids[c] for c in sf["camera"]]
    for c in ("source_s", "detect_s", "embed_s", "search_s", "other_s", "t_start", "t_done", "t_arrive"):
        if c not in df:
            df[c] = np.nan
    df["status"] = df.get("status", pd.Series(index=df.index, dtype=object)).fillna("not_released")
    df["cause"] = df.get("cause", pd.Series(index=df.index, dtype=object)).fillna("")
    df["service_s"] = df[["source_s", "detect_s", "embed_s", "search_s", "other_s"]].sum(axis=1, min_count=1)
    alerts = df["alerts"] if "alerts" in df else pd.Series([[]] * len(df))
    df["alerts"] = [len(a) if isinstance(a, list) else 0 for a in alerts]
    df["true_alerts"] = [
        sum(1 for x in a if x.get("true_alert")) if isinstance(a, list) else 0 for a in alerts
    ]
    df["alert_identities"] = [
        ";".join(x["identity"] for x in a) if isinstance(a, list) else "" for a in alerts
    ]
    measured_lat = (df["t_done"] - df["t_arrive"]).where(df["status"] == "decided")
    dec = df[df["status"] == "decided"]
    faces_done = float(dec["faces_detected"].sum()) if len(dec) else 0.0
    wall = max(d.wall_s, 1e-9)
    summary: dict[str, Any] = {
        "load": {
            "frames_offered": len(sf),
            "faces_offered": int(sf["n_faces"].sum()),
            "cameras": len(schedule.camera_ids),
            "window_s": schedule.duration_s,
            "offered_frames_per_s": round(schedule.offered_frames_per_s(), 3),
            "offered_faces_per_s": round(float(sf["n_faces"].sum()) / schedule.duration_s, 3),
            "not_released": d.not_released,
        },
        "ledger": d.ledger.to_json(),
        "throughput": {
            "wall_s": round(d.wall_s, 3),
            "frames_per_s": round(d.ledger.decided / wall, 3),
            "faces_per_s": round(faces_done / wall, 3),
            "probes_per_s": round(float(dec["probes"].sum()) / wall, 3) if len(dec) else 0.0,
        },
        "stages_mean_s": {k: round(float(dec[c].mean()), 5) if len(dec) else 0.0 for k, c in STAGES.items()},
        "service_s": _pct(dec["service_s"].to_numpy(float)),
        "faults": d.faults,
        "alerts": {"total": int(df["alerts"].sum()), "true": int(df["true_alerts"].sum())},
        "resources": {
            "cpu_s": round(d.cpu_s, 2),
            "cpu_cores_busy": round(d.cpu_s / wall, 2),
            "peak_rss_mib": round(d.peak_rss_bytes / 2**20, 1),
        },
        "partial": d.partial,
    }
    trace = pd.DataFrame(d.queue_trace, columns=["t_s", "camera", "queue_len"])
    if o.realtime:
        df["latency_s"] = measured_lat
        summary["latency_s"] = _pct(measured_lat.dropna().to_numpy(float))
        summary["latency_basis"] = "measured on the wall clock (realtime pacing)"
    else:
        svc = df["service_s"].to_numpy(float).copy()
        known = np.isfinite(svc) & (df["status"].isin(["decided", "failed"])).to_numpy()
        if known.any():
            from twin.sim.stress.capacity import resample_service

            miss = ~known
            svc[miss] = resample_service(
                df["n_faces"].to_numpy()[miss],
                df["n_faces"].to_numpy()[known],
                svc[known],
                Streams(seed)["stress"],
            )
            r = replay(
                df["t_s"].to_numpy(),
                df["camera"].to_numpy(),
                svc,
                workers=o.workers,
                batch=o.batch,
                queue_len=o.queue_len,
                policy=o.policy,
            )
            lat = r.latency_s(df["t_s"].to_numpy())
            df["latency_s"] = np.where(df["status"].isin(["failed"]), np.nan, lat)
            df["replay_dropped"] = r.dropped
            summary["latency_s"] = _pct(df["latency_s"].dropna().to_numpy(float))
            by_cam: dict[str, int] = {}
            for cam in df.loc[r.dropped, "camera_id"]:
                by_cam[cam] = by_cam.get(cam, 0) + 1
            summary["replay"] = {
                "frames_in": len(df),
                "decided": int((~r.dropped & (df["status"] != "failed")).sum()),
                "dropped": int(r.dropped.sum()),
                "failed": int(
                    (df["status"] == "failed").sum() - (r.dropped & (df["status"] == "failed")).sum()
                ),
                "dropped_by_camera": {k: {"queue_full": v} for k, v in sorted(by_cam.items())},
                "service_resampled": int(miss.sum()),
            }
            summary["replay"]["balanced"] = summary["replay"]["frames_in"] == (
                summary["replay"]["decided"] + summary["replay"]["dropped"] + summary["replay"]["failed"]
            )
            trace = pd.DataFrame(r.queue_trace, columns=["t_s", "camera", "queue_len"])
        else:
            df["latency_s"] = np.nan
            summary["latency_s"] = _pct(np.zeros(0))
        summary["latency_basis"] = (
            "the deployment's arrival times replayed against the service times measured here (fast pacing; "
            "twin.sim.stress.replay)"
        )
        summary["measured_latency_s"] = _pct(measured_lat.dropna().to_numpy(float))
    trace["camera_id"] = [schedule.camera_ids[int(c)] for c in trace["camera"]]
    df = df.drop(columns=[c for c in ("batch",) if c in df])
    return df, summary, trace
