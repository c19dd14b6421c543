"""A walker batch's frames in front of one camera, reduced to one track row per walker.

:func:`reduce_tracks` gathers each frame's geometry from a :class:`~twin.world.capture.ViewTable`,
adds head pose, applies the capture gate and the occlusion model of :mod:`twin.world.capture`, and
keeps per walker the counts and the best usable capture. It is :func:`track_frames` (everything but
the occlusion draws: the same on every call for the same table, walkers and frame phase) followed
by :func:`draw_tracks` (the draws and the reduction), so a camera edit can keep the first for every
camera it leaves alone (:mod:`twin.sim.recapture`).
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass

import numpy as np

from twin.scenario.specs import CaptureGate
from twin.world.camera import Camera
from twin.world.capture import (
    BODY_WIDTH_M,
    OCCLUDER_HEAD_M,
    OCCLUSION_BLOCK_S,
    STATION_M,
    CaptureRanking,
    ViewTable,
    WalkerBatch,
    new_tracks,
)

__all__ = ["TrackFrames", "draw_tracks", "reduce_tracks", "track_frames"]

#: Frames per reduction chunk (bounds peak memory to a few hundred MB).
_CHUNK_FRAMES = 3_000_000


def _frame_numbers(n: np.ndarray, k0: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Walker index (from ``first`` on) and camera frame number of every frame, for ``n[i]`` consecutive
    frames from frame ``k0[i]`` per walker: a ragged expansion.

    >>> w, k = _frame_numbers(np.array([2, 0, 3]), np.array([10, 99, 20]), 5)
    >>> w.tolist(), k.tolist()
    ([5, 5, 7, 7, 7], [10, 11, 20, 21, 22])
    """
    starts = np.cumsum(n) - n
    return np.repeat(np.arange(first, first + len(n)), n), np.arange(int(n.sum())) + np.repeat(k0 - starts, n)


def _occluder_length(table: ViewTable) -> np.ndarray:
    """(LANES, S) float32 horizontal length, m, over which the sight line to a face at each station passes
    through the head zone of people in front (:mod:`twin.world.capture`'s occlusion model)."""
    geo_pitch = np.radians(np.maximum(table.pitch_deg, 0.5))
    return np.minimum(OCCLUDER_HEAD_M / np.tan(geo_pitch), table.ground_m)


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

    The same as ``draw_tracks(track_frames(...), rng)``: what does not depend on the occlusion draws
    (:func:`track_frames`) can be kept and only the draws made again (:func:`draw_tracks`).

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
    return draw_tracks(track_frames(table, camera, walkers, gate, score_model, phase_s=phase_s), rng)


