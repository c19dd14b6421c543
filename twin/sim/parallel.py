"""Replications on worker processes: local processes on this machine, a pool the caller keeps, or a
Dask cluster.

Locally (:func:`run_local`) a process pool gets the prepared context once per worker and simulates
one replication per task from its spawned seed (:func:`twin.sim.replication.simulate_replication`).
A pool the caller keeps warm between runs (the app's: :func:`process_pool`) is sent the prepared
context with each task (:func:`run_executor`). On a cluster (:func:`run_dask`) each task prepares the
scenario in its worker. Either way a replication draws only from its own seed's streams, so the
results are bit for bit those of one worker, whatever the number of workers.

No worker runs the caller's ``__main__`` module (:func:`process_pool`): under Streamlit that is the
page script, and in a user's script it may start a run at import time.

How many workers by default (:func:`resolve_workers`): every core this process may run on, unless
the run is too small to repay starting them.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import sys
import threading
import types
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import ClusterError, ScenarioError
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.budget import MAX_WORKERS
from twin.sim.context import Context
from twin.sim.replication import KeptCrowd, replicate, replicate_prepared, simulate_kept

__all__ = [
    "PARALLEL_MIN_PASSER_REPLICATIONS",
    "SCHEDULER_TIMEOUT_S",
    "available_cores",
    "collect",
    "lower_priority",
    "process_pool",
    "resolve_workers",
    "run_dask",
    "run_executor",
    "run_local",
    "warm_worker",
]

#: One replication's result: its draws, its track table (replication 0 only) and its crowd (when kept).
Result = tuple[RepData, pd.DataFrame | None, KeptCrowd | None]

#: Seconds to wait for a Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 10
#: Below this many expected passers-by summed over the replications, the default runs serially.
#: Starting the first pool of a process costs ~1.5-2.7 s on this 2-core machine (the forkserver
#: imports numpy, pandas, shapely and simpy, then forks the workers; later pools ~0.3 s), and one
#: passer-by costs ~10 us of crowd and capture work (bench/bench_crowd.py: ~3.4 s for the 337,000 of
#: a 10-hour day), so 2 workers repay their start-up from about 2 x 2 s / 10 us = 400,000
#: passer-by replications (bench/bench_main.py prints both figures).
PARALLEL_MIN_PASSER_REPLICATIONS = 400_000
#: Start method of local workers: forkserver where there is one (a clean server process forks them,
#: so no thread of the caller is copied), spawn elsewhere. Never plain fork: the caller may hold
#: threads (a progress bar, a web server).
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one), at least 1.

    >>> available_cores() >= 1
    True
    """
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity on this OS (macOS, Windows)
        return max(1, os.cpu_count() or 1)


def resolve_workers(workers: int | None, *, replications: int, expected_passers_by: float) -> int:
    """How many worker processes a run uses.

    Args:
        workers: as asked; None for the default: :func:`available_cores` (at most
            :data:`twin.sim.budget.MAX_WORKERS`), or 1 (serial, in this
            process) when there is one replication, one core, or fewer than
            :data:`PARALLEL_MIN_PASSER_REPLICATIONS` expected passers-by over all replications.
        replications: the run's replications.
        expected_passers_by: expected passers-by of one replication.

    Returns:
        workers (>= 1), never more than the replications.

    Raises:
        ScenarioError: ``workers`` < 1.

    >>> resolve_workers(None, replications=1, expected_passers_by=1e6)
    1
    >>> resolve_workers(None, replications=10, expected_passers_by=100.0)
    1
    >>> resolve_workers(4, replications=3, expected_passers_by=100.0)
    3
    """
    if workers is None:
        big = replications * expected_passers_by >= PARALLEL_MIN_PASSER_REPLICATIONS
        workers = min(available_cores(), MAX_WORKERS) if big and replications > 1 else 1
    if workers < 1:
        raise ScenarioError(f"workers {workers} must be >= 1 (1 runs the replications in this process)")
    return max(1, min(workers, replications))


_WORKER_CONTEXT: Context | None = None


def _adopt(ctx: Context) -> None:
    """Worker initialiser: keep the run's prepared context for every task of this worker."""
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = ctx


def _replicate_here(seed: np.random.SeedSequence, keep: bool, keep_crowd: bool) -> Result:
    """Worker task: one replication from the adopted context (and its crowd, if asked)."""
    if _WORKER_CONTEXT is None:  # pragma: no cover - the initialiser always ran
        raise RuntimeError("worker has no context")
    rep, tracks, kept = simulate_kept(_WORKER_CONTEXT, seed, keep_tracks=keep)
    return rep, tracks, (kept if keep_crowd else None)


