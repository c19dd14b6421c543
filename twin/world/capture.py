"""Per-frame capture geometry along routes, reduced per person and camera (a track).

Geometry is computed once per route x camera on a grid of stations along the route (every
:data:`STATION_M` metres) and lanes across the footway (:data:`LANES`): a :class:`ViewTable`.
A walker's frames are then positions on that grid, so the per-frame work for every passer-by is
a numpy gather followed by a per-track reduction that keeps only the best usable capture and the
counts, never the frames.

Occlusion (assumption, a simple geometric model): the sight line from the lens to a face at
depression angle p passes through the head zone of people in front for a horizontal length
``OCCLUDER_HEAD_M / tan(p)`` (capped at the ground distance); with pedestrian density rho (p/m²)
and body width :data:`BODY_WIDTH_M`, the expected number of occluders is
``rho * BODY_WIDTH_M * length`` and a frame is occluded with probability ``1 - exp(-that)``.
Occlusion is drawn per :data:`OCCLUSION_BLOCK_S` block of frames, since people in front stay in
front for a while.
"""

from __future__ import annotations

import itertools
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
    "ViewTable",
    "WalkerBatch",
    "build_view_tables",
    "new_tracks",
    "reduce_tracks",
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
#: Frames per reduction chunk (bounds peak memory to a few hundred MB).
_CHUNK_FRAMES = 3_000_000


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
    tables: list[ViewTable] = []
    for ri, route in enumerate(site.routes):
        lanes = _Lanes.along(route)
        for ci, cam in enumerate(cameras):
            table = _view_table(lanes, ri, ci, cam, gate, max_head_yaw_deg)
            if table is not None:
                tables.append(table)
    return tables


@dataclass(frozen=True, kw_only=True)
class _Lanes:
    """Stations every STATION_M along a route, across LANES lanes: positions and walking directions."""

    s: np.ndarray  # arc length of each station, m
    px: np.ndarray  # (lanes, stations) BNG x, m
    py: np.ndarray
    tx: np.ndarray  # unit walking direction, broadcast to px's shape
    ty: np.ndarray

    @classmethod
    def along(cls, route: Route) -> _Lanes:
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
    lanes: _Lanes, ri: int, ci: int, cam: Camera, gate: CaptureGate, max_head_yaw_deg: float
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


