"""Adjudication and response in SimPy: operators review each alert, officers intercept the person.

An alert is only useful if a trained officer reviews it and someone reaches the person before
they walk out of the area. Per alert (in time order):

1. **Review.** The alert joins one FIFO queue for the ``operators`` (a SimPy ``Resource``) and
   takes a review time drawn from ``review_time`` (lognormal, exponential or fixed).
2. **Decision.** A true alert is always dispatched (the operator sees the watchlist image of the
   same person; assumption). A false alert is dispatched with the probability that the operator
   fails to reject it (``false_alert_dispatch_probability``), otherwise it is *dismissed at review*.
3. **Response.** A dispatched alert requests one of the ``officers`` (a second ``Resource``);
   if no officer is free before the person leaves the area, the alert is *lost in the crowd*.
   The officer moves off ``dispatch_latency_s`` later from the alerting camera and walks at
   ``officer_speed_m_s`` after the person.
4. **Outcome.** *true alert engaged*, *true alert lost*, *false alert dismissed at review*,
   *false alert engaged* (a wrongful stop) or *false alert lost*. An engaged true alert ends in an
   arrest with ``arrest_probability``.

Geometry (the "predicted position"; a deliberately simple 1-D model along the person's route):
at the alert time ``t_a`` the person is at the alerting camera's recognition zone and keeps
walking along their route at their own speed ``v`` until they leave the area at ``t_leave``
(both from the crowd simulation). Intercept officers wait at a post ``officer_post_m`` = P metres
further along the walking direction (Met practice: officers stand a short way past the van). An
officer who sets off at ``t_go`` (review end, a free officer, then ``dispatch_latency_s``) finds
the person at ``x = v (t_go - t_a)`` and walks at ``u = officer_speed_m_s``:

    x < P (not yet at the post): they walk towards each other, t_int = t_go + (P - x) / (u + v);
    x >= P (already past it):    the officer follows,          t_int = t_go + (x - P) / (u - v)
                                                               (never if u <= v);

the alert is engaged iff ``t_int <= t_leave``, otherwise the officer follows until the person
leaves and the alert is lost. With P = 0 the officer starts at the camera. The officer walks back
to the post in the time it took to get there, so an engagement holds the officer for
``latency + 2 (t_int - t_go) + stop_duration_s`` (+ ``arrest_duration_s`` after an arrest). The
camera-to-face distance at capture (a few metres) and the crowd's slowing of the officer are
neglected; one officer pool serves every camera.

Calibration (``shared/reference/public_figures.md``, "Operational records"; calibrate with one
record, validate with another; :data:`CALIBRATION` holds the figures):

* *Share of dispatched alerts reached, e.* The Met's published deployments of 2023-24
  (data/records/) give it for current practice: 13 of 862 true alerts were "not located or not
  engaged", so e = 1 - 13/862 = 0.985. (Earlier practice was looser: the Oxford Circus record of
  27 Feb 2020, 8 alerts, 7 false, 6 stops, bounds it by e >= 6/8; the Essex review's and the
  2020 calibration took e = 0.9.)
* *Review time* (no record times it): its mean is the one free timing parameter; 5 s makes the
  model reach e = 0.985 at Oxford Circus (:func:`calibrate_review_mean` on the reference van
  deployment, ample officers; tests/sim/test_operations.py re-checks it on another seed); 11 s
  reached the 2020-era e = 0.9.
* *False-alert dispatch probability p* (the operator fails to reject): wrongful stops per false
  alert are p x e. Essex review (Fussey & Murray 2019): 42 matches, 8 verified correct, 22
  stopped -> 14 of 34 false alerts stopped; 2020: 5 of 7. Pooled 19/41 = 0.46, so p = 0.46 / 0.9
  = 0.51 with that era's e. Check: the model then expects 0.9 x (8 + 34 x 0.51) = 22.8 stops for
  Essex's mix (22 observed) and 4.1 for 2020's (6 observed). The 2023-24 records do not say how
  false alerts ended, so p stays the only published estimate.
* *Arrest probability* per engaged true alert: the 2024 records, 372 arrests from 793 engaged
  true alerts (806 less 13 not located) = 0.47 (2023: 34 of 56 = 0.61; 2020: 1 of 1).
* *Officer speed 2.0 m/s, post 20 m, latency 5 s, cv 0.5, stop 10 min, arrest 1 h*: assumptions.
* The Oxford Circus record of 28 Jan 2022 is never used here: tests validate against it.

Randomness: everything is drawn from the replication's "operations" stream
(:class:`twin.rng.Streams`), keyed by the alerted person (:func:`draw_person_variates`), so other
streams are untouched, a search over officer counts reuses the same draws, and a person alerted
under two thresholds is reviewed and decided alike (common random numbers).

Long on purpose (~460 lines of code): one model, specified above, with its SimPy process, its
draws, its summary and its calibration (:func:`officers_curve`, :func:`calibrate_review_mean`)
side by side, so that a change to one assumption and the code that calibrates it are read
together; the file is the old ``twin/operations.py`` moved whole.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import simpy

from twin.errors import ScenarioError
from twin.rng import Streams
from twin.scenario.specs import OperationsSpec, ReviewTimeSpec
from twin.scoring.metric_table import Band
from twin.scoring.metrics import Outcome, RepData, percentile_band
from twin.scoring.summary import OfficersNeeded, OperationsSummary

__all__ = [
    "CALIBRATION",
    "OPS_COUNT_METRICS",
    "OPS_RATE_METRICS",
    "OPS_TIME_METRICS",
    "OUTCOMES",
    "AlertDraws",
    "AlertStream",
    "OpsResult",
    "alert_stream",
    "calibrate_review_mean",
    "draw_alert_variates",
    "draw_person_variates",
    "draw_review_times",
    "engaged_share_of_dispatched",
    "intercept_delay_s",
    "officers_curve",
    "ops_totals",
    "run_operations",
    "simulate_operations",
    "summarise_operations",
]

#: Outcome codes of an alert, in order (index = code stored in :attr:`OpsResult.outcome`).
OUTCOMES: tuple[str, ...] = ("true_engaged", "true_lost", "false_dismissed", "false_engaged", "false_lost")
TRUE_ENGAGED, TRUE_LOST, FALSE_DISMISSED, FALSE_ENGAGED, FALSE_LOST = range(5)

#: Count metrics per replication (``false_engaged`` is a wrongful stop; stops = engaged alerts).
OPS_COUNT_METRICS: tuple[str, ...] = (*OUTCOMES, "stops", "arrests")
#: Time metrics per replication, s (means over the replication's alerts).
OPS_TIME_METRICS: tuple[str, ...] = ("review_wait_s", "review_wait_max_s", "capture_to_engagement_s")
#: Shares per replication.
OPS_RATE_METRICS: tuple[str, ...] = ("engaged_true_share", "operator_utilisation", "officer_utilisation")

#: The records behind the calibrated defaults (never the 28 Jan 2022 record: it validates).
CALIBRATION: dict[str, Any] = {
    "essex_review_2019": {
        "source": "Fussey & Murray 2019 (Met trials 2018-19)",
        "alerts": 42,
        "verified_correct": 8,
        "stops": 22,
    },
    "oxford_circus_2020_02_27": {
        "source": "Met record; Big Brother Watch 2020-03-04",
        "alerts": 8,
        "false_alerts": 7,
        "stops": 6,
        "false_alert_stops": 5,
        "arrests": 1,
    },
    "met_records_2023_24": {
        "source": "Met LFR deployment grids 2023-24 (data/records/met_deployments_2020-02_2024-09.csv)",
        "true_alerts": 862,
        "not_located_or_engaged": 13,
        "true_alerts_2024": 806,
        "not_located_2024": 13,
        "arrests_2024": 372,
    },
    "engaged_share_of_dispatched": round(1 - 13 / 862, 3),
    "engaged_share_2020_era": 0.9,
    "engaged_share_lower_bound": 6 / 8,
    "pooled_false_alert_stop_share": 19 / 41,
    "false_alert_dispatch_probability": round(19 / 41 / 0.9, 2),
    "arrest_probability": round(372 / (806 - 13), 2),
    "review_mean_s": 5.0,
    "review_mean_2020_era_s": 11.0,
    "review_calibrated_on": "scenarios/oxford_circus.yaml (seed 20260101, 2 replications, prevalence "
    "0.01 for "
    "many alerts), officers posted 20 m, latency 5 s, 2.0 m/s",
}


@dataclass(frozen=True, kw_only=True)
class AlertStream:
    """The alerts of one replication, as operations sees them (arrays of length A, time order).

    Attributes:
        t_s: (A,) float64 alert time (capture of the alerting face), s from the window start.
        true: (A,) bool, a true alert (the person is on the watchlist and matched to their entry).
        t_leave_s: (A,) float64 time the person leaves the area, s (>= t_s; inf: never).
        speed_m_s: (A,) float64 the person's walking speed, m/s (>= 0).
        camera: (A,) int camera index of the alert (where the officer starts).
        person: (A,) int person index in the replication (keys the alert's random draws).
    """

    t_s: np.ndarray
    true: np.ndarray
    t_leave_s: np.ndarray
    speed_m_s: np.ndarray
    camera: np.ndarray
    person: np.ndarray

    def __post_init__(self) -> None:
        n = len(self.t_s)
        for name in ("true", "t_leave_s", "speed_m_s", "camera", "person"):
            if len(getattr(self, name)) != n:
                raise ScenarioError(
                    f"alert stream: {name} has {len(getattr(self, name))} entries, t_s has {n}"
                )

    def __len__(self) -> int:
        return len(self.t_s)

    @classmethod
    def build(
        cls,
        t_s: Any,
        true: Any,
        t_leave_s: Any,
        speed_m_s: Any,
        camera: Any | None = None,
        person: Any | None = None,
    ) -> AlertStream:
        """Arrays (or scalars broadcast to the length of ``t_s``) sorted by alert time."""
        t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
        n = len(t)

        def arr(x: Any, dtype: Any) -> np.ndarray:
            a = np.asarray(x, dtype=dtype)
            return np.full(n, a, dtype=dtype) if a.ndim == 0 else a

        order = np.argsort(t, kind="stable")
        cam = np.zeros(n, np.int64) if camera is None else arr(camera, np.int64)
        who = np.arange(n, dtype=np.int64) if person is None else arr(person, np.int64)
        return cls(
            t_s=t[order],
            true=arr(true, bool)[order],
            t_leave_s=arr(t_leave_s, np.float64)[order],
            speed_m_s=arr(speed_m_s, np.float64)[order],
            camera=cam[order],
            person=who[order],
        )


def alert_stream(rep: RepData, outcome: Outcome, *, default_speed_m_s: float) -> AlertStream:
    """The alerts of a scored replication with each person's leaving time and walking speed.

    Args:
        rep: the replication (people's ``t_leave_s`` and ``speed_m_s``).
        outcome: its alerts (:func:`twin.scoring.metrics.score_replication`).
        default_speed_m_s: walking speed used when the replication did not record speeds, m/s.
    """
    p = outcome.alert_person
    speed = rep.speed_m_s[p] if rep.speed_m_s is not None else np.full(len(p), default_speed_m_s)
    return AlertStream.build(
        outcome.alert_t_s, outcome.alert_true, rep.t_leave_s[p], speed, outcome.alert_camera, p
    )


@dataclass(frozen=True)
class AlertDraws:
    """Per-alert random variates, drawn once and reused across officer counts.

    Attributes:
        review_s: (A,) review time, s.
        u_dispatch: (A,) uniforms: a false alert is dispatched iff u < false_alert_dispatch_probability.
        u_arrest: (A,) uniforms: an engaged true alert is an arrest iff u < arrest_probability.
    """

    review_s: np.ndarray
    u_dispatch: np.ndarray
    u_arrest: np.ndarray


def draw_review_times(n: int, spec: ReviewTimeSpec, rng: np.random.Generator) -> np.ndarray:
    """``n`` review times from the spec's distribution, s.

    Lognormal with mean m and coefficient of variation c: sigma^2 = ln(1 + c^2),
    mu = ln(m) - sigma^2 / 2.

    >>> spec = ReviewTimeSpec(distribution="fixed", mean_s=20)
    >>> draw_review_times(2, spec, np.random.default_rng(0)).tolist()
    [20.0, 20.0]
    >>> x = draw_review_times(200_000, ReviewTimeSpec(mean_s=30, cv=0.5), np.random.default_rng(0))
    >>> round(float(x.mean()), 0), round(float(x.std() / x.mean()), 2)
    (30.0, 0.5)
    """
    if spec.distribution == "fixed":
        return np.full(n, spec.mean_s)
    if spec.distribution == "exponential":
        return rng.exponential(spec.mean_s, n)
    s2 = math.log1p(spec.cv**2)
    return rng.lognormal(math.log(spec.mean_s) - s2 / 2, math.sqrt(s2), n)


def draw_alert_variates(n: int, spec: OperationsSpec, rng: np.random.Generator) -> AlertDraws:
    """Draw the review times and decision uniforms of ``n`` alerts (in this order, from ``rng``)."""
    review = draw_review_times(n, spec.review_time, rng)
    return AlertDraws(review_s=review, u_dispatch=rng.random(n), u_arrest=rng.random(n))


def draw_person_variates(person: np.ndarray, spec: OperationsSpec, rng: np.random.Generator) -> AlertDraws:
    """Per-alert draws keyed by the alerted person, so a person gets the same draws under any setting.

    One 63-bit key is drawn from ``rng`` (the replication's "operations" stream); alert i then
    draws from ``default_rng([key, person[i]])``. An alert raised both at threshold 0.60 and 0.64
    (or with 2 and 6 officers) is reviewed for the same time and decided the same way, so two
    variants of a scenario differ by their setting, not by reshuffled draws (common random numbers).

    >>> spec = OperationsSpec()
    >>> a = draw_person_variates(np.array([7, 3]), spec, np.random.default_rng(1))
    >>> b = draw_person_variates(np.array([3]), spec, np.random.default_rng(1))
    >>> bool(a.review_s[1] == b.review_s[0] and a.u_dispatch[1] == b.u_dispatch[0])
    True
    """
    key = int(rng.integers(2**63 - 1))
    n = len(person)
    review, u_d, u_a = np.empty(n), np.empty(n), np.empty(n)
    for i, who in enumerate(np.asarray(person, dtype=np.int64)):
        g = np.random.default_rng([key, int(who)])
        review[i] = draw_review_times(1, spec.review_time, g)[0]
        u_d[i], u_a[i] = g.random(2)
    return AlertDraws(review_s=review, u_dispatch=u_d, u_arrest=u_a)


def intercept_delay_s(gap_m: float, officer_speed_m_s: float, person_speed_m_s: float) -> float:
    """Time for an officer to reach a walking person ``gap_m`` metres ahead (negative: coming towards them),
    s.

    Ahead (``gap_m > 0``) the officer closes at ``u - v`` (never if ``u <= v``); behind the
    officer's post (``gap_m < 0``) the two walk towards each other and close at ``u + v``.

    >>> intercept_delay_s(42.0, 2.0, 1.5)
    84.0
    >>> intercept_delay_s(-34.0, 2.0, 1.4)
    10.0
    >>> intercept_delay_s(0.0, 1.0, 1.5), intercept_delay_s(5.0, 1.0, 1.5)
    (0.0, inf)
    """
    if gap_m == 0:
        return 0.0
    if gap_m < 0:
        return -gap_m / (officer_speed_m_s + person_speed_m_s)
    closing = officer_speed_m_s - person_speed_m_s
    return gap_m / closing if closing > 0 else math.inf


@dataclass(kw_only=True)
class OpsResult:
    """What happened to each alert of one replication (arrays of length A, the stream's order).

    Attributes:
        outcome: (A,) int8 index into :data:`OUTCOMES`.
        review_start_s, review_end_s: (A,) float64 when the review started and ended, s.
        officer_start_s: (A,) float64 when an officer was assigned, s (NaN: none).
        intercept_t_s: (A,) float64 when the person was reached, s (NaN: not engaged).
        arrested: (A,) bool.
        operator_busy_s, officer_busy_s: busy time inside the window [0, duration_s], summed
            over operators / officers, s.
        operators, officers: the resource capacities used.
        duration_s: the window, s.
    """

    outcome: np.ndarray
    review_start_s: np.ndarray
    review_end_s: np.ndarray
    officer_start_s: np.ndarray
    intercept_t_s: np.ndarray
    arrested: np.ndarray
    operator_busy_s: float
    officer_busy_s: float
    operators: int
    officers: int
    duration_s: float


def _in_window(a: float, b: float, duration_s: float) -> float:
    return max(0.0, min(b, duration_s) - max(a, 0.0))


def simulate_operations(
    alerts: AlertStream,
    spec: OperationsSpec,
    *,
    duration_s: float,
    rng: np.random.Generator | None = None,
    draws: AlertDraws | None = None,
    officers: int | None = None,
) -> OpsResult:
    """Review and response of one replication's alerts (SimPy).

    Args:
        alerts: the alerts in time order.
        spec: operators, officers, review time, probabilities, speeds and durations.
        duration_s: the deployment window, s (utilisation is busy time inside it).
        rng: the "operations" stream; draws the variates when ``draws`` is not given.
        draws: per-alert variates from :func:`draw_alert_variates` (reuse them to compare
            officer counts on the same alerts).
        officers: overrides ``spec.officers``.

    Returns:
        :class:`OpsResult`.

    Raises:
        ScenarioError: officers < 0, neither ``rng`` nor ``draws`` given, or draws of another length.
    """
    n_off = spec.officers if officers is None else int(officers)
    if n_off < 0:
        raise ScenarioError(f"officers {n_off} must be >= 0; give the number of intercept officers, e.g. 4")
    A = len(alerts)
    if draws is None:
        if rng is None:
            raise ScenarioError("simulate_operations needs rng (the 'operations' stream) or draws")
        draws = draw_alert_variates(A, spec, rng)
    if len(draws.review_s) != A:
        raise ScenarioError(f"{len(draws.review_s)} alert draws for {A} alerts")
    resp = _Response(alerts, spec, draws, n_off, float(duration_s))
    resp.env.process(resp.source())
    resp.env.run()
    return resp.result()


class _Response:
    """One replication's review and response as SimPy processes, and what they recorded per alert."""

    def __init__(
        self, alerts: AlertStream, spec: OperationsSpec, draws: AlertDraws, n_off: int, dur: float
    ) -> None:
        A = len(alerts)
        self.alerts, self.spec, self.draws, self.n_off, self.dur = alerts, spec, draws, n_off, dur
        self.outcome = np.full(A, -1, np.int8)
        self.r0, self.r1 = np.full(A, np.nan), np.full(A, np.nan)
        self.o0, self.ti = np.full(A, np.nan), np.full(A, np.nan)
        self.arrested = np.zeros(A, bool)
        self.busy = {"operator": 0.0, "officer": 0.0}
        self.env = simpy.Environment()
        self.ops = simpy.Resource(self.env, capacity=spec.operators)
        self.offs = simpy.Resource(self.env, capacity=n_off) if n_off > 0 else None

    def handle(self, i: int) -> simpy.events.ProcessGenerator:
        """Alert ``i``: operator review, then (if dispatched) an officer walks after the person."""
        env, spec, draws, alerts = self.env, self.spec, self.draws, self.alerts
        u, lat, post = spec.officer_speed_m_s, spec.dispatch_latency_s, spec.officer_post_m
        true = bool(alerts.true[i])
        lost = TRUE_LOST if true else FALSE_LOST
        with self.ops.request() as req:
            yield req
            self.r0[i] = env.now
            yield env.timeout(float(draws.review_s[i]))
            self.r1[i] = env.now
        self.busy["operator"] += _in_window(self.r0[i], self.r1[i], self.dur)
        if not true and not draws.u_dispatch[i] < spec.false_alert_dispatch_probability:
            self.outcome[i] = FALSE_DISMISSED
            return
        t_leave = float(alerts.t_leave_s[i])
        offs = self.offs
        if offs is None or env.now >= t_leave:
            self.outcome[i] = lost
            return
        req = offs.request()
        got = yield req | env.timeout(t_leave - env.now)
        if req not in got:  # no officer free before the person left the area
            req.cancel()
            self.outcome[i] = lost
            return
        self.o0[i] = start = env.now
        t_go = start + lat
        v = float(alerts.speed_m_s[i])
        pursuit = intercept_delay_s(v * (t_go - float(alerts.t_s[i])) - post, u, v)
        if t_go + pursuit <= t_leave:
            yield env.timeout(lat + pursuit)
            self.ti[i] = env.now
            self.outcome[i] = TRUE_ENGAGED if true else FALSE_ENGAGED
            self.arrested[i] = true and bool(draws.u_arrest[i] < spec.arrest_probability)
            hold = spec.stop_duration_s + (spec.arrest_duration_s if self.arrested[i] else 0.0) + pursuit
        else:
            pursuit = max(t_leave - t_go, 0.0)  # follows until the person leaves the area
            self.outcome[i] = lost
            yield env.timeout(lat + pursuit)
            hold = pursuit  # walk back
        yield env.timeout(hold)
        self.busy["officer"] += _in_window(start, env.now, self.dur)
        offs.release(req)

    def source(self) -> simpy.events.ProcessGenerator:
        """Each alert's process, started at its time."""
        now = 0.0
        for i in range(len(self.alerts)):
            t = float(self.alerts.t_s[i])
            if t > now:
                yield self.env.timeout(t - now)
                now = t
            self.env.process(self.handle(i))

    def result(self) -> OpsResult:
        return OpsResult(
            outcome=self.outcome,
            review_start_s=self.r0,
            review_end_s=self.r1,
            officer_start_s=self.o0,
            intercept_t_s=self.ti,
            arrested=self.arrested,
            operator_busy_s=float(self.busy["operator"]),
            officer_busy_s=float(self.busy["officer"]),
            operators=self.spec.operators,
            officers=self.n_off,
            duration_s=self.dur,
        )


def ops_totals(res: OpsResult, alerts: AlertStream) -> dict[str, float]:
    """Per-replication operations metrics: counts, mean times (s) and shares.

    Keys: :data:`OPS_COUNT_METRICS`, :data:`OPS_TIME_METRICS`, :data:`OPS_RATE_METRICS`.
    Means over no alert (or no engaged alert) and shares over no true alert are NaN;
    officer utilisation is NaN with no officer.
    """
    counts = (
        np.bincount(res.outcome.astype(np.int64), minlength=len(OUTCOMES))
        if len(res.outcome)
        else np.zeros(len(OUTCOMES), int)
    )
    out: dict[str, float] = {k: int(counts[i]) for i, k in enumerate(OUTCOMES)}
    out["stops"] = out["true_engaged"] + out["false_engaged"]
    out["arrests"] = int(res.arrested.sum())
    wait = res.review_start_s - alerts.t_s
    engaged = ~np.isnan(res.intercept_t_s)
    out["review_wait_s"] = float(wait.mean()) if len(wait) else math.nan
    out["review_wait_max_s"] = float(wait.max()) if len(wait) else math.nan
    out["capture_to_engagement_s"] = (
        float((res.intercept_t_s - alerts.t_s)[engaged].mean()) if engaged.any() else math.nan
    )
    n_true = int(alerts.true.sum())
    out["engaged_true_share"] = out["true_engaged"] / n_true if n_true else math.nan
    out["operator_utilisation"] = res.operator_busy_s / (res.operators * res.duration_s)
    out["officer_utilisation"] = (
        res.officer_busy_s / (res.officers * res.duration_s) if res.officers else math.nan
    )
    return out


#: Fewer true alerts than this (pooled over replications) make the officers-needed figure a rough
#: one: a share of 0.8 estimated from 30 alerts has a 95% binomial interval of about +/- 0.14.
FIRM_TRUE_ALERTS = 30


def officers_curve(
    streams: list[AlertStream],
    draws: list[AlertDraws],
    spec: OperationsSpec,
    *,
    duration_s: float,
) -> dict[str, Any]:
    """The share of true alerts engaged for 0..``spec.max_officers_searched`` officers.

    Every count replays the same alerts with the same draws. The expected share at n officers is
    pooled over replications (engaged true alerts / true alerts); the smallest n whose expected
    share reaches ``spec.target_engaged_share`` is the officers needed (None if not reached: the
    review time and the walking geometry then cap the share whatever the officer count).

    Returns:
        JSON-ready dict: ``target_engaged_share``, ``officers`` (list of n), ``engaged_true_share``
        (expected share per n, None without true alerts), ``wrongful_stops`` and ``arrests``
        (mean per replication per n), ``officer_utilisation`` (mean per n), ``officers_needed``
        (int or None), ``true_alerts`` (summed over replications), ``note``.
    """
    ns = list(range(spec.max_officers_searched + 1))
    total_true = int(sum(int(s.true.sum()) for s in streams))
    shares: list[float | None] = []
    wrongful: list[float] = []
    arrests: list[float] = []
    util: list[float | None] = []
    for n in ns:
        tots = [
            ops_totals(simulate_operations(s, spec, duration_s=duration_s, draws=d, officers=n), s)
            for s, d in zip(streams, draws, strict=True)
        ]
        eng = sum(t["true_engaged"] for t in tots)
        shares.append(eng / total_true if total_true else None)
        wrongful.append(float(np.mean([t["false_engaged"] for t in tots])) if tots else 0.0)
        arrests.append(float(np.mean([t["arrests"] for t in tots])) if tots else 0.0)
        u = [t["officer_utilisation"] for t in tots if not math.isnan(t["officer_utilisation"])]
        util.append(float(np.mean(u)) if u else None)
    target = spec.target_engaged_share
    needed = next((n for n, s in zip(ns, shares, strict=True) if s is not None and s >= target - 1e-12), None)
    if total_true == 0:
        note = "no true alert in any replication: the officers needed cannot be estimated"
    elif needed is None:
        best = max(s for s in shares if s is not None)
        if total_true < FIRM_TRUE_ALERTS:
            note = (
                f"target {target:.0%} not reached with up to {ns[-1]} officers in this sample (best "
                f"{best:.0%} of only "
                f"{total_true} true alerts): too few for a firm figure; raise the replications or the window"
            )
        else:
            note = (
                f"target {target:.0%} not reached with up to {ns[-1]} officers (best {best:.0%} of "
                f"{total_true} true "
                "alerts): review time, dispatch latency and the walk after the person cap the share"
            )
    else:
        note = (
            f"{needed} officer(s) engage >= {target:.0%} of true alerts (expected share, pooled over "
            "replications)"
        )
        if total_true < FIRM_TRUE_ALERTS:
            note += (
                f"; based on only {total_true} true alerts: raise the replications or the window for "
                "a firm figure"
            )
    return {
        "target_engaged_share": target,
        "officers": ns,
        "engaged_true_share": shares,
        "wrongful_stops": wrongful,
        "arrests": arrests,
        "officer_utilisation": util,
        "officers_needed": needed,
        "true_alerts": total_true,
        "note": note,
    }


def summarise_operations(
    streams: list[AlertStream],
    draws: list[AlertDraws],
    results: list[OpsResult],
    spec: OperationsSpec,
    *,
    duration_s: float,
) -> OperationsSummary:
    """Mean and 95% predictive interval of every operations metric, and the officers-needed curve.

    Returns:
        the summary's operations section: ``settings`` (the spec), ``totals`` (counts),
        ``per_hour_rate`` (counts per hour), ``times_s``, ``rates`` (shares and utilisations) as
        bands, ``officers_needed`` (:func:`officers_curve`), ``interval``, ``definitions``.
    """
    tots = [ops_totals(r, s) for r, s in zip(results, streams, strict=True)]
    hours = duration_s / 3600

    def band(values: list[float]) -> Band:
        return Band.from_json(percentile_band(values))

    return OperationsSummary(
        settings=spec.model_dump(mode="json"),
        totals={k: band([t[k] for t in tots]) for k in OPS_COUNT_METRICS},
        per_hour_rate={k: band([t[k] / hours for t in tots]) for k in ("stops", "false_engaged", "arrests")},
        times_s={k: band([t[k] for t in tots]) for k in OPS_TIME_METRICS},
        rates={k: band([t[k] for t in tots]) for k in OPS_RATE_METRICS},
        officers_needed=OfficersNeeded.from_json(officers_curve(streams, draws, spec, duration_s=duration_s)),
        interval="95% predictive interval over replications; means of times skip replications without alerts",
        definitions={
            "false_engaged": "a wrongful stop: a false alert dispatched and the person reached",
            "lost": "dispatched, but no officer reached the person before they left the area",
            "engaged_true_share": "true alerts engaged / true alerts",
            "utilisation": "busy time inside the window / (count x window)",
            "geometry": "officer leaves the alerting camera after review and latency and walks after the "
            "person, "
            "who keeps walking their route at their speed until leaving the area (twin/operations.py)",
        },
    )


def run_operations(
    reps: list[RepData],
    outcomes: list[Outcome],
    seeds: list[np.random.SeedSequence],
    spec: OperationsSpec,
    *,
    duration_s: float,
    default_speed_m_s: float,
    officers: int | None = None,
) -> tuple[list[OpsResult], OperationsSummary]:
    """Operations for every replication of a run, and their summary.

    Each replication draws from its own "operations" stream (``Streams(seed)["operations"]``), so
    the result does not depend on the number of worker processes and leaves the other streams
    untouched.

    Args:
        reps, outcomes, seeds: per replication (same length).
        spec: the scenario's operations block.
        duration_s: the window, s.
        default_speed_m_s: walking speed for replications without recorded speeds, m/s.
        officers: overrides ``spec.officers`` (the curve still spans 0..max_officers_searched).

    Returns:
        (per-replication :class:`OpsResult`, :func:`summarise_operations` section).
    """
    if officers is not None:
        spec = spec.model_copy(update={"officers": int(officers)})
        if spec.officers < 0:
            raise ScenarioError(
                f"officers {spec.officers} must be >= 0; give the number of intercept officers, e.g. 4"
            )
    streams = [
        alert_stream(r, o, default_speed_m_s=default_speed_m_s) for r, o in zip(reps, outcomes, strict=True)
    ]
    draws = [
        draw_person_variates(s.person, spec, Streams(seed)["operations"])
        for s, seed in zip(streams, seeds, strict=True)
    ]
    results = [
        simulate_operations(s, spec, duration_s=duration_s, draws=d)
        for s, d in zip(streams, draws, strict=True)
    ]
    return results, summarise_operations(streams, draws, results, spec, duration_s=duration_s)


def engaged_share_of_dispatched(
    streams: list[AlertStream],
    spec: OperationsSpec,
    *,
    duration_s: float,
    seed: int = 0,
) -> float:
    """Share of dispatched alerts reached when only review, latency and the walk limit the response.

    Every alert is dispatched, operators and officers are never short (one each per alert) and
    stops take no time, so the share measures the response's timing and geometry alone: the
    quantity the records' stop shares constrain (see :data:`CALIBRATION`).

    Args:
        streams: alerts of one or more replications.
        spec: review time, latency, officer speed and post (the rest is overridden).
        duration_s: the window, s.
        seed: seed of the review-time draws (the same seed gives common random numbers).
    """
    n_max = max((len(s) for s in streams), default=0)
    ample = spec.model_copy(
        update={
            "operators": max(n_max, 1),
            "officers": max(n_max, 1),
            "false_alert_dispatch_probability": 1.0,
            "stop_duration_s": 0.0,
            "arrest_duration_s": 0.0,
        }
    )
    rng = np.random.default_rng(seed)
    engaged, total = 0, 0
    for s in streams:
        t = ops_totals(simulate_operations(s, ample, duration_s=duration_s, rng=rng), s)
        engaged += int(t["stops"])
        total += len(s)
    return engaged / total if total else math.nan


def calibrate_review_mean(
    streams: list[AlertStream],
    spec: OperationsSpec,
    *,
    target: float,
    duration_s: float,
    seed: int = 0,
    bounds_s: tuple[float, float] = (0.5, 300.0),
) -> float:
    """The mean review time, s, at which :func:`engaged_share_of_dispatched` equals ``target``.

    Bisection (the share falls as reviews lengthen) with common random numbers.

    Raises:
        ScenarioError: the target is not reachable inside ``bounds_s``, or there is no alert.
    """

    def share(mean_s: float) -> float:
        rt = spec.review_time.model_copy(update={"mean_s": mean_s})
        return engaged_share_of_dispatched(
            streams, spec.model_copy(update={"review_time": rt}), duration_s=duration_s, seed=seed
        )

    lo, hi = bounds_s
    s_lo, s_hi = share(lo), share(hi)
    if math.isnan(s_lo):
        raise ScenarioError("no alert to calibrate the review time on; raise the prevalence or the window")
    if not s_hi <= target <= s_lo:
        raise ScenarioError(
            f"engaged share {target} not reachable with mean review times {lo}-{hi} s "
            f"(shares {s_hi:.2f}-{s_lo:.2f}); check the officer post, speed and latency"
        )
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if share(mid) >= target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 0.05:
            break
    return 0.5 * (lo + hi)
