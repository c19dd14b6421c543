"""Cameras from clicks: facing the walkers, refused outside the geofence or London, edited on the plan."""

from __future__ import annotations

import pytest

from conftest import X0, Y0, square_latlon
from twin.app import cameras
from twin.app import plan as plans
from twin.errors import CameraGeometryError, GeofenceError, ScenarioError


def test_camera_at_a_click_faces_the_walkers(square_site_loaded) -> None:
    lat, lon = square_latlon(40.0, 0.0)  # on the footway; the nearest route is "east" (walking +x)
    cam = cameras.camera_at(square_site_loaded, lat, lon, existing_ids=["cam_1"])
    assert cam["id"] == "cam_2"
    # both routes run along y = 0 (one each way); the camera looks along the footway, east or west
    assert min(abs(cam["heading_deg"] - 90.0), abs(cam["heading_deg"] - 270.0)) < 1.0
    assert (
        cameras.camera_at(square_site_loaded, lat, lon, heading_deg=12.5, tilt_deg=20.0)["heading_deg"]
        == 12.5
    )


def test_suggest_heading_looks_against_the_walking_direction(square_site_loaded) -> None:
    east = next(r for r in square_site_loaded.routes if r.id == "east")
    x, y = east.line.interpolate(30.0).coords[0]
    # the "east" route walks +x (heading 90) and "west" -x: whichever is nearest, the camera faces its walkers
    h = cameras.suggest_heading(
        square_site_loaded, x, y + 0.1
    )  # 0.1 m off the line: aims 5 m upstream, atan(0.1 / 5) = 1.1 degrees
    assert min(abs(h - 270.0), abs(h - 90.0)) < 1.5


def test_camera_outside_the_geofence_or_london_is_refused(square_site_loaded) -> None:
    lat, lon = square_latlon(50.0, 60.0)  # 40 m north of the 20 m half-width fence
    with pytest.raises(CameraGeometryError, match="40 m outside the Test square geofence"):
        cameras.camera_at(square_site_loaded, lat, lon)
    with pytest.raises(GeofenceError):
        cameras.camera_at(square_site_loaded, 48.85, 2.35)  # Paris
    with pytest.raises(CameraGeometryError, match="hfov_deg"):
        cameras.camera_at(square_site_loaded, *square_latlon(40, 0), hfov_deg=200.0)


def test_add_move_update_delete_cameras(tiny_doc: dict, square_site_loaded) -> None:
    cam = cameras.camera_at(
        square_site_loaded, *square_latlon(20.0, 2.0), existing_ids=cameras.camera_ids(tiny_doc)
    )
    d1 = cameras.add_camera(tiny_doc, cam)
    assert cameras.camera_ids(d1) == ["cam_w", "cam_1"] and cameras.camera_ids(tiny_doc) == ["cam_w"]
    with pytest.raises(ScenarioError, match="taken"):
        cameras.add_camera(d1, cam)
    lat, lon = square_latlon(60.0, -2.0)
    d2 = cameras.move_camera(d1, "cam_1", lat, lon, square_site_loaded)
    moved = d2["cameras"][1]
    assert (moved["lat"], moved["lon"]) == (round(lat, 7), round(lon, 7)) and moved["heading_deg"] == cam[
        "heading_deg"
    ]
    d3 = cameras.update_camera(d2, "cam_1", tilt_deg=20.0, hfov_deg=45.0, mount_height_m=4.0)
    assert (
        d3["cameras"][1]["tilt_deg"],
        d3["cameras"][1]["hfov_deg"],
        d3["cameras"][1]["mount_height_m"],
    ) == (20.0, 45.0, 4.0)
    with pytest.raises(CameraGeometryError, match="tilt_deg"):
        cameras.update_camera(d3, "cam_1", tilt_deg=95.0)
    with pytest.raises(ScenarioError, match="no camera 'nope'"):
        cameras.update_camera(d3, "nope", tilt_deg=1.0)
    d4 = cameras.delete_camera(d3, "cam_w")
    assert cameras.camera_ids(d4) == ["cam_1"]
    with pytest.raises(ScenarioError, match="only camera"):
        cameras.delete_camera(d4, "cam_1")
    plans.to_scenario(d4, "/")  # still a valid scenario


def test_placement_note_warns_when_the_walkers_are_out_of_reach(square_site_loaded) -> None:
    near = cameras.camera_at(square_site_loaded, *square_latlon(40.0, 1.0))
    assert cameras.placement_note(square_site_loaded, near).startswith(
        f"facing {near['heading_deg']:.0f}°, 1 m from the nearest walking route"
    )
    far = cameras.camera_at(square_site_loaded, *square_latlon(40.0, 18.0))
    note = cameras.placement_note(square_site_loaded, far)
    assert "18 m from the nearest walking route (test footway)" in note and "only within" in note


def test_suggested_heading_from_the_side_looks_upstream_at_the_route(square_site_loaded) -> None:
    x, y = X0 + 40.0, Y0 + 4.0  # 4 m north of the footway walked both ways
    h = cameras.suggest_heading(square_site_loaded, x, y)
    # aims 10 m (2.5 x 4 m) along the footway: atan(4 / 10) = 21.8 degrees off the footway's line
    off = min(abs(h - 90.0 - 21.8), abs(h - 270.0 + 21.8))
    assert off < 0.5, h
