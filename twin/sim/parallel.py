"""Replications in other processes: on Dask (local worker processes, or a cluster given its scheduler
address), or in a process pool the caller keeps (the app's, warm between runs).

Each Dask task prepares the scenario in its worker and simulates one replication from its spawned
seed (:func:`twin.sim.replication.replicate`); a pool task is given the prepared context instead
(:func:`twin.sim.replication.replicate_prepared`). Either way the results are the same whatever the
number of workers.
"""

from __future__ import annotations

import multiprocessing.context
import sys
import threading
import types
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.errors import ClusterError
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.replication import KeptCrowd, replicate, replicate_prepared

if TYPE_CHECKING:
    from twin.sim.context import Context

__all__ = [
    "SCHEDULER_TIMEOUT_S",
    "collect",
    "process_pool",
    "run_dask",
    "run_executor",
    "warm_worker",
]

#: Seconds to wait for a Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 10


def run_dask(
    scenario: Scenario,
    seeds: list[np.random.SeedSequence],
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int, float], None] | None,
) -> list[tuple[RepData, pd.DataFrame | None]]:
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
            futs = [client.submit(replicate, scenario, s, i == 0, pure=False) for i, s in enumerate(seeds)]
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

    tasks = [dask.delayed(replicate)(scenario, s, i == 0) for i, s in enumerate(seeds)]
    with _Progress():
        out = dask.compute(*tasks, scheduler="processes", num_workers=max(1, workers))
    return list(out)


def run_executor(
    ctx: Context,
    seeds: list[np.random.SeedSequence],
    executor: Executor,
    progress: Callable[[int, int, float], None] | None,
    *,
    keep_crowds: bool = False,
) -> list[tuple[RepData, pd.DataFrame | None, KeptCrowd | None]]:
    """Replications in a process pool, given the prepared context; in replication order.

    Args:
        ctx: the prepared context (sent to the workers: they load nothing).
        seeds: one seed sequence per replication.
        executor: e.g. a ``ProcessPoolExecutor`` (processes started with "spawn": the app's server
            runs threads, which a forked worker must not inherit).
        progress: called as ``progress(done, total, 0.0)`` as replications finish.
        keep_crowds: return each replication's crowd too.
    """
    futs = [executor.submit(replicate_prepared, ctx, s, i == 0, keep_crowds) for i, s in enumerate(seeds)]
    return collect(futs, progress)


def collect(futs: list[Future[Any]], progress: Callable[[int, int, float], None] | None) -> list[Any]:
    """The futures' results in their order, calling ``progress(done, total, 0.0)`` as they finish.

    If waiting is interrupted (the app's page rerun stops the script with an exception, e.g. from
    ``progress``), the tasks not started yet are cancelled, so an abandoned run does not hold up the
    pool for the next one.
    """
    n = len(futs)
    try:
        for done, _ in enumerate(as_completed(futs), start=1):
            if progress is not None:
                progress(done, n, 0.0)
        return [f.result() for f in futs]
    except BaseException:
        for f in futs:
            f.cancel()
        raise


def warm_worker() -> int:
    """A pool worker's first task: import what a replication needs, so the first run does not wait for it
    (returns the worker's process id)."""
    import os

    import twin.sim.replication  # noqa: F401  (the crowd, capture and scoring modules with it)

    return os.getpid()


class _Spawned(multiprocessing.context.SpawnProcess):
    """A spawned worker that does not run the parent's ``__main__`` module: under Streamlit that is the
    page script (the script runner installs it as ``__main__``), which a worker must not execute."""

    _lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            main = sys.modules.get("__main__")
            sys.modules["__main__"] = types.ModuleType("__main__")  # no __file__, no __spec__: nothing re-run
            try:
                super().start()
            finally:
                if main is not None:
                    sys.modules["__main__"] = main


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _Spawned


def process_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool for :func:`run_executor` and :func:`twin.sim.recapture.recapture`: ``workers``
    processes, spawned (not forked: a server's threads must not be inherited), none of which runs the
    parent's ``__main__`` module."""
    return ProcessPoolExecutor(max_workers=max(1, int(workers)), mp_context=_SpawnContext())
