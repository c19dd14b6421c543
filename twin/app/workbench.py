"""The Pipeline page's logic: a real engine on one image, and a synthetic probe at a chosen distance.

Pure glue over the engine protocol (:mod:`twin.recognition.engines.base`), the watchlist, the quality gate of
:mod:`twin.recognition.pipeline` and probe rendering (:mod:`twin.recognition.faces.render`); no streamlit.
Everything runs
in memory: an analysed image, its faces' embeddings and rendered probes are never written to disk.

* :func:`sample_watchlist` enrols the sample identities (one enrolment photo each) except the six
  people of insightface's group photo t1.jpg, who stay off the list and serve as passers-by for
  non-mated searches.
* :func:`analyse_image` detects every face, applies the quality gate, embeds and searches the
  faces that pass, and reports ied_px, estimated yaw, the candidate list and whether the top score
  reaches the threshold (an alert).
* :func:`synthetic_probe` renders a recorded face as a camera would record it at a ground
  distance (pinhole: ``px_per_m = width / (2 d tan(hfov/2))``, ``ied_px = 0.063 m × px_per_m``), a
  head yaw and a motion blur, then detects and searches it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from pydantic import ValidationError

from twin.errors import ImageError, ScenarioError, WatchlistError
from twin.recognition.engines.base import Face, FaceEngine
from twin.recognition.faces.bank import FaceBank
from twin.recognition.faces.io import MAX_PIXELS, check_rgb, decode_image
from twin.recognition.faces.render import RenderedProbe, motion_blur_px, render_probe
from twin.recognition.pipeline import QualityGate, estimate_yaw_deg
from twin.recognition.watchlist import CandidateList, Watchlist, WatchlistEntry
from twin.scenario.specs import CameraSpec, CrowdSpec
from twin.world.camera import FACE_HEIGHT_M, IED_M, Camera, dori_level

__all__ = [
    "GATE_TEXT",
    "OFF_LIST_PREFIX",
    "WALKING_SPEED_M_S",
    "FaceReport",
    "ProbeReport",
    "analyse_image",
    "annotate",
    "decode",
    "gate_text",
    "lens_camera",
    "probe_geometry",
    "quality_gate",
    "sample_images",
    "sample_watchlist",
    "score_and_threshold",
    "synthetic_probe",
    "walking_blur_px",
]

#: Identities with this prefix (the people of t1.jpg) are kept off the sample watchlist.
OFF_LIST_PREFIX = "t1_person_"
#: What the Pipeline page says of a face's quality-gate outcome (:attr:`FaceReport.gate`).
GATE_TEXT: dict[str | None, str] = {
    None: "searched",
    "ied_px": "too small (ied)",
    "det_score": "weak detection",
    "yaw_deg": "turned away (yaw)",
}
#: The walking speed whose motion blur the synthetic probe shows by default, m/s: the crowd's mean
#: free speed (Weidmann 1993, :class:`twin.scenario.specs.CrowdSpec`).
WALKING_SPEED_M_S: float = CrowdSpec().free_speed_mean_m_s


def decode(data: bytes, name: str) -> np.ndarray:
    """An uploaded or sample image's bytes as (H, W, 3) uint8 RGB, in memory only.

    Images above :data:`twin.recognition.faces.io.MAX_PIXELS` are refused from their header,
    before decoding (a 10 MB upload limit lets big PNGs through).

    Raises:
        ImageError: not an image, or too large.
    """
    return decode_image(data, name=name, max_pixels=MAX_PIXELS)


def quality_gate(min_ied_px: float, max_abs_yaw_deg: float) -> QualityGate:
    """The live pipeline's quality gate with the page's limits."""
    return QualityGate(min_ied_px=float(min_ied_px), max_abs_yaw_deg=float(max_abs_yaw_deg))


def lens_camera(cameras: list[dict[str, Any]], camera_id: str | None) -> Camera:
    """A camera with the lens of the plan's camera ``camera_id`` (sensor, field of view, height, shutter), at
    the origin.

    Without cameras (or an unknown id) the default lens (:class:`twin.scenario.specs.CameraSpec`).

    Raises:
        ScenarioError: the plan's camera entry is invalid.
    """
    doc = next((c for c in cameras if c.get("id") == camera_id), None)
    if doc is None:
        return Camera(id="probe", x=0.0, y=0.0)
    try:
        spec = CameraSpec.model_validate(doc)
    except ValidationError as exc:
        raise ScenarioError(f"camera {camera_id}: {exc.errors()[0]['msg']}") from exc
    return Camera(
        id="probe",
        x=0.0,
        y=0.0,
        mount_height_m=spec.mount_height_m,
        hfov_deg=spec.hfov_deg,
        width_px=spec.width_px,
        height_px=spec.height_px,
        exposure_s=spec.exposure_s,
    )


def walking_blur_px(camera: Camera, px_per_m: float) -> float:
    """Motion blur, px, of a face walking at :data:`WALKING_SPEED_M_S` seen by ``camera`` at ``px_per_m``."""
    return float(motion_blur_px(WALKING_SPEED_M_S, camera.exposure_s, px_per_m))


def sample_watchlist(engine: FaceEngine, bank: FaceBank) -> Watchlist:
    """A watchlist of the bank's identities, one entry each from its enrolment image.

    Identities starting with :data:`OFF_LIST_PREFIX` are left off (they are the passers-by).

    Raises:
        WatchlistError: no identity could be enrolled.
    """
    wl = Watchlist.for_engine(engine)
    embs, entries = [], []
    for ident in bank.identities:
        if ident.startswith(OFF_LIST_PREFIX):
            continue
        src = bank.enrolment_image(ident)
        try:
            img = bank.load(src)
            face = bank.face(src, engine)
        except ImageError:
            continue
        embs.append(engine.embed(img, [face])[0])
        entries.append(WatchlistEntry(ident, src.source, category="sample"))
    if not entries:
        raise WatchlistError(
            "no sample identity could be enrolled; run `twin samples` to fetch the sample photos"
        )
    wl.add(np.vstack(embs).astype(np.float32), entries)
    return wl


def sample_images(bank: FaceBank, watchlist: Watchlist) -> dict[str, Path]:
    """Probe images to offer, labelled by who is in them and whether they are on the watchlist.

    A watchlisted identity's other photos (not its enrolment photo) come first: mated searches.
    """
    listed = set(watchlist.identities)
    out: dict[str, Path] = {}
    seen: set[Path] = set()
    for ident in bank.identities:
        srcs = bank.sources(ident)
        for i, src in enumerate(srcs):
            if src.path is None or src.path in seen:
                continue
            seen.add(src.path)
            who = ident.replace("_", " ").title()
            if ident.startswith(OFF_LIST_PREFIX):
                label = f"{src.path.name}: six people, none on the watchlist"
            elif i == 0:
                label = f"{src.path.name}: {who}, the enrolment photo itself (scores near 1)"
            elif ident in listed:
                label = f"{src.path.name}: {who}, another photo (on the watchlist)"
            else:
                label = f"{src.path.name}: {who}"
            out[label] = src.path
    return dict(
        sorted(out.items(), key=lambda kv: ("another photo" not in kv[0], "none on" not in kv[0], kv[0]))
    )


@dataclass(frozen=True, kw_only=True)
class FaceReport:
    """One detected face in an analysed image.

    Attributes:
        index: 1-based number, largest face first.
        box: (x0, y0, x1, y1) pixels.
        ied_px: inter-eye distance from the landmarks, pixels.
        yaw_deg: head yaw estimated from the landmarks, degrees.
        det_score: detector score (engine scale).
        gate: why the quality gate dropped it ("ied_px", "det_score", "yaw_deg"), or None if searched.
        candidates: the candidate list (None when gated out: never embedded).
        alert: the top score reached the threshold.
    """

    index: int
    box: tuple[float, float, float, float]
    ied_px: float
    yaw_deg: float
    det_score: float
    gate: str | None
    candidates: CandidateList | None
    alert: bool

    @property
    def top(self) -> tuple[str | None, float | None]:
        """(identity, score) of the rank-1 candidate, or (None, None)."""
        if self.candidates is None or not len(self.candidates.scores):
            return None, None
        return self.candidates.top_identity, self.candidates.top_score


def analyse_image(
    engine: FaceEngine,
    watchlist: Watchlist,
    image: np.ndarray,
    *,
    threshold: float,
    gate: QualityGate | None = None,
    k: int = 3,
) -> list[FaceReport]:
    """Detect, gate, embed and search every face of one image.

    Args:
        engine: a real engine (detect + embed).
        watchlist: built with the same engine.
        image: (H, W, 3) uint8 RGB.
        threshold: alert threshold on the engine's score scale.
        gate: quality gate (default :class:`twin.recognition.pipeline.QualityGate` with min ied 30 px).
        k: candidate list length.

    Returns:
        one :class:`FaceReport` per detected face, largest first.

    Raises:
        ImageError: not an (H, W, 3) uint8 image.
        WatchlistError: the watchlist was built with another engine or destroyed.
    """
    img = check_rgb(image)
    if watchlist.model_id != engine.model_id:
        raise WatchlistError(
            f"watchlist built with {watchlist.model_id}, engine is {engine.model_id}; enrol it with this "
            "engine"
        )
    gate = gate or QualityGate()
    faces = engine.detect(img)
    passed = [f for f in faces if gate.reason(f) is None]
    cands: dict[int, CandidateList] = {}
    if passed:
        emb = engine.embed(img, passed)
        for f, c in zip(passed, watchlist.search(emb, k=k), strict=True):
            cands[id(f)] = c
        emb[:] = 0.0  # templates are not kept
    out = []
    for i, f in enumerate(faces, start=1):
        got = cands.get(id(f))
        x0, y0, x1, y1 = (float(v) for v in f.box)
        out.append(
            FaceReport(
                index=i,
                box=(x0, y0, x1, y1),
                ied_px=f.ied_px,
                yaw_deg=estimate_yaw_deg(f.kps),
                det_score=float(f.det_score),
                gate=gate.reason(f),
                candidates=got,
                alert=got is not None and got.top_score >= threshold,
            )
        )
    return out


def annotate(image: np.ndarray, reports: list[FaceReport]) -> np.ndarray:
    """A copy of ``image`` with each face boxed and numbered: red alert, green searched, amber gated out."""
    out = np.ascontiguousarray(check_rgb(image).copy())
    lw = max(2, int(round(max(out.shape[:2]) / 400)))
    for r in reports:
        colour = (211, 47, 47) if r.alert else (46, 125, 50) if r.gate is None else (255, 160, 0)
        x0, y0, x1, y1 = (int(round(v)) for v in r.box)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, lw)
        scale = max(0.5, lw / 3)
        (tw, th), _ = cv2.getTextSize(str(r.index), cv2.FONT_HERSHEY_SIMPLEX, scale, lw)
        ty = max(th + 4, y0 - 4)
        cv2.rectangle(out, (x0, ty - th - 4), (x0 + tw + 6, ty + 2), colour, -1)
        cv2.putText(
            out,
            str(r.index),
            (x0 + 3, ty - 1),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (255, 255, 255),
            lw,
            cv2.LINE_AA,
        )
    return out


def score_and_threshold(score: float, threshold: float) -> tuple[str, str]:
    """A score and the threshold as text, with as many decimals (3 to 6) as it takes to tell them apart, so
    a score just below the threshold never prints as equal to it.

    >>> score_and_threshold(0.9297, 0.93), score_and_threshold(0.6412, 0.6), score_and_threshold(0.93, 0.93)
    (('0.9297', '0.9300'), ('0.641', '0.600'), ('0.930', '0.930'))
    """
    for d in range(3, 7):
        a, b = f"{score:.{d}f}", f"{threshold:.{d}f}"
        if a != b or score == threshold:
            return a, b
    return f"{score:.6f}", f"{threshold:.6f}"


def gate_text(reason: str, gate: QualityGate) -> str:
    """What a quality-gate outcome means, with the gate's limit (for the Pipeline page's verdicts).

    >>> gate_text("yaw_deg", QualityGate(min_ied_px=30, max_abs_yaw_deg=30))
    'turned away (yaw): the gate takes |yaw| ≤ 30°'
    """
    limits = {
        "ied_px": f"the gate takes ≥ {gate.min_ied_px:g} px between the eyes",
        "yaw_deg": f"the gate takes |yaw| ≤ {gate.max_abs_yaw_deg:g}°"
        if gate.max_abs_yaw_deg is not None
        else "",
        "det_score": f"the gate takes detector scores ≥ {gate.min_det_score:g}" if gate.min_det_score else "",
    }
    limit = limits.get(reason, "")
    return f"{GATE_TEXT.get(reason, reason)}" + (f": {limit}" if limit else "")


def probe_geometry(distance_m: float, camera: Camera) -> dict[str, float | str]:
    """Pinhole geometry of a face at a ground distance from a camera.

    Returns:
        ``slant_m`` (lens to face, m), ``px_per_m``, ``ied_px``, ``dori`` level name.

    >>> g = probe_geometry(10.0, Camera(id="c", x=0, y=0, mount_height_m=3.0, hfov_deg=30.0))
    >>> round(g["px_per_m"], 1), round(g["ied_px"], 1), g["dori"]
    (354.8, 22.4, 'identify')
    """
    if not (distance_m > 0 and math.isfinite(distance_m)):
        raise ImageError(f"distance {distance_m} m must be a positive number")
    slant = math.hypot(distance_m, camera.mount_height_m - FACE_HEIGHT_M)
    ppm = camera.width_px / (2 * slant * camera.tan_half_hfov)
    return {"slant_m": slant, "px_per_m": ppm, "ied_px": IED_M * ppm, "dori": str(dori_level(ppm))}


@dataclass(frozen=True, kw_only=True)
class ProbeReport:
    """A synthetic probe and what the engine made of it.

    Attributes:
        probe: the rendered probe (patch, landmarks).
        geometry: :func:`probe_geometry` output.
        detected: the detector found the face in the patch.
        candidates: the candidate list (searched at the detected face, else at the rendered landmarks).
        mated_score: score against the identity's own entry, or None if it is not on the watchlist.
        gate: why the live pipeline's quality gate would drop the face ("ied_px", "det_score",
            "yaw_deg": the landmarks' yaw estimate or the rendered yaw beyond the gate's limit), or None
            if it would be searched. The scores are shown either way.
        alert: the face passes the gate and the top score reaches the threshold.
        from_enrolment: rendered from the enrolment photo itself (the mated score is optimistic).
    """

    probe: RenderedProbe
    geometry: dict[str, Any]
    detected: bool
    candidates: CandidateList
    mated_score: float | None
    gate: str | None
    alert: bool
    from_enrolment: bool


def synthetic_probe(
    engine: FaceEngine,
    watchlist: Watchlist,
    bank: FaceBank,
    identity: str,
    *,
    distance_m: float,
    yaw_deg: float,
    blur_px: float,
    camera: Camera | None = None,
    threshold: float,
    rng: np.random.Generator,
    noise_sd: float = 2.0,
    jpeg_quality: int | None = 90,
    k: int = 3,
    gate: QualityGate | None = None,
) -> ProbeReport:
    """Render ``identity`` as ``camera`` would record it at ``distance_m``, and search it.

    Args:
        engine, watchlist: the engine and its watchlist.
        bank: the face bank holding ``identity``.
        identity: whom to render (its probe photo, not the enrolment photo, where it has one).
        distance_m: ground distance from the camera to the person, m.
        yaw_deg: head yaw relative to the camera, degrees (|yaw| < 90).
        blur_px: motion blur length, pixels.
        camera: the camera (default: a van roof camera, 1920 px wide, 30° hFOV, 3 m mast).
        threshold: alert threshold on the engine's scale.
        rng: for sensor noise.
        noise_sd: sensor noise SD, grey levels.
        jpeg_quality: JPEG round trip quality, or None.
        k: candidate list length.
        gate: the live pipeline's quality gate (default min ied 30 px), applied to the face searched.

    Raises:
        ImageError: bad parameters or the source photo shows no face.
        WatchlistError: unknown identity.
    """
    camera = camera or Camera(id="probe_camera", x=0.0, y=0.0)
    geo = probe_geometry(distance_m, camera)
    src = bank.probe_image(identity)
    img = bank.load(src)
    face = bank.face(src, engine)
    probe = render_probe(
        img,
        face,
        ied_px=float(geo["ied_px"]),
        rng=rng,
        yaw_deg=yaw_deg,
        blur_px=blur_px,
        noise_sd=noise_sd,
        jpeg_quality=jpeg_quality,
    )
    found = engine.detect(probe.patch)
    target = found[0] if found else Face(box=probe.box, kps=probe.kps, det_score=float("nan"))
    emb = engine.embed(probe.patch, [target])
    cand = watchlist.search(emb, k=max(k, watchlist.size))[0]
    mated = None
    if identity in cand.identities:
        mated = float(cand.scores[cand.identities.index(identity)])
    emb[:] = 0.0
    top = CandidateList(cand.indices[:k], cand.identities[:k], cand.scores[:k], cand.fillers[:k])
    gate = gate or QualityGate()
    reason = gate.reason(target)
    if reason is None and gate.max_abs_yaw_deg is not None and abs(yaw_deg) > gate.max_abs_yaw_deg:
        # The render turns the head by squeezing a frontal photo (twin.recognition.faces.render), which
        # keeps the landmarks nearly frontal, so their yaw estimate misses the turn: the gate is applied
        # to the yaw rendered, as the simulation's capture gate applies it to the head's pose.
        reason = "yaw_deg"
    return ProbeReport(
        probe=probe,
        geometry=geo,
        detected=bool(found),
        candidates=top,
        mated_score=mated,
        gate=reason,
        alert=reason is None and top.top_score >= threshold,
        from_enrolment=src == bank.enrolment_image(identity),
    )
