"""Stratford: the footways between the station, the bus station and the way towards Westfield (OSM
Footway.shp, unnamed and fragmented: dangling ends joined to a way within 2.5 m)."""

from __future__ import annotations

from sitebuild.geometry import ROUND, TO_LL, circle, reverse
from sitebuild.model import SiteBuild
from sitebuild.osm import add_base_layer, attribution_sentence, data_bbox, load_source
from sitebuild.walkgraph import WalkGraph

SITE_C = (538605.0, 184395.0)  # densest footway cluster (max footway length within 80 m)
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

#: (key "a_b", waypoints, weight, width_m, entry a, exit b): each walked both ways.
ODS = (
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
)
WNOTE = (
    " Weight (assumption, no counts exist): the two NW footways towards Westfield carry the "
    "main flow (3 per direction on the main one), the bus-station links 2, the minor links 1."
)


def build() -> SiteBuild:
    doc, feats = load_source("stratford")
    att = doc["attribution"]
    footways = [g for p, g in feats if p.get("highway") == "footway"]
    # The footway layer is fragmented (crossings and links drawn as separate short ways whose
    # ends stop short of the way they meet): join dangling ends to a way within 2.5 m.
    graph = WalkGraph(footways, snap_m=2.5)
    site = SiteBuild(
        id="stratford",
        name="Stratford (station / Westfield footways)",
        centre_latlon=(51.542, -0.003),
        fence=circle(*SITE_C, 85.0),
        attribution=att,
        meta={},
        data_bbox=data_bbox(doc),
        no_van=[g.buffer(3.0) for p, g in feats if p.get("highway") in ("service", "primary")],
    )
    src = (
        f"Newham_rl687@{att['source_commit'][:7]} OSM Footway.shp (unnamed, no OSM ids); routed along "
        "the footways between their shared nodes (dangling ends joined to a way within 2.5 m)."
    )
    for key, wps, weight, width, a, b in ODS:
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
                source=src + WNOTE,
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
    site.meta.update(_meta(att))
    return site


def _meta(att: dict) -> dict:
    c_ll = TO_LL.transform(*SITE_C)
    return {
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
