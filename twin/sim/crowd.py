"""Crowd flow in SimPy: arrivals, route choice, density-slowed walking, camera views.

Each arrival (a person or a group of 2-4) picks a route by weight (avoiders, warned by the signs,
take a route no camera sees or turn back), reads the pedestrian density on its route from the live
occupancy, and walks at its free speed slowed by the Weidmann (1993) fundamental diagram

    v(rho) = v_free * (1 - exp(-gamma * (1/rho - 1/rho_max))),  gamma = 1.913 m^-2, rho_max = 5.4 m^-2.

It then enters and leaves the views of the cameras along its route (each camera's in-view count is
the occlusion density a view entry reads) and leaves the area. Per-frame capture geometry is not
simulated here: :mod:`twin.world.capture` computes it in numpy afterwards from what this module
records (who passed which camera, when, how fast, in which lane, how crowded).

What must interleave runs in SimPy (:func:`_interleave`): arrivals and departures, because the
occupancy an arrival reads depends on who left before it, and when a group leaves depends on the
speed it took on arrival. Nothing else feeds back: a group's speed is fixed on arrival, so its view
entries and exits follow from it, and the in-view count at a view entry is a running sum over all
groups' entries and exits at that camera, computed afterwards in numpy (:func:`_view_entries`) on
the same clock and in the same order as SimPy would process them. ``tests/reference_crowd.py`` (the
engine that scheduled every view event as a SimPy timeout) gives the same per-person outputs bit
for bit; this one schedules two timeouts per group instead of about five.

Density on route i counts the people on every route j spread evenly over route j's footway
corridor (length x width) and overlapping route i's corridor:
rho_i = sum_j n_j * area(c_i & c_j) / (area(c_i) * area(c_j)).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from twin.rng import Streams
from twin.scenario.specs import CrowdSpec
from twin.sim.arrivals import nhpp_arrivals
from twin.world.camera import Camera
from twin.world.capture import LANES, ViewTable, WalkerBatch
from twin.world.corridors import camera_view_areas, corridor_overlap, corridors, zoned_routes
from twin.world.site import Site

__all__ = [
    "PEOPLE_FIELDS",
    "WEIDMANN_GAMMA",
    "WEIDMANN_RHO_MAX",
    "CrowdResult",
    "CrowdState",
    "place_cameras",
    "simulate_crowd",
    "weidmann_factor",
]

#: Weidmann (1993) fundamental diagram constants: gamma (m^-2) and jam density rho_max (p/m^2).
WEIDMANN_GAMMA = 1.913
WEIDMANN_RHO_MAX = 5.4
#: Slowest walking speed in a jam, m/s (keeps a walker moving; assumption).
MIN_SPEED_M_S = 0.1
#: Group sizes for group arrivals, uniform (assumption).
GROUP_SIZES = (2, 3, 4)

#: Column names of the people table, held once here.
PEOPLE_FIELDS: tuple[str, ...] = (
    "group", "t_arrive_s", "route", "rerouted", "turned_back", "speed_m_s", "lane", "head_yaw_deg",
    "head_pitch_deg", "density_p_m2", "t_leave_s",
)  # fmt: skip


def weidmann_factor(density_p_m2: float | np.ndarray) -> np.ndarray:
    """Share of free walking speed kept at a pedestrian density (Weidmann 1993).

    >>> [round(float(weidmann_factor(rho)), 3) for rho in (0.0, 1.0, 6.0)]
    [1.0, 0.79, 0.0]
    """
    rho = np.asarray(density_p_m2, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        f = 1.0 - np.exp(-WEIDMANN_GAMMA * (1.0 / rho - 1.0 / WEIDMANN_RHO_MAX))
    return np.clip(np.where(rho <= 0, 1.0, f), 0.0, 1.0)


@dataclass(kw_only=True)
class CrowdResult:
    """What the crowd simulation recorded.

    Attributes:
        people: dict of arrays of length P keyed by :data:`PEOPLE_FIELDS` (route -1: turned back).
        walkers: one :class:`WalkerBatch` per view table (same order as the tables).
        peak_density_p_m2: highest route density seen by an arrival, p/m².
        events: number of SimPy timeouts scheduled (one per arriving group, one per departing group).
        view_events: camera view entries and exits, computed in numpy (one per group x view table, each
            way).
        state: what the walk fixed whatever the cameras (:class:`CrowdState`), kept so that other
            cameras can be placed in this crowd (:func:`place_cameras`).
    """

    people: dict[str, np.ndarray]
    walkers: list[WalkerBatch]
    peak_density_p_m2: float
    events: int
    view_events: int
    state: CrowdState


@dataclass(frozen=True, kw_only=True)
class CrowdState:
    """The part of a simulated crowd that does not depend on where the cameras stand: the groups (arrival
    times, sizes, routes, free speeds, lanes) and what SimPy fixed for each (clock at arrival, speed,
    route density), with the people table.

    One exception: groups that avoid recognition zones (``crowd.avoid_share``) chose their route by which
    routes had a zone (``zone_routes``); with ``avoiders`` > 0, cameras that zone a different set of
    routes change the crowd itself and it must be simulated again. (The SimPy clock also sums each
    walk's legs between view entries, so a departure time can move by an ulp with the cameras; an
    arrival would have to fall within that ulp of a departure to see a different occupancy.)

    Attributes:
        groups: the arriving groups (length G).
        clock: SimPy's clock, speed and density per group (length G).
        people: the people table (:data:`PEOPLE_FIELDS`, length P).
    """

    groups: _Groups
    clock: _Clock
    people: dict[str, np.ndarray]

    @property
    def zone_routes(self) -> np.ndarray:
        """(R,) bool, routes with a recognition zone when the crowd was simulated."""
        return self.groups.zone_routes

    @property
    def avoiders(self) -> int:
        """Groups that avoid recognition zones."""
        return self.groups.avoiders

    @property
    def peak_density_p_m2(self) -> float:
        """Highest route density an arrival met, p/m²."""
        return float(self.clock.density.max(initial=0.0))


def simulate_crowd(
    site: Site,
    cameras: list[Camera],
    tables: list[ViewTable],
    crowd: CrowdSpec,
    rates_per_h: np.ndarray,
    start_s: float,
    duration_s: float,
    streams: Streams,
    progress: Callable[[float], None] | None = None,
) -> CrowdResult:
    """Simulate everyone who enters the site during the window.

    Stages: groups arrive and choose (:func:`_draw_groups`), they walk (:func:`_walk`: SimPy for
    arrivals and departures, numpy for the view entries and exits), and groups expand to people
    (:func:`_people`) and to each view table's walkers (:func:`_walkers`).

    Args:
        site: routes and their weights.
        cameras: the run's cameras.
        tables: view tables from :func:`twin.world.capture.build_view_tables`.
        crowd: speeds, groups, head pose, avoidance.
        rates_per_h: (24,) arrival rate per clock hour, people/h.
        start_s, duration_s: the window (s after midnight; s).
        streams: uses "arrivals" (times, group sizes) and "routes" (choices, speeds, lanes, heads).
        progress: called with the simulated share of the window done, in [0, 1].

    Returns:
        :class:`CrowdResult`.
    """
    rng_r = streams["routes"]
    groups = _draw_groups(site, tables, crowd, rates_per_h, start_s, duration_s, streams["arrivals"], rng_r)
    walked = _walk(site, cameras, tables, groups, duration_s, progress)
    people = _people(groups, walked, np.array([r.length_m for r in site.routes]), crowd, rng_r)
    walkers = _walkers(tables, groups, walked.speed, walked.seen_group, walked.seen_density, people)
    state = CrowdState(groups=groups, clock=walked.clock, people=people)
    return CrowdResult(
        people=people,
        walkers=walkers,
        peak_density_p_m2=state.peak_density_p_m2,
        events=walked.events,
        view_events=walked.view_events,
        state=state,
    )


def place_cameras(
    site: Site,
    cameras: list[Camera],
    tables: list[ViewTable],
    state: CrowdState,
    *,
    view_area: np.ndarray | None = None,
) -> CrowdResult:
    """A simulated crowd in front of other cameras: the :class:`CrowdResult` that :func:`simulate_crowd`
    gives for ``cameras`` and ``tables`` with the same seed, without simulating the crowd again.

    The view entries, exits and in-view densities follow from the groups' SimPy clocks and speeds
    (:func:`_view_entries`, the same code a fresh simulation runs), so the walkers are bit for bit a
    fresh simulation's. The caller checks first that the crowd does not depend on the change
    (:class:`CrowdState`: avoiders and a different set of zoned routes).

    Args:
        site: the site the crowd was simulated on.
        cameras, tables: the new cameras and their view tables
            (:func:`twin.world.capture.build_view_tables`).
        state: the kept crowd (``CrowdResult.state``).
        view_area: :func:`camera_view_areas` of ``cameras`` (worked out here when None).
    """
    views = _route_views(tables, len(site.routes))
    area = camera_view_areas(site, cameras) if view_area is None else view_area
    seen_group, seen_density, n_view = _view_entries(views, len(tables), state.groups, state.clock, area)
    walkers = _walkers(tables, state.groups, state.clock.speed, seen_group, seen_density, state.people)
    return CrowdResult(
        people=state.people,
        walkers=walkers,
        peak_density_p_m2=state.peak_density_p_m2,
        events=state.clock.events,
        view_events=n_view,
        state=state,
    )


@dataclass(frozen=True)
class _Groups:
    """Arriving groups (length G): arrival times, sizes, routes, who avoids or turns back, free speeds,
    first lanes."""

    t_s: np.ndarray
    sizes: np.ndarray
    route: np.ndarray
    rerouted: np.ndarray
    turned_back: np.ndarray
    free: np.ndarray
    lane0: np.ndarray
    zone_routes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0, bool))
    avoiders: int = 0


def _draw_groups(
    site: Site,
    tables: list[ViewTable],
    crowd: CrowdSpec,
    rates_per_h: np.ndarray,
    start_s: float,
    duration_s: float,
    rng_a: np.random.Generator,
    rng_r: np.random.Generator,
) -> _Groups:
    """Arrivals ("arrivals" stream), then per group: route, avoidance, free speed, lane ("routes" stream)."""
    gs = crowd.group_share
    mean_size = (1 - gs) + gs * float(np.mean(GROUP_SIZES))
    t_groups = nhpp_arrivals(rates_per_h / mean_size, start_s, duration_s, rng_a)
    G = len(t_groups)
    is_group = rng_a.random(G) < gs
    sizes = np.where(is_group, rng_a.choice(np.asarray(GROUP_SIZES), G), 1).astype(np.int64)
    R = len(site.routes)
    weights = np.array([r.weight for r in site.routes], dtype=float)
    zone_routes = zoned_routes(tables, R)
    route = rng_r.choice(R, size=G, p=weights / weights.sum()).astype(np.int64)
    avoider = rng_r.random(G) < crowd.avoid_share
    alt_w = np.where(zone_routes, 0.0, weights)
    rerouted = avoider & zone_routes[route]
    turned_back = np.zeros(G, bool)
    if rerouted.any():
        if alt_w.sum() > 0:
            route[rerouted] = rng_r.choice(R, size=int(rerouted.sum()), p=alt_w / alt_w.sum())
        else:
            turned_back = rerouted.copy()
            rerouted[:] = False
    free = np.maximum(rng_r.normal(crowd.free_speed_mean_m_s, crowd.free_speed_sd_m_s, G), 0.3)
    lane0 = np.floor(rng_r.random(G) * (LANES - sizes + 1)).astype(np.int64)
    avoiders = int(avoider.sum())
    return _Groups(t_groups, sizes, route, rerouted, turned_back, free, lane0, zone_routes, avoiders)


@dataclass(frozen=True)
class _Walked:
    """What the walk produced (length G unless noted): each group's speed (m/s, 0 if turned back) and the
    route density it met on arrival (p/m²); per view table, the groups it saw in the order they entered
    its view and the in-view density each met there (p/m²); the SimPy timeouts scheduled and the view
    entries and exits computed in numpy."""

    speed: np.ndarray
    density: np.ndarray
    seen_group: list[np.ndarray]
    seen_density: list[np.ndarray]
    events: int
    view_events: int
    clock: _Clock


@dataclass(frozen=True)
class _RouteViews:
    """The camera view entries and exits along one route, in the order a walker meets them (length K):
    arc length (m, float64), +1 entry / -1 exit, view table and camera indices (int64). Ties in arc
    length go exits first, then by table: the order the reference engine processed them in."""

    s_m: np.ndarray
    delta: np.ndarray
    table: np.ndarray
    camera: np.ndarray


def _route_views(tables: list[ViewTable], n_routes: int) -> list[_RouteViews]:
    """Each route's view entries and exits, sorted by (arc length, entry/exit, table, camera)."""
    per_route: list[list[tuple[float, int, int, int]]] = [[] for _ in range(n_routes)]
    for ti, t in enumerate(tables):
        per_route[t.route].append((t.s_in, 1, ti, t.camera))
        per_route[t.route].append((t.s_out, -1, ti, t.camera))
    out = []
    for ev in per_route:
        ev.sort()
        out.append(
            _RouteViews(
                s_m=np.array([e[0] for e in ev], dtype=np.float64),
                delta=np.array([e[1] for e in ev], dtype=np.int64),
                table=np.array([e[2] for e in ev], dtype=np.int64),
                camera=np.array([e[3] for e in ev], dtype=np.int64),
            )
        )
    return out


