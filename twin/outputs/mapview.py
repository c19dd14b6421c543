"""Folium maps of a deployment: base streets, geofence, routes, cameras with FOV wedges, capture heat.

Works with no network (DESIGN.md, Offline first): saved maps use ``offlinefolium`` (the
folium-offline package), which embeds Leaflet and the heat-map plugin in the HTML; no tile layer
is added unless a tile URL (e.g. a local tile server) is given, and the site's OpenStreetMap
street geometry is drawn as the base layer instead. Icons are drawn as circles and HTML, never
fetched images. Coordinates arrive here in BNG metres or WGS84 (lon, lat) and are turned into
Folium's [lat, lon] only in this module.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from twin.world.camera import (
    DORI_PX_PER_M,
    Camera,
    fov_wedge,
    ground_distance_for_px_per_m,
    visible_ground_range,
)
from twin.world.geo import bng_to_lonlat
from twin.world.site import Site

__all__ = [
    "DORI_COLOURS",
    "add_point_layer",
    "base_map",
    "build_map",
    "camera_layer",
    "folium_module",
    "heat_layer",
    "save_map",
]

#: Colour of each DORI band on FOV wedges (IEC 62676-4:2015 levels).
DORI_COLOURS: dict[str, str] = {
    "identify": "#1a9850",
    "recognise": "#91cf60",
    "observe": "#fee08b",
    "detect": "#fc8d59",
}
_BASE_STYLE = {
    "street": {"color": "#9e9e9e", "weight": 6, "opacity": 0.6},
    "footway": {"color": "#bdbdbd", "weight": 2, "opacity": 0.9, "dashArray": "4 3"},
    "building": {"color": "#bcaaa4", "weight": 1, "fillColor": "#d7ccc8", "fillOpacity": 0.6},
    "park": {"color": "#81c784", "weight": 1, "fillColor": "#c8e6c9", "fillOpacity": 0.7},
}
_MAX_HEAT_POINTS = 6000


def _safe_tooltip_template() -> Any:
    from folium.template import Template

    return Template(
        """
        {% macro script(this, kwargs) %}
            {{ this._parent.get_name() }}.bindTooltip(
                {{ ("<div>" ~ this.text ~ "</div>")|tojavascript }},
                {{ this.options|tojavascript }}
            );
        {% endmacro %}
        """
    )


def _tooltip(fl: Any, text: str) -> Any:
    """A tooltip showing ``text`` as text, whatever it holds.

    folium's own ``Tooltip`` splices its text raw into a JavaScript template literal (between
    backticks), so ``${...}`` in a camera or route id would run when the map opens. Here the text
    is HTML-escaped (markup shows as characters) and reaches the script as a JSON string literal
    (``tojavascript``: ``json.dumps`` with ``<``, ``>``, ``&`` and ``'`` escaped, so it cannot end the
    ``<script>`` either), which Leaflet then shows as the tooltip's HTML.
    """
    tip = fl.Tooltip(html.escape(str(text)))
    tip._template = _safe_tooltip_template()
    return tip


def folium_module(offline: bool = True) -> ModuleType:
    """``offlinefolium`` (assets embedded, for saved HTML) or plain ``folium`` (for streamlit-folium)."""
    if offline:
        import offlinefolium

        return offlinefolium
    import folium

    return folium


def _latlon_ring(geom: BaseGeometry) -> list[list[float]]:
    xy = np.asarray(geom.exterior.coords if hasattr(geom, "exterior") else geom.coords)
    lon, lat = bng_to_lonlat(xy[:, 0], xy[:, 1])
    return [[float(a), float(b)] for a, b in zip(lat, lon, strict=True)]


def _polygons(geom: BaseGeometry) -> list[BaseGeometry]:
    if geom.is_empty:
        return []
    return list(geom.geoms) if hasattr(geom, "geoms") else [geom]


def _legend(min_ied_px: float, *, open_: bool = True) -> str:
    """The map legend as a <details> box (no script): open on saved maps, folded in the app's smaller map."""
    rows = "".join(
        "<div><span "
        f'style="display:inline-block;width:14px;height:10px;background:{c};margin-right:6px"></span>'
        f"{name} &ge; {DORI_PX_PER_M[name]:g} px/m</div>"
        for name, c in reversed(list(DORI_COLOURS.items()))
    )

    def swatch(style: str, label: str) -> str:
        return (
            "<div><span "
            f'style="display:inline-block;width:14px;margin-right:6px;{style}"></span>{label}</div>'
        )

    return (
        '<div style="position:fixed;top:86px;left:10px;z-index:9999;background:rgba(255,255,255,.92);'
        'padding:6px 9px;border:1px solid #999;border-radius:4px;font:11px sans-serif;line-height:1.45">'
        + f"<details{' open' if open_ else ''}><summary "
        'style="cursor:pointer;font-weight:600">Legend</summary>'
        + swatch("height:0;border-top:2px dashed #1565c0", "geofenced target area")
        + swatch("height:0;border-top:3px solid #5e35b1", "walking route (arrow: direction)")
        + swatch(
            "height:10px;width:10px;border-radius:50%;border:2px solid #212121;background:#fafafa",
            "camera (van)",
        )
        + swatch("height:10px;width:10px;background:#ffb300;border:1px solid #6d4c00", "LFR notice sign")
        + swatch(
            "height:10px;background:linear-gradient(90deg,#00f,#0ff,#0f0,#ff0,#f00)",
            "best usable captures (heat)",
        )
        + "<b>Camera view (DORI, IEC 62676-4)</b>"
        + rows
        + swatch("height:0;border-top:2px solid #0d47a1", f"usable faces (ied &ge; {min_ied_px:g} px)")
        + "</details></div>"
    )


