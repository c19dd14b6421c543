"""Per-frame capture geometry along routes, reduced per person and camera (a track).

Geometry is computed once per route x camera on a grid of stations along the route (every
:data:`STATION_M` metres) and lanes across the footway (:data:`LANES`): a :class:`ViewTable`.
A walker's frames are then positions on that grid, so the per-frame work for every passer-by is
a numpy gather followed by a per-track reduction that keeps only the best usable capture and the
counts, never the frames (:mod:`twin.world.frames`: ``reduce_tracks``).

Occlusion (assumption, a simple geometric model): the sight line from the lens to a face at
depression angle p passes through the head zone of people in front for a horizontal length
``OCCLUDER_HEAD_M / tan(p)`` (capped at the ground distance); with pedestrian density rho (p/m²)
and body width :data:`BODY_WIDTH_M`, the expected number of occluders is
``rho * BODY_WIDTH_M * length`` and a frame is occluded with probability ``1 - exp(-that)``.
Occlusion is drawn per :data:`OCCLUSION_BLOCK_S` block of frames, since people in front stay in
front for a while.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import shapely

from twin.scenario.specs import CaptureGate
from twin.world.camera import Camera, compute_face_geometry
from twin.world.site import Route, Site

__all__ = [
    "BODY_WIDTH_M",
    "LANES",
    "OCCLUDER_HEAD_M",
    "OCCLUSION_BLOCK_S",
    "STATION_M",
    "TRACK_FIELDS",
    "CaptureRanking",
    "RouteStations",
    "ViewTable",
    "WalkerBatch",
    "build_view_tables",
    "camera_view_tables",
    "merge_view_tables",
    "new_tracks",
    "reindex_view_tables",
    "route_stations",
]

#: Station spacing along a route, m (frames at 10 fps and 1.34 m/s are 0.134 m apart).
STATION_M = 0.05
#: Lanes across a footway; walkers keep one lane (assumption).
LANES = 5
#: Shoulder width of a pedestrian, m (Fruin 1971 body ellipse 0.46 x 0.61 m: ~0.5 m).
BODY_WIDTH_M = 0.5
#: Height band above face height in which another head blocks the line of sight, m (assumption).
OCCLUDER_HEAD_M = 0.2
#: Occlusion is redrawn every this many seconds of a track (assumption).
OCCLUSION_BLOCK_S = 0.5


class CaptureRanking(Protocol):
    """What ranks a walker's usable captures: the expected (mated) match score of a capture's quality.

    The statistical engine's :class:`~twin.scoring.score_model.ScoreModel` is one; geometry needs
    only this method, not the scoring layer.
    """

    def mated_mean(
        self, ied_px: np.ndarray, yaw_deg: np.ndarray, pitch_deg: np.ndarray, blur_px: np.ndarray
    ) -> np.ndarray:
        """Mean mated score of captures of this quality (same shape as the inputs)."""
        ...


@dataclass(frozen=True, kw_only=True)
class ViewTable:
    """Capture geometry of one camera along one route, cropped to the stations in view.

    Arrays are (LANES, S) float32 unless noted; station j lies at ``s0 + j * STATION_M`` metres
    along the route.

    Attributes:
        route, camera: indices into the site's routes and the run's cameras.
        s0: arc length of station 0, m.
        in_view: bool, the face projects inside the image.
        zone: bool, in the recognition zone: in view and a frontal face there would pass the
            gate's ied_px, |yaw| and |pitch| limits (walking direction, no head turn).
        ied_px, px_per_m, distance_m, ground_m, yaw_deg, pitch_deg, blur_px_per_m_s, u_px, v_px:
            see :class:`twin.world.camera.FaceGeometry`.
        x_m, y_m: (LANES, S) float64 face ground position, BNG metres.
        first, last: (LANES,) int32 first / last in-view station per lane (-1 if none).
        frontal: False when the camera sees only backs of heads along this route (no capture possible).
    """

    route: int
    camera: int
    s0: float
    in_view: np.ndarray
    zone: np.ndarray
    ied_px: np.ndarray
    px_per_m: np.ndarray
    distance_m: np.ndarray
    ground_m: np.ndarray
    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    blur_px_per_m_s: np.ndarray
    u_px: np.ndarray
    v_px: np.ndarray
    x_m: np.ndarray
    y_m: np.ndarray
    first: np.ndarray
    last: np.ndarray
    frontal: bool

    @property
    def s_in(self) -> float:
        """Arc length where the first lane enters view, m."""
        return self.s0 + float(self.first[self.first >= 0].min()) * STATION_M

    @property
    def s_out(self) -> float:
        """Arc length where the last lane leaves view, m."""
        return self.s0 + float(self.last.max()) * STATION_M


def lane_offsets(width_m: float, lanes: int = LANES) -> np.ndarray:
    """Lateral offsets (m, left of the walking direction positive) of lane centres across a footway.

    >>> lane_offsets(5.0).tolist()
    [-2.0, -1.0, 0.0, 1.0, 2.0]
    """
    return (np.arange(lanes) + 0.5) * width_m / lanes - width_m / 2


def build_view_tables(
    site: Site, cameras: list[Camera], gate: CaptureGate, max_head_yaw_deg: float = 90.0
) -> list[ViewTable]:
    """Precompute a :class:`ViewTable` for every route x camera pair that sees some of the route.

    Args:
        site: the site (routes in BNG metres).
        cameras: the run's cameras.
        gate: the capture quality gate (defines the recognition zone).
        max_head_yaw_deg: largest head turn considered; pairs whose smallest |yaw| exceeds
            ``gate.max_abs_yaw_deg + max_head_yaw_deg`` are marked not frontal.

    Returns:
        list of tables, ordered by (route, camera).
    """
    stations = route_stations(site)
    per_camera = [
        camera_view_tables(stations, cam, ci, gate, max_head_yaw_deg=max_head_yaw_deg)
        for ci, cam in enumerate(cameras)
    ]
    return merge_view_tables(per_camera)


def route_stations(site: Site) -> list[RouteStations]:
    """The stations of every route of ``site`` (route order), from which view tables are cut."""
    return [RouteStations.along(route) for route in site.routes]


def camera_view_tables(
    stations: list[RouteStations],
    camera: Camera,
    ci: int,
    gate: CaptureGate,
    *,
    max_head_yaw_deg: float = 90.0,
) -> list[ViewTable]:
    """The view tables of one camera (index ``ci`` in the run) on every route it sees, in route order.

    A camera's tables depend only on the site, the camera and the gate, so a run whose other cameras
    change may keep them (:func:`reindex_view_tables` gives them the camera's new index).

    Args:
        stations: :func:`route_stations` of the site.
        camera, ci: the camera and its index among the run's cameras.
        gate, max_head_yaw_deg: as :func:`build_view_tables`.
    """
    out = []
    for ri, lanes in enumerate(stations):
        table = _view_table(lanes, ri, ci, camera, gate, max_head_yaw_deg)
        if table is not None:
            out.append(table)
    return out


def reindex_view_tables(tables: list[ViewTable], ci: int) -> list[ViewTable]:
    """The same tables for the camera at index ``ci`` (the arrays are shared, not copied)."""
    return [t if t.camera == ci else dataclasses.replace(t, camera=ci) for t in tables]


def merge_view_tables(per_camera: list[list[ViewTable]]) -> list[ViewTable]:
    """Every camera's tables (:func:`camera_view_tables`, camera order) as one list ordered by (route,
    camera), the order :func:`build_view_tables` gives and the crowd and capture stages rely on."""
    return sorted((t for tables in per_camera for t in tables), key=lambda t: (t.route, t.camera))


@dataclass(frozen=True, kw_only=True)
class RouteStations:
    """Stations every STATION_M along a route, across LANES lanes: positions and walking directions."""

    s: np.ndarray  # arc length of each station, m
    px: np.ndarray  # (lanes, stations) BNG x, m
    py: np.ndarray
    tx: np.ndarray  # unit walking direction, broadcast to px's shape
    ty: np.ndarray

    @classmethod
    def along(cls, route: Route) -> RouteStations:
        length = route.length_m
        s = np.arange(0.0, length + STATION_M / 2, STATION_M)
        pts = shapely.get_coordinates(shapely.line_interpolate_point(route.line, s))
        ahead = shapely.get_coordinates(
            shapely.line_interpolate_point(route.line, np.minimum(s + 0.25, length))
        )
        behind = shapely.get_coordinates(
            shapely.line_interpolate_point(route.line, np.maximum(s - 0.25, 0.0))
        )
        tang = ahead - behind
        tang /= np.maximum(np.hypot(tang[:, 0], tang[:, 1]), 1e-9)[:, None]
        normal = np.column_stack([-tang[:, 1], tang[:, 0]])
        offs = lane_offsets(route.width_m)
        px = pts[None, :, 0] + offs[:, None] * normal[None, :, 0]
        py = pts[None, :, 1] + offs[:, None] * normal[None, :, 1]
        tx = np.broadcast_to(tang[None, :, 0], px.shape)
        ty = np.broadcast_to(tang[None, :, 1], px.shape)
        return cls(s=s, px=px, py=py, tx=tx, ty=ty)


def _view_table(
    lanes: RouteStations, ri: int, ci: int, cam: Camera, gate: CaptureGate, max_head_yaw_deg: float
) -> ViewTable | None:
    """The stations of one route that one camera sees, or None when it sees none."""
    s, px, py = lanes.s, lanes.px, lanes.py
    g = compute_face_geometry(cam, px, py, lanes.tx, lanes.ty)
    cols = np.flatnonzero(g.in_view.any(axis=0))
    if cols.size == 0:
        return None
    a, b = int(cols[0]), int(cols[-1]) + 1
    iv = g.in_view[:, a:b]
    any_lane = iv.any(axis=1)
    first = np.where(any_lane, iv.argmax(axis=1), -1).astype(np.int32)
    last = np.where(any_lane, iv.shape[1] - 1 - iv[:, ::-1].argmax(axis=1), -1).astype(np.int32)
    yaw = g.yaw_deg[:, a:b]
    pitch = g.pitch_deg[:, a:b]
    ied = g.ied_px[:, a:b]
    zone = (
        iv
        & (ied >= gate.min_ied_px)
        & (np.abs(yaw) <= gate.max_abs_yaw_deg)
        & (np.abs(pitch) <= gate.max_abs_pitch_deg)
    )
    frontal = bool(np.any(iv & (np.abs(yaw) <= gate.max_abs_yaw_deg + max_head_yaw_deg)))

    def f32(arr: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(arr[:, a:b], dtype=np.float32)

    return ViewTable(
        route=ri,
        camera=ci,
        s0=float(s[a]),
        in_view=np.ascontiguousarray(iv),
        zone=np.ascontiguousarray(zone),
        ied_px=f32(g.ied_px),
        px_per_m=f32(g.px_per_m),
        distance_m=f32(g.distance_m),
        ground_m=f32(g.ground_m),
        yaw_deg=f32(g.yaw_deg),
        pitch_deg=f32(g.pitch_deg),
        blur_px_per_m_s=f32(g.blur_px_per_m_s),
        u_px=f32(g.u_px),
        v_px=f32(g.v_px),
        x_m=np.ascontiguousarray(px[:, a:b]),
        y_m=np.ascontiguousarray(py[:, a:b]),
        first=first,
        last=last,
        frontal=frontal,
    )


@dataclass(frozen=True, kw_only=True)
class WalkerBatch:
    """The walkers of one route who pass one camera, as arrays of length P.

    Attributes:
        person: int64 person index (into the run's people table).
        t0_s: time the walker is at arc length 0 of the route, s from the window start.
        speed_m_s: walking speed, m/s (> 0).
        lane: int lane index in [0, LANES).
        head_yaw_deg, head_pitch_deg: the walker's head turn and tilt (down positive), degrees.
        density_p_m2: pedestrian density around the camera's view when the walker entered it, p/m².
    """

    person: np.ndarray
    t0_s: np.ndarray
    speed_m_s: np.ndarray
    lane: np.ndarray
    head_yaw_deg: np.ndarray
    head_pitch_deg: np.ndarray
    density_p_m2: np.ndarray


#: Column names of a reduced track table (one row per person x camera), held once here.
TRACK_FIELDS: tuple[str, ...] = (
    "person", "camera", "frames_in_view", "usable_captures", "in_zone", "t_best_s", "ied_px",
    "px_per_m", "distance_m", "yaw_deg", "pitch_deg", "blur_px", "mated_mean", "u_px", "v_px", "x_m", "y_m",
    "speed_m_s",
)  # fmt: skip


def new_tracks(n: int, *, camera: int = 0) -> dict[str, np.ndarray]:
    """A track table of ``n`` rows keyed by :data:`TRACK_FIELDS`: counts zero, best-capture fields NaN.

    >>> t = new_tracks(0)
    >>> sorted(t) == sorted(TRACK_FIELDS), t["person"].dtype.name, t["t_best_s"].dtype.name
    (True, 'int64', 'float64')
    """
    out: dict[str, np.ndarray] = {
        "person": np.zeros(n, np.int64),
        "camera": np.full(n, camera, dtype=np.int16),
        "frames_in_view": np.zeros(n, np.int32),
        "usable_captures": np.zeros(n, np.int32),
        "in_zone": np.zeros(n, bool),
        "speed_m_s": np.zeros(n, np.float32),
    }
    for name in (
        "t_best_s",
        "ied_px",
        "px_per_m",
        "distance_m",
        "yaw_deg",
        "pitch_deg",
        "blur_px",
        "mated_mean",
        "u_px",
        "v_px",
        "x_m",
        "y_m",
    ):
        out[name] = np.full(n, np.nan, dtype=np.float64 if name in ("t_best_s", "x_m", "y_m") else np.float32)
    return out
