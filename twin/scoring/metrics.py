"""Scoring captured tracks into alerts, and the run's metrics with predictive intervals.

Definitions (NPL 2023 and DESIGN.md, "Per pass, not per capture"):

* passers-by: people who enter the site in the window (including those who turn back);
* in zone: people whose path enters some camera's recognition zone (in view, where a frontal
  face would pass the quality gate) — a *pass through the zone*;
* faces scanned: people with at least one usable capture (searched against the watchlist);
* captures: usable captures (frames that passed the gate), summed;
* alert: the first search of a person whose top candidate score is >= threshold (one alert per
  person per deployment: real systems de-duplicate by track); a *true alert* if the person is on
  the watchlist and the top candidate is their own entry, else a *false alert*;
* TPIR = true alerts / watchlisted passes through the zone (capture failures count as misses);
* FPIR = false alerts on people not on the watchlist / such people scanned (per face scanned);
* precision = true alerts / alerts.

A forecast's 95% interval is a *predictive* interval: the 2.5th-97.5th percentiles of the value
over replications, each a fresh draw of arrivals, walkers, captures and scores (Poisson noise
included) — what one deployment's observed count is compared with.

Re-scoring with another threshold, watchlist size or prevalence reuses the stored uniforms and
normal draws of every person and track, so it needs no new crowd simulation and is monotone
(a higher threshold never adds an alert).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from twin.scoring.metric_table import Band
from twin.scoring.score_model import ScoreModel
from twin.scoring.summary import ModelFigures, RunSummary, ScoredWith
from twin.scoring.tail import TAIL_KNOTS, gamma_multiplier

__all__ = [
    "COUNT_METRICS",
    "HOURLY_METRICS",
    "RATE_METRICS",
    "Outcome",
    "RepData",
    "model_figures",
    "percentile_band",
    "pooled_tpir",
    "score_replication",
    "summarise",
]

#: Count metrics per replication (totals and per hour), held once here.
COUNT_METRICS: tuple[str, ...] = (
    "passers_by", "turned_back", "in_zone", "faces_scanned", "captures", "watchlisted_passers",
    "watchlisted_in_zone", "alerts", "true_alerts", "false_alerts",
)  # fmt: skip
#: Rate metrics derived from the counts.
RATE_METRICS: tuple[str, ...] = ("tpir", "fpir", "precision", "scan_share")
#: Metrics reported per hour.
HOURLY_METRICS: tuple[str, ...] = ("passers_by", "faces_scanned", "alerts", "true_alerts", "false_alerts")


@dataclass(kw_only=True)
class RepData:
    """What one replication keeps for scoring (compact; no per-frame data).

    People arrays have length P (everyone who arrived); track arrays length T (person x camera
    tracks with a frame in view), sorted by (person, t_best_s) with tracks lacking a usable
    capture last within a person.

    Attributes:
        duration_s: window length, s.
        t_arrive_s: (P,) float64 arrival times, s from the window start.
        turned_back: (P,) bool, avoided the zone by turning back.
        t_leave_s: (P,) float64 time each person leaves the area, s.
        u_watchlist: (P,) float32 uniforms: on the watchlist iff u < prevalence.
        u_nonmated: (P,) float64 uniforms for the top non-mated score (small u: high score).
        z_person: (P,) float32 standard-normal person effect on mated scores.
        track_person: (T,) int64 person index.
        track_camera: (T,) int16 camera index.
        track_in_zone: (T,) bool.
        track_usable: (T,) int32 usable captures.
        track_t_best_s: (T,) float64 time of the best usable capture (NaN if none).
        track_mated_mean: (T,) float32 mean mated score of the best capture (NaN if none).
        track_z: (T,) float32 standard-normal track effect.
        extra: anything else a replication reports (peak density, SimPy events, timings).
        speed_m_s: (P,) float32 walking speed of each person, m/s (None: not recorded); operations
            uses it to predict where an alerted person has walked to.
        u_prevalence: a uniform: this replication's (deployment's) quantile of the prevalence's
            between-deployment Gamma (:func:`twin.scoring.tail.gamma_multiplier`; 0.5 when not drawn).
        u_tail: a uniform: its quantile of the false-match rate's multiplier
            (:meth:`ScoreModel.fmr_dispersion`).
    """

    duration_s: float
    t_arrive_s: np.ndarray
    turned_back: np.ndarray
    t_leave_s: np.ndarray
    u_watchlist: np.ndarray
    u_nonmated: np.ndarray
    z_person: np.ndarray
    track_person: np.ndarray
    track_camera: np.ndarray
    track_in_zone: np.ndarray
    track_usable: np.ndarray
    track_t_best_s: np.ndarray
    track_mated_mean: np.ndarray
    track_z: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)
    speed_m_s: np.ndarray | None = None
    u_prevalence: float = 0.5
    u_tail: float = 0.5

    @property
    def hours(self) -> int:
        """Number of (possibly partial) hours in the window."""
        return max(1, int(np.ceil(self.duration_s / 3600 - 1e-9)))


@dataclass(kw_only=True)
class Outcome:
    """Alerts and per-person flags of one scored replication.

    Attributes:
        totals: counts per :data:`COUNT_METRICS`.
        hourly: (hours,) int arrays per :data:`HOURLY_METRICS`, by arrival hour for passers-by,
            first usable capture for faces scanned, alert time for alerts.
        alert_person, alert_t_s, alert_camera, alert_true, alert_score, alert_watchlisted:
            one entry per alert, sorted by time.
    """

    totals: dict[str, int]
    hourly: dict[str, np.ndarray]
    alert_person: np.ndarray
    alert_t_s: np.ndarray
    alert_camera: np.ndarray
    alert_true: np.ndarray
    alert_score: np.ndarray
    alert_watchlisted: np.ndarray


def _true_if_listed(
    tp: np.ndarray, usable: np.ndarray, mated: np.ndarray, top_nm: np.ndarray, threshold: float
) -> int:
    """True alerts had every passer-by been on the watchlist (each person's first alerting capture)."""
    ai = np.flatnonzero(usable & (np.maximum(mated, top_nm) >= threshold))
    ai = ai[_first_per_person(tp[ai])]
    return int(((mated[ai] >= threshold) & (mated[ai] >= top_nm[ai])).sum())


def _first_per_person(person: np.ndarray) -> np.ndarray:
    """Mask of the first element of each run of equal values in a sorted array."""
    m = np.ones(len(person), bool)
    m[1:] = person[1:] != person[:-1]
    return m


def score_replication(
    rep: RepData,
    model: ScoreModel,
    *,
    threshold: float,
    watchlist_size: int,
    prevalence: float,
    prevalence_dispersion: float = 0.0,
) -> Outcome:
    """Alerts of one replication under a threshold, watchlist size and prevalence.

    One replication is one deployment: its prevalence is ``prevalence`` times its Gamma
    multiplier (mean 1, variance ``prevalence_dispersion``) at ``rep.u_prevalence``, and its
    false-match rate the model's times the multiplier with the dispersion of the rate's level
    (:meth:`ScoreModel.fmr_dispersion` at 0.60) at ``rep.u_tail``, the same at every threshold, so
    a higher threshold never adds an alert (the shape's uncertainty is in the model's analytic
    interval, :func:`model_figures`); with dispersions of 0 both are exactly the given rates.

    Args:
        rep: the replication's stored draws.
        model: mated and non-mated score distributions.
        threshold: alert threshold on [0, 1].
        watchlist_size: N entries.
        prevalence: mean share of passers-by on the watchlist.
        prevalence_dispersion: its between-deployment Gamma dispersion (variance / mean^2).

    Returns:
        :class:`Outcome`; its totals also hold ``true_alerts_if_listed``, the true alerts had
        everyone been on the watchlist (E[true alerts] = prevalence x that count).
    """
    p_dep = prevalence * float(gamma_multiplier(rep.u_prevalence, prevalence_dispersion))
    wl = rep.u_watchlist < p_dep
    usable = rep.track_usable > 0
    tp = rep.track_person
    # one multiplier per deployment, the same at every threshold (so re-scoring stays monotone)
    lam = float(gamma_multiplier(rep.u_tail, model.fmr_dispersion(TAIL_KNOTS[0])))
    top_nm = model.top_nonmated(rep.u_nonmated[tp], watchlist_size, lam)
    mated_all = np.where(
        usable,
        model.mated_score(np.nan_to_num(rep.track_mated_mean, nan=0.0), rep.z_person[tp], rep.track_z),
        -np.inf,
    )
    mated = np.where(wl[tp], mated_all, -np.inf)
    score = np.maximum(mated, top_nm)
    ai = np.flatnonzero(usable & (score >= threshold))
    ai = ai[_first_per_person(tp[ai])]
    a_true = wl[tp[ai]] & (mated[ai] >= threshold) & (mated[ai] >= top_nm[ai])
    order = np.argsort(rep.track_t_best_s[ai], kind="stable")
    ai, a_true = ai[order], a_true[order]
    a_person = tp[ai]
    totals, hourly = _count(rep, wl, usable, ai, a_true)
    totals["true_alerts_if_listed"] = _true_if_listed(tp, usable, mated_all, top_nm, threshold)
    return Outcome(
        totals=totals,
        hourly=hourly,
        alert_person=a_person,
        alert_t_s=rep.track_t_best_s[ai],
        alert_camera=rep.track_camera[ai],
        alert_true=a_true,
        alert_score=score[ai],
        alert_watchlisted=wl[a_person],
    )


def _count(
    rep: RepData, wl: np.ndarray, usable: np.ndarray, ai: np.ndarray, a_true: np.ndarray
) -> tuple[dict[str, int], dict[str, np.ndarray]]:
    """Totals and hourly counts of one scored replication (alerts ``ai`` are track indices in time order)."""
    H, tp = rep.hours, rep.track_person
    a_person = tp[ai]
    zone_people = np.unique(tp[rep.track_in_zone])
    scan_idx = np.flatnonzero(usable)
    scan_first = scan_idx[_first_per_person(tp[scan_idx])]
    scanned = tp[scan_first]
    a_t = rep.track_t_best_s[ai]
    totals = {
        "passers_by": len(rep.t_arrive_s),
        "turned_back": int(rep.turned_back.sum()),
        "in_zone": len(zone_people),
        "faces_scanned": len(scanned),
        "captures": int(rep.track_usable.sum()),
        "watchlisted_passers": int(wl.sum()),
        "watchlisted_in_zone": int(wl[zone_people].sum()),
        "alerts": len(ai),
        "true_alerts": int(a_true.sum()),
        "false_alerts": int((~a_true).sum()),
        "false_alerts_not_listed": int((~a_true & ~wl[a_person]).sum()),
        "faces_scanned_not_listed": int((~wl[scanned]).sum()),
    }

    def hist(t: np.ndarray) -> np.ndarray:
        return np.bincount(np.clip((t // 3600).astype(np.int64), 0, H - 1), minlength=H)[:H]

    hourly = {
        "passers_by": hist(rep.t_arrive_s),
        "faces_scanned": hist(rep.track_t_best_s[scan_first]),
        "alerts": hist(a_t),
        "true_alerts": hist(a_t[a_true]),
        "false_alerts": hist(a_t[~a_true]),
    }
    return totals, hourly


def _rates(t: Mapping[str, float]) -> dict[str, float]:
    def ratio(a: float, b: float) -> float:
        return float(a / b) if b > 0 else float("nan")

    return {
        "tpir": ratio(t["true_alerts"], t["watchlisted_in_zone"]),
        "fpir": ratio(t["false_alerts_not_listed"], t["faces_scanned_not_listed"]),
        "precision": ratio(t["true_alerts"], t["alerts"]),
        "scan_share": ratio(t["faces_scanned"], t["passers_by"]),
    }


def percentile_band(values: Any) -> dict[str, float | None]:
    """Mean and 2.5th / 97.5th percentiles of the finite values: a 95% predictive-interval band.

    >>> percentile_band([1.0, 2.0, float("nan")])
    {'mean': 1.5, 'p2_5': 1.025, 'p97_5': 1.975}
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return {"mean": None, "p2_5": None, "p97_5": None}
    lo, hi = np.percentile(v, [2.5, 97.5])
    return {"mean": float(v.mean()), "p2_5": float(lo), "p97_5": float(hi)}


def _band(values: Any) -> Band:
    return Band.from_json(percentile_band(values))


def summarise(
    outcomes: list[Outcome],
    *,
    duration_s: float,
    model: ScoreModel,
    threshold: float,
    watchlist_size: int,
    prevalence: float,
    prevalence_dispersion: float = 0.0,
) -> RunSummary:
    """Mean and 95% predictive interval of every metric over replications.

    Args:
        outcomes: one per replication.
        duration_s: the window, s (for per-hour rates).
        model, threshold, watchlist_size, prevalence: what was scored (recorded, and the model's
            analytic FPIR at this threshold and size).
        prevalence_dispersion: the prevalence's between-deployment Gamma dispersion.

    Returns:
        the scored core of a :class:`~twin.scoring.summary.RunSummary`: ``totals`` and
        ``per_hour_rate`` (metric -> band), ``rates`` (tpir, fpir, precision, scan_share -> band),
        ``hourly`` (metric -> per-hour bands), ``model`` (analytic FPIR, FMR), ``interval`` (what a
        band means), ``scored_with``.
    """
    hours = duration_s / 3600
    totals = {k: _band(np.array([o.totals[k] for o in outcomes])) for k in COUNT_METRICS}
    per_hour = {k: _band(np.array([o.totals[k] / hours for o in outcomes])) for k in COUNT_METRICS}
    rates = [_rates(o.totals) for o in outcomes]
    rate_bands = {k: _band(np.array([r[k] for r in rates])) for k in RATE_METRICS}
    H = len(outcomes[0].hourly["passers_by"]) if outcomes else 0
    hourly = {
        k: tuple(_band(np.array([o.hourly[k][h] for o in outcomes])) for h in range(H))
        for k in HOURLY_METRICS
    }
    figures = model_figures(
        outcomes,
        model=model,
        threshold=threshold,
        watchlist_size=watchlist_size,
        prevalence=prevalence,
        prevalence_dispersion=prevalence_dispersion,
    )
    return RunSummary(
        replications=len(outcomes),
        interval="95% predictive interval: 2.5th-97.5th percentiles over replications (Poisson noise "
        "included)",
        scored_with=ScoredWith(
            threshold=threshold, watchlist_size=int(watchlist_size), prevalence=prevalence
        ),
        totals=totals,
        per_hour_rate=per_hour,
        rates=rate_bands,
        hourly=hourly,
        model=figures,
    )


def _nb_interval(mean: float, dispersion: float, level: float = 0.95) -> tuple[float, float]:
    """Central interval of a count with this mean: Poisson, or negative binomial with Gamma dispersion.

    >>> _nb_interval(0.0, 0.0), _nb_interval(4.0, 0.0)
    ((0.0, 0.0), (1.0, 8.0))
    """
    from scipy.stats import nbinom, poisson

    a = (1 - level) / 2
    if not mean > 0:
        return 0.0, 0.0
    if dispersion > 1e-9:  # below: Poisson (and 1 / d would overflow)
        n, p = 1.0 / dispersion, 1.0 / (1.0 + dispersion * mean)
        return float(nbinom.ppf(a, n, p)), float(nbinom.ppf(1 - a, n, p))
    return float(poisson.ppf(a, mean)), float(poisson.ppf(1 - a, mean))


def model_figures(
    outcomes: list[Outcome],
    *,
    model: ScoreModel,
    threshold: float,
    watchlist_size: int,
    prevalence: float,
    prevalence_dispersion: float = 0.0,
) -> ModelFigures:
    """The model's expected true and false alerts and their analytic 95% predictive intervals.

    Expected false alerts = faces scanned of people not on the watchlist (mean over replications)
    x FPIR(t, N); expected true alerts = prevalence x the true alerts had everyone been listed
    (mean over replications). Each interval is a negative binomial with that mean and the
    deployment's Gamma dispersion (the false-match rate's, :meth:`ScoreModel.fmr_dispersion`; the
    prevalence's), Poisson without one: steadier than a few replications' percentiles of a rare count,
    and never 0-0 when the expectation is positive enough to matter.
    """
    fpir = float(model.fpir(threshold, watchlist_size))
    d_fa = float(model.fmr_dispersion(threshold))
    if not outcomes:
        return ModelFigures(
            model_id=model.model_id, fmr_at_threshold=float(model.fmr(threshold)), fpir_at_threshold=fpir
        )
    e_fa = float(np.mean([o.totals["faces_scanned_not_listed"] for o in outcomes])) * fpir
    e_ta = float(prevalence * np.mean([o.totals["true_alerts_if_listed"] for o in outcomes]))
    return ModelFigures(
        model_id=model.model_id,
        fmr_at_threshold=float(model.fmr(threshold)),
        fpir_at_threshold=fpir,
        fpir_definition="1 - (1 - FMR(t))^N per face scanned (ISO/IEC 19795-1, 1:N)",
        expected_false_alerts=e_fa,
        expected_false_alerts_definition="faces scanned of people not on the watchlist x FPIR: the model's "
        "expectation, steadier than a few replications' count of a rare event",
        expected_true_alerts=e_ta,
        false_alerts_interval=_nb_interval(e_fa, d_fa),
        true_alerts_interval=_nb_interval(e_ta, prevalence_dispersion),
        fmr_dispersion=d_fa,
        prevalence_dispersion=float(prevalence_dispersion),
        model_interval_definition="95% predictive interval of one deployment's count from the model: "
        "negative binomial with the expected count and the between-deployment spread (false-match rate, "
        "prevalence), Poisson without one",
    )


def pooled_tpir(
    reps: list[RepData], model: ScoreModel, *, threshold: float, watchlist_size: int, mated_shift: float = 0.0
) -> tuple[float, int]:
    """Per-pass TPIR pooled over replications with everyone on the watchlist.

    Every pass through the zone then counts as a mated pass, so the estimate rests on all the
    simulated passes rather than the few watchlisted ones. ``mated_shift`` is added to every mated
    mean score (a group's shift, or a change of ``mated_mean_max``); it leaves the choice of best
    capture unchanged, so no re-simulation is needed.

    Returns:
        (TPIR, passes through the zone); TPIR is NaN without passes.
    """
    hits = passes = 0
    for rep in reps:
        shifted = (
            rep
            if mated_shift == 0
            else dataclasses.replace(rep, track_mated_mean=rep.track_mated_mean + np.float32(mated_shift))
        )
        out = score_replication(
            shifted, model, threshold=threshold, watchlist_size=watchlist_size, prevalence=1.0
        )
        hits += out.totals["true_alerts"]
        passes += out.totals["watchlisted_in_zone"]
    return (hits / passes if passes else float("nan")), passes