def build_map(
    site: Site,
    cameras: Sequence[Camera] = (),
    *,
    min_ied_px: float = 30.0,
    captures_xy: np.ndarray | None = None,
    tile_url: str | None = None,
    tile_attribution: str = "",
    offline: bool = True,
    zoom_start: int = 18,
    height: str | None = None,
) -> Any:
    """A Folium map of the site and cameras.

    Args:
        site: the site.
        cameras: cameras to draw, each with its FOV wedge split into DORI bands and the outline of
            the zone where faces reach ``min_ied_px``.
        min_ied_px: the capture gate's minimum inter-eye distance, px.
        captures_xy: (K, 2) BNG metres of usable captures for the heat layer (subsampled).
        tile_url: optional XYZ tile URL template (a local tile server); none by default.
        tile_attribution: attribution for those tiles.
        offline: embed Leaflet assets (``offlinefolium``); False gives a plain folium map.
        zoom_start: initial zoom.
        height: map height as a CSS size (default folium's).

    Returns:
        a ``Map`` of the chosen module: :func:`base_map`, the heat layer under the cameras' views
        (:func:`heat_layer`, :func:`camera_layer`) and a layer control.
    """
    fl = folium_module(offline)
    m = base_map(
        site,
        min_ied_px=min_ied_px,
        tile_url=tile_url,
        tile_attribution=tile_attribution,
        offline=offline,
        zoom_start=zoom_start,
        height=height,
    )
    if captures_xy is not None and len(captures_xy):
        heat_layer(captures_xy, offline=offline).add_to(m)
    camera_layer(cameras, min_ied_px=min_ied_px, offline=offline).add_to(m)
    fl.LayerControl(collapsed=True).add_to(m)
    return m