def _walk(
    site: Site,
    cameras: list[Camera],
    tables: list[ViewTable],
    groups: _Groups,
    duration_s: float,
    progress: Callable[[float], None] | None,
) -> _Walked:
    """The groups' walks: arrivals and departures interleave in SimPy (:func:`_interleave`), which fixes
    each group's speed and clock; the view entries and exits and the in-view density at each entry then
    follow in numpy (:func:`_view_entries`)."""
    overlap = corridor_overlap(corridors(site))
    view_area = camera_view_areas(site, cameras)
    views = _route_views(tables, len(site.routes))
    lengths = np.array([r.length_m for r in site.routes])
    clock = _interleave(groups, overlap, views, lengths, duration_s, progress)
    seen_group, seen_density, n_view = _view_entries(views, len(tables), groups, clock, view_area)
    return _Walked(
        speed=clock.speed,
        density=clock.density,
        seen_group=seen_group,
        seen_density=seen_density,
        events=clock.events,
        view_events=n_view,
        clock=clock,
    )


@dataclass(frozen=True)
class _Clock:
    """What SimPy decided (length G): each group's SimPy clock at arrival (s), speed (m/s) and the route
    density it met (p/m²), zero for groups that turned back; and the timeouts scheduled."""

    t_s: np.ndarray
    speed: np.ndarray
    density: np.ndarray
    events: int


