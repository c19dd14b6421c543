#!/usr/bin/env python3
"""Build the site map files in ``maps/`` (format: ``maps/README.md``).

Run from anywhere as ``python maps/build_sites.py``. It reads the OpenStreetMap extracts in
``../shared/data/london/`` (relative to the repository root) and writes
``oxford_circus.geojson``, ``leicester_square.geojson``, ``stratford.geojson`` and
``croydon_north_end.geojson`` beside this script.

All geometry is computed in metres in British National Grid (EPSG:27700) with pyproj
(``always_xy=True``) and shapely, then converted back to WGS84 lon/lat and rounded to 7 decimals.
The output is deterministic: no timestamps, fixed feature order, sorted keys. Every file is
validated before it is written (geofence valid, routes inside it and ending on its boundary, vans
on a route inside it, signs before the vans, all coordinates in Greater London); a failed check
raises :class:`SiteBuildError` and nothing is written.

Camera headings are bearings in the EPSG:27700 grid, clockwise from grid north (true north differs
by about 1.5 degrees in London), because the twin computes every angle in that grid.

Licence: the geometry is (c) OpenStreetMap contributors, ODbL 1.0; each OSM-derived file carries
the source extract's ``attribution`` object. Croydon North End is drawn by hand from public
knowledge (no open data was found) and is marked approximate throughout.
"""

from __future__ import annotations

import heapq
import itertools
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import LineString, Point, Polygon, box, mapping, shape
from shapely.ops import linemerge, substring

HERE = Path(__file__).resolve().parent
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "london"

TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
TO_LL = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)

#: Greater London, generously rounded: lat_min, lat_max, lon_min, lon_max (same as twin.world.geo).
LONDON = (51.28, 51.70, -0.52, 0.34)
ROUND = 7
END_TOL_M = 2.0  # route ends must lie this close to the geofence boundary
INSIDE_TOL_M = 0.5  # routes must lie inside the geofence buffered by this
VAN_ROUTE_TOL_M = 3.0  # a van stands this close to some route
MIN_ROUTE_M = 40.0
AHEAD_M = 10.0  # straight footway checked ahead of each camera (faces usable 4-8 m out)
SIGN_IN_M = 5.0  # signs stand this far along each route from its entry
VAN_ZONE_M = 12.0  # a walker "reaches" a van when it comes this close (capture zone + margin)

SIGN_TEXT = (
    "Police notice: live facial recognition (LFR) cameras in use ahead. "
    "Images of people not on a watchlist are deleted immediately."
)


class SiteBuildError(RuntimeError):
    """A site failed a geometry check; the message says which feature and why."""


# --------------------------------------------------------------------------- geometry helpers


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


# --------------------------------------------------------------------------- walk graph


class WalkGraph:
    """A graph of walkable OSM ways (noded, dangling ends snapped to nearby ways), for routing
    routes along the real footways between given waypoints."""

    def __init__(self, lines: list[LineString], snap_m: float = 0.0) -> None:
        extra = []
        if snap_m > 0:
            for i, ln in enumerate(lines):
                for end in (Point(ln.coords[0]), Point(ln.coords[-1])):
                    best = None
                    for j, other in enumerate(lines):
                        if j == i:
                            continue
                        d = other.distance(end)
                        if 1e-6 < d <= snap_m and (best is None or d < best[0]):
                            best = (d, other.interpolate(other.project(end)))
                    if best is not None:
                        extra.append(LineString([end, best[1]]))
        noded = shapely.union_all(lines + extra, grid_size=0.01)
        self.edges: dict[tuple, list[tuple[tuple, float, list]]] = {}
        for seg in getattr(noded, "geoms", [noded]):
            cs = [(round(x, 2), round(y, 2)) for x, y in seg.coords]
            a, b = cs[0], cs[-1]
            if a == b:
                continue
            ln = LineString(cs).length
            self.edges.setdefault(a, []).append((b, ln, cs))
            self.edges.setdefault(b, []).append((a, ln, cs[::-1]))
        self.nodes = np.array(sorted(self.edges), dtype=float)

    def node(self, x: float, y: float, tol: float = 2.0) -> tuple:
        d = np.hypot(self.nodes[:, 0] - x, self.nodes[:, 1] - y)
        i = int(np.argmin(d))
        if d[i] > tol:
            raise SiteBuildError(
                f"walk graph: no node within {tol} m of ({x:.1f}, {y:.1f}) (nearest {d[i]:.1f} m)"
            )
        return tuple(float(v) for v in self.nodes[i])

    def path(self, a: tuple, b: tuple) -> list:
        dist = {a: 0.0}
        prev: dict[tuple, tuple[tuple, list]] = {}
        heap = [(0.0, a)]
        while heap:
            d, u = heapq.heappop(heap)
            if u == b:
                break
            if d > dist.get(u, math.inf):
                continue
            for v, w, cs in self.edges[u]:
                nd = d + w
                if nd < dist.get(v, math.inf) - 1e-9:
                    dist[v] = nd
                    prev[v] = (u, cs)
                    heapq.heappush(heap, (nd, v))
        if b not in dist:
            raise SiteBuildError(f"walk graph: no path from {a} to {b}")
        out: list = []
        v = b
        while v != a:
            u, cs = prev[v]
            out = cs[:-1] + out
            v = u
        return [*out, b]

    def route(self, waypoints: list[tuple[float, float]]) -> LineString:
        """Shortest walk through the graph nodes nearest each waypoint, in order."""
        nodes = [self.node(*w) for w in waypoints]
        coords: list = [nodes[0]]
        for a, b in itertools.pairwise(nodes):
            coords += self.path(a, b)[1:]
        return clean(LineString(coords))


# --------------------------------------------------------------------------- site model


