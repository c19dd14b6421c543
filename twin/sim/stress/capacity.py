"""Capacity search: the largest load whose p95 arrival-to-alert latency meets a target with no drop.

Trace-driven: each candidate load (camera count, footfall share) is a new frame schedule from the same
crowd tracks, and each of its frames gets a service time drawn from the frames measured in this run
with the same number of faces (the nearest count where none was measured), then
:func:`twin.sim.stress.replay.replay` gives its latencies and drops. Cameras beyond the scenario's are
copies of its cameras' streams shifted in time (more vans at the same site). Figures hold for the
machine, engine and provider the service times were measured on.

Target: :data:`TARGET_P95_S` = 2 s from the frame's arrival to the alert decision. No vendor or
published figure for it was found (NEC and the Met describe NeoFace Watch alerts only as "real time"):
it is an **assumption**, chosen because a person walking at 1.34 m/s moves under 3 m in 2 s, so an
officer beside the van can still be pointed at them. Change it with ``--target-p95-s``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twin.sim.stress.load import FrameSchedule, frame_schedule, thin_tracks
from twin.sim.stress.replay import replay

__all__ = ["TARGET_P95_S", "CapacityPoint", "find_capacity", "limiting_stage", "resample_service"]

#: Door-to-alert p95 target, s (an assumption; see the module docstring).
TARGET_P95_S: float = 2.0
#: Most camera copies per scenario camera tried by the search.
MAX_CAMERA_COPIES: int = 4
#: Footfall shares tried at one camera when one camera at full footfall is not sustainable.
FOOTFALL_SHARES: tuple[float, ...] = (0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625)


@dataclass(frozen=True, kw_only=True)
class CapacityPoint:
    """One load tried.

    Attributes:
        cameras: camera streams.
        footfall_share: share of the scenario's footfall (1 = as simulated).
        frames_per_s: offered frames with faces per second, all cameras.
        faces_per_s: offered faces per second.
        p95_s: p95 arrival-to-decision latency of the decided frames, s (inf if none).
        dropped_share: share of frames dropped by full queues.
        utilisation: offered work / (W x window).
        sustainable: p95_s <= target and nothing dropped.
    """

    cameras: int
    footfall_share: float
    frames_per_s: float
    faces_per_s: float
    p95_s: float
    dropped_share: float
    utilisation: float
    sustainable: bool

    def to_json(self) -> dict[str, float | int | bool]:
        return {
            k: (round(v, 4) if isinstance(v, float) and np.isfinite(v) else v)
            for k, v in self.__dict__.items()
        }


def resample_service(
    n_faces: np.ndarray, measured_faces: np.ndarray, measured_s: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Service times for frames of ``n_faces`` faces, drawn from measured frames with as many faces.

    Args:
        n_faces: (F,) faces per frame to serve.
        measured_faces, measured_s: (M,) faces and service seconds of the measured frames (M >= 1).
        rng: the draws.

    >>> resample_service(np.array([1, 3]), np.array([1, 2]), np.array([0.1, 0.2]), np.random.default_rng(0))
    array([0.1, 0.2])
    """
    counts = np.unique(measured_faces)
    by = {int(c): measured_s[measured_faces == c] for c in counts}
    out = np.empty(len(n_faces))
    for c in np.unique(n_faces):
        near = int(counts[np.argmin(np.abs(counts - c))])
        idx = np.flatnonzero(n_faces == c)
        out[idx] = rng.choice(by[near], size=len(idx))
    return out


def limiting_stage(stage_means_s: dict[str, float], utilisation: float, p95_s: float, target_s: float) -> str:
    """The stage that limits a load: the one with the most seconds per frame when the workers are
    saturated (utilisation >= 1) or one frame alone takes longer than the target; else ``queueing``.

    >>> limiting_stage({"detector": 0.3, "embedder": 0.1}, 1.4, 9.0, 2.0)
    'detector'
    >>> limiting_stage({"detector": 0.3, "embedder": 0.1}, 0.7, 2.5, 2.0)
    'queueing'
    """
    if utilisation >= 1.0 or sum(stage_means_s.values()) > target_s:
        return max(stage_means_s, key=lambda k: stage_means_s[k])
    return "queueing" if p95_s > target_s else "none"


