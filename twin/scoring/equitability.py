"""Equitability: false-match and identification rates per demographic group, analytically.

Each group g has a false-match multiplier that fades out above a threshold,

    r_g(t) = 1 + (R_g - 1) / (1 + exp((t - t_c) / w)),

and its per-comparison false match rate is the population's, redistributed so that the
population average (weighted by the groups' shares) stays the calibrated figure:

    FMR_g(t) = FMR(t) * r_g(t) / sum_h share_h r_h(t).

So the run's population FPIR is still NPL's 1.7e-4 at 0.6, while the groups differ where the
multipliers are active. Mated scores may shift per group (``mated_shift``), which moves TPIR.

Defaults (:data:`NPL_GROUPS`) encode NPL 2023's finding for NEC NeoFace V4 — a significant
imbalance at thresholds 0.56-0.58 (more Black subjects falsely matched) and none significant at
0.6 and above — as an assumption: R = 3 for the group "black", centred at t_c = 0.585 with width
w = 0.004, and no mated shift (NPL found no significant TPIR difference by group at 0.6). With
London's 2021 census shares this gives an FPIR ratio (highest / lowest group) of >= 2 at
0.56-0.58 and <= 1.25 at >= 0.60 (tests/scoring/test_equitability.py checks it analytically).
A real engine's groups are measured with ``twin calibrate`` on a labelled face set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from twin.scenario.population import LONDON_2021_SHARES
from twin.scoring.score_model import NPL_GROUPS, GroupEffect, ScoreModel
from twin.scoring.summary import Equitability, GroupRates, ThresholdSweep

__all__ = [
    "LONDON_2021_SHARES",
    "NPL_GROUPS",
    "equitability_table",
    "fpir_ratio",
    "group_fmr",
    "group_fpir",
    "threshold_sweep",
]


def _effects(model: ScoreModel, shares: dict[str, float]) -> list[tuple[GroupEffect, float]]:
    """(effect, normalised share) for each group in ``shares``; a group the model lacks has no effect."""
    by_name = {g.name: g for g in model.groups}
    total = sum(shares.values())
    return [(by_name.get(name, GroupEffect(name)), share / total) for name, share in shares.items()]


def group_fmr(model: ScoreModel, shares: dict[str, float], threshold: Any) -> dict[str, np.ndarray]:
    """Per-comparison FMR of each group at threshold(s), population average held at the model's.

    Args:
        model: the calibrated population model.
        shares: population share of each group (normalised here).
        threshold: score(s).

    Returns:
        group name -> FMR array of the threshold's shape.
    """
    eff = _effects(model, shares)
    base = model.fmr(threshold)
    norm = sum(s * g.multiplier(threshold) for g, s in eff)
    return {g.name: base * g.multiplier(threshold) / norm for g, _ in eff}


def group_fpir(
    model: ScoreModel, shares: dict[str, float], threshold: Any, watchlist_size: int
) -> dict[str, np.ndarray]:
    """Per-person FPIR of each group, 1 - (1 - FMR_g(t))**N."""
    return {
        k: -np.expm1(watchlist_size * np.log1p(-v)) for k, v in group_fmr(model, shares, threshold).items()
    }


def fpir_ratio(
    model: ScoreModel, shares: dict[str, float], threshold: Any, watchlist_size: int
) -> np.ndarray:
    """Highest over lowest group FPIR at threshold(s)."""
    f = np.array(list(group_fpir(model, shares, threshold, watchlist_size).values()))
    return f.max(axis=0) / f.min(axis=0)


def threshold_sweep(
    model: ScoreModel,
    shares: dict[str, float],
    watchlist_size: int,
    thresholds: Sequence[float] | None = None,
) -> dict[str, Any]:
    """FPIR per group and the highest/lowest ratio over a range of thresholds (for the record's chart)."""
    t = (
        np.round(np.arange(0.52, 0.7001, 0.005), 3)
        if thresholds is None
        else np.asarray(thresholds, dtype=float)
    )
    f = group_fpir(model, shares, t, watchlist_size)
    return {
        "thresholds": t.tolist(),
        "fpir": {k: v.tolist() for k, v in f.items()},
        "ratio": fpir_ratio(model, shares, t, watchlist_size).tolist(),
    }


def equitability_table(
    model: ScoreModel,
    shares: dict[str, float],
    *,
    threshold: float,
    watchlist_size: int,
    tpir_for_shift: Callable[[float], float],
) -> list[dict[str, Any]]:
    """One row per group at the chosen threshold: share, FMR, FPIR, TPIR.

    Args:
        tpir_for_shift: callable(mated_shift) -> per-pass TPIR (e.g. the run's re-scoring).
    """
    fmr = group_fmr(model, shares, threshold)
    rows = []
    for g, share in _effects(model, shares):
        f = float(fmr[g.name])
        rows.append(
            {
                "group": g.name,
                "share": share,
                "fmr": f,
                "fpir": float(-np.expm1(watchlist_size * np.log1p(-f))),
                "tpir": float(tpir_for_shift(g.mated_shift)),
                "fmr_ratio_param": g.fmr_ratio,
                "mated_shift": g.mated_shift,
            }
        )
    return rows


def equitability_summary(
    model: ScoreModel, shares: dict[str, float], reps: list[Any], *, threshold: float, watchlist_size: int
) -> Equitability:
    """The run summary's equitability section: per-group rates at the threshold, ratio, sweep.

    FPIR per group is analytic (this module); TPIR per group is the run's pooled per-pass TPIR
    with the group's mated shift (:func:`twin.scoring.metrics.pooled_tpir`), computed once per distinct shift.
    """
    from twin.scoring.metrics import pooled_tpir

    cache: dict[float, float] = {}

    def tpir(shift: float) -> float:
        if shift not in cache:
            cache[shift] = pooled_tpir(
                reps, model, threshold=threshold, watchlist_size=watchlist_size, mated_shift=shift
            )[0]
        return cache[shift]

    rows = equitability_table(
        model, shares, threshold=threshold, watchlist_size=watchlist_size, tpir_for_shift=tpir
    )
    return Equitability(
        basis="FPIR per group analytic from the ScoreModel (population average held at the calibrated FPIR); "
        "TPIR per pass pooled over replications",
        threshold=threshold,
        groups=tuple(GroupRates.from_json(r) for r in rows),
        fpir_ratio=float(fpir_ratio(model, shares, threshold, watchlist_size)),
        sweep=ThresholdSweep.from_json(threshold_sweep(model, shares, watchlist_size)),
    )