def _frame_numbers(n: np.ndarray, k0: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Walker index (from ``first`` on) and camera frame number of every frame, for ``n[i]`` consecutive
    frames from frame ``k0[i]`` per walker: a ragged expansion.

    >>> w, k = _frame_numbers(np.array([2, 0, 3]), np.array([10, 99, 20]), 5)
    >>> w.tolist(), k.tolist()
    ([5, 5, 7, 7, 7], [10, 11, 20, 21, 22])
    """
    starts = np.cumsum(n) - n
    return np.repeat(np.arange(first, first + len(n)), n), np.arange(int(n.sum())) + np.repeat(k0 - starts, n)


def reduce_tracks(
    table: ViewTable,
    camera: Camera,
    walkers: WalkerBatch,
    gate: CaptureGate,
    score_model: CaptureRanking,
    *,
    phase_s: float,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Frame-by-frame capture of each walker by one camera, reduced to one row per walker.

    Frames fall at the camera's clock ``k / fps + phase_s``. Per frame: geometry from the table
    at the walker's station and lane, head turn and tilt added to yaw and pitch, occlusion drawn,
    then the gate. The best usable capture is the frame with the highest mated mean score
    (``score_model.mated_mean``), i.e. the one a real system's quality ranking would search.

    Args:
        table: the route x camera geometry.
        camera: the camera (fps, exposure).
        walkers: who passes (length P).
        gate: capture quality gate.
        score_model: ranks usable captures (a :class:`CaptureRanking`, e.g. the ScoreModel).
        phase_s: the camera's frame-clock phase in [0, 1/fps), s.
        rng: draws occlusion.

    Returns:
        dict of arrays of length P keyed by :data:`TRACK_FIELDS`; ``t_best_s`` and the
        best-capture fields are NaN where ``usable_captures`` is 0.
    """
    P = len(walkers.person)
    out = new_tracks(P, camera=table.camera)
    out["person"][:] = walkers.person
    out["speed_m_s"][:] = walkers.speed_m_s
    if P == 0:
        return out
    fps = camera.fps
    lane = walkers.lane.astype(np.int64)
    first, last = table.first[lane], table.last[lane]
    seen = first >= 0
    v = walkers.speed_m_s.astype(np.float64)
    t_in = walkers.t0_s + (table.s0 + first * STATION_M) / v
    t_out = walkers.t0_s + (table.s0 + last * STATION_M) / v
    k0 = np.ceil((t_in - phase_s) * fps).astype(np.int64)
    k1 = np.floor((t_out - phase_s) * fps).astype(np.int64)
    n = np.where(seen, np.maximum(k1 - k0 + 1, 0), 0)
    frames_per_block = max(1, round(OCCLUSION_BLOCK_S * fps))
    occluder_m = _occluder_length(table)
    for a, b in itertools.pairwise(_chunk_bounds(n)):
        nn = n[a:b]
        if nn.sum() == 0:
            continue
        w, k = _frame_numbers(nn, k0[a:b], a)
        f = _frames(
            table,
            walkers,
            gate,
            score_model,
            w=w,
            k=k,
            v=v,
            lane=lane,
            fps=fps,
            phase_s=phase_s,
            frames_per_block=frames_per_block,
            occluder_m=occluder_m,
            rng=rng,
        )
        _keep_best(out, table, f, nn, a)
    return out


def _chunk_bounds(n: np.ndarray) -> list[int]:
    """Walker indices splitting the walkers into chunks of at most :data:`_CHUNK_FRAMES` frames."""
    P = len(n)
    csum = np.cumsum(n)
    bounds = [0]
    while bounds[-1] < P:
        base = csum[bounds[-1] - 1] if bounds[-1] > 0 else 0
        nxt = int(np.searchsorted(csum, base + _CHUNK_FRAMES, side="right"))
        bounds.append(max(nxt, bounds[-1] + 1))
    bounds[-1] = P
    return bounds


def _frames(
    table: ViewTable,
    walkers: WalkerBatch,
    gate: CaptureGate,
    score_model: CaptureRanking,
    *,
    w: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    lane: np.ndarray,
    fps: float,
    phase_s: float,
    frames_per_block: int,
    occluder_m: np.ndarray,
    rng: np.random.Generator,
) -> dict[str, np.ndarray]:
    """Per frame of a chunk (walker ``w``, frame number ``k``): geometry, head pose, occlusion, the gate,
    quality.

    ``occluder_m`` is the table's (LANES, S) float32 length of sight line through the heads in front
    (:func:`_occluder_length`). Table lookups gather once through a flat (lane, station) index;
    occlusion is tested, and blur and the quality ranking evaluated, only on the frames that can still
    be usable (the others rank -inf).
    """
    S = table.in_view.shape[1]
    t = k / fps + phase_s
    vw = v[w]
    sta = np.rint((vw * (t - walkers.t0_s[w]) - table.s0) / STATION_M).astype(np.int64)
    np.clip(sta, 0, S - 1, out=sta)
    ln = lane[w]
    flat = ln * S + sta

    def at(grid: np.ndarray) -> np.ndarray:
        return grid.ravel().take(flat)

    iv = at(table.in_view)
    ied = at(table.ied_px)
    yaw = at(table.yaw_deg) + walkers.head_yaw_deg.astype(np.float32, copy=False)[w]
    pitch = at(table.pitch_deg) + walkers.head_pitch_deg.astype(np.float32, copy=False)[w]
    zone = at(table.zone)
    seen_well = (
        iv
        & (ied >= gate.min_ied_px)
        & (np.abs(yaw) <= gate.max_abs_yaw_deg)
        & (np.abs(pitch) <= gate.max_abs_pitch_deg)
    )
    # occlusion, redrawn per block of frames of a track (one uniform per block, drawn for every block),
    # then tested on the frames that pass the rest of the gate
    blk = k // frames_per_block
    new_blk = np.ones(len(w), bool)
    new_blk[1:] = (blk[1:] != blk[:-1]) | (w[1:] != w[:-1])
    blk_id = np.cumsum(new_blk) - 1
    u_blk = rng.random(int(blk_id[-1]) + 1)
    cand = np.flatnonzero(seen_well)
    p_occ = -np.expm1(-walkers.density_p_m2[w[cand]] * BODY_WIDTH_M * occluder_m.ravel().take(flat[cand]))
    usable = seen_well
    usable[cand[u_blk[blk_id[cand]] < p_occ]] = False
    good = np.flatnonzero(usable)
    blur = table.blur_px_per_m_s.ravel().take(flat[good]) * vw[good].astype(np.float32)
    quality = np.full(len(w), -np.inf)
    quality[good] = score_model.mated_mean(ied[good], yaw[good], pitch[good], blur)
    return {
        "t": t,
        "flat": flat,
        "iv": iv,
        "ied": ied,
        "yaw": yaw,
        "pitch": pitch,
        "zone": zone,
        "usable": usable,
        "v": vw,
        "quality": quality,
    }


def _occluder_length(table: ViewTable) -> np.ndarray:
    """(LANES, S) float32 horizontal length, m, over which the sight line to a face at each station passes
    through the head zone of people in front (the module docstring's occlusion model)."""
    geo_pitch = np.radians(np.maximum(table.pitch_deg, 0.5))
    return np.minimum(OCCLUDER_HEAD_M / np.tan(geo_pitch), table.ground_m)


def _keep_best(
    out: dict[str, np.ndarray], table: ViewTable, f: dict[str, np.ndarray], nn: np.ndarray, a: int
) -> None:
    """Reduce a chunk's frames per walker (from walker ``a`` on): counts, and the best usable capture's
    fields."""
    nz = np.flatnonzero(nn)
    starts = (np.cumsum(nn) - nn)[nz]
    idx = nz + a
    quality = f["quality"]
    out["frames_in_view"][idx] = np.add.reduceat(f["iv"].astype(np.int32), starts)
    out["usable_captures"][idx] = np.add.reduceat(f["usable"].astype(np.int32), starts)
    out["in_zone"][idx] = np.logical_or.reduceat(f["zone"], starts)
    best_q = np.maximum.reduceat(quality, starts)
    pos = np.arange(len(quality))
    best_pos = np.minimum.reduceat(np.where(quality == np.repeat(best_q, nn[nz]), pos, len(quality)), starts)
    has = np.isfinite(best_q)
    bi, bp = idx[has], best_pos[has]
    cell = f["flat"][bp]
    out["t_best_s"][bi] = f["t"][bp]
    out["ied_px"][bi] = f["ied"][bp]
    out["px_per_m"][bi] = table.px_per_m.ravel()[cell]
    out["distance_m"][bi] = table.distance_m.ravel()[cell]
    out["yaw_deg"][bi] = f["yaw"][bp]
    out["pitch_deg"][bi] = f["pitch"][bp]
    out["blur_px"][bi] = table.blur_px_per_m_s.ravel()[cell] * f["v"][bp].astype(np.float32)
    out["mated_mean"][bi] = best_q[has]
    out["u_px"][bi] = table.u_px.ravel()[cell]
    out["v_px"][bi] = table.v_px.ravel()[cell]
    out["x_m"][bi] = table.x_m.ravel()[cell]
    out["y_m"][bi] = table.y_m.ravel()[cell]
