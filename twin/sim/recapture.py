"""Other cameras in a crowd already simulated: a camera edit without a new crowd simulation.

Where people arrive, which route they take, how fast they walk and how crowded their route is
do not depend on where the cameras stand (:mod:`twin.sim.crowd`), with one exception: people who
avoid recognition zones (``crowd.avoid_share``) choose their route knowing which routes have a
zone, so a camera edit that gives a route its first zone, or takes away its last one, changes the
crowd itself (:func:`crowd_change` says so and a new crowd must be simulated). Otherwise the kept
crowd (:class:`twin.sim.replication.KeptCrowd`) is placed in front of the new cameras:

1. the view tables of the changed cameras only (the others are reused from a cache, see
   :func:`twin.sim.context.prepare`);
2. who enters which camera's view, in which order, and how crowded that view is then (the
   density occlusion is drawn from), from the kept groups' SimPy clocks and speeds
   (:func:`twin.sim.crowd.place_cameras`: the code a new simulation runs for its view entries), so
   the walkers and their densities are bit-for-bit those a new simulation gives;
3. the captures of every camera and the engine draws (:func:`twin.sim.replication.replication_from_crowd`):
   the replication's "capture" stream is shared by all cameras in (route, camera) order, so all
   cameras' occlusion draws are made again; the rest of the capture work (frames, geometry, head
   pose, occlusion probability, quality: :func:`twin.world.frames.track_frames`) is kept per view
   table between edits when ``recapture(frames=...)`` is given, and only a changed camera's is
   worked out again (about 0.3 s per replication-hour at Oxford Circus for all cameras, a few
   hundredths for one); then the usual scoring.

The result equals a fresh :func:`twin.sim.run.run` of the edited scenario with the same seed
(``tests/sim/test_recapture.py`` checks every summary figure and every replication's draws), so a
saved plan run with ``twin run`` prints what the app showed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from concurrent.futures import Executor
from typing import Any

import numpy as np
import pandas as pd

from twin.rng import Streams
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.context import Context, prepare
from twin.sim.crowd import place_cameras
from twin.sim.parallel import collect
from twin.sim.replication import KeptCrowd, replication_from_crowd
from twin.sim.run import RunResult, crowd_key, score_replications
from twin.world.corridors import camera_view_areas, zoned_routes
from twin.world.frames import TrackFrames

__all__ = [
    "CrowdChanged",
    "crowd_change",
    "prepare_recapture",
    "recapture",
    "recapture_replication",
]


class CrowdChanged(Exception):
    """The kept crowd cannot serve the edited scenario (the reason is the message): simulate a new one."""


def crowd_change(result: RunResult, ctx: Context) -> str | None:
    """Why ``result``'s kept crowds do not serve ``ctx``'s scenario, or None when they do.

    They serve a scenario that differs from the run's only in its cameras and in what a re-scoring
    changes (:data:`twin.sim.run.RESCORABLE`), with the same seed and replications, unless the edit
    changes which routes have a recognition zone while some people avoid zones: they then choose
    other routes, and the whole crowd changes (its route, speed and lane draws follow that choice).
    """
    if not result.crowds or len(result.crowds) != len(result.reps):
        return "the run kept no crowd to place other cameras in"
    if crowd_key(result.scenario, cameras=False) != crowd_key(ctx.scenario, cameras=False):
        return "the edit changes more than the cameras (window, footfall, crowd, site, seed or replications)"
    zones = zoned_routes(ctx.tables, len(ctx.site.routes))
    for kept in result.crowds:
        if kept.avoiders and not np.array_equal(kept.zone_routes, zones):
            return (
                "the cameras now give a recognition zone to a different set of routes, and people who "
                "avoid zones (crowd.avoid_share) choose their route by it"
            )
    return None


def recapture(
    result: RunResult,
    scenario: Scenario,
    *,
    view_tables: MutableMapping[str, Any] | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    ctx: Context | None = None,
    executor: Executor | None = None,
    frames: MutableMapping[str, dict[str, TrackFrames]] | None = None,
) -> RunResult:
    """``result``'s crowds in front of ``scenario``'s cameras, scored: the run of ``scenario`` without a new
    crowd simulation.

    Args:
        result: a run made with ``keep_crowds=True``.
        scenario: the edited scenario (other cameras; watchlist and operations may differ too).
        view_tables: a cache of each camera's view tables (see :func:`twin.sim.context.prepare`).
        progress: called as ``progress(done_replications, total, 0.0)``.
        ctx: ``scenario`` already prepared (:func:`prepare_recapture`), or None.
        executor: a process pool to recapture the replications in (each task is sent the context and
            one kept crowd, a few MB); None: here, one after the other. The result is the same.
        frames: the kept draw-free capture work of earlier recaptures, by replication seed (filled and
            kept here: after the call it holds this scenario's view tables' only, a few tens of MB
            per replication-hour at Oxford Circus). Given, the replications are recaptured here,
            not in ``executor``: the kept work lives in this process. The result is the same.

    Returns:
        the :class:`~twin.sim.run.RunResult` a fresh run of ``scenario`` with the same seed gives,
        keeping its crowds for the next edit.

    Raises:
        CrowdChanged: the crowd itself changes (:func:`crowd_change`); run the scenario instead.
        TwinError: the scenario is invalid (as :func:`twin.sim.context.prepare`).
    """
    t_start = time.perf_counter()
    if ctx is None:
        ctx, reason = prepare_recapture(result, scenario, view_tables=view_tables)
    else:
        reason = crowd_change(result, ctx)
    if reason is not None:
        raise CrowdChanged(reason)
    crowds = list(result.crowds)
    outs = _recapture_all(
        ctx,
        crowds,
        camera_view_areas(ctx.site, ctx.cameras),
        executor=executor,
        frames=frames,
        progress=progress,
    )
    reps = [rep for rep, _ in outs]
    tracks = outs[0][1] if outs and outs[0][1] is not None else pd.DataFrame()
    t_sim = time.perf_counter()
    seeds = [k.seed for k in crowds]
    outcomes, summary, ops = score_replications(ctx, reps, seeds, result.seed)
    return RunResult(
        scenario=scenario,
        context=ctx,
        seed=result.seed,
        reps=reps,
        outcomes=outcomes,
        summary=summary,
        tracks=tracks,
        timings={"simulate_s": t_sim - t_start, "score_s": time.perf_counter() - t_sim, "recaptured": 1.0},
        operations=ops,
        crowds=crowds,
    )


def _recapture_all(
    ctx: Context,
    crowds: list[KeptCrowd],
    areas: np.ndarray,
    *,
    executor: Executor | None,
    frames: MutableMapping[str, dict[str, TrackFrames]] | None,
    progress: Callable[[int, int, float], None] | None,
) -> list[tuple[RepData, pd.DataFrame | None]]:
    """Every kept crowd in front of ``ctx``'s cameras (replication 0 with its track table): here with the
    kept capture work ``frames``, else in ``executor``, else here one after the other."""
    n = len(crowds)
    if frames is not None:
        outs = []
        for i, kept in enumerate(crowds):
            rep_key = f"{kept.seed.entropy}:{kept.seed.spawn_key}"
            used = _FramesUsed(frames.get(rep_key) or {})
            outs.append(recapture_replication(ctx, kept, keep_tracks=(i == 0), areas=areas, frames=used))
            frames[rep_key] = dict(used)  # this scenario's tables only: the others are forgotten
            if progress is not None:
                progress(i + 1, n, 0.0)
    elif executor is not None:
        futs = [
            executor.submit(recapture_replication, ctx, kept, keep_tracks=(i == 0), areas=areas)
            for i, kept in enumerate(crowds)
        ]
        outs = collect(futs, progress)
    else:
        outs = []
        for i, kept in enumerate(crowds):
            outs.append(recapture_replication(ctx, kept, keep_tracks=(i == 0), areas=areas))
            if progress is not None:
                progress(i + 1, n, 0.0)
    return outs


def prepare_recapture(
    result: RunResult, scenario: Scenario, *, view_tables: MutableMapping[str, Any] | None = None
) -> tuple[Context, str | None]:
    """``scenario`` prepared on ``result``'s site, and why ``result``'s crowds cannot serve it (None: they
    can; then :func:`recapture` with ``ctx=`` this context).

    Raises:
        TwinError: the scenario is invalid (as :func:`twin.sim.context.prepare`).
    """
    same_site = crowd_key(result.scenario, cameras=False) == crowd_key(scenario, cameras=False)
    ctx = prepare(scenario, site=result.context.site if same_site else None, view_tables=view_tables)
    return ctx, crowd_change(result, ctx)


def recapture_replication(
    ctx: Context,
    kept: KeptCrowd,
    *,
    keep_tracks: bool = False,
    areas: np.ndarray | None = None,
    frames: MutableMapping[str, TrackFrames] | None = None,
) -> tuple[RepData, pd.DataFrame | None]:
    """One replication's kept crowd in front of ``ctx``'s cameras: its draws (and its track table).

    The caller checks first that the crowd serves ``ctx`` (:func:`crowd_change`); ``areas`` are
    :func:`twin.world.corridors.camera_view_areas` of ``ctx``'s cameras (computed here when not given);
    ``frames`` a cache of this replication's draw-free capture work
    (:func:`twin.sim.replication.replication_from_crowd`).
    """
    crowd = place_cameras(ctx.site, ctx.cameras, ctx.tables, kept.state, view_area=areas)
    return replication_from_crowd(ctx, crowd, Streams(kept.seed), keep_tracks=keep_tracks, frames=frames)


class _FramesUsed(dict[str, TrackFrames]):
    """The capture work a recapture uses: looked up in ``kept`` (an earlier recapture's), and holding
    only what was looked up or added."""

    def __init__(self, kept: dict[str, TrackFrames]) -> None:
        super().__init__()
        self._kept = kept

    def get(self, key: str, default: Any = None) -> Any:
        value = super().get(key)
        if value is None:
            value = self._kept.get(key)
            if value is not None:
                self[key] = value
        return default if value is None else value
