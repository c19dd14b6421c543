"""Trace-driven queue replay: the deployment's arrival times against service times measured on this box.

A stress run paced as fast as possible measures each frame's service time but not the latency it would
see at the deployment's arrival rate. :func:`replay` computes that latency exactly for a W-server queue
(one bounded FIFO queue per camera, the same drop policy and batching as :mod:`twin.sim.stress.pool`):
a free worker takes up to B frames, the oldest queued first across cameras, and is busy for the sum
of their service times. With fixed service times and periodic arrivals this is the D/D/c queue, whose
waits can be written down by hand (the tests do); with measured service times it is the G/G/c queue
of this machine. It assumes service times do not depend on how many workers are busy, which holds when
they were measured with all W workers busy (``fast`` pacing keeps them so).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["Replay", "replay"]


@dataclass(frozen=True)
class Replay:
    """Per frame: start and end of service (s, NaN if dropped), dropped flag; and the queue trace.

    Attributes:
        start_s: (F,) float64 time service began.
        done_s: (F,) float64 time of the decision.
        dropped: (F,) bool, dropped by a full queue.
        queue_trace: (t_s, camera, queue length) at every change.
    """

    start_s: np.ndarray
    done_s: np.ndarray
    dropped: np.ndarray
    queue_trace: list[tuple[float, int, int]]

    def latency_s(self, arrive_s: np.ndarray) -> np.ndarray:
        """(F,) arrival-to-decision seconds, NaN for dropped frames."""
        return self.done_s - np.asarray(arrive_s, float)


def replay(
    arrive_s: np.ndarray,
    camera: np.ndarray,
    service_s: np.ndarray,
    *,
    workers: int,
    batch: int = 1,
    queue_len: int = 20,
    policy: str = "drop-oldest",
) -> Replay:
    """Replay arrivals through W servers with per-camera bounded queues (see the module docstring).

    Args:
        arrive_s: (F,) arrival times, s, non-decreasing.
        camera: (F,) int camera index of each frame.
        service_s: (F,) service time of each frame, s (>= 0).
        workers, batch, queue_len, policy: as :func:`twin.sim.stress.pool.drive`.

    Returns:
        :class:`Replay`.

    D/D/1 at twice its capacity: arrivals every 0.5 s, service 1 s; frame n waits n·0.5 s.

    >>> r = replay(np.arange(4) * 0.5, np.zeros(4, int), np.ones(4), workers=1)
    >>> (r.done_s - np.arange(4) * 0.5).tolist()
    [1.0, 1.5, 2.0, 2.5]
    """
    arr = np.asarray(arrive_s, float)
    cam = np.asarray(camera, int)
    svc = np.asarray(service_s, float)
    n = len(arr)
    n_cam = int(cam.max()) + 1 if n else 0
    start = np.full(n, np.nan)
    done = np.full(n, np.nan)
    dropped = np.zeros(n, bool)
    queues: list[deque[int]] = [deque() for _ in range(n_cam)]
    trace: list[tuple[float, int, int]] = []
    idle = workers
    busy: list[float] = []  # completion times
    i = 0

    def dispatch(t: float) -> None:
        nonlocal idle
        while idle and any(queues):
            take: list[int] = []
            while len(take) < batch and any(queues):
                qi = min((k for k, q in enumerate(queues) if q), key=lambda k: arr[queues[k][0]])
                take.append(queues[qi].popleft())
                trace.append((t, qi, len(queues[qi])))
            end = t + float(svc[take].sum())
            start[take] = t
            done[take] = end
            heapq.heappush(busy, end)
            idle -= 1

    while i < n or busy:
        t_arr = arr[i] if i < n else np.inf
        if busy and busy[0] <= t_arr:
            t = heapq.heappop(busy)
            idle += 1
            dispatch(t)
            continue
        t = float(t_arr)
        q = queues[cam[i]]
        if len(q) >= queue_len:
            if policy == "drop-oldest":
                dropped[q.popleft()] = True
                q.append(i)
            else:
                dropped[i] = True
        else:
            q.append(i)
        trace.append((t, int(cam[i]), len(q)))
        i += 1
        dispatch(t)
    start[dropped] = np.nan
    done[dropped] = np.nan
    return Replay(start_s=start, done_s=done, dropped=dropped, queue_trace=trace)
