"""The pipeline under load: per-camera bounded queues, a pool of W workers, a supervisor, a frame ledger.

:func:`drive` releases the frames of a :class:`~twin.sim.stress.load.FrameSchedule` into one bounded
queue per camera and hands batches of up to B frames (the oldest queued first, across cameras) to W
workers (:mod:`twin.sim.stress.worker`), in processes (default) or threads.

* **Pacing.** ``realtime``: frame i arrives at wall time start + ``t_s``; a full queue drops by the
  policy (``drop-oldest``: the oldest queued frame of that camera goes, as a live system keeps the
  freshest view; ``drop-newest``: the arriving one); arrivals stop at ``duration_s`` of wall clock and
  frames still queued then are dropped as ``run_end``. ``fast`` (as fast as possible): a frame is
  released as soon as the queues hold fewer than 2·W·B frames, so nothing is dropped and the workers
  never wait; released until every frame is in or ``max_wall_s`` has passed.
* **Faults.** A worker process that dies (killed, crashed) is replaced; the frames it held are queued
  again at the head of their cameras' queues (a frame that dies with its worker twice is failed as
  ``worker_died``); an engine error or corrupt frame fails that frame alone. Ctrl-C (or ``stop`` set)
  ends the run: no more arrivals, frames queued are dropped as ``interrupted``, frames in flight get
  :data:`GRACE_S` to finish, and the result says it is partial.
* **Ledger.** frames in = decided + dropped + failed, checked at the end (:attr:`Driven.ledger`).

Clock: ``time.monotonic`` (on Linux CLOCK_MONOTONIC, one clock for every process of the machine).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from twin.errors import EngineError
from twin.sim.stress.load import FrameSchedule
from twin.sim.stress.worker import WorkerConfig, worker_loop

__all__ = ["DROP_POLICIES", "GRACE_S", "Driven", "Ledger", "drive"]

logger = logging.getLogger(__name__)

#: Queue drop policies.
DROP_POLICIES: tuple[str, ...] = ("drop-oldest", "drop-newest")
#: Seconds frames in flight get to finish after Ctrl-C or the end of a real-time run.
GRACE_S: float = 30.0
#: Times a frame may be re-queued after its worker died before it is failed.
MAX_RETRIES: int = 2


@dataclass
class Ledger:
    """Frames in, and where each went. Balanced when ``frames_in == decided + dropped + failed``.

    Attributes:
        frames_in: frames that arrived (released into a queue).
        decided: frames the pipeline decided on (alert or none).
        dropped: by (camera id, cause): ``queue_full``, ``run_end``, ``interrupted``.
        failed: by cause: ``engine_error``, ``corrupt_frame``, ``undecodable_frame``, ``worker_died``.
    """

    frames_in: int = 0
    decided: int = 0
    dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)

    @property
    def dropped_total(self) -> int:
        return sum(self.dropped.values())

    @property
    def failed_total(self) -> int:
        return sum(self.failed.values())

    @property
    def balanced(self) -> bool:
        return self.frames_in == self.decided + self.dropped_total + self.failed_total

    def to_json(self) -> dict[str, Any]:
        by_cam: dict[str, dict[str, int]] = {}
        for (cam, cause), n in sorted(self.dropped.items()):
            by_cam.setdefault(cam, {})[cause] = n
        return {
            "frames_in": self.frames_in,
            "decided": self.decided,
            "dropped": self.dropped_total,
            "failed": self.failed_total,
            "dropped_by_camera": by_cam,
            "failed_by_cause": dict(sorted(self.failed.items())),
            "balanced": self.balanced,
        }


@dataclass
class Driven:
    """What :func:`drive` measured.

    Attributes:
        rows: one dict per frame that arrived (see :func:`drive`).
        ledger: the :class:`Ledger`.
        queue_trace: (t_s since start, camera index, queue length) at every change.
        faults: counts by kind (``engine_error``, ``corrupt_frame``, ``slow_frame``, ``worker_killed``,
            ``worker_died``, ``frames_requeued``).
        providers: per worker start, the providers its engine runs on.
        wall_s: seconds from the first release to the last decision.
        cpu_s: CPU seconds of the supervisor and every worker (user + system).
        peak_rss_bytes: the largest sum of resident memory of the supervisor and its workers sampled.
        partial: stopped by Ctrl-C (or ``stop``) before the end.
        not_released: frames of the schedule never released (``fast`` with ``max_wall_s`` reached).
    """

    rows: list[dict[str, Any]]
    ledger: Ledger
    queue_trace: list[tuple[float, int, int]]
    faults: dict[str, int]
    providers: list[list[str]]
    wall_s: float
    cpu_s: float
    peak_rss_bytes: int
    partial: bool
    not_released: int


class _Slot:
    """One worker: its process or thread, its task channel and the batch it holds."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.batch: list[int] | None = None
        self.batch_id = -1
        self.ready = False
        self.alive = True
        self.pid: int | None = None
        self.handle: Any = None
        self.send: Callable[[Any], None] = lambda _t: None
        self.cpu_s = 0.0


