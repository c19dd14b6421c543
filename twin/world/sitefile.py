"""The site map file's schema (``maps/README.md``): pydantic models over GeoJSON, checked before any geometry.

A site file is read as strictly as a scenario: :func:`read_site_file` refuses a file over
:data:`twin.files.MAX_MAP_BYTES`, JSON with ``NaN``/``Infinity`` or nested deeper than GeoJSON
needs, and then validates the FeatureCollection: each feature's geometry with geojson-pydantic
(strict: numbers are numbers, rings closed) plus the checks RFC 7946 leaves to the reader (every
position finite, the same dimension throughout a geometry, a polygon with a ring), and each
feature's properties with the model of its role (unknown keys refused, listing the valid ones;
ids restricted to :data:`twin.scenario.base.SAFE_ID_PATTERN`, the site's name to
:data:`~twin.scenario.base.SAFE_NAME_PATTERN`). Every failure is one
:class:`~twin.errors.MapFileError` line naming the file, the feature (index, role and id), the
property, the value and what is expected. Coordinates that look like British National Grid metres,
or a ``crs`` member naming another system, are refused with a hint: GeoJSON is WGS84 [lon, lat].

What is checked here is form; the geometry itself (a valid geofence, routes inside it, points in
London) is checked by :func:`twin.world.site.load_site`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from geojson_pydantic.geometries import Geometry
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from twin.errors import MapFileError
from twin.files import MAX_MAP_BYTES, loads_json, read_capped
from twin.scenario.base import check_safe_id, check_safe_name
from twin.scenario.specs import MAX_DAILY_PASSERS_BY

__all__ = [
    "BASE_ROLES",
    "MAX_FEATURES",
    "MAX_POSITIONS",
    "MAX_ROUTES",
    "ROLES",
    "SiteFile",
    "SiteMeta",
    "read_site_file",
]

#: Feature roles drawn as the base layer (no tiles needed).
BASE_ROLES = ("street", "footway", "building", "park")
#: Every role a feature may have (maps/README.md).
ROLES = ("geofence", "route", "van", "signage", *BASE_ROLES)
#: Most features in one file (the shipped maps have 60-200).
MAX_FEATURES = 50_000
#: Most positions in one geometry (a London street block needs tens).
MAX_POSITIONS = 100_000
#: Most routes in one site: each route is walked past each camera (view tables grow with both).
MAX_ROUTES = 256
#: Most vans and signs in one site.
MAX_POINTS = 1_000

_GEOMETRY: TypeAdapter[Any] = TypeAdapter(Geometry)
#: Geometry types each role accepts.
_GEOMETRY_TYPES: dict[str, tuple[str, ...]] = {
    "geofence": ("Polygon",),
    "route": ("LineString",),
    "van": ("Point",),
    "signage": ("Point",),
    "street": ("LineString", "MultiLineString"),
    "footway": ("LineString", "MultiLineString"),
    "building": ("Polygon", "MultiPolygon"),
    "park": ("Polygon", "MultiPolygon"),
}
#: How deep positions sit in each geometry type's coordinates (Point: the position itself).
_POSITION_DEPTH = {"Point": 0, "LineString": 1, "MultiPoint": 1, "Polygon": 2, "MultiLineString": 2}
_TEXT = Field(default="", max_length=2000)


class _Props(BaseModel):
    """Properties of one feature role: strict types (no "1" for 1), unknown keys refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _finite(v: float, info: Any) -> float:
    if not math.isfinite(v):
        raise ValueError(f"{info.field_name} {v} must be a finite number")
    return v


class GeofenceProps(_Props):
    """``role: geofence``: the deployment's target area."""

    role: Literal["geofence"]
    name: str = _TEXT
    source: str = _TEXT
    approximate: bool = False


