"""The stress pool's workers: one slot per worker, started as a ``spawn``-ed process or a thread.

A process worker talks over one pipe; a reader thread per worker forwards its messages to the
supervisor's queue and reports ``("dead", index, process)`` when the pipe closes (the worker died).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

from twin.sim.stress.worker import WorkerConfig, worker_loop

__all__ = ["Slot", "rss_bytes", "shutdown", "start_slot"]


class Slot:
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
        self.cpu0_s = 0.0  # CPU seconds the worker had used when ready (start-up: not the run's)


def start_slot(slot: Slot, cfg: WorkerConfig, pool: str, results: queue.Queue[Any], mp_ctx: Any) -> None:
    slot.ready, slot.alive, slot.batch = False, True, None
    slot.cpu_s = slot.cpu0_s = 0.0
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


def rss_bytes(me: Any) -> int:
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


def shutdown(slots: list[Slot], pool: str) -> None:
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