def _start_slot(slot: _Slot, cfg: WorkerConfig, pool: str, results: queue.Queue[Any], mp_ctx: Any) -> None:
    slot.ready, slot.alive, slot.batch = False, True, None
    if pool == "threads":
        tasks: queue.Queue[Any] = queue.Queue()
        slot.send = tasks.put
        th = threading.Thread(
            target=worker_loop,
            args=(cfg, slot.index, tasks.get, results.put),
            kwargs={"in_process": False},
            daemon=True,
            name=f"twin-stress-{slot.index}",
        )
        slot.handle = th
        th.start()
        return
    parent, child = mp_ctx.Pipe()
    proc = mp_ctx.Process(target=_process_main, args=(cfg, slot.index, child), daemon=True)
    proc.start()
    child.close()
    slot.handle, slot.pid = proc, proc.pid
    lock = threading.Lock()

    def send(task: Any) -> None:
        with lock:
            try:
                parent.send(task)
            except (BrokenPipeError, OSError):
                pass

    slot.send = send

    def reader() -> None:
        while True:
            try:
                msg = parent.recv()
            except (EOFError, OSError):
                results.put(("dead", slot.index, proc))
                return
            results.put(msg)

    threading.Thread(target=reader, daemon=True, name=f"twin-stress-read-{slot.index}").start()


def _process_main(cfg: WorkerConfig, index: int, conn: Any) -> None:
    """A worker process: tasks and results over one pipe."""
    worker_loop(cfg, index, conn.recv, conn.send, in_process=True)
    conn.close()