def base_map(
    site: Site,
    *,
    min_ied_px: float = 30.0,
    tile_url: str | None = None,
    tile_attribution: str = "",
    offline: bool = True,
    zoom_start: int = 18,
    height: str | None = None,
) -> Any:
    """What the map shows of the site itself, whatever the cameras: tiles (if a URL is given), the OSM
    streets, the geofence, the routes, the signs, the legend and the attribution, fitted to the geofence.

    The app draws it once per site and adds the cameras and the heat over it as layers that change
    without redrawing it (so the map keeps the planner's view). Arguments as :func:`build_map`.
    """
    fl = folium_module(offline)
    c = site.geofence.centroid
    lon, lat = bng_to_lonlat(c.x, c.y)
    kw: dict[str, Any] = {
        "location": [float(lat), float(lon)],
        "zoom_start": zoom_start,
        "max_zoom": 22,
        "control_scale": True,
        "tiles": None,
    }
    if height:
        kw["height"] = height
    m = fl.Map(**kw)
    if tile_url:
        tiles = fl.TileLayer(tiles=tile_url, attr=tile_attribution or "tiles", name="tiles", max_zoom=22)
        tiles.add_to(m)
        _tile_error_notice(fl, m, tiles, tile_url)

    _add_base(fl, m, site)
    _add_routes(fl, m, site)
    _add_signs(fl, m, site)
    attribution = html.escape(str(site.attribution.get("text") or site.attribution.get("data") or ""))
    approx = " · <b>approximate geometry</b>" if site.approximate else ""
    m.get_root().html.add_child(fl.Element(_legend(min_ied_px, open_=offline)))
    m.get_root().html.add_child(
        fl.Element(
            '<div style="position:fixed;bottom:4px;right:8px;z-index:9999;background:rgba(255,255,255,.85);'
            f'padding:1px 6px;font:11px sans-serif">{attribution}{approx}</div>'
        )
    )
    xs, ys = site.geofence.exterior.xy
    lon_b, lat_b = bng_to_lonlat(np.array([min(xs), max(xs)]), np.array([min(ys), max(ys)]))
    m.fit_bounds([[float(lat_b[0]), float(lon_b[0])], [float(lat_b[1]), float(lon_b[1])]])
    return m


def save_map(m: Any, path: Any) -> None:
    """Write a map's standalone HTML to ``path``."""
    m.save(str(path))


def _tile_error_notice(fl: Any, m: Any, tiles: Any, tile_url: str) -> None:
    """A note on the map, shown when a tile fails to load (Leaflet's ``tileerror``): the tile server
    named does not answer, and the site's streets are drawn without it."""
    from branca.element import MacroElement
    from jinja2 import Template

    note = html.escape(tile_url.split("/{z}")[0])
    m.get_root().html.add_child(
        fl.Element(
            '<div id="twin-tile-note" style="display:none;position:fixed;bottom:24px;left:10px;'
            "z-index:9999;background:#fff3e0;border:1px solid #e65100;border-radius:4px;padding:3px 7px;"
            f"font:12px sans-serif;color:#bf360c\">Map tiles from {note} are not loading; the site's "
            "OpenStreetMap streets are drawn without them.</div>"
        )
    )

    class _Notice(MacroElement):  # type: ignore[misc]
        _template = Template(
            "{% macro script(this, kwargs) %}"
            "{{ this.tiles.get_name() }}.on('tileerror', function () {"
            " var n = document.getElementById('twin-tile-note'); if (n) { n.style.display = 'block'; } });"
            "{% endmacro %}"
        )

        def __init__(self, layer: Any) -> None:
            super().__init__()
            self._name = "TileErrorNotice"
            self.tiles = layer

    _Notice(tiles).add_to(m)


def _add_base(fl: Any, m: Any, site: Site) -> None:
    """The site's OSM layers (parks, buildings, streets, footways) and its geofence."""
    base = fl.FeatureGroup(name="Streets (OpenStreetMap)", show=True)
    for role in ("park", "building", "street", "footway"):
        feats = [f for f in site.base_layers if (f.get("properties") or {}).get("role") == role]
        if feats:
            style = _BASE_STYLE[role]
            fl.GeoJson(
                {"type": "FeatureCollection", "features": feats},
                name=role,
                style_function=lambda _f, s=style: s,
                control=False,
            ).add_to(base)
    base.add_to(m)
    fl.Polygon(
        _latlon_ring(site.geofence),
        color="#1565c0",
        weight=3,
        fill=True,
        fill_opacity=0.04,
        dash_array="8 6",
        tooltip=_tooltip(fl, f"{site.name}: geofenced target area ({site.area_m2:,.0f} m²)"),
    ).add_to(m)


