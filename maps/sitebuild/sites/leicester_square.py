"""Leicester Square: the pedestrian ways around and across the garden (osmplotr OSM extract, unnamed),
walked directly (no offset); routes between the square's six approaches, both ways."""

from __future__ import annotations

from shapely.geometry import Point

from sitebuild.geometry import ROUND, TO_LL, circle, reverse
from sitebuild.model import SiteBuild
from sitebuild.osm import add_base_layer, attribution_sentence, data_bbox, load_source
from sitebuild.walkgraph import WalkGraph

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
CX, CY = 529858.0, 180712.0  # the garden, mid-square

#: (key "a_b", waypoints, weight, width_m, entry a, exit b, street): each walked both ways.
ODS = (
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
)
WNOTE = (
    " Weight (assumption, no published split): the west approach <-> north-east approach "
    "(Piccadilly Circus <-> Leicester Square station) flow 4 per direction, the garden "
    "diagonals and the east/south sides 2, the west side and north <-> east links 1."
)


def build() -> SiteBuild:
    doc, feats = load_source("leicester_square")
    att = doc["attribution"]
    walk_lines = [g for p, g in feats if p.get("highway") == "non-primary"]
    graph = WalkGraph(walk_lines)
    buildings = [g for p, g in feats if str(p.get("kind", "")).startswith("building")]
    garden = next(g for p, g in feats if str(p.get("kind", "")).startswith("park"))
    site = SiteBuild(
        id="leicester_square",
        name="Leicester Square",
        centre_latlon=(51.510, -0.130),
        fence=circle(CX, CY, 90.0),
        attribution=att,
        meta={},
        data_bbox=data_bbox(doc),
        buildings=buildings,
        no_van=[garden],
    )
    src = f"osmplotr@{att['source_commit'][:7]} OSM pedestrian/highway ways (non-primary, unnamed)"
    for key, wps, weight, width, a, b, street in ODS:
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
                source=src + "; routed along the OSM ways between their shared nodes." + WNOTE,
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
    site.meta.update(_meta(att))
    return site


def _meta(att: dict) -> dict:
    c_ll = TO_LL.transform(CX, CY)
    return {
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
