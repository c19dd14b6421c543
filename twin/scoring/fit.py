"""Fitting a ScoreModel to measured scores: the score map onto [0, 1], the non-mated tail, the mated mean.

Pure statistics over (grid cell, identity, score) tuples that ``twin calibrate`` measured with a real
engine (:func:`twin.sim.calibrate.calibrate_engine` renders, embeds and scores; this fits). The
method and its assumptions are in :mod:`twin.sim.calibrate`'s docstring.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from twin.errors import CalibrationError
from twin.scoring.score_model import GroupEffect, ScoreMap, ScoreModel

__all__ = [
    "MIN_TAIL_EXCEEDANCES",
    "TAIL_SPLICE_SD",
    "UNIT_NONMATED_MEAN",
    "UNIT_THRESHOLD",
    "CellStats",
    "ScoreFit",
    "fit_score_model",
]

#: Where the engine's mean non-mated score and its default threshold land on the [0, 1] scale
#: (the NPL model's non-mated body mean and operating threshold).
UNIT_NONMATED_MEAN = 0.25
UNIT_THRESHOLD = 0.6
#: The non-mated tail is spliced this many body SDs above the mean.
TAIL_SPLICE_SD = 2.0
#: Fewest non-mated scores above the splice to measure the tail's scale from them.
MIN_TAIL_EXCEEDANCES = 20


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


@dataclass(frozen=True, kw_only=True)
class ScoreFit:
    """A fitted model and what it rests on.

    Attributes:
        model: the fitted :class:`ScoreModel`.
        cells: per-cell separation.
        mated_identities: identities that gave mated scores.
        mated_scores, nonmated_scores: how many of each.
        measured_fmr_at_threshold: share of non-mated scores at or above the engine's default threshold.
        notes: assumptions and what was not measured.
    """

    model: ScoreModel
    cells: list[CellStats]
    mated_identities: list[str]
    mated_scores: int
    nonmated_scores: int
    measured_fmr_at_threshold: float
    notes: list[str]


@dataclass(frozen=True)
class _Engine:
    kind: str
    model_id: str
    score_name: str
    default_threshold: float


def fit_score_model(
    *,
    engine_kind: str,
    model_id: str,
    score_name: str,
    default_threshold: float,
    mated: list[tuple[int, str, float, float, float, float]],
    nonmated: list[tuple[int, str, float]],
    cells: Sequence[tuple[float, float, float]],
    identities: int,
    groups: dict[str, str] | None = None,
) -> ScoreFit:
    """Fit a ScoreModel to an engine's measured scores.

    Args:
        engine_kind, model_id, score_name, default_threshold: the engine measured (its raw scale).
        mated: (cell, identity, ied_px, yaw_deg, blur_px, score) per mated comparison.
        nonmated: (cell, probe identity, score) per non-mated comparison.
        cells: the grid's (ied_px, yaw_deg, blur_px) cells, indexed by ``cell``.
        identities: identities in the gallery (recorded in the model's source).
        groups: identity -> demographic group, for per-group effects (optional).

    Raises:
        CalibrationError: the engine's default threshold is not above the non-mated mean.
    """
    engine = _Engine(engine_kind, model_id, score_name, default_threshold)
    raw_m, raw_n = mated, nonmated
    nonmated_fit = _fit_nonmated(engine, raw_n)
    mated_fit = _fit_mated(raw_m, nonmated_fit.smap)
    base = ScoreModel()
    mated_ids = sorted({r[1] for r in raw_m})
    notes = _notes(engine, nonmated_fit, base)
    rho = _person_corr(raw_m, mated_fit.resid, mated_ids, base.mated_person_corr, notes)
    group_effects = (
        _group_effects(groups, raw_m, raw_n, nonmated_fit.unit, mated_fit.resid, notes) if groups else []
    )
    model = ScoreModel(
        model_id=f"calibrated-{engine.model_id}",
        score_name=f"{engine.score_name}, mapped affinely onto [0, 1] (score_map)",
        default_threshold=UNIT_THRESHOLD,
        source=(
            f"twin calibrate on {identities} identities ({len(mated_ids)} with mated pairs), "
            f"{len(cells)} grid "
            f"cells, {len(mated_fit.unit)} mated and {len(nonmated_fit.raw)} non-mated scores"
        ),
        mated_mean_max=float(mated_fit.coef[0]),
        mated_sd=mated_fit.sd,
        mated_person_corr=rho,
        ied_coef=float(mated_fit.coef[1]),
        yaw_coef=float(mated_fit.coef[2]),
        blur_coef=float(mated_fit.coef[3]),
        pitch_coef=float(mated_fit.coef[2]) * base.pitch_coef / base.yaw_coef,
        nonmated_mean=UNIT_NONMATED_MEAN,
        nonmated_sd=nonmated_fit.sd,
        tail_u=nonmated_fit.tail_u,
        tail_xi=base.tail_xi,
        tail_beta=nonmated_fit.tail_beta,
        groups=tuple(group_effects),
        score_map=nonmated_fit.smap,
    )
    stats = _cell_stats(cells, raw_m, raw_n, mated_fit.raw, nonmated_fit, model)
    return ScoreFit(
        model=model,
        cells=stats,
        mated_identities=mated_ids,
        mated_scores=len(mated_fit.unit),
        nonmated_scores=len(nonmated_fit.raw),
        measured_fmr_at_threshold=float((nonmated_fit.raw >= nonmated_fit.threshold_raw).mean()),
        notes=notes,
    )


def _notes(engine: _Engine, nonmated: _NonMatedFit, base: ScoreModel) -> list[str]:
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


def _ls_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bounded least squares y ≈ m − x @ c with c ≥ 0: returns (m, c...)."""
    from scipy.optimize import lsq_linear

    a = np.column_stack([np.ones(len(y)), -x])
    lo = np.r_[-2.0, np.zeros(x.shape[1])]
    hi = np.r_[3.0, np.full(x.shape[1], 5.0)]
    return np.asarray(lsq_linear(a, y, bounds=(lo, hi)).x)


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


def _fit_nonmated(engine: _Engine, raw_n: list[tuple[int, str, float]]) -> _NonMatedFit:
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
        engine_kind=engine.kind,
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
    cells: Sequence[tuple[float, float, float]],
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
