"""Real-engine runs: one replication's simulated captures through the real recognition pipeline.

Long on purpose (~430 lines of code): the five stages of one pass stay in one file, in the order they
draw from the "render" stream, so the order of the draws and the privacy steps (zeroing frames,
probes and references, destroying the watchlist) can be read top to bottom. What the pass records
and its summary section are :mod:`twin.sim.realsummary`.

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
   distribution measured on the face bank (:func:`twin.recognition.fillers.add_fillers`); any FPIR
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
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.errors import ImageError, WatchlistError
from twin.recognition.engines.base import Face, box_iou, check_threshold
from twin.recognition.faces.compose import compose_frame, street_background
from twin.recognition.faces.render import RenderedProbe, light_gain, render_probe
from twin.recognition.fillers import add_fillers
from twin.recognition.pipeline import FrameInput, QualityGate, RecognitionPipeline
from twin.recognition.watchlist import Watchlist, WatchlistEntry
from twin.rng import Streams
from twin.sim.realsummary import (
    Enrolled,
    Identities,
    Passed,
    RealAlert,
    RealEngineRun,
    Selection,
    real_engine_section,
)

if TYPE_CHECKING:
    from twin.recognition.faces.bank import FaceBank, FaceSource
    from twin.recognition.pipeline import Alert
    from twin.scoring.metrics import RepData
    from twin.sim.context import Context

__all__ = ["JPEG_QUALITY", "MAX_REAL_ENROLLED", "NOISE_SD", "run_real_engine"]

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


def _split_identities(bank: FaceBank, max_enrol: int) -> tuple[list[str], list[str]]:
    ids = list(bank.identities)
    if len(ids) < 2:
        raise WatchlistError(
            f"the face bank holds {len(ids)} identity; a real-engine run needs at least 2 (one on the "
            "watchlist, one "
            "passer-by): add person folders to engine.faces, or run `twin samples`"
        )
    distinct = [i for i in ids if bank.has_distinct_probe(i)]
    cap = max(1, min(max_enrol, len(ids) // 2))
    enrol = (distinct or ids)[:cap]
    rest = [i for i in ids if i not in enrol][:MAX_PASSER_IDENTITIES]
    return enrol, rest


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

    Stages, drawing from the "render" stream in this order: :func:`enrol_watchlist`, :func:`_choose_tracks`,
    :func:`assign_identities`, :func:`_plan_frames`, :func:`_run_pipeline`; then the summary section.

    Args:
        ctx, rep, tracks, seed: the run's context; replication 0's draws (``u_watchlist`` decides who is
            watchlisted), its person × camera table and its seed (the "render" stream draws everything).
        engine, bank: a :class:`~twin.recognition.engines.base.FaceEngine` and the face bank.
        threshold, threshold_source: the alert threshold on the engine's scale, and where it came from.
        progress: called as ``progress(frames_done, frames_total)``.

    Returns:
        :class:`RealEngineRun`.

    Raises:
        WatchlistError: fewer than 2 usable identities in the bank, or nothing could be enrolled.
        EngineError: threshold outside the engine's range.
    """
    t0 = time.perf_counter()
    sc = ctx.scenario
    check_threshold(engine, threshold)
    rng = Streams(seed)["render"]
    wl_person = np.asarray(rep.u_watchlist) < sc.watchlist.prevalence
    audit: list[tuple[str, dict[str, Any]]] = []
    faces = FaceCache(bank, engine)
    enr = enrol_watchlist(sc, engine, bank, faces, rng)
    enrolled = {"engine": engine.model_id, **enr.meta, "identities": enr.enrolled, "threshold": threshold}
    audit.append(("real_watchlist_enrolled", enrolled))
    sel = _choose_tracks(tracks, wl_person, sc.engine.max_real_probes, rng)
    who = assign_identities(sel.tracks, wl_person, enr, bank, rng)
    frames_plan, render_failures = _plan_frames(sel.tracks, who.sources, faces, sc.time.start_s, rng)
    gate = live_gate(sc)
    passed = _run_pipeline(
        ctx, frames_plan, sel, enr, who, engine, threshold, gate, wl_person, rng, audit, progress
    )
    fate = {"engine": engine.model_id, "entries": enr.meta["entries"], "real": True}
    kept = not enr.watchlist.is_destroyed  # the plan's retention.watchlist: keep
    audit.append(("watchlist_kept" if kept else "watchlist_destroyed", fate))
    render = {"noise_sd": NOISE_SD, "jpeg_quality": JPEG_QUALITY, "failed": render_failures}
    summary = real_engine_section(
        ctx,
        rep,
        sel,
        enr,
        who,
        passed,
        engine=engine,
        threshold=threshold,
        threshold_source=threshold_source,
        gate=gate,
        wl_person=wl_person,
        render=render,
    )
    summary["faces"]["skipped_images"] = skipped_rows(bank, sc.engine.faces)
    elapsed, n_true = time.perf_counter() - t0, summary["true_alerts"]
    logger.info(
        "%s: %d alerts (%d true) in %.1f s", summary["statement"], len(passed.alerts), n_true, elapsed
    )
    return RealEngineRun(
        summary=summary,
        alerts=passed.alerts,
        audit=audit,
        elapsed_s=elapsed,
        watchlist=enr.watchlist if kept else None,
    )


