"""North End, Croydon: no open geometry was found, so the street is drawn by hand from public
knowledge (a pedestrianised high street, closed to traffic since 1989, running roughly
north-south from the Crown Hill / Church St / George St / High St crossroads towards West
Croydon station, Centrale on its west side and the Whitgift Centre on its east side)."""

from __future__ import annotations

import shapely
from shapely.geometry import LineString, Polygon, box
from shapely.ops import substring

from sitebuild.geometry import ROUND, TO_LL, bng, clean, join, reverse
from sitebuild.model import SiteBuild

HAND = (
    "hand-drawn from public knowledge (no OSM or other data used); approximate, positions "
    "may be off by tens of metres"
)
# Street axis, north -> south. South end: the Crown Hill / Church St / George St / High St
# crossroads; north end: the Poplar Walk junction, where North End becomes London Road towards
# West Croydon station (~51.3785, -0.1020, ~200 m further north-west).
N_END, S_END = bng(51.3771, -0.1008), bng(51.3727, -0.0994)
HALF = 90.0  # a 180 m stretch
STREET_W = 14.0  # frontage to frontage, m (assumed)
SIDE_OFF, SIDE_W, MID_W = 4.5, 4.0, 5.0
ATTRIBUTION = {
    "text": (
        "Croydon North End: hand-drawn by the lfr-twin project from public knowledge of the "
        "street layout; approximate; no OpenStreetMap or other third-party data used."
    ),
    "licence": "none needed (no third-party data); the drawing is part of this repository",
    "source": "hand-drawn from public knowledge",
    "approximate": True,
}


def build() -> SiteBuild:
    axis = LineString([N_END, S_END])
    # stretch centre: where the street crosses the published site latitude 51.375
    _, y_c = bng(51.375, -0.1001)
    t = (N_END[1] - y_c) / (N_END[1] - S_END[1])
    s_c = t * axis.length
    stretch = substring(axis, s_c - HALF, s_c + HALF)
    fence = shapely.geometry.polygon.orient(stretch.buffer(20.0, cap_style="flat"), 1.0)
    site = SiteBuild(
        id="croydon_north_end",
        name="Croydon North End",
        centre_latlon=(51.375, -0.099),
        fence=fence,
        attribution=ATTRIBUTION,
        meta={},
        approximate=True,
    )
    _routes(site, axis, s_c)
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
        "On the pedestrianised street, east side (Whitgift Centre side), ~55 m in from the south; "
        "approximate.",
    )
    site.add_signs()
    site.fence_source = f"180 m of North End x 40 m (street plus frontages), {HAND}"
    _base(site, axis, fence)
    site.meta.update(_meta(axis, s_c))
    return site


def _routes(site: SiteBuild, axis: LineString, s_c: float) -> None:
    """Each side and the middle, both ways, and a weave across mid-stretch."""
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


def _base(site: SiteBuild, axis: LineString, fence: Polygon) -> None:
    """The base layer (hand-drawn, approximate): the street axis and the two frontage blocks."""
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


def _meta(axis: LineString, s_c: float) -> dict:
    c = axis.interpolate(s_c)
    c_ll = TO_LL.transform(c.x, c.y)
    return {
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
