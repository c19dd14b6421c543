"""One replication: the crowd walks (SimPy), cameras capture, and the draws a re-scoring needs are stored.

Each replication draws only from its own seed's named streams (:class:`twin.rng.Streams`): the
"capture" stream for frame phases and occlusion, the "engine" stream for the watchlist and score
uniforms. Scoring is then pure (:func:`twin.scoring.metrics.score_replication`).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.rng import Streams
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.context import Context, prepare
from twin.sim.crowd import CrowdResult, CrowdState, simulate_crowd
from twin.world.capture import TRACK_FIELDS, ViewTable, WalkerBatch, new_tracks
from twin.world.frames import TrackFrames, draw_tracks, track_frames

__all__ = [
    "KeptCrowd",
    "frames_key",
    "replicate",
    "replicate_prepared",
    "replication_from_crowd",
    "simulate_kept",
    "simulate_replication",
]


@dataclass(frozen=True, kw_only=True)
class KeptCrowd:
    """A replication's simulated crowd, kept so that other cameras can be placed in it
    (:mod:`twin.sim.recapture`).

    Attributes:
        seed: the replication's seed sequence (its "capture" and "engine" streams are drawn again).
        state: what the crowd simulation fixed whatever the cameras (:class:`twin.sim.crowd.CrowdState`).
    """

    seed: np.random.SeedSequence
    state: CrowdState

    @property
    def avoiders(self) -> int:
        """Groups that avoid recognition zones (with none, the cameras do not shape the crowd)."""
        return self.state.avoiders

    @property
    def zone_routes(self) -> np.ndarray:
        """(R,) bool, routes with a recognition zone when the crowd was simulated."""
        return self.state.zone_routes


def simulate_replication(
    ctx: Context,
    seed: np.random.SeedSequence,
    *,
    keep_tracks: bool = False,
    progress: Callable[[float], None] | None = None,
) -> tuple[RepData, pd.DataFrame | None]:
    """Simulate one replication of the scenario.

    Args:
        ctx: from :func:`prepare`.
        seed: this replication's seed sequence.
        keep_tracks: also return the full per person x camera track table (the events).
        progress: called with the share of the crowd simulation done.

    Returns:
        (RepData, tracks DataFrame or None).
    """
    rep, tracks, _ = simulate_kept(ctx, seed, keep_tracks=keep_tracks, progress=progress)
    return rep, tracks


def simulate_kept(
    ctx: Context,
    seed: np.random.SeedSequence,
    *,
    keep_tracks: bool = False,
    progress: Callable[[float], None] | None = None,
) -> tuple[RepData, pd.DataFrame | None, KeptCrowd]:
    """:func:`simulate_replication`, and the crowd kept (:class:`KeptCrowd`)."""
    sc = ctx.scenario
    streams = Streams(seed)
    t0 = time.perf_counter()
    crowd = simulate_crowd(
        ctx.site,
        ctx.cameras,
        ctx.tables,
        sc.crowd,
        ctx.rates_per_h,
        sc.time.start_s,
        sc.time.duration_s,
        streams,
        progress,
    )
    rep, tracks = replication_from_crowd(
        ctx, crowd, streams, keep_tracks=keep_tracks, crowd_s=time.perf_counter() - t0
    )
    return rep, tracks, KeptCrowd(seed=seed, state=crowd.state)


def replication_from_crowd(
    ctx: Context,
    crowd: CrowdResult,
    streams: Streams,
    *,
    keep_tracks: bool = False,
    crowd_s: float = 0.0,
    frames: MutableMapping[str, TrackFrames] | None = None,
) -> tuple[RepData, pd.DataFrame | None]:
    """The cameras' captures of a simulated crowd and the draws a re-scoring needs (one replication).

    Draws the "capture" stream (frame phases, occlusion) and the "engine" stream (watchlist and
    score uniforms) of ``streams``, both untouched by the crowd, so a crowd placed in front of other
    cameras (:mod:`twin.sim.recapture`) gives what a fresh run with those cameras gives.

    Args:
        ctx: the cameras and view tables (``crowd.walkers`` is one batch per ``ctx.tables``).
        crowd: the crowd.
        streams: the replication's streams.
        keep_tracks: also return the track table (the events).
        crowd_s: seconds the crowd took (recorded in ``RepData.extra``).
        frames: a cache of each view table's draw-free capture work by :func:`frames_key` (see
            :func:`twin.world.frames.track_frames`): entries found are reused, missing ones added.
            The result is the same with or without it.
    """
    sc = ctx.scenario
    t1 = time.perf_counter()
    tracks = _capture(ctx, crowd, streams["capture"], frames)
    t2 = time.perf_counter()

    people = crowd.people
    P, T = len(people["t_arrive_s"]), len(tracks["person"])
    rng_e = streams["engine"]
    u_wl = rng_e.random(P).astype(np.float32)
    u_nm = rng_e.random(P)
    z_p = rng_e.standard_normal(P).astype(np.float32)
    z_t = rng_e.standard_normal(T).astype(np.float32)
    u_prev, u_tail = streams["forecast"].random(2)  # this deployment's prevalence and false-match quantiles
    rep = RepData(
        duration_s=sc.time.duration_s,
        t_arrive_s=people["t_arrive_s"],
        turned_back=people["turned_back"],
        t_leave_s=people["t_leave_s"],
        u_watchlist=u_wl,
        u_nonmated=u_nm,
        z_person=z_p,
        track_person=tracks["person"].astype(np.int64),
        track_camera=tracks["camera"].astype(np.int16),
        track_in_zone=tracks["in_zone"].astype(bool),
        track_usable=tracks["usable_captures"].astype(np.int32),
        track_t_best_s=tracks["t_best_s"].astype(np.float64),
        track_mated_mean=tracks["mated_mean"].astype(np.float32),
        track_z=z_t,
        speed_m_s=people["speed_m_s"].astype(np.float32),
        u_prevalence=float(u_prev),
        u_tail=float(u_tail),
        extra={
            "peak_density_p_m2": crowd.peak_density_p_m2,
            "simpy_events": crowd.events,
            "view_events": crowd.view_events,
            "crowd_s": crowd_s,
            "capture_s": t2 - t1,
        },
    )
    return rep, (_track_frame(ctx, tracks, people) if keep_tracks else None)


def _capture(
    ctx: Context,
    crowd: CrowdResult,
    rng_c: np.random.Generator,
    frames: MutableMapping[str, TrackFrames] | None = None,
) -> dict[str, np.ndarray]:
    """Every person x camera track with a frame in view, sorted by person then best capture time."""
    phases = rng_c.uniform(0.0, 1.0, len(ctx.cameras)) / np.array([c.fps for c in ctx.cameras])
    parts = []
    for table, walkers in zip(ctx.tables, crowd.walkers, strict=True):
        if len(walkers.person) == 0:
            continue
        cam = ctx.cameras[table.camera]
        if not table.frontal:
            # only backs of heads: frames in view are counted elsewhere as zero usable
            continue
        phase_s = float(phases[table.camera])
        key = frames_key(ctx, table, walkers, phase_s) if frames is not None else ""
        tf = frames.get(key) if frames is not None else None
        if tf is None:
            tf = track_frames(table, cam, walkers, ctx.scenario.capture, ctx.score_model, phase_s=phase_s)
            if frames is not None:
                frames[key] = tf
        parts.append(draw_tracks(tf, rng_c))
    if parts:
        tracks = {k: np.concatenate([p[k] for p in parts]) for k in TRACK_FIELDS}
    else:
        tracks = new_tracks(0)
    keep = tracks["frames_in_view"] > 0
    tracks = {k: v[keep] for k, v in tracks.items()}
    tb = np.where(np.isnan(tracks["t_best_s"]), np.inf, tracks["t_best_s"])
    order = np.lexsort((tb, tracks["person"]))
    tracks = {k: v[order] for k, v in tracks.items()}
    return tracks


def _track_frame(ctx: Context, tracks: dict[str, np.ndarray], people: dict[str, np.ndarray]) -> pd.DataFrame:
    """The track table with camera ids, route ids, groups and arrival times, for the run folder."""
    df = pd.DataFrame(tracks)
    df["camera_id"] = pd.Categorical.from_codes(df["camera"].astype(int), [c.id for c in ctx.cameras])
    df["route_id"] = [ctx.site.routes[r].id for r in people["route"][df["person"].to_numpy()]]
    df["group"] = people["group"][df["person"].to_numpy()]
    df["t_arrive_s"] = people["t_arrive_s"][df["person"].to_numpy()]
    return df


def replicate(
    scenario: Scenario, seed: np.random.SeedSequence, keep: bool
) -> tuple[RepData, pd.DataFrame | None]:
    """Worker entry point: prepare and simulate one replication (runs in a worker process)."""
    return simulate_replication(prepare(scenario), seed, keep_tracks=keep)


def replicate_prepared(
    ctx: Context, seed: np.random.SeedSequence, keep: bool, keep_crowd: bool
) -> tuple[RepData, pd.DataFrame | None, KeptCrowd | None]:
    """Process-pool entry point: one replication of a prepared context (and its crowd, if asked)."""
    rep, tracks, kept = simulate_kept(ctx, seed, keep_tracks=keep)
    return rep, tracks, (kept if keep_crowd else None)


def frames_key(ctx: Context, table: ViewTable, walkers: WalkerBatch, phase_s: float) -> str:
    """What a view table's draw-free capture work (:func:`twin.world.frames.track_frames`) depends on,
    hashed: the table's geometry, the camera's frame rate and phase, the walkers it sees (who, when, how
    fast, where, head pose, density), the capture gate and the score model ranking the captures."""
    h = hashlib.blake2b(digest_size=20)
    cam = ctx.cameras[table.camera]
    h.update(repr((table.route, table.s0, table.frontal, float(cam.fps), float(phase_s))).encode())
    h.update(repr((ctx.scenario.capture, ctx.score_model)).encode())
    for arr in (
        table.in_view,
        table.zone,
        table.ied_px,
        table.ground_m,
        table.yaw_deg,
        table.pitch_deg,
        table.blur_px_per_m_s,
        table.first,
        table.last,
        table.x_m,
        table.y_m,
        table.u_px,
        table.v_px,
        table.px_per_m,
        table.distance_m,
        walkers.person,
        walkers.t0_s,
        walkers.speed_m_s,
        walkers.lane,
        walkers.head_yaw_deg,
        walkers.head_pitch_deg,
        walkers.density_p_m2,
    ):
        a = np.ascontiguousarray(arr)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()