def skipped_rows(bank: FaceBank, root: Any) -> list[dict[str, str]]:
    """The bank's skipped files as ``{"file", "reason"}`` rows, paths relative to the face folder ``root``
    (the file name alone outside it), so summaries stay the same on every machine."""
    rows = []
    for s in bank.skipped:
        p = Path(s.path.split("#", 1)[0])
        try:
            name = p.relative_to(root).as_posix() if root is not None else p.name
        except ValueError:
            name = p.name
        rows.append({"file": name, "reason": s.reason})
    return rows


def live_gate(sc: Any) -> QualityGate:
    """The live pipeline's gate: the capture gate's smallest ied seen at its largest yaw, and that yaw."""
    return QualityGate(
        min_ied_px=sc.capture.min_ied_px * math.cos(math.radians(sc.capture.max_abs_yaw_deg)),
        max_abs_yaw_deg=sc.capture.max_abs_yaw_deg,
    )


class FaceCache:
    """The face (box and landmarks) of each face bank image, found once by the engine."""

    def __init__(self, bank: FaceBank, engine: Any) -> None:
        self.bank, self.engine = bank, engine
        self._faces: dict[str, Face] = {}

    def __call__(self, src: FaceSource) -> Face:
        if src.source not in self._faces:
            self._faces[src.source] = self.bank.face(src, self.engine)
        return self._faces[src.source]

    def probe(
        self, src: FaceSource, capture: Any, *, clock_h: float, rng: np.random.Generator
    ) -> RenderedProbe:
        """The probe a camera sees of ``src`` at one capture (a track row: ``ied_px``, ``yaw_deg``,
        ``blur_px``) at clock hour ``clock_h``: :func:`render_probe` with the real pass's noise and JPEG
        quality, yaw clipped to ±89 deg and blur to >= 0.

        Raises:
            ImageError: the source image cannot be read or rendered.
        """
        return render_probe(
            self.bank.load(src),
            self(src),
            ied_px=float(capture["ied_px"]),
            rng=rng,
            yaw_deg=float(np.clip(capture["yaw_deg"], -89.0, 89.0)),
            blur_px=float(max(0.0, capture["blur_px"])),
            light=light_gain(clock_h),
            noise_sd=NOISE_SD,
            jpeg_quality=JPEG_QUALITY,
        )


def _embed_sources(
    engine: Any, bank: FaceBank, faces: FaceCache, ids: list[str], dropped: list[str]
) -> tuple[list[str], list[np.ndarray], list[FaceSource]]:
    """Embed each identity's enrolment image; identities whose image shows no face go to ``dropped``."""
    kept, embs, srcs = [], [], []
    for ident in ids:
        src = bank.enrolment_image(ident)
        try:
            emb = engine.embed(bank.load(src), [faces(src)])[0]
        except ImageError:
            dropped.append(ident)
            continue
        kept.append(ident)
        embs.append(emb)
        srcs.append(src)
    return kept, embs, srcs


