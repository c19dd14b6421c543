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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin.errors import CalibrationError, ImageError
from twin.recognition.engines.base import Face
from twin.recognition.faces.render import render_probe
from twin.scoring.fit import CellStats, ScoreFit, fit_score_model
from twin.scoring.metrics import pooled_tpir
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


#: Largest inter-eye distance of a grid cell, px (a face filling a 1080p frame has ~400).
MAX_GRID_IED_PX = 500.0
#: Longest motion blur of a grid cell, px.
MAX_GRID_BLUR_PX = 50.0
#: Most renders per image and cell.
MAX_GRID_REPEATS = 20
#: Most cells x repeats of one calibration (the default grid has 45).
MAX_GRID_CELLS = 2_000
#: Largest groups.csv, bytes (an identity,group row per identity: 1 MB holds ~40,000).
MAX_GROUPS_BYTES = 1024 * 1024


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
        if any(not 0 < v <= MAX_GRID_IED_PX for v in self.ied_px):
            raise CalibrationError(
                f"ied_px values {self.ied_px} must be > 0 and <= {MAX_GRID_IED_PX:g} pixels"
            )
        if any(not abs(v) < 90 for v in self.yaw_deg):
            raise CalibrationError(f"yaw_deg values {self.yaw_deg} must lie inside (-90, 90)")
        if any(not 0 <= v <= MAX_GRID_BLUR_PX for v in self.blur_px):
            raise CalibrationError(f"blur_px values {self.blur_px} must be >= 0 and <= {MAX_GRID_BLUR_PX:g}")
        if not 1 <= self.jpeg_quality <= 100 or not 1 <= self.repeats <= MAX_GRID_REPEATS:
            raise CalibrationError(
                f"jpeg_quality {self.jpeg_quality} must be 1-100 and repeats {self.repeats} "
                f"1-{MAX_GRID_REPEATS}"
            )
        n = len(self.ied_px) * len(self.yaw_deg) * len(self.blur_px) * self.repeats
        if n > MAX_GRID_CELLS:
            raise CalibrationError(
                f"the grid has {n:,} cells x repeats, more than {MAX_GRID_CELLS:,}; give fewer --ied, --yaw "
                "or --blur values (each cell renders and embeds every probe image)"
            )

    @property
    def cells(self) -> list[tuple[float, float, float]]:
        """(ied_px, yaw_deg, blur_px) of every cell."""
        return [(i, y, b) for i in self.ied_px for y in self.yaw_deg for b in self.blur_px]


@dataclass(frozen=True, kw_only=True)
class EngineCalibration(ScoreFit):
    """The result of :func:`calibrate_engine`: the :class:`~twin.scoring.fit.ScoreFit` (save its ``model``
    with ``model.save(path)``) and the identities it used.

    Attributes:
        identities: identities used (with a detectable enrolment face).
    """

    identities: list[str]


def read_groups(path: Path | str) -> dict[str, str]:
    """``identity,group`` rows of a groups.csv (a header row ``identity,group`` is optional).

    Raises:
        CalibrationError: unreadable, or a row without two fields.
    """
    import io

    from twin.files import read_capped

    path = Path(path)
    out: dict[str, str] = {}
    raw = read_capped(path, what="groups file", max_bytes=MAX_GROUPS_BYTES, error=CalibrationError)
    try:
        for i, row in enumerate(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")), start=1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 2:
                raise CalibrationError(f"{path} line {i}: expected identity,group, got {row!r:.80}")
            ident, group = row[0].strip(), row[1].strip()
            if i == 1 and (ident.lower(), group.lower()) == ("identity", "group"):
                continue
            out[ident] = group
    except (UnicodeDecodeError, csv.Error) as exc:
        raise CalibrationError(f"{path} is not a UTF-8 CSV of identity,group rows ({exc}); fix it") from exc
    return out


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
    (:func:`_measure`), then the fit (:func:`twin.scoring.fit.fit_score_model`: score map,
    non-mated tail, mated mean, person correlation, group effects, the per-cell table).

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
    fit = fit_score_model(
        engine_kind=engine_kind,
        model_id=engine.model_id,
        score_name=engine.score_name,
        default_threshold=float(engine.default_threshold),
        mated=raw_m,
        nonmated=raw_n,
        cells=grid.cells,
        identities=len(gal_ids),
        groups=groups,
    )
    return EngineCalibration(**{f.name: getattr(fit, f.name) for f in fields(fit)}, identities=gal_ids)


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
