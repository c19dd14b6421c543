"""What the fitted forecast model hands the twin: the false-match tail and true-alert rates per place.

Both are *forecasts for a deployment* in the latest counting era, :data:`HORIZON_YEARS` after the
last fitted month: the posterior of the parameters (Normal, from the Laplace fit), the drift
walked forward over the horizon, the place's effect (its posterior, or the spread of places for a
place never deployed at) and the negative-binomial spread between deployments, moment-matched
into one Gamma multiplier per deployment with mean 1 and dispersion d (variance d):

    d = (1 + alpha) exp(v) - 1,   v = the variance of the log rate from parameters, place and drift.

The twin draws one such multiplier per replication (one replication is one deployment), so its
true-alert, precision, false-alert and operations intervals include the between-deployment
spread and the parameters' uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.records.faces import REF_HOURS
from twin.records.forecast import REF_WATCHLIST, ForecastModel, tpir_ratio
from twin.records.glmm import Fit
from twin.scoring.tail import TailUncertainty, fmr_shape

__all__ = ["HORIZON_YEARS", "RateForecast", "TailForecast", "month_of", "tail_forecast", "true_rate_forecast"]

#: How far past the last fitted month a default forecast looks, years (the next few deployments).
HORIZON_YEARS = 0.5


@dataclass(frozen=True, kw_only=True)
class RateForecast:
    """A per-face rate for a deployment: its mean and the Gamma dispersion of the deployment's rate.

    Attributes:
        mean: expected rate per face (latest era's counting).
        dispersion: variance of the deployment's rate / mean^2 (Gamma; 0: a known rate).
        log_sd_parameters: sd of the log rate from parameters, place and drift alone.
        between_deployment: the negative-binomial dispersion alpha alone.
    """

    mean: float
    dispersion: float
    log_sd_parameters: float
    between_deployment: float


@dataclass(frozen=True, kw_only=True)
class TailForecast:
    """The false-match tail for a deployment.

    Attributes:
        fmr: per-comparison FMR at 0.60, 0.62 and 0.64 (posterior means for a new deployment).
        uncertainty: the covariance of (log FMR(0.60), log q1, log q2) from the parameters, the
            place spread and the drift, and the between-deployment dispersion of false alerts
            (:class:`twin.scoring.tail.TailUncertainty`; q1 = FMR(0.62)/FMR(0.60), q2 = FMR(0.64)/FMR(0.62)).
    """

    fmr: tuple[float, float, float]
    uncertainty: TailUncertainty


def _future_walk_var(fit: Fit, horizon_years: float, month: int | None = None) -> tuple[np.ndarray, float]:
    """The walk's loading (a row of theta) at ``month`` of the fit's grid, or at its last month plus
    the extra variance of ``horizon_years`` beyond it."""
    d = fit.design
    p, g = len(d.names), len(d.places)
    a = np.zeros(len(fit.mode))
    L = fit._walk_matrix()
    if month is not None:
        a[p + g :] = L[int(np.clip(month, 0, d.n_months - 1))]
        return a, 0.0
    a[p + g :] = L[d.n_months - 1]
    return a, fit.sigma_w**2 * horizon_years


def month_of(model: ForecastModel, date: str) -> int:
    """The index of ``date``'s month in the fit's monthly grid (0 = the first deployment's month)."""
    first = pd.to_datetime(model.frame["date"]).min().to_period("M")
    return int((pd.Timestamp(date).to_period("M") - first).n)


def _place_loading(fit: Fit, place: str) -> tuple[np.ndarray, float]:
    d = fit.design
    p = len(d.names)
    a = np.zeros(len(fit.mode))
    if place in d.places:
        a[p + d.places.index(place)] = fit.sigma_p
        return a, 0.0
    return a, fit.sigma_p**2


def true_rate_forecast(
    model: ForecastModel,
    *,
    place: str,
    kind: str,
    threshold: float,
    watchlist_size: float,
    hours: float = REF_HOURS,
    horizon_years: float = HORIZON_YEARS,
    month: int | None = None,
) -> RateForecast:
    """True alerts per face (latest era's counting) for a deployment at a place.

    Args:
        model: fitted forecast model.
        place: normalised place key (:func:`twin.records.places.normalise_location`).
        kind: its kind of place.
        threshold: match threshold; watchlist_size: entries; hours: duration.
        horizon_years: how far past the last fitted month.
        month: instead, a month of the fit's grid (0 = its first month; the deployment of a
            predicted row carried in the fit).

    Returns:
        :class:`RateForecast` (prevalence x TPIR per face; divide by TPIR for the watchlisted share).
    """
    fit = model.fits["true_alerts"]
    names = fit.design.names
    a = np.zeros(len(fit.mode))
    x = {
        "log_rate": 1.0,
        "central": float(kind == "central"),
        "event": float(kind == "event"),
        "log_watchlist": math.log(watchlist_size / REF_WATCHLIST),
        "log_hours": math.log(hours / REF_HOURS),
        "faces_surplus": 0.0,
    }
    for i, n in enumerate(names):
        a[i] = x[n]
    aw, vw = _future_walk_var(fit, horizon_years, month)
    ap, vp = _place_loading(fit, place)
    a = a + aw + ap
    m = float(a @ fit.mode) + float(np.log(tpir_ratio(threshold)))
    v = float(a @ fit.cov @ a) + vw + vp
    return RateForecast(
        mean=math.exp(m + v / 2),
        dispersion=(1 + fit.alpha) * math.exp(v) - 1,
        log_sd_parameters=math.sqrt(v),
        between_deployment=fit.alpha,
    )


def tail_forecast(
    model: ForecastModel,
    *,
    place: str | None = None,
    horizon_years: float = HORIZON_YEARS,
    month: int | None = None,
) -> TailForecast:
    """The false-match tail (per comparison, latest era's counting) for a deployment.

    Args:
        model: fitted forecast model.
        place: a place key (None: a place drawn from the spread of places).
        horizon_years: how far past the last fitted month.
        month: instead, a month of the fit's grid (as :func:`true_rate_forecast`).
    """
    fit = model.fits["false_alerts"]
    names = fit.design.names
    aw, vw = _future_walk_var(fit, horizon_years, month)
    ap, vp = _place_loading(fit, place or "")
    rows = []
    for n in ("log_fmr_060", "log_q1", "log_q2"):
        a = np.zeros(len(fit.mode))
        a[names.index(n)] = 1.0
        rows.append(a)
    A = np.array(rows)
    A[0] += aw + ap
    mean = A @ fit.mode
    cov = A @ fit.cov @ A.T
    cov[0, 0] += vw + vp
    fmr = []
    for t in (0.60, 0.62, 0.64):
        c1, c2 = (float(v) for v in fmr_shape(t))
        c = np.array([1.0, c1, c2])
        fmr.append(math.exp(float(c @ mean) + float(c @ cov @ c) / 2))
    unc = TailUncertainty(
        log_cov=tuple(tuple(float(v) for v in r) for r in cov),
        between_deployment=fit.alpha,
        source="records fit (twin.records.export.tail_forecast)",
    )
    return TailForecast(fmr=(fmr[0], fmr[1], fmr[2]), uncertainty=unc)
