"""One replication: the crowd walks (SimPy), cameras capture, and the draws a re-scoring needs are stored.

Each replication draws only from its own seed's named streams (:class:`twin.rng.Streams`): the
"capture" stream for frame phases and occlusion, the "engine" stream for the watchlist and score
uniforms. Scoring is then pure (:func:`twin.scoring.metrics.score_replication`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pandas as pd

from twin.rng import Streams
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.context import Context, prepare
from twin.sim.crowd import CrowdResult, simulate_crowd
from twin.world.capture import TRACK_FIELDS, new_tracks, reduce_tracks

__all__ = ["replicate", "simulate_replication"]


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
    t1 = time.perf_counter()
    tracks = _capture(ctx, crowd, streams["capture"])
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
            "crowd_s": t1 - t0,
            "capture_s": t2 - t1,
        },
    )
    return rep, (_track_frame(ctx, tracks, people) if keep_tracks else None)


def _capture(ctx: Context, crowd: CrowdResult, rng_c: np.random.Generator) -> dict[str, np.ndarray]:
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
        parts.append(
            reduce_tracks(
                table,
                cam,
                walkers,
                ctx.scenario.capture,
                ctx.score_model,
                phase_s=float(phases[table.camera]),
                rng=rng_c,
            )
        )
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
