"""Every geometry rule a site file must pass before it is written; the first failure raises.

Run on the assembled, rounded document (what will be on disk), reprojected to EPSG:27700: all
coordinates in Greater London; one valid geofence 120-220 m across inside the source data; 8-24
routes inside it from boundary to boundary, not through buildings; 2-3 vans beside a route with a
straight route ahead of each camera; a sign within 15 m of every route's entry and before it
reaches a van.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, shape

from sitebuild.geometry import SiteBuildError, to_bng
from sitebuild.model import SiteBuild

#: Greater London, generously rounded: lat_min, lat_max, lon_min, lon_max (same as twin.world.geo).
LONDON = (51.28, 51.70, -0.52, 0.34)
END_TOL_M = 2.0  # route ends must lie this close to the geofence boundary
INSIDE_TOL_M = 0.5  # routes must lie inside the geofence buffered by this
VAN_ROUTE_TOL_M = 3.0  # a van stands this close to some route
MIN_ROUTE_M = 40.0
AHEAD_M = 10.0  # straight footway checked ahead of each camera (faces usable 4-8 m out)
VAN_ZONE_M = 12.0  # a walker "reaches" a van when it comes this close (capture zone + margin)


def validate(doc: dict, site: SiteBuild) -> dict:
    """Check the assembled (rounded) document; raise SiteBuildError on the first problem.
    Returns a summary for the report."""
    _check_coordinates(doc, site.id)
    fence = _check_fence(doc, site)
    routes = _check_routes(doc, site, fence)
    vans = _check_vans(doc, site, fence, routes)
    signs = _check_signs(doc, site.id, fence, routes, vans)
    return {"fence": fence, "routes": routes, "vans": vans, "signs": signs}


def _by(doc: dict, role: str) -> list[dict]:
    return [f for f in doc["features"] if f["properties"]["role"] == role]


def _check_coordinates(doc: dict, sid: str) -> None:
    lat0, lat1, lon0, lon1 = LONDON

    def walk(c: Any, where: str) -> None:
        if isinstance(c[0], (int, float)):
            lon, lat = c
            if not (lat0 <= lat <= lat1 and lon0 <= lon <= lon1):
                raise SiteBuildError(f"{sid} {where}: ({lat}, {lon}) outside Greater London")
        else:
            for x in c:
                walk(x, where)

    for f in doc["features"]:
        walk(f["geometry"]["coordinates"], f["properties"]["role"])


def _check_fence(doc: dict, site: SiteBuild) -> Any:
    sid = site.id
    fences = _by(doc, "geofence")
    if len(fences) != 1 or fences[0]["geometry"]["type"] != "Polygon":
        raise SiteBuildError(f"{sid}: needs exactly one Polygon geofence")
    fence = to_bng(shape(fences[0]["geometry"]))
    if not fence.is_valid:
        raise SiteBuildError(f"{sid}: geofence invalid: {shapely.validation.explain_validity(fence)}")
    x0, y0, x1, y1 = fence.bounds
    span = max(x1 - x0, y1 - y0)
    if not 120.0 <= span <= 220.0:
        raise SiteBuildError(f"{sid}: geofence is {span:.0f} m across; want 120-220 m")
    if site.data_bbox is not None and not site.data_bbox.buffer(0.5).contains(fence):
        raise SiteBuildError(f"{sid}: geofence leaves the source data bbox")
    return fence


def _check_route(f: dict, site: SiteBuild, inside: Any, boundary: Any) -> tuple[str, Any, dict]:
    sid = site.id
    p = f["properties"]
    rid = p["id"]
    if f["geometry"]["type"] != "LineString":
        raise SiteBuildError(f"{sid} route {rid}: not a LineString")
    ll = f["geometry"]["coordinates"]
    if any(a == b for a, b in itertools.pairwise(ll)):
        raise SiteBuildError(f"{sid} route {rid}: repeated vertex (zero-length segment)")
    line = to_bng(shape(f["geometry"]))
    seg = np.hypot(*np.diff(np.asarray(line.coords), axis=0).T)
    if seg.min() < 0.01:
        raise SiteBuildError(f"{sid} route {rid}: zero-length segment")
    if not line.is_simple:
        raise SiteBuildError(f"{sid} route {rid}: crosses or doubles back on itself")
    if line.length < MIN_ROUTE_M:
        raise SiteBuildError(f"{sid} route {rid}: {line.length:.1f} m long, want >= {MIN_ROUTE_M}")
    if not inside.contains(line):
        raise SiteBuildError(
            f"{sid} route {rid}: leaves the geofence ({line.difference(inside).length:.1f} m)"
        )
    for end, pt in (("start", line.coords[0]), ("end", line.coords[-1])):
        gap = boundary.distance(Point(pt))
        if gap > END_TOL_M:
            raise SiteBuildError(f"{sid} route {rid}: {end} is {gap:.1f} m from the geofence boundary")
    if not (p["weight"] > 0 and p["width_m"] > 0):
        raise SiteBuildError(f"{sid} route {rid}: weight and width_m must be > 0")
    for k in ("street", "entry", "exit", "source"):
        if not p.get(k):
            raise SiteBuildError(f"{sid} route {rid}: missing {k}")
    for b in site.buildings:
        if line.intersection(b).length > 0.5:
            raise SiteBuildError(
                f"{sid} route {rid}: runs {line.intersection(b).length:.1f} m through a building"
            )
    return rid, line, p


def _check_routes(doc: dict, site: SiteBuild, fence: Any) -> list[tuple[str, Any, dict]]:
    inside, boundary = fence.buffer(INSIDE_TOL_M), fence.exterior
    routes = [_check_route(f, site, inside, boundary) for f in _by(doc, "route")]
    ids = [r[0] for r in routes]
    if len(set(ids)) != len(ids):
        raise SiteBuildError(f"{site.id}: route ids not unique")
    if not 8 <= len(routes) <= 24:
        raise SiteBuildError(f"{site.id}: {len(routes)} routes, want 8-24")
    return routes


def _check_vans(
    doc: dict, site: SiteBuild, fence: Any, routes: list[tuple[str, Any, dict]]
) -> list[tuple[str, Any, list]]:
    sid = site.id
    vans = []
    for f in _by(doc, "van"):
        p = f["properties"]
        v = to_bng(shape(f["geometry"]))
        if not fence.contains(v):
            raise SiteBuildError(f"{sid} van {p['id']}: outside the geofence")
        near = sorted((line.distance(v), rid, line) for rid, line, _ in routes)
        if near[0][0] > VAN_ROUTE_TOL_M:
            raise SiteBuildError(
                f"{sid} van {p['id']}: {near[0][0]:.1f} m from the nearest route (> {VAN_ROUTE_TOL_M})"
            )
        if near[0][0] < 0.5:
            raise SiteBuildError(
                f"{sid} van {p['id']}: stands on the walking line itself ({near[0][0]:.2f} m)"
            )
        for b in site.buildings + site.no_van:
            if b.buffer(1.0).contains(v):
                raise SiteBuildError(f"{sid} van {p['id']}: inside a building or carriageway")
        if len(p["headings_deg"]) != 2:
            raise SiteBuildError(f"{sid} van {p['id']}: want two headings")
        for h in p["headings_deg"]:
            rad = math.radians(h)
            for t in np.arange(1.0, AHEAD_M + 0.01, 1.0):
                q = Point(v.x + t * math.sin(rad), v.y + t * math.cos(rad))
                if not fence.contains(q) or min(line.distance(q) for _, line, _ in routes) > VAN_ROUTE_TOL_M:
                    raise SiteBuildError(
                        f"{sid} van {p['id']}: heading {h} has no straight route {t:.0f} m ahead"
                    )
        vans.append((p["id"], v, p["headings_deg"]))
    if not 2 <= len(vans) <= 3:
        raise SiteBuildError(f"{sid}: {len(vans)} vans, want 2-3")
    return vans


def _check_signs(
    doc: dict, sid: str, fence: Any, routes: list[tuple[str, Any, dict]], vans: list[tuple[str, Any, list]]
) -> list[Any]:
    signs = [to_bng(shape(f["geometry"])) for f in _by(doc, "signage")]
    for s in signs:
        if not fence.contains(s):
            raise SiteBuildError(f"{sid}: a sign stands outside the geofence")
    for rid, line, _ in routes:
        # where the walker first comes within VAN_ZONE_M of a van
        ss = np.arange(0.0, line.length, 0.5)
        first_van = math.inf
        for s in ss:
            q = line.interpolate(s)
            if any(q.distance(v) <= VAN_ZONE_M for _, v, _ in vans):
                first_van = s
                break
        passed = [line.project(s) for s in signs if line.distance(s) <= 1.0]
        if not passed or min(passed) > 15.0:
            raise SiteBuildError(f"{sid} route {rid}: no sign within 15 m of its entry")
        if min(passed) >= first_van:
            raise SiteBuildError(
                f"{sid} route {rid}: reaches a van ({first_van:.0f} m) before a sign ({min(passed):.0f} m)"
            )
    return signs
