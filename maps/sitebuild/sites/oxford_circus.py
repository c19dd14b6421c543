"""Oxford Circus: Oxford St and Regent St carriageway centrelines (MATSim network from OSM, named),
offset to the footways; straight routes along each footway both ways, and the corner turns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely.geometry import LineString, Point
from shapely.ops import linemerge

from sitebuild.geometry import ROUND, TO_LL, SiteBuildError, circle, clean, cut, join, midline, reverse
from sitebuild.model import SiteBuild
from sitebuild.osm import add_base_layer, attribution_sentence, data_bbox, load_source

# OSM way ids of the carriageway centrelines of each street arm, both directions.
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
OX_CW, OX_FW = 12.0, 5.0  # Oxford St carriageway / footway width, m (assumed)
RG_CW, RG_FW = 14.0, 6.0  # Regent St carriageway / footway width, m (assumed)
D_OX, D_RG = OX_CW / 2 + OX_FW / 2, RG_CW / 2 + RG_FW / 2
W_OX, W_RG, W_TURN = 3.0, 2.0, 1.0  # route weights (assumption)


@dataclass(frozen=True)
class _Streets:
    """The junction centre J, the two street axes and their four footways (EPSG:27700), and the footway
    corners."""

    J: Point
    oxford: LineString
    regent: LineString
    ox_n: LineString
    ox_s: LineString
    rg_e: LineString
    rg_w: LineString
    corners: tuple[Point, Point, Point, Point]  # nw, ne, sw, se


def build() -> SiteBuild:
    doc, feats = load_source("oxford_circus")
    att = doc["attribution"]
    st = _streets(feats)
    site = SiteBuild(
        id="oxford_circus",
        name="Oxford Circus",
        centre_latlon=(51.5152, -0.1416),
        fence=circle(st.J.x, st.J.y, 85.0),
        attribution=att,
        meta={},
        data_bbox=data_bbox(doc),
    )
    site.no_van = [
        st.oxford.buffer(OX_CW / 2, cap_style="flat"),
        st.regent.buffer(RG_CW / 2, cap_style="flat"),
    ]
    src = f"genet@{att['source_commit'][:7]}"
    _routes(site, st, src)
    _vans(site, st)
    site.add_signs()
    site.fence_source = (
        f"circle of radius 85 m around the Oxford St x Regent St junction box (OSM carriageway nodes, {src})"
    )
    add_base_layer(site, feats, f"genet@{att['source_commit'][:7]}")
    site.meta.update(_meta(att, st))
    return site


def _streets(feats: list[tuple[dict, Any]]) -> _Streets:
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

    oxford = join(reverse(arm(W_IDS_N, W_IDS_S)), arm(E_IDS_N, E_IDS_S))  # west -> east
    regent = join(reverse(arm(N_IDS_W, N_IDS_E)), arm(S_IDS_W, S_IDS_E))  # north -> south
    kw = {"join_style": "mitre", "mitre_limit": 3.0}
    ox_n = clean(oxford.offset_curve(D_OX, **kw))  # left of W->E = north footway, W->E
    ox_s = clean(oxford.offset_curve(-D_OX, **kw))  # south footway, W->E
    rg_e = clean(regent.offset_curve(D_RG, **kw))  # left of N->S = east footway, N->S
    rg_w = clean(regent.offset_curve(-D_RG, **kw))  # west footway, N->S
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

    corners = (corner(ox_n, rg_w), corner(ox_n, rg_e), corner(ox_s, rg_w), corner(ox_s, rg_e))
    return _Streets(J, oxford, regent, ox_n, ox_s, rg_e, rg_w, corners)


def _routes(site: SiteBuild, st: _Streets, src: str) -> None:
    """Both footways of both streets, both ways, and the eight corner turns (no carriageway crossed)."""
    ox_ways = "Oxford St OSM ways " + ", ".join(sorted(set(W_IDS_N + W_IDS_S + E_IDS_N + E_IDS_S)))
    rg_ways = "Regent St OSM ways " + ", ".join(sorted(set(N_IDS_W + N_IDS_E + S_IDS_W + S_IDS_E)))
    ox_src = (
        f"{ox_ways} ({src}); street axis = midline of the carriageway centrelines, offset "
        f"{D_OX:g} m (half carriageway {OX_CW / 2:g} m + half footway {OX_FW / 2:g} m) to the footway"
    )
    rg_src = (
        f"{rg_ways} ({src}); street axis = midline of the carriageway centrelines, offset "
        f"{D_RG:g} m (half carriageway {RG_CW / 2:g} m + half footway {RG_FW / 2:g} m) to the footway"
    )
    turn_src = (
        f"corner turn joining the two offset footways at the Circus corner; {ox_ways}; {rg_ways} ({src})"
    )
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
    ox_n, ox_s, rg_e, rg_w = st.ox_n, st.ox_s, st.rg_e, st.rg_w
    r("ox_n_we", ox_n, W_OX, OX_FW, "Oxford Street (north footway)", OXW_N, OXE_N, ox_src)
    r("ox_n_ew", reverse(ox_n), W_OX, OX_FW, "Oxford Street (north footway)", OXE_N, OXW_N, ox_src)
    r("ox_s_we", ox_s, W_OX, OX_FW, "Oxford Street (south footway)", OXW_S, OXE_S, ox_src)
    r("ox_s_ew", reverse(ox_s), W_OX, OX_FW, "Oxford Street (south footway)", OXE_S, OXW_S, ox_src)
    r("rg_w_ns", rg_w, W_RG, RG_FW, "Regent Street (west footway)", RGN_W, RGS_W, rg_src)
    r("rg_w_sn", reverse(rg_w), W_RG, RG_FW, "Regent Street (west footway)", RGS_W, RGN_W, rg_src)
    r("rg_e_ns", rg_e, W_RG, RG_FW, "Regent Street (east footway)", RGN_E, RGS_E, rg_src)
    r("rg_e_sn", reverse(rg_e), W_RG, RG_FW, "Regent Street (east footway)", RGS_E, RGN_E, rg_src)
    p_nw, p_ne, p_sw, p_se = st.corners
    t_w_n = join(cut(ox_n, p_nw)[0], reverse(cut(rg_w, p_nw)[0]))
    t_n_e = join(cut(rg_e, p_ne)[0], cut(ox_n, p_ne)[1])
    t_e_s = join(reverse(cut(ox_s, p_se)[1]), cut(rg_e, p_se)[1])
    t_s_w = join(reverse(cut(rg_w, p_sw)[1]), reverse(cut(ox_s, p_sw)[0]))
    c = "Oxford Street / Regent Street corner"
    r("turn_w_n", t_w_n, W_TURN, OX_FW, f"{c} (NW corner)", OXW_N, RGN_W, turn_src)
    r("turn_n_w", reverse(t_w_n), W_TURN, OX_FW, f"{c} (NW corner)", RGN_W, OXW_N, turn_src)
    r("turn_n_e", t_n_e, W_TURN, OX_FW, f"{c} (NE corner)", RGN_E, OXE_N, turn_src)
    r("turn_e_n", reverse(t_n_e), W_TURN, OX_FW, f"{c} (NE corner)", OXE_N, RGN_E, turn_src)
    r("turn_e_s", t_e_s, W_TURN, OX_FW, f"{c} (SE corner)", OXE_S, RGS_E, turn_src)
    r("turn_s_e", reverse(t_e_s), W_TURN, OX_FW, f"{c} (SE corner)", RGS_E, OXE_S, turn_src)
    r("turn_s_w", t_s_w, W_TURN, OX_FW, f"{c} (SW corner)", RGS_W, OXW_S, turn_src)
    r("turn_w_s", reverse(t_s_w), W_TURN, OX_FW, f"{c} (SW corner)", OXW_S, RGS_W, turn_src)


def _vans(site: SiteBuild, st: _Streets) -> None:
    """Vans on the kerb side of the footway (1.3 m from the walking line), ~40 m out from the Circus."""

    def s_at(rid: str, axis: LineString, from_j: float) -> float:
        """Distance along route ``rid`` level with the axis point ``from_j`` m past J."""
        target = axis.interpolate(axis.project(st.J) + from_j)
        return site.route_line(rid).project(target)

    site.add_van(
        "van_oxford_e",
        "ox_n_we",
        s_at("ox_n_we", st.oxford, 40.0),
        -1.3,
        "Oxford St north footway, ~40 m east of the Circus, on the kerb side.",
    )
    site.add_van(
        "van_oxford_w",
        "ox_s_we",
        s_at("ox_s_we", st.oxford, -40.0),
        1.3,
        "Oxford St south footway, ~40 m west of the Circus, on the kerb side.",
    )
    site.add_van(
        "van_regent_n",
        "rg_w_ns",
        s_at("rg_w_ns", st.regent, -40.0),
        1.3,
        "Regent St west footway, ~40 m north of the Circus, on the kerb side.",
    )


def _meta(att: dict, st: _Streets) -> dict:
    return {
        "id": "oxford_circus",
        "name": "Oxford Circus",
        "centre": [round(v, ROUND) for v in TO_LL.transform(st.J.x, st.J.y)],
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
            f"(walking line {D_OX:g} m from the street axis); Regent St carriageway {RG_CW:g} m, "
            f"footways {RG_FW:g} m (walking line {D_RG:g} m out). The street axis is the midline of "
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
