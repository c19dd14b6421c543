"""One planning run: scenario -> site -> crowd -> captures -> scores -> metrics (``twin.run``).

:func:`run` is the facade the CLI, the app and the tests call. Replications use spawned seeds
(:func:`twin.rng.replication_seeds`), so a run reproduces bit-for-bit from its seed whatever the
number of worker processes; with ``workers > 1`` they run in local processes
(:func:`twin.sim.parallel.run_local`; ``workers=None`` picks every core for a run big enough to repay
starting them, :func:`twin.sim.parallel.resolve_workers`), or on a Dask cluster given its scheduler
address.

Its stages, each in its own module: :func:`twin.sim.context.prepare` (site, cameras, view
tables, thresholds), :func:`twin.sim.replication.simulate_replication` (or
:mod:`twin.sim.parallel`), scoring (:mod:`twin.scoring`), operations
(:mod:`twin.sim.operations`) and, for a real engine, :func:`twin.sim.realpass.run_real_engine`.
:func:`crowd_key` names what the simulated crowd depends on: everything but what
:meth:`RunResult.rescore` may change.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin._version import __version__
from twin.errors import EngineError, ScenarioError
from twin.recognition.engines.base import check_threshold
from twin.rng import replication_seeds
from twin.scenario.load import load_scenario, scenario_hash
from twin.scenario.specs import OperationsSpec, Scenario
from twin.scoring.equitability import equitability_summary
from twin.scoring.metrics import Outcome, RepData, score_replication, summarise
from twin.scoring.summary import CrowdFigures, RunMeta, RunSummary, SiteMeta, WindowMeta
from twin.sim.arrivals import expected_arrivals
from twin.sim.budget import check_run_memory, check_run_request
from twin.sim.context import Context, prepare
from twin.sim.operations import OpsResult, run_operations
from twin.sim.parallel import resolve_workers, run_dask, run_executor, run_local
from twin.sim.replication import KeptCrowd, simulate_kept
from twin.world.site import Site

if TYPE_CHECKING:
    from twin.sim.realsummary import RealEngineRun

__all__ = ["RESCORABLE", "RunResult", "crowd_key", "run", "score_replications"]

log = logging.getLogger(__name__)

#: What :meth:`RunResult.rescore` can change without a new crowd: these watchlist keys, and the
#: whole ``operations`` block. Everything else in a scenario (and the seed and replications) shapes
#: the crowd and its captures.
RESCORABLE: dict[str, tuple[str, ...] | None] = {
    "watchlist": ("threshold", "size", "prevalence", "prevalence_dispersion", "prevalence_fitted"),
    "operations": None,
}


def crowd_key(
    scenario: Scenario, *, seed: int | None = None, replications: int | None = None, cameras: bool = True
) -> str:
    """sha256 (hex) of what a run's simulated crowd depends on: two scenarios with the same key share it.

    Left out: :data:`RESCORABLE` (what :meth:`RunResult.rescore` changes) and the labels ``name``
    and ``description``. In: everything else, the seed and the replications (default: the
    scenario's), and the site map by its resolved path. With ``cameras=False`` the cameras are left
    out too: scenarios with that key in common differ only in their cameras, and a run of one that
    kept its crowds serves the others (:mod:`twin.sim.recapture`, unless zone avoidance changes the
    crowd).

    >>> from twin.scenario.specs import Scenario
    >>> cam = {"id": "c", "lat": 51.5, "lon": -0.1}
    >>> a = Scenario.model_validate({"name": "a", "site": {"map": "m.geojson"}, "cameras": [cam]})
    >>> stricter = a.watchlist.model_copy(update={"threshold": 0.64})
    >>> b = a.model_copy(update={"name": "b", "watchlist": stricter})
    >>> crowd_key(a) == crowd_key(b), crowd_key(a) == crowd_key(a, seed=1)
    (True, False)
    """
    doc = scenario.model_dump(mode="json")
    for section, keys in RESCORABLE.items():
        if keys is None:
            doc.pop(section, None)
        else:
            for k in keys:
                doc[section].pop(k, None)
    for k in ("name", "description"):  # labels, not inputs of the simulation
        doc.pop(k, None)
    if not cameras:
        doc.pop("cameras", None)
    doc["site"]["map"] = str(Path(doc["site"]["map"]).resolve())
    doc["seed"] = scenario.seed if seed is None else int(seed)
    doc["replications"] = scenario.replications if replications is None else int(replications)
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(kw_only=True)
class RunResult:
    """A finished run: what was simulated, the summary, and the data to re-score or inspect.

    Attributes:
        scenario, context: the input and its prepared site, cameras and view tables.
        seed: root seed.
        reps: per-replication stored draws (:class:`twin.scoring.metrics.RepData`).
        outcomes: per-replication alerts under the scenario's watchlist settings.
        summary: the typed :class:`~twin.scoring.summary.RunSummary` (``summary.to_json()`` is
            ``summary.json``: deterministic, no timestamps).
        tracks: replication 0's person x camera table (the events), a DataFrame.
        timings: wall-clock seconds per phase.
        operations: per-replication review and response of the alerts (:mod:`twin.sim.operations`).
        real: with ``engine.kind`` dlib or insightface, the real pipeline's pass over replication 0
            (:class:`twin.sim.realsummary.RealEngineRun`: its summary section, the alerts with their review
            crops, audit entries); None for statistical runs.
        crowds: each replication's crowd when the run was asked to keep them (``keep_crowds``), so
            that other cameras can be placed in it (:func:`twin.sim.recapture.recapture`); else empty.
        workers: local worker processes the replications ran on (1: in this process).
    """

    scenario: Scenario
    context: Context
    seed: int
    reps: list[RepData]
    outcomes: list[Outcome]
    summary: RunSummary
    tracks: pd.DataFrame
    timings: dict[str, float]
    operations: list[OpsResult] = field(default_factory=list)
    real: RealEngineRun | None = None
    crowds: list[KeptCrowd] = field(default_factory=list)
    workers: int = 1

    def rescore_as(self, scenario: Scenario) -> RunSummary:
        """The summary under ``scenario``'s watchlist and operations settings, for a scenario with this
        run's :func:`crowd_key` (it differs only in what :data:`RESCORABLE` lists).

        Raises:
            ScenarioError: as :meth:`rescore`.
        """
        wl = scenario.watchlist
        _, summary = self.rescore(
            threshold=wl.threshold,
            watchlist_size=wl.size,
            prevalence=wl.prevalence,
            prevalence_dispersion=wl.prevalence_dispersion,
            operations=scenario.operations,
        )
        return summary

    def rescore(
        self,
        *,
        threshold: float | None = None,
        watchlist_size: int | None = None,
        prevalence: float | None = None,
        officers: int | None = None,
        operations: OperationsSpec | None = None,
        prevalence_dispersion: float | None = None,
    ) -> tuple[list[Outcome], RunSummary]:
        """Outcomes and summary under other watchlist or operations settings, without re-simulating the crowd.

        ``officers`` overrides the officer count of ``operations`` (default: the scenario's block);
        the summary's ``operations`` section is recomputed from the same "operations" streams.

        Raises:
            ScenarioError: threshold outside the engine's score range, size < 1, prevalence outside [0, 1],
                officers < 0.
        """
        wl = self.scenario.watchlist
        t = self.context.stat_threshold if threshold is None else float(threshold)
        n = wl.size if watchlist_size is None else int(watchlist_size)
        p = wl.prevalence if prevalence is None else float(prevalence)
        d = wl.prevalence_dispersion if prevalence_dispersion is None else float(prevalence_dispersion)
        try:
            check_threshold(self.context.score_model, t)
        except EngineError as exc:
            raise ScenarioError(f"threshold: {exc}") from exc
        if n < 1:
            raise ScenarioError(f"watchlist size {n} must be >= 1")
        if not 0 <= p <= 1:
            raise ScenarioError(f"prevalence {p} must be in [0, 1]")
        if not 0 <= d <= 100:
            raise ScenarioError(f"prevalence dispersion {d} must be in [0, 100]")
        outs = [
            score_replication(
                r,
                self.context.score_model,
                threshold=t,
                watchlist_size=n,
                prevalence=p,
                prevalence_dispersion=d,
            )
            for r in self.reps
        ]
        summ = summarise(
            outs,
            duration_s=self.scenario.time.duration_s,
            model=self.context.score_model,
            threshold=t,
            watchlist_size=n,
            prevalence=p,
            prevalence_dispersion=d,
        )
        summ = summ.replace(
            equitability=equitability_summary(
                self.context.score_model, self.scenario.population, self.reps, threshold=t, watchlist_size=n
            ),
            operations=self._operations(outs, operations or self.scenario.operations, officers)[1],
        )
        return outs, summ

    def _operations(
        self, outcomes: list[Outcome], spec: OperationsSpec, officers: int | None = None
    ) -> tuple[list[OpsResult], Any]:
        sc = self.scenario
        return run_operations(
            self.reps,
            outcomes,
            replication_seeds(self.seed, len(self.reps)),
            spec,
            duration_s=sc.time.duration_s,
            default_speed_m_s=sc.crowd.free_speed_mean_m_s,
            officers=officers,
        )


def _metadata(ctx: Context, seed: int, replications: int) -> RunMeta:
    sc = ctx.scenario
    site = ctx.site
    return RunMeta(
        scenario=sc.name,
        scenario_sha256=scenario_hash(sc),
        site=SiteMeta(
            id=site.id,
            name=site.name,
            map_sha256=site.sha256,
            approximate=site.approximate,
            area_m2=round(site.area_m2, 1),
            routes=len(site.routes),
        ),
        seed=seed,
        replications=replications,
        twin_version=__version__,
        engine={
            "kind": sc.engine.kind,
            "model_id": ctx.score_model.model_id,
            "params": ctx.score_model.to_dict(),
        },
        real_engine=(
            {
                "kind": sc.engine.kind,
                "threshold": ctx.real_threshold,
                "statistical_threshold": ctx.stat_threshold,
            }
            if ctx.real_threshold is not None
            else None
        ),
        window=WindowMeta(
            start=sc.time.start,
            duration_s=sc.time.duration_s,
            expected_passers_by=round(
                expected_arrivals(ctx.rates_per_h, sc.time.start_s, sc.time.duration_s), 1
            ),
        ),
        cameras=tuple(c.id for c in ctx.cameras),
        warnings=tuple(ctx.warnings),
    )


def run(
    scenario: Scenario | str | Path,
    *,
    seed: int | None = None,
    replications: int | None = None,
    overrides: tuple[str, ...] | list[str] = (),
    workers: int | None = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    on_stage: Callable[[str], None] | None = None,
    executor: Executor | None = None,
    keep_crowds: bool = False,
    site: Site | None = None,
    view_tables: MutableMapping[str, Any] | None = None,
) -> RunResult:
    """Run a scenario: replications of the crowd, captures and scores, and their summary.

    With ``engine.kind`` dlib or insightface the replications are simulated and scored by the
    statistical engine as usual (labelled so), and replication 0's usable captures, at most
    ``engine.max_real_probes`` of them (default 200), are then rendered as faces and run through
    the real recognition pipeline (:mod:`twin.sim.realpass`); its figures are ``summary["real_engine"]``.
    The engine and face bank are built before the simulation, so a bad model folder fails fast.

    Args:
        scenario: a :class:`Scenario` or the path of a scenario YAML.
        seed: root seed (default: the scenario's).
        replications: how many (default: the scenario's).
        overrides: ``key.path=value`` overrides when ``scenario`` is a path.
        workers: local worker processes for replications: 1 in this process (the default); None for
            every core this process may use when the run is big enough to repay starting them
            (:func:`twin.sim.parallel.resolve_workers`; the ``twin`` command's default). Results are
            the same bit for bit whatever the number. Worker processes import the caller's main
            module again: a script must guard its entry point (``if __name__ == "__main__":``).
        scheduler: a Dask scheduler address (``tcp://host:8786``) to run replications on a cluster.
        progress: called as ``progress(done_replications, total, share_of_current_done)``.
        on_stage: called with a short description when a real-engine stage starts.
        executor: a process pool (``concurrent.futures``) to run replications in, given the context.
        keep_crowds: keep the crowds (``RunResult.crowds``) for camera edits (:mod:`twin.sim.recapture`).
        site, view_tables: the site loaded, a cache of view tables (:func:`twin.sim.context.prepare`).

    Returns :class:`RunResult`.

    Raises:
        TwinError: any invalid input (see :func:`prepare` and :func:`twin.scenario.load.load_scenario`);
            seed, replications or workers out of range, or more memory than the limit
            (:mod:`twin.sim.budget`), before any simulation.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, overrides)
    seed = scenario.seed if seed is None else int(seed)
    reps_n = scenario.replications if replications is None else int(replications)
    check_run_request(seed=seed, replications=reps_n, workers=workers)
    t_start = time.perf_counter()

    def budget(c: Context) -> None:
        check_run_memory(c, replications=reps_n, workers=_workers_for(c, workers, reps_n))

    ctx, engine, bank = _prepare(scenario, on_stage, budget=budget, site=site, view_tables=view_tables)
    seeds = replication_seeds(seed, reps_n)
    n_workers = _workers_for(ctx, workers, reps_n)
    results = _simulate(
        ctx, seeds, workers=n_workers, scheduler=scheduler, progress=progress, executor=executor,
        keep_crowds=keep_crowds,
    )  # fmt: skip
    t_sim = time.perf_counter()
    reps = [r for r, _, _ in results]
    tracks = results[0][1] if results[0][1] is not None else pd.DataFrame()
    crowds = [c for _, _, c in results if c is not None]
    outcomes, summary, ops = score_replications(ctx, reps, seeds, seed)
    timings = {"simulate_s": t_sim - t_start, "score_s": time.perf_counter() - t_sim}
    real = None
    if engine is not None and bank is not None:
        real = _real_pass(ctx, reps[0], tracks, seeds[0], engine, bank, on_stage)
        summary = summary.replace(real_engine=real.summary)
        timings["real_engine_s"] = real.elapsed_s
    return RunResult(
        scenario=scenario, context=ctx, seed=seed, reps=reps, outcomes=outcomes, summary=summary,
        tracks=tracks, timings=timings, operations=ops, real=real, crowds=crowds,
        workers=1 if scheduler else n_workers,
    )  # fmt: skip


def _prepare(
    scenario: Scenario,
    on_stage: Callable[[str], None] | None,
    *,
    budget: Callable[[Context], Any],
    site: Site | None = None,
    view_tables: MutableMapping[str, Any] | None = None,
) -> tuple[Context, Any, Any]:
    """The run's context, and for a real engine the engine and face bank (checked before anything heavy:
    ``budget`` checks the prepared context's memory estimate first; ``site`` and ``view_tables`` as
    :func:`twin.sim.context.prepare`)."""
    if scenario.engine.kind == "statistical":
        ctx = prepare(scenario, site=site, view_tables=view_tables)
        budget(ctx)
        return ctx, None, None
    from twin.sim.engine_setup import build_bank, build_engine, check_engine_config

    check_engine_config(scenario)
    ctx = prepare(scenario)
    budget(ctx)
    if on_stage is not None:
        on_stage(f"loading the {scenario.engine.kind} engine and the face bank")
    engine = build_engine(scenario)
    return ctx, engine, build_bank(scenario, engine)


def _workers_for(ctx: Context, workers: int | None, replications: int) -> int:
    """The local worker processes a run of ``ctx`` uses (None: every core, unless the run is too small
    to repay starting them; :func:`twin.sim.parallel.resolve_workers`)."""
    sc = ctx.scenario
    expected = expected_arrivals(ctx.rates_per_h, sc.time.start_s, sc.time.duration_s)
    return resolve_workers(workers, replications=replications, expected_passers_by=expected)


def _simulate(
    ctx: Context,
    seeds: list[np.random.SeedSequence],
    *,
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int, float], None] | None,
    executor: Executor | None = None,
    keep_crowds: bool = False,
) -> list[tuple[RepData, pd.DataFrame | None, KeptCrowd | None]]:
    """Every replication (replication 0 keeps its track table, each its crowd if asked): in the caller's
    process pool, on a Dask cluster, on local worker processes, or here."""
    n = len(seeds)
    if executor is not None:
        return run_executor(ctx, seeds, executor, progress, keep_crowds=keep_crowds)
    if scheduler:
        return [(r, t, None) for r, t in run_dask(ctx.scenario, seeds, scheduler, progress)]
    if workers > 1:
        return run_local(ctx, seeds, workers, progress, keep_crowds=keep_crowds)
    results: list[tuple[RepData, pd.DataFrame | None, KeptCrowd | None]] = []
    for i, s in enumerate(seeds):

        def cb(frac: float, i: int = i) -> None:
            if progress is not None:
                progress(i, n, frac)

        rep, tracks, kept = simulate_kept(ctx, s, keep_tracks=(i == 0), progress=cb)
        results.append((rep, tracks, kept if keep_crowds else None))
    if progress is not None:
        progress(n, n, 1.0)
    return results


def score_replications(
    ctx: Context, reps: list[RepData], seeds: list[np.random.SeedSequence], seed: int
) -> tuple[list[Outcome], RunSummary, list[OpsResult]]:
    """Alerts of every replication under the scenario's watchlist, the summary, and operations.

    Args:
        ctx: the run's context.
        reps: each replication's stored draws.
        seeds: each replication's seed sequence (the operations streams).
        seed: the root seed (recorded).
    """
    scenario, model = ctx.scenario, ctx.score_model
    wl = scenario.watchlist
    t_stat = ctx.stat_threshold
    outcomes = [
        score_replication(
            r,
            model,
            threshold=t_stat,
            watchlist_size=wl.size,
            prevalence=wl.prevalence,
            prevalence_dispersion=wl.prevalence_dispersion,
        )
        for r in reps
    ]
    core = summarise(
        outcomes,
        duration_s=scenario.time.duration_s,
        model=model,
        threshold=t_stat,
        watchlist_size=wl.size,
        prevalence=wl.prevalence,
        prevalence_dispersion=wl.prevalence_dispersion,
    )
    ops, ops_summary = run_operations(
        reps,
        outcomes,
        seeds,
        scenario.operations,
        duration_s=scenario.time.duration_s,
        default_speed_m_s=scenario.crowd.free_speed_mean_m_s,
    )
    summary = core.replace(
        equitability=equitability_summary(
            model, scenario.population, reps, threshold=t_stat, watchlist_size=wl.size
        ),
        run=_metadata(ctx, seed, len(reps)),
        crowd=CrowdFigures(peak_density_p_m2=_round_band([r.extra["peak_density_p_m2"] for r in reps])),
        operations=ops_summary,
    )
    return outcomes, summary, ops


def _real_pass(
    ctx: Context,
    rep0: RepData,
    tracks: pd.DataFrame,
    seed0: np.random.SeedSequence,
    engine: Any,
    bank: Any,
    on_stage: Callable[[str], None] | None,
) -> RealEngineRun:
    """Replication 0 through the real pipeline; the engine is closed afterwards whatever happens."""
    from twin.sim.realpass import run_real_engine

    if on_stage is not None:
        on_stage(f"real engine ({engine.model_id}) on replication 0")
    try:
        return run_real_engine(
            ctx,
            rep0,
            tracks,
            seed0,
            engine=engine,
            bank=bank,
            threshold=float(ctx.real_threshold),  # type: ignore[arg-type]
            threshold_source=str(ctx.real_threshold_source),
        )
    finally:
        close = getattr(engine, "close", None)
        if callable(close):
            close()


def _round_band(values: list[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=float)
    return {"mean": float(v.mean()), "max": float(v.max())}
