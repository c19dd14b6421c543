"""Building a stress run's load: the crowd's composed frames, or a video's (:mod:`twin.sim.stress.load`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import ImageError
from twin.rng import Streams
from twin.scenario.specs import Scenario
from twin.sim.stress.load import FrameSchedule, SyntheticSource, VideoSource, frame_schedule

__all__ = ["VIDEO_PROBE_FRAMES", "synthetic_load", "video_load"]

#: Video frames probed for a face before a ``--video`` run starts.
VIDEO_PROBE_FRAMES: int = 12


def synthetic_load(
    sc: Scenario, engine: Any, seed: int, window_s: float, on_step: Callable[[str], None]
) -> tuple[FrameSchedule, SyntheticSource, dict[int, tuple[str, bool]], Any, pd.DataFrame, dict[str, Any]]:
    """The crowd's frames, their source, the truth per track, the enrolled watchlist, the tracks.

    The crowd is simulated for the warm-up and the window (``sc.time.duration_s``); frames come from the
    last ``window_s`` seconds, with times counted from the window's start.
    """
    from twin.sim.context import prepare
    from twin.sim.engine_setup import build_bank, resolve_threshold
    from twin.sim.realpass import FaceCache, assign_identities, enrol_watchlist
    from twin.sim.replication import simulate_replication

    on_step("simulating the crowd")
    ctx = prepare(sc)
    rep, tracks = simulate_replication(ctx, np.random.SeedSequence(seed), keep_tracks=True)
    assert tracks is not None
    usable = tracks[(tracks["usable_captures"] > 0) & np.isfinite(tracks["ied_px"])].reset_index(drop=True)
    warmup = sc.time.duration_s - window_s
    usable["t_best_s"] = usable["t_best_s"] - warmup
    usable = usable[(usable["t_best_s"] > -30.0) & (usable["t_best_s"] < window_s + 30.0)].reset_index(
        drop=True
    )
    schedule = frame_schedule(
        usable, fps=[c.fps for c in ctx.cameras], camera_ids=[c.id for c in ctx.cameras], duration_s=window_s
    )
    on_step("enrolling the watchlist")
    rng = Streams(seed)["render"]
    bank = build_bank(sc, engine)
    faces = FaceCache(bank, engine)
    threshold, _ = resolve_threshold(sc)
    # fillers stay distinct from the passers-by: none built from them, none the engine matches to them
    enr = enrol_watchlist(sc, engine, bank, faces, rng, passers_below=threshold)
    wl_person = np.asarray(rep.u_watchlist) < sc.watchlist.prevalence
    who = assign_identities(usable, wl_person, enr, bank, rng)
    on_step(f"rendering {len(usable)} passers-by")
    probes: list[Any] = []
    for i in range(len(usable)):
        row = usable.iloc[i]
        src = who.sources[int(row["person"])]
        clock_h = ((sc.time.start_s + warmup + float(row["t_best_s"])) / 3600.0) % 24.0
        try:
            probes.append(faces.probe(src, row, clock_h=clock_h, rng=rng))
        except ImageError:
            probes.append(None)
    persons = usable["person"].to_numpy(int)
    truth = {i: (who.identities[int(p)], bool(wl_person[int(p)])) for i, p in enumerate(persons)}
    source = SyntheticSource(
        probes=probes,
        positions=list(zip(usable["u_px"].astype(float), usable["v_px"].astype(float), strict=True)),
        members=schedule.members,
        frame_camera=tuple(int(c) for c in schedule.frames["camera"]),
        sizes=tuple((c.width_px, c.height_px) for c in ctx.cameras),
        seed=seed,
        persons=tuple(int(p) for p in persons),
    )
    meta = {
        "watchlist": {**enr.meta, "search": "faiss ANN" if enr.watchlist.uses_ann() else "exact (numpy)"},
        "watchlisted_tracks": int(sum(1 for _, (_, w) in truth.items() if w)),
        "tracks": len(usable),
        "render_failures": sum(p is None for p in probes),
    }
    return schedule, source, truth, enr.watchlist, usable, meta


def video_load(
    sc: Scenario, video: Path, duration_s: float, engine: Any, seed: int
) -> tuple[FrameSchedule, VideoSource, Any, dict[str, Any]]:
    """The video's frames, replayed by each camera (offset by a share of the video), and a watchlist."""
    import cv2

    path = Path(video)
    cap = cv2.VideoCapture(str(path))
    try:
        n_video = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if cap.isOpened() else 0
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 10.0
        ok, first = cap.read() if cap.isOpened() else (False, None)
        if not ok or first is None or n_video <= 0:
            raise ImageError(f"--video {str(path)!r} cannot be decoded by OpenCV; give an mp4/avi file")
        found = 0
        embs = []
        for k in np.linspace(0, n_video - 1, min(VIDEO_PROBE_FRAMES, n_video)).astype(int):
            cap.set(cv2.CAP_PROP_POS_FRAMES, int(k))
            ok, bgr = cap.read()
            if not ok:
                continue
            rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            fs = engine.detect(rgb)
            if fs:
                found += 1
                embs.append(engine.embed(rgb, fs))  # every face seen: no filler may duplicate one
                rgb[...] = 0
        if not found:
            raise ImageError(
                f"--video {str(path)!r}: no face found in {min(VIDEO_PROBE_FRAMES, n_video)} frames spread "
                "over it; "
                "a stress test needs faces to recognise: give a video of people facing the camera"
            )
    finally:
        cap.release()
    n_cams = len(sc.cameras)
    idx, cams, ts = [], [], []
    for c in range(n_cams):
        off = (c * n_video) // max(1, n_cams)
        for j in range(int(min(n_video, duration_s * fps))):
            idx.append((off + j) % n_video)
            cams.append(c)
            ts.append(j / fps)
    order = np.lexsort((np.array(cams), np.array(ts)))
    frames = pd.DataFrame(
        {
            "frame": np.arange(len(order), dtype=np.int64),
            "camera": np.array(cams, np.int64)[order],
            "t_s": np.array(ts, float)[order],
            "n_faces": np.ones(len(order), np.int64),  # unknown: faces as they are
        }
    )
    schedule = FrameSchedule(
        frames=frames,
        members=tuple(() for _ in order),
        camera_ids=tuple(c.id for c in sc.cameras),
        duration_s=float(duration_s),
    )
    wl = _video_watchlist(sc, engine, embs, seed, path)
    source = VideoSource(path=path, frame_index=tuple(int(idx[k]) for k in order))
    return (
        schedule,
        source,
        wl,
        {"watchlist": {"entries": wl.size, "fillers": wl.n_fillers}, "video_fps": fps},
    )


