"""Fitting the statistical engine: to published figures (``twin calibrate --npl``) and to a real engine.

:func:`fit_mated_mean` sets ``ScoreModel.mated_mean_max`` so that a scenario's per-pass TPIR at
its threshold hits a target (NPL 2023: 0.89 at 0.6 for a van deployment). Everyone is put on the
watchlist (prevalence 1), so every pass through the zone is a mated pass and the estimate is
precise; the fit shifts each stored best-capture mean by the same amount, which leaves the choice
of best capture unchanged, so no re-simulation is needed.

:func:`calibrate_engine` (``twin calibrate --engine dlib --faces DIR``) measures a real engine's
mated and non-mated scores against capture quality and writes a :class:`ScoreModel` that
``engine.kind: statistical`` + ``engine.score_model: <file>`` loads:

* **probes**: every image of every identity (but the enrolment image of an identity that has
  others) is rendered over a grid of ``ied_px`` × ``yaw_deg`` × ``blur_px``
  (:func:`twin.recognition.faces.render.render_probe`, with sensor noise and a JPEG round trip) and embedded
  at its known face box (oracle alignment: detection failures are a capture matter, simulated
  elsewhere); the gallery is each identity's enrolment image at full resolution;
* **scores**: a probe against its own identity's gallery entry is mated (never the same image);
  against every other identity's entry, non-mated;
* **scale**: the engine's raw score is mapped affinely onto [0, 1] so that the measured non-mated
  mean lands on 0.25 and the engine's calibrated default threshold (dlib: cosine 0.93) on 0.6, the
  NeoFace-like scale's body mean and operating point. The map is stored in the file
  (:class:`~twin.scoring.score_model.ScoreMap`), so 0.6 in a statistical run with this model
  means the engine's own operating point, and a real-engine run's threshold translates exactly;
* **non-mated body**: the mean is 0.25 by construction, the SD is measured; the generalised Pareto
  tail is spliced at 2 SD above the mean, its scale measured from the mean excess of the
  scores above it (β = (1 − ξ) × mean excess; with fewer than 20
  such scores, β = SD² / (u − mean), the normal's local decay rate) and the shape ξ kept at the NPL
  model's 0.05: a few thousand impostor pairs cannot measure the extreme tail, so FPIR figures far
  out in it are an extrapolation (the CLI prints the measured FMR at the threshold beside it);
* **mated mean**: ``mated_mean_max``, ``ied_coef``, ``yaw_coef`` and ``blur_coef`` of
  :meth:`ScoreModel.mated_mean` by bounded least squares (coefficients ≥ 0) on every mated score;
  ``mated_sd`` is the residual SD; ``mated_person_corr`` the between-identity share of the
  residual variance (kept at its default when fewer than 2 identities give mated scores);
  ``pitch_coef`` is not measured (no pitch warp): it keeps the NPL model's pitch-to-yaw ratio;
* **groups** (optional): an identity folder with ``groups.csv`` (``identity,group``) gets one
  :class:`~twin.scoring.score_model.GroupEffect` per group: the false-match multiplier is the
  group's share of non-mated scores above the pooled 90th percentile over 10%, held at every
  threshold (centre 1.0), and the mated shift is the group's mean mated residual.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import CalibrationError, ImageError
from twin.recognition.engines.base import Face
from twin.recognition.faces.render import render_probe
from twin.scoring.metrics import pooled_tpir
from twin.scoring.score_model import GroupEffect, ScoreMap, ScoreModel
from twin.sim.run import RunResult

if TYPE_CHECKING:
    from twin.recognition.faces.bank import FaceBank, FaceSource

__all__ = [
    "CalibrationGrid",
    "CellStats",
    "EngineCalibration",
    "calibrate_engine",
    "cell_rows",
    "fit_mated_mean",
    "grid_values",
    "per_pass_tpir",
    "read_groups",
]

logger = logging.getLogger(__name__)


def per_pass_tpir(result: RunResult, *, mated_shift: float = 0.0, threshold: float | None = None) -> float:
    """Per-pass TPIR pooled over a run's replications with everyone on the watchlist.

    Args:
        result: a finished run.
        mated_shift: added to every mated mean score (what a change of ``mated_mean_max`` does).
        threshold: default the scenario's.

    Returns:
        true alerts / passes through the zone, pooled over replications.
    """
    t = result.scenario.watchlist.threshold if threshold is None else threshold
    tpir, passes = pooled_tpir(
        result.reps,
        result.context.score_model,
        threshold=t,
        watchlist_size=result.scenario.watchlist.size,
        mated_shift=mated_shift,
    )
    if passes == 0:
        raise CalibrationError(
            "no pass through any camera's recognition zone: cannot fit TPIR; check the cameras"
        )
    return tpir


def fit_mated_mean(result: RunResult, *, target_tpir: float = 0.89, tol: float = 1e-4) -> dict[str, Any]:
    """Find ``mated_mean_max`` giving ``target_tpir`` per pass for this run's scenario.

    Args:
        result: a run of the reference scenario (default cameras and gate), with enough passes
            (tens of thousands) for a precise estimate.
        target_tpir: per-pass TPIR to reach (NPL 2023: 0.89 at threshold 0.6).
        tol: bisection tolerance on the score scale.

    Returns:
        dict with ``mated_mean_max``, the achieved TPIR, the number of passes, and the ceiling
        (TPIR with a perfect matcher: the share of passes with a usable capture).

    Raises:
        CalibrationError: the target exceeds what capture allows (the ceiling).
    """
    ceiling = per_pass_tpir(result, mated_shift=1.0)
    if target_tpir >= ceiling:
        raise CalibrationError(
            f"target TPIR {target_tpir} is above the capture ceiling {ceiling:.3f} of this scenario "
            "(passes without a usable capture); loosen the gate or move the cameras"
        )
    lo, hi = -1.0, 1.0
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if per_pass_tpir(result, mated_shift=mid) < target_tpir:
            lo = mid
        else:
            hi = mid
    shift = (lo + hi) / 2
    tpir, passes = pooled_tpir(
        result.reps,
        result.context.score_model,
        threshold=result.scenario.watchlist.threshold,
        watchlist_size=result.scenario.watchlist.size,
        mated_shift=shift,
    )
    return {
        "mated_mean_max": result.context.score_model.mated_mean_max + shift,
        "tpir": tpir,
        "passes": passes,
        "ceiling": ceiling,
    }


# --- calibration against a real engine ----------------------------------------------------------

#: Where the engine's mean non-mated score and its default threshold land on the [0, 1] scale
#: (the NPL model's non-mated body mean and operating threshold).
UNIT_NONMATED_MEAN = 0.25
UNIT_THRESHOLD = 0.6
#: The non-mated tail is spliced this many body SDs above the mean.
TAIL_SPLICE_SD = 2.0
#: Fewest non-mated scores above the splice to measure the tail's scale from them.
MIN_TAIL_EXCEEDANCES = 20


@dataclass(frozen=True, kw_only=True)
class CalibrationGrid:
    """The capture conditions probes are rendered at.

    Attributes:
        ied_px: inter-eye distances, pixels (DESIGN.md gate 30; 12 is below any LFR gate).
        yaw_deg: head yaw, degrees.
        blur_px: horizontal motion blur, pixels.
        jpeg_quality: JPEG round trip quality (1-100).
        noise_sd: sensor noise SD, grey levels.
        repeats: renders per image and cell (fresh noise each).
    """

    ied_px: tuple[float, ...] = (12.0, 20.0, 30.0, 45.0, 60.0)
    yaw_deg: tuple[float, ...] = (0.0, 20.0, 40.0)
    blur_px: tuple[float, ...] = (0.0, 2.0, 4.0)
    jpeg_quality: int = 75
    noise_sd: float = 3.0
    repeats: int = 1

    def __post_init__(self) -> None:
        if not (self.ied_px and self.yaw_deg and self.blur_px):
            raise CalibrationError(
                "the calibration grid needs at least one ied_px, yaw_deg and blur_px value"
            )
        if any(not (v > 0 and math.isfinite(v)) for v in self.ied_px):
            raise CalibrationError(f"ied_px values {self.ied_px} must be > 0 pixels")
        if any(not abs(v) < 90 for v in self.yaw_deg):
            raise CalibrationError(f"yaw_deg values {self.yaw_deg} must lie inside (-90, 90)")
        if any(not v >= 0 for v in self.blur_px):
            raise CalibrationError(f"blur_px values {self.blur_px} must be >= 0")
        if not 1 <= self.jpeg_quality <= 100 or self.repeats < 1:
            raise CalibrationError(
                f"jpeg_quality {self.jpeg_quality} must be 1-100 and repeats {self.repeats} >= 1"
            )

    @property
    def cells(self) -> list[tuple[float, float, float]]:
        """(ied_px, yaw_deg, blur_px) of every cell."""
        return [(i, y, b) for i in self.ied_px for y in self.yaw_deg for b in self.blur_px]


@dataclass(frozen=True, kw_only=True)
class CellStats:
    """Mated and non-mated scores of one grid cell, on the engine's raw scale.

    Attributes:
        ied_px, yaw_deg, blur_px: the cell.
        n_mated, n_nonmated: scores measured.
        mated_mean, mated_min: mated scores.
        nonmated_mean, nonmated_max: non-mated scores.
        d_prime: (mated mean − non-mated mean) / sqrt of the mean of the two variances.
        fnmr, fmr: share of mated scores below and non-mated at or above the engine's default threshold.
        fitted_mated_mean: the fitted model's mated mean here, raw scale.
    """

    ied_px: float
    yaw_deg: float
    blur_px: float
    n_mated: int
    n_nonmated: int
    mated_mean: float
    mated_min: float
    nonmated_mean: float
    nonmated_max: float
    d_prime: float
    fnmr: float
    fmr: float
    fitted_mated_mean: float


@dataclass(kw_only=True)
class EngineCalibration:
    """The result of :func:`calibrate_engine`.

    Attributes:
        model: the fitted :class:`ScoreModel` (save it with ``model.save(path)``).
        cells: per-cell separation.
        identities: identities used (with a detectable enrolment face).
        mated_identities: identities that gave mated scores.
        mated_scores, nonmated_scores: how many of each.
        measured_fmr_at_threshold: share of non-mated scores at or above the engine's default threshold.
        notes: assumptions and what was not measured.
    """

    model: ScoreModel
    cells: list[CellStats]
    identities: list[str]
    mated_identities: list[str]
    mated_scores: int
    nonmated_scores: int
    measured_fmr_at_threshold: float
    notes: list[str] = field(default_factory=list)


def read_groups(path: Path | str) -> dict[str, str]:
    """``identity,group`` rows of a groups.csv (a header row ``identity,group`` is optional).

    Raises:
        CalibrationError: unreadable, or a row without two fields.
    """
    path = Path(path)
    out: dict[str, str] = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for i, row in enumerate(csv.reader(fh), start=1):
                if not row or not "".join(row).strip():
                    continue
                if len(row) < 2:
                    raise CalibrationError(f"{path} line {i}: expected identity,group, got {row!r}")
                ident, group = row[0].strip(), row[1].strip()
                if i == 1 and (ident.lower(), group.lower()) == ("identity", "group"):
                    continue
                out[ident] = group
    except OSError as exc:
        raise CalibrationError(f"cannot read {path} ({exc}); it should hold identity,group rows") from exc
    return out


def _ls_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bounded least squares y ≈ m − x @ c with c ≥ 0: returns (m, c...)."""
    from scipy.optimize import lsq_linear

    a = np.column_stack([np.ones(len(y)), -x])
    lo = np.r_[-2.0, np.zeros(x.shape[1])]
    hi = np.r_[3.0, np.full(x.shape[1], 5.0)]
    return np.asarray(lsq_linear(a, y, bounds=(lo, hi)).x)


