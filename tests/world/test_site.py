"""Site maps: the shipped London sites load and hostile map files give clear errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from conftest import MAPS, square_site_doc
from twin.errors import GeofenceError, MapFileError
from twin.world.site import load_site

SITES = ["oxford_circus", "leicester_square", "stratford", "croydon_north_end"]


@pytest.mark.parametrize("name", SITES)
def test_shipped_sites(name: str) -> None:
    site = load_site(MAPS / f"{name}.geojson")
    assert site.geofence.is_valid and site.area_m2 > 5_000
    assert len(site.routes) >= 8 and len(site.vans) >= 2 and len(site.signage) >= 4
    for r in site.routes:
        assert site.geofence.buffer(0.5).contains(r.line)
        assert r.length_m > 40
    assert site.daily_passers_by > 0 and site.footfall_source
    assert site.attribution  # ODbL attribution (or the approximate note) kept
    assert site.approximate == (name == "croydon_north_end")
    if name != "croydon_north_end":
        assert "OpenStreetMap" in json.dumps(site.attribution)


def write(tmp_path: Path, doc: dict) -> Path:
    p = tmp_path / "m.geojson"
    p.write_text(json.dumps(doc))
    return p


def test_missing_map(tmp_path: Path) -> None:
    with pytest.raises(MapFileError, match="not found"):
        load_site(tmp_path / "nope.geojson")


def test_not_json(tmp_path: Path) -> None:
    p = tmp_path / "m.geojson"
    p.write_text("{not json")
    with pytest.raises(MapFileError, match="not valid JSON at line 1, column 2"):
        load_site(p)


def test_self_intersecting_geofence(tmp_path: Path) -> None:
    doc = square_site_doc()
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]  # bow-tie
    with pytest.raises(GeofenceError, match="Self-intersection"):
        load_site(write(tmp_path, doc))


def test_swapped_coordinates_in_map(tmp_path: Path) -> None:
    doc = square_site_doc()
    doc["features"][0]["geometry"]["coordinates"][0] = [
        [lat, lon] for lon, lat in doc["features"][0]["geometry"]["coordinates"][0]
    ]
    with pytest.raises(GeofenceError, match="swapped"):
        load_site(write(tmp_path, doc))


def test_route_leaving_the_area(tmp_path: Path) -> None:
    doc = square_site_doc()
    line = doc["features"][1]["geometry"]["coordinates"]
    lon, lat = line[1]
    line[1] = [lon, lat + 0.001]  # ~110 m north, outside
    with pytest.raises(GeofenceError, match="leaves the geofence"):
        load_site(write(tmp_path, doc))


def test_route_weights_override_and_unknown_id(square_site: Path) -> None:
    site = load_site(square_site, route_weights={"east": 3.0})
    assert [r.weight for r in site.routes] == [3.0, 1.0]
    with pytest.raises(MapFileError, match="unknown route"):
        load_site(square_site, route_weights={"north": 1.0})


def test_no_geofence(tmp_path: Path) -> None:
    doc = copy.deepcopy(square_site_doc())
    doc["features"] = doc["features"][1:]
    with pytest.raises(MapFileError, match="exactly one"):
        load_site(write(tmp_path, doc))
