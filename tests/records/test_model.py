"""The forecast model fitted on records (twin/records/forecast.py, glmm.py, eras.py, faces.py).

Every expected value is known by construction: records generated with known rates, dispersion
or a known counting change must give them back within the stated interval.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from twin.records.eras import detect_eras
from twin.records.forecast import NPL_Q_PRIORS, fit_forecast
from twin.records.places import normalise_location
from twin.records.validate import validate
from twin.scoring.tail import fmr_shape


def synthetic(
    n: int,
    *,
    rng: np.random.Generator,
    ta_per_face: float = 4e-3,
    fmr: float = 5e-9,
    dispersion: float = 0.0,
    jump_at: int | None = None,
    jump: float = 1.0,
    places: tuple[str, ...] = ("Woolwich", "Romford", "Catford", "Ilford", "Barking", "Sutton"),
    start: str = "2023-01-02",
) -> pd.DataFrame:
    """Records with constant rates per face: true ~ NB(ta_per_face F, dispersion), false ~ Poisson(F N fmr).

    Faces are log-normal around 1,500 per 5-h deployment; counted ``jump`` times higher from row
    ``jump_at`` on (a counting change: the outcomes follow the true faces, not the counted ones).
    """
    dates = pd.bdate_range(start, periods=n)
    faces = np.exp(rng.normal(np.log(1500), 0.3, n))
    N = 12_000
    mu = ta_per_face * faces
    if dispersion > 0:
        mu = mu * rng.gamma(1 / dispersion, dispersion, n)
    ta = rng.poisson(mu)
    fa = rng.poisson(faces * N * fmr)
    counted = faces * np.where(np.arange(n) >= (jump_at if jump_at is not None else n), jump, 1.0)
    locs = [places[i % len(places)] for i in range(n)]
    pl = [normalise_location(x) for x in locs]
    return pd.DataFrame(
        {
            "date": dates,
            "location": locs,
            "duration_min": 300.0,
            "watchlist_size": N,
            "threshold": 0.6,
            "threshold_assumed": False,
            "faces_seen": np.round(counted),
            "alerts": ta + fa,
            "true_alerts": ta,
            "false_alerts": fa,
            "place": [p.key for p in pl],
            "site_id": None,
            "kind": [p.kind for p in pl],
            "file": "synthetic",
            "line": np.arange(n) + 2,
        }
    )


def test_constant_rates_come_back_within_their_interval() -> None:
    """TA per face 4e-3 and FMR 5e-9 per comparison, 300 deployments, one era, no drift."""
    rng = np.random.default_rng(1)
    m = fit_forecast(synthetic(300, rng=rng))
    ta, fa = m.fits["true_alerts"], m.fits["false_alerts"]
    # log mu = log A_hat + b0 + b_r r with r = log(F / A_hat): b0 = log(rate) when b_r = 1
    b, s = ta.beta, ta.beta_sd
    assert abs(b["log_rate"] - math.log(4e-3)) < 1.96 * s["log_rate"] + 0.02, (b, s)
    assert abs(b["faces_surplus"] - 1.0) < 1.96 * s["faces_surplus"] + 0.05
    b, s = fa.beta, fa.beta_sd
    assert abs(b["log_fmr_060"] - math.log(5e-9)) < 1.96 * s["log_fmr_060"] + 0.05, (b, s)
    assert ta.sigma_w < 0.3 and ta.alpha < 0.05  # no drift, no overdispersion put in


def test_known_overdispersion_comes_back() -> None:
    """NB2 dispersion 0.5 (var = mu + 0.5 mu^2) over 400 deployments: estimated within 0.35-0.7."""
    rng = np.random.default_rng(2)
    m = fit_forecast(synthetic(400, rng=rng, dispersion=0.5))
    assert 0.35 <= m.fits["true_alerts"].alpha <= 0.7, m.fits["true_alerts"].alpha


def test_a_counting_change_is_found_as_an_era_and_moves_no_alert_forecast() -> None:
    """Faces counted 6x higher from row 120 on: two eras, counting factor ~6, alert rates unchanged."""
    rng = np.random.default_rng(3)
    df = synthetic(240, rng=rng, jump_at=120, jump=6.0)
    eras = detect_eras(df.assign(hours=5.0))
    assert len(eras.starts) == 2
    assert abs((eras.starts[1] - df["date"].iloc[120]).days) <= 3
    m = fit_forecast(df)
    assert m.faces.counting_factor(0) == pytest.approx(6.0, rel=0.15)
    assert abs(m.fits["true_alerts"].beta["faces_surplus"] - 1) < 0.35


def test_one_era_when_nothing_changes() -> None:
    df = synthetic(200, rng=np.random.default_rng(4))
    assert len(detect_eras(df.assign(hours=5.0)).starts) == 1


def test_no_leakage_a_predicted_rows_outcome_changes_no_prediction() -> None:
    rng = np.random.default_rng(5)
    df = synthetic(120, rng=rng)
    fit, pred = df.iloc[:90], df.iloc[90:].copy()
    a = validate(fit, pred, seed=7).table
    pred.loc[pred.index[3], ["true_alerts", "alerts", "false_alerts"]] = [500, 503, 3]
    b = validate(fit, pred, seed=7).table
    for q in ("alerts", "true_alerts", "false_alerts"):
        for col in ("mean", "lo", "hi"):
            np.testing.assert_array_equal(a[f"{q}_{col}"], b[f"{q}_{col}"])
    assert b["true_alerts_observed"].iloc[3] == 500


def test_the_false_alert_tail_keeps_the_npl_shape_as_its_prior() -> None:
    """Without 0.62/0.64 deployments the tail's shares are NPL's: the mode of a Beta(a, b) prior on
    q = exp(p), taken in p = log q, is q = a / (a + b - 1): 1.5/7 at 0.62 (1 of 7 left), 0.5 at 0.64."""
    m = fit_forecast(synthetic(100, rng=np.random.default_rng(6)))
    tail = m.false_alert_tail()
    (a1, b1), (a2, b2) = NPL_Q_PRIORS
    assert tail["q_060_062"] == pytest.approx(a1 / (a1 + b1 - 1), abs=1e-3)
    assert tail["q_062_064"] == pytest.approx(a2 / (a2 + b2 - 1), abs=1e-3)
    assert [tuple(map(float, fmr_shape(t))) for t in (0.60, 0.62, 0.64)] == [
        (0.0, 0.0),
        (1.0, 0.0),
        (1.0, 1.0),
    ]
