"""Pinhole camera geometry: what a camera sees of a face at a point on the ground.

Frame: British National Grid metres (x east, y north, z up). A camera stands at (x, y) with its
lens ``mount_height_m`` above the ground, its optical axis at compass bearing ``heading_deg``
(clockwise from north) and tilted ``tilt_deg`` below the horizon. Faces are at
:data:`FACE_HEIGHT_M` above the ground.

For a face at slant distance d from the lens (DESIGN.md, Camera):

    px_per_m = width_px / (2 d tan(hfov / 2))
    ied_px   = 0.063 m * px_per_m                     (adult mean inter-eye distance ~63 mm)
    yaw      = angle between the walking direction and the line from face to camera
    pitch    = atan((mount_height - 1.6 m) / ground distance)

A face is in view when it projects inside the image (vertical FOV from the aspect ratio).
DORI levels from IEC 62676-4:2015: detect 25, observe 62.5, recognise 125, identify 250 px/m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from shapely import Polygon

from twin.errors import CameraGeometryError
from twin.world.geo import check_in_london, lonlat_to_bng

__all__ = [
    "DORI_PX_PER_M",
    "FACE_HEIGHT_M",
    "IED_M",
    "Camera",
    "FaceGeometry",
    "compute_face_geometry",
    "dori_level",
    "fov_wedge",
    "ground_distance_for_px_per_m",
    "visible_ground_range",
]

#: Height of a face above the ground, m (DESIGN.md: adult face ~1.6 m).
FACE_HEIGHT_M = 1.6
#: Adult mean inter-eye (inter-pupillary) distance, m (anthropometry, ~63 mm).
IED_M = 0.063
#: DORI pixel densities, px/m (IEC 62676-4:2015), lowest first.
DORI_PX_PER_M: dict[str, float] = {"detect": 25.0, "observe": 62.5, "recognise": 125.0, "identify": 250.0}


@dataclass(frozen=True, kw_only=True)
class Camera:
    """A camera's pose and lens, position in BNG metres.

    Attributes:
        id: unique id.
        x, y: lens position, BNG metres.
        mount_height_m: lens height above the ground, m.
        heading_deg: compass bearing of the optical axis, degrees clockwise from north.
        tilt_deg: downward tilt of the optical axis, degrees.
        hfov_deg: horizontal field of view, degrees (0, 180).
        width_px, height_px: processed image size, pixels.
        fps: frames processed per second.
        exposure_s: shutter time, s.

    Raises:
        CameraGeometryError: FOV outside (0, 180), non-positive size or fps.
    """

    id: str
    x: float
    y: float
    mount_height_m: float = 3.0
    heading_deg: float = 0.0
    tilt_deg: float = 15.0
    hfov_deg: float = 30.0
    width_px: int = 1920
    height_px: int = 1080
    fps: float = 10.0
    exposure_s: float = 1 / 250

    def __post_init__(self) -> None:
        if not (0 < self.hfov_deg < 180):
            raise CameraGeometryError(f"camera {self.id}: hfov_deg {self.hfov_deg} must be in (0, 180)")
        if self.width_px <= 0 or self.height_px <= 0 or not self.fps > 0:
            raise CameraGeometryError(f"camera {self.id}: image size and fps must be positive")

    @classmethod
    def from_spec(cls, spec: Any) -> Camera:
        """Build from a :class:`twin.scenario.specs.CameraSpec` (lat/lon projected to BNG).

        Raises:
            GeofenceError: lat/lon outside London or swapped.
        """
        check_in_london(spec.lat, spec.lon, f"camera {spec.id}")
        x, y = lonlat_to_bng(spec.lon, spec.lat)
        return cls(
            id=spec.id,
            x=float(x),
            y=float(y),
            mount_height_m=spec.mount_height_m,
            heading_deg=spec.heading_deg,
            tilt_deg=spec.tilt_deg,
            hfov_deg=spec.hfov_deg,
            width_px=spec.width_px,
            height_px=spec.height_px,
            fps=spec.fps,
            exposure_s=spec.exposure_s,
        )

    @property
    def tan_half_hfov(self) -> float:
        """tan(hfov / 2)."""
        return math.tan(math.radians(self.hfov_deg) / 2)

    @property
    def tan_half_vfov(self) -> float:
        """tan(vfov / 2), square pixels: tan(hfov / 2) * height / width."""
        return self.tan_half_hfov * self.height_px / self.width_px

    @property
    def vfov_deg(self) -> float:
        """Vertical field of view, degrees."""
        return math.degrees(2 * math.atan(self.tan_half_vfov))

    @property
    def focal_px(self) -> float:
        """Focal length in pixels, width / (2 tan(hfov / 2))."""
        return self.width_px / (2 * self.tan_half_hfov)

    def axes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Unit (forward, right, up) vectors of the camera frame in (east, north, up)."""
        th, ti = math.radians(self.heading_deg), math.radians(self.tilt_deg)
        fh = np.array([math.sin(th), math.cos(th), 0.0])
        forward = math.cos(ti) * fh + np.array([0.0, 0.0, -math.sin(ti)])
        right = np.array([math.cos(th), -math.sin(th), 0.0])
        up = math.sin(ti) * fh + np.array([0.0, 0.0, math.cos(ti)])
        return forward, right, up