@dataclass
class SiteBuild:
    id: str
    name: str
    centre_latlon: tuple[float, float]
    fence: Polygon
    attribution: dict
    meta: dict
    routes: list[dict] = field(default_factory=list)
    vans: list[dict] = field(default_factory=list)
    signs: list[dict] = field(default_factory=list)
    base: list[dict] = field(default_factory=list)
    buildings: list[Polygon] = field(default_factory=list)  # routes must not cross these
    no_van: list[Polygon] = field(default_factory=list)  # vans must not stand here (carriageways)
    data_bbox: Polygon | None = None
    approximate: bool = False
    fence_source: str = ""

    def add_route(
        self,
        rid: str,
        line: LineString,
        *,
        weight: float,
        width_m: float,
        street: str,
        entry: str,
        exit: str,
        source: str,
    ) -> LineString:
        clipped = clip(line, self.fence, f"{self.id} route {rid}")
        props = {
            "role": "route",
            "id": rid,
            "weight": weight,
            "width_m": width_m,
            "street": street,
            "entry": entry,
            "exit": exit,
            "source": source,
        }
        if self.approximate:
            props["approximate"] = True
        self.routes.append({"geom": clipped, "props": props})
        return clipped

    def route_line(self, rid: str) -> LineString:
        for r in self.routes:
            if r["props"]["id"] == rid:
                return r["geom"]
        raise SiteBuildError(f"{self.id}: no route {rid}")

    def add_van(self, vid: str, rid: str, s: float, lateral: float, note: str) -> None:
        """A van ``lateral`` m to the left (right if < 0) of route ``rid`` at ``s`` m along it,
        cameras facing both ways along the route."""
        line = self.route_line(rid)
        p, b = point_along(line, s, lateral)
        heads = [round(b, 1) % 360.0, round((b + 180.0) % 360.0, 1)]
        props = {
            "role": "van",
            "id": vid,
            "headings_deg": heads,
            "note": note
            + (
                f" Cameras face along route {rid} both ways (grid bearings "
                f"{heads[0]:.1f} and {heads[1]:.1f} deg); mount ~3.5 m, tilt ~15 deg, "
                "hfov ~30 deg, 1920x1080: faces usable 4-8 m ahead."
            ),
        }
        if self.approximate:
            props["approximate"] = True
        self.vans.append({"geom": p, "props": props})

    def add_signs(self) -> None:
        """One LFR notice SIGN_IN_M metres inside every route entry (shared entries share a sign)."""
        pts: list[Point] = []
        for r in self.routes:
            p = r["geom"].interpolate(SIGN_IN_M)
            if all(p.distance(q) > 3.0 for q in pts):
                pts.append(p)
        for i, p in enumerate(pts, 1):
            props = {"role": "signage", "id": f"sign_{i}", "text": SIGN_TEXT}
            if self.approximate:
                props["approximate"] = True
            self.signs.append({"geom": p, "props": props})


# --------------------------------------------------------------------------- source data


def load_source(name: str) -> tuple[dict, list[tuple[dict, Any]]]:
    path = DATA / f"{name}.geojson"
    if not path.is_file():
        raise SystemExit(
            f"build_sites: source extract {path} not found. The OSM extracts live in "
            f"../shared/data/london/ relative to the repository root ({DATA}); "
            "check out the shared data beside the repository and run again."
        )
    doc = json.loads(path.read_text(encoding="utf-8"))
    feats = [(f["properties"], to_bng(shape(f["geometry"]))) for f in doc["features"]]
    return doc, feats


def base_role(props: dict) -> str | None:
    hw = props.get("highway")
    if hw in ("footway", "steps", "pedestrian", "path"):
        return "footway"
    if hw:
        return "street"
    kind = str(props.get("kind", ""))
    if kind.startswith("building"):
        return "building"
    if kind.startswith("park") or kind == "grass":
        return "park"
    return None  # amenity areas: mostly duplicates of building footprints; left out


def add_base_layer(site: SiteBuild, feats: list[tuple[dict, Any]], repo: str, margin: float = 40.0) -> None:
    x0, y0, x1, y1 = site.fence.bounds
    clipbox = box(x0 - margin, y0 - margin, x1 + margin, y1 + margin)
    if site.data_bbox is not None:
        clipbox = clipbox.intersection(site.data_bbox)
    for props, geom in feats:
        role = base_role(props)
        if role is None or not geom.intersects(clipbox):
            continue
        part = geom.intersection(clipbox)
        parts = getattr(part, "geoms", [part])
        for g in parts:
            if g.is_empty or g.geom_type not in ("LineString", "Polygon"):
                continue
            if g.geom_type == "LineString":
                if g.length < 0.5:
                    continue
                g = clean(g)
            elif g.area < 1.0:
                continue
            p = {k: v for k, v in props.items()}
            p["role"] = role
            if "source" not in p:
                p["source"] = f"{repo} {p.get('source_layer', '')}".strip()
            site.base.append({"geom": g, "props": p})


def data_bbox(doc: dict) -> Polygon:
    return to_bng(box(*doc["bbox"]))


# --------------------------------------------------------------------------- output + checks


def rnd(geom: Any) -> dict:
    """WGS84 GeoJSON geometry dict with coordinates rounded to ROUND decimals."""
    gj = mapping(to_ll(geom))

    def r(c: Any) -> Any:
        if isinstance(c[0], (int, float)):
            return [round(float(c[0]), ROUND), round(float(c[1]), ROUND)]
        return [r(x) for x in c]

    out = {"type": gj["type"], "coordinates": r(gj["coordinates"])}
    if out["type"] == "LineString":  # rounding must not create repeated vertices
        cs = [out["coordinates"][0]]
        for c in out["coordinates"][1:]:
            if c != cs[-1]:
                cs.append(c)
        out["coordinates"] = cs
    return out


def feature(geom: Any, props: dict) -> dict:
    return {"type": "Feature", "properties": props, "geometry": rnd(geom)}


def assemble(site: SiteBuild) -> dict:
    feats = [
        feature(
            site.fence,
            {
                "role": "geofence",
                "name": f"{site.name} LFR deployment area",
                "source": site.fence_source,
                **({"approximate": True} if site.approximate else {}),
            },
        )
    ]
    feats += [feature(r["geom"], r["props"]) for r in site.routes]
    feats += [feature(v["geom"], v["props"]) for v in site.vans]
    feats += [feature(s["geom"], s["props"]) for s in site.signs]
    feats += [feature(b["geom"], b["props"]) for b in site.base]
    allc = []

    def walk(c: Any) -> None:
        if isinstance(c[0], (int, float)):
            allc.append(c)
        else:
            for x in c:
                walk(x)

    for f in feats:
        walk(f["geometry"]["coordinates"])
    a = np.array(allc)
    bbox = [
        round(float(a[:, 0].min()), ROUND),
        round(float(a[:, 1].min()), ROUND),
        round(float(a[:, 0].max()), ROUND),
        round(float(a[:, 1].max()), ROUND),
    ]
    return {
        "type": "FeatureCollection",
        "site": site.meta,
        "attribution": site.attribution,
        "bbox": bbox,
        "features": feats,
    }


