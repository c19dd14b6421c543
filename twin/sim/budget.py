"""What a run may ask of this machine, checked before any simulation: counts in range, memory estimated.

The scenario schema bounds each value (:mod:`twin.scenario.specs`); what a run asks of memory
depends on their product: people per replication (footfall x window), cameras, replications, worker
processes and, for a real engine, the watchlist's filler embeddings. :func:`check_run_request`
checks the run's own arguments (seed, replications, workers: the command line's ``--seed``, ``-r``
and ``-w`` as well as ``--set``) and :func:`check_run_memory` estimates the peak memory and refuses
above :func:`memory_limit_bytes`, naming the estimate and what to change, before a 25 GiB
``MemoryError`` minutes later.

The estimate (:func:`estimate_run_bytes`) is an upper bound measured on this project's reference
runs (Oxford Circus, 6 cameras, one replication of one hour at footfall scale 0.25-8, i.e. 8,000 to
260,000 passers-by: peak RSS 0.19-0.90 GB): 250 MB for the interpreter and libraries, per passer-by
1 kB plus 1 kB per camera while a replication is simulated, and 200 B per passer-by and
replication kept for re-scoring.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from twin.errors import ScenarioError
from twin.scenario.specs import MAX_REPLICATIONS, MAX_SEED
from twin.sim.arrivals import expected_arrivals
from twin.sim.context import Context

__all__ = [
    "BASE_BYTES",
    "BYTES_PER_PERSON",
    "BYTES_PER_PERSON_CAMERA",
    "BYTES_PER_PERSON_REPLICATION",
    "DEFAULT_MEMORY_LIMIT_GB",
    "MAX_WORKERS",
    "RunEstimate",
    "check_run_memory",
    "check_run_request",
    "estimate_run_bytes",
    "memory_limit_bytes",
]

#: Interpreter, numpy, pandas, shapely, pyproj and the site, bytes (measured: 0.19 GB at 8,000 passers-by).
BASE_BYTES = 250 * 1024**2
#: Per passer-by while a replication is simulated, bytes (module docstring).
BYTES_PER_PERSON = 1024
#: Per passer-by and camera while a replication is simulated (tracks and view-table walkers), bytes.
BYTES_PER_PERSON_CAMERA = 1024
#: Per passer-by and replication kept for re-scoring (RepData), bytes (measured ~75).
BYTES_PER_PERSON_REPLICATION = 200
#: Memory a run may plan for unless ``TWIN_MAX_MEMORY_GB`` says otherwise, GiB: a third of a 24 GiB
#: planning workstation, leaving room for the browser and the desktop.
DEFAULT_MEMORY_LIMIT_GB = 8.0
#: Most local worker processes (``--workers``); beyond one machine, run on a Dask cluster (``--scheduler``).
MAX_WORKERS = 64
#: Embedding width assumed for a real engine's fillers, floats (ArcFace 512; dlib 128).
_EMBEDDING_DIM = {"dlib": 128, "insightface": 512}


@dataclass(frozen=True, kw_only=True)
class RunEstimate:
    """What a run is expected to need.

    Attributes:
        passers_by: expected people per replication (the arrival process's integrated rate).
        peak_bytes: estimated peak memory of the run, bytes.
        limit_bytes: the limit it was checked against, bytes.
    """

    passers_by: float
    peak_bytes: float
    limit_bytes: float


def memory_limit_bytes() -> float:
    """The memory a run may plan for, bytes: ``TWIN_MAX_MEMORY_GB`` GiB, else :data:`DEFAULT_MEMORY_LIMIT_GB`.

    Raises:
        ScenarioError: ``TWIN_MAX_MEMORY_GB`` is not a positive number.
    """
    text = os.environ.get("TWIN_MAX_MEMORY_GB", "").strip()
    if not text:
        return DEFAULT_MEMORY_LIMIT_GB * 1024**3
    try:
        gb = float(text)
    except ValueError:
        gb = float("nan")
    if not gb > 0 or gb == float("inf"):
        raise ScenarioError(f"TWIN_MAX_MEMORY_GB {text!r} must be a positive number of GiB, e.g. 16")
    return gb * 1024**3


def check_run_request(*, seed: int, replications: int, workers: int | None = 1) -> None:
    """The run's own arguments in range (the same bounds as the scenario's ``seed`` and ``replications``).

    ``workers`` None is the default count, chosen later by :func:`twin.sim.parallel.resolve_workers`
    within the same bounds.

    Raises:
        ScenarioError: seed outside [0, MAX_SEED], replications outside [1, MAX_REPLICATIONS], workers
            outside [1, MAX_WORKERS] (None: the default, every core).

    >>> check_run_request(seed=1, replications=100_000)
    Traceback (most recent call last):
    ...
    twin.errors.ScenarioError: replications 100000 must be between 1 and 10000; e.g. 10 (--replications / -r)
    """
    if not 0 <= seed <= MAX_SEED:
        raise ScenarioError(f"seed {seed} must be between 0 and {MAX_SEED} (2**53 - 1); e.g. 7 (--seed)")
    if not 1 <= replications <= MAX_REPLICATIONS:
        raise ScenarioError(
            f"replications {replications} must be between 1 and {MAX_REPLICATIONS}; e.g. 10 "
            "(--replications / -r)"
        )
    if workers is not None and not 1 <= workers <= MAX_WORKERS:
        raise ScenarioError(
            f"workers {workers} must be between 1 and {MAX_WORKERS} local processes; for more, run on a Dask "
            "cluster with --scheduler"
        )


def estimate_run_bytes(ctx: Context, *, replications: int, workers: int = 1) -> RunEstimate:
    """The peak memory a run of ``ctx`` is expected to need (module docstring for the figures).

    Args:
        ctx: the prepared run (site, cameras, hourly rates).
        replications: replications.
        workers: local worker processes simulating at once (each holds one replication).

    Returns:
        :class:`RunEstimate`.
    """
    sc = ctx.scenario
    people = expected_arrivals(ctx.rates_per_h, sc.time.start_s, sc.time.duration_s)
    per_rep = people * (BYTES_PER_PERSON + BYTES_PER_PERSON_CAMERA * len(ctx.cameras))
    kept = people * BYTES_PER_PERSON_REPLICATION * replications
    at_once = max(1, min(workers, replications))
    peak = BASE_BYTES * at_once + per_rep * at_once + kept
    if sc.engine.kind in _EMBEDDING_DIM:  # fillers and the search matrix, float32
        peak += 2 * 4 * _EMBEDDING_DIM[sc.engine.kind] * sc.watchlist.size
    return RunEstimate(passers_by=people, peak_bytes=peak, limit_bytes=memory_limit_bytes())


def check_run_memory(ctx: Context, *, replications: int, workers: int = 1) -> RunEstimate:
    """Refuse a run whose estimated memory (:func:`estimate_run_bytes`) is above the limit.

    Raises:
        ScenarioError: the estimate, the limit and what to change.
    """
    est = estimate_run_bytes(ctx, replications=replications, workers=workers)
    if est.peak_bytes > est.limit_bytes:
        gib = 1024**3
        real = (
            f", and a watchlist of {ctx.scenario.watchlist.size:,} filler embeddings"
            if ctx.scenario.engine.kind in _EMBEDDING_DIM
            else ""
        )
        raise ScenarioError(
            f"this run would need about {est.peak_bytes / gib:,.1f} GiB of memory ({est.passers_by:,.0f} "
            f"passers-by per replication, {len(ctx.cameras)} cameras, {replications} replications, {workers} "
            f"worker(s){real}), over the {est.limit_bytes / gib:,.1f} GiB limit; lower footfall.scale or "
            "time.duration_s, use fewer --workers, or raise TWIN_MAX_MEMORY_GB if this machine has the memory"
        )
    return est
