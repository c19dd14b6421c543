"""Candidate van poses on a site's footways, their cameras, and view tables cut to where faces can be usable.

A candidate van stands on a footway (by default a quarter of the footway's width from a route's
walking line, either side, where the shipped vans' cameras stand) every ``spacing_m`` metres along
every route inside the geofence, its two roof cameras facing along the flow both ways, as the
shipped scenarios' vans do, each turned by each of ``toes_deg`` towards the footway's
centre). Candidates closer than ``merge_m`` to one already kept with the same headings (routes
share footways) are merged.

:func:`view_tables_near` builds a camera's view tables only on the stretches of route within
:func:`usable_range_m` of it (plus a margin): outside that no frame can pass the ``min_ied_px`` gate,
so the tables give the same usable captures at a fraction of the cost of whole routes.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely import Point
from shapely.ops import substring

from twin.errors import ScenarioError
from twin.scenario.specs import CaptureGate
from twin.world.camera import IED_M, Camera
from twin.world.capture import STATION_M, ViewTable, build_view_tables
from twin.world.geo import bng_to_lonlat
from twin.world.site import Site

__all__ = [
    "DEFAULT_TOES_DEG",
    "VanPose",
    "candidate_vans",
    "usable_range_m",
    "van_camera_specs",
    "van_cameras",
    "view_tables_near",
]


#: Camera turns towards the footway's centre tried by default, deg. Measured at Oxford Circus (K = 3,
#: the optimiser's model): 0 deg scores like the shipped vans (x1.03), 5 deg x1.29, 10 deg x1.23,
#: 15 deg x1.20, 20 deg x1.14, and 0, 5 and 10 together x1.29 for three times the candidates; so 5 by
#: default, more with ``--toe 0,5,10``.
DEFAULT_TOES_DEG: tuple[float, ...] = (5.0,)


@dataclass(frozen=True, kw_only=True)
class VanPose:
    """A candidate van: where it stands and where its two cameras look.

    Attributes:
        id: ``c<index>``.
        x, y: BNG metres.
        headings_deg: compass bearings of its cameras (along the flow, both ways).
        route_id: the route it was placed along; s_m: arc length there, m; side: +1 left of the
            walking direction, -1 right.
    """

    id: str
    x: float
    y: float
    headings_deg: tuple[float, ...]
    route_id: str
    s_m: float
    side: int

    @property
    def lonlat(self) -> tuple[float, float]:
        """(lon, lat) WGS84 degrees."""
        lon, lat = bng_to_lonlat(self.x, self.y)
        return float(lon), float(lat)


def _bearing(dx: float, dy: float) -> float:
    """Compass bearing of a BNG direction, degrees clockwise from north.

    >>> _bearing(1.0, 0.0), _bearing(0.0, -1.0)
    (90.0, 180.0)
    """
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _check_candidate_args(
    *, spacing_m: float, toes_deg: tuple[float, ...], offsets: tuple[float, ...]
) -> None:
    """:func:`candidate_vans`' arguments in range (its Raises)."""
    if not offsets or not all(0 <= o <= 0.5 for o in offsets):
        raise ScenarioError(f"candidate offsets {offsets} must be shares of the footway width in [0, 0.5]")
    if not spacing_m > 0:
        raise ScenarioError(f"candidate spacing {spacing_m} m must be > 0, e.g. 5")
    if not toes_deg or not all(0 <= t <= 45 for t in toes_deg):
        raise ScenarioError(f"toes {toes_deg} deg must be angles in [0, 45], e.g. 0,5,10")


def candidate_vans(
    site: Site,
    *,
    spacing_m: float = 5.0,
    toes_deg: tuple[float, ...] = DEFAULT_TOES_DEG,
    offsets: tuple[float, ...] = (0.25,),
    merge_m: float = 2.0,
    inside_tolerance_m: float = 5.0,
) -> list[VanPose]:
    """Candidate van poses along every route of ``site``.

    Args:
        site: routes (walking lines and widths) and geofence, BNG metres.
        spacing_m: distance between candidates along a route, m (> 0).
        toes_deg: the turns tried: each camera this far from the walking direction towards the footway's
            centre, deg (a 30 deg lens beside the walking line sees only part of the footway; a few
            degrees in takes in the far lanes).
        offsets: lateral positions tried, as shares of the footway's width from the walking line, on
            both sides (0.25: a quarter of the width out, where the shipped vans' cameras stand; 0.5:
            the footway's edge).
        merge_m: candidates this close to a kept one with the same headings (to 1 degree) are dropped, m.
        inside_tolerance_m: how far outside the geofence a van may stand (the run's tolerance), m.

    Returns:
        the candidates, ids ``c0``, ``c1``, ... in route order.

    Raises:
        ScenarioError: spacing_m <= 0, no toe or one outside [0, 45], an offset outside [0, 0.5].
    """
    _check_candidate_args(spacing_m=spacing_m, toes_deg=toes_deg, offsets=offsets)
    kept: list[VanPose] = []
    xy: list[tuple[float, float, tuple[float, ...]]] = []
    for route in site.routes:
        L = route.length_m
        for s in np.arange(spacing_m / 2, L, spacing_m):
            p = route.line.interpolate(s)
            a = route.line.interpolate(min(s + 0.5, L))
            b = route.line.interpolate(max(s - 0.5, 0.0))
            dx, dy = a.x - b.x, a.y - b.y
            n = math.hypot(dx, dy)
            if n == 0:
                continue
            tx, ty = dx / n, dy / n
            for side, frac, toe_deg in itertools.product((1, -1), offsets, toes_deg):
                off = side * route.width_m * frac
                x, y = p.x - ty * off, p.y + tx * off
                if site.geofence.distance(Point(x, y)) > inside_tolerance_m:
                    continue
                fwd = _bearing(tx, ty)
                # the footway's centre lies at -side across (side +1: left of the walking direction), so
                # to the right of the camera facing forward (clockwise, +side*toe) and to the left of
                # the one facing back (-side*toe); compass bearings grow clockwise
                heads = tuple(
                    round((h + d) % 360.0, 1)
                    for h, d in ((fwd, side * toe_deg), (fwd + 180, -side * toe_deg))
                )
                key = tuple(sorted(heads))
                if any(
                    math.hypot(x - kx, y - ky) < merge_m
                    and all(_ang(u, v) < 1.0 for u, v in zip(key, kk, strict=True))
                    for kx, ky, kk in xy
                ):
                    continue
                xy.append((x, y, key))
                kept.append(
                    VanPose(
                        id=f"c{len(kept)}",
                        x=float(x),
                        y=float(y),
                        headings_deg=heads,
                        route_id=route.id,
                        s_m=float(s),
                        side=side,
                    )
                )
    return kept


