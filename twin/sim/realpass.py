"""Real-engine runs: one replication's simulated captures through the real recognition pipeline.

With ``engine.kind: dlib`` (or ``insightface`` with ``engine.model_dir``) a run keeps its crowd and
capture simulation (statistical geometry, every replication scored by the statistical engine as
usual) and then, for the reference replication 0 only, pushes the captures through the live
pipeline of :mod:`twin.recognition.pipeline`:

1. **faces**: each passer-by whose track is run gets an identity from the face bank
   (``engine.faces``, an identity folder; default the installed sample photos). The bank is split
   once: identities with a second image go on the watchlist (up to :data:`MAX_REAL_ENROLLED`, and
   never more than half of the bank, so passers-by have identities of their own); the rest are
   the non-listed passers-by. A watchlisted person (``u_watchlist < prevalence``) is one of the
   enrolled identities, probed with a *different* image than the enrolled one where the identity
   has one (the count of mated probes rendered from the enrolment image itself is reported); any
   other person is a non-enrolled identity.
2. **watchlist**: the enrolled identities' enrolment images, embedded by the real engine, filled
   up to ``watchlist.size`` with filler embeddings drawn to reproduce the engine's non-mated score
   distribution measured on the face bank (:meth:`twin.recognition.watchlist.Watchlist.add_fillers`); any FPIR
   measured against fillers is flagged as extrapolated.
3. **sampling**: the usable tracks (person × camera with a usable capture) are all run when there
   are at most ``engine.max_real_probes`` (default 200) of them; otherwise that many are sampled
   with the "render" random stream, stratified: every watchlisted track first, the rest drawn
   uniformly from the non-listed tracks. The summary says so ("N of M usable captures run").
4. **render and compose**: each sampled track's best capture is rendered from the identity's probe
   image at its ``ied_px``, ``yaw_deg`` and ``blur_px`` (walking speed × exposure × px_per_m),
   lit by the clock hour of ``t_best_s`` (:func:`twin.recognition.faces.render.light_gain`), with sensor noise
   (:data:`NOISE_SD`) and a JPEG round trip (:data:`JPEG_QUALITY`); probes of the same camera and
   hour are composed into full frames of the camera's size at their (u_px, v_px) positions, never
   overlapping (a probe that would overlap goes to another frame).
5. **pipeline**: :meth:`twin.recognition.pipeline.RecognitionPipeline.process_batch` runs the detector on the
   frames, the quality gate, the embedder, the 1:N search and the threshold. Each alert is matched
   back to the probe it came from (box overlap); it is *true* when the top candidate is the
   person's own identity.

Threshold: ``watchlist.threshold`` is on the scale of the engine named by ``engine.kind``. A
threshold left at the statistical engine's default (0.6, NeoFace-like scale) is replaced by the
real engine's calibrated default (dlib: cosine 0.93) and the summary says so; a threshold outside
the engine's score range is a :class:`~twin.errors.ScenarioError`.

Privacy (DESIGN.md, "Runs on disk"): frames, rendered probes and embeddings live in memory only;
the pipeline zeroes each probe's embedding after the search, frames and patches are zeroed after
their batch, the filler references are zeroed, and the watchlist is destroyed at the end.
Nothing here writes to disk: the alert crops travel in :class:`RealEngineRun` to
:func:`twin.outputs.runstore.write_run`, which writes them (and only them) under ``alerts/``.

Rates: per pass (a person's pass through the zone), one alert per person, as in
:mod:`twin.scoring.metrics`: TPIR = watchlisted people run with a true alert / watchlisted people run;
FPIR = non-listed people run with any alert / non-listed people run; Wilson 95% intervals.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.errors import ImageError, WatchlistError
from twin.recognition.engines.base import Face, check_threshold
from twin.rng import Streams

if TYPE_CHECKING:
    from twin.recognition.faces.bank import FaceBank, FaceSource
    from twin.recognition.pipeline import Alert
    from twin.scoring.metrics import RepData
    from twin.sim.context import Context

__all__ = [
    "JPEG_QUALITY",
    "MAX_REAL_ENROLLED",
    "NOISE_SD",
    "RealAlert",
    "RealEngineRun",
    "run_real_engine",
    "wilson_interval",
]

logger = logging.getLogger(__name__)

#: Sensor noise of a rendered probe, SD in grey levels (assumption: a 1080p CCTV sensor by day).
NOISE_SD: float = 3.0
#: JPEG quality of the camera stream (assumption: H.264/MJPEG CCTV streams look like JPEG 70-80).
JPEG_QUALITY: int = 75
#: Most identities enrolled from the face bank (each costs a detection and an embedding); the
#: rest of the watchlist is fillers.
MAX_REAL_ENROLLED: int = 50
#: Most non-enrolled identities used as passers-by.
MAX_PASSER_IDENTITIES: int = 100
#: Most faces composed into one frame.
MAX_FACES_PER_FRAME: int = 12
#: Frames per pipeline batch (one embedding call, one search, one deletion-batch log entry).
FRAMES_PER_BATCH: int = 4
#: Least box overlap (IoU) for a detection to be matched back to the probe placed there.
MATCH_IOU: float = 0.3
def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """Wilson score interval of a binomial proportion k/n (95% by default); None when n = 0.

    Wilson (1927), J. Am. Stat. Assoc. 22: 209-212.

    >>> [round(v, 3) for v in wilson_interval(8, 10)]
    [0.49, 0.943]
    >>> wilson_interval(0, 0) is None
    True
    """
    if n <= 0:
        return None
    p = k / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class RealAlert:
    """One alert of the real pipeline, matched back to the simulated person.

    Attributes:
        name: file stem under ``alerts/`` (``alert-0001``), in time order of processing.
        alert: the pipeline's :class:`~twin.recognition.pipeline.Alert` (probe crop, candidate list).
        t_s: the capture time of the probe it came from, s from the window start.
        person: the simulated person, or None (a detection matched to no placed probe).
        watchlisted: that person is on the watchlist.
        true_alert: watchlisted and the top candidate is their own identity.
    """

    name: str
    alert: Alert
    t_s: float
    person: int | None
    watchlisted: bool
    true_alert: bool


@dataclass
class RealEngineRun:
    """What the real pass produced: the summary section, the alerts (with crops), audit entries.

    Attributes:
        summary: JSON-ready ``summary["real_engine"]`` (no timings: summaries are deterministic).
        alerts: :class:`RealAlert` in processing order.
        audit: (kind, detail) audit entries in the order things happened.
        elapsed_s: wall-clock seconds of the pass.
    """

    summary: dict[str, Any]
    alerts: list[RealAlert] = field(default_factory=list)
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    elapsed_s: float = 0.0


def _split_identities(bank: FaceBank, max_enrol: int) -> tuple[list[str], list[str]]:
    ids = list(bank.identities)
    if len(ids) < 2:
        raise WatchlistError(
            f"the face bank holds {len(ids)} identity; a real-engine run needs at least 2 (one on the watchlist, one "
            "passer-by): add person folders to engine.faces, or run `twin samples`"
        )
    distinct = [i for i in ids if bank.has_distinct_probe(i)]
    cap = max(1, min(max_enrol, len(ids) // 2))
    enrol = (distinct or ids)[:cap]
    rest = [i for i in ids if i not in enrol][:MAX_PASSER_IDENTITIES]
    return enrol, rest


def _iou(a: tuple[float, float, float, float], b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], float(b[2])) - max(a[0], float(b[0])))
    iy = max(0.0, min(a[3], float(b[3])) - max(a[1], float(b[1])))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + float((b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def _rate(k: int, n: int, definition: str) -> dict[str, Any]:
    ci = wilson_interval(k, n)
    return {"value": (k / n) if n else None, "k": int(k), "n": int(n),
            "ci95": None if ci is None else [round(ci[0], 6), round(ci[1], 6)], "definition": definition}


def run_real_engine(
    ctx: Context,
    rep: RepData,
    tracks: pd.DataFrame,
    seed: np.random.SeedSequence,
    *,
    engine: Any,
    bank: FaceBank,
    threshold: float,
    threshold_source: str,
    progress: Callable[[int, int], None] | None = None,
) -> RealEngineRun:
    """Run replication 0's captures through the real pipeline (see the module docstring).

    Args:
        ctx: the run's context (scenario, cameras).
        rep: replication 0's stored draws (``u_watchlist`` decides who is watchlisted).
        tracks: replication 0's person × camera table (:attr:`twin.sim.run.RunResult.tracks`).
        seed: replication 0's seed sequence; its "render" stream draws everything here.
        engine: a :class:`~twin.recognition.engines.base.FaceEngine`.
        bank: the face bank.
        threshold: alert threshold on the engine's scale.
        threshold_source: where the threshold came from (recorded).
        progress: called as ``progress(frames_done, frames_total)``.

    Returns:
        :class:`RealEngineRun`.

    Raises:
        WatchlistError: fewer than 2 usable identities in the bank, or nothing could be enrolled.
        EngineError: threshold outside the engine's range.
    """
    import time

    from twin.recognition.faces.compose import compose_frame, street_background
    from twin.recognition.faces.render import light_gain, render_probe
    from twin.recognition.pipeline import FrameInput, QualityGate, RecognitionPipeline
    from twin.recognition.watchlist import Watchlist, WatchlistEntry

    t0 = time.perf_counter()
    sc = ctx.scenario
    check_threshold(engine, threshold)
    rng = Streams(seed)["render"]
    wl_person = np.asarray(rep.u_watchlist) < sc.watchlist.prevalence
    audit: list[tuple[str, dict[str, Any]]] = []

    # --- the face bank: who is on the watchlist, who passes by ------------------------------
    faces_cache: dict[str, Face] = {}

    def source_face(src: FaceSource) -> Face:
        if src.source not in faces_cache:
            faces_cache[src.source] = bank.face(src, engine)
        return faces_cache[src.source]

    enrol_ids, passer_ids = _split_identities(bank, min(MAX_REAL_ENROLLED, sc.watchlist.size))
    dropped: list[str] = []
    wl = Watchlist.for_engine(engine)
    ref_rows: list[np.ndarray] = []
    embs, entries = [], []
    for ident in enrol_ids:
        src = bank.enrolment_image(ident)
        try:
            emb = engine.embed(bank.load(src), [source_face(src)])[0]
        except ImageError:
            dropped.append(ident)
            continue
        embs.append(emb)
        ref_rows.append(emb)
        entries.append(WatchlistEntry(ident, src.source, category="simulated watchlist (face bank)"))
    if not entries:
        raise WatchlistError(
            f"no face bank identity could be enrolled ({', '.join(dropped)} show no face to the {engine.model_id} detector); "
            "check engine.faces holds clear, frontal photos"
        )
    enrolled = [e.identity for e in entries]
    wl.add(np.vstack(embs).astype(np.float32), entries)
    usable_passers = []
    for ident in passer_ids:
        src = bank.enrolment_image(ident)
        try:
            ref_rows.append(engine.embed(bank.load(src), [source_face(src)])[0])
            usable_passers.append(ident)
        except ImageError:
            dropped.append(ident)
    if not usable_passers:
        wl.destroy()
        raise WatchlistError(
            "no face bank identity is left for the non-listed passers-by (each shows no face, or all are enrolled); "
            "add person folders to engine.faces"
        )
    n_fill = sc.watchlist.size - wl.size
    filler_info: dict[str, Any] | None = None
    if n_fill > 0:
        ref = np.vstack(ref_rows).astype(np.float32)
        try:
            rep_f = wl.add_fillers(n_fill, rng, reference=ref)
        finally:
            ref[...] = 0.0
        filler_info = {"n": rep_f.n, "target_mean": round(rep_f.target_mean, 4), "target_sd": round(rep_f.target_sd, 4),
                       "achieved_mean": round(rep_f.achieved_mean, 4), "achieved_sd": round(rep_f.achieved_sd, 4),
                       "basis": f"non-mated scores among the enrolment images of {len(ref_rows)} face bank identities, "
                                "measured with this engine"}
    for r in ref_rows:
        r[...] = 0.0
    ref_rows.clear()
    wl_meta = {"entries": wl.size, "real_entries": len(enrolled), "fillers": wl.n_fillers,
               "extrapolated": wl.is_extrapolated}
    audit.append(("real_watchlist_enrolled", {"engine": engine.model_id, **wl_meta, "identities": enrolled,
                                              "threshold": threshold}))

    # --- which tracks run -------------------------------------------------------------------
    usable = tracks[(tracks["usable_captures"] > 0) & np.isfinite(tracks["ied_px"])].reset_index(drop=True)
    M = len(usable)
    persons = usable["person"].to_numpy(np.int64)
    is_wl = wl_person[persons] if M else np.zeros(0, bool)
    idx_wl, idx_nl = np.flatnonzero(is_wl), np.flatnonzero(~is_wl)
    budget = sc.engine.max_real_probes
    if len(idx_wl) >= budget:
        chosen = rng.choice(idx_wl, budget, replace=False)
    else:
        extra = rng.choice(idx_nl, min(len(idx_nl), budget - len(idx_wl)), replace=False) if len(idx_nl) else idx_nl
        chosen = np.concatenate([idx_wl, extra])
    chosen = np.sort(chosen.astype(np.int64))
    run_tracks = usable.iloc[chosen].reset_index(drop=True)
    n_run = len(run_tracks)

    # --- identities and probe images per person ---------------------------------------------
    person_identity: dict[int, str] = {}
    person_source: dict[int, FaceSource] = {}
    from_enrolment = 0
    for p in dict.fromkeys(run_tracks["person"].to_numpy(np.int64).tolist()):
        if wl_person[p]:
            ident = enrolled[int(rng.integers(len(enrolled)))]
            from_enrolment += int(not bank.has_distinct_probe(ident))
        else:
            ident = usable_passers[int(rng.integers(len(usable_passers)))]
        person_identity[p] = ident
        person_source[p] = bank.probe_image(ident, int(rng.integers(0, 1 << 16)))

    # --- render and pack into frames --------------------------------------------------------
    start_s = sc.time.start_s
    frames_plan: list[dict[str, Any]] = []  # {camera, hour, rects, items: [(track row, probe)]}
    render_failures = 0
    for i in range(n_run):
        row = run_tracks.iloc[i]
        p = int(row["person"])
        src = person_source[p]
        clock_h = ((start_s + float(row["t_best_s"])) / 3600.0) % 24.0
        try:
            probe = render_probe(
                bank.load(src), source_face(src), ied_px=float(row["ied_px"]), rng=rng,
                yaw_deg=float(np.clip(row["yaw_deg"], -89.0, 89.0)), blur_px=float(max(0.0, row["blur_px"])),
                light=light_gain(clock_h), noise_sd=NOISE_SD, jpeg_quality=JPEG_QUALITY,
            )
        except ImageError as exc:
            logger.warning("probe of track %d not rendered: %s", i, exc)
            render_failures += 1
            continue
        cam = int(row["camera"])
        eye = probe.kps[:2].mean(axis=0)
        x0, y0 = float(row["u_px"]) - float(eye[0]), float(row["v_px"]) - float(eye[1])
        h, w = probe.patch.shape[:2]
        rect = (x0 - 2, y0 - 2, x0 + w + 2, y0 + h + 2)
        hour = int(clock_h)
        for fr in frames_plan:
            if fr["camera"] == cam and fr["hour"] == hour and len(fr["items"]) < MAX_FACES_PER_FRAME and not any(
                rect[0] < r[2] and r[0] < rect[2] and rect[1] < r[3] and r[1] < rect[3] for r in fr["rects"]
            ):
                break
        else:
            fr = {"camera": cam, "hour": hour, "rects": [], "items": []}
            frames_plan.append(fr)
        fr["rects"].append(rect)
        fr["items"].append((i, probe))

    # --- the pipeline -------------------------------------------------------------------------
    gate = QualityGate(
        min_ied_px=sc.capture.min_ied_px * math.cos(math.radians(sc.capture.max_abs_yaw_deg)),
        max_abs_yaw_deg=sc.capture.max_abs_yaw_deg,
    )
    alerts: list[RealAlert] = []
    placed_total = 0
    run_people = {int(p) for p in run_tracks["person"].to_numpy(np.int64)}
    true_people: set[int] = set()
    alerted_people: set[int] = set()
    last_deleted = 0
    pipe = RecognitionPipeline(engine, wl, threshold=threshold, gate=gate, k=5)
    try:
        for b0 in range(0, len(frames_plan), FRAMES_PER_BATCH):
            batch = frames_plan[b0 : b0 + FRAMES_PER_BATCH]
            inputs, truth = [], []
            for fr in batch:
                cam = ctx.cameras[fr["camera"]]
                bg = street_background((cam.width_px, cam.height_px), rng=rng)
                gain = light_gain(fr["hour"] + 0.5)
                if gain != 1.0:
                    bg = np.clip(np.rint(bg.astype(np.float32) * gain), 0, 255).astype(np.uint8)
                probes = [pr for _, pr in fr["items"]]
                positions = [(float(run_tracks.iloc[i]["u_px"]), float(run_tracks.iloc[i]["v_px"])) for i, _ in fr["items"]]
                composed = compose_frame(probes, positions, background=bg, rng=rng)
                for pr in probes:  # rendered faces live only until composed
                    if pr.patch.flags.writeable:
                        pr.patch[...] = 0
                idx = [fr["items"][j][0] for j in composed.placed]
                placed_total += len(idx)
                t_frame = min(float(run_tracks.iloc[i]["t_best_s"]) for i, _ in fr["items"])
                inputs.append(FrameInput(composed.frame, t_frame, cam.id))
                truth.append((idx, composed.boxes))
            results = pipe.process_batch(inputs)
            for (idx, boxes), fin, frame_alerts in zip(truth, inputs, results, strict=True):
                for a in frame_alerts:
                    best, best_iou = None, 0.0
                    for j, tb in zip(idx, boxes, strict=True):
                        v = _iou(a.box, tb)
                        if v > best_iou:
                            best, best_iou = j, v
                    row = run_tracks.iloc[best] if best is not None and best_iou >= MATCH_IOU else None
                    person = None if row is None else int(row["person"])
                    watch = person is not None and bool(wl_person[person])
                    true = person is not None and watch and not a.is_filler and a.identity == person_identity[person]
                    if person is not None:
                        alerted_people.add(person)
                        if true:
                            true_people.add(person)
                    name = f"alert-{len(alerts) + 1:04d}"
                    t_a = float(row["t_best_s"]) if row is not None else fin.t_s
                    alerts.append(RealAlert(name, a, t_a, person, watch, true))
                    audit.append(("real_alert", {
                        "alert": name, "file": f"alerts/{name}.png", "t_s": round(t_a, 3), "camera_id": a.camera_id,
                        "score": round(float(a.score), 4), "identity": a.identity, "filler": bool(a.is_filler),
                        "true_alert": bool(true), "simulated_person": person,
                    }))
                fin.image[...] = 0  # the frame held non-matched faces: gone at once
            c = pipe.counters
            audit.append(("real_deletion_batch", {
                "batch": b0 // FRAMES_PER_BATCH, "frames": len(inputs), "probes_deleted": c.probes_deleted - last_deleted,
                "what": "non-matched probes (gated out or below threshold), at once", "stored": 0,
            }))
            last_deleted = c.probes_deleted
            if progress is not None:
                progress(min(b0 + FRAMES_PER_BATCH, len(frames_plan)), len(frames_plan))
    finally:
        pipe.close()
        counters = pipe.counters
        wl.destroy()
    audit.append(("watchlist_destroyed", {"engine": engine.model_id, "entries": wl_meta["entries"], "real": True}))

    # --- figures ------------------------------------------------------------------------------
    wl_run = sorted(p for p in run_people if wl_person[p])
    nl_run = sorted(p for p in run_people if not wl_person[p])
    n_true = sum(a.true_alert for a in alerts)
    sampled = n_run < M
    extrapolated = sampled or wl_meta["extrapolated"]
    reasons = []
    if sampled:
        reasons.append(f"{n_run} of {M} usable captures sampled (all watchlisted first)")
    if wl_meta["extrapolated"]:
        reasons.append(f"{wl_meta['fillers']:,} of {wl_meta['entries']:,} watchlist entries are fillers")
    statement = f"real engine: {n_run} of {M} usable captures run" + ("; rates extrapolated" if extrapolated else "")
    in_zone_wl = 0
    if len(rep.track_person):  # passes through a zone, or with a usable capture (a head turned into view)
        passing = np.unique(rep.track_person[rep.track_in_zone | (rep.track_usable > 0)])
        in_zone_wl = int(wl_person[passing].sum())
    all_wl_run = len(idx_wl) <= budget
    summary: dict[str, Any] = {
        "engine": {"kind": sc.engine.kind, "model_id": engine.model_id, "score_name": engine.score_name,
                   "score_range": list(engine.score_range), "default_threshold": engine.default_threshold},
        "threshold": threshold,
        "threshold_source": threshold_source,
        "replication": 0,
        "statement": statement,
        "extrapolated": bool(extrapolated),
        "extrapolated_because": reasons,
        "sampling": {"usable_captures": M, "probes_run": n_run, "watchlisted_usable": int(len(idx_wl)),
                     "max_real_probes": budget, "rule": "every watchlisted track first, then non-listed tracks drawn "
                                                        "uniformly with the 'render' random stream"},
        "faces": {"bank": str(sc.engine.faces) if sc.engine.faces else "sample photos (twin samples)",
                  "identities": len(bank), "enrolled": enrolled, "passer_by_identities": len(usable_passers),
                  "dropped_no_face": dropped, "mated_probes_from_enrolment_image": from_enrolment},
        "watchlist": {**wl_meta, "filler_fit": filler_info, "destroyed": True},
        "render": {"noise_sd": NOISE_SD, "jpeg_quality": JPEG_QUALITY, "failed": render_failures},
        "gate": {"min_ied_px": round(gate.min_ied_px, 3), "max_abs_yaw_deg": gate.max_abs_yaw_deg},
        "frames": counters.frames,
        "probes_placed": placed_total,
        "faces_detected": counters.faces_detected,
        "gated_out": dict(counters.gated_out),
        "probes_searched": counters.probes_searched,
        "probes_deleted": counters.probes_deleted,
        "alerts": len(alerts),
        "true_alerts": int(n_true),
        "false_alerts": len(alerts) - int(n_true),
        "false_alerts_on_fillers": sum(bool(a.alert.is_filler) for a in alerts),
        "alerts_without_person": sum(a.person is None for a in alerts),
        "people": {"watchlisted_run": len(wl_run), "watchlisted_true_alert": len(true_people & set(wl_run)),
                   "not_listed_run": len(nl_run), "not_listed_alerted": len(alerted_people & set(nl_run))},
        "rates": {
            "tpir": _rate(len(true_people & set(wl_run)), len(wl_run),
                          "watchlisted people run with a true alert / watchlisted people run (per pass with a usable "
                          "capture; detection failures count as misses)"),
            "fpir": _rate(len(alerted_people & set(nl_run)), len(nl_run),
                          "non-listed people run with any alert / non-listed people run (per face scanned)"),
            "tpir_in_zone": _rate(len(true_people & set(wl_run)), in_zone_wl,
                                  "watchlisted people with a true alert / watchlisted passes through the zone of "
                                  "replication 0 (capture failures count as misses, NPL's definition)") if all_wl_run else None,
        },
        "statistical_figures": (
            f"the other sections are the statistical engine ({ctx.score_model.model_id}, threshold "
            f"{ctx.threshold:g} on its scale) over every replication; this section is the real engine on replication 0"
        ),
    }
    if hasattr(engine, "model_files"):
        summary["engine"]["model_files"] = dict(engine.model_files)
        summary["engine"]["providers"] = list(getattr(engine, "providers", []))
    sm = ctx.score_model.score_map
    if sm is not None and sm.model_id != engine.model_id:
        summary["score_map_warning"] = (f"engine.score_model was calibrated on {sm.model_id}, not {engine.model_id}: "
                                        "its threshold translation does not apply to this engine")
    elapsed = time.perf_counter() - t0
    logger.info("%s: %d alerts (%d true) in %.1f s", statement, len(alerts), n_true, elapsed)
    return RealEngineRun(summary=summary, alerts=alerts, audit=audit, elapsed_s=elapsed)