def _interleave(
    groups: _Groups,
    overlap: np.ndarray,
    views: list[_RouteViews],
    lengths: np.ndarray,
    duration_s: float,
    progress: Callable[[float], None] | None,
) -> _Clock:
    """Arrivals and departures in SimPy: the only events that must interleave.

    One process yields a timeout per arriving group. On arrival a group reads its route's density from
    the live occupancy (people per route), fixes its speed (Weidmann), joins the occupancy and schedules
    its departure: a timeout whose callback takes it off the occupancy again (a callback, not a process
    per group: a SimPy process costs about three times a timeout). The departure lands on the SimPy
    clock where a walk that also stopped at every view entry and exit on its route would land (the clock
    sums each leg's duration in turn; the delay is nudged by an ulp where the sums differ), so
    departures and arrivals interleave exactly as in an engine that schedules every view event.
    """
    G = len(groups.t_s)
    env = simpy.Environment()
    occ = np.zeros(len(lengths))
    # the same float64 buffer: item updates without numpy's scalar overhead (~0.3 us each)
    occ_mv = memoryview(occ)  # type: ignore[arg-type]
    dots = [overlap[r].dot for r in range(len(lengths))]
    legs = [[float(s) for s in v.s_m if s > 0] for v in views]
    length = lengths.tolist()
    route, size = groups.route.tolist(), groups.sizes.tolist()
    t_arr, speed, density = [0.0] * G, [0.0] * G, [0.0] * G
    timeout, nextafter, inf, min_v = env.timeout, math.nextafter, math.inf, MIN_SPEED_M_S
    # weidmann_factor inlined (same numpy exp, same clipping: bit for bit, tested)
    exp, neg_gamma, inv_rho_max = np.exp, -WEIDMANN_GAMMA, 1.0 / WEIDMANN_RHO_MAX
    tick = max(G // 50, 1)

    def leave(ev: simpy.Event) -> None:
        gi = ev.value
        occ_mv[route[gi]] -= size[gi]

    def arrivals() -> simpy.events.ProcessGenerator:
        gaps = np.diff(groups.t_s, prepend=0.0).tolist()
        walking = (~groups.turned_back).tolist()
        gi = -1
        for gap, walks, r, n, free in zip(gaps, walking, route, size, groups.free.tolist(), strict=True):
            gi += 1
            yield timeout(gap)
            if progress is not None and gi % tick == 0:
                progress(min(float(groups.t_s[gi]) / duration_s, 1.0))
            if not walks:
                continue
            now = env.now
            rho = float(dots[r](occ))
            f = 1.0 - float(exp(neg_gamma * (1.0 / rho - inv_rho_max))) if rho > 0 else 1.0
            v = free * (0.0 if f < 0.0 else (1.0 if f > 1.0 else f))
            if min_v > v:
                v = min_v
            t_arr[gi], speed[gi], density[gi] = now, v, rho
            occ_mv[r] += n
            t, prev = now, 0.0
            for s in legs[r]:
                at = s / v
                if at > prev:
                    t += at - prev
                    prev = at
            last = length[r] / v - prev
            if last > 0:
                t += last
            delay = t - now
            if now + delay != t:  # rare: nudge by ulps until the clock lands on t
                while now + delay < t:
                    delay = nextafter(delay, inf)
                while now + delay > t:
                    delay = nextafter(delay, -inf)
            timeout(delay, gi).callbacks.append(leave)

    env.process(arrivals())
    env.run()
    if progress is not None:
        progress(1.0)
    walkers = int(np.count_nonzero(~groups.turned_back))
    return _Clock(t_s=np.array(t_arr), speed=np.array(speed), density=np.array(density), events=G + walkers)


def _view_entries(
    views: list[_RouteViews], n_tables: int, groups: _Groups, clock: _Clock, view_area: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], int]:
    """Who entered each view table and the in-view density each met there, after the fact.

    A group's view entries and exits fall at its arrival clock plus the legs ``s / v`` between them,
    summed in turn as the SimPy clock sums them, so the times are bit for bit those of an engine that
    schedules every view event (:mod:`tests.reference_crowd`). Per camera, every group's entries and
    exits in that engine's order give the in-view head count as a running sum; an entry reads it with
    itself included, over the camera's walkable view area (m²). The order is SimPy's: by time, and at
    equal times first in, first out by when each event was scheduled (the group's previous stop, or for
    a view entered at the route's start the arrival before the group's own), then by group and
    position along the route.

    Returns:
        per table, int64 groups in the order they entered its view and float64 densities (p/m²); the
        number of entries and exits.
    """
    n_cam = len(view_area)
    parts: list[list[tuple[np.ndarray, ...]]] = [[] for _ in range(n_cam)]
    walking = ~groups.turned_back
    key = np.where(walking, groups.route, -1)
    by_route = np.argsort(key, kind="stable")
    starts = np.searchsorted(key[by_route], np.arange(len(views) + 1))
    arrival_clock = np.cumsum(np.diff(groups.t_s, prepend=0.0))  # as SimPy sums the arrival gaps
    arrival_scheduled = np.concatenate([[0.0], arrival_clock[:-1]])
    n_events = 0
    for r, rv in enumerate(views):
        g = by_route[starts[r] : starts[r + 1]]
        K = rv.s_m.size
        if K == 0 or g.size == 0:
            continue
        legs = np.diff(rv.s_m[None, :] / clock.speed[g, None], axis=1, prepend=0.0)
        clk = np.cumsum(np.concatenate([clock.t_s[g, None], legs], axis=1), axis=1)  # (n, K + 1)
        step = np.maximum.accumulate(np.where(legs > 0, np.arange(K), -1), axis=1)
        scheduled = np.where(
            step >= 0, np.take_along_axis(clk, np.maximum(step, 0), axis=1), arrival_scheduled[g, None]
        )
        heads = groups.sizes[g]
        for k in range(K):
            at_k = (clk[:, k + 1], scheduled[:, k], g, np.full(g.size, k))
            parts[int(rv.camera[k])].append((*at_k, rv.delta[k] * heads, np.full(g.size, rv.table[k])))
        n_events += g.size * K
    seen_group = [np.zeros(0, np.int64) for _ in range(n_tables)]
    seen_density = [np.zeros(0) for _ in range(n_tables)]
    for c, cam_parts in enumerate(parts):
        if not cam_parts:
            continue
        t, sched, g, pos, dn, table = (np.concatenate(col) for col in zip(*cam_parts, strict=True))
        order = np.argsort(t, kind="stable")
        if (np.diff(t[order]) == 0).any():  # equal clock times (practically never): SimPy's full order
            order = np.lexsort((pos, g, sched, t))
        dn, g, table = dn[order], g[order], table[order]
        in_view = np.cumsum(dn)
        entry = dn > 0
        g_in, table_in = g[entry], table[entry]
        dens_in = in_view[entry].astype(np.float64) / view_area[c]
        for ti in np.unique(table_in):
            mine = table_in == ti
            seen_group[ti], seen_density[ti] = g_in[mine], dens_in[mine]
    return seen_group, seen_density, n_events