def enrol_watchlist(
    sc: Any,
    engine: Any,
    bank: FaceBank,
    faces: FaceCache,
    rng: np.random.Generator,
    *,
    passers_below: float | None = None,
) -> Enrolled:
    """Enrol the bank's watchlisted identities and fill the watchlist up to ``watchlist.size`` with fillers.

    Args:
        passers_below: None (``twin run``): the fillers are drawn around every bank identity's enrolment
            embedding, passers-by included. A score (``twin stress`` gives the alert threshold): every
            second non-enrolled identity is held out as a filler reference and walks by no more, the
            others walk by and are no filler's reference, and no filler may score that much against a
            passer-by's enrolment photo (:func:`~twin.recognition.fillers.add_fillers`, which measures
            why: fillers score higher against their own references than against other people).

    Raises:
        WatchlistError: nothing enrolled, or no identity left for the passers-by.
    """
    enrol_ids, passer_ids = _split_identities(bank, min(MAX_REAL_ENROLLED, sc.watchlist.size))
    held_ids: list[str] = []
    if passers_below is not None and len(passer_ids) >= 2:
        held_ids, passer_ids = passer_ids[1::2], passer_ids[0::2]
    dropped: list[str] = []
    wl = Watchlist.for_engine(engine)
    enrolled, embs, srcs = _embed_sources(engine, bank, faces, enrol_ids, dropped)
    if not enrolled:
        raise WatchlistError(
            f"no face bank identity could be enrolled ({', '.join(dropped)} show no face to the "
            f"{engine.model_id} detector); "
            "check engine.faces holds clear, frontal photos"
        )
    wl.add(
        np.vstack(embs).astype(np.float32),
        [
            WatchlistEntry(i, s.source, category="simulated watchlist (face bank)")
            for i, s in zip(enrolled, srcs, strict=True)
        ],
    )
    ref_rows = list(embs)
    passers, passer_embs, _ = _embed_sources(engine, bank, faces, passer_ids, dropped)
    if passers_below is None:
        ref_rows.extend(passer_embs)
    else:
        ref_rows.extend(_embed_sources(engine, bank, faces, held_ids, dropped)[1])
    if not passers:
        wl.destroy()
        raise WatchlistError(
            "no face bank identity is left for the non-listed passers-by (each shows no face, or all are "
            "enrolled); "
            "add person folders to engine.faces"
        )
    filler_info = _fill(wl, sc.watchlist.size - wl.size, rng, ref_rows, passer_embs, passers_below)
    for r in [*ref_rows, *passer_embs]:  # embeddings of non-matched faces: gone once used
        r[...] = 0.0
    meta = {
        "entries": wl.size,
        "real_entries": len(enrolled),
        "fillers": wl.n_fillers,
        "extrapolated": wl.is_extrapolated,
    }
    return Enrolled(
        watchlist=wl,
        enrolled=enrolled,
        passers=passers,
        dropped=dropped,
        filler_info=filler_info,
        meta=meta,
        bank_identities=len(bank),
    )


def _fill(
    wl: Watchlist,
    n_fill: int,
    rng: np.random.Generator,
    ref_rows: list[np.ndarray],
    passer_embs: list[np.ndarray],
    passers_below: float | None,
) -> dict[str, Any] | None:
    """Fill the watchlist with ``n_fill`` fillers around ``ref_rows`` (see :func:`enrol_watchlist`); how
    they landed, or None when none is needed."""
    if n_fill <= 0:
        return None
    ref = np.vstack(ref_rows).astype(np.float32)
    avoid = np.vstack(passer_embs).astype(np.float32) if passers_below is not None else None
    try:
        rep_f = add_fillers(wl, n_fill, rng, reference=ref, distinct_from=avoid, distinct_below=passers_below)
    finally:
        ref[...] = 0.0
        if avoid is not None:
            avoid[...] = 0.0
    info: dict[str, Any] = {
        "n": rep_f.n,
        "target_mean": round(rep_f.target_mean, 4),
        "target_sd": round(rep_f.target_sd, 4),
        "achieved_mean": round(rep_f.achieved_mean, 4),
        "achieved_sd": round(rep_f.achieved_sd, 4),
        "basis": f"non-mated scores among the enrolment images of {len(ref_rows)} face bank identities, "
        "measured with this engine",
    }
    if passers_below is not None:
        info["passers_held_out"] = (
            f"the {len(passer_embs)} passer-by identities are no filler's reference, and no filler scores "
            f">= {passers_below:g} against a passer-by's enrolment photo"
        )
    return info