class RouteProps(_Props):
    """``role: route``: a walkable path drawn from entry to exit."""

    role: Literal["route"]
    id: str = Field(description="unique route id: letters, digits, '_', '-', '.' (e.g. ox_n_we)")
    weight: float = Field(
        default=1.0, ge=0, le=1e6, description="relative share of passers-by, a number >= 0 (e.g. 1.0)"
    )
    width_m: float = Field(default=3.0, ge=0.5, le=50, description="footway width, m (0.5-50, e.g. 3)")
    entry: str = _TEXT
    exit: str = _TEXT
    street: str = _TEXT
    source: str = _TEXT
    approximate: bool = False

    _id = field_validator("id")(lambda v: check_safe_id(v, "route id"))
    _nums = field_validator("weight", "width_m")(_finite)


class VanProps(_Props):
    """``role: van``: a suggested van position and its camera headings."""

    role: Literal["van"]
    id: str = Field(description="van id: letters, digits, '_', '-', '.' (e.g. van_north)")
    headings_deg: list[float] = Field(
        default_factory=list, max_length=16, description="camera headings, compass degrees (e.g. [76, 256])"
    )
    note: str = _TEXT
    approximate: bool = False

    _id = field_validator("id")(lambda v: check_safe_id(v, "van id"))

    @field_validator("headings_deg")
    @classmethod
    def _headings(cls, v: list[float]) -> list[float]:
        if not all(math.isfinite(h) and -360 <= h <= 720 for h in v):
            raise ValueError(
                f"headings_deg {v} must be compass bearings in degrees from north, [0, 360) (-360 to 720 "
                "accepted), e.g. [76, 256]"
            )
        return v


class SignProps(_Props):
    """``role: signage``: an LFR notice sign."""

    role: Literal["signage"]
    id: str = Field(default="", description="sign id (e.g. sign_1)")
    text: str = _TEXT
    approximate: bool = False

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        return check_safe_id(v, "sign id") if v else v


class BaseProps(BaseModel):
    """Base-layer features (streets, footways, buildings, parks): OSM tags kept as they are (drawn only)."""

    model_config = ConfigDict(extra="allow", frozen=True)
    role: Literal["street", "footway", "building", "park"]


_PROPS: dict[str, type[BaseModel]] = {
    "geofence": GeofenceProps,
    "route": RouteProps,
    "van": VanProps,
    "signage": SignProps,
    **dict.fromkeys(BASE_ROLES, BaseProps),
}


class Footfall(_Props):
    """``site.footfall``: the site's daily passers-by and where the figure comes from."""

    daily_passers_by: float = Field(
        default=0.0,
        ge=0,
        le=MAX_DAILY_PASSERS_BY,
        description=f"people entering the site per day (0-{MAX_DAILY_PASSERS_BY:,}, e.g. 250000)",
    )
    source: str = _TEXT
    assumption: bool = False

    _n = field_validator("daily_passers_by")(_finite)


class SiteMeta(_Props):
    """The ``site`` member: id, name, and the facts the twin reads from the map."""

    id: str | None = Field(default=None, description="site id: letters, digits, '_', '-', '.'")
    name: str | None = Field(default=None, description="site name, e.g. Oxford Circus")
    centre: list[float] | None = Field(default=None, min_length=2, max_length=2)
    approximate: bool = False
    geometry_source: str = _TEXT
    footfall: Footfall = Field(default_factory=Footfall)
    notes: str = _TEXT

    @field_validator("id")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return None if v is None else check_safe_id(v, "site id")

    @field_validator("name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else check_safe_name(v, "site name")


class SiteFile(BaseModel):
    """A validated site file: the ``site`` member, the attribution, and the features by role.

    Attributes:
        meta: the ``site`` member.
        attribution: the data licence object (drawn escaped on maps).
        features: ``(role, properties, geometry, raw feature)`` in file order; geometry as a dict
            with ``type`` and float ``coordinates`` ([lon, lat] or [lon, lat, z]).
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)
    meta: SiteMeta
    attribution: dict[str, Any]
    features: tuple[tuple[str, Any, dict[str, Any], dict[str, Any]], ...]

    def by_role(self, role: str) -> list[tuple[Any, dict[str, Any], dict[str, Any]]]:
        """(properties, geometry, raw feature) of every feature with ``role``, in file order."""
        return [(p, g, f) for r, p, g, f in self.features if r == role]


def _pydantic_line(exc: ValidationError, model: type[BaseModel] | None, prefix: str) -> str:
    """The first error of a validation as "prefix.key: message (got value; expected ...)"."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"] if p not in ("Position2D", "Position3D"))
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden" and model is not None:
        valid = ", ".join(model.model_fields)
        return f"{prefix}.{loc}: unknown key; valid keys here: {valid}"
    if err["type"] == "missing":
        return f"{prefix}.{loc}: required key missing"
    got = "" if err["type"] == "value_error" else f" (got {err.get('input')!r:.80})"
    field = model.model_fields.get(str(err["loc"][0])) if model is not None and err["loc"] else None
    described = field is not None and field.description and err["type"] != "value_error"
    expected = f"; expected {field.description}" if described and field is not None else ""
    return f"{prefix}{'.' + loc if loc else ''}: {msg}{got}{expected}"