def _copies(tracks: pd.DataFrame, n_cams: int, base: int, window_s: float) -> pd.DataFrame:
    """Tracks for ``n_cams`` camera streams: stream k is scenario camera k mod ``base``, shifted in time."""
    parts = []
    for k in range(n_cams):
        t = tracks[tracks["camera"] == k % base].copy()
        shift = (k // base) * 0.37 * window_s
        t["t_best_s"] = (t["t_best_s"] + shift) % window_s
        t["camera"] = k
        parts.append(t)
    return pd.concat(parts, ignore_index=True) if parts else tracks.iloc[:0]


def find_capacity(
    tracks: pd.DataFrame,
    *,
    fps: float,
    base_cameras: int,
    window_s: float,
    measured_faces: np.ndarray,
    measured_s: np.ndarray,
    workers: int,
    batch: int,
    queue_len: int,
    policy: str,
    rng: np.random.Generator,
    target_s: float = TARGET_P95_S,
    on_point: Callable[[CapacityPoint], None] | None = None,
) -> list[CapacityPoint]:
    """Try loads from 1 camera upwards (then, if 1 camera fails, lower footfall shares at 1 camera).

    Args:
        tracks: the usable person x camera tracks of the scenario (all its cameras).
        fps: the cameras' frame rate.
        base_cameras: the scenario's camera count.
        window_s: the load window, s.
        measured_faces, measured_s: faces and service seconds of the frames measured.
        workers, batch, queue_len, policy: the pool (as measured).
        rng: service-time draws and footfall thinning.
        target_s: the p95 target, s.
        on_point: called after each load.

    Returns:
        the curve, in the order tried.
    """
    curve: list[CapacityPoint] = []
    pool = {"workers": workers, "batch": batch, "queue_len": queue_len, "policy": policy}

    def point(cams: int, share: float) -> CapacityPoint:
        t = thin_tracks(_copies(tracks, cams, base_cameras, window_s), share, rng)
        p = _point(t, cams, share, fps, window_s, measured_faces, measured_s, pool, rng, target_s)
        curve.append(p)
        if on_point is not None:
            on_point(p)
        return p

    for cams in range(1, base_cameras * MAX_CAMERA_COPIES + 1):
        if not point(cams, 1.0).sustainable:
            break
    if not curve[0].sustainable:
        for share in FOOTFALL_SHARES:
            if point(1, share).sustainable:
                break
    return curve


def _point(
    t: pd.DataFrame,
    cams: int,
    share: float,
    fps: float,
    window_s: float,
    measured_faces: np.ndarray,
    measured_s: np.ndarray,
    pool: dict[str, Any],
    rng: np.random.Generator,
    target_s: float,
) -> CapacityPoint:
    """Replay one load (tracks ``t`` on ``cams`` streams at footfall ``share``)."""
    sch: FrameSchedule = frame_schedule(
        t, fps=[fps] * cams, camera_ids=[str(i) for i in range(cams)], duration_s=window_s
    )
    fr = sch.frames
    if len(fr) == 0:
        p = CapacityPoint(
            cameras=cams,
            footfall_share=share,
            frames_per_s=0.0,
            faces_per_s=0.0,
            p95_s=0.0,
            dropped_share=0.0,
            utilisation=0.0,
            sustainable=True,
        )
    else:
        svc = resample_service(fr["n_faces"].to_numpy(), measured_faces, measured_s, rng)
        r = replay(
            fr["t_s"].to_numpy(),
            fr["camera"].to_numpy(),
            svc,
            workers=pool["workers"],
            batch=pool["batch"],
            queue_len=pool["queue_len"],
            policy=pool["policy"],
        )
        lat = r.latency_s(fr["t_s"].to_numpy())[~r.dropped]
        p95 = float(np.percentile(lat, 95)) if len(lat) else float("inf")
        dropped = float(r.dropped.mean())
        p = CapacityPoint(
            cameras=cams,
            footfall_share=share,
            frames_per_s=len(fr) / window_s,
            faces_per_s=float(fr["n_faces"].sum()) / window_s,
            p95_s=p95,
            dropped_share=dropped,
            utilisation=float(svc.sum()) / (pool["workers"] * window_s),
            sustainable=p95 <= target_s and dropped == 0.0,
        )
    return p