@dataclass(frozen=True)
class _ChunkFrames:
    """The frames of one chunk of walkers that pass the gate's geometric limits (candidates), in frame
    order.

    Attributes:
        n_draws: occlusion draws the chunk takes (one per block of frames of a track).
        walker: (F,) int64 walker index of each candidate frame (non-decreasing).
        block: (F,) int64 index of its occlusion draw.
        p_occ: (F,) float64 probability it is occluded.
        quality: (F,) float64 mated mean score of the capture if it is not occluded.
        t_s: (F,) float64 the frame's time, s.
        ied_px, yaw_deg, pitch_deg, blur_px: (F,) float32 its quality inputs.
        flat: (F,) int64 index of its (lane, station) into the table's flattened arrays.
    """

    n_draws: int
    walker: np.ndarray
    block: np.ndarray
    p_occ: np.ndarray
    quality: np.ndarray
    t_s: np.ndarray
    ied_px: np.ndarray
    yaw_deg: np.ndarray
    pitch_deg: np.ndarray
    blur_px: np.ndarray
    flat: np.ndarray

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays."""
        return sum(int(getattr(self, f.name).nbytes) for f in dataclasses.fields(self) if f.name != "n_draws")


@dataclass(frozen=True)
class TrackFrames:
    """A walker batch's frames in front of one camera as far as they do not depend on the occlusion draws
    (:func:`track_frames`); :func:`draw_tracks` makes the draws and reduces them to one row per walker.

    The crowd and the camera fixed, these are the same on every call, so a camera edit that leaves
    this camera and the walkers it sees alone can keep them (:mod:`twin.sim.recapture`).

    Attributes:
        table: the route x camera geometry they were worked out on.
        base: the track rows without the draws (person, camera, speed, frames in view, in zone).
        chunks: the candidate frames of each chunk of walkers, in the order the draws are made.
    """

    table: ViewTable
    base: dict[str, np.ndarray]
    chunks: tuple[_ChunkFrames, ...]

    @property
    def nbytes(self) -> int:
        """Bytes held (the base rows and the candidate frames; the table is shared)."""
        return sum(int(v.nbytes) for v in self.base.values()) + sum(c.nbytes for c in self.chunks)


def track_frames(
    table: ViewTable,
    camera: Camera,
    walkers: WalkerBatch,
    gate: CaptureGate,
    score_model: CaptureRanking,
    *,
    phase_s: float,
) -> TrackFrames:
    """The part of :func:`reduce_tracks` that takes no draw: each walker's frames, their geometry, head
    pose, the gate's geometric limits, occlusion probability and capture quality.

    Args: as :func:`reduce_tracks`, without ``rng``.
    """
    P = len(walkers.person)
    out = new_tracks(P, camera=table.camera)
    out["person"][:] = walkers.person
    out["speed_m_s"][:] = walkers.speed_m_s
    if P == 0:
        return TrackFrames(table, out, ())
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
    chunks = []
    for a, b in itertools.pairwise(_chunk_bounds(n)):
        nn = n[a:b]
        if nn.sum() == 0:
            continue
        w, k = _frame_numbers(nn, k0[a:b], a)
        chunks.append(
            _frames(
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
                nn=nn,
                a=a,
                out=out,
            )
        )
    return TrackFrames(table, out, tuple(chunks))


def draw_tracks(frames: TrackFrames, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """:func:`reduce_tracks` from its draw-free part: the occlusion draws (one per block of frames of a
    track, chunk by chunk, as :func:`reduce_tracks` takes them from ``rng``), then per walker the usable
    captures and the best one (highest quality; the first such frame on a tie).

    Returns:
        dict of arrays keyed by :data:`TRACK_FIELDS`, as :func:`reduce_tracks`.
    """
    out = {k: v.copy() for k, v in frames.base.items()}
    table = frames.table
    for ch in frames.chunks:
        draws = rng.random(ch.n_draws)
        ok = np.flatnonzero(~(draws[ch.block] < ch.p_occ))
        if not len(ok):
            continue
        wk = ch.walker[ok]
        starts = np.flatnonzero(np.r_[True, wk[1:] != wk[:-1]])
        owners = wk[starts]
        counts = np.diff(np.r_[starts, len(wk)])
        out["usable_captures"][owners] = counts.astype(np.int32)
        quality = ch.quality[ok]
        best_q = np.maximum.reduceat(quality, starts)
        pos = np.arange(len(quality))
        best_pos = np.minimum.reduceat(
            np.where(quality == np.repeat(best_q, counts), pos, len(quality)), starts
        )
        has = np.isfinite(best_q)
        bi, bp = owners[has], ok[best_pos[has]]
        fl = ch.flat[bp]
        out["t_best_s"][bi] = ch.t_s[bp]
        out["ied_px"][bi] = ch.ied_px[bp]
        out["px_per_m"][bi] = table.px_per_m.reshape(-1)[fl]
        out["distance_m"][bi] = table.distance_m.reshape(-1)[fl]
        out["yaw_deg"][bi] = ch.yaw_deg[bp]
        out["pitch_deg"][bi] = ch.pitch_deg[bp]
        out["blur_px"][bi] = ch.blur_px[bp]
        out["mated_mean"][bi] = best_q[has]
        out["u_px"][bi] = table.u_px.reshape(-1)[fl]
        out["v_px"][bi] = table.v_px.reshape(-1)[fl]
        out["x_m"][bi] = table.x_m.reshape(-1)[fl]
        out["y_m"][bi] = table.y_m.reshape(-1)[fl]
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
    nn: np.ndarray,
    a: int,
    out: dict[str, np.ndarray],
) -> _ChunkFrames:
    """Per frame of a chunk (walker ``w``, frame number ``k``; ``nn`` frames each of walkers ``a``, ``a +
    1``, ...): geometry, head pose, the gate's geometric limits, occlusion probability and quality of the
    frames that can be usable; the chunk's frames in view and in the zone are counted into ``out``.

    The table's (lane, station) arrays are read through one flat index, and occlusion probability and
    quality are worked out only for the frames they can matter to (in view and passing the gate's
    geometric limits), which gives the same values as working them out for every frame: the
    arithmetic is element by element. The draws themselves are :func:`draw_tracks`'s.
    """
    S = table.in_view.shape[1]
    t = k / fps + phase_s
    vw = v[w]
    sta = np.rint((vw * (t - walkers.t0_s[w]) - table.s0) / STATION_M).astype(np.int64)
    np.clip(sta, 0, S - 1, out=sta)
    flat = lane[w] * S + sta

    def at(arr: np.ndarray) -> np.ndarray:
        return arr.ravel().take(flat)

    iv = at(table.in_view)
    ied = at(table.ied_px)
    yaw = at(table.yaw_deg) + walkers.head_yaw_deg.astype(np.float32, copy=False)[w]
    pitch = at(table.pitch_deg) + walkers.head_pitch_deg.astype(np.float32, copy=False)[w]
    zone = at(table.zone)
    blk = k // frames_per_block
    new_blk = np.ones(len(w), bool)
    new_blk[1:] = (blk[1:] != blk[:-1]) | (w[1:] != w[:-1])
    blk_id = np.cumsum(new_blk) - 1
    n_draws = int(blk_id[-1]) + 1  # occlusion, redrawn per block of frames of a track
    usable = (
        iv
        & (ied >= gate.min_ied_px)
        & (np.abs(yaw) <= gate.max_abs_yaw_deg)
        & (np.abs(pitch) <= gate.max_abs_pitch_deg)
    )
    cand = np.flatnonzero(usable)
    fc = flat[cand]
    p_occ = -np.expm1(-walkers.density_p_m2[w[cand]] * BODY_WIDTH_M * occluder_m.ravel().take(fc))
    blur = table.blur_px_per_m_s.ravel().take(fc) * vw[cand].astype(np.float32)
    ied_c, yaw_c, pitch_c = ied[cand], yaw[cand], pitch[cand]
    nz = np.flatnonzero(nn)
    starts = (np.cumsum(nn) - nn)[nz]
    idx = nz + a
    out["frames_in_view"][idx] = np.add.reduceat(iv.astype(np.int32), starts)
    out["in_zone"][idx] = np.logical_or.reduceat(zone, starts)
    return _ChunkFrames(
        n_draws=n_draws,
        walker=w[cand],
        block=blk_id[cand],
        p_occ=p_occ,
        quality=np.asarray(score_model.mated_mean(ied_c, yaw_c, pitch_c, blur), dtype=np.float64),
        t_s=t[cand],
        ied_px=ied_c,
        yaw_deg=yaw_c,
        pitch_deg=pitch_c,
        blur_px=blur,
        flat=fc,
    )