def _choose_tracks(
    tracks: pd.DataFrame, wl_person: np.ndarray, budget: int, rng: np.random.Generator
) -> Selection:
    """Every usable track when at most ``budget``; else every watchlisted track first, the rest drawn
    uniformly."""
    usable = tracks[(tracks["usable_captures"] > 0) & np.isfinite(tracks["ied_px"])].reset_index(drop=True)
    M = len(usable)
    persons = usable["person"].to_numpy(np.int64)
    is_wl = wl_person[persons] if M else np.zeros(0, bool)
    idx_wl, idx_nl = np.flatnonzero(is_wl), np.flatnonzero(~is_wl)
    if len(idx_wl) >= budget:
        chosen = rng.choice(idx_wl, budget, replace=False)
    else:
        extra = (
            rng.choice(idx_nl, min(len(idx_nl), budget - len(idx_wl)), replace=False)
            if len(idx_nl)
            else idx_nl
        )
        chosen = np.concatenate([idx_wl, extra])
    chosen = np.sort(chosen.astype(np.int64))
    return Selection(
        tracks=usable.iloc[chosen].reset_index(drop=True),
        usable=M,
        watchlisted_usable=int(len(idx_wl)),
        budget=budget,
    )


def assign_identities(
    run_tracks: pd.DataFrame, wl_person: np.ndarray, enr: Enrolled, bank: FaceBank, rng: np.random.Generator
) -> Identities:
    identities: dict[int, str] = {}
    sources: dict[int, FaceSource] = {}
    from_enrolment = 0
    for p in dict.fromkeys(run_tracks["person"].to_numpy(np.int64).tolist()):
        if wl_person[p]:
            ident = enr.enrolled[int(rng.integers(len(enr.enrolled)))]
            from_enrolment += int(not bank.has_distinct_probe(ident))
        else:
            ident = enr.passers[int(rng.integers(len(enr.passers)))]
        identities[p] = ident
        sources[p] = bank.probe_image(ident, int(rng.integers(0, 1 << 16)))
    return Identities(identities=identities, sources=sources, from_enrolment=from_enrolment)


def _plan_frames(
    run_tracks: pd.DataFrame,
    sources: dict[int, FaceSource],
    faces: FaceCache,
    start_s: float,
    rng: np.random.Generator,
) -> tuple[list[dict[str, Any]], int]:
    """Stage 4: render each track's best capture and pack the probes into frames of its camera and hour.

    Returns:
        (frames: ``{camera, hour, rects, items: [(track row, probe)]}``, probes that failed to render).
    """
    frames_plan: list[dict[str, Any]] = []
    render_failures = 0
    for i in range(len(run_tracks)):
        row = run_tracks.iloc[i]
        src = sources[int(row["person"])]
        clock_h = ((start_s + float(row["t_best_s"])) / 3600.0) % 24.0
        try:
            probe = faces.probe(src, row, clock_h=clock_h, rng=rng)
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
            if (
                fr["camera"] == cam
                and fr["hour"] == hour
                and len(fr["items"]) < MAX_FACES_PER_FRAME
                and not any(
                    rect[0] < r[2] and r[0] < rect[2] and rect[1] < r[3] and r[1] < rect[3]
                    for r in fr["rects"]
                )
            ):
                break
        else:
            fr = {"camera": cam, "hour": hour, "rects": [], "items": []}
            frames_plan.append(fr)
        fr["rects"].append(rect)
        fr["items"].append((i, probe))
    return frames_plan, render_failures


def _compose_batch(
    ctx: Context,
    batch: list[dict[str, Any]],
    run_tracks: pd.DataFrame,
    rng: np.random.Generator,
    passed: Passed,
) -> tuple[list[FrameInput], list[tuple[list[int], Any]]]:
    """Full camera frames for a batch of planned frames, and (track rows, boxes) of the probes placed in
    each."""
    inputs, truth = [], []
    for fr in batch:
        cam = ctx.cameras[fr["camera"]]
        bg = street_background((cam.width_px, cam.height_px), rng=rng)
        gain = light_gain(fr["hour"] + 0.5)
        if gain != 1.0:
            bg = np.clip(np.rint(bg.astype(np.float32) * gain), 0, 255).astype(np.uint8)
        probes = [pr for _, pr in fr["items"]]
        positions = [
            (float(run_tracks.iloc[i]["u_px"]), float(run_tracks.iloc[i]["v_px"])) for i, _ in fr["items"]
        ]
        composed = compose_frame(probes, positions, background=bg, rng=rng)
        for pr in probes:  # rendered faces live only until composed
            if pr.patch.flags.writeable:
                pr.patch[...] = 0
        idx = [fr["items"][j][0] for j in composed.placed]
        passed.placed += len(idx)
        t_frame = min(float(run_tracks.iloc[i]["t_best_s"]) for i, _ in fr["items"])
        inputs.append(FrameInput(image=composed.frame, t_s=t_frame, camera_id=cam.id))
        truth.append((idx, composed.boxes))
    return inputs, truth


