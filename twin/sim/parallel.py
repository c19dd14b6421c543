"""Replications on worker processes: local processes on this machine, or a Dask cluster.

Locally (:func:`run_local`) a process pool gets the prepared context once per worker and simulates
one replication per task from its spawned seed (:func:`twin.sim.replication.simulate_replication`).
On a cluster (:func:`run_dask`) each task prepares the scenario in its worker. Either way a
replication draws only from its own seed's streams, so the results are bit for bit those of one
worker, whatever the number of workers.

How many workers by default (:func:`resolve_workers`): every core this process may run on, unless
the run is too small to repay starting them.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pandas as pd

from twin.errors import ClusterError, ScenarioError
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.context import Context
from twin.sim.replication import replicate, simulate_replication

__all__ = [
    "PARALLEL_MIN_PASSER_REPLICATIONS",
    "SCHEDULER_TIMEOUT_S",
    "available_cores",
    "resolve_workers",
    "run_dask",
    "run_local",
]

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
        workers: as asked; None for the default: :func:`available_cores`, or 1 (serial, in this
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
        workers = available_cores() if big and replications > 1 else 1
    if workers < 1:
        raise ScenarioError(f"workers {workers} must be >= 1 (1 runs the replications in this process)")
    return max(1, min(workers, replications))


_WORKER_CONTEXT: Context | None = None


def _adopt(ctx: Context) -> None:
    """Worker initialiser: keep the run's prepared context for every task of this worker."""
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = ctx


def _replicate_here(seed: np.random.SeedSequence, keep: bool) -> tuple[RepData, pd.DataFrame | None]:
    """Worker task: one replication from the adopted context."""
    if _WORKER_CONTEXT is None:  # pragma: no cover - the initialiser always ran
        raise RuntimeError("worker has no context")
    return simulate_replication(_WORKER_CONTEXT, seed, keep_tracks=keep)


def run_local(
    ctx: Context,
    seeds: list[np.random.SeedSequence],
    workers: int,
    progress: Callable[[int, int, float], None] | None,
) -> list[tuple[RepData, pd.DataFrame | None]]:
    """Replications on ``workers`` local processes; replication 0 keeps its track table.

    Returns:
        (RepData, tracks or None) per seed, in the seeds' order.

    Raises:
        ClusterError: a worker process died or could not start (e.g. a script that starts a run at
            import time, without an ``if __name__ == "__main__":`` guard; workers re-import it).
    """
    n = len(seeds)
    mp = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        mp.set_forkserver_preload(["twin.sim.replication"])  # imported once, in the server
    pool = ProcessPoolExecutor(
        max_workers=max(1, min(workers, n)), mp_context=mp, initializer=_adopt, initargs=(ctx,)
    )
    try:
        futs = [pool.submit(_replicate_here, s, i == 0) for i, s in enumerate(seeds)]
        for done, _ in enumerate(as_completed(futs), 1):
            if progress is not None:
                progress(done, n, 0.0)
        return [f.result() for f in futs]
    except (BrokenProcessPool, BrokenPipeError) as exc:
        raise ClusterError(
            f"a replication worker process died ({type(exc).__name__}: {exc}); run with workers=1 (-w 1), "
            'and guard a script\'s entry point with `if __name__ == "__main__":` (worker processes import it '
            "again)"
        ) from exc
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


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
