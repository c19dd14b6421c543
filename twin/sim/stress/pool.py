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
* **Frames.** The supervisor is the load generator: it composes (or decodes) the frames next in line
  for dispatch ahead of the workers, at most 3·W·B at once (:class:`~twin.sim.stress.frames.FrameStore`),
  and hands each over in shared memory (processes) or as an array (threads), so a worker's time is the
  pipeline's; the composing seconds are the row's ``compose_s``, apart from its service time.
* **Faults.** A worker process that dies (killed, crashed) is replaced; the frames it held are queued
  again at the head of their cameras' queues (a frame that dies with its worker twice is failed as
  ``worker_died``); an engine error or corrupt frame fails that frame alone. Ctrl-C (or ``stop`` set)
  ends the run: no more arrivals, frames queued are dropped as ``interrupted``, frames in flight get
  :data:`GRACE_S` to finish, and the result says it is partial.
* **Ledger.** frames in = decided + dropped + failed, checked at the end (:attr:`Driven.ledger`).

Clock: ``time.monotonic`` (on Linux CLOCK_MONOTONIC, one clock for every process of the machine).
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from twin.errors import EngineError, ImageError
from twin.sim.stress.frames import FrameStore
from twin.sim.stress.ledger import Ledger
from twin.sim.stress.load import FrameSchedule
from twin.sim.stress.slots import Slot, rss_bytes, shutdown, start_slot
from twin.sim.stress.worker import WorkerConfig

__all__ = ["DROP_POLICIES", "GRACE_S", "Driven", "Ledger", "drive"]

logger = logging.getLogger(__name__)

#: Queue drop policies.
DROP_POLICIES: tuple[str, ...] = ("drop-oldest", "drop-newest")
#: Seconds frames in flight get to finish after Ctrl-C or the end of a real-time run.
GRACE_S: float = 30.0
#: Times a frame may be re-queued after its worker died before it is failed.
MAX_RETRIES: int = 2


