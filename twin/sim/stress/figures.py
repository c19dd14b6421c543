"""A stress run's figures: the per-frame table, the summary, the queue trace (:mod:`twin.sim.stress`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from twin.rng import Streams
from twin.sim.stress.alerts import SAME_PASS_GAP_S, alert_table, dedupe_alerts
from twin.sim.stress.load import FrameSchedule
from twin.sim.stress.pool import Driven
from twin.sim.stress.replay import replay

__all__ = ["ALERT_COUNTING", "STAGES", "figures"]

#: How the headline alert count is counted (stress.json says it with the count).
ALERT_COUNTING: str = (
    "one alert per (camera, track, watchlist identity), as an operator reviews one alert per subject "
    f"passing; matches with no track (a --video, or a box overlapping no placed face) are one alert per "
    f"(camera, identity) while each follows the previous within {SAME_PASS_GAP_S:g} s "
    "(twin.sim.stress.alerts); frame_matches counts every above-threshold match of every decided frame"
)

#: Stage names of the report, in pipeline order, and the row columns they sum.
STAGES: dict[str, str] = {
    "frame access": "source_s",
    "detector": "detect_s",
    "embedder": "embed_s",
    "search": "search_s",
    "gate and alerts": "other_s",
}


def _pct(x: np.ndarray) -> dict[str, float | None]:
    if len(x) == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None, "n": 0}
    p = np.percentile(x, [50, 95, 99])
    return {
        "p50": round(float(p[0]), 4),
        "p95": round(float(p[1]), 4),
        "p99": round(float(p[2]), 4),
        "max": round(float(x.max()), 4),
        "n": int(len(x)),
    }


def _frame_table(schedule: FrameSchedule, d: Driven) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per frame of the schedule (its arrival, what happened to it, stage seconds, match counts),
    and the alerts deduplicated per track (:func:`~twin.sim.stress.alerts.dedupe_alerts`)."""
    sf = schedule.frames
    rows = pd.DataFrame(d.rows)
    df = sf.merge(rows.drop(columns=["camera"]), on="frame", how="left") if len(rows) else sf.copy()
    df["camera_id"] = [schedule.camera_ids[c] for c in sf["camera"]]
    for c in (*STAGES.values(), "t_start", "t_done", "t_arrive", "compose_s"):
        if c not in df:
            df[c] = np.nan
    df["status"] = df.get("status", pd.Series(index=df.index, dtype=object)).fillna("not_released")
    df["cause"] = df.get("cause", pd.Series(index=df.index, dtype=object)).fillna("")
    df["service_s"] = df[["source_s", "detect_s", "embed_s", "search_s", "other_s"]].sum(axis=1, min_count=1)
    alerts = list(df["alerts"]) if "alerts" in df else [[]] * len(df)
    alerts = [
        a if s == "decided" and isinstance(a, list) else [] for a, s in zip(alerts, df["status"], strict=True)
    ]
    deduped = dedupe_alerts(alert_table(df, alerts))
    df["frame_matches"] = [len(a) for a in alerts]
    df["true_frame_matches"] = [sum(1 for x in a if x.get("true_alert")) for a in alerts]
    df["match_identities"] = [";".join(x["identity"] for x in a) for a in alerts]
    df["new_alerts"] = df["frame"].map(deduped["frame"].value_counts()).fillna(0).astype(np.int64)
    return df.drop(columns=[c for c in ("alerts",) if c in df]), deduped


