"""Reference implementation: the crowd engine as it was before issue 14 (a frozen copy, not the package).

Every group is a SimPy process that yields a timeout at each camera view entry and exit on its route
and at its departure; the in-view count a view entry reads is kept live. ``tests/sim/test_crowd.py``
checks that the package's engine (:mod:`twin.sim.crowd`) gives the same per-person outputs from the
same seed. Do not edit it to follow the package: it is the yardstick.

The original module docstring follows.

Crowd flow in SimPy: arrivals, route choice, density-slowed walking, camera views.

Each arrival (a person or a group of 2-4) is a SimPy process. On arrival it picks a route by
weight (avoiders, warned by the signs, take a route no camera sees or turn back), reads the
pedestrian density on its route from the live occupancy that the other processes keep, and
walks at its free speed slowed by the Weidmann (1993) fundamental diagram

    v(rho) = v_free * (1 - exp(-gamma * (1/rho - 1/rho_max))),  gamma = 1.913 m^-2, rho_max = 5.4 m^-2.

It then enters and leaves the views of the cameras along its route (SimPy timeouts that update
each camera's in-view count, from which occlusion density is read) and leaves the area. Per-frame
capture geometry is not simulated here: :mod:`twin.world.capture` computes it in numpy afterwards from
what this module records (who passed which camera, when, how fast, in which lane, how crowded).

Density on route i counts the people on every route j spread evenly over route j's footway
corridor (length x width) and overlapping route i's corridor:
rho_i = sum_j n_j * area(c_i & c_j) / (area(c_i) * area(c_j)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
import simpy

from twin.rng import Streams
from twin.scenario.specs import CrowdSpec
from twin.sim.arrivals import nhpp_arrivals
from twin.world.camera import Camera, fov_wedge
from twin.world.capture import LANES, ViewTable, WalkerBatch
from twin.world.site import Site

__all__ = [
    "PEOPLE_FIELDS",
    "WEIDMANN_GAMMA",
    "WEIDMANN_RHO_MAX",
    "CrowdResult",
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


@dataclass
class CrowdResult:
    """What the crowd simulation recorded.

    Attributes:
        people: dict of arrays of length P keyed by :data:`PEOPLE_FIELDS` (route -1: turned back).
        walkers: one :class:`WalkerBatch` per view table (same order as the tables).
        peak_density_p_m2: highest route density seen by an arrival, p/m².
        events: number of SimPy timeouts scheduled (arrivals, view entries/exits, departures).
    """

    people: dict[str, np.ndarray]
    walkers: list[WalkerBatch]
    peak_density_p_m2: float
    events: int


def _corridors(site: Site) -> list[shapely.Polygon]:
    return [r.line.buffer(r.width_m / 2, cap_style="flat") for r in site.routes]


def _overlap_matrix(corr: list[shapely.Polygon]) -> np.ndarray:
    R = len(corr)
    m = np.zeros((R, R))
    areas = np.array([c.area for c in corr])
    for i in range(R):
        for j in range(i, R):
            a = corr[i].intersection(corr[j]).area if i != j else areas[i]
            m[i, j] = a / (areas[i] * areas[j])
            m[j, i] = m[i, j]
    return m


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

    Stages: groups arrive and choose (:func:`_draw_groups`), they walk in SimPy (:func:`_walk`), and
    groups expand to people (:func:`_people`) and to each view table's walkers (:func:`_walkers`).

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
    walkers = _walkers(tables, groups, walked, people)
    return CrowdResult(
        people=people,
        walkers=walkers,
        peak_density_p_m2=float(walked.density.max(initial=0.0)),
        events=walked.events,
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
    zone_routes = np.zeros(R, bool)
    for t in tables:
        if t.frontal and t.zone.any():
            zone_routes[t.route] = True
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
    return _Groups(t_groups, sizes, route, rerouted, turned_back, free, lane0)


@dataclass(frozen=True)
class _Walked:
    """What SimPy produced: each group's speed and the density it met, who each view table saw, the event
    count."""

    speed: np.ndarray
    density: np.ndarray
    seen: list[list[tuple[int, float]]]
    events: int


def _walk(
    site: Site,
    cameras: list[Camera],
    tables: list[ViewTable],
    groups: _Groups,
    duration_s: float,
    progress: Callable[[float], None] | None,
) -> _Walked:
    """The groups' walks as SimPy processes: speed set by the density on entry, view entries and exits as
    events."""
    G, R = len(groups.t_s), len(site.routes)
    corr = _corridors(site)
    overlap = _overlap_matrix(corr)
    walk_union = shapely.union_all(corr)
    view_area = np.array([max(fov_wedge(c).intersection(walk_union).area, 1.0) for c in cameras])
    route_events: list[list[tuple[float, int, int, int]]] = [[] for _ in range(R)]
    for ti, t in enumerate(tables):
        route_events[t.route].append((t.s_in, 1, ti, t.camera))
        route_events[t.route].append((t.s_out, -1, ti, t.camera))
    for ev in route_events:
        ev.sort()
    lengths = np.array([r.length_m for r in site.routes])
    occ = np.zeros(R)
    in_view = np.zeros(len(cameras))
    speed = np.zeros(G)
    density = np.zeros(G)
    seen: list[list[tuple[int, float]]] = [[] for _ in tables]
    env = simpy.Environment()
    tick = max(G // 50, 1)
    n_events = [0]
    route, sizes, free, t_groups, turned_back = (
        groups.route,
        groups.sizes,
        groups.free,
        groups.t_s,
        groups.turned_back,
    )

    def walk(gi: int) -> simpy.events.ProcessGenerator:
        r, size = int(route[gi]), int(sizes[gi])
        rho = float(overlap[r] @ occ)
        v = max(free[gi] * float(weidmann_factor(rho)), MIN_SPEED_M_S)
        speed[gi], density[gi] = v, rho
        occ[r] += size
        now = 0.0
        for s, delta, ti, ci in route_events[r]:
            at = s / v
            if at > now:
                n_events[0] += 1
                yield env.timeout(at - now)
                now = at
            in_view[ci] += delta * size
            if delta > 0:
                seen[ti].append((gi, in_view[ci] / view_area[ci]))
        n_events[0] += 1
        yield env.timeout(max(lengths[r] / v - now, 0.0))
        occ[r] -= size

    def arrive() -> simpy.events.ProcessGenerator:
        last = 0.0
        for gi in range(G):
            n_events[0] += 1
            yield env.timeout(t_groups[gi] - last)
            last = t_groups[gi]
            if not turned_back[gi]:
                env.process(walk(gi))
            if progress is not None and gi % tick == 0:
                progress(min(last / duration_s, 1.0))

    env.process(arrive())
    env.run()
    if progress is not None:
        progress(1.0)
    return _Walked(speed, density, seen, n_events[0])


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
    tables: list[ViewTable], groups: _Groups, walked: _Walked, people: dict[str, np.ndarray]
) -> list[WalkerBatch]:
    """For each view table, the people of the groups it saw (group members one lane apart)."""
    sizes, gid = groups.sizes, people["group"]
    first_person = np.cumsum(sizes) - sizes
    walkers = []
    for ti in range(len(tables)):
        seen = walked.seen[ti]
        if seen:
            g = np.fromiter((x[0] for x in seen), dtype=np.int64, count=len(seen))
            dens = np.fromiter((x[1] for x in seen), dtype=np.float64, count=len(seen))
        else:
            g, dens = np.zeros(0, np.int64), np.zeros(0)
        persons = np.repeat(first_person[g], sizes[g]) + (
            np.arange(int(sizes[g].sum())) - np.repeat(np.cumsum(sizes[g]) - sizes[g], sizes[g])
        )
        pg = gid[persons]
        walkers.append(
            WalkerBatch(
                person=persons,
                t0_s=groups.t_s[pg],
                speed_m_s=walked.speed[pg],
                lane=people["lane"][persons].astype(np.int64),
                head_yaw_deg=people["head_yaw_deg"][persons],
                head_pitch_deg=people["head_pitch_deg"][persons],
                density_p_m2=np.repeat(dens, sizes[g]),
            )
        )
    return walkers
