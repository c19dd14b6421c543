"""One stress worker: takes batches of ready frames (composed by the supervisor), runs the pipeline.

:func:`worker_loop` runs in a worker process (``spawn``: each loads its own engine, as a box with W
recognition processes does) or in a thread; it reads tasks from ``tasks`` and writes results with
``emit``. Privacy as in ``twin run``: each frame is zeroed once decided, the pipeline zeroes every
embedding after its search, an alert keeps only its identity, score and matched person (no crop leaves
the worker), and the watchlist copy is destroyed when the worker stops.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.errors import ImageError, TwinError
from twin.recognition.engines.base import box_iou

__all__ = ["FaultPlan", "InjectedFault", "WorkerConfig", "engine_providers", "worker_loop"]

logger = logging.getLogger(__name__)


class InjectedFault(RuntimeError):
    """The error an engine raises on a frame chosen by :attr:`FaultPlan.engine_error_frames`."""


@dataclass(frozen=True, kw_only=True)
class FaultPlan:
    """Faults injected into a stress run (all empty: a healthy run).

    Attributes:
        engine_error_frames: frames on which the engine's detector raises.
        corrupt_frames: frames delivered corrupt (two colour planes instead of three: an ImageError).
        slow_frames: frames on which the engine runs ``slow_factor`` times slower.
        slow_factor: the slow-down (the issue's case: service time x 10).
        kill_at_s: seconds into the run at which one busy worker process is killed (SIGKILL), or None.
    """

    engine_error_frames: frozenset[int] = frozenset()
    corrupt_frames: frozenset[int] = frozenset()
    slow_frames: frozenset[int] = frozenset()
    slow_factor: float = 10.0
    kill_at_s: float | None = None

    @property
    def any(self) -> bool:
        """Whether any fault is planned."""
        return bool(self.engine_error_frames or self.corrupt_frames or self.slow_frames) or (
            self.kill_at_s is not None
        )


class _FaultyEngine:
    """Wraps an engine: raises on, or slows down, the images marked for it."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.raise_on: set[int] = set()
        self.slow_on: set[int] = set()
        self.slow_factor = 1.0
        self.dim = engine.dim
        if hasattr(engine, "embed_batch"):
            self.embed_batch = self._embed_batch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def _slowed(self, image: np.ndarray, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        out = fn()
        if id(image) in self.slow_on:
            time.sleep((self.slow_factor - 1.0) * (time.perf_counter() - t0))
        return out

    def detect(self, image: np.ndarray) -> Any:
        if id(image) in self.raise_on:
            raise InjectedFault("injected engine fault")
        return self._slowed(image, lambda: self._engine.detect(image))

    def embed(self, image: np.ndarray, faces: Any) -> Any:
        return self._slowed(image, lambda: self._engine.embed(image, faces))

    def _embed_batch(self, images: Any, faces: Any) -> Any:
        return self._engine.embed_batch(images, faces)


def engine_providers(engine: Any) -> list[str]:
    """The execution providers an engine's sessions really run on (``session.get_providers()``, which
    :class:`~twin.recognition.engines.insightface.InsightFaceEngine` stores in ``providers``), or a
    one-item list naming a non-ONNX engine's device."""
    provs = getattr(engine, "providers", None)
    if provs:
        return [str(p) for p in provs]
    return [str(getattr(engine, "device", "dlib on the CPU (no ONNX Runtime)"))]


@dataclass(kw_only=True)
class WorkerConfig:
    """What a worker needs (picklable: it travels to ``spawn``-ed processes).

    Attributes:
        engine_factory: builds the engine (a top-level callable or a ``functools.partial`` of one).
        watchlist: the :class:`~twin.recognition.watchlist.Watchlist` (a copy per process).
        threshold: alert threshold on the engine's scale.
        gate: the :class:`~twin.recognition.pipeline.QualityGate`.
        source: a :class:`~twin.sim.stress.load.SyntheticSource` or ``VideoSource``: the supervisor
            composes from it (:mod:`twin.sim.stress.frames`); the workers get None and ready frames.
        truth: per track row, (identity shown, watchlisted) for synthetic frames.
        faults: the :class:`FaultPlan`.
    """

    engine_factory: Callable[[], Any]
    watchlist: Any
    threshold: float
    gate: Any
    source: Any
    truth: dict[int, tuple[str, bool]] = field(default_factory=dict)
    faults: FaultPlan = field(default_factory=FaultPlan)


def _alert_row(
    a: Any, rows: list[int], boxes: np.ndarray, truth: dict[int, tuple[str, bool]]
) -> dict[str, Any]:
    """What the stress report keeps of an alert: no crop, no embedding."""
    best, best_iou = -1, 0.0
    for r, b in zip(rows, boxes, strict=True):
        v = box_iou(a.box, b)
        if v > best_iou:
            best, best_iou = r, v
    row = best if best_iou >= 0.3 else -1
    shown, listed = truth.get(row, (None, False))
    true = None if not truth else bool(listed and not a.is_filler and a.identity == shown)
    return {
        "identity": a.identity,
        "score": round(float(a.score), 4),
        "filler": bool(a.is_filler),
        "track": int(row),
        "true_alert": true,
    }


def worker_loop(
    cfg: WorkerConfig,
    index: int,
    get_task: Callable[[], Any],
    emit: Callable[[tuple[Any, ...]], None],
    *,
    in_process: bool,
) -> None:
    """Serve tasks until a ``None`` task: each task is ``(batch, [FrameRef, ...])``
    (:class:`~twin.sim.stress.frames.FrameRef`).

    Emits ``("ready", index, providers, pid, cpu_s)`` once the engine is loaded, ``("done", index, batch,
    rows, cpu_s)`` per task (one row dict per frame, see :func:`_process`), and ``("error", index,
    message)`` if the engine cannot be built.
    """
    from twin.recognition.pipeline import RecognitionPipeline

    if in_process:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the supervisor's to handle
    try:
        engine = _FaultyEngine(cfg.engine_factory())
    except TwinError as exc:
        emit(("error", index, str(exc)))
        return
    engine.slow_factor = cfg.faults.slow_factor
    pipe = RecognitionPipeline(
        engine, cfg.watchlist, threshold=cfg.threshold, gate=cfg.gate, k=5, detect_workers=1
    )
    emit(
        (
            "ready",
            index,
            engine_providers(engine._engine),
            os.getpid(),
            time.process_time() if in_process else 0.0,
        )
    )
    try:
        while True:
            task = get_task()
            if task is None:
                break
            batch, frames = task
            rows = _process(cfg, engine, pipe, index, batch, frames)
            emit(("done", index, batch, rows, time.process_time() if in_process else 0.0))
    finally:
        pipe.close()
        if in_process:
            cfg.watchlist.destroy()
            if cfg.source is not None:
                cfg.source.wipe()


def _process(
    cfg: WorkerConfig, engine: _FaultyEngine, pipe: Any, index: int, batch: int, refs: list[Any]
) -> list[dict[str, Any]]:
    """Map the ready frames, run them through the pipeline together, and describe each.

    A batch whose call raises is run again frame by frame, so one bad frame fails alone and every
    healthy frame of the batch still gets its decision (and its alerts).
    """
    from twin.recognition.pipeline import FrameInput
    from twin.sim.stress.frames import open_frame

    t_start = time.monotonic()
    loaded: list[tuple[int, np.ndarray, list[int], np.ndarray, float]] = []
    out: dict[int, dict[str, Any]] = {}
    frames = [r.frame for r in refs]
    handles: list[Any] = []
    views: list[np.ndarray] = []
    for ref in refs:
        f = ref.frame
        t0 = time.perf_counter()
        try:
            img, handle = open_frame(ref)
        except (OSError, ValueError) as exc:  # the block is gone: the supervisor dropped it meanwhile
            out[f] = _row(f, index, batch, t_start, "failed", "undecodable_frame", time.perf_counter() - t0)
            logger.warning("frame %d: %s", f, exc)
            continue
        handles.append(handle)
        views.append(img)
        rows, boxes = list(ref.rows), ref.boxes
        if f in cfg.faults.corrupt_frames:
            img = np.ascontiguousarray(img[:, :, :2])
        if f in cfg.faults.engine_error_frames:
            engine.raise_on.add(id(img))
        if f in cfg.faults.slow_frames:
            engine.slow_on.add(id(img))
        loaded.append((f, img, rows, boxes, time.perf_counter() - t0))
    inputs = [FrameInput(image=img, t_s=0.0, camera_id=str(f)) for f, img, *_ in loaded]
    try:
        groups = [(loaded, pipe.process_batch(inputs), pipe.last_batch)] if loaded else []
    except Exception:  # any engine failure: isolate the bad frame
        groups = []
        for item, inp in zip(loaded, inputs, strict=True):
            try:
                groups.append(([item], pipe.process_batch([inp]), pipe.last_batch))
            except Exception as exc:  # one frame fails, the run goes on
                f = item[0]
                cause = "corrupt_frame" if isinstance(exc, ImageError) else "engine_error"
                out[f] = _row(f, index, batch, t_start, "failed", cause, item[4])
    for items, results, stats in groups:
        _describe(cfg, items, results, stats, index, batch, t_start, out)
    for _f, img, *_ in loaded:
        engine.raise_on.discard(id(img))
        engine.slow_on.discard(id(img))
        if img.flags.writeable:
            img[...] = 0  # the frame held non-matched faces: gone at once
    for v in views:
        v[...] = 0
    for held in (views, loaded, inputs, groups):
        held.clear()
    img = np.zeros(0, np.uint8)  # the last view, too
    for h in handles:
        if h is not None:
            try:
                h.close()
            except BufferError:  # a view still referenced: the mapping closes when it is collected
                logger.debug("a frame view outlived its batch")
    t_done = time.monotonic()
    rows_out = [out[f] for f in frames]
    for r in rows_out:
        r["t_done"] = t_done
    return rows_out


def _row(
    f: int, index: int, batch: int, t_start: float, status: str, cause: str, source_s: float
) -> dict[str, Any]:
    return {
        "frame": f,
        "worker": index,
        "batch": batch,
        "t_start": t_start,
        "status": status,
        "cause": cause,
        "source_s": source_s,
        "detect_s": 0.0,
        "embed_s": 0.0,
        "search_s": 0.0,
        "other_s": 0.0,
        "faces_detected": 0,
        "probes": 0,
        "alerts": [],
    }


def _describe(
    cfg: WorkerConfig,
    items: list[tuple[int, np.ndarray, list[int], np.ndarray, float]],
    results: list[list[Any]],
    stats: Any,
    index: int,
    batch: int,
    t_start: float,
    out: dict[int, dict[str, Any]],
) -> None:
    """One row per frame of a successful pipeline call; shared stages are split by probes (embed,
    search) or evenly (the rest)."""
    n = len(items)
    probes = sum(stats.probes) if stats is not None else 0
    other = (stats.total_s - sum(stats.detect_s) - stats.embed_s - stats.search_s) if stats else 0.0
    for j, ((f, _img, rows, boxes, source_s), alerts) in enumerate(zip(items, results, strict=True)):
        r = _row(f, index, batch, t_start, "decided", "", source_s)
        if stats is not None:
            share = stats.probes[j] / probes if probes else 0.0
            r.update(
                detect_s=stats.detect_s[j],
                embed_s=stats.embed_s * share,
                search_s=stats.search_s * share,
                other_s=max(0.0, other) / n,
                faces_detected=stats.faces[j],
                probes=stats.probes[j],
            )
        r["alerts"] = [_alert_row(a, rows, boxes, cfg.truth) for a in alerts]
        out[f] = r