def validate(doc: dict, site: SiteBuild) -> dict:
    """Check the assembled (rounded) document; raise SiteBuildError on the first problem.
    Returns a summary for the report."""
    sid = site.id
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

    by = lambda role: [f for f in doc["features"] if f["properties"]["role"] == role]  # noqa: E731
    fences = by("geofence")
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
    inside, boundary = fence.buffer(INSIDE_TOL_M), fence.exterior

    routes = []
    for f in by("route"):
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
        routes.append((rid, line, p))
    ids = [r[0] for r in routes]
    if len(set(ids)) != len(ids):
        raise SiteBuildError(f"{sid}: route ids not unique")
    if not 8 <= len(routes) <= 24:
        raise SiteBuildError(f"{sid}: {len(routes)} routes, want 8-24")

    vans = []
    for f in by("van"):
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

    signs = [to_bng(shape(f["geometry"])) for f in by("signage")]
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
    return {"fence": fence, "routes": routes, "vans": vans, "signs": signs}


def write(doc: dict, path: Path) -> None:
    """One feature per line, keys sorted: deterministic and diff-friendly."""
    head = {k: v for k, v in doc.items() if k != "features"}
    lines = ["{"]
    for k in sorted(head):
        lines.append(f'"{k}": {json.dumps(head[k], sort_keys=True, ensure_ascii=False)},')
    lines.append('"features": [')
    fl = [json.dumps(f, sort_keys=True, separators=(",", ":"), ensure_ascii=False) for f in doc["features"]]
    lines.append(",\n".join(fl))
    lines.append("]")
    lines.append("}")
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    path.write_text(text, encoding="utf-8")


# --------------------------------------------------------------------------- sites


def attribution_sentence(att: dict) -> str:
    return (
        f"OpenStreetMap geometry (ODbL 1.0) from {att['source_repository']} at commit "
        f"{att['source_commit']} via ../shared/data/london/"
    )