def drive(
    schedule: FrameSchedule,
    cfg: WorkerConfig,
    *,
    workers: int,
    batch: int = 1,
    queue_len: int = 20,
    policy: Literal["drop-oldest", "drop-newest"] = "drop-oldest",
    pacing: Literal["fast", "realtime"] = "fast",
    pool: Literal["processes", "threads"] = "processes",
    duration_s: float | None = None,
    max_wall_s: float | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Driven:
    """Run the schedule's frames through W workers (see the module docstring).

    Args:
        schedule: the frames and their arrival times.
        cfg: what each worker needs.
        workers: W >= 1.
        batch: most frames per pipeline call, B >= 1 (one embedding call and one search per call).
        queue_len: frames each camera's queue holds, >= 1.
        policy: :data:`DROP_POLICIES`.
        pacing: ``fast`` or ``realtime``.
        pool: ``processes`` or ``threads``.
        duration_s: realtime: seconds of wall clock during which frames arrive (default the window's).
        max_wall_s: fast: stop releasing after this many seconds (None: release every frame).
        stop: set it to stop as Ctrl-C does.
        progress: called as ``progress(frames settled, frames in the schedule)``.

    Returns:
        :class:`Driven`; each row has ``frame``, ``camera``, ``t_arrive`` (s since start), ``status``
        (decided | dropped | failed), ``cause``, and for processed frames ``t_start``, ``t_done`` (s since
        start), ``worker``, ``batch``, the stage seconds (``source_s``, ``detect_s``, ``embed_s``,
        ``search_s``, ``other_s``), ``faces_detected``, ``probes``, ``alerts``, ``retries``.

    Raises:
        EngineError: a worker cannot build its engine, or W, B or the queue length is below 1.
    """
    import multiprocessing as mp

    import psutil

    if workers < 1 or batch < 1 or queue_len < 1:
        raise EngineError(f"workers {workers}, batch {batch} and queue length {queue_len} must each be >= 1")
    if policy not in DROP_POLICIES:
        raise EngineError(f"drop policy {policy!r} is not one of {', '.join(DROP_POLICIES)}")
    frames = schedule.frames
    t_arr = frames["t_s"].to_numpy(float)
    cams = frames["camera"].to_numpy(int)
    cam_ids = schedule.camera_ids
    n = len(frames)
    window = schedule.duration_s if duration_s is None else duration_s
    results: queue.Queue[Any] = queue.Queue()
    mp_ctx = mp.get_context("spawn")
    slots = [_Slot(i) for i in range(workers)]
    for s in slots:
        _start_slot(s, cfg, pool, results, mp_ctx)
    ledger = Ledger()
    rows: dict[int, dict[str, Any]] = {}
    retries: dict[int, int] = {}
    queues: list[deque[int]] = [deque() for _ in cam_ids]
    trace: list[tuple[float, int, int]] = []
    faults = {
        k: 0
        for k in (
            "engine_error",
            "corrupt_frame",
            "slow_frame",
            "worker_killed",
            "worker_died",
            "frames_requeued",
        )
    }
    providers: list[list[str]] = []
    me = psutil.Process()
    peak_rss = 0
    next_i = 0
    batch_no = 0
    partial = False
    killed = cfg.faults.kill_at_s is None
    settled = 0

    def settle(f: int, status: str, cause: str = "") -> None:
        nonlocal settled
        rows[f].update(status=status, cause=cause)
        settled += 1

    def drop(f: int, cause: str) -> None:
        key = (cam_ids[cams[f]], cause)
        ledger.dropped[key] = ledger.dropped.get(key, 0) + 1
        settle(f, "dropped", cause)

    # wait for every worker's engine before the clock starts (loading is not part of the load test)
    ready = 0
    while ready < workers:
        msg = results.get(timeout=600)
        if msg[0] == "error":
            _shutdown(slots, pool)
            raise EngineError(f"stress worker {msg[1]} could not build its engine: {msg[2]}")
        if msg[0] == "ready":
            slots[msg[1]].ready = True
            providers.append(list(msg[2]))
            ready += 1
        elif msg[0] == "dead":
            _shutdown(slots, pool)
            raise EngineError(f"stress worker {msg[1]} died while loading its engine")
    t0 = time.monotonic()
    last_sample = -1.0
    stopping_at: float | None = None

    def now() -> float:
        return time.monotonic() - t0

    def queued() -> int:
        return sum(len(q) for q in queues)

    def release(f: int, t: float) -> None:
        q = queues[cams[f]]
        rows[f] = {"frame": f, "camera": cam_ids[cams[f]], "t_arrive": t, "status": "", "cause": ""}
        ledger.frames_in += 1
        if len(q) >= queue_len:
            if policy == "drop-oldest":
                drop(q.popleft(), "queue_full")
            else:
                drop(f, "queue_full")
                return
        q.append(f)
        trace.append((now(), int(cams[f]), len(q)))

    def dispatch() -> None:
        nonlocal batch_no
        for s in slots:
            if not (s.alive and s.ready and s.batch is None) or not queued():
                continue
            take: list[int] = []
            while len(take) < batch and queued():
                qi = min((i for i, q in enumerate(queues) if q), key=lambda i: rows[queues[i][0]]["t_arrive"])
                take.append(queues[qi].popleft())
                trace.append((now(), qi, len(queues[qi])))
            s.batch, s.batch_id = take, batch_no
            batch_no += 1
            s.send((s.batch_id, take))

    def finish(msg: tuple[Any, ...]) -> None:
        _, idx, bid, done_rows, cpu = msg
        s = slots[idx]
        s.cpu_s = cpu
        if bid != s.batch_id:
            return
        s.batch = None
        for r in done_rows:
            f = r["frame"]
            r["t_start"] = r["t_start"] - t0
            r["t_done"] = r["t_done"] - t0
            rows[f].update(r)
            rows[f]["retries"] = retries.get(f, 0)
            if f in cfg.faults.slow_frames:
                faults["slow_frame"] += 1
            if r["status"] == "decided":
                ledger.decided += 1
                settle(f, "decided")
            else:
                ledger.failed[r["cause"]] = ledger.failed.get(r["cause"], 0) + 1
                if r["cause"] in faults:
                    faults[r["cause"]] += 1
                settle(f, "failed", r["cause"])

    def died(idx: int) -> None:
        s = slots[idx]
        if not s.alive:
            return
        s.alive = False
        faults["worker_died"] += 1
        held = s.batch or []
        s.batch = None
        for f in reversed(held):
            retries[f] = retries.get(f, 0) + 1
            if retries[f] > MAX_RETRIES:
                ledger.failed["worker_died"] = ledger.failed.get("worker_died", 0) + 1
                settle(f, "failed", "worker_died")
                continue
            faults["frames_requeued"] += 1
            queues[cams[f]].appendleft(f)
            trace.append((now(), int(cams[f]), len(queues[cams[f]])))
        if stopping_at is None:
            _start_slot(s, cfg, pool, results, mp_ctx)
        logger.warning("stress worker %d died; %d frame(s) re-queued", idx, len(held))

    try:
        while True:
            t = now()
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            if stopping_at is None:
                if pacing == "realtime":
                    while next_i < n and t_arr[next_i] <= t and t_arr[next_i] < window:
                        release(next_i, float(t_arr[next_i]))
                        next_i += 1
                    if t >= window or next_i >= n:
                        if t >= window:
                            stopping_at = t
                            for q in queues:
                                while q:
                                    drop(q.popleft(), "run_end")
                else:
                    while (
                        next_i < n
                        and queued() < 2 * workers * batch
                        and (max_wall_s is None or t < max_wall_s)
                    ):
                        release(next_i, t)
                        next_i += 1
                    if max_wall_s is not None and t >= max_wall_s:
                        stopping_at = t
            if not killed and cfg.faults.kill_at_s is not None and t >= cfg.faults.kill_at_s:
                victim = next((s for s in slots if s.alive and s.batch and s.pid), None)
                if victim is not None and victim.pid is not None:
                    os.kill(victim.pid, signal.SIGKILL)
                    faults["worker_killed"] += 1
                    killed = True
            dispatch()
            busy = any(s.batch for s in slots)
            if not busy and not queued() and (next_i >= n or stopping_at is not None):
                break
            if stopping_at is not None and now() - stopping_at > GRACE_S:
                break
            if t - last_sample >= 0.5:
                last_sample = t
                peak_rss = max(peak_rss, _rss(me))
            wait = 0.05
            if pacing == "realtime" and next_i < n and stopping_at is None:
                wait = min(wait, max(0.0, float(t_arr[next_i]) - now()))
            try:
                msg = results.get(timeout=wait) if wait > 0 else results.get_nowait()
            except queue.Empty:
                continue
            _handle(msg, finish, died, slots, providers)
            while True:
                try:
                    _handle(results.get_nowait(), finish, died, slots, providers)
                except queue.Empty:
                    break
            if progress is not None:
                progress(settled, n)
    except KeyboardInterrupt:
        partial = True
        stopping_at = now()
        for q in queues:
            while q:
                drop(q.popleft(), "interrupted")
        deadline = time.monotonic() + GRACE_S
        while any(s.batch and s.alive for s in slots) and time.monotonic() < deadline:
            try:
                _handle(results.get(timeout=0.1), finish, died, slots, providers)
            except queue.Empty:
                pass
    finally:
        wall = now()
        peak_rss = max(peak_rss, _rss(me))
        for s in slots:  # whatever is still in flight did not finish
            for f in s.batch or []:
                drop(f, "interrupted" if partial else "run_end")
            s.batch = None
        _shutdown(slots, pool)
    cpu = sum(me.cpu_times()[:2]) if pool == "threads" else me.cpu_times()[0] + me.cpu_times()[1]
    if pool == "processes":
        cpu += sum(s.cpu_s for s in slots)
    if not ledger.balanced:  # pragma: no cover - a bug, not an input error
        logger.error("stress ledger does not balance: %s", ledger.to_json())
    return Driven(
        rows=[rows[f] for f in sorted(rows)],
        ledger=ledger,
        queue_trace=trace,
        faults=faults,
        providers=providers,
        wall_s=wall,
        cpu_s=float(cpu),
        peak_rss_bytes=int(peak_rss),
        partial=partial,
        not_released=n - next_i,
    )


def _handle(
    msg: tuple[Any, ...],
    finish: Callable[[tuple[Any, ...]], None],
    died: Callable[[int], None],
    slots: list[_Slot],
    providers: list[list[str]],
) -> None:
    kind = msg[0]
    if kind == "done":
        finish(msg)
    elif kind == "dead":
        if slots[msg[1]].handle is msg[2]:
            died(msg[1])
    elif kind == "ready":
        slots[msg[1]].ready = True
        providers.append(list(msg[2]))
    elif kind == "error":
        logger.error("stress worker %d could not restart: %s", msg[1], msg[2])


def _rss(me: Any) -> int:
    total = 0
    try:
        total = me.memory_info().rss
        for c in me.children(recursive=True):
            try:
                total += c.memory_info().rss
            except Exception:  # a child may exit meanwhile
                pass
    except Exception:
        pass
    return int(total)


def _shutdown(slots: list[_Slot], pool: str) -> None:
    for s in slots:
        s.send(None)
    for s in slots:
        h = s.handle
        if h is None:
            continue
        h.join(timeout=5)
        if pool == "processes" and h.is_alive():
            h.terminate()
            h.join(timeout=2)