def _add_routes(fl: Any, m: Any, site: Site) -> None:
    """Walking routes, line width by share of passers-by, an arrowhead at each exit."""
    routes = fl.FeatureGroup(name="Routes", show=True)
    total_w = sum(r.weight for r in site.routes) or 1.0
    for r in site.routes:
        pts = _latlon_ring(r.line)
        fl.PolyLine(
            pts,
            color="#5e35b1",
            weight=1.5 + 4 * r.weight / total_w * len(site.routes) / 4,
            opacity=0.55,
            tooltip=_tooltip(
                fl,
                f"{r.id}: {r.entry} → {r.exit} ({r.street}); {100 * r.weight / total_w:.0f}% of passers-by",
            ),
        ).add_to(routes)
        xy = np.asarray(r.line.coords)
        d = xy[-1] - xy[-2]
        ang = math.atan2(d[1], d[0])
        tip = xy[-1]
        wing = [tip - 2.5 * np.array([math.cos(ang + s), math.sin(ang + s)]) for s in (0.5, -0.5)]
        fl.PolyLine(
            _latlon_ring(shapely.LineString([wing[0], tip, wing[1]])), color="#5e35b1", weight=2, opacity=0.8
        ).add_to(routes)
    routes.add_to(m)


def camera_layer(cameras: Sequence[Camera], *, min_ied_px: float = 30.0, offline: bool = True) -> Any:
    """The cameras as one layer (a ``FeatureGroup``): each camera's FOV wedge in DORI bands, the outline
    where faces reach ``min_ied_px``, the rest of its horizontal field of view as a faint dashed
    outline out to where faces would still be recognisable (DORI) if the camera tilted less (so a
    camera whose tilt keeps faces near, e.g. the default 15°, still shows where it points), and its
    position."""
    fl = folium_module(offline)
    cams = fl.FeatureGroup(name="Cameras and views", show=True)
    for cam in cameras:
        bands = [
            ground_distance_for_px_per_m(cam, DORI_PX_PER_M[n])
            for n in ("identify", "recognise", "observe", "detect")
        ]
        near, far = visible_ground_range(cam)
        if bands[1] > far:  # the lens would still recognise faces further out: show where it points
            for poly in _polygons(fov_wedge(cam, far, None, unclipped=True, far_cap_m=bands[1])):
                fl.Polygon(
                    _latlon_ring(poly),
                    color="#616161",
                    weight=1,
                    dash_array="3 4",
                    fill=False,
                    tooltip=_tooltip(
                        fl,
                        f"camera {cam.id}: beyond {far:.0f} m faces are above the top of the image at "
                        f"{cam.tilt_deg:.0f}° tilt (tilt less to see further)",
                    ),
                ).add_to(cams)
        edges = [0.0, *bands]
        for name, lo, hi in zip(
            ("identify", "recognise", "observe", "detect"), edges[:-1], edges[1:], strict=True
        ):
            for poly in _polygons(fov_wedge(cam, lo, hi)):
                fl.Polygon(
                    _latlon_ring(poly),
                    color=DORI_COLOURS[name],
                    weight=0,
                    fill=True,
                    fill_color=DORI_COLOURS[name],
                    fill_opacity=0.5,
                    tooltip=_tooltip(fl, f"camera {cam.id}: {name} ({DORI_PX_PER_M[name]:g}+ px/m)"),
                ).add_to(cams)
        usable_far = ground_distance_for_px_per_m(cam, min_ied_px / 0.063)
        for poly in _polygons(fov_wedge(cam, None, usable_far)):
            fl.Polygon(
                _latlon_ring(poly),
                color="#0d47a1",
                weight=2,
                fill=False,
                tooltip=_tooltip(fl, f"camera {cam.id}: faces with ied ≥ {min_ied_px:g} px"),
            ).add_to(cams)
        clon, clat = bng_to_lonlat(cam.x, cam.y)
        fl.CircleMarker(
            [float(clat), float(clon)],
            radius=5,
            color="#212121",
            fill=True,
            fill_color="#fafafa",
            fill_opacity=1,
            tooltip=_tooltip(
                fl,
                f"camera {cam.id}: heading {cam.heading_deg:.0f}°, tilt {cam.tilt_deg:.0f}°, hfov "
                f"{cam.hfov_deg:.0f}°, height {cam.mount_height_m:.1f} m, {cam.width_px}x{cam.height_px} "
                f"@ {cam.fps:g} fps; faces in view {near:.0f}–{far:.0f} m away",
            ),
        ).add_to(cams)
    return cams