def _worker_time(df: pd.DataFrame, workers: int, wall_s: float) -> dict[str, Any]:
    """Where the workers' time went, as shares of W x the run's wall time: the pipeline's stages
    (detect, embed, search, gate and alerts), mapping the ready frames, the rest of each batch call
    (describing results, zeroing frames), and waiting for work (idle: the supervisor's hand-over, or
    no frame queued)."""
    done = df[df["status"].isin(["decided", "failed"]) & df["t_start"].notna()]
    total = max(workers * wall_s, 1e-9)
    if not len(done):
        return {"pipeline": 0.0, "frame_access": 0.0, "batch_overhead": 0.0, "idle": 1.0}
    pipeline = float(done[["detect_s", "embed_s", "search_s", "other_s"]].sum().sum())
    access = float(done["source_s"].sum())
    calls = done.drop_duplicates(["worker", "batch"]) if "batch" in done else done
    busy = float((calls["t_done"] - calls["t_start"]).sum())
    return {
        "pipeline": round(pipeline / total, 4),
        "frame_access": round(access / total, 4),
        "batch_overhead": round(max(0.0, busy - pipeline - access) / total, 4),
        "idle": round(max(0.0, total - busy) / total, 4),
        "basis": "shares of workers x wall_s; pipeline = detect + embed + search + gate and alerts",
    }


def _load_generator(df: pd.DataFrame) -> dict[str, Any]:
    """The supervisor's composing (or decoding) of frames: the cameras' work, not the pipeline's."""
    c = df["compose_s"].dropna() if "compose_s" in df else pd.Series(dtype=float)
    return {
        "frames_composed": len(c),
        "compose_s_mean": round(float(c.mean()), 5) if len(c) else None,
        "compose_s_total": round(float(c.sum()), 3),
        "where": "the supervisor process, ahead of dispatch (twin.sim.stress.frames); not in service_s",
    }


def _alert_figures(df: pd.DataFrame, deduped: pd.DataFrame, *, has_truth: bool) -> dict[str, Any]:
    """The summary's ``alerts``: the headline count per track, and the raw per-frame matches; true and
    false alerts are None where the frames have no ground truth (a video)."""
    truth = deduped["true_alert"]
    known = bool(truth.notna().all()) if len(deduped) else has_truth
    return {
        "alerts": len(deduped),
        "true_alerts": sum(v is True for v in truth) if known else None,
        "false_alerts": sum(v is False for v in truth) if known else None,
        "alerts_on_fillers": int(deduped["filler"].sum()) if len(deduped) else 0,
        "tracked": int((deduped["track"] >= 0).sum()) if len(deduped) else 0,
        "frame_matches": int(df["frame_matches"].sum()),
        "true_frame_matches": int(df["true_frame_matches"].sum()),
        "counting": ALERT_COUNTING,
    }