def _positions(coords: Any, depth: int) -> Iterator[Any]:
    if depth == 0:
        yield coords
    else:
        for c in coords:
            yield from _positions(c, depth - 1)


def _check_geometry(geom: dict[str, Any], role: str, label: str) -> None:
    """Form of one geometry beyond geojson-pydantic: type for the role, finite, one dimension, not empty.

    Raises:
        MapFileError: naming the feature and the fix.
    """
    gtype = geom.get("type")
    if gtype not in _GEOMETRY_TYPES[role]:
        raise MapFileError(
            f"{label}: geometry must be a GeoJSON {' or '.join(_GEOMETRY_TYPES[role])} for role {role!r}, "
            f"got {gtype!r}"
        )
    depth = _POSITION_DEPTH.get(str(gtype), 3)
    coords = geom["coordinates"]
    if gtype in ("Polygon", "MultiPolygon") and (
        not coords or any(not ring for ring in (coords if gtype == "Polygon" else coords[0]))
    ):
        raise MapFileError(
            f"{label}: the {gtype} has no coordinates; give its outer ring as [[lon, lat], ...] "
            "with the first corner repeated at the end"
        )
    dims, n = set(), 0
    for pos in _positions(coords, depth):
        n += 1
        dims.add(len(pos))
        bad = [v for v in pos if not math.isfinite(v)]
        if bad:
            raise MapFileError(f"{label}: coordinate {list(pos)} is not finite; give [lon, lat] in degrees")
        lon, lat = pos[0], pos[1]
        if abs(lon) > 180 or abs(lat) > 90:
            hint = (
                " look like British National Grid (EPSG:27700) eastings/northings in metres; site maps are "
                "WGS84 [lon, lat] in degrees (RFC 7946): convert them (e.g. pyproj, EPSG:27700 to EPSG:4326)"
                if 0 <= lon <= 700_000 and 0 <= lat <= 1_300_000
                else " are outside [-180, 180] x [-90, 90]; give WGS84 [lon, lat] in degrees"
            )
            raise MapFileError(f"{label}: coordinates {list(pos)}{hint}")
    if len(dims) > 1:
        raise MapFileError(
            f"{label}: positions mix {' and '.join(f'{d}-D' for d in sorted(dims))} coordinates; give every "
            "position as [lon, lat] (or every one as [lon, lat, height])"
        )
    if n > MAX_POSITIONS:
        raise MapFileError(f"{label}: {n:,} positions, more than the {MAX_POSITIONS:,} a site feature needs")