def _people(
    groups: _Groups, walked: _Walked, lengths: np.ndarray, crowd: CrowdSpec, rng_r: np.random.Generator
) -> dict[str, np.ndarray]:
    """Groups expanded to people (length P), each with a head pose drawn from the "routes" stream."""
    sizes, t_groups, turned_back, route, speed = (
        groups.sizes,
        groups.t_s,
        groups.turned_back,
        groups.route,
        walked.speed,
    )
    P = int(sizes.sum())
    gid = np.repeat(np.arange(len(sizes)), sizes)
    member = np.arange(P) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    return {
        "group": gid.astype(np.int32),
        "t_arrive_s": t_groups[gid],
        "route": np.where(turned_back[gid], -1, route[gid]).astype(np.int16),
        "rerouted": groups.rerouted[gid],
        "turned_back": turned_back[gid],
        "speed_m_s": speed[gid].astype(np.float32),
        "lane": (groups.lane0[gid] + member).astype(np.int8),
        "head_yaw_deg": rng_r.normal(0.0, crowd.head_yaw_sd_deg, P).astype(np.float32),
        "head_pitch_deg": rng_r.normal(0.0, crowd.head_pitch_sd_deg, P).astype(np.float32),
        "density_p_m2": walked.density[gid].astype(np.float32),
        "t_leave_s": np.where(
            turned_back[gid],
            t_groups[gid],
            t_groups[gid] + lengths[route[gid]] / np.where(speed[gid] > 0, speed[gid], 1.0),
        ),
    }