def _match_alert(
    a: Alert,
    idx: list[int],
    boxes: Any,
    fin: FrameInput,
    run_tracks: pd.DataFrame,
    wl_person: np.ndarray,
    identities: dict[int, str],
    passed: Passed,
    audit: list[tuple[str, dict[str, Any]]],
) -> None:
    """Match one alert back to the probe placed where it was found (box overlap), and log it."""
    best, best_iou = None, 0.0
    for j, tb in zip(idx, boxes, strict=True):
        v = box_iou(a.box, tb)
        if v > best_iou:
            best, best_iou = j, v
    row = run_tracks.iloc[best] if best is not None and best_iou >= MATCH_IOU else None
    person = None if row is None else int(row["person"])
    watch = person is not None and bool(wl_person[person])
    true = person is not None and watch and not a.is_filler and a.identity == identities[person]
    if person is not None:
        passed.alerted_people.add(person)
        if true:
            passed.true_people.add(person)
    name = f"alert-{len(passed.alerts) + 1:04d}"
    t_a = float(row["t_best_s"]) if row is not None else fin.t_s
    passed.alerts.append(
        RealAlert(name=name, alert=a, t_s=t_a, person=person, watchlisted=watch, true_alert=true)
    )
    audit.append(
        (
            "real_alert",
            {
                "alert": name,
                "file": f"alerts/{name}.png",
                "t_s": round(t_a, 3),
                "camera_id": a.camera_id,
                "score": round(float(a.score), 4),
                "identity": a.identity,
                "filler": bool(a.is_filler),
                "true_alert": bool(true),
                "simulated_person": person,
            },
        )
    )


def _run_pipeline(
    ctx: Context,
    frames_plan: list[dict[str, Any]],
    sel: Selection,
    enr: Enrolled,
    who: Identities,
    engine: Any,
    threshold: float,
    gate: QualityGate,
    wl_person: np.ndarray,
    rng: np.random.Generator,
    audit: list[tuple[str, dict[str, Any]]],
    progress: Callable[[int, int], None] | None,
) -> Passed:
    """Stage 5: batches of frames through detect, gate, embed, search, threshold; the watchlist destroyed at
    the end, unless the governance block's ``retention.watchlist`` is ``keep``."""
    run_tracks, wl, identities = sel.tracks, enr.watchlist, who.identities
    passed = Passed()
    last_deleted = 0
    pipe = RecognitionPipeline(engine, wl, threshold=threshold, gate=gate, k=5)
    try:
        for b0 in range(0, len(frames_plan), FRAMES_PER_BATCH):
            inputs, truth = _compose_batch(
                ctx, frames_plan[b0 : b0 + FRAMES_PER_BATCH], run_tracks, rng, passed
            )
            results = pipe.process_batch(inputs)
            for (idx, boxes), fin, frame_alerts in zip(truth, inputs, results, strict=True):
                for a in frame_alerts:
                    _match_alert(a, idx, boxes, fin, run_tracks, wl_person, identities, passed, audit)
                fin.image[...] = 0  # the frame held non-matched faces: gone at once
            c = pipe.counters
            audit.append(
                (
                    "real_deletion_batch",
                    {
                        "batch": b0 // FRAMES_PER_BATCH,
                        "frames": len(inputs),
                        "probes_deleted": c.probes_deleted - last_deleted,
                        "what": "non-matched probes (gated out or below threshold), at once",
                        "stored": 0,
                    },
                )
            )
            last_deleted = c.probes_deleted
            if progress is not None:
                progress(min(b0 + FRAMES_PER_BATCH, len(frames_plan)), len(frames_plan))
    finally:
        pipe.close()
        passed.counters = pipe.counters
        gov = ctx.scenario.governance
        if gov is None or gov.retention.watchlist != "keep":
            wl.destroy()
    return passed