@dataclass(frozen=True, kw_only=True)
class FaceGeometry:
    """What a camera sees of faces at given points; arrays of one shape.

    Attributes:
        in_view: bool, the face projects inside the image (and is in front of the lens).
        distance_m: slant distance lens to face, m.
        ground_m: horizontal distance, m.
        px_per_m: pixel density at the face, px/m.
        ied_px: inter-eye distance in the image, px (0.063 m * px_per_m).
        yaw_deg: signed angle from the walking direction to the line face -> camera, degrees
            (0: walking straight at the camera).
        pitch_deg: angle of the line of sight above the face's horizontal, degrees (camera above: > 0).
        blur_px_per_m_s: motion-blur length per m/s of walking speed, px (times speed gives blur_px).
        u_px, v_px: image coordinates of the face centre, px (origin top-left).
    """

    in_view: np.ndarray
    distance_m: np.ndarray
    ground_m: np.ndarray
    px_per_m: np.ndarray
    ied_px: np.ndarray
    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    blur_px_per_m_s: np.ndarray
    u_px: np.ndarray
    v_px: np.ndarray


def compute_face_geometry(camera: Camera, fx: Any, fy: Any, walk_dx: Any, walk_dy: Any) -> FaceGeometry:
    """Capture geometry for faces at ground points (fx, fy) walking along (walk_dx, walk_dy).

    Args:
        camera: the camera.
        fx, fy: face ground positions, BNG metres; arrays of one shape.
        walk_dx, walk_dy: walking direction (need not be unit), same shape.

    Returns:
        :class:`FaceGeometry` with arrays of that shape (float64, bool for in_view).

    Example (by hand): lens 3.5 m up, face 6 m ahead at 1.6 m: d = sqrt(36 + 1.9**2) = 6.294 m;
    px_per_m = 1920 / (2 * 6.294 * tan 15°) = 569.3; ied_px = 35.86; pitch = atan(1.9 / 6) = 17.57°.

    >>> cam = Camera(id="c", x=0.0, y=0.0, mount_height_m=3.5, heading_deg=0.0)
    >>> g = compute_face_geometry(cam, 0.0, 6.0, 0.0, -1.0)
    >>> bool(g.in_view), round(float(g.px_per_m), 1), round(float(g.ied_px), 2), round(float(g.pitch_deg), 2)
    (True, 569.3, 35.86, 17.57)
    >>> abs(float(g.yaw_deg))
    0.0
    """
    fx, fy = np.broadcast_arrays(np.asarray(fx, dtype=float), np.asarray(fy, dtype=float))
    wdx, wdy = np.broadcast_arrays(np.asarray(walk_dx, dtype=float), np.asarray(walk_dy, dtype=float))
    dz = FACE_HEIGHT_M - camera.mount_height_m
    vx, vy = fx - camera.x, fy - camera.y
    ground = np.hypot(vx, vy)
    dist = np.sqrt(ground**2 + dz**2)
    fwd, right, up = camera.axes()
    depth = vx * fwd[0] + vy * fwd[1] + dz * fwd[2]
    rgt = vx * right[0] + vy * right[1]
    upc = vx * up[0] + vy * up[1] + dz * up[2]
    safe = np.where(depth > 1e-9, depth, np.nan)
    xn, yn = rgt / safe, upc / safe
    with np.errstate(invalid="ignore"):
        in_view = (depth > 1e-9) & (np.abs(xn) <= camera.tan_half_hfov) & (np.abs(yn) <= camera.tan_half_vfov)
    px_per_m = camera.width_px / (2 * np.maximum(dist, 1e-9) * camera.tan_half_hfov)
    # yaw: angle from walking direction to the face -> camera line (horizontal)
    cx, cy = -vx, -vy
    yaw = np.degrees(np.arctan2(wdx * cy - wdy * cx, wdx * cx + wdy * cy))
    pitch = np.degrees(np.arctan2(-dz, ground))
    # motion blur: the walking velocity's component across the line of sight, imaged
    wn = np.hypot(wdx, wdy)
    wn = np.where(wn > 0, wn, 1.0)
    ux, uy = -vx / np.maximum(dist, 1e-9), -vy / np.maximum(dist, 1e-9)
    along = (wdx * ux + wdy * uy) / wn
    v_perp = np.sqrt(np.clip(1.0 - along**2, 0.0, 1.0))
    blur = px_per_m * v_perp * camera.exposure_s
    u_px = camera.width_px / 2 + xn * camera.focal_px
    v_px = camera.height_px / 2 - yn * camera.focal_px
    return FaceGeometry(
        in_view=in_view,
        distance_m=dist,
        ground_m=ground,
        px_per_m=px_per_m,
        ied_px=IED_M * px_per_m,
        yaw_deg=yaw,
        pitch_deg=pitch,
        blur_px_per_m_s=blur,
        u_px=u_px,
        v_px=v_px,
    )