def build_oxford_circus() -> SiteBuild:
    doc, feats = load_source("oxford_circus")
    att = doc["attribution"]
    way = {p["osm_way_id"]: g for p, g in feats if p.get("osm_way_id")}

    def merged(*ids: str) -> LineString:
        m = linemerge([way[i] for i in ids])
        if m.geom_type != "LineString":
            raise SiteBuildError(f"oxford_circus: ways {ids} do not merge into one line")
        return m

    # Junction box of the four carriageway centrelines at the Circus (OSM nodes shared by
    # Oxford St ways 47007864/233067166 and Regent St ways 209690392/209692626).
    box_pts = [
        Point(way["47007864"].coords[0]),
        Point(way["47007864"].coords[-1]),
        Point(way["233067166"].coords[-1]),
        Point(way["2199750"].coords[0]),
    ]
    J = Point(np.mean([p.x for p in box_pts]), np.mean([p.y for p in box_pts]))

    def arm(a_ids: tuple[str, ...], b_ids: tuple[str, ...]) -> LineString:
        """Street axis from J outwards: the midline of the two carriageway centrelines."""
        a, b = merged(*a_ids), merged(*b_ids)
        if Point(a.coords[0]).distance(J) > Point(a.coords[-1]).distance(J):
            a = reverse(a)
        m = midline(a, b)
        return clean(LineString([(J.x, J.y), *list(m.coords)]), 0.5)

    W_IDS_N, W_IDS_S = ("233068399", "233067163", "233070704"), ("233068399", "233070703", "233067166")
    E_IDS_N = ("25469620", "233070705", "209691456", "209691454")
    E_IDS_S = ("233070706", "209690397", "733855113", "194259717")
    N_IDS_W, N_IDS_E = (
        ("46621783", "209690394", "318234582", "494579075"),
        ("209690398", "209689555", "494579076", "595077677"),
    )
    S_IDS_W, S_IDS_E = (
        ("233070702", "209690360", "4255097", "302690919"),
        ("209692626", "209690395", "240343067"),
    )
    w_arm = arm(W_IDS_N, W_IDS_S)
    e_arm = arm(E_IDS_N, E_IDS_S)
    n_arm = arm(N_IDS_W, N_IDS_E)
    s_arm = arm(S_IDS_W, S_IDS_E)
    oxford = join(reverse(w_arm), e_arm)  # west -> east
    regent = join(reverse(n_arm), s_arm)  # north -> south

    OX_CW, OX_FW = 12.0, 5.0  # Oxford St carriageway / footway width, m (assumed)
    RG_CW, RG_FW = 14.0, 6.0  # Regent St carriageway / footway width, m (assumed)
    d_ox, d_rg = OX_CW / 2 + OX_FW / 2, RG_CW / 2 + RG_FW / 2
    kw = {"join_style": "mitre", "mitre_limit": 3.0}
    ox_n = clean(oxford.offset_curve(d_ox, **kw))  # left of W->E = north footway, W->E
    ox_s = clean(oxford.offset_curve(-d_ox, **kw))  # south footway, W->E
    rg_e = clean(regent.offset_curve(d_rg, **kw))  # left of N->S = east footway, N->S
    rg_w = clean(regent.offset_curve(-d_rg, **kw))  # west footway, N->S
    for ln, want in ((ox_n, 1), (ox_s, -1)):
        if (
            ln.interpolate(0.5, normalized=True).y
            - oxford.interpolate(oxford.project(ln.interpolate(0.5, normalized=True))).y
        ) * want <= 0:
            raise SiteBuildError("oxford_circus: Oxford St footway offset on the wrong side")

    def corner(a: LineString, b: LineString) -> Point:
        p = a.intersection(b)
        if p.geom_type != "Point":
            raise SiteBuildError(f"oxford_circus: footways meet in {p.geom_type}, want one corner point")
        return p

    p_nw, p_ne, p_sw, p_se = corner(ox_n, rg_w), corner(ox_n, rg_e), corner(ox_s, rg_w), corner(ox_s, rg_e)

    fence = circle(J.x, J.y, 85.0)
    site = SiteBuild(
        id="oxford_circus",
        name="Oxford Circus",
        centre_latlon=(51.5152, -0.1416),
        fence=fence,
        attribution=att,
        meta={},
        data_bbox=data_bbox(doc),
    )
    carriageways = [oxford.buffer(OX_CW / 2, cap_style="flat"), regent.buffer(RG_CW / 2, cap_style="flat")]
    site.no_van = carriageways

    src = f"genet@{att['source_commit'][:7]}"
    ox_ways = "Oxford St OSM ways " + ", ".join(sorted(set(W_IDS_N + W_IDS_S + E_IDS_N + E_IDS_S)))
    rg_ways = "Regent St OSM ways " + ", ".join(sorted(set(N_IDS_W + N_IDS_E + S_IDS_W + S_IDS_E)))
    ox_src = (
        f"{ox_ways} ({src}); street axis = midline of the carriageway centrelines, offset "
        f"{d_ox:g} m (half carriageway {OX_CW / 2:g} m + half footway {OX_FW / 2:g} m) to the footway"
    )
    rg_src = (
        f"{rg_ways} ({src}); street axis = midline of the carriageway centrelines, offset "
        f"{d_rg:g} m (half carriageway {RG_CW / 2:g} m + half footway {RG_FW / 2:g} m) to the footway"
    )
    turn_src = (
        f"corner turn joining the two offset footways at the Circus corner; {ox_ways}; {rg_ways} ({src})"
    )
    W_OX, W_RG, W_TURN = 3.0, 2.0, 1.0
    wnote = (
        f" Weight (assumption): Oxford St through-flow {W_OX:g} per footway direction, Regent St "
        f"{W_RG:g}, each corner turn {W_TURN:g}; no published split exists."
    )

    def r(
        rid: str,
        line: LineString,
        weight: float,
        width: float,
        street: str,
        entry: str,
        exit: str,
        source: str,
    ) -> None:
        site.add_route(
            rid,
            line,
            weight=weight,
            width_m=width,
            street=street,
            entry=entry,
            exit=exit,
            source=source + "." + wnote,
        )

    OXW_N, OXE_N, OXW_S, OXE_S = (
        "Oxford St W (north footway)",
        "Oxford St E (north footway)",
        "Oxford St W (south footway)",
        "Oxford St E (south footway)",
    )
    RGN_W, RGS_W, RGN_E, RGS_E = (
        "Regent St N (west footway)",
        "Regent St S (west footway)",
        "Regent St N (east footway)",
        "Regent St S (east footway)",
    )
    r("ox_n_we", ox_n, W_OX, OX_FW, "Oxford Street (north footway)", OXW_N, OXE_N, ox_src)
    r("ox_n_ew", reverse(ox_n), W_OX, OX_FW, "Oxford Street (north footway)", OXE_N, OXW_N, ox_src)
    r("ox_s_we", ox_s, W_OX, OX_FW, "Oxford Street (south footway)", OXW_S, OXE_S, ox_src)
    r("ox_s_ew", reverse(ox_s), W_OX, OX_FW, "Oxford Street (south footway)", OXE_S, OXW_S, ox_src)
    r("rg_w_ns", rg_w, W_RG, RG_FW, "Regent Street (west footway)", RGN_W, RGS_W, rg_src)
    r("rg_w_sn", reverse(rg_w), W_RG, RG_FW, "Regent Street (west footway)", RGS_W, RGN_W, rg_src)
    r("rg_e_ns", rg_e, W_RG, RG_FW, "Regent Street (east footway)", RGN_E, RGS_E, rg_src)
    r("rg_e_sn", reverse(rg_e), W_RG, RG_FW, "Regent Street (east footway)", RGS_E, RGN_E, rg_src)
    # corner turns (no carriageway crossed)
    t_w_n = join(cut(ox_n, p_nw)[0], reverse(cut(rg_w, p_nw)[0]))
    t_n_e = join(cut(rg_e, p_ne)[0], cut(ox_n, p_ne)[1])
    t_e_s = join(reverse(cut(ox_s, p_se)[1]), cut(rg_e, p_se)[1])
    t_s_w = join(reverse(cut(rg_w, p_sw)[1]), reverse(cut(ox_s, p_sw)[0]))
    st = "Oxford Street / Regent Street corner"
    r("turn_w_n", t_w_n, W_TURN, OX_FW, f"{st} (NW corner)", OXW_N, RGN_W, turn_src)
    r("turn_n_w", reverse(t_w_n), W_TURN, OX_FW, f"{st} (NW corner)", RGN_W, OXW_N, turn_src)
    r("turn_n_e", t_n_e, W_TURN, OX_FW, f"{st} (NE corner)", RGN_E, OXE_N, turn_src)
    r("turn_e_n", reverse(t_n_e), W_TURN, OX_FW, f"{st} (NE corner)", OXE_N, RGN_E, turn_src)
    r("turn_e_s", t_e_s, W_TURN, OX_FW, f"{st} (SE corner)", OXE_S, RGS_E, turn_src)
    r("turn_s_e", reverse(t_e_s), W_TURN, OX_FW, f"{st} (SE corner)", RGS_E, OXE_S, turn_src)
    r("turn_s_w", t_s_w, W_TURN, OX_FW, f"{st} (SW corner)", RGS_W, OXW_S, turn_src)
    r("turn_w_s", reverse(t_s_w), W_TURN, OX_FW, f"{st} (SW corner)", OXW_S, RGS_W, turn_src)

    def s_at(rid: str, axis: LineString, from_j: float) -> float:
        """Distance along route ``rid`` level with the axis point ``from_j`` m past J."""
        target = axis.interpolate(axis.project(J) + from_j)
        return site.route_line(rid).project(target)

    # vans on the kerb side of the footway (1.3 m from the walking line), ~40 m out from the Circus
    site.add_van(
        "van_oxford_e",
        "ox_n_we",
        s_at("ox_n_we", oxford, 40.0),
        -1.3,
        "Oxford St north footway, ~40 m east of the Circus, on the kerb side.",
    )
    site.add_van(
        "van_oxford_w",
        "ox_s_we",
        s_at("ox_s_we", oxford, -40.0),
        1.3,
        "Oxford St south footway, ~40 m west of the Circus, on the kerb side.",
    )
    site.add_van(
        "van_regent_n",
        "rg_w_ns",
        s_at("rg_w_ns", regent, -40.0),
        1.3,
        "Regent St west footway, ~40 m north of the Circus, on the kerb side.",
    )
    site.add_signs()
    site.fence_source = (
        f"circle of radius 85 m around the Oxford St x Regent St junction box (OSM carriageway nodes, {src})"
    )
    add_base_layer(site, feats, f"genet@{att['source_commit'][:7]}")
    site.meta.update(
        {
            "id": "oxford_circus",
            "name": "Oxford Circus",
            "centre": [round(v, ROUND) for v in TO_LL.transform(J.x, J.y)],
            "approximate": False,
            "geometry_source": (
                attribution_sentence(att) + ": Oxford St and Regent St carriageway "
                "centrelines (MATSim network from OSM, named) offset to the footways; "
                "geofence, routes, vans and signs derived here."
            ),
            "footfall": {
                "daily_passers_by": 465000,
                "source": (
                    "derived: > 40,000 pedestrians/h at the peak hour (Atkins) with the peak "
                    "hour holding 8.6% of the day in the London high-street profile of "
                    "public_figures.md (40,000 / 0.086 = 465,000)"
                ),
                "assumption": False,
            },
            "notes": (
                f"Widths assumed (not in the data): Oxford St carriageway {OX_CW:g} m, footways {OX_FW:g} m "
                f"(walking line {d_ox:g} m from the street axis); Regent St carriageway {RG_CW:g} m, "
                f"footways {RG_FW:g} m (walking line {d_rg:g} m out). The street axis is the midline of "
                "the two one-way carriageway centrelines where OSM splits them. Straight routes cross "
                "the other street on the Circus's crossings; corner turns cross nothing; the diagonal "
                "X-crossing is not modelled. The source has no footways south of 51.516 N and no "
                "building polygons, so the base layer is streets only (plus the footways north of "
                "Oxford St). Geofence centred on the junction, ~30 m west of the published site "
                "centre 51.5152,-0.1416 (which lies on Oxford St east of the Circus). Route weights "
                "are assumptions (see each route's source). Camera headings are EPSG:27700 grid "
                "bearings. OSM snapshot ~2019-2020."
            ),
        }
    )
    return site


