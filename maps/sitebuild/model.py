"""A site being built: geofence, routes, vans and signs, in EPSG:27700 metres, with their properties."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry import LineString, Point, Polygon

from sitebuild.geometry import SiteBuildError, clip, point_along

#: Signs stand this far along each route from its entry, m.
SIGN_IN_M = 5.0

SIGN_TEXT = (
    "Police notice: live facial recognition (LFR) cameras in use ahead. "
    "Images of people not on a watchlist are deleted immediately."
)


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