def _ang(a: float, b: float) -> float:
    d = abs(a - b) % 360.0
    return min(d, 360.0 - d)


def van_camera_specs(
    pose: VanPose, *, prefix: str, template: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The van's cameras as scenario camera mappings (``id``, ``lat``, ``lon``, ``heading_deg`` and the
    lens/mount keys of ``template``), ids ``<prefix>_cam1``, ``<prefix>_cam2``."""
    lon, lat = pose.lonlat
    base = {k: v for k, v in (template or {}).items() if k not in ("id", "lat", "lon", "heading_deg")}
    return [
        {"id": f"{prefix}_cam{i + 1}", "lat": round(lat, 7), "lon": round(lon, 7), "heading_deg": h, **base}
        for i, h in enumerate(pose.headings_deg)
    ]


def van_cameras(pose: VanPose, *, template: dict[str, Any] | None = None) -> list[Camera]:
    """The van's cameras in BNG (the lens keys of ``template``, a scenario camera mapping, else the
    defaults of :class:`~twin.world.camera.Camera`)."""
    keys = ("mount_height_m", "tilt_deg", "hfov_deg", "width_px", "height_px", "fps", "exposure_s")
    base = {k: template[k] for k in keys if template and k in template}
    return [
        Camera(id=f"{pose.id}_cam{i + 1}", x=pose.x, y=pose.y, heading_deg=h, **base)
        for i, h in enumerate(pose.headings_deg)
    ]


def usable_range_m(camera: Camera, gate: CaptureGate) -> float:
    """Largest slant distance at which a face still reaches ``gate.min_ied_px``, m.

    From the pinhole relation px_per_m = width_px / (2 d tan(hfov/2)) and ied_px = IED_M x px_per_m
    (DESIGN.md, "Camera"): d_max = IED_M x width_px / (2 tan(hfov/2) x min_ied_px).

    >>> round(usable_range_m(Camera(id="c", x=0.0, y=0.0), CaptureGate()), 2)  # 1920 px, 30 deg, 30 px
    7.52
    """
    return IED_M * camera.width_px / (2 * math.tan(math.radians(camera.hfov_deg) / 2) * gate.min_ied_px)


def view_tables_near(
    site: Site, cameras: Sequence[Camera], gate: CaptureGate, *, margin_m: float = 2.0, grid_m: float = 5.0
) -> list[ViewTable]:
    """View tables of ``cameras`` (indices as in the sequence) cut to the stretches of route within
    :func:`usable_range_m` + ``margin_m`` of each camera, ordered by (route, camera).

    Each stretch is widened to multiples of ``grid_m`` (on the route's station grid), so cameras a
    few metres apart share a stretch and its stations are computed once; ``s0`` and ``route`` refer to
    the whole route, as :func:`build_view_tables` gives. Only the usable captures are the same as
    whole-route tables give: frames in view outside the cut are not counted (the optimiser needs
    usable captures only).
    """
    groups: dict[tuple[int, float, float], list[int]] = {}
    for ci, cam in enumerate(cameras):
        disc = Point(cam.x, cam.y).buffer(usable_range_m(cam, gate) + margin_m)
        for ri, route in enumerate(site.routes):
            near = route.line.intersection(disc)
            if near.is_empty:
                continue
            s = [route.line.project(Point(x, y)) for x, y in shapely.get_coordinates(near)]
            a = math.floor(min(s) / grid_m) * grid_m
            b = min(math.ceil(max(s) / grid_m) * grid_m, route.length_m)
            if b - a >= 2 * STATION_M:
                groups.setdefault((ri, round(a, 6), round(b, 6)), []).append(ci)
    out: list[ViewTable] = []
    for (ri, a, b), members in groups.items():
        route = site.routes[ri]
        sub = dataclasses.replace(
            site, routes=(dataclasses.replace(route, line=substring(route.line, a, b)),)
        )
        for t in build_view_tables(sub, [cameras[ci] for ci in members], gate):
            out.append(dataclasses.replace(t, route=ri, camera=members[t.camera], s0=t.s0 + a))
    return sorted(out, key=lambda t: (t.route, t.camera))