def build_leicester_square() -> SiteBuild:
    doc, feats = load_source("leicester_square")
    att = doc["attribution"]
    walk_lines = [g for p, g in feats if p.get("highway") == "non-primary"]
    graph = WalkGraph(walk_lines)
    buildings = [g for p, g in feats if str(p.get("kind", "")).startswith("building")]
    garden = next(g for p, g in feats if str(p.get("kind", "")).startswith("park"))

    # OSM nodes (EPSG:27700 m) of the pedestrian ways around and across the garden; the source
    # has no names, the labels are descriptive (public knowledge of the square's layout).
    NW, NE, SE, SW = (529805.7, 180734.4), (529889.2, 180775.4), (529901.3, 180675.6), (529838.3, 180661.0)
    S_SIDE_E, S_SIDE_W = (529861.8, 180658.3), (529841.8, 180653.5)
    W_SIDE_MID = (529828.2, 180688.6)
    N_SIDE_MID = (529873.4, 180766.2)
    STATUE_N = (529863.2, 180716.8)
    W_OUT = (529766.2, 180710.5)  # west approach (towards Piccadilly Circus), outside the fence
    NE_OUT = (529947.4, 180800.0)  # north-east approach (towards Leicester Square station)
    E_OUT = (529975.8, 180647.5)  # east approach (to Charing Cross Road)
    S_OUT = (529873.1, 180601.9)  # south approach (towards Trafalgar Square)
    N_OUT = (529829.0, 180833.6)  # north approach (towards Chinatown)
    SW_OUT = (529799.9, 180640.2)  # south-west approach (towards Haymarket)

    cx, cy = 529858.0, 180712.0  # the garden, mid-square
    fence = circle(cx, cy, 90.0)
    site = SiteBuild(
        id="leicester_square",
        name="Leicester Square",
        centre_latlon=(51.510, -0.130),
        fence=fence,
        attribution=att,
        meta={},
        data_bbox=data_bbox(doc),
        buildings=buildings,
        no_van=[garden],
    )
    src = f"osmplotr@{att['source_commit'][:7]} OSM pedestrian/highway ways (non-primary, unnamed)"
    wnote = (
        " Weight (assumption, no published split): the west approach <-> north-east approach "
        "(Piccadilly Circus <-> Leicester Square station) flow 4 per direction, the garden "
        "diagonals and the east/south sides 2, the west side and north <-> east links 1."
    )
    ods = [
        (
            "w_ne",
            [W_OUT, NW, NE, NE_OUT],
            4.0,
            8.0,
            "west approach",
            "north-east approach",
            "Leicester Square north side (pedestrian way)",
        ),
        (
            "w_e",
            [W_OUT, NW, STATUE_N, SE, E_OUT],
            2.0,
            4.0,
            "west approach",
            "east approach",
            "Leicester Square garden, NW-SE diagonal path",
        ),
        (
            "n_s",
            [N_OUT, N_SIDE_MID, STATUE_N, SW, S_SIDE_W, S_SIDE_E, S_OUT],
            2.0,
            4.0,
            "north approach",
            "south approach",
            "Leicester Square garden, NE-SW diagonal path",
        ),
        (
            "ne_sw",
            [NE_OUT, NE, SE, S_SIDE_E, S_SIDE_W, SW_OUT],
            2.0,
            8.0,
            "north-east approach",
            "south-west approach",
            "Leicester Square east and south sides (pedestrian ways)",
        ),
        (
            "w_s",
            [W_OUT, NW, W_SIDE_MID, SW, S_SIDE_W, S_SIDE_E, S_OUT],
            1.0,
            8.0,
            "west approach",
            "south approach",
            "Leicester Square west and south sides (pedestrian ways)",
        ),
        (
            "n_e",
            [N_OUT, N_SIDE_MID, NE, SE, E_OUT],
            1.0,
            8.0,
            "north approach",
            "east approach",
            "Leicester Square north-east corner and east side (pedestrian ways)",
        ),
    ]
    for key, wps, weight, width, a, b, street in ods:
        line = graph.route(wps)
        a_, b_ = key.split("_")
        for rid, ln, en, ex in ((f"{a_}_{b_}", line, a, b), (f"{b_}_{a_}", reverse(line), b, a)):
            site.add_route(
                rid,
                ln,
                weight=weight,
                width_m=width,
                street=street + " (no name in source)",
                entry=en,
                exit=ex,
                source=src + "; routed along the OSM ways between their shared nodes." + wnote,
            )
    # vans in the pedestrian square, 1.5 m beside the walking line, cameras along it
    nside = site.route_line("w_ne")
    s_mid = nside.project(Point((NW[0] + N_SIDE_MID[0]) / 2, (NW[1] + N_SIDE_MID[1]) / 2))
    site.add_van(
        "van_north_side",
        "w_ne",
        s_mid,
        -1.5,
        "Pedestrianised north side of the square, between the west approach and the garden's north gate.",
    )
    eside = site.route_line("ne_sw")
    s_e = eside.project(Point(529895.5, 180725.0))
    site.add_van(
        "van_east_side", "ne_sw", s_e, -1.5, "Pedestrianised east side of the square, by the garden railings."
    )
    site.add_signs()
    site.fence_source = (
        "circle of radius 90 m around the garden (OSM leisure=park polygon) in the middle of the square"
    )
    add_base_layer(site, feats, f"osmplotr@{att['source_commit'][:7]}")
    c_ll = TO_LL.transform(cx, cy)
    site.meta.update(
        {
            "id": "leicester_square",
            "name": "Leicester Square",
            "centre": [round(c_ll[0], ROUND), round(c_ll[1], ROUND)],
            "approximate": False,
            "geometry_source": (
                attribution_sentence(att) + ": pedestrian/highway ways (unnamed), buildings, "
                "the garden and grass; routes follow the OSM ways, geofence, vans and signs "
                "derived here."
            ),
            "footfall": {
                "daily_passers_by": 250000,
                "source": "~250,000 visitors a day, Evening Standard",
                "assumption": False,
            },
            "notes": (
                "The source has no street names and only a primary / non-primary highway split: the "
                "non-primary ways around and across the garden are the pedestrianised square and its "
                "garden paths, so walkers follow those ways directly (no offset); the primary roads "
                "(Charing Cross Rd, Haymarket) lie outside the geofence. Approach labels are descriptive "
                "(west = towards Piccadilly Circus via Coventry St, north-east = towards Leicester Square "
                "station via Cranbourn St, from public knowledge; the data do not name them). Widths "
                "assumed: square sides and approaches 8 m, garden paths 4 m. Route weights are "
                "assumptions (see each route's source). Amenity-area polygons (mostly duplicates of "
                "building footprints) are left out of the base layer. Camera headings are EPSG:27700 "
                "grid bearings. OSM snapshot Feb 2016."
            ),
        }
    )
    return site


