"""Fitting the statistical engine to published figures (and, later, to a real engine).

:func:`fit_mated_mean` sets ``ScoreModel.mated_mean_max`` so that a scenario's per-pass TPIR at
its threshold hits a target (NPL 2023: 0.89 at 0.6 for a van deployment). Everyone is put on the
watchlist (prevalence 1), so every pass through the zone is a mated pass and the estimate is
precise; the fit shifts each stored best-capture mean by the same amount, which leaves the choice
of best capture unchanged, so no re-simulation is needed.
"""

from __future__ import annotations

from typing import Any

from twin.errors import CalibrationError
from twin.metrics import pooled_tpir
from twin.simulation import RunResult

__all__ = ["fit_mated_mean", "per_pass_tpir"]


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
    tpir, passes = pooled_tpir(result.reps, result.context.score_model, threshold=t,
                               watchlist_size=result.scenario.watchlist.size, mated_shift=mated_shift)
    if passes == 0:
        raise CalibrationError("no pass through any camera's recognition zone: cannot fit TPIR; check the cameras")
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
    tpir, passes = pooled_tpir(result.reps, result.context.score_model, threshold=result.scenario.watchlist.threshold,
                               watchlist_size=result.scenario.watchlist.size, mated_shift=shift)
    return {
        "mated_mean_max": result.context.score_model.mated_mean_max + shift,
        "tpir": tpir,
        "passes": passes,
        "ceiling": ceiling,
    }