def calibrate_engine(
    engine: Any,
    bank: FaceBank,
    *,
    engine_kind: str,
    rng: np.random.Generator,
    grid: CalibrationGrid | None = None,
    min_mated_identities: int = 2,
    groups: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EngineCalibration:
    """Measure a real engine's mated and non-mated scores over a capture grid and fit a ScoreModel.

    See the module docstring for the method and its assumptions. The stages: the gallery
    (:func:`_gallery`), the probe images (:func:`_probe_images`), the scores per grid cell
    (:func:`_measure`), the score map and non-mated fit (:func:`_fit_nonmated`), the mated fit
    (:func:`_fit_mated`), the person correlation and group effects, the per-cell table.

    Args:
        engine: a :class:`~twin.recognition.engines.base.FaceEngine`.
        bank: identities and their images (:class:`~twin.recognition.faces.bank.FaceBank`).
        engine_kind: ``dlib`` or ``insightface`` (stored in the score map).
        rng: for sensor noise.
        grid: capture conditions (default :class:`CalibrationGrid`).
        min_mated_identities: fewest identities with two or more images (mated pairs) to accept.
        groups: identity → demographic group, for per-group effects (optional).
        progress: called as ``progress(cells_done, cells_total)``.

    Returns:
        :class:`EngineCalibration`.

    Raises:
        CalibrationError: fewer than ``min_mated_identities`` identities with ≥ 2 images, fewer than
            2 identities with a detectable face, or no separation to map.
    """
    grid = grid or CalibrationGrid()
    if min_mated_identities < 1:
        raise CalibrationError(f"min_mated_identities {min_mated_identities} must be >= 1")
    ids = list(bank.identities)
    multi = [i for i in ids if bank.has_distinct_probe(i)]
    if len(multi) < min_mated_identities:
        raise CalibrationError(
            f"the face set has {len(multi)} identit{'y' if len(multi) == 1 else 'ies'} with 2 or more images "
            f"({', '.join(multi) or 'none'}); fitting mated scores across people needs at least "
            f"{min_mated_identities}: "
            "add identity folders holding two or more photos of one person each (e.g. a local LFW copy) "
            "to --faces, "
            "or pass --min-mated-identities 1 to fit on fewer (the person effect is then not measured)"
        )
    g, gal_ids, faces = _gallery(engine, bank, ids)
    probes = _probe_images(engine, bank, gal_ids, faces)
    raw_m, raw_n = _measure(engine, bank, grid, probes, faces, g, gal_ids, rng, progress)
    g[...] = 0.0
    if not raw_m or not raw_n:
        raise CalibrationError("no mated or no non-mated score could be measured; check the photos")
    nonmated = _fit_nonmated(engine, engine_kind, raw_n)
    mated = _fit_mated(raw_m, nonmated.smap)
    base = ScoreModel()
    mated_ids = sorted({r[1] for r in raw_m})
    notes = _notes(engine, nonmated, base)
    rho = _person_corr(raw_m, mated.resid, mated_ids, base.mated_person_corr, notes)
    group_effects = _group_effects(groups, raw_m, raw_n, nonmated.unit, mated.resid, notes) if groups else []
    model = ScoreModel(
        model_id=f"calibrated-{engine.model_id}",
        score_name=f"{engine.score_name}, mapped affinely onto [0, 1] (score_map)",
        default_threshold=UNIT_THRESHOLD,
        source=(
            f"twin calibrate on {len(gal_ids)} identities ({len(mated_ids)} with mated pairs), "
            f"{len(grid.cells)} grid "
            f"cells, {len(mated.unit)} mated and {len(nonmated.raw)} non-mated scores"
        ),
        mated_mean_max=float(mated.coef[0]),
        mated_sd=mated.sd,
        mated_person_corr=rho,
        ied_coef=float(mated.coef[1]),
        yaw_coef=float(mated.coef[2]),
        blur_coef=float(mated.coef[3]),
        pitch_coef=float(mated.coef[2]) * base.pitch_coef / base.yaw_coef,
        nonmated_mean=UNIT_NONMATED_MEAN,
        nonmated_sd=nonmated.sd,
        tail_u=nonmated.tail_u,
        tail_xi=base.tail_xi,
        tail_beta=nonmated.tail_beta,
        groups=tuple(group_effects),
        score_map=nonmated.smap,
    )
    stats = _cell_stats(grid.cells, raw_m, raw_n, mated.raw, nonmated, model)
    return EngineCalibration(
        model=model,
        cells=stats,
        identities=gal_ids,
        mated_identities=mated_ids,
        mated_scores=len(mated.unit),
        nonmated_scores=len(nonmated.raw),
        measured_fmr_at_threshold=float((nonmated.raw >= nonmated.threshold_raw).mean()),
        notes=notes,
    )


def _notes(engine: Any, nonmated: _NonMatedFit, base: ScoreModel) -> list[str]:
    """The calibration's assumptions and what it could not measure."""
    return [
        f"score map: {engine.score_name} {nonmated.smap.raw_at_0:.4f} -> 0, {nonmated.smap.raw_at_1:.4f} "
        "-> 1 (non-mated mean "
        f"{nonmated.mean_raw:.4f} -> {UNIT_NONMATED_MEAN}, default threshold {nonmated.threshold_raw:g} "
        f"-> {UNIT_THRESHOLD})",
        f"non-mated tail spliced at {nonmated.tail_u:.3f} ({TAIL_SPLICE_SD:g} SD), {nonmated.tail_how}; "
        "shape xi "
        f"{base.tail_xi} kept (assumption): {len(nonmated.raw)} impostor scores cannot measure the "
        "extreme tail",
        "pitch_coef not measured (no pitch warp): yaw_coef x the NPL model's pitch/yaw ratio",
        "faces embedded at their known box (oracle alignment): detection failures are simulated by the "
        "capture gate",
    ]


def _person_corr(
    raw_m: list[tuple[int, str, float, float, float, float]],
    resid: np.ndarray,
    mated_ids: list[str],
    default: float,
    notes: list[str],
) -> float:
    """Share of the mated residual variance between people (the person effect); ``default`` from one
    identity."""
    if len(mated_ids) >= 2:
        by = {i: resid[np.array([r[1] == i for r in raw_m])].mean() for i in mated_ids}
        between = float(np.var(list(by.values())))
        return float(np.clip(between / max(float(resid.var()), 1e-12), 0.0, 1.0))
    notes.append(
        f"mated scores from 1 identity ({mated_ids[0]}): mated_person_corr kept at {default} (assumption)"
    )
    return default


def _gallery(engine: Any, bank: FaceBank, ids: list[str]) -> tuple[np.ndarray, list[str], dict[str, Face]]:
    """Each identity's enrolment image embedded at full resolution: ((G, D) gallery, its identities, faces
    found).

    Raises:
        CalibrationError: fewer than 2 identities show a detectable face.
    """
    gallery, gal_ids, faces = [], [], {}
    for ident in ids:
        src = bank.enrolment_image(ident)
        try:
            face = bank.face(src, engine)
            gallery.append(engine.embed(bank.load(src), [face])[0])
        except ImageError as exc:
            logger.warning("identity %s left out: %s", ident, exc)
            continue
        faces[src.source] = face
        gal_ids.append(ident)
    if len(gal_ids) < 2:
        raise CalibrationError(
            f"only {len(gal_ids)} identity of {len(ids)} shows a face the {engine.model_id} detector finds; "
            "non-mated scores need at least 2: check the photos show one clear, frontal face"
        )
    return np.vstack(gallery).astype(np.float32), gal_ids, faces


def _probe_images(
    engine: Any, bank: FaceBank, gal_ids: list[str], faces: dict[str, Face]
) -> list[tuple[str, FaceSource, bool]]:
    """(identity, image, mated?) probes: every image but the enrolment one where there are others."""
    probes = []
    for ident in gal_ids:
        srcs = bank.sources(ident)
        for src in srcs[1:] if len(srcs) > 1 else srcs:
            try:
                if src.source not in faces:
                    faces[src.source] = bank.face(src, engine)
                probes.append((ident, src, len(srcs) > 1))
            except ImageError as exc:
                logger.warning("probe image %s left out: %s", src.source, exc)
    return probes


def _measure(
    engine: Any,
    bank: FaceBank,
    grid: CalibrationGrid,
    probes: list[tuple[str, FaceSource, bool]],
    faces: dict[str, Face],
    g: np.ndarray,
    gal_ids: list[str],
    rng: np.random.Generator,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[tuple[int, str, float, float, float, float]], list[tuple[int, str, float]]]:
    """Render every probe at every grid cell, embed it and score it against the gallery.

    Returns:
        (mated: (cell, identity, ied, yaw, blur, score), non-mated: (cell, probe identity, score)).
    """
    row_of = {ident: k for k, ident in enumerate(gal_ids)}
    raw_m: list[tuple[int, str, float, float, float, float]] = []
    raw_n: list[tuple[int, str, float]] = []
    cells = grid.cells
    for ci, (ied, yaw, blur) in enumerate(cells):
        for _ in range(grid.repeats):
            imgs, fl, meta = [], [], []
            for ident, src, mated in probes:
                try:
                    pr = render_probe(
                        bank.load(src),
                        faces[src.source],
                        ied_px=ied,
                        rng=rng,
                        yaw_deg=yaw,
                        blur_px=blur,
                        noise_sd=grid.noise_sd,
                        jpeg_quality=grid.jpeg_quality,
                    )
                except ImageError as exc:
                    logger.warning("render of %s at ied %g failed: %s", src.source, ied, exc)
                    continue
                imgs.append(pr.patch)
                fl.append([Face(box=pr.box, kps=pr.kps, det_score=float("nan"))])
                meta.append((ident, mated))
            if not imgs:
                continue
            batch = getattr(engine, "embed_batch", None)
            embs = (
                batch(imgs, fl)
                if callable(batch)
                else [engine.embed(im, f) for im, f in zip(imgs, fl, strict=True)]
            )
            q = np.vstack(embs).astype(np.float32)
            sims = q @ g.T
            q[...] = 0.0
            for r, (ident, mated) in enumerate(meta):
                own = row_of[ident]
                if mated:
                    raw_m.append((ci, ident, ied, yaw, blur, float(sims[r, own])))
                for k in range(len(gal_ids)):
                    if k != own:
                        raw_n.append((ci, ident, float(sims[r, k])))
        if progress is not None:
            progress(ci + 1, len(cells))
    return raw_m, raw_n


@dataclass(frozen=True, kw_only=True)
class _NonMatedFit:
    """The score map onto [0, 1] and the non-mated body and tail."""

    smap: ScoreMap
    raw: np.ndarray
    unit: np.ndarray
    mean_raw: float
    threshold_raw: float
    sd: float
    tail_u: float
    tail_beta: float
    tail_how: str


def _fit_nonmated(engine: Any, engine_kind: str, raw_n: list[tuple[int, str, float]]) -> _NonMatedFit:
    """Map the raw scale onto [0, 1] (non-mated mean -> 0.25, default threshold -> 0.6) and fit the non-mated
    tail.

    Raises:
        CalibrationError: the engine's default threshold is not above the non-mated mean.
    """
    t_eng = float(engine.default_threshold)
    nm = np.array([s for _, _, s in raw_n])
    m_nm = float(nm.mean())
    if not t_eng > m_nm:
        raise CalibrationError(
            f"the engine's default threshold {t_eng:g} is not above the measured non-mated mean "
            f"{m_nm:.3f}: the map "
            "onto [0, 1] needs it; check the engine and the face set"
        )
    slope = (t_eng - m_nm) / (UNIT_THRESHOLD - UNIT_NONMATED_MEAN)
    smap = ScoreMap(
        engine_kind=engine_kind,
        model_id=engine.model_id,
        raw_name=engine.score_name,
        raw_at_0=m_nm - UNIT_NONMATED_MEAN * slope,
        raw_at_1=m_nm + (1 - UNIT_NONMATED_MEAN) * slope,
    )
    u_nm = smap.to_unit(nm)
    nm_sd = max(float(u_nm.std()), 1e-3)
    tail_u = float(np.clip(UNIT_NONMATED_MEAN + TAIL_SPLICE_SD * nm_sd, 0.3, 0.95))
    excess = u_nm[u_nm > tail_u] - tail_u
    base_xi = ScoreModel().tail_xi
    if len(excess) >= MIN_TAIL_EXCEEDANCES:  # GPD mean excess = beta / (1 - xi), xi fixed
        tail_beta = max(float(excess.mean()) * (1 - base_xi), 1e-4)
        tail_how = f"scale from the mean excess of {len(excess)} scores above it"
    else:
        tail_beta = nm_sd**2 / (tail_u - UNIT_NONMATED_MEAN)
        tail_how = f"scale continuing the body's decay ({len(excess)} scores above it, too few to measure)"
    return _NonMatedFit(
        smap=smap,
        raw=nm,
        unit=u_nm,
        mean_raw=m_nm,
        threshold_raw=t_eng,
        sd=nm_sd,
        tail_u=tail_u,
        tail_beta=tail_beta,
        tail_how=tail_how,
    )


@dataclass(frozen=True, kw_only=True)
class _MatedFit:
    """The mated mean's fit: (mated_mean_max, ied_coef, yaw_coef, blur_coef), residuals and their SD."""

    raw: np.ndarray
    unit: np.ndarray
    coef: np.ndarray
    resid: np.ndarray
    sd: float


def _fit_mated(raw_m: list[tuple[int, str, float, float, float, float]], smap: ScoreMap) -> _MatedFit:
    """Bounded least squares of the mated scores (unit scale) on the NPL model's quality terms."""
    m_raw = np.array([s for *_, s in raw_m])
    u_m = smap.to_unit(m_raw)
    base = ScoreModel()
    ied_a = np.array([r[2] for r in raw_m])
    x = np.column_stack(
        [
            np.maximum(0.0, np.log2(base.ied_ref_px / ied_a)),
            (np.array([r[3] for r in raw_m]) / 30.0) ** 2,
            np.array([r[4] for r in raw_m]) / ied_a,
        ]
    )
    m_max, ied_c, yaw_c, blur_c = _ls_fit(x, u_m)
    resid = u_m - (m_max - x @ np.array([ied_c, yaw_c, blur_c]))
    return _MatedFit(
        raw=m_raw,
        unit=u_m,
        coef=np.array([m_max, ied_c, yaw_c, blur_c]),
        resid=resid,
        sd=max(float(resid.std()), 1e-3),
    )


def _group_effects(
    groups: dict[str, str],
    raw_m: list[tuple[int, str, float, float, float, float]],
    raw_n: list[tuple[int, str, float]],
    u_nm: np.ndarray,
    resid: np.ndarray,
    notes: list[str],
) -> list[GroupEffect]:
    """Per-group FMR ratio (share above the non-mated 90th percentile) and mated shift; notes what was left
    out."""
    effects: list[GroupEffect] = []
    q90 = float(np.quantile(u_nm, 0.9))
    probe_ids = np.array([i for _, i, _ in raw_n])
    for grp in sorted(set(groups.values())):
        members = {i for i, gname in groups.items() if gname == grp}
        sel = np.isin(probe_ids, list(members))
        if sel.sum() < 5:
            notes.append(f"group {grp}: {int(sel.sum())} non-mated scores, too few: left out")
            continue
        ratio = float(np.clip((u_nm[sel] >= q90).mean() / 0.1, 0.1, 10.0))
        msel = np.array([r[1] in members for r in raw_m])
        shift = float(resid[msel].mean()) if msel.any() else 0.0
        effects.append(GroupEffect(grp, fmr_ratio=ratio, centre=1.0, width=0.05, mated_shift=shift))
    notes.append(f"groups measured from groups.csv: {', '.join(g_.name for g_ in effects) or 'none kept'}")
    return effects


def _cell_stats(
    cells: list[tuple[float, float, float]],
    raw_m: list[tuple[int, str, float, float, float, float]],
    raw_n: list[tuple[int, str, float]],
    m_raw: np.ndarray,
    nonmated: _NonMatedFit,
    model: ScoreModel,
) -> list[CellStats]:
    """Separation per grid cell, and the fitted model's mated mean there (raw scale)."""
    t_eng, nm = nonmated.threshold_raw, nonmated.raw
    stats = []
    cell_m = np.array([r[0] for r in raw_m])
    cell_n = np.array([r[0] for r in raw_n])
    for ci, (ied, yaw, blur) in enumerate(cells):
        ms, ns = m_raw[cell_m == ci], nm[cell_n == ci]
        if not len(ms) or not len(ns):
            continue
        sd2 = (ms.var() + ns.var()) / 2
        fit_u = float(model.mated_mean(ied, yaw, 0.0, blur))
        stats.append(
            CellStats(
                ied_px=ied,
                yaw_deg=yaw,
                blur_px=blur,
                n_mated=len(ms),
                n_nonmated=len(ns),
                mated_mean=float(ms.mean()),
                mated_min=float(ms.min()),
                nonmated_mean=float(ns.mean()),
                nonmated_max=float(ns.max()),
                d_prime=float((ms.mean() - ns.mean()) / math.sqrt(sd2)) if sd2 > 0 else float("inf"),
                fnmr=float((ms < t_eng).mean()),
                fmr=float((ns >= t_eng).mean()),
                fitted_mated_mean=float(nonmated.smap.to_raw(fit_u)),
            )
        )
    return stats


def grid_values(text: str, name: str) -> tuple[float, ...]:
    """Comma-separated numbers (``"12,20,30"``) as a tuple.

    Raises:
        CalibrationError: not numbers.

    >>> grid_values("0, 2.5,4", "blur")
    (0.0, 2.5, 4.0)
    """
    try:
        vals = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise CalibrationError(f"--{name} {text!r} must be comma-separated numbers, e.g. 0,20,40") from exc
    if not vals:
        raise CalibrationError(f"--{name} is empty; give comma-separated numbers, e.g. 0,20,40")
    return vals


def cell_rows(cal: EngineCalibration) -> Sequence[tuple[str, ...]]:
    """Printable rows of the per-cell separation (for the CLI table): ied, yaw, blur, mated mean (fitted),
    non-mated mean/max, d', FNMR and FMR at the engine's default threshold."""
    return [
        (
            f"{c.ied_px:g}",
            f"{c.yaw_deg:g}",
            f"{c.blur_px:g}",
            f"{c.mated_mean:.3f} ({c.fitted_mated_mean:.3f})",
            f"{c.nonmated_mean:.3f}/{c.nonmated_max:.3f}",
            f"{c.d_prime:.1f}",
            f"{c.fnmr:.2f}",
            f"{c.fmr:.3f}",
        )
        for c in cal.cells
    ]
