"""Geometry for building sites: WGS84 <-> British National Grid (EPSG:27700) and line helpers, in metres.

All computation is in EPSG:27700 metres (pyproj, ``always_xy=True``); bearings are grid bearings,
clockwise from grid north (true north differs by about 1.5 degrees in London).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import linemerge, substring

TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
TO_LL = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

#: Coordinates are written with this many decimals (about 1 cm).
ROUND = 7


class SiteBuildError(RuntimeError):
    """A site failed a geometry check; the message says which feature and why."""


def to_bng(geom: Any) -> Any:
    """WGS84 lon/lat geometry -> EPSG:27700 metres."""
    return shapely.transform(geom, lambda a: np.column_stack(TO_BNG.transform(a[:, 0], a[:, 1])))


def to_ll(geom: Any) -> Any:
    """EPSG:27700 metres -> WGS84 lon/lat geometry."""
    return shapely.transform(geom, lambda a: np.column_stack(TO_LL.transform(a[:, 0], a[:, 1])))


def bng(lat: float, lon: float) -> tuple[float, float]:
    """(lat, lon) degrees -> (x, y) metres."""
    x, y = TO_BNG.transform(lon, lat)
    return float(x), float(y)


def bearing(p: tuple[float, float], q: tuple[float, float]) -> float:
    """Grid bearing p -> q, degrees clockwise from grid north, [0, 360)."""
    return math.degrees(math.atan2(q[0] - p[0], q[1] - p[1])) % 360.0


def clean(line: LineString, tol: float = 0.05) -> LineString:
    """Drop repeated / near-repeated vertices (no zero-length segments)."""
    pts = [tuple(c[:2]) for c in line.coords]
    out = [pts[0]]
    for p in pts[1:]:
        if math.dist(p, out[-1]) > tol:
            out.append(p)
    if len(out) == 1:
        out.append(pts[-1])
    elif math.dist(out[-1], pts[-1]) > 1e-9:  # keep the exact end point
        out[-1] = pts[-1]
    return LineString(out)


def join(*parts: LineString) -> LineString:
    """Concatenate lines that meet end to start (within 0.5 m)."""
    coords: list[tuple[float, float]] = []
    for part in parts:
        pc = [tuple(c[:2]) for c in part.coords]
        if coords:
            if math.dist(coords[-1], pc[0]) > 0.5:
                raise SiteBuildError(f"join: parts do not meet ({coords[-1]} vs {pc[0]})")
            pc = pc[1:]
        coords.extend(pc)
    return clean(LineString(coords))


def reverse(line: LineString) -> LineString:
    return LineString(list(line.coords)[::-1])


def cut(line: LineString, pt: Point) -> tuple[LineString, LineString]:
    """Split ``line`` at its closest point to ``pt``: (start -> pt, pt -> end)."""
    s = line.project(pt)
    return substring(line, 0.0, s), substring(line, s, line.length)


def clip(line: LineString, fence: Polygon, what: str) -> LineString:
    """The part of ``line`` inside ``fence``, same direction, one piece, ends on the boundary."""
    inter = line.intersection(fence)
    if inter.geom_type == "MultiLineString":
        merged = linemerge(inter)
        if merged.geom_type != "LineString":
            pieces = ", ".join(f"{g.length:.1f} m" for g in merged.geoms)
            raise SiteBuildError(f"{what}: leaves and re-enters the geofence (pieces {pieces})")
        inter = merged
    if inter.geom_type != "LineString" or inter.is_empty:
        raise SiteBuildError(f"{what}: does not cross the geofence ({inter.geom_type})")
    if line.project(Point(inter.coords[0])) > line.project(Point(inter.coords[-1])):
        inter = reverse(inter)
    return clean(inter)


def midline(a: LineString, b: LineString, step: float = 2.0) -> LineString:
    """Centre line between two roughly parallel carriageway centrelines, in ``a``'s direction."""
    ss = [*list(np.arange(0.0, a.length, step)), a.length]
    pts = []
    for s in ss:
        p = a.interpolate(s)
        q = b.interpolate(b.project(p))
        pts.append(((p.x + q.x) / 2.0, (p.y + q.y) / 2.0))
    return clean(LineString(pts), 0.5)


def circle(cx: float, cy: float, r: float) -> Polygon:
    """Geofence circle as a 64-gon (valid, counter-clockwise)."""
    return shapely.geometry.polygon.orient(Point(cx, cy).buffer(r, quad_segs=16), 1.0)


def point_along(line: LineString, s: float, lateral: float = 0.0) -> tuple[Point, float]:
    """Point at distance ``s`` along ``line``, moved ``lateral`` m to the left (right if < 0),
    and the local bearing of the line there (over +/- 3 m)."""
    p0 = line.interpolate(max(0.0, s - 3.0))
    p1 = line.interpolate(min(line.length, s + 3.0))
    b = bearing((p0.x, p0.y), (p1.x, p1.y))
    p = line.interpolate(s)
    rad = math.radians(b)
    ux, uy = math.sin(rad), math.cos(rad)
    return Point(p.x - uy * lateral, p.y + ux * lateral), b
