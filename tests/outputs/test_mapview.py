"""The offline map: Leaflet embedded, every layer of the site drawn, no request to a CDN."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from conftest import X0, Y0
from twin.outputs.mapview import build_map, save_map
from twin.world.camera import Camera
from twin.world.site import load_site


def test_saved_map_works_offline_and_draws_every_layer(square_site: Path, tmp_path: Path) -> None:
    site = load_site(square_site)
    cam = Camera(id="cam_w", x=X0 + 70, y=Y0 - 3, heading_deg=290.0)
    m = build_map(site, [cam], min_ied_px=30.0, captures_xy=np.array([[X0 + 40, Y0], [np.nan, Y0]]))
    save_map(m, tmp_path / "map.html")
    page = (tmp_path / "map.html").read_text()
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", page)
    assert "L.map" in page and "heatLayer" in page
    for text in (
        "camera cam_w",
        "geofenced target area",
        "LFR notice sign",
        "Camera view (DORI, IEC 62676-4)",
    ):
        assert text in page, text


def test_plain_folium_map_for_the_app_has_no_embedded_assets(square_site: Path) -> None:
    m = build_map(load_site(square_site), [], offline=False)
    assert type(m).__module__.startswith("folium")