def dori_level(px_per_m: Any) -> np.ndarray:
    """DORI level name for each pixel density ("identify", ..., "detect", "none").

    >>> dori_level([300, 130, 70, 30, 10]).tolist()
    ['identify', 'recognise', 'observe', 'detect', 'none']
    """
    p = np.asarray(px_per_m, dtype=float)
    out = np.full(p.shape, "none", dtype=object)
    for name, level in DORI_PX_PER_M.items():
        out = np.where(p >= level, name, out)
    return out


def ground_distance_for_px_per_m(camera: Camera, px_per_m: float) -> float:
    """Ground distance (m) at which a face reaches ``px_per_m``; 0 if even the nearest face is coarser.

    >>> round(ground_distance_for_px_per_m(Camera(id="c", x=0, y=0, mount_height_m=3.5), 569.3), 2)
    6.0
    """
    d = camera.width_px / (2 * px_per_m * camera.tan_half_hfov)
    dz = camera.mount_height_m - FACE_HEIGHT_M
    return math.sqrt(max(d * d - dz * dz, 0.0))


def visible_ground_range(camera: Camera) -> tuple[float, float]:
    """Nearest and farthest ground distance (m) at which a face on the optical axis's bearing is in view
    (the vertical field of view's band, capped at 200 m).

    >>> [round(d, 1) for d in visible_ground_range(Camera(id="c", x=0, y=0))]
    [3.2, 12.4]
    """
    dz = camera.mount_height_m - FACE_HEIGHT_M
    half_v = math.atan(camera.tan_half_vfov)
    lo_ang = math.radians(camera.tilt_deg) + half_v  # steepest ray
    hi_ang = math.radians(camera.tilt_deg) - half_v  # shallowest ray
    if dz <= 0:
        return 0.0, 200.0
    near = dz / math.tan(lo_ang) if lo_ang < math.pi / 2 else 0.0
    far = dz / math.tan(hi_ang) if hi_ang > 1e-6 else 200.0
    return max(near, 0.0), min(far, 200.0)


def fov_wedge(
    camera: Camera,
    near_m: float | None = None,
    far_m: float | None = None,
    steps: int = 24,
    *,
    unclipped: bool = False,
    far_cap_m: float = 200.0,
) -> Polygon:
    """Ground polygon (BNG metres) where faces are in view between two ground distances.

    Args:
        camera: the camera.
        near_m, far_m: ground distance band, m; default the vertical FOV's band (capped at 200 m).
        steps: arc resolution.
        unclipped: the horizontal field of view only, not cut to the vertical one (where the camera
            points, whether or not faces there are inside the image); ``far_m`` None is ``far_cap_m``.
        far_cap_m: the farthest distance drawn when unclipped, m.

    Returns:
        a shapely Polygon (an annular sector about the heading, +/- hfov/2); empty if near >= far.
    """
    vis_near, vis_far = (0.0, far_cap_m) if unclipped else visible_ground_range(camera)
    near = vis_near if near_m is None else max(near_m, vis_near)
    far = vis_far if far_m is None else min(far_m, vis_far)
    if far <= near:
        return Polygon()
    half = camera.hfov_deg / 2
    angs = np.radians(camera.heading_deg + np.linspace(-half, half, steps))
    outer = [(camera.x + far * math.sin(a), camera.y + far * math.cos(a)) for a in angs]
    inner = [(camera.x + near * math.sin(a), camera.y + near * math.cos(a)) for a in angs[::-1]]
    return Polygon(outer + inner)