def _add_signs(fl: Any, m: Any, site: Site) -> None:
    if len(site.signage):
        signs = fl.FeatureGroup(name="LFR notice signs", show=True)
        lon_s, lat_s = bng_to_lonlat(site.signage[:, 0], site.signage[:, 1])
        for a, b in zip(lat_s, lon_s, strict=True):
            fl.RegularPolygonMarker(
                [float(a), float(b)],
                number_of_sides=4,
                radius=6,
                color="#6d4c00",
                weight=1,
                fill=True,
                fill_color="#ffb300",
                fill_opacity=1,
                tooltip=_tooltip(fl, "LFR notice sign"),
            ).add_to(signs)
        signs.add_to(m)


def heat_layer(captures_xy: np.ndarray, *, offline: bool = True) -> Any:
    """A layer (``FeatureGroup``) with the heat of the best usable captures (at most
    :data:`_MAX_HEAT_POINTS`, evenly subsampled); empty without captures."""
    fl = folium_module(offline)
    layer = fl.FeatureGroup(name="Capture heat (best usable captures)", show=True)
    xy = np.asarray(captures_xy, dtype=float).reshape(-1, 2)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if not len(xy):
        return layer
    if len(xy) > _MAX_HEAT_POINTS:
        xy = xy[np.linspace(0, len(xy) - 1, _MAX_HEAT_POINTS).astype(int)]
    lon_h, lat_h = bng_to_lonlat(xy[:, 0], xy[:, 1])
    plugins = __import__(fl.__name__ + ".plugins", fromlist=["HeatMap"])
    plugins.HeatMap(
        [[float(a), float(b)] for a, b in zip(lat_h, lon_h, strict=True)],
        radius=10,
        blur=10,
        min_opacity=0.25,
        max_zoom=20,
    ).add_to(layer)
    return layer


def add_point_layer(
    m: Any,
    xy: np.ndarray,
    *,
    name: str,
    colour: str,
    tooltips: Sequence[str] | None = None,
    radius: float = 3.0,
    show: bool = True,
    offline: bool = True,
) -> None:
    """Add a layer of small circles (e.g. candidate van positions) to a map from :func:`build_map`.

    Args:
        m: the map.
        xy: (N, 2) BNG metres.
        name: the layer's name in the layer control.
        colour: CSS colour.
        tooltips: N texts (shown as text: :func:`_tooltip`), or None.
        radius: circle radius, px.
        show: visible when the map opens.
        offline: the module the map was built with (:func:`folium_module`).
    """
    fl = folium_module(offline)
    group = fl.FeatureGroup(name=name, show=show)
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(pts):
        lon, lat = bng_to_lonlat(pts[:, 0], pts[:, 1])
        for i, (a, b) in enumerate(zip(np.atleast_1d(lat), np.atleast_1d(lon), strict=True)):
            fl.CircleMarker(
                [float(a), float(b)],
                radius=radius,
                color=colour,
                weight=1,
                fill=True,
                fill_color=colour,
                fill_opacity=0.8,
                tooltip=_tooltip(fl, tooltips[i]) if tooltips else None,
            ).add_to(group)
    group.add_to(m)
    # the layer control must come after every layer it lists (Leaflet reads them when it is created)
    for key, child in list(m._children.items()):
        if type(child).__name__ == "LayerControl":
            del m._children[key]
            m._children[key] = child