def _feature(i: int, f: Any, where: str) -> tuple[str, Any, dict[str, Any], dict[str, Any]]:
    """One feature validated: (role, properties model, geometry dict, the raw feature)."""
    if not isinstance(f, dict) or f.get("type") != "Feature":
        raise MapFileError(f"{where}: feature {i} must be a GeoJSON Feature object with type 'Feature'")
    props = f.get("properties")
    if not isinstance(props, dict):
        raise MapFileError(f"{where}: feature {i}: properties must be an object with a 'role'")
    role = props.get("role")
    rid = props.get("id")
    label = f"{where}: feature {i} ({role!r}{f' {rid!r}' if isinstance(rid, str) and rid else ''})"
    if not isinstance(role, str) or role not in _PROPS:
        raise MapFileError(f"{label}: properties.role must be one of {', '.join(ROLES)} (got {role!r})")
    model = _PROPS[str(role)]
    try:
        parsed = model.model_validate(props)
    except ValidationError as exc:
        raise MapFileError(f"{label}: " + _pydantic_line(exc, model, "properties")) from None
    try:
        geometry = _GEOMETRY.validate_python(f.get("geometry"), strict=True)
    except ValidationError as exc:
        raise MapFileError(f"{label}: " + _pydantic_line(exc, None, "geometry")) from None
    geom = geometry.model_dump(exclude_none=True)
    # lists of floats, as written (a GeometryCollection has none: its type is refused for every role)
    geom["coordinates"] = f["geometry"].get("coordinates")
    _check_geometry(geom, str(role), label)
    return str(role), parsed, geom, f


def _check_counts(features: list[tuple[str, Any, dict[str, Any], dict[str, Any]]], where: str) -> None:
    roles = [r for r, *_ in features]
    for role, cap in (("route", MAX_ROUTES), ("van", MAX_POINTS), ("signage", MAX_POINTS)):
        if roles.count(role) > cap:
            raise MapFileError(
                f"{where}: {roles.count(role)} features with role {role!r}; the limit is {cap}"
            )


def _check_crs(doc: dict[str, Any], where: str) -> None:
    """RFC 7946 dropped ``crs``; one naming anything but WGS84 lon/lat means the coordinates are not."""
    crs = doc.get("crs")
    if crs is None:
        return
    name = str(((crs.get("properties") or {}).get("name") if isinstance(crs, dict) else crs) or "")
    if not any(k in name.upper() for k in ("CRS84", "EPSG::4326", "EPSG:4326")):
        raise MapFileError(
            f"{where}: the 'crs' member names {name or crs!r}; site maps are WGS84 [lon, lat] (RFC 7946 has "
            "no crs member): convert the coordinates to EPSG:4326 and drop the crs member"
        )


def read_site_file(path: Path | str) -> tuple[bytes, SiteFile]:
    """Read and validate a site map file's form (module docstring).

    Args:
        path: the GeoJSON file.

    Returns:
        (the file's bytes, the validated :class:`SiteFile`).

    Raises:
        MapFileError: missing, a folder, too large, not strict JSON, not a FeatureCollection, or any
            feature, property or coordinate malformed (one line naming it and the fix).
    """
    path = Path(path)
    raw = read_capped(path, what="site map", max_bytes=MAX_MAP_BYTES, error=MapFileError)
    where = path.name
    doc = loads_json(raw, name=where, error=MapFileError)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise MapFileError(
            f"{where}: must be a GeoJSON FeatureCollection object (maps/README.md), got "
            f"{doc.get('type') if isinstance(doc, dict) else type(doc).__name__!r}"
        )
    feats = doc.get("features")
    if not isinstance(feats, list):
        raise MapFileError(
            f"{where}: 'features' must be a list of GeoJSON Features, got {type(feats).__name__}"
        )
    if len(feats) > MAX_FEATURES:
        raise MapFileError(f"{where}: {len(feats):,} features, more than the {MAX_FEATURES:,} limit")
    _check_crs(doc, where)
    meta_doc = doc.get("site") or {}
    if not isinstance(meta_doc, dict):
        raise MapFileError(
            f"{where}: 'site' must be an object {{id, name, footfall: {{daily_passers_by, source}}, ...}}, "
            f"got {meta_doc!r:.60}"
        )
    try:
        meta = SiteMeta.model_validate(meta_doc)
    except ValidationError as exc:
        raise MapFileError(f"{where}: " + _pydantic_line(exc, SiteMeta, "site")) from None
    attribution = doc.get("attribution") or {}
    if not isinstance(attribution, dict):
        raise MapFileError(
            f"{where}: 'attribution' must be an object (text, licence, ...), got {attribution!r:.60}"
        )
    features = [_feature(i, f, where) for i, f in enumerate(feats)]
    _check_counts(features, where)
    return raw, SiteFile(meta=meta, attribution=attribution, features=tuple(features))