def _video_watchlist(sc: Scenario, engine: Any, embs: list[np.ndarray], seed: int, path: Path) -> Any:
    """The first face seen in the video (a mated identity), filled to the scenario's size with fillers
    drawn around the face bank's different people (the video's faces may all be one person, whose pairs
    are no non-mated distribution), none of which the engine matches to a face seen in the video. The
    embeddings ``embs`` (one (n, D) array per probed frame) are zeroed."""
    from twin.recognition.fillers import add_fillers
    from twin.recognition.watchlist import Watchlist, WatchlistEntry
    from twin.sim.engine_setup import build_bank, resolve_threshold
    from twin.sim.realpass import FaceCache, _embed_sources

    wl = Watchlist.for_engine(engine)
    wl.add(embs[0][:1].astype(np.float32), [WatchlistEntry("video-subject", str(path))])
    seen = np.vstack(embs).astype(np.float32)
    try:
        if sc.watchlist.size > 1:
            bank = build_bank(sc, engine)
            faces = FaceCache(bank, engine)
            ref = np.vstack(_embed_sources(engine, bank, faces, list(bank.identities), [])[1])
            ref = ref.astype(np.float32)
            try:
                add_fillers(
                    wl,
                    sc.watchlist.size - 1,
                    Streams(seed)["render"],
                    reference=ref,
                    distinct_from=seen,
                    distinct_below=resolve_threshold(sc)[0],
                )
            finally:
                ref[...] = 0.0
    finally:
        seen[...] = 0.0
        for e in embs:
            e[...] = 0.0
    return wl
