"""The Plan page's map without the browser: the site's base map, the layers that change, their assets.

The page draws the site once (:func:`plan_base_map`: streets, geofence, routes, signs) and swaps only
the layers that change with the plan (:func:`plan_layers`: the capture heat under the cameras'
views), so Leaflet keeps the planner's centre and zoom; :func:`twin.app.ui.draw_map` hands them to
streamlit-folium's component. Every asset is served locally (:mod:`twin.app.webassets`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "HEAT_PLUGIN_URL",
    "heat_points",
    "js_string",
    "layer_host",
    "map_assets",
    "map_overlays",
    "plan_base_map",
    "plan_cameras",
    "plan_layers",
]


def plan_cameras(scenario: Any, site: Any) -> list[Any]:
    """The scenario's cameras on its site, for the map (no view tables: they draw before any run).

    Raises:
        TwinError: a camera outside London or too far outside the geofence (as a run checks it).
    """
    from twin.sim.context import place_cameras

    return place_cameras(scenario, site)


def plan_base_map(site: Any, *, min_ied_px: float, tile_url: str | None) -> Any:
    """The Plan page's base map (folium, assets served locally): the site without cameras or heat
    (:func:`twin.outputs.mapview.base_map`), drawn once per site.

    Raises:
        TwinError: a map element needs an asset that is not served locally.
    """
    from twin.app.webassets import localize_map
    from twin.outputs.mapview import base_map

    m = base_map(site, min_ied_px=min_ied_px, tile_url=tile_url, offline=False, zoom_start=18)
    return localize_map(m)


def plan_layers(cameras: Any, *, min_ied_px: float, heat_xy: np.ndarray | None) -> list[tuple[str, Any]]:
    """The Plan page's changing layers, bottom first: (name, folium ``FeatureGroup``) of the capture heat
    (empty until the run is there) and of the cameras with their views."""
    from twin.app.webassets import localize_map
    from twin.outputs.mapview import camera_layer, heat_layer

    heat = heat_layer(np.zeros((0, 2)) if heat_xy is None else heat_xy, offline=False)
    cams = camera_layer(cameras, min_ied_px=min_ied_px, offline=False)
    return [(layer.layer_name, localize_map(layer)) for layer in (heat, cams)]


def layer_host() -> Any:
    """An empty folium map to render :func:`plan_layers` against (their script names the map)."""
    from twin.outputs.mapview import folium_module

    return folium_module(False).Map(tiles=None)


def map_assets(m: Any) -> tuple[list[str], list[str]]:
    """(CSS, JS) URLs the Plan page's map loads once, when it is first drawn: the base map's, and those
    of the layers that come later (the heat plugin)."""
    from twin.app.webassets import STATIC_URL, VENDOR_FILES, asset_urls

    urls = asset_urls(m)
    heat = f"{STATIC_URL}/{VENDOR_FILES[HEAT_PLUGIN_URL]}"
    css = [u for u in urls if u.endswith(".css")]
    js = [u for u in urls if not u.endswith(".css")]
    return css, [*js, *([heat] if heat not in js else [])]


#: The heat-map plugin folium's ``HeatMap`` asks for (served from static/vendor/).
HEAT_PLUGIN_URL = (
    "https://cdn.jsdelivr.net/gh/python-visualization/folium@main/folium/templates/leaflet_heat.min.js"
)


def map_overlays(m: Any) -> list[tuple[str, str]]:
    """(name, script variable) of the base map's toggled layers, for the layer control (after the map's
    script was generated, which names them)."""
    return [
        (str(child.layer_name), str(child.get_name()))
        for child in m._children.values()
        if getattr(child, "control", False)
        and hasattr(child, "layer_name")
        and child.get_name() != m.get_name()
    ]


def js_string(text: str) -> str:
    r"""``text`` as a JavaScript string literal (JSON; ``</`` escaped so it cannot close a script tag).

    >>> js_string('a "b" </script>')
    '"a \\"b\\" <\\/script>"'
    """
    import json

    return json.dumps(str(text)).replace("</", "<\\/")


def heat_points(tracks: pd.DataFrame | None) -> np.ndarray:
    """(K, 2) BNG metres of the best usable captures (replication 0's tracks) for the heat layer."""
    if tracks is None or len(tracks) == 0 or not {"x_m", "y_m", "usable_captures"} <= set(tracks.columns):
        return np.zeros((0, 2))
    t = tracks[tracks["usable_captures"] > 0]
    xy = t[["x_m", "y_m"]].to_numpy(dtype=float)
    return xy[np.all(np.isfinite(xy), axis=1)]