def build_stratford() -> SiteBuild:
    doc, feats = load_source("stratford")
    att = doc["attribution"]
    footways = [g for p, g in feats if p.get("highway") == "footway"]
    # The footway layer is fragmented (crossings and links drawn as separate short ways whose
    # ends stop short of the way they meet): join dangling ends to a way within 2.5 m.
    graph = WalkGraph(footways, snap_m=2.5)
    SITE_C = (538605.0, 184395.0)  # densest footway cluster (max footway length within 80 m)
    fence = circle(*SITE_C, 85.0)
    site = SiteBuild(
        id="stratford",
        name="Stratford (station / Westfield footways)",
        centre_latlon=(51.542, -0.003),
        fence=fence,
        attribution=att,
        meta={},
        data_bbox=data_bbox(doc),
        no_van=[g.buffer(3.0) for p, g in feats if p.get("highway") in ("service", "primary")],
    )
    # OSM footway nodes (EPSG:27700 m); waypoints outside the fence are clipped away.
    NW_9 = (538480.0, 184485.0)  # NW end of the long NW-SE footway (towards Westfield)
    NW_2 = (538493.0, 184526.0)  # NW end of the parallel footway to the north
    W_95 = (538455.0, 184440.0)  # W end of the south-western parallel footway
    SW_171 = (538511.0, 184327.0)  # SW end of the long SW-NE footway
    HUB = (538614.0, 184391.0)  # where the NW-SE footway meets the bus-station footways
    X_E = (538650.0, 184418.0)  # junction west of the primary road
    E_4 = (538786.0, 184416.0)  # E end of the footway crossing the primary road
    S_20 = (538649.0, 184258.0)  # S end of the footway along the bus station's west side
    S_41 = (538691.0, 184284.0)  # S end of the footway along the bus station's east side
    N_28 = (538667.0, 184489.0)  # N end of the footway west of the primary road
    S_76 = (538641.0, 184292.0)  # S end of the footway inside the bus-station loop
    ods = [
        (
            "nw_e",
            [NW_9, HUB, X_E, E_4],
            3.0,
            4.0,
            "NW footway (towards Westfield)",
            "E footway (across the primary road)",
        ),
        (
            "nw_s",
            [NW_9, HUB, S_20],
            3.0,
            4.0,
            "NW footway (towards Westfield)",
            "S footway (bus station, west side)",
        ),
        ("sw_ne", [SW_171, N_28], 2.0, 3.0, "SW footway", "NE footway (west of the primary road)"),
        (
            "s_n",
            [S_41, X_E, N_28],
            2.0,
            3.0,
            "S footway (bus station, east side)",
            "NE footway (west of the primary road)",
        ),
        ("w_s", [W_95, S_76], 1.0, 3.0, "W footway", "S footway (inside the bus-station loop)"),
        (
            "nn_e",
            [NW_2, X_E, E_4],
            1.0,
            3.0,
            "NW footway (northern, towards Westfield)",
            "E footway (across the primary road)",
        ),
    ]
    src = (
        f"Newham_rl687@{att['source_commit'][:7]} OSM Footway.shp (unnamed, no OSM ids); routed along "
        "the footways between their shared nodes (dangling ends joined to a way within 2.5 m)."
    )
    wnote = (
        " Weight (assumption, no counts exist): the two NW footways towards Westfield carry the "
        "main flow (3 per direction on the main one), the bus-station links 2, the minor links 1."
    )
    for key, wps, weight, width, a, b in ods:
        line = graph.route(wps)
        a_, b_ = key.split("_")
        for rid, ln, en, ex in ((f"{a_}_{b_}", line, a, b), (f"{b_}_{a_}", reverse(line), b, a)):
            site.add_route(
                rid,
                ln,
                weight=weight,
                width_m=width,
                street="footway (OSM, unnamed)",
                entry=en,
                exit=ex,
                source=src + wnote,
            )
    # vans 1.5 m beside straight footway stretches, >= 25 m in from every entry they serve
    site.add_van(
        "van_nw_footway",
        "nw_e",
        30.0,
        1.5,
        "On the long NW-SE footway towards Westfield, 30 m inside the area.",
    )
    site.add_van(
        "van_bus_station_e",
        "s_n",
        30.0,
        1.5,
        "On the footway along the bus station's east side, between the bus lanes and the primary road.",
    )
    site.add_van("van_sw_footway", "sw_ne", 30.0, -1.5, "On the long SW-NE footway, 30 m inside the area.")
    site.add_signs()
    site.fence_source = (
        "circle of radius 85 m around the densest cluster of OSM footways between "
        "Stratford station, the bus station and the route towards Westfield"
    )
    add_base_layer(site, feats, f"Newham_rl687@{att['source_commit'][:7]}")
    c_ll = TO_LL.transform(*SITE_C)
    site.meta.update(
        {
            "id": "stratford",
            "name": "Stratford (station / Westfield footways)",
            "centre": [round(c_ll[0], ROUND), round(c_ll[1], ROUND)],
            "approximate": False,
            "geometry_source": (
                attribution_sentence(att) + ": footways, service roads and primary roads "
                "(geometry only); routes follow the footways, geofence, vans and signs "
                "derived here."
            ),
            "footfall": {
                "daily_passers_by": 100000,
                "source": (
                    "assumption: the share of Stratford station / Westfield footfall that "
                    "passes this footway cluster; no published count for these footways"
                ),
                "assumption": True,
            },
            "notes": (
                "The source has no names and no OSM ids; entry/exit labels are compass directions and "
                "descriptions. The footway layer is fragmented (residential/secondary streets such as "
                "Westfield Avenue are missing), so routes follow only the footways present; dangling "
                "footway ends within 2.5 m of another footway are joined. Geofence centred on the "
                "densest footway cluster (most footway length within 80 m), ~65 m south-east of the "
                "published centre 51.542,-0.003. Widths assumed: main footways 4 m, others 3 m. Route "
                "weights and the daily footfall are assumptions. Camera headings are EPSG:27700 grid "
                "bearings."
            ),
        }
    )
    return site


