"""Parameter sweeps on Dask: grid points x replications, one row per cell, appended to Parquet.

A sweep is the Cartesian product of ``--grid`` axes (:mod:`twin.scenario.grid`) times
replications with spawned seeds (:func:`twin.rng.replication_seeds`): cell (point p, replication r)
is replication r of point p's scenario with the sweep's root seed, so its row equals replication r of
``twin.run(point p's scenario, seed=seed, replications=R)`` (``tests/sim/test_sweep.py`` checks it).

Points that differ only in what :meth:`twin.sim.run.RunResult.rescore` may change (threshold,
watchlist size, prevalence, operations: :func:`twin.sim.run.crowd_key`) share their crowds: one task
simulates replication r of the group's crowd once and scores it for every point of the group.

Tasks run on Dask ``distributed``: a LocalCluster of worker processes by default, an existing
cluster with a scheduler address: the same code path. Rows go to disk as tasks finish
(:class:`twin.outputs.sweepstore.SweepStore`, a Parquet dataset), never into a growing list, and at
most a few tasks per worker are in flight, so memory stays flat however many cells; an interrupted
sweep resumes with only its missing cells.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.errors import ClusterError, ScenarioError
from twin.rng import Streams, replication_seeds
from twin.scenario.grid import GridPoint
from twin.scenario.specs import Scenario
from twin.scoring.metrics import COUNT_METRICS, score_replication
from twin.sim.context import Context, prepare
from twin.sim.operations import OUTCOMES, alert_stream, draw_person_variates, simulate_operations
from twin.sim.parallel import SCHEDULER_TIMEOUT_S
from twin.sim.replication import simulate_replication
from twin.sim.run import crowd_key

__all__ = [
    "CELL_METRICS",
    "SweepTask",
    "cell_rows",
    "plan_tasks",
    "run_tasks",
    "sweep_client",
]

log = logging.getLogger(__name__)

#: Per-cell metrics (columns of a sweep row besides point, replication and the axes), held once here:
#: the counts of :data:`twin.scoring.metrics.COUNT_METRICS`, per-hour rates, TPIR / FPIR / precision,
#: the operations outcomes, and the officer-hours the deployment costs.
CELL_METRICS: tuple[str, ...] = (
    *COUNT_METRICS,
    "faces_scanned_per_h", "alerts_per_h", "true_alerts_per_h", "false_alerts_per_h",
    "tpir", "fpir", "precision",
    *OUTCOMES, "stops", "arrests", "officer_hours",
)  # fmt: skip

#: Worker-side cache of prepared contexts (site, cameras, view tables), by crowd key; bounded.
_CONTEXTS: OrderedDict[str, Context] = OrderedDict()
_CONTEXTS_MAX = 4


@dataclass(frozen=True, kw_only=True)
class SweepTask:
    """One unit of work: replication ``rep`` of a crowd group, scored for each of its points.

    Attributes:
        key: the group's crowd key (:func:`twin.sim.run.crowd_key`).
        rep: replication index (0-based).
        points: grid point indices of the group.
        scenarios: their scenarios (same crowd key).
    """

    key: str
    rep: int
    points: tuple[int, ...]
    scenarios: tuple[Scenario, ...]

    def cells(self) -> list[str]:
        """The cell ids this task writes: ``p<point>-r<rep>``."""
        return [cell_id(p, self.rep) for p in self.points]


def cell_id(point: int, rep: int) -> str:
    """A cell's id.

    >>> cell_id(3, 12)
    'p3-r12'
    """
    return f"p{point}-r{rep}"


def plan_tasks(points: Sequence[GridPoint], *, seed: int, replications: int) -> list[SweepTask]:
    """The tasks of a sweep: one per (crowd group, replication), replication-major order.

    Raises:
        ScenarioError: a point uses a real engine (sweeps score with the statistical engine), or
            replications < 1, or a negative seed.
    """
    if replications < 1:
        raise ScenarioError(f"replications {replications} must be >= 1, e.g. -r 20")
    if seed < 0:
        raise ScenarioError(f"seed {seed} must be >= 0")
    groups: dict[str, list[GridPoint]] = {}
    for pt in points:
        if pt.scenario.engine.kind != "statistical":
            raise ScenarioError(
                f"grid point {pt.labels}: engine.kind {pt.scenario.engine.kind!r}; sweeps score with the "
                "statistical engine (set engine.kind=statistical, or use twin run for a real engine)"
            )
        groups.setdefault(crowd_key(pt.scenario, seed=seed, replications=replications), []).append(pt)
    return [
        SweepTask(
            key=key,
            rep=r,
            points=tuple(p.index for p in pts),
            scenarios=tuple(p.scenario for p in pts),
        )
        for r in range(replications)
        for key, pts in groups.items()
    ]


def _context(key: str, scenario: Scenario) -> Context:
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        ctx = prepare(scenario)
        _CONTEXTS[key] = ctx
        while len(_CONTEXTS) > _CONTEXTS_MAX:
            _CONTEXTS.popitem(last=False)
    else:
        _CONTEXTS.move_to_end(key)
    return ctx


def cell_rows(task: SweepTask, seed: int, replications: int) -> list[dict[str, Any]]:
    """Run one task (in a worker): simulate its replication once and score it for each point.

    Returns:
        one row per point: ``point``, ``rep``, ``cell`` and :data:`CELL_METRICS` (counts as int,
        rates as float; NaN where a rate's denominator is 0).
    """
    ss = replication_seeds(seed, replications)[task.rep]
    ctx = _context(task.key, task.scenarios[0])
    rep, _ = simulate_replication(ctx, ss, keep_tracks=False)
    rows = []
    for point, sc in zip(task.points, task.scenarios, strict=True):
        wl = sc.watchlist
        out = score_replication(
            rep,
            ctx.score_model,
            threshold=wl.threshold,
            watchlist_size=wl.size,
            prevalence=wl.prevalence,
            prevalence_dispersion=wl.prevalence_dispersion,
        )
        stream = alert_stream(rep, out, default_speed_m_s=sc.crowd.free_speed_mean_m_s)
        draws = draw_person_variates(stream.person, sc.operations, Streams(ss)["operations"])
        ops = simulate_operations(stream, sc.operations, duration_s=sc.time.duration_s, draws=draws)
        t = out.totals
        hours = sc.time.duration_s / 3600.0
        counts = np.bincount(ops.outcome.astype(np.int64), minlength=len(OUTCOMES))

        def ratio(a: float, b: float) -> float:
            return float(a) / float(b) if b else float("nan")

        row: dict[str, Any] = {"point": point, "rep": task.rep, "cell": cell_id(point, task.rep)}
        row.update({k: int(t[k]) for k in COUNT_METRICS})
        row.update(
            faces_scanned_per_h=t["faces_scanned"] / hours,
            alerts_per_h=t["alerts"] / hours,
            true_alerts_per_h=t["true_alerts"] / hours,
            false_alerts_per_h=t["false_alerts"] / hours,
            tpir=ratio(t["true_alerts"], t["watchlisted_in_zone"]),
            fpir=ratio(t["false_alerts_not_listed"], t["faces_scanned_not_listed"]),
            precision=ratio(t["true_alerts"], t["alerts"]),
        )
        row.update({name: int(counts[i]) for i, name in enumerate(OUTCOMES)})
        row.update(
            stops=int(counts[0] + counts[3]),
            arrests=int(ops.arrested.sum()),
            officer_hours=sc.operations.officers * hours,
        )
        rows.append(row)
    return rows


def sweep_client(workers: int, scheduler: str | None) -> Any:
    """A Dask ``distributed`` client: on a new LocalCluster of ``workers`` single-threaded processes, or
    connected to the scheduler at ``scheduler``.

    Raises:
        ClusterError: the scheduler cannot be reached (within :data:`SCHEDULER_TIMEOUT_S`).
        ScenarioError: workers < 1.
    """
    from dask.distributed import Client, LocalCluster

    for name in ("distributed", "distributed.scheduler", "distributed.nanny", "distributed.core"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler:
        try:
            return Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler!r} ({type(exc).__name__}); check the address "
                "(tcp://host:8786) and that the scheduler runs, or drop --scheduler to run here"
            ) from exc
    if workers < 1:
        raise ScenarioError(f"workers {workers} must be >= 1")
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return Client(cluster)


def run_tasks(
    tasks: Sequence[SweepTask],
    *,
    seed: int,
    replications: int,
    client: Any,
    on_rows: Callable[[list[dict[str, Any]]], None],
    progress: Callable[[int, int], None] | None = None,
    in_flight_per_worker: int = 2,
    limit: int | None = None,
) -> int:
    """Run ``tasks`` on ``client``, handing each finished task's rows to ``on_rows`` at once.

    At most ``in_flight_per_worker`` tasks per worker are submitted at a time and each result is
    released once handed over, so memory does not grow with the number of tasks.

    Args:
        tasks: what to run (already without the finished ones).
        seed, replications: the sweep's root seed and replication count (cell seeds).
        client: a Dask client (:func:`sweep_client`).
        on_rows: called in this process with each task's rows (e.g. appends them to the store).
        progress: called as ``progress(tasks_done, tasks_total)``.
        in_flight_per_worker: submission window per worker.
        limit: stop after this many tasks (tests: an interrupted sweep); None: all.

    Returns:
        the number of tasks run.

    Raises:
        ClusterError: a task failed on the cluster (the cause in the message).
    """
    from dask.distributed import as_completed

    todo: Iterator[SweepTask] = iter(tasks[:limit] if limit is not None else tasks)
    total = len(tasks) if limit is None else min(limit, len(tasks))
    n_workers = max(1, len(client.scheduler_info().get("workers", {})))
    window = max(1, in_flight_per_worker * n_workers)
    ac = as_completed()
    for task in _take(todo, window):
        ac.add(client.submit(cell_rows, task, seed, replications, pure=False))
    done = 0
    t0 = time.perf_counter()
    for fut in ac:
        try:
            rows = fut.result()
        except Exception as exc:
            for f in list(ac.futures):
                f.cancel()
            if isinstance(exc, ScenarioError):
                raise
            raise ClusterError(f"a sweep task failed on the cluster: {type(exc).__name__}: {exc}") from exc
        fut.release()
        on_rows(rows)
        done += 1
        if progress is not None:
            progress(done, total)
        for task in _take(todo, 1):
            ac.add(client.submit(cell_rows, task, seed, replications, pure=False))
    log.info("sweep: %d tasks in %.1f s", done, time.perf_counter() - t0)
    return done


def _take(it: Iterator[SweepTask], n: int) -> list[SweepTask]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out
