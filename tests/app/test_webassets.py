"""Offline map assets for the app: written from an installed package, every map element pointed at them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twin.app import webassets
from twin.errors import TwinError
from twin.outputs.mapview import build_map
from twin.world.site import load_site


def test_ensure_static_writes_leaflet_and_plugins_once(tmp_path: Path) -> None:
    vendor = webassets.ensure_static(tmp_path)
    names = sorted(p.name for p in vendor.iterdir())
    assert names == sorted(webassets.VENDOR_FILES.values())
    js = (vendor / "leaflet-1.9.3.js").read_text()
    assert "Leaflet" in js[:2000] or "leaflet" in js[:2000]
    before = {p.name: p.stat().st_mtime_ns for p in vendor.iterdir()}
    webassets.ensure_static(tmp_path)  # idempotent: unchanged files are not rewritten
    assert {p.name: p.stat().st_mtime_ns for p in vendor.iterdir()} == before


def test_every_map_asset_is_served_locally(square_site: Path) -> None:
    site = load_site(square_site)
    from twin.world.camera import Camera

    cam = Camera(id="c", x=float(site.vans[0].x), y=float(site.vans[0].y), heading_deg=290.0)
    m = build_map(site, [cam], captures_xy=np.array([[site.vans[0].x, site.vans[0].y]]), offline=False)
    assert any(u.startswith("https://") for u in webassets.asset_urls(m))
    webassets.localize_map(m)
    urls = webassets.asset_urls(m)
    assert urls and all(u.startswith(webassets.STATIC_URL + "/") for u in urls)
    assert (
        f"{webassets.STATIC_URL}/leaflet-1.9.3.js" in urls
        and f"{webassets.STATIC_URL}/leaflet-heat.min.js" in urls
    )
    webassets.localize_map(m)  # idempotent
    assert webassets.asset_urls(m) == urls
    import folium

    assert folium.Map.default_js[0][1].startswith("https://")  # the class default is left alone


def test_an_unknown_asset_is_an_error_not_a_cdn_request() -> None:
    import folium

    m = folium.Map(tiles=None)
    el = folium.MacroElement()
    el.default_js = [("x", "https://cdn.example.org/x.js")]
    m.add_child(el)
    with pytest.raises(TwinError, match="not served locally"):
        webassets.localize_map(m)