def build_croydon_north_end() -> SiteBuild:
    """North End, Croydon: no open geometry was found, so the street is drawn by hand from public
    knowledge (a pedestrianised high street, closed to traffic since 1989, running roughly
    north-south from the Crown Hill / Church St / George St / High St crossroads towards West
    Croydon station, Centrale on its west side and the Whitgift Centre on its east side)."""
    HAND = (
        "hand-drawn from public knowledge (no OSM or other data used); approximate, positions "
        "may be off by tens of metres"
    )
    # Street axis, north -> south. South end: the Crown Hill / Church St / George St / High St
    # crossroads; north end: the Poplar Walk junction, where North End becomes London Road towards
    # West Croydon station (~51.3785, -0.1020, ~200 m further north-west).
    N_END, S_END = bng(51.3771, -0.1008), bng(51.3727, -0.0994)
    axis = LineString([N_END, S_END])
    # stretch centre: where the street crosses the published site latitude 51.375
    _, y_c = bng(51.375, -0.1001)
    t = (N_END[1] - y_c) / (N_END[1] - S_END[1])
    s_c = t * axis.length
    HALF = 90.0  # a 180 m stretch
    stretch = substring(axis, s_c - HALF, s_c + HALF)
    fence = shapely.geometry.polygon.orient(stretch.buffer(20.0, cap_style="flat"), 1.0)
    att = {
        "text": (
            "Croydon North End: hand-drawn by the lfr-twin project from public knowledge of the "
            "street layout; approximate; no OpenStreetMap or other third-party data used."
        ),
        "licence": "none needed (no third-party data); the drawing is part of this repository",
        "source": "hand-drawn from public knowledge",
        "approximate": True,
    }
    site = SiteBuild(
        id="croydon_north_end",
        name="Croydon North End",
        centre_latlon=(51.375, -0.099),
        fence=fence,
        attribution=att,
        meta={},
        approximate=True,
    )
    STREET_W = 14.0  # frontage to frontage, m (assumed)
    SIDE_OFF, SIDE_W, MID_W = 4.5, 4.0, 5.0
    west = axis.offset_curve(-SIDE_OFF)  # axis runs N->S: left is east
    east = axis.offset_curve(SIDE_OFF)
    mid = axis
    # weave: west side from the north, across the street mid-stretch, east side to the south
    sa, sb = s_c - 20.0, s_c + 20.0
    weave = join(
        substring(west, 0.0, sa),
        LineString([west.interpolate(sa), east.interpolate(sb)]),
        substring(east, sb, east.length),
    )
    src = f"{HAND}; pedestrian street assumed {STREET_W:g} m wide"
    wnote = " Weight (assumption): each side 3 per direction, the middle 2, the weave across 1."
    NW_, NE_, NM = "North End N (west side)", "North End N (east side)", "North End N (middle)"
    SW_, SE_, SM = "North End S (west side)", "North End S (east side)", "North End S (middle)"
    for rid, line, w, width, en, ex, what in (
        ("w_side_ns", west, 3.0, SIDE_W, NW_, SW_, "west side"),
        ("w_side_sn", reverse(west), 3.0, SIDE_W, SW_, NW_, "west side"),
        ("e_side_ns", east, 3.0, SIDE_W, NE_, SE_, "east side"),
        ("e_side_sn", reverse(east), 3.0, SIDE_W, SE_, NE_, "east side"),
        ("mid_ns", mid, 2.0, MID_W, NM, SM, "middle"),
        ("mid_sn", reverse(mid), 2.0, MID_W, SM, NM, "middle"),
        ("weave_ns", weave, 1.0, SIDE_W, NW_, SE_, "west side to east side"),
        ("weave_sn", reverse(weave), 1.0, SIDE_W, SE_, NW_, "east side to west side"),
    ):
        off = {"west side": -SIDE_OFF, "east side": SIDE_OFF, "middle": 0.0}.get(what)
        where = (
            f"walking line {abs(off):g} m {'west' if off < 0 else 'east'} of the street axis"
            if off
            else ("on the street axis" if off == 0.0 else "crossing the street mid-stretch")
        )
        site.add_route(
            rid,
            line,
            weight=w,
            width_m=width,
            street=f"North End ({what}; pedestrianised)",
            entry=en,
            exit=ex,
            source=f"{src}; {where}." + wnote,
        )
    site.add_van(
        "van_west",
        "w_side_ns",
        55.0,
        1.5,
        "On the pedestrianised street, west side (Centrale side), ~55 m in from the north; approximate.",
    )
    site.add_van(
        "van_east",
        "e_side_ns",
        125.0,
        -1.5,
        "On the pedestrianised street, east side (Whitgift Centre side), ~55 m in from the south; approximate.",
    )
    site.add_signs()
    site.fence_source = f"180 m of North End x 40 m (street plus frontages), {HAND}"
    # base layer (hand-drawn, approximate): the street axis and the two frontage blocks
    x0, y0, x1, y1 = fence.bounds
    clipbox = box(x0 - 40, y0 - 40, x1 + 40, y1 + 40)
    base_props = {"source": HAND, "approximate": True}
    site.base.append(
        {
            "geom": clean(axis.intersection(clipbox)),
            "props": {"role": "footway", "highway": "pedestrian", "name": "North End", **base_props},
        }
    )
    for name, a, b in (
        (
            "west-side frontage: Centrale shopping centre and shops (outline approximate)",
            -STREET_W / 2,
            -STREET_W / 2 - 30,
        ),
        (
            "east-side frontage: Whitgift Centre and shops (outline approximate)",
            STREET_W / 2,
            STREET_W / 2 + 30,
        ),
    ):
        ring = list(axis.offset_curve(a).coords) + list(axis.offset_curve(b).coords)[::-1]
        blk = Polygon(ring).intersection(clipbox)
        site.base.append(
            {
                "geom": shapely.geometry.polygon.orient(blk, 1.0),
                "props": {"role": "building", "name": name, **base_props},
            }
        )
        site.buildings.append(Polygon(ring))
    c = axis.interpolate(s_c)
    c_ll = TO_LL.transform(c.x, c.y)
    site.meta.update(
        {
            "id": "croydon_north_end",
            "name": "Croydon North End",
            "centre": [round(c_ll[0], ROUND), round(c_ll[1], ROUND)],
            "approximate": True,
            "geometry_source": (
                "Hand-drawn from public knowledge of the street (no OpenStreetMap or other open "
                "geometry for Croydon town centre was found in ../shared/data/london/); "
                "approximate, positions may be off by tens of metres."
            ),
            "footfall": {
                "daily_passers_by": 60000,
                "source": "assumption: no published count for North End",
                "assumption": True,
            },
            "notes": (
                "Everything here is approximate and hand-drawn. North End drawn as a straight "
                f"pedestrianised street {STREET_W:g} m wide from 51.3771,-0.1008 (Poplar Walk junction, "
                "London Road continues to West Croydon station ~51.3785,-0.1020) to 51.3727,-0.0994 "
                "(Crown Hill / Church St / George St / High St crossroads), ~490 m; the geofence covers "
                "the 180 m around latitude 51.375. The published centre 51.375,-0.099 lies ~70 m east "
                "of the street, inside the Whitgift Centre block, so the street is drawn at "
                "~-0.1001 there. Routes: each side (walking lines 4.5 m either side of the axis, 4 m "
                "wide) and the middle (5 m wide), both ways, plus a weave across. Frontage blocks are "
                "outlines for drawing, not surveyed; side entrances (Centrale, Whitgift Centre) are not "
                "modelled. Route weights and footfall are assumptions. Replace with an OSM extract when "
                "one is available. Camera headings are EPSG:27700 grid bearings."
            ),
        }
    )
    return site