@dataclass(kw_only=True)
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
        ``search_s``, ``other_s``), ``faces_detected``, ``probes``, ``alerts``, ``retries``, and
        ``compose_s`` (the load generator's seconds composing it, not part of its service).

    Raises:
        EngineError: a worker cannot build its engine, or W, B or the queue length is below 1.
    """
    if workers < 1 or batch < 1 or queue_len < 1:
        raise EngineError(f"workers {workers}, batch {batch} and queue length {queue_len} must each be >= 1")
    if policy not in DROP_POLICIES:
        raise EngineError(f"drop policy {policy!r} is not one of {', '.join(DROP_POLICIES)}")
    sup = _Supervisor(
        schedule, cfg, workers=workers, batch=batch, queue_len=queue_len, policy=policy, pool=pool
    )
    sup.start()
    try:
        sup.loop(
            pacing, schedule.duration_s if duration_s is None else duration_s, max_wall_s, stop, progress
        )
    except KeyboardInterrupt:
        sup.interrupted()
    finally:
        sup.close()
    return sup.result()


class _Supervisor:
    """The state of one :func:`drive` call: queues, slots, ledger, rows, faults."""

    def __init__(
        self,
        schedule: FrameSchedule,
        cfg: WorkerConfig,
        *,
        workers: int,
        batch: int,
        queue_len: int,
        policy: str,
        pool: str,
    ) -> None:
        import dataclasses
        import multiprocessing as mp

        import psutil

        self.store = FrameStore(cfg.source, shared=pool == "processes", limit=3 * workers * batch)
        cfg = dataclasses.replace(cfg, source=None)  # the workers get ready frames, not the face bank
        self.cfg, self.workers, self.batch, self.queue_len, self.policy, self.pool = (
            cfg,
            workers,
            batch,
            queue_len,
            policy,
            pool,
        )
        frames = schedule.frames
        self.t_arr = frames["t_s"].to_numpy(float)
        self.cams = frames["camera"].to_numpy(int)
        self.cam_ids = schedule.camera_ids
        self.n = len(frames)
        self.results: queue.Queue[Any] = queue.Queue()
        self.mp_ctx = mp.get_context("spawn")
        self.slots = [Slot(i) for i in range(workers)]
        self.ledger = Ledger()
        self.rows: dict[int, dict[str, Any]] = {}
        self.retries: dict[int, int] = {}
        self.queues: list[deque[int]] = [deque() for _ in self.cam_ids]
        self.trace: list[tuple[float, int, int]] = []
        self.faults = {
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
        self.providers: list[list[str]] = []
        self.me = psutil.Process()
        self.peak_rss = 0
        self.next_i = 0
        self.batch_no = 0
        self.partial = False
        self.killed = cfg.faults.kill_at_s is None
        self.settled = 0
        self.t0 = time.monotonic()
        self.stopping_at: float | None = None
        self.cpu0 = 0.0
        self.wall = 0.0

    # -- set-up and clock ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start every worker and wait for its engine (loading is not part of the load test)."""
        for s in self.slots:
            start_slot(s, self.cfg, self.pool, self.results, self.mp_ctx)
        ready = 0
        while ready < self.workers:
            msg = self.results.get(timeout=600)
            if msg[0] in ("error", "dead"):
                shutdown(self.slots, self.pool)
                why = msg[2] if msg[0] == "error" else "it died while loading"
                raise EngineError(f"stress worker {msg[1]} could not build its engine: {why}")
            if msg[0] == "ready":
                self.ready(msg)
                ready += 1
        self.t0 = time.monotonic()
        self.cpu0 = sum(self.me.cpu_times()[:2])  # the supervisor's set-up is not the run's

    def now(self) -> float:
        return time.monotonic() - self.t0

    def queued(self) -> int:
        return sum(len(q) for q in self.queues)

    # -- frames -------------------------------------------------------------------------------------

    def ready(self, msg: tuple[Any, ...]) -> None:
        s = self.slots[msg[1]]
        s.ready = True
        s.cpu0_s = float(msg[4]) if len(msg) > 4 else 0.0
        self.providers.append(list(msg[2]))

    def settle(self, f: int, status: str, cause: str = "") -> None:
        self.rows[f].update(status=status, cause=cause)
        self.store.free(f)  # zeroed and released: decided, dropped or failed
        self.settled += 1

    def drop(self, f: int, cause: str) -> None:
        key = (self.cam_ids[self.cams[f]], cause)
        self.ledger.dropped[key] = self.ledger.dropped.get(key, 0) + 1
        self.settle(f, "dropped", cause)

    def fail(self, f: int, cause: str) -> None:
        self.ledger.failed[cause] = self.ledger.failed.get(cause, 0) + 1
        self.settle(f, "failed", cause)

    def release(self, f: int, t: float) -> None:
        q = self.queues[self.cams[f]]
        self.rows[f] = {
            "frame": f,
            "camera": self.cam_ids[self.cams[f]],
            "t_arrive": t,
            "status": "",
            "cause": "",
        }
        self.ledger.frames_in += 1
        if len(q) >= self.queue_len:
            if self.policy == "drop-oldest":
                self.drop(q.popleft(), "queue_full")
            else:
                self.drop(f, "queue_full")
                return
        q.append(f)
        self.trace.append((self.now(), int(self.cams[f]), len(q)))

    def compose(self, f: int) -> bool:
        """Compose frame f into the store (the load generator's work); False if it cannot be."""
        if f in self.store:
            return True
        try:
            self.store.compose(f)
        except ImageError as exc:
            logger.warning("frame %d: %s", f, exc)
            q = self.queues[self.cams[f]]
            if f in q:
                q.remove(f)
                self.trace.append((self.now(), int(self.cams[f]), len(q)))
            self.fail(f, "undecodable_frame")
            return False
        self.rows[f]["compose_s"] = self.store.compose_s.pop(f)
        return True

    def next_up(self, n: int) -> list[int]:
        """The next n queued frames in dispatch order (the oldest arrival first, across cameras)."""
        heads = [list(itertools.islice(q, n)) for q in self.queues if q]
        return sorted((f for h in heads for f in h), key=lambda f: (self.rows[f]["t_arrive"], f))[:n]

    def prefetch(self) -> None:
        """Compose the frames next in line, up to the store's bound."""
        for f in self.next_up(self.store.limit):
            if self.store.full():
                return
            self.compose(f)

    def dispatch(self) -> None:
        for s in self.slots:
            if not (s.alive and s.ready and s.batch is None) or not self.queued():
                continue
            take: list[int] = []
            while len(take) < self.batch and self.queued():
                qi = min(
                    (i for i, q in enumerate(self.queues) if q),
                    key=lambda i: self.rows[self.queues[i][0]]["t_arrive"],
                )
                f = self.queues[qi].popleft()
                self.trace.append((self.now(), qi, len(self.queues[qi])))
                if self.compose(f):
                    take.append(f)
            if not take:
                continue
            s.batch, s.batch_id = take, self.batch_no
            self.batch_no += 1
            s.send((s.batch_id, [self.store.refs[f] for f in take]))

    def finish(self, msg: tuple[Any, ...]) -> None:
        _, idx, bid, done_rows, cpu = msg
        s = self.slots[idx]
        s.cpu_s = cpu - s.cpu0_s
        if bid != s.batch_id:
            return
        s.batch = None
        for r in done_rows:
            f = r["frame"]
            r["t_start"] -= self.t0
            r["t_done"] -= self.t0
            self.rows[f].update(r)
            self.rows[f]["retries"] = self.retries.get(f, 0)
            if f in self.cfg.faults.slow_frames:
                self.faults["slow_frame"] += 1
            if r["status"] == "decided":
                self.ledger.decided += 1
                self.settle(f, "decided")
            else:
                if r["cause"] in self.faults:
                    self.faults[r["cause"]] += 1
                self.fail(f, r["cause"])

    def died(self, idx: int) -> None:
        s = self.slots[idx]
        if not s.alive:
            return
        s.alive = False
        self.faults["worker_died"] += 1
        held = s.batch or []
        s.batch = None
        for f in reversed(held):
            self.retries[f] = self.retries.get(f, 0) + 1
            if self.retries[f] > MAX_RETRIES:
                self.fail(f, "worker_died")
                continue
            self.faults["frames_requeued"] += 1
            self.queues[self.cams[f]].appendleft(f)
            self.trace.append((self.now(), int(self.cams[f]), len(self.queues[self.cams[f]])))
        if self.stopping_at is None:
            start_slot(s, self.cfg, self.pool, self.results, self.mp_ctx)
        logger.warning("stress worker %d died; %d frame(s) re-queued", idx, len(held))

    def handle(self, msg: tuple[Any, ...]) -> None:
        kind = msg[0]
        if kind == "done":
            self.finish(msg)
        elif kind == "dead":
            if self.slots[msg[1]].handle is msg[2]:
                self.died(msg[1])
        elif kind == "ready":
            self.ready(msg)
        elif kind == "error":
            logger.error("stress worker %d could not restart: %s", msg[1], msg[2])

    # -- the loop -----------------------------------------------------------------------------------

    def arrivals(self, pacing: str, window: float, max_wall_s: float | None, t: float) -> None:
        """Release what is due (realtime) or what keeps the workers fed (fast)."""
        if self.stopping_at is not None:
            return
        if pacing == "realtime":
            while self.next_i < self.n and self.t_arr[self.next_i] <= t and self.t_arr[self.next_i] < window:
                self.release(self.next_i, float(self.t_arr[self.next_i]))
                self.next_i += 1
            if t >= window:
                self.stopping_at = t
                for q in self.queues:
                    while q:
                        self.drop(q.popleft(), "run_end")
            return
        while (
            self.next_i < self.n
            and self.queued() < 2 * self.workers * self.batch
            and (max_wall_s is None or t < max_wall_s)
        ):
            self.release(self.next_i, t)
            self.next_i += 1
        if max_wall_s is not None and t >= max_wall_s:
            self.stopping_at = t

    def maybe_kill(self, t: float) -> None:
        kill_at = self.cfg.faults.kill_at_s
        if self.killed or kill_at is None or t < kill_at:
            return
        victim = next((s for s in self.slots if s.alive and s.batch and s.pid), None)
        if victim is not None and victim.pid is not None:
            os.kill(victim.pid, signal.SIGKILL)
            self.faults["worker_killed"] += 1
            self.killed = True

    def loop(
        self,
        pacing: str,
        window: float,
        max_wall_s: float | None,
        stop: threading.Event | None,
        progress: Callable[[int, int], None] | None,
    ) -> None:
        last_sample = -1.0
        while True:
            t = self.now()
            if stop is not None and stop.is_set():
                raise KeyboardInterrupt
            self.arrivals(pacing, window, max_wall_s, t)
            self.maybe_kill(t)
            self.dispatch()
            self.prefetch()
            busy = any(s.batch for s in self.slots)
            if not busy and not self.queued() and (self.next_i >= self.n or self.stopping_at is not None):
                return
            if self.stopping_at is not None and self.now() - self.stopping_at > GRACE_S:
                return
            if t - last_sample >= 0.5:
                last_sample = t
                self.peak_rss = max(self.peak_rss, rss_bytes(self.me))
            wait = 0.05
            if pacing == "realtime" and self.next_i < self.n and self.stopping_at is None:
                wait = min(wait, max(0.0, float(self.t_arr[self.next_i]) - self.now()))
            try:
                msg = self.results.get(timeout=wait) if wait > 0 else self.results.get_nowait()
            except queue.Empty:
                continue
            self.handle(msg)
            while True:
                try:
                    self.handle(self.results.get_nowait())
                except queue.Empty:
                    break
            if progress is not None:
                progress(self.settled, self.n)

    def interrupted(self) -> None:
        """Ctrl-C: queued frames dropped as ``interrupted``; frames in flight get :data:`GRACE_S`."""
        self.partial = True
        self.stopping_at = self.now()
        for q in self.queues:
            while q:
                self.drop(q.popleft(), "interrupted")
        deadline = time.monotonic() + GRACE_S
        while any(s.batch and s.alive for s in self.slots) and time.monotonic() < deadline:
            try:
                self.handle(self.results.get(timeout=0.1))
            except queue.Empty:
                pass

    def close(self) -> None:
        self.wall = self.now()
        self.peak_rss = max(self.peak_rss, rss_bytes(self.me))
        for s in self.slots:  # whatever is still in flight did not finish
            for f in s.batch or []:
                self.drop(f, "interrupted" if self.partial else "run_end")
            s.batch = None
        shutdown(self.slots, self.pool)
        self.store.close()

    def result(self) -> Driven:
        cpu = sum(self.me.cpu_times()[:2]) - self.cpu0
        if self.pool == "processes":
            cpu += sum(s.cpu_s for s in self.slots)
        if not self.ledger.balanced:  # pragma: no cover - a bug, not an input error
            logger.error("stress ledger does not balance: %s", self.ledger.to_json())
        return Driven(
            rows=[self.rows[f] for f in sorted(self.rows)],
            ledger=self.ledger,
            queue_trace=self.trace,
            faults=self.faults,
            providers=self.providers,
            wall_s=self.wall,
            cpu_s=float(cpu),
            peak_rss_bytes=int(self.peak_rss),
            partial=self.partial,
            not_released=self.n - self.next_i,
        )