def run_local(
    ctx: Context,
    seeds: list[np.random.SeedSequence],
    workers: int,
    progress: Callable[[int, int, float], None] | None,
    *,
    keep_crowds: bool = False,
) -> list[Result]:
    """Replications on ``workers`` local processes started for this run; replication 0 keeps its track
    table, each its crowd when ``keep_crowds``.

    Returns:
        (RepData, tracks or None, crowd or None) per seed, in the seeds' order.

    Raises:
        ClusterError: a worker process died or could not start.
    """
    pool = process_pool(min(workers, len(seeds)), initializer=_adopt, initargs=(ctx,))
    try:
        futs = [pool.submit(_replicate_here, s, i == 0, keep_crowds) for i, s in enumerate(seeds)]
        return collect(futs, progress)
    except (BrokenProcessPool, BrokenPipeError) as exc:
        raise ClusterError(
            f"a replication worker process died ({type(exc).__name__}: {exc}); run with workers=1 (-w 1) "
            "to run the replications in this process"
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_executor(
    ctx: Context,
    seeds: list[np.random.SeedSequence],
    executor: Executor,
    progress: Callable[[int, int, float], None] | None,
    *,
    keep_crowds: bool = False,
) -> list[Result]:
    """Replications in a process pool the caller keeps (e.g. :func:`process_pool`, warm between runs),
    each task sent the prepared context; in replication order.

    Args:
        ctx: the prepared context (sent to the workers: they load nothing).
        seeds: one seed sequence per replication.
        executor: the pool.
        progress: called as ``progress(done, total, 0.0)`` as replications finish.
        keep_crowds: return each replication's crowd too.
    """
    futs = [executor.submit(replicate_prepared, ctx, s, i == 0, keep_crowds) for i, s in enumerate(seeds)]
    return collect(futs, progress)


def collect(futs: list[Future[Any]], progress: Callable[[int, int, float], None] | None) -> list[Any]:
    """The futures' results in their order, calling ``progress(done, total, 0.0)`` as they finish.

    If waiting is interrupted (the app's page rerun stops the script with an exception, e.g. from
    ``progress``; Ctrl-C), the tasks not started yet are cancelled, so an abandoned run does not hold up
    the pool for the next one.
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


def lower_priority(niceness: int) -> None:
    """Worker initialiser: run this process ``niceness`` steps nicer (Unix ``nice``; nothing where the OS
    has none), so that interactive work on the same cores comes first."""
    if hasattr(os, "nice"):
        os.nice(int(niceness))


def warm_worker() -> int:
    """A pool worker's first task: import what a replication needs, so the first run does not wait for it
    (returns the worker's process id)."""
    import twin.sim.replication  # noqa: F401  (the crowd, capture and scoring modules with it)

    return os.getpid()


_START_LOCK = threading.Lock()


def _start_without_main(start: Callable[[], None]) -> None:
    """Start a worker process with ``__main__`` hidden: a spawned or forkserver child imports the
    parent's ``__main__`` by path, and under Streamlit that is the page script (the script runner
    installs it as ``__main__``), which a worker must not execute."""
    with _START_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")  # no __file__, no __spec__: nothing re-run
        try:
            start()
        finally:
            if main is not None:
                sys.modules["__main__"] = main


class _ForkServerProcess(multiprocessing.context.ForkServerProcess):
    def start(self) -> None:
        _start_without_main(super().start)


class _SpawnProcess(multiprocessing.context.SpawnProcess):
    def start(self) -> None:
        _start_without_main(super().start)


class _ForkServerContext(multiprocessing.context.ForkServerContext):
    Process = _ForkServerProcess


class _SpawnContext(multiprocessing.context.SpawnContext):
    Process = _SpawnProcess


def process_pool(
    workers: int, *, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> ProcessPoolExecutor:
    """A pool of ``workers`` local processes, started by :data:`START_METHOD` (never plain fork: the
    caller may hold threads), none of which runs the caller's ``__main__`` module.

    With a forkserver the replication modules are imported once, in the server, so each worker starts
    with them loaded.
    """
    if START_METHOD == "forkserver":
        mp: multiprocessing.context.BaseContext = _ForkServerContext()
        mp.set_forkserver_preload(["twin.sim.replication"])
    else:
        mp = _SpawnContext()
    return ProcessPoolExecutor(
        max_workers=max(1, int(workers)), mp_context=mp, initializer=initializer, initargs=initargs
    )


def run_dask(
    scenario: Scenario,
    seeds: list[np.random.SeedSequence],
    scheduler: str,
    progress: Callable[[int, int, float], None] | None,
) -> list[tuple[RepData, pd.DataFrame | None]]:
    """Replications on the Dask cluster at ``scheduler`` (``tcp://host:8786``).

    Raises:
        ClusterError: the scheduler cannot be reached.
    """
    from dask.distributed import Client
    from dask.distributed import as_completed as dask_completed

    n = len(seeds)
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
        for _ in dask_completed(futs):
            done += 1
            if progress is not None:
                progress(done, n, 0.0)
        return [f.result() for f in futs]
