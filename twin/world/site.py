"""A deployment site: geofence, walkable routes, van positions and signage, in metres (BNG).

Loaded from a site map file (format: ``maps/README.md``); the WGS84 coordinates there are
projected to British National Grid once, here. The base-layer geometry (streets, footways,
buildings) stays in WGS84 for drawing only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely import LineString, Point, Polygon
from shapely.validation import explain_validity

from twin.errors import GeofenceError, MapFileError
from twin.world.geo import check_in_london, lonlat_to_bng
from twin.world.sitefile import BASE_ROLES, RouteProps, SiteFile, VanProps, read_site_file

__all__ = ["BASE_ROLES", "Route", "Site", "Van", "load_site"]

#: How far a route end may lie from the geofence boundary, m (maps/README.md allows 2 m).
ROUTE_END_TOLERANCE_M = 2.5


@dataclass(frozen=True, kw_only=True)
class Route:
    """A walkable path through the site, drawn from entry to exit.

    Attributes:
        id: unique route id.
        line: LineString in BNG metres, oriented entry -> exit.
        weight: relative share of passers-by who take this route (>= 0).
        width_m: width of the footway walkers spread across, m.
        entry, exit, street: labels.
    """

    id: str
    line: LineString
    weight: float
    width_m: float
    entry: str = ""
    exit: str = ""
    street: str = ""

    @property
    def length_m(self) -> float:
        """Length along the path, m."""
        return float(self.line.length)


@dataclass(frozen=True, kw_only=True)
class Van:
    """A suggested LFR van position (BNG metres) and its camera headings (compass degrees)."""

    id: str
    x: float
    y: float
    lat: float
    lon: float
    headings_deg: tuple[float, ...]
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Site:
    """A site in metres: the geofence polygon, routes, vans, signs, plus drawing layers.

    Attributes:
        id, name: identifiers.
        geofence: Polygon, BNG metres.
        routes: tuple of :class:`Route` (weights after the scenario's overrides).
        vans: suggested van positions.
        signage: (K, 2) float64 array of sign positions, BNG metres.
        daily_passers_by: the map's footfall figure (people/day) and its source text.
        base_layers: WGS84 GeoJSON features with roles in :data:`BASE_ROLES`, for drawing.
        attribution: the data licence/attribution object (ODbL for OSM-derived sites).
        approximate: True where the geometry was drawn by hand (no OSM data).
        path, sha256: the map file and the hash of its bytes.
    """

    id: str
    name: str
    geofence: Polygon
    routes: tuple[Route, ...]
    vans: tuple[Van, ...]
    signage: np.ndarray
    daily_passers_by: float
    footfall_source: str
    base_layers: tuple[dict[str, Any], ...] = field(repr=False)
    attribution: Mapping[str, Any] = field(repr=False)
    approximate: bool = False
    geometry_source: str = ""
    path: Path | None = None
    sha256: str = ""

    @property
    def area_m2(self) -> float:
        """Geofence area, square metres."""
        return float(self.geofence.area)

    def route_index(self, route_id: str) -> int:
        """Position of ``route_id`` in :attr:`routes`.

        Raises:
            MapFileError: no such route (the message lists the valid ids).
        """
        for i, r in enumerate(self.routes):
            if r.id == route_id:
                return i
        raise MapFileError(f"site {self.id}: no route {route_id!r}; routes are {[r.id for r in self.routes]}")


def _lonlat_pairs(coords: Any, where: str) -> np.ndarray:
    """(N, 2) float64 [lon, lat] of validated positions, each checked to lie in London."""
    arr = np.asarray([list(p)[:2] for p in coords], dtype=float).reshape(-1, 2)
    for lon, lat in arr:
        check_in_london(float(lat), float(lon), f"{where} (GeoJSON order is [lon, lat])")
    return arr


def _to_bng(pairs: np.ndarray) -> np.ndarray:
    x, y = lonlat_to_bng(pairs[:, 0], pairs[:, 1])
    return np.column_stack([x, y])


def _geofence(geom: dict[str, Any], where: str) -> Polygon:
    rings = [_to_bng(_lonlat_pairs(ring, f"{where} geofence")) for ring in geom["coordinates"]]
    if any(len(r) < 4 for r in rings):
        raise GeofenceError(
            f"{where}: a geofence ring has fewer than 4 positions; give at least 3 corners and repeat the "
            "first at the end"
        )
    poly = Polygon(rings[0], rings[1:])
    if not poly.is_valid:
        raise GeofenceError(
            f"{where}: geofence polygon is invalid ({explain_validity(poly)}); "
            "redraw it so its edges do not cross (e.g. order the corners around the boundary)"
        )
    if poly.area < 100:
        raise GeofenceError(
            f"{where}: geofence area {poly.area:.1f} m² is too small for a deployment (< 100 m²)"
        )
    return poly


def load_site(
    path: Path | str,
    *,
    route_weights: Mapping[str, float] | None = None,
    extra_signage: Sequence[tuple[float, float]] = (),
) -> Site:
    """Load and validate a site map file.

    The file's form (strict JSON, the FeatureCollection, each feature's role, properties and
    coordinates) is checked by :func:`twin.world.sitefile.read_site_file`; the geometry here.

    Args:
        path: GeoJSON file in the ``maps/README.md`` format.
        route_weights: override route weights by id (relative shares >= 0).
        extra_signage: extra sign positions as (lat, lon) pairs.

    Returns:
        a :class:`Site` in BNG metres.

    Raises:
        MapFileError: file missing, a folder, too large or malformed (one line naming the feature,
            the property and the fix), no geofence or routes, unknown route id in ``route_weights``,
            all weights zero.
        GeofenceError: self-intersecting geofence, coordinates outside London or swapped,
            a route leaving the geofence.
    """
    path = Path(path)
    raw, doc = read_site_file(path)
    where = path.name
    fences = doc.by_role("geofence")
    if len(fences) != 1:
        raise MapFileError(f"{where}: needs exactly one feature with role 'geofence', found {len(fences)}")
    geofence = _geofence(fences[0][1], where)
    routes = _routes(doc, geofence, where, dict(route_weights or {}))
    vans = [_van(p, g, where, i) for i, (p, g, _) in enumerate(doc.by_role("van"))]
    sign_ll = [tuple(g["coordinates"][:2]) for _, g, _ in doc.by_role("signage")]
    sign_ll += [(lon, lat) for lat, lon in extra_signage]
    signage = _to_bng(_lonlat_pairs(sign_ll, f"{where} signage")) if sign_ll else np.zeros((0, 2))
    meta = doc.meta
    return Site(
        id=meta.id or path.stem,
        name=meta.name or path.stem,
        geofence=geofence,
        routes=tuple(routes),
        vans=tuple(vans),
        signage=signage,
        daily_passers_by=float(meta.footfall.daily_passers_by),
        footfall_source=meta.footfall.source,
        base_layers=tuple(f for role in BASE_ROLES for _, _, f in doc.by_role(role)),
        attribution=doc.attribution,
        approximate=meta.approximate,
        geometry_source=meta.geometry_source,
        path=path.resolve(),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _van(p: VanProps, geom: dict[str, Any], where: str, index: int) -> Van:
    lon, lat = _lonlat_pairs([geom["coordinates"]], f"{where} van {p.id}")[0]
    x, y = lonlat_to_bng(lon, lat)
    return Van(
        id=p.id or f"van{index + 1}",
        x=float(x),
        y=float(y),
        lat=float(lat),
        lon=float(lon),
        headings_deg=tuple(float(h) % 360 for h in p.headings_deg),
        note=p.note,
    )


def _route(
    p: RouteProps, geom: dict[str, Any], inside: Any, boundary: Any, where: str, overrides: dict[str, float]
) -> Route:
    """One route, checked: a LineString inside the geofence from boundary to boundary.

    Raises:
        MapFileError, GeofenceError: see :func:`load_site`.
    """
    rid = p.id
    xy = _to_bng(_lonlat_pairs(geom["coordinates"], f"{where} route {rid}"))
    line = LineString(xy)
    if line.length < 1.0:
        raise GeofenceError(f"{where}: route {rid} is {line.length:.2f} m long; a route must cross the area")
    if not inside.contains(line):
        outside = line.difference(inside).length
        raise GeofenceError(
            f"{where}: route {rid} leaves the geofence for {outside:.1f} m; clip it to the geofence "
            "so that it starts and ends on the boundary"
        )
    for end, pt in (("start", xy[0]), ("end", xy[-1])):
        gap = boundary.distance(Point(pt))
        if gap > ROUTE_END_TOLERANCE_M:
            raise GeofenceError(
                f"{where}: route {rid} {end}s {gap:.1f} m inside the geofence boundary; entries and exits "
                f"must lie on the boundary (within {ROUTE_END_TOLERANCE_M} m)"
            )
    weight = float(overrides.pop(rid, p.weight))
    return Route(
        id=rid, line=line, weight=weight, width_m=p.width_m, entry=p.entry, exit=p.exit, street=p.street
    )


def _routes(doc: SiteFile, geofence: Polygon, where: str, overrides: dict[str, float]) -> list[Route]:
    """Every route feature (:func:`_route`), ids unique, overrides all used, some weight positive.

    Raises:
        MapFileError, GeofenceError: see :func:`load_site`.
    """
    inside = geofence.buffer(0.5)
    feats = doc.by_role("route")
    if not feats:
        raise MapFileError(f"{where}: no features with role 'route'; a site needs walkable routes")
    ids = [p.id for p, _, _ in feats]
    if len(set(ids)) != len(ids):
        raise MapFileError(
            f"{where}: route ids must be unique, repeated: {sorted({i for i in ids if ids.count(i) > 1})}"
        )
    unknown = sorted(set(overrides) - set(ids))
    if unknown:
        raise MapFileError(f"site.route_weights names unknown route(s) {unknown}; routes of {where}: {ids}")
    routes = [_route(p, g, inside, geofence.exterior, where, overrides) for p, g, _ in feats]
    if sum(r.weight for r in routes) <= 0:
        raise MapFileError(f"{where}: every route weight is 0; give at least one route a positive weight")
    return routes
