"""Placements and sites judged by full runs: per-hour figures with intervals, and sites ranked (``--rank``).

:func:`run_figures` runs a scenario (:func:`twin.sim.run.run`) and reads true alerts, false alerts and
faces scanned per hour per replication; :func:`rank_sites` does so for several sites and orders them by
expected true alerts per hour, with true alerts per false alert and per officer-hour.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.errors import ScenarioError
from twin.scenario.specs import Scenario

__all__ = ["Figures", "SiteRank", "rank_sites", "run_figures"]


@dataclass(frozen=True, kw_only=True)
class Figures:
    """Per-hour figures of one placement from full runs: mean and 95% predictive interval over replications.

    Attributes:
        true_alerts_per_h, false_alerts_per_h, faces_scanned_per_h: (mean, 2.5th, 97.5th percentile).
        expected_true_alerts_per_h: the watchlist prevalence x the true alerts had every passer-by been
            listed (``true_alerts_if_listed``), mean over replications: the expectation without the
            noise of who happens to be listed, what placements are best compared on.
        replications: how many.
    """

    true_alerts_per_h: tuple[float, float, float]
    false_alerts_per_h: tuple[float, float, float]
    faces_scanned_per_h: tuple[float, float, float]
    expected_true_alerts_per_h: float
    replications: int


def _band(v: np.ndarray) -> tuple[float, float, float]:
    return float(v.mean()), float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))


def run_figures(
    scenario: Scenario, *, replications: int, seed: int | None = None, workers: int = 1
) -> Figures:
    """Run ``scenario`` (:func:`twin.sim.run.run`) and read its per-hour figures per replication.

    Raises:
        TwinError: as :func:`twin.sim.run.run`.
    """
    from twin.sim.run import run

    res = run(scenario, seed=seed, replications=replications, workers=workers)
    hours = scenario.time.duration_s / 3600.0
    tot = {
        k: np.array([o.totals[k] for o in res.outcomes], float) / hours
        for k in ("true_alerts", "false_alerts", "faces_scanned", "true_alerts_if_listed")
    }
    return Figures(
        expected_true_alerts_per_h=float(scenario.watchlist.prevalence * tot["true_alerts_if_listed"].mean()),
        true_alerts_per_h=_band(tot["true_alerts"]),
        false_alerts_per_h=_band(tot["false_alerts"]),
        faces_scanned_per_h=_band(tot["faces_scanned"]),
        replications=replications,
    )


@dataclass(frozen=True, kw_only=True)
class SiteRank:
    """One site's figures for ranking (per hour, per false alert, per officer-hour), each
    (mean, low, high).

    Attributes:
        name, path: the scenario.
        true_alerts_per_h: mean and 95% predictive interval over replications.
        true_per_false_alert: ratio of the mean true and false alerts, with a 95% bootstrap confidence
            interval over replications (inf when no false alert was simulated).
        true_per_officer_hour: true alerts per hour / intercept officers, with the predictive interval.
        false_alerts_per_h: mean and 95% predictive interval.
        expected_true_alerts_per_h, expected_false_alerts_per_h: the score model's expectations
            (:class:`~twin.scoring.summary.ModelFigures`: steadier than a few replications' counts of
            rare events), with their analytic 95% intervals, per hour; the ranking key is the first.
        expected_true_per_false_alert: their ratio (inf without an expected false alert).
        officers: intercept officers of the scenario; replications: how many.
    """

    name: str
    path: str
    true_alerts_per_h: tuple[float, float, float]
    true_per_false_alert: tuple[float, float, float]
    true_per_officer_hour: tuple[float, float, float]
    false_alerts_per_h: tuple[float, float, float]
    expected_true_alerts_per_h: tuple[float, float, float]
    expected_false_alerts_per_h: tuple[float, float, float]
    expected_true_per_false_alert: float
    officers: int
    replications: int


def _ratio_ci(
    a: np.ndarray, b: np.ndarray, rng: np.random.Generator, n_boot: int = 2000
) -> tuple[float, float, float]:
    """Ratio of means of ``a`` and ``b`` with a percentile bootstrap 95% CI over replications."""
    if b.sum() == 0:
        return float("inf"), float("inf"), float("inf")
    idx = rng.integers(0, len(a), size=(n_boot, len(a)))
    num, den = a[idx].mean(axis=1), b[idx].mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(den > 0, num / den, np.inf)
    return float(a.mean() / b.mean()), float(np.percentile(r, 2.5)), float(np.percentile(r, 97.5))


def rank_sites(
    paths: list[str],
    *,
    replications: int | None = None,
    workers: int = 1,
    progress: Callable[[int, int, str], None] | None = None,
) -> list[SiteRank]:
    """Run every scenario as it stands and rank the sites by the model's expected true alerts per hour
    (best first).

    Args:
        paths: scenario files.
        replications: per site (default: each scenario's).
        workers: local worker processes per run.
        progress: ``progress(done, total, name)``.

    Raises:
        ScenarioError: no path given.
        TwinError: a scenario is invalid (its file named).
    """
    from twin.scenario.load import load_scenario
    from twin.sim.run import run

    if not paths:
        raise ScenarioError("--rank needs scenario files, e.g. --rank scenarios/*.yaml")
    out = []
    rng = np.random.default_rng(20260101)  # the bootstrap's own seed (reproducible ranking)
    scenarios = [load_scenario(p) for p in paths]  # every file checked before any run
    for i, (p, sc) in enumerate(zip(paths, scenarios, strict=True)):
        if progress is not None:
            progress(i, len(paths), sc.name)
        res = run(sc, replications=replications, workers=workers)
        hours = sc.time.duration_s / 3600.0
        ta = np.array([o.totals["true_alerts"] for o in res.outcomes], float)
        fa = np.array([o.totals["false_alerts"] for o in res.outcomes], float)
        offs = max(sc.operations.officers, 1)
        e_ta, e_fa = _expected(res.summary.model, hours)
        out.append(
            SiteRank(
                name=sc.name,
                path=str(p),
                true_alerts_per_h=_band(ta / hours),
                true_per_false_alert=_ratio_ci(ta, fa, rng),
                true_per_officer_hour=_band(ta / hours / offs),
                false_alerts_per_h=_band(fa / hours),
                expected_true_alerts_per_h=e_ta,
                expected_false_alerts_per_h=e_fa,
                expected_true_per_false_alert=e_ta[0] / e_fa[0] if e_fa[0] > 0 else float("inf"),
                officers=sc.operations.officers,
                replications=len(res.outcomes),
            )
        )
    if progress is not None:
        progress(len(paths), len(paths), "")
    return sorted(out, key=lambda r: -r.expected_true_alerts_per_h[0])


def _expected(model: Any, hours: float) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """(expected true alerts, expected false alerts) per hour with their intervals, from a summary's model
    section (NaN where missing)."""
    nan = float("nan")

    def one(mean: float | None, iv: tuple[float, float] | None) -> tuple[float, float, float]:
        if mean is None:
            return nan, nan, nan
        lo, hi = iv if iv is not None else (nan, nan)
        return mean / hours, lo / hours, hi / hours

    if model is None:
        return (nan, nan, nan), (nan, nan, nan)
    return one(model.expected_true_alerts, model.true_alerts_interval), one(
        model.expected_false_alerts, model.false_alerts_interval
    )