# --------------------------------------------------------------------------- main

BUILDERS = {
    "oxford_circus": build_oxford_circus,
    "leicester_square": build_leicester_square,
    "stratford": build_stratford,
    "croydon_north_end": build_croydon_north_end,
}


def main(argv: list[str] | None = None) -> int:
    names = (argv if argv else None) or list(BUILDERS)
    docs = {}
    for name in names:
        site = BUILDERS[name]()
        doc = assemble(site)
        summary = validate(doc, site)
        docs[name] = doc
        print(
            f"{name}: {len(summary['routes'])} routes, {len(summary['vans'])} vans, "
            f"{len(summary['signs'])} signs, geofence {summary['fence'].area:.0f} m2, "
            f"{sum(1 for f in doc['features'] if f['properties']['role'] in ('street', 'footway', 'building', 'park'))} base features"
        )
        for rid, line, p in summary["routes"]:
            print(f"  route {rid:12s} {line.length:6.1f} m  w={p['weight']:g}  {p['entry']} -> {p['exit']}")
        for vid, v, h in summary["vans"]:
            lon, lat = TO_LL.transform(v.x, v.y)
            print(f"  van {vid:16s} ({lat:.6f}, {lon:.6f}) headings {h}")
    for name, doc in docs.items():  # write only when every site passed
        write(doc, HERE / f"{name}.geojson")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
