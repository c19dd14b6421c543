"""The live recognition pipeline: detect → quality gate → embed → 1:N search → alert.

:class:`RecognitionPipeline` runs a real :class:`~twin.recognition.engines.base.FaceEngine` against a
:class:`~twin.recognition.watchlist.Watchlist` on camera frames, as an LFR van's system does:

1. **detect** faces in each frame (frames of a batch in parallel threads: ONNX Runtime and dlib's
   HOG with ``det_scores=False`` release the GIL);
2. **quality gate**: drop faces whose inter-eye distance (from the landmarks), detector score or
   estimated yaw fail the :class:`QualityGate`;
3. **embed** every face that passed, of all frames of a batch, in one engine call;
4. **search** all probes in one 1:N call (one matrix product);
5. **alert** when the top candidate's score is at least the threshold.

Privacy (DESIGN.md, Runs on disk): a probe that raises no alert is deleted at once: its embedding
row is overwritten with zeros in memory and dropped with its candidate list; no crop is ever cut
for it, and nothing is written anywhere. Only alerts keep a copy of the probe crop and the
candidate list, for operator review (other people's faces inside a crop's margin are painted over).
:attr:`RecognitionPipeline.counters` counts what was
processed and deleted, for the retention log; :attr:`RecognitionPipeline.last_batch` says how long each
stage of the last batch took (the stress test's stage figures, :mod:`twin.sim.stress`).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.errors import EngineError, WatchlistError
from twin.recognition.engines.base import Face, FaceEngine, check_threshold
from twin.recognition.faces.io import check_rgb
from twin.recognition.watchlist import CandidateList, Watchlist

__all__ = [
    "NOSE_DEPTH_IED",
    "Alert",
    "BatchStats",
    "FrameInput",
    "PipelineCounters",
    "QualityGate",
    "RecognitionPipeline",
    "estimate_yaw_deg",
]

logger = logging.getLogger(__name__)

#: Depth of the nose tip in front of the eyes, as a fraction of the inter-eye distance, for the
#: landmark yaw estimate (anthropometric: nose protrusion ~35 mm, inter-eye distance ~63 mm;
#: Farkas 1994). An approximation: the estimate is rough beyond ±45°.
NOSE_DEPTH_IED: float = 0.55

#: Margin cut around an alert's face box for the review crop, as a fraction of the box side.
CROP_MARGIN: float = 0.25

#: Grey level painted over other people's faces that reach into an alert's review crop.
BLANK_GREY: int = 128


def estimate_yaw_deg(kps: np.ndarray) -> float:
    """Rough head yaw from five landmarks: the nose's sideways offset from the eye midpoint.

    yaw ≈ asin(offset / (NOSE_DEPTH_IED · frontal IED)), with the frontal IED recovered as
    ied / cos(yaw) by a fixed-point iteration. Positive when the nose points to image right.

    Args:
        kps: (5, 2) landmarks, Face.kps order.

    Returns:
        yaw in degrees, in [-90, 90].

    >>> k = np.array([[40, 50], [60, 50], [50, 60], [42, 70], [58, 70]], np.float32)
    >>> estimate_yaw_deg(k)
    0.0
    """
    k = np.asarray(kps, np.float64)
    eye_mid = (k[0] + k[1]) / 2.0
    ied = float(np.hypot(*(k[1] - k[0])))
    if ied <= 0:
        return 0.0
    axis = (k[1] - k[0]) / ied
    offset = float(np.dot(k[2] - eye_mid, axis))
    yaw = 0.0
    for _ in range(8):
        frontal = ied / max(math.cos(yaw), 0.2)
        yaw = math.asin(max(-1.0, min(1.0, offset / (NOSE_DEPTH_IED * frontal))))
    return math.degrees(yaw)


@dataclass(frozen=True)
class QualityGate:
    """Which detected faces are searched.

    Attributes:
        min_ied_px: smallest inter-eye distance, pixels (DESIGN.md default 30; ISO/IEC 19794-5
            asks 60 for enrolment, LFR vendors quote 30–40 for live probes).
        max_ied_px: largest, pixels, or None.
        min_det_score: smallest detector score (engine scale), or None. A face without a score
            (NaN, e.g. dlib with ``det_scores=False``) fails a score gate.
        max_abs_yaw_deg: largest |yaw| estimated from landmarks (:func:`estimate_yaw_deg`), or
            None to skip (DESIGN.md capture default 30°).
    """

    min_ied_px: float = 30.0
    max_ied_px: float | None = None
    min_det_score: float | None = None
    max_abs_yaw_deg: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_ied_px) and self.min_ied_px >= 0):
            raise EngineError(f"min_ied_px {self.min_ied_px!r} must be >= 0 pixels")
        if self.max_ied_px is not None and not self.max_ied_px > self.min_ied_px:
            raise EngineError(f"max_ied_px {self.max_ied_px!r} must exceed min_ied_px {self.min_ied_px}")
        if self.max_abs_yaw_deg is not None and not 0 < self.max_abs_yaw_deg <= 90:
            raise EngineError(f"max_abs_yaw_deg {self.max_abs_yaw_deg!r} must be in (0, 90]")

    def reason(self, face: Face) -> str | None:
        """Why the face fails the gate ("ied_px", "det_score", "yaw_deg"), or None if it passes."""
        ied = face.ied_px
        if ied < self.min_ied_px or (self.max_ied_px is not None and ied > self.max_ied_px):
            return "ied_px"
        if (
            self.min_det_score is not None and not face.det_score >= self.min_det_score
        ):  # NaN (no score) fails
            return "det_score"
        if self.max_abs_yaw_deg is not None and abs(estimate_yaw_deg(face.kps)) > self.max_abs_yaw_deg:
            return "yaw_deg"
        return None


@dataclass(frozen=True)
class FrameInput:
    """One camera frame to process.

    Attributes:
        image: (H, W, 3) uint8 RGB.
        t_s: capture time, seconds since the run start.
        camera_id: the camera that took it.
    """

    image: np.ndarray
    t_s: float
    camera_id: str


@dataclass(frozen=True, kw_only=True)
class Alert:
    """A probe whose top candidate scored at least the threshold: kept for operator review.

    Attributes:
        t_s: capture time, seconds since the run start.
        camera_id: the camera.
        probe_id: running number of the probe in this pipeline.
        box: (x0, y0, x1, y1) face box in frame pixels.
        ied_px: inter-eye distance from the landmarks, pixels.
        score: the top candidate's score.
        identity: the top candidate's identity.
        is_filler: the top candidate is a synthetic filler (a false alert by construction).
        threshold: the threshold in force.
        candidates: the full candidate list (best first).
        probe_crop: (h, w, 3) uint8 RGB crop of the face with a 25% margin (read-only copy); other
            detected faces reaching into the margin are painted grey.
    """

    t_s: float
    camera_id: str
    probe_id: int
    box: tuple[float, float, float, float]
    ied_px: float
    score: float
    identity: str
    is_filler: bool
    threshold: float
    candidates: CandidateList
    probe_crop: np.ndarray


@dataclass(frozen=True, kw_only=True)
class PipelineCounters:
    """Counts since the pipeline started (for the retention log).

    Attributes:
        frames: frames processed.
        faces_detected: faces the detector returned.
        gated_out: faces dropped by the quality gate (never embedded), by reason.
        probes_searched: probes embedded and searched.
        alerts: alerts raised.
        probes_deleted: probes deleted at once: gated out plus searched without an alert.
    """

    frames: int = 0
    faces_detected: int = 0
    gated_out: tuple[tuple[str, int], ...] = ()
    probes_searched: int = 0
    alerts: int = 0
    probes_deleted: int = 0


@dataclass(frozen=True, kw_only=True)
class BatchStats:
    """What one :meth:`RecognitionPipeline.process_batch` call did, and how long its stages took.

    Attributes:
        detect_s: per frame, wall-clock seconds of its detector call (with ``detect_workers > 1`` the
            calls overlap in threads, so their sum can exceed the batch's duration).
        faces: per frame, faces the detector returned.
        probes: per frame, faces that passed the quality gate (embedded and searched).
        embed_s: seconds of the one embedding call of the batch (0 with no probe).
        search_s: seconds of the one 1:N search of the batch (0 with no probe).
        total_s: seconds of the whole call (checks, detection, gate, embedding, search, alerts).
    """

    detect_s: tuple[float, ...]
    faces: tuple[int, ...]
    probes: tuple[int, ...]
    embed_s: float
    search_s: float
    total_s: float


class RecognitionPipeline:
    """Detect → gate → embed → search → alert, on frames; see the module docstring.

    Args:
        engine: a :class:`~twin.recognition.engines.base.FaceEngine` (an ``embed_batch`` method, if present,
        is
            used to embed all faces of a batch in one call).
        watchlist: the watchlist, built with the same engine (same ``model_id`` and ``dim``).
        threshold: alert threshold on the engine's score scale; default ``engine.default_threshold``.
        gate: the :class:`QualityGate`.
        k: candidate list length.
        detect_workers: threads detecting the frames of a batch (default: CPU count, at most 8).

    Raises:
        EngineError: threshold outside the engine's score range.
        WatchlistError: the watchlist was made by another engine, is empty or destroyed.
    """

    def __init__(
        self,
        engine: FaceEngine,
        watchlist: Watchlist,
        *,
        threshold: float | None = None,
        gate: QualityGate | None = None,
        k: int = 5,
        detect_workers: int | None = None,
    ) -> None:
        if watchlist.model_id != engine.model_id or watchlist.dim != int(engine.dim):
            raise WatchlistError(
                f"the watchlist holds {watchlist.model_id} ({watchlist.dim}-d) embeddings but the engine is "
                f"{engine.model_id} ({engine.dim}-d); enrol the watchlist with this engine"
            )
        if watchlist.is_destroyed or watchlist.size == 0:
            raise WatchlistError("the watchlist is empty or destroyed; enrol faces first")
        self.engine = engine
        self.watchlist = watchlist
        self.threshold = check_threshold(engine, engine.default_threshold if threshold is None else threshold)
        self.gate = gate or QualityGate()
        if not isinstance(k, int) or k < 1:
            raise WatchlistError(f"k {k!r} must be a positive integer")
        self.k = k
        self.detect_workers = detect_workers or min(8, os.cpu_count() or 1)
        self._pool: ThreadPoolExecutor | None = None
        self._frames = 0
        self._faces = 0
        self._gated: dict[str, int] = {}
        self._searched = 0
        self._alerts = 0
        self._deleted = 0
        #: the last :meth:`process_batch` call's :class:`BatchStats` (None before the first).
        self.last_batch: BatchStats | None = None

    @property
    def counters(self) -> PipelineCounters:
        """A snapshot of the counts so far."""
        return PipelineCounters(
            frames=self._frames,
            faces_detected=self._faces,
            gated_out=tuple(sorted(self._gated.items())),
            probes_searched=self._searched,
            alerts=self._alerts,
            probes_deleted=self._deleted,
        )

    def process(self, frame: np.ndarray, t_s: float, camera_id: str) -> list[Alert]:
        """Process one frame.

        Args:
            frame: (H, W, 3) uint8 RGB.
            t_s: capture time, seconds since the run start.
            camera_id: the camera.

        Returns:
            the alerts raised (possibly none).

        Raises:
            ImageError: the frame is not (H, W, 3) uint8.
        """
        return self.process_batch([FrameInput(image=frame, t_s=t_s, camera_id=camera_id)])[0]

    def process_batch(
        self, frames: Sequence[FrameInput | tuple[np.ndarray, float, str]]
    ) -> list[list[Alert]]:
        """Process several frames with one embedding batch and one search.

        Args:
            frames: :class:`FrameInput` or (image, t_s, camera_id) tuples.

        Returns:
            for each frame, its alerts.

        Raises:
            ImageError: a frame is not (H, W, 3) uint8.
        """
        t0 = time.perf_counter()
        items = [f if isinstance(f, FrameInput) else FrameInput(*f) for f in frames]
        images = [check_rgb(f.image, name=f"frame of {f.camera_id} at t={f.t_s}") for f in items]
        if not images:
            return []
        timed = self._detect_all(images)
        detections = [faces for faces, _ in timed]
        self._frames += len(images)

        kept = self._gate_all(detections)
        results: list[list[Alert]] = [[] for _ in items]
        n_probes = sum(len(k) for k in kept)
        stats: dict[str, Any] = {
            "detect_s": tuple(dt for _, dt in timed),
            "faces": tuple(len(f) for f in detections),
            "probes": tuple(len(k) for k in kept),
        }
        if n_probes == 0:
            self.last_batch = BatchStats(**stats, embed_s=0.0, search_s=0.0, total_s=time.perf_counter() - t0)
            return results

        t_embed = time.perf_counter()
        per_frame = self._embed_all(images, kept)
        probes = np.vstack(per_frame)
        t_search = time.perf_counter()
        try:
            candidates = self.watchlist.search(probes, k=self.k)
        finally:
            # probes are deleted at once: zero the rows in place (and the engine's arrays they came
            # from), whatever the search outcome; alerts keep only their candidate lists and crops
            probes[...] = 0.0
            for arr in per_frame:
                if arr.flags.writeable:
                    arr[...] = 0.0
        t_searched = time.perf_counter()
        self._searched += n_probes
        row = 0
        for fi, (item, faces) in enumerate(zip(items, kept, strict=True)):
            for face in faces:
                cl = candidates[row]
                row += 1
                probe_id = self._searched - n_probes + row
                if cl.top_score >= self.threshold:
                    results[fi].append(self._alert(item, images[fi], face, detections[fi], cl, probe_id))
                else:
                    self._deleted += 1
        candidates.clear()
        self._alerts += sum(len(r) for r in results)
        self.last_batch = BatchStats(
            **stats,
            embed_s=t_search - t_embed,
            search_s=t_searched - t_search,
            total_s=time.perf_counter() - t0,
        )
        logger.debug(
            "batch of %d frames: %d probes searched, %d alerts, %d deleted so far",
            len(items),
            n_probes,
            sum(len(r) for r in results),
            self._deleted,
        )
        return results

    def _gate_all(self, detections: list[list[Face]]) -> list[list[Face]]:
        """The faces of each frame that pass the gate; the others are counted by reason and deleted."""
        kept: list[list[Face]] = []
        for faces in detections:
            self._faces += len(faces)
            keep = []
            for face in faces:
                why = self.gate.reason(face)
                if why is None:
                    keep.append(face)
                else:
                    self._gated[why] = self._gated.get(why, 0) + 1
                    self._deleted += 1
            kept.append(keep)
        return kept

    def _detect_all(self, images: list[np.ndarray]) -> list[tuple[list[Face], float]]:
        """(faces, seconds of the detector call) for each image."""
        if len(images) == 1 or self.detect_workers == 1:
            return [self._detect_timed(img) for img in images]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=self.detect_workers, thread_name_prefix="twin-detect")
        return list(self._pool.map(self._detect_timed, images))

    def _detect_timed(self, image: np.ndarray) -> tuple[list[Face], float]:
        t0 = time.perf_counter()
        faces = self.engine.detect(image)
        return faces, time.perf_counter() - t0

    def _embed_all(self, images: list[np.ndarray], kept: list[list[Face]]) -> list[np.ndarray]:
        batch: Any = getattr(self.engine, "embed_batch", None)
        if callable(batch):
            sel = [i for i, k in enumerate(kept) if k]
            out = batch([images[i] for i in sel], [kept[i] for i in sel])
            return [np.asarray(o, np.float32) for o in out]
        return [
            np.asarray(self.engine.embed(img, k), np.float32)
            for img, k in zip(images, kept, strict=True)
            if k
        ]

    def _alert(
        self,
        item: FrameInput,
        image: np.ndarray,
        face: Face,
        others: list[Face],
        cl: CandidateList,
        probe_id: int,
    ) -> Alert:
        x0, y0, x1, y1 = face.box
        m = CROP_MARGIN * max(x1 - x0, y1 - y0)
        h, w = image.shape[:2]
        cx0, cy0 = max(0, int(math.floor(x0 - m))), max(0, int(math.floor(y0 - m)))
        cx1, cy1 = min(w, int(math.ceil(x1 + m))), min(h, int(math.ceil(y1 + m)))
        crop = image[cy0:cy1, cx0:cx1].copy()
        # blank any other detected face reaching into the margin: a bystander is not kept for review
        own = (
            int(math.floor(x0)) - cx0,
            int(math.floor(y0)) - cy0,
            int(math.ceil(x1)) - cx0,
            int(math.ceil(y1)) - cy0,
        )
        for other in others:
            if other is face:
                continue
            ox0, oy0 = (
                max(0, int(math.floor(other.box[0])) - cx0),
                max(0, int(math.floor(other.box[1])) - cy0),
            )
            ox1, oy1 = (
                min(cx1 - cx0, int(math.ceil(other.box[2])) - cx0),
                min(cy1 - cy0, int(math.ceil(other.box[3])) - cy0),
            )
            if ox1 > ox0 and oy1 > oy0:
                keep = crop[own[1] : own[3], own[0] : own[2]].copy()
                crop[oy0:oy1, ox0:ox1] = BLANK_GREY
                crop[own[1] : own[3], own[0] : own[2]] = keep
        crop.flags.writeable = False
        return Alert(
            t_s=float(item.t_s),
            camera_id=item.camera_id,
            probe_id=probe_id,
            box=(float(x0), float(y0), float(x1), float(y1)),
            ied_px=face.ied_px,
            score=cl.top_score,
            identity=cl.identities[0],
            is_filler=cl.fillers[0] if cl.fillers else False,
            threshold=self.threshold,
            candidates=cl,
            probe_crop=crop,
        )

    def close(self) -> None:
        """Stop the detection threads (the pipeline restarts them on demand)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> RecognitionPipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