def _walkers(
    tables: list[ViewTable],
    groups: _Groups,
    speed: np.ndarray,
    seen_group: list[np.ndarray],
    seen_density: list[np.ndarray],
    people: dict[str, np.ndarray],
) -> list[WalkerBatch]:
    """For each view table, the people of the groups it saw (group members one lane apart); ``speed`` is
    each group's (m/s), ``seen_group`` and ``seen_density`` per table as :func:`_view_entries` gives."""
    sizes, gid = groups.sizes, people["group"]
    first_person = np.cumsum(sizes) - sizes
    walkers = []
    for ti in range(len(tables)):
        g, dens = seen_group[ti], seen_density[ti]
        persons = np.repeat(first_person[g], sizes[g]) + (
            np.arange(int(sizes[g].sum())) - np.repeat(np.cumsum(sizes[g]) - sizes[g], sizes[g])
        )
        pg = gid[persons]
        walkers.append(
            WalkerBatch(
                person=persons,
                t0_s=groups.t_s[pg],
                speed_m_s=speed[pg],
                lane=people["lane"][persons].astype(np.int64),
                head_yaw_deg=people["head_yaw_deg"][persons],
                head_pitch_deg=people["head_pitch_deg"][persons],
                density_p_m2=np.repeat(dens, sizes[g]),
            )
        )
    return walkers
