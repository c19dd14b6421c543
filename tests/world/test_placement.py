"""Candidate van poses (twin/world/placement.py): on the footways inside the geofence, cameras along the
flow both ways, toe-in towards the footway's centre, view tables cut without losing a usable capture."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from shapely import Point

from conftest import X0, Y0
from twin.errors import ScenarioError
from twin.scenario.specs import CaptureGate
from twin.world.camera import Camera
from twin.world.capture import build_view_tables
from twin.world.placement import candidate_vans, usable_range_m, van_cameras, view_tables_near
from twin.world.site import load_site


def _axis(heading_deg: float) -> np.ndarray:
    h = math.radians(heading_deg)
    return np.array([math.sin(h), math.cos(h)])  # compass bearing -> (east, north)


def test_candidates_on_the_footway_facing_along_the_flow(square_site: Path) -> None:
    site = load_site(square_site)
    vans = candidate_vans(site, spacing_m=10.0, toes_deg=(0.0,))
    # square site: footway y = 0 walked both ways, 4 m wide; a quarter of the width out on both sides,
    # every 10 m from 5 m; the two directions' candidates coincide and are merged
    assert sorted({round(v.y - Y0, 2) for v in vans}) == [-1.0, 1.0]
    assert len(vans) == 2 * 10
    for v in vans:
        assert sorted(v.headings_deg) == [90.0, 270.0]  # along the flow, both ways
        assert site.geofence.distance(Point(v.x, v.y)) == 0.0


def test_toe_turns_each_camera_towards_the_footway_centre(square_site: Path) -> None:
    site = load_site(square_site)
    for v in candidate_vans(site, spacing_m=20.0, toes_deg=(10.0,)):
        to_centre = np.array([0.0, Y0 - v.y])
        for h in v.headings_deg:
            assert np.dot(_axis(h), to_centre) > 0, (v, h)  # looks a little across, towards the middle
            assert min(abs(h - 90), abs(h - 270)) == pytest.approx(10.0, abs=0.05)


def test_cut_tables_keep_every_usable_capture_station(square_site: Path) -> None:
    site = load_site(square_site)
    gate = CaptureGate()
    cam = Camera(id="c", x=X0 + 60, y=Y0 - 1.0, heading_deg=270.0)
    whole = {(t.route, t.camera): t for t in build_view_tables(site, [cam], gate)}
    cut = {(t.route, t.camera): t for t in view_tables_near(site, [cam], gate)}
    assert whole.keys() == cut.keys()
    for key, w in whole.items():
        c = cut[key]
        zw = np.flatnonzero(w.zone.any(axis=0)) * 0.05 + w.s0
        zc = np.flatnonzero(c.zone.any(axis=0)) * 0.05 + c.s0
        assert len(zw) == len(zc) and np.allclose(zw, zc, atol=1e-6)  # the same zone stations
        if len(zw):
            j = np.flatnonzero(w.zone.any(axis=0))[0]
            k = np.flatnonzero(c.zone.any(axis=0))[0]
            assert np.allclose(w.ied_px[:, j], c.ied_px[:, k], rtol=1e-4)


def test_usable_range_is_the_pinhole_distance() -> None:
    """ied_px = 0.063 m x 1920 / (2 d tan 15 deg) = 30 px at d = 7.52 m (DESIGN.md pinhole relations)."""
    d = usable_range_m(Camera(id="c", x=0.0, y=0.0), CaptureGate(min_ied_px=30))
    assert 0.063 * 1920 / (2 * d * math.tan(math.radians(15))) == pytest.approx(30.0)


def test_bad_candidate_settings(square_site: Path) -> None:
    site = load_site(square_site)
    with pytest.raises(ScenarioError, match="spacing"):
        candidate_vans(site, spacing_m=0)
    with pytest.raises(ScenarioError, match="toe"):
        candidate_vans(site, toes_deg=(60.0,))
    assert len(van_cameras(candidate_vans(site)[0])) == 2
