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
   density occlusion is drawn from), by replaying the crowd's event times in numpy
   (:func:`kept_walkers`): the same floating-point sums SimPy forms, so the walkers and their
   densities are bit-for-bit those a new simulation gives;
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
import shapely

from twin.rng import Streams
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.context import Context, prepare
from twin.sim.crowd import CrowdResult
from twin.sim.parallel import collect
from twin.sim.replication import KeptCrowd, replication_from_crowd
from twin.sim.run import RunResult, crowd_key, score_replications
from twin.world.camera import fov_wedge
from twin.world.capture import ViewTable, WalkerBatch
from twin.world.frames import TrackFrames

__all__ = [
    "CrowdChanged",
    "crowd_change",
    "kept_walkers",
    "prepare_recapture",
    "recapture",
    "recapture_replication",
    "view_areas",
    "zone_routes",
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
    zones = zone_routes(ctx.tables, len(ctx.site.routes))
    for kept in result.crowds:
        if kept.avoiders and not np.array_equal(kept.zone_routes, zones):
            return (
                "the cameras now give a recognition zone to a different set of routes, and people who "
                "avoid zones (crowd.avoid_share) choose their route by it"
            )
    return None


def zone_routes(tables: list[ViewTable], n_routes: int) -> np.ndarray:
    """(R,) bool: routes on which some camera has a recognition zone facing the walkers (what avoiders
    steer around, :mod:`twin.sim.crowd`)."""
    out = np.zeros(n_routes, bool)
    for t in tables:
        if t.frontal and t.zone.any():
            out[t.route] = True
    return out


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
    outs = _recapture_all(ctx, crowds, view_areas(ctx), executor=executor, frames=frames, progress=progress)
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
    :func:`view_areas` of ``ctx`` (computed here when not given); ``frames`` a cache of this
    replication's draw-free capture work (:func:`twin.sim.replication.replication_from_crowd`).
    """
    walkers, events = kept_walkers(ctx, kept, areas=areas)
    crowd = CrowdResult(
        people=kept.people,
        walkers=walkers,
        peak_density_p_m2=kept.peak_density_p_m2,
        events=events,
        group_speed_m_s=kept.group_speed_m_s,
        zone_routes=kept.zone_routes,
        avoiders=kept.avoiders,
    )
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


def view_areas(ctx: Context) -> np.ndarray:
    """(C,) area of each camera's view over the walkable corridors, m² (at least 1): the denominator of the
    in-view density, as :mod:`twin.sim.crowd` forms it."""
    corr = [r.line.buffer(r.width_m / 2, cap_style="flat") for r in ctx.site.routes]
    walk_union = shapely.union_all(corr)
    return np.array([max(fov_wedge(c).intersection(walk_union).area, 1.0) for c in ctx.cameras])


def kept_walkers(
    ctx: Context, kept: KeptCrowd, *, areas: np.ndarray | None = None
) -> tuple[list[WalkerBatch], int]:
    """Who each view table of ``ctx`` sees in the kept crowd, in the order they enter the view, with the
    in-view density when they do; and the number of SimPy timeouts the crowd simulation would schedule.

    The crowd simulation advances each group along its route's view entries and exits with SimPy
    timeouts: a group arriving at env time E (the running sum of the arrival gaps) reaches arc length
    s at E + s/v, summed event by event as SimPy does (``now + (at - last)``, only when ``at`` moves
    on). Replaying those sums in numpy gives the same float64 times, hence the same order of entries
    and exits per camera and the same count in view at each entry. Exact ties between two groups'
    times (probability zero for continuous arrival times and speeds) are broken by arrival order.

    Returns:
        (one :class:`~twin.world.capture.WalkerBatch` per ``ctx.tables`` entry, SimPy timeouts).
    """
    people, speed = kept.people, kept.group_speed_m_s
    G = len(speed)
    gid = people["group"].astype(np.int64)
    sizes = np.bincount(gid, minlength=G).astype(np.int64)
    first = np.cumsum(sizes) - sizes
    t_groups = np.asarray(people["t_arrive_s"], dtype=np.float64)[first]
    route = np.asarray(people["route"], dtype=np.int64)[first] if G else np.zeros(0, np.int64)
    env_t = np.cumsum(np.diff(t_groups, prepend=0.0))  # the arrival process's env.now, gap by gap
    route_events: list[list[tuple[float, int, int, int]]] = [[] for _ in ctx.site.routes]
    for ti, t in enumerate(ctx.tables):
        route_events[t.route].append((t.s_in, 1, ti, t.camera))
        route_events[t.route].append((t.s_out, -1, ti, t.camera))
    timeouts = G + int(np.count_nonzero(route >= 0))  # arrivals, and each walker's last leg out
    per_camera: list[list[tuple[np.ndarray, ...]]] = [[] for _ in ctx.cameras]
    for r, events in enumerate(route_events):
        idx = np.flatnonzero(route == r)
        if not len(idx) or not events:
            continue
        v, x = speed[idx], env_t[idx].copy()
        last = np.zeros(len(idx))
        for k, (s, delta, ti, ci) in enumerate(sorted(events)):
            at = s / v
            moves = at > last
            x = np.where(moves, x + (at - last), x)
            last = np.where(moves, at, last)
            timeouts += int(np.count_nonzero(moves))
            per_camera[ci].append(
                (x.copy(), idx, np.full(len(idx), k), np.full(len(idx), delta), np.full(len(idx), ti))
            )
    areas = view_areas(ctx) if areas is None else areas
    seen = _entries(per_camera, sizes, areas, len(ctx.tables))
    return [_batch(people, kept, first, sizes, g, d) for g, d in seen], timeouts


def _entries(
    per_camera: list[list[tuple[np.ndarray, ...]]], sizes: np.ndarray, view_area: np.ndarray, n_tables: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per view table: (groups in order of entry, in-view density at entry, p/m²), from each camera's
    entry and exit times."""
    seen: list[tuple[np.ndarray, np.ndarray]] = [(np.zeros(0, np.int64), np.zeros(0))] * n_tables
    for ci, parts in enumerate(per_camera):
        if not parts:
            continue
        x = np.concatenate([p[0] for p in parts])
        g = np.concatenate([p[1] for p in parts])
        k = np.concatenate([p[2] for p in parts])
        delta = np.concatenate([p[3] for p in parts])
        table = np.concatenate([p[4] for p in parts])
        order = np.lexsort((k, g, x))
        x, g, delta, table = x[order], g[order], delta[order], table[order]
        in_view = np.cumsum((delta * sizes[g]).astype(np.float64))
        density = in_view / view_area[ci]
        for ti in np.unique(table):
            entry = (table == ti) & (delta > 0)
            seen[int(ti)] = (g[entry], density[entry])
    return seen


def _batch(
    people: dict[str, np.ndarray],
    kept: KeptCrowd,
    first: np.ndarray,
    sizes: np.ndarray,
    g: np.ndarray,
    dens: np.ndarray,
) -> WalkerBatch:
    """The people of the groups ``g`` (in that order, members one lane apart) as one view table's walkers."""
    n = sizes[g]
    persons = np.repeat(first[g], n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    pg = people["group"][persons].astype(np.int64)
    return WalkerBatch(
        person=persons,
        t0_s=np.asarray(people["t_arrive_s"], dtype=np.float64)[persons],
        speed_m_s=kept.group_speed_m_s[pg],
        lane=people["lane"][persons].astype(np.int64),
        head_yaw_deg=people["head_yaw_deg"][persons],
        head_pitch_deg=people["head_pitch_deg"][persons],
        density_p_m2=np.repeat(dens, n),
    )
