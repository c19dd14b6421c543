"""A deployment site: geofence, walkable routes, van positions and signage, in metres (BNG).

Loaded from a site map file (format: ``maps/README.md``); the WGS84 coordinates there are
projected to British National Grid once, here. The base-layer geometry (streets, footways,
buildings) stays in WGS84 for drawing only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely import LineString, Point, Polygon
from shapely.validation import explain_validity

from twin.errors import GeofenceError, MapFileError
from twin.world.geo import check_in_london, lonlat_to_bng

__all__ = ["BASE_ROLES", "Route", "Site", "Van", "load_site"]

#: Feature roles drawn as the base layer (no tiles needed).
BASE_ROLES = ("street", "footway", "building", "park")

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
    arr = np.asarray(coords, dtype=float)
    if arr.ndim != 2 or arr.shape[1] < 2 or len(arr) < 1:
        raise MapFileError(f"{where}: coordinates must be a list of [lon, lat] pairs")
    for lon, lat in arr[:, :2]:
        check_in_london(float(lat), float(lon), f"{where} (GeoJSON order is [lon, lat])")
    return arr[:, :2]


def _to_bng(pairs: np.ndarray) -> np.ndarray:
    x, y = lonlat_to_bng(pairs[:, 0], pairs[:, 1])
    return np.column_stack([x, y])


def _geofence(feature: dict[str, Any], where: str) -> Polygon:
    geom = feature.get("geometry") or {}
    if geom.get("type") != "Polygon" or not geom.get("coordinates"):
        raise MapFileError(f"{where}: the geofence must be a GeoJSON Polygon, got {geom.get('type')!r}")
    rings = [_to_bng(_lonlat_pairs(ring, f"{where} geofence")) for ring in geom["coordinates"]]
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

    Args:
        path: GeoJSON file in the ``maps/README.md`` format.
        route_weights: override route weights by id (relative shares >= 0).
        extra_signage: extra sign positions as (lat, lon) pairs.

    Returns:
        a :class:`Site` in BNG metres.

    Raises:
        MapFileError: file missing or malformed, no geofence or routes, unknown route id in
            ``route_weights``, all weights zero.
        GeofenceError: self-intersecting geofence, coordinates outside London or swapped,
            a route leaving the geofence.
    """
    path = Path(path)
    raw, doc = _read_map(path)
    where = path.name
    feats = [f for f in doc.get("features", []) if isinstance(f, dict)]
    by_role: dict[str, list[dict[str, Any]]] = {}
    for f in feats:
        by_role.setdefault(str((f.get("properties") or {}).get("role", "")), []).append(f)
    fences = by_role.get("geofence", [])
    if len(fences) != 1:
        raise MapFileError(f"{where}: needs exactly one feature with role 'geofence', found {len(fences)}")
    geofence = _geofence(fences[0], where)
    routes = _routes(by_role.get("route", []), geofence, where, dict(route_weights or {}))
    vans: list[Van] = []
    for f in by_role.get("van", []):
        p = f.get("properties") or {}
        lon, lat = _lonlat_pairs([(f.get("geometry") or {}).get("coordinates")], f"{where} van")[0]
        x, y = lonlat_to_bng(lon, lat)
        vans.append(
            Van(
                id=str(p.get("id", f"van{len(vans) + 1}")),
                x=float(x),
                y=float(y),
                lat=float(lat),
                lon=float(lon),
                headings_deg=tuple(float(h) % 360 for h in p.get("headings_deg", [])),
                note=str(p.get("note", "")),
            )
        )

    signs = [(f.get("geometry") or {}).get("coordinates") for f in by_role.get("signage", [])]
    sign_ll = [tuple(c[:2]) for c in signs if c] + [(lon, lat) for lat, lon in extra_signage]
    signage = _to_bng(_lonlat_pairs(sign_ll, f"{where} signage")) if sign_ll else np.zeros((0, 2))

    meta = doc.get("site") or {}
    footfall = meta.get("footfall") or {}
    base = tuple(f for f in feats if (f.get("properties") or {}).get("role") in BASE_ROLES)
    return Site(
        id=str(meta.get("id", path.stem)),
        name=str(meta.get("name", path.stem)),
        geofence=geofence,
        routes=tuple(routes),
        vans=tuple(vans),
        signage=signage,
        daily_passers_by=float(footfall.get("daily_passers_by", 0.0) or 0.0),
        footfall_source=str(footfall.get("source", "")),
        base_layers=base,
        attribution=doc.get("attribution") or {},
        approximate=bool(meta.get("approximate", False)),
        geometry_source=str(meta.get("geometry_source", "")),
        path=path.resolve(),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _read_map(path: Path) -> tuple[bytes, dict[str, Any]]:
    """The site map file's bytes and its GeoJSON FeatureCollection.

    Raises:
        MapFileError: missing, not JSON, or not a FeatureCollection.
    """
    if not path.is_file():
        raise MapFileError(
            f"site map {str(path)!r} not found; site.map is relative to the scenario file, "
            "e.g. ../maps/oxford_circus.geojson"
        )
    raw = path.read_bytes()
    try:
        doc = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MapFileError(f"{path}: not valid GeoJSON ({exc}); rebuild it with maps/build_sites.py") from exc
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise MapFileError(f"{path}: must be a GeoJSON FeatureCollection (maps/README.md)")
    return raw, doc


def _route(f: dict[str, Any], inside: Any, boundary: Any, where: str, overrides: dict[str, float]) -> Route:
    """One route feature, checked: a LineString inside the geofence from boundary to boundary.

    Raises:
        MapFileError, GeofenceError: see :func:`load_site`.
    """
    p = f.get("properties") or {}
    rid = str(p.get("id", ""))
    geom = f.get("geometry") or {}
    if not rid or geom.get("type") != "LineString":
        raise MapFileError(f"{where}: every route needs an 'id' and a LineString geometry (route {rid!r})")
    xy = _to_bng(_lonlat_pairs(geom.get("coordinates"), f"{where} route {rid}"))
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
    weight = float(overrides.pop(rid, p.get("weight", 1.0)))
    width = float(p.get("width_m", 3.0))
    if not (weight >= 0 and np.isfinite(weight)):
        raise MapFileError(f"{where}: route {rid} weight {weight} must be >= 0")
    if not (0.5 <= width <= 50):
        raise MapFileError(f"{where}: route {rid} width_m {width} must be between 0.5 and 50 m")
    return Route(
        id=rid,
        line=line,
        weight=weight,
        width_m=width,
        entry=str(p.get("entry", "")),
        exit=str(p.get("exit", "")),
        street=str(p.get("street", "")),
    )


def _routes(
    feats: list[dict[str, Any]], geofence: Polygon, where: str, overrides: dict[str, float]
) -> list[Route]:
    """Every route feature (:func:`_route`), ids unique, overrides all used, some weight positive.

    Raises:
        MapFileError, GeofenceError: see :func:`load_site`.
    """
    inside = geofence.buffer(0.5)
    routes = [_route(f, inside, geofence.exterior, where, overrides) for f in feats]
    if not routes:
        raise MapFileError(f"{where}: no features with role 'route'; a site needs walkable routes")
    ids = [r.id for r in routes]
    if len(set(ids)) != len(ids):
        raise MapFileError(
            f"{where}: route ids must be unique, repeated: {sorted({i for i in ids if ids.count(i) > 1})}"
        )
    if overrides:
        raise MapFileError(
            f"site.route_weights names unknown route(s) {sorted(overrides)}; routes of {where}: {ids}"
        )
    if sum(r.weight for r in routes) <= 0:
        raise MapFileError(f"{where}: every route weight is 0; give at least one route a positive weight")
    return routes