def figures(
    schedule: FrameSchedule,
    d: Driven,
    *,
    workers: int,
    batch: int,
    queue_len: int,
    policy: str,
    realtime: bool,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The per-frame table (``latency.parquet``), the summary figures, the queue trace, the alerts.

    Latency is measured on the wall clock with ``realtime``; otherwise it is the replay of the
    deployment's arrival times against the measured service times (:func:`_replayed`).
    """
    df, deduped = _frame_table(schedule, d)
    sf = schedule.frames
    measured_lat = (df["t_done"] - df["t_arrive"]).where(df["status"] == "decided")
    dec = df[df["status"] == "decided"]
    faces_done = float(dec["faces_detected"].sum()) if len(dec) else 0.0
    wall = max(d.wall_s, 1e-9)
    summary: dict[str, Any] = {
        "load": {
            "frames_offered": len(sf),
            "faces_offered": int(sf["n_faces"].sum()),
            "cameras": len(schedule.camera_ids),
            "window_s": schedule.duration_s,
            "offered_frames_per_s": round(schedule.offered_frames_per_s(), 3),
            "offered_faces_per_s": round(float(sf["n_faces"].sum()) / schedule.duration_s, 3),
            "not_released": d.not_released,
        },
        "ledger": d.ledger.to_json(),
        "throughput": {
            "wall_s": round(d.wall_s, 3),
            "frames_per_s": round(d.ledger.decided / wall, 3),
            "faces_per_s": round(faces_done / wall, 3),
            "probes_per_s": round(float(dec["probes"].sum()) / wall, 3) if len(dec) else 0.0,
        },
        "stages_mean_s": {k: round(float(dec[c].mean()), 5) if len(dec) else 0.0 for k, c in STAGES.items()},
        "worker_time": _worker_time(df, workers, wall),
        "load_generator": _load_generator(df),
        "service_s": _pct(dec["service_s"].to_numpy(float)),
        "faults": d.faults,
        "alerts": _alert_figures(df, deduped, has_truth=any(len(m) for m in schedule.members)),
        "resources": {
            "cpu_s": round(d.cpu_s, 2),
            "cpu_cores_busy": round(d.cpu_s / wall, 2),
            "peak_rss_mib": round(d.peak_rss_bytes / 2**20, 1),
        },
        "partial": d.partial,
    }
    trace = pd.DataFrame(d.queue_trace, columns=["t_s", "camera", "queue_len"])
    if realtime:
        df["latency_s"] = measured_lat
        summary["latency_s"] = _pct(measured_lat.dropna().to_numpy(float))
        summary["latency_basis"] = "measured on the wall clock (realtime pacing)"
    else:
        trace = _replayed(
            df, summary, trace, workers=workers, batch=batch, queue_len=queue_len, policy=policy, seed=seed
        )
        summary["measured_latency_s"] = _pct(measured_lat.dropna().to_numpy(float))
    trace["camera_id"] = [schedule.camera_ids[int(c)] for c in trace["camera"]]
    df = df.drop(columns=[c for c in ("batch",) if c in df])
    return df, summary, trace, deduped


def _replayed(
    df: pd.DataFrame,
    summary: dict[str, Any],
    trace: pd.DataFrame,
    *,
    workers: int,
    batch: int,
    queue_len: int,
    policy: str,
    seed: int,
) -> pd.DataFrame:
    """Fast pacing: replay the arrivals against the measured service times (frames not reached get times
    drawn from measured frames with as many faces); fills ``latency_s``, the summary's ``replay``."""
    svc = df["service_s"].to_numpy(float).copy()
    known = np.isfinite(svc) & (df["status"].isin(["decided", "failed"])).to_numpy()
    if known.any():
        from twin.sim.stress.capacity import resample_service

        miss = ~known
        svc[miss] = resample_service(
            df["n_faces"].to_numpy()[miss],
            df["n_faces"].to_numpy()[known],
            svc[known],
            Streams(seed)["stress"],
        )
        r = replay(
            df["t_s"].to_numpy(),
            df["camera"].to_numpy(),
            svc,
            workers=workers,
            batch=batch,
            queue_len=queue_len,
            policy=policy,
        )
        lat = r.latency_s(df["t_s"].to_numpy())
        df["latency_s"] = np.where(df["status"].isin(["failed"]), np.nan, lat)
        df["replay_dropped"] = r.dropped
        summary["latency_s"] = _pct(df["latency_s"].dropna().to_numpy(float))
        by_cam: dict[str, int] = {}
        for cam in df.loc[r.dropped, "camera_id"]:
            by_cam[cam] = by_cam.get(cam, 0) + 1
        summary["replay"] = {
            "frames_in": len(df),
            "decided": int((~r.dropped & (df["status"] != "failed")).sum()),
            "dropped": int(r.dropped.sum()),
            "failed": int((df["status"] == "failed").sum() - (r.dropped & (df["status"] == "failed")).sum()),
            "dropped_by_camera": {k: {"queue_full": v} for k, v in sorted(by_cam.items())},
            "service_resampled": int(miss.sum()),
        }
        summary["replay"]["balanced"] = summary["replay"]["frames_in"] == (
            summary["replay"]["decided"] + summary["replay"]["dropped"] + summary["replay"]["failed"]
        )
        trace = pd.DataFrame(r.queue_trace, columns=["t_s", "camera", "queue_len"])
    else:
        df["latency_s"] = np.nan
        summary["latency_s"] = _pct(np.zeros(0))
    summary["latency_basis"] = (
        "the deployment's arrival times replayed against the service times measured here (fast pacing; "
        "twin.sim.stress.replay)"
    )
    return trace
