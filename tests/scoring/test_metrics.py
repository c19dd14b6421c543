"""Scoring tracks into alerts and metrics, checked by hand on a four-person replication."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.scoring.metrics import RepData, score_replication, summarise
from twin.scoring.score_model import ScoreModel


def four_people() -> RepData:
    """0: listed, good capture at t=10 s; 1: not listed, extreme non-mated draw, capture at 3,700 s;
    2: not listed, ordinary draw; 3: listed, in the zone but no usable capture."""
    return RepData(
        duration_s=7200.0,
        t_arrive_s=np.array([0.0, 3650.0, 5.0, 7.0]),
        turned_back=np.zeros(4, bool),
        t_leave_s=np.array([100.0, 3800.0, 100.0, 100.0]),
        u_watchlist=np.array([0.0, 0.9, 0.9, 0.1], np.float32),
        u_nonmated=np.array([0.5, 1e-12, 0.999, 0.5]),
        z_person=np.zeros(4, np.float32),
        track_person=np.array([0, 1, 2, 3]),
        track_camera=np.array([0, 1, 0, 0], np.int16),
        track_in_zone=np.array([True, True, True, True]),
        track_usable=np.array([5, 3, 4, 0], np.int32),
        track_t_best_s=np.array([10.0, 3700.0, 20.0, np.nan]),
        track_mated_mean=np.array([0.9, 0.7, 0.7, np.nan], np.float32),
        track_z=np.zeros(4, np.float32),
    )


def test_by_hand() -> None:
    out = score_replication(four_people(), ScoreModel(), threshold=0.6, watchlist_size=10_000, prevalence=0.5)
    t = out.totals
    assert (t["passers_by"], t["in_zone"], t["faces_scanned"], t["captures"]) == (4, 4, 3, 12)
    assert (t["watchlisted_passers"], t["watchlisted_in_zone"]) == (2, 2)
    assert (t["alerts"], t["true_alerts"], t["false_alerts"]) == (2, 1, 1)
    assert out.alert_person.tolist() == [0, 1] and out.alert_true.tolist() == [True, False]
    assert out.alert_t_s.tolist() == [10.0, 3700.0] and out.alert_camera.tolist() == [0, 1]
    assert out.hourly["alerts"].tolist() == [1, 1] and out.hourly["passers_by"].tolist() == [3, 1]
    s = summarise(
        [out], duration_s=7200, model=ScoreModel(), threshold=0.6, watchlist_size=10_000, prevalence=0.5
    )
    assert s["rates"]["tpir"]["mean"] == 0.5  # 1 of 2 listed passes through the zone (capture failure counts)
    assert s["rates"]["fpir"]["mean"] == 0.5  # 1 of 2 unlisted faces scanned
    assert s["rates"]["precision"]["mean"] == 0.5
    assert s["per_hour_rate"]["alerts"]["mean"] == 1.0


def test_nobody_listed_means_no_true_alert() -> None:
    out = score_replication(four_people(), ScoreModel(), threshold=0.6, watchlist_size=10_000, prevalence=0.0)
    assert out.totals["true_alerts"] == 0 and out.totals["false_alerts"] == 1


def random_rep(seed: int, n: int = 300) -> RepData:
    r = np.random.default_rng(seed)
    tracks = r.integers(0, n, 2 * n)
    order = np.argsort(tracks, kind="stable")
    usable = r.integers(0, 4, 2 * n).astype(np.int32)
    t_best = np.where(usable > 0, r.uniform(0, 3600, 2 * n), np.nan)
    return RepData(
        duration_s=3600.0,
        t_arrive_s=np.sort(r.uniform(0, 3600, n)),
        turned_back=np.zeros(n, bool),
        t_leave_s=np.full(n, 3600.0),
        u_watchlist=r.random(n).astype(np.float32),
        u_nonmated=r.random(n) ** 8,
        z_person=r.standard_normal(n).astype(np.float32),
        track_person=tracks[order],
        track_camera=np.zeros(2 * n, np.int16),
        track_in_zone=r.random(2 * n) < 0.8,
        track_usable=usable[order],
        track_t_best_s=t_best[order],
        track_mated_mean=r.uniform(0.5, 0.8, 2 * n).astype(np.float32),
        track_z=r.standard_normal(2 * n).astype(np.float32),
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.3, 0.8), st.floats(0.0, 0.1))
def test_higher_threshold_never_adds_alerts(seed: int, t: float, dt: float) -> None:
    rep, m = random_rep(seed), ScoreModel()
    lo = score_replication(rep, m, threshold=t, watchlist_size=10_000, prevalence=0.3)
    hi = score_replication(rep, m, threshold=t + dt, watchlist_size=10_000, prevalence=0.3)
    assert set(hi.alert_person.tolist()) <= set(lo.alert_person.tolist())
    assert hi.totals["false_alerts_not_listed"] <= lo.totals["false_alerts_not_listed"]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 5000), st.integers(1, 20))
def test_longer_list_never_removes_false_alerts_of_unlisted(seed: int, n: int, k: int) -> None:
    rep, m = random_rep(seed), ScoreModel()
    a = score_replication(rep, m, threshold=0.55, watchlist_size=n, prevalence=0.0)
    b = score_replication(rep, m, threshold=0.55, watchlist_size=n * k, prevalence=0.0)
    assert b.totals["false_alerts"] >= a.totals["false_alerts"]


def test_predictive_interval_is_percentiles() -> None:
    outs = [
        score_replication(random_rep(s), ScoreModel(), threshold=0.5, watchlist_size=1000, prevalence=0.2)
        for s in range(40)
    ]
    s = summarise(
        outs, duration_s=3600, model=ScoreModel(), threshold=0.5, watchlist_size=1000, prevalence=0.2
    )
    alerts = np.array([o.totals["alerts"] for o in outs])
    band = s["totals"]["alerts"]
    assert band["mean"] == pytest.approx(alerts.mean())
    assert band["p2_5"] == pytest.approx(np.percentile(alerts, 2.5))
    assert band["p97_5"] == pytest.approx(np.percentile(alerts, 97.5))
