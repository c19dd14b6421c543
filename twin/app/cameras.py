"""Cameras on a plan: placed where the planner clicks, facing the walkers, and edited on the plan document.

A camera where the planner clicked looks against the nearest route's walking direction
(:func:`camera_at`, :func:`suggest_heading`); :func:`placement_note` says whether faces there
reach the capture gate. ``add``/``move``/``update``/``delete_camera`` return a new plan document
(the mapping a scenario YAML holds) and never change the one given. A camera may stand at most
:data:`twin.sim.context.CAMERA_OUTSIDE_TOLERANCE_M` outside the geofence, as in a run.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from twin.errors import CameraGeometryError, ScenarioError
from twin.scenario.specs import CameraSpec
from twin.sim.context import CAMERA_OUTSIDE_TOLERANCE_M
from twin.world.camera import IED_M, Camera, ground_distance_for_px_per_m
from twin.world.geo import check_in_london, lonlat_to_bng

__all__ = [
    "CAMERA_FORM_FIELDS",
    "CameraField",
    "add_camera",
    "camera_at",
    "camera_by_id",
    "camera_form_values",
    "camera_ids",
    "camera_revision",
    "delete_camera",
    "move_camera",
    "nearest_route",
    "next_camera_id",
    "placement_note",
    "suggest_heading",
    "update_camera",
]


def camera_ids(doc: Mapping[str, Any]) -> list[str]:
    """Camera ids of a plan document, in order."""
    return [str(c.get("id")) for c in doc.get("cameras") or []]


def camera_by_id(doc: Mapping[str, Any], cam_id: str) -> dict[str, Any]:
    """A copy of the camera ``cam_id`` of a plan document.

    Raises:
        ScenarioError: no such camera (the message lists the plan's cameras).
    """
    return copy.deepcopy(dict((doc.get("cameras") or [])[_index(doc, cam_id)]))


def camera_revision(cam: Mapping[str, Any]) -> str:
    """A short hash of a camera entry: it changes whenever any of its fields does.

    The Plan page keys a camera's form widgets by id and revision, so a form always shows the
    camera as the plan holds it now, never a widget state left from an earlier version of it (or
    of a camera deleted meanwhile).

    >>> a = {"id": "c", "heading_deg": 90.0}
    >>> turned = {**a, "heading_deg": 91}
    >>> camera_revision(a) == camera_revision(dict(a)), camera_revision(a) == camera_revision(turned)
    (True, False)
    """
    text = json.dumps(dict(cam), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:10]


@dataclass(frozen=True, kw_only=True)
class CameraField:
    """One field of the Plan page's camera form: the scenario key, its label, range, step, format and
    help text."""

    key: str
    label: str
    lo: float
    hi: float
    step: float
    fmt: str
    help: str

    def range_for(self, value: float) -> tuple[float, float]:
        """The field's range widened to hold ``value`` (a plan's own setting, e.g. a 150° lens, that the
        scenario schema accepts beyond the form's usual range).

        >>> CAMERA_FORM_FIELDS[2].range_for(30.0), CAMERA_FORM_FIELDS[2].range_for(150.0)
        ((5.0, 120.0), (5.0, 150.0))
        """
        return (min(self.lo, value), max(self.hi, value))


#: The camera form's fields (ranges as :class:`twin.scenario.specs.CameraSpec` validates them).
CAMERA_FORM_FIELDS: tuple[CameraField, ...] = (
    CameraField(key="heading_deg", label="Heading, °", lo=0.0, hi=359.9, step=5.0, fmt="%.1f",
                help="Compass bearing the camera looks along (0 north, 90 east)."),
    CameraField(key="tilt_deg", label="Tilt down, °", lo=-10.0, hi=89.0, step=1.0, fmt="%.0f",
                help="Downward tilt of the optical axis."),
    CameraField(key="hfov_deg", label="Field of view, °", lo=5.0, hi=120.0, step=1.0, fmt="%.0f",
                help="Horizontal field of view: narrower sees faces larger but fewer."),
    CameraField(key="mount_height_m", label="Height, m", lo=0.5, hi=30.0, step=0.1, fmt="%.1f",
                help="Lens height above the ground (a van mast is about 3 m)."),
)  # fmt: skip


def camera_form_values(cam: Mapping[str, Any]) -> dict[str, float]:
    """The camera form's starting values: the camera's own, or the scenario defaults it leaves out
    (:class:`twin.scenario.specs.CameraSpec`); the heading in [0, 360).

    >>> camera_form_values({"id": "c", "lat": 51.5, "lon": -0.1, "heading_deg": -90})
    {'heading_deg': 270.0, 'tilt_deg': 15.0, 'hfov_deg': 30.0, 'mount_height_m': 3.0}
    """
    defaults = CameraSpec.model_fields
    out = {}
    for f in CAMERA_FORM_FIELDS:
        value = cam.get(f.key)
        out[f.key] = float(defaults[f.key].default if value is None else value)
    out["heading_deg"] = round(out["heading_deg"] % 360.0, 1)
    return out


def next_camera_id(existing: Sequence[str], prefix: str = "cam") -> str:
    """The first ``prefix_N`` not in ``existing``.

    >>> next_camera_id(["cam_1", "cam_3"])
    'cam_2'
    """
    taken = set(existing)
    n = 1
    while f"{prefix}_{n}" in taken:
        n += 1
    return f"{prefix}_{n}"


def nearest_route(site: Any, x: float, y: float) -> tuple[Any, float]:
    """The site's route passing closest to BNG (x, y), and its distance, m."""
    from shapely import Point

    p = Point(x, y)
    route = min(site.routes, key=lambda r: r.line.distance(p))
    return route, float(route.line.distance(p))


def suggest_heading(site: Any, x: float, y: float) -> float:
    """Compass heading (degrees) for a camera at BNG (x, y): facing walkers on the nearest route.

    The camera looks at the point of the nearest route a little upstream of it (2.5 times its
    distance from the route, 5–30 m), so walkers approach it nearly face-on (|yaw| about 22° from
    the side, 0° on the route): a frontal face is what passes the capture gate.
    """
    from shapely import Point

    route, lateral = nearest_route(site, x, y)
    s = route.line.project(Point(x, y))
    ahead = min(max(2.5 * lateral, 5.0), 30.0)
    target = route.line.interpolate(max(s - ahead, 0.0))
    dx, dy = target.x - x, target.y - y
    if math.hypot(dx, dy) < 0.5:  # at the route's entry, nothing upstream: look against the walking direction
        nxt = route.line.interpolate(min(s + 1.0, route.line.length))
        dx, dy = x - nxt.x, y - nxt.y
    return round(math.degrees(math.atan2(dx, dy)) % 360.0, 1)


def camera_at(
    site: Any,
    lat: float,
    lon: float,
    *,
    existing_ids: Sequence[str] = (),
    camera_id: str | None = None,
    heading_deg: float | None = None,
    **lens: Any,
) -> dict[str, Any]:
    """A camera entry for a click at (lat, lon) on the site.

    Args:
        site: the plan's :class:`twin.world.site.Site`.
        lat, lon: WGS84 position of the click.
        existing_ids: ids already used (the new id avoids them).
        camera_id: the id to use (default :func:`next_camera_id`).
        heading_deg: heading; default :func:`suggest_heading`.
        **lens: other :class:`twin.scenario.specs.CameraSpec` fields (tilt_deg, hfov_deg, mount_height_m,
        ...).

    Returns:
        a camera mapping for the scenario's ``cameras`` list.

    Raises:
        GeofenceError: the point is outside London.
        CameraGeometryError: the point is more than 5 m outside the site's geofence, or a field is invalid.
    """
    from shapely import Point

    check_in_london(float(lat), float(lon), "camera position")
    x, y = lonlat_to_bng(lon, lat)
    gap = site.geofence.distance(Point(float(x), float(y)))
    if gap > CAMERA_OUTSIDE_TOLERANCE_M:
        raise CameraGeometryError(
            f"that point is {gap:.0f} m outside the {site.name} geofence (the dashed blue line); "
            f"click inside it, or within {CAMERA_OUTSIDE_TOLERANCE_M:.0f} m of it"
        )
    cam = {
        "id": camera_id or next_camera_id(existing_ids),
        "lat": round(float(lat), 7),
        "lon": round(float(lon), 7),
        "heading_deg": float(heading_deg)
        if heading_deg is not None
        else suggest_heading(site, float(x), float(y)),
    }
    cam.update(lens)
    _check_camera(cam)
    return cam


def placement_note(site: Any, cam: Mapping[str, Any], *, min_ied_px: float = 30.0) -> str:
    """A sentence on where a camera stands relative to the walkers, with a hint if it cannot reach them.

    Compares the distance to the nearest route with the ground distance within which faces reach
    ``min_ied_px`` (pinhole model, :func:`twin.world.camera.ground_distance_for_px_per_m`).
    """
    spec = CameraSpec.model_validate(dict(cam))
    camera = Camera.from_spec(spec)
    route, gap = nearest_route(site, camera.x, camera.y)
    reach = ground_distance_for_px_per_m(camera, min_ied_px / IED_M)
    where = route.street or route.id
    note = f"facing {spec.heading_deg:.0f}°, {gap:.0f} m from the nearest walking route ({where})"
    if gap > reach:
        note += (
            f". Faces reach {min_ied_px:g} px between the eyes only within {reach:.0f} m of this lens, "
            "so it will "
            "capture few faces or none: move it nearer the walkers, or narrow its field of view"
        )
    return note


def _check_camera(cam: Mapping[str, Any]) -> None:
    from pydantic import ValidationError

    try:
        CameraSpec.model_validate(dict(cam))
    except ValidationError as exc:
        err = exc.errors()[0]
        raise CameraGeometryError(
            f"camera {cam.get('id')}: {'.'.join(map(str, err['loc']))}: "
            f"{err['msg'].removeprefix('Value error, ')}"
        ) from exc


def _index(doc: Mapping[str, Any], cam_id: str) -> int:
    ids = camera_ids(doc)
    if cam_id not in ids:
        raise ScenarioError(f"no camera {cam_id!r} in the plan; cameras are {ids}")
    return ids.index(cam_id)


def add_camera(doc: Mapping[str, Any], cam: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``doc`` with ``cam`` appended.

    Raises:
        ScenarioError: the id is taken.
    """
    if cam.get("id") in camera_ids(doc):
        raise ScenarioError(f"camera id {cam.get('id')!r} is taken; choose another")
    out = copy.deepcopy(dict(doc))
    out["cameras"] = [*out.get("cameras", []), dict(cam)]
    return out


def move_camera(doc: Mapping[str, Any], cam_id: str, lat: float, lon: float, site: Any) -> dict[str, Any]:
    """A copy of ``doc`` with camera ``cam_id`` moved to (lat, lon), its pose kept.

    Raises:
        ScenarioError: no such camera; CameraGeometryError / GeofenceError as :func:`camera_at`.
    """
    i = _index(doc, cam_id)
    out = copy.deepcopy(dict(doc))
    old = out["cameras"][i]
    moved = camera_at(site, lat, lon, camera_id=cam_id, heading_deg=float(old.get("heading_deg", 0.0)))
    out["cameras"][i] = {**old, "lat": moved["lat"], "lon": moved["lon"]}
    return out


def update_camera(doc: Mapping[str, Any], cam_id: str, **fields: Any) -> dict[str, Any]:
    """A copy of ``doc`` with fields of camera ``cam_id`` changed (heading_deg, tilt_deg, hfov_deg, ...).

    Raises:
        ScenarioError: no such camera; CameraGeometryError: an invalid value (named).
    """
    i = _index(doc, cam_id)
    out = copy.deepcopy(dict(doc))
    cam = {**out["cameras"][i], **{k: v for k, v in fields.items() if v is not None}}
    if "id" in fields and fields["id"] != cam_id and fields["id"] in camera_ids(doc):
        raise ScenarioError(f"camera id {fields['id']!r} is taken; choose another")
    _check_camera(cam)
    out["cameras"][i] = cam
    return out


def delete_camera(doc: Mapping[str, Any], cam_id: str) -> dict[str, Any]:
    """A copy of ``doc`` without camera ``cam_id``.

    Raises:
        ScenarioError: no such camera, or it is the last one (a plan needs a camera).
    """
    i = _index(doc, cam_id)
    if len(camera_ids(doc)) == 1:
        raise ScenarioError(f"camera {cam_id} is the plan's only camera; add another before deleting it")
    out = copy.deepcopy(dict(doc))
    del out["cameras"][i]
    return out
