"""Camera geometry checked against hand computation (DESIGN.md, Camera)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.errors import CameraGeometryError
from twin.world.camera import (
    DORI_PX_PER_M,
    FACE_HEIGHT_M,
    IED_M,
    Camera,
    compute_face_geometry,
    dori_level,
    fov_wedge,
    ground_distance_for_px_per_m,
)


def test_face_straight_ahead_by_hand() -> None:
    # lens 4 m up, face 8 m north at 1.6 m: d = sqrt(64 + 2.4^2) = 8.3523 m
    cam = Camera(id="c", x=0.0, y=0.0, mount_height_m=4.0, heading_deg=0.0, tilt_deg=15.0, hfov_deg=40.0)
    g = compute_face_geometry(cam, 0.0, 8.0, 0.0, -1.0)
    d = math.sqrt(64 + 2.4**2)
    ppm = 1920 / (2 * d * math.tan(math.radians(20)))
    assert float(g.distance_m) == pytest.approx(d)
    assert float(g.px_per_m) == pytest.approx(ppm)
    assert float(g.ied_px) == pytest.approx(IED_M * ppm)
    assert float(g.pitch_deg) == pytest.approx(math.degrees(math.atan2(2.4, 8.0)))
    assert abs(float(g.yaw_deg)) < 1e-9
    assert bool(g.in_view)
    # straight ahead on the optical axis's bearing: image column is the centre
    assert float(g.u_px) == pytest.approx(960.0)


def test_yaw_is_angle_between_walk_and_line_to_camera() -> None:
    cam = Camera(id="c", x=0.0, y=0.0, heading_deg=90.0)  # looking east
    # a face 6 m east walking north: the line face -> camera points west; walking north -> 90 degrees
    g = compute_face_geometry(cam, 6.0, 0.0, 0.0, 1.0)
    assert abs(float(g.yaw_deg)) == pytest.approx(90.0)
    # walking west, straight at the camera
    g = compute_face_geometry(cam, 6.0, 0.0, -1.0, 0.0)
    assert abs(float(g.yaw_deg)) == pytest.approx(0.0, abs=1e-9)
    # walking away from it
    g = compute_face_geometry(cam, 6.0, 0.0, 1.0, 0.0)
    assert abs(float(g.yaw_deg)) == pytest.approx(180.0)


def test_out_of_view_behind_and_beside() -> None:
    cam = Camera(id="c", x=0.0, y=0.0, heading_deg=0.0, hfov_deg=30.0)
    behind = compute_face_geometry(cam, 0.0, -6.0, 0.0, 1.0)
    beside = compute_face_geometry(cam, 6.0, 6.0, 0.0, -1.0)  # 45 degrees off axis > 15
    assert not bool(behind.in_view)
    assert not bool(beside.in_view)


def test_vertical_fov_from_aspect_ratio() -> None:
    cam = Camera(id="c", x=0, y=0, hfov_deg=30.0, width_px=1920, height_px=1080)
    assert cam.tan_half_vfov == pytest.approx(math.tan(math.radians(15)) * 1080 / 1920)


def test_motion_blur_across_and_along_the_line_of_sight() -> None:
    cam = Camera(
        id="c", x=0.0, y=0.0, mount_height_m=FACE_HEIGHT_M, heading_deg=0.0, tilt_deg=0.0, exposure_s=0.01
    )
    # walking straight at the camera at face height: no motion across the line of sight
    along = compute_face_geometry(cam, 0.0, 5.0, 0.0, -1.0)
    assert float(along.blur_px_per_m_s) == pytest.approx(0.0, abs=1e-9)
    # walking across: 1 m/s x 0.01 s x px_per_m
    across = compute_face_geometry(cam, 0.0, 5.0, 1.0, 0.0)
    assert float(across.blur_px_per_m_s) == pytest.approx(0.01 * float(across.px_per_m))


def test_dori_levels_iec_62676_4() -> None:
    assert DORI_PX_PER_M == {"detect": 25.0, "observe": 62.5, "recognise": 125.0, "identify": 250.0}
    assert dori_level([250, 249.9, 125, 62.5, 25, 24.9]).tolist() == [
        "identify",
        "recognise",
        "recognise",
        "observe",
        "detect",
        "none",
    ]


@pytest.mark.parametrize("hfov", [0.0, -5.0, 180.0, 200.0])
def test_bad_fov_raises(hfov: float) -> None:
    with pytest.raises(CameraGeometryError, match="hfov_deg"):
        Camera(id="c", x=0, y=0, hfov_deg=hfov)


def test_fov_wedge_area_is_an_annular_sector() -> None:
    cam = Camera(id="c", x=0.0, y=0.0, mount_height_m=3.0, tilt_deg=15.0, hfov_deg=30.0)
    w = fov_wedge(cam, 4.0, 8.0, steps=400)
    expected = (30 / 360) * math.pi * (8.0**2 - 4.0**2)
    assert w.area == pytest.approx(expected, rel=1e-3)


@given(st.floats(30, 1000))
def test_ground_distance_inverts_px_per_m(ppm: float) -> None:
    cam = Camera(id="c", x=0.0, y=0.0, mount_height_m=3.0, heading_deg=0.0)
    g = ground_distance_for_px_per_m(cam, ppm)
    if g > 0:
        geo = compute_face_geometry(cam, 0.0, g, 0.0, -1.0)
        assert float(geo.px_per_m) == pytest.approx(ppm, rel=1e-9)


@given(st.floats(0, 359.9), st.floats(2.0, 20.0))
def test_rotation_invariance(heading: float, dist: float) -> None:
    """Turning camera and face together about the lens changes nothing but image coordinates."""
    a = Camera(id="a", x=0.0, y=0.0, heading_deg=0.0)
    b = Camera(id="b", x=0.0, y=0.0, heading_deg=heading)
    h = math.radians(heading)
    ga = compute_face_geometry(a, 0.0, dist, 0.0, -1.0)
    gb = compute_face_geometry(b, dist * math.sin(h), dist * math.cos(h), -math.sin(h), -math.cos(h))
    for field in ("distance_m", "px_per_m", "pitch_deg", "u_px", "v_px"):
        assert float(getattr(gb, field)) == pytest.approx(float(getattr(ga, field)), abs=1e-6)
    assert bool(ga.in_view) == bool(gb.in_view)
    assert np.isclose(abs(float(gb.yaw_deg)), abs(float(ga.yaw_deg)), atol=1e-6)
