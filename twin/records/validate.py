"""Out-of-sample validation of the forecast model: fit on some deployments, predict the others.

For every predicted deployment, from its published inputs only: the predictive mean and 95%
interval of alerts, true alerts and false alerts, and the PIT value of the observed count
(randomised for counts: F(y-1) + U (F(y) - F(y-1)), uniform on [0, 1] when the forecast is
calibrated; Czado, Gneiting & Held 2009). Then, per quantity:

* ``coverage``: share of observed counts inside their 95% interval;
* ``pooled``: the observed total against the predictive distribution of the total (summed draw
  by draw, so shared parameter and drift uncertainty widen it as it should);
* ``log_score``: mean log predictive probability of the observed counts (higher is better),
  against a naive baseline: each quantity's pooled training rate per published face, Poisson.

The fit never sees a predicted row's outcomes (:func:`twin.records.forecast.fit_forecast`
blanks them before fitting); only its inputs are used, as they would be before a deployment.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import poisson

from twin.errors import RecordsError
from twin.records.forecast import QUANTITIES, Forecast, ForecastModel, fit_forecast

__all__ = ["Validation", "baseline_rates", "split_by_date", "validate"]


@dataclass(kw_only=True)
class Validation:
    """A finished validation.

    Attributes:
        model: the fitted forecast model.
        forecast: the predictive distributions.
        table: one row per predicted deployment (inputs, observed, mean, lo, hi, pit, log scores).
        summary: coverage, pooled totals, log scores, eras, parameters (JSON-ready).
    """

    model: ForecastModel
    forecast: Forecast
    table: pd.DataFrame
    summary: dict[str, Any]


def split_by_date(frame: pd.DataFrame, date: dt.date | str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows dated before ``date`` (to fit on) and from it on (to predict).

    Raises:
        RecordsError: the date leaves either side without a usable row, with the data's range.
    """
    d = pd.Timestamp(date)
    dates = pd.to_datetime(frame["date"])
    lo, hi = dates.min().date(), dates.max().date()
    before, after = frame[dates < d], frame[dates >= d]
    usable = before["faces_seen"].notna() & before["true_alerts"].notna()
    if usable.sum() < 5 or after["faces_seen"].notna().sum() == 0:
        raise RecordsError(
            f"--split {d.date()}: the records run from {lo} to {hi}; choose a date that leaves at "
            f"least 5 deployments before it (now {int(usable.sum())}) and one after "
            f"(now {int(after['faces_seen'].notna().sum())})"
        )
    return before, after


def baseline_rates(fit_rows: pd.DataFrame) -> dict[str, float]:
    """Each quantity's pooled rate per published face over the fit rows (the naive baseline)."""
    ok = fit_rows["faces_seen"].notna() & fit_rows["true_alerts"].notna() & fit_rows["false_alerts"].notna()
    f = fit_rows.loc[ok, "faces_seen"].astype(float).sum()
    out = {}
    for q in QUANTITIES:
        y = fit_rows.loc[ok, q].astype(float)
        out[q] = float(y.sum() / f) if f > 0 else 0.0
    return out


def _pit(fc: Forecast, q: str, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised PIT: F(y - 1) + U (F(y) - F(y - 1)) (Czado, Gneiting & Held 2009)."""
    upper, lower = fc.cdf(q, y), fc.cdf(q, y - 1)
    return lower + rng.uniform(size=len(y)) * (upper - lower)


def _score_quantity(fc: Forecast, q: str, base_rate: float, rng: np.random.Generator) -> tuple[dict, dict]:
    """Per-row columns (observed, mean, lo, hi, pit, log scores) and the scores of one quantity."""
    rows = fc.rows
    yi = rows[q + "_observed"].to_numpy(float).astype(int)
    lo, hi = fc.interval(q)
    ls = np.log(np.maximum(fc.prob(q, yi), 1e-300))
    bls = poisson.logpmf(yi, np.maximum(base_rate * rows["faces_seen"].to_numpy(float), 1e-300))
    cols = {
        "observed": yi,
        "mean": fc.mean[q],
        "lo": lo,
        "hi": hi,
        "pit": _pit(fc, q, yi, rng),
        "log_score": ls,
        "baseline_log_score": bls,
    }
    tot = fc.totals[q]
    pooled = {
        "observed": int(yi.sum()),
        "mean": float(tot.mean()),
        "lo": float(np.percentile(tot, 2.5)),
        "hi": float(np.percentile(tot, 97.5)),
    }
    scores = {
        "coverage": float(((yi >= lo) & (yi <= hi)).mean()),
        "pooled": pooled,
        "log_score": float(ls.mean()),
        "baseline": float(bls.mean()),
    }
    return cols, scores


def validate(
    fit_rows: pd.DataFrame, predict_rows: pd.DataFrame, *, seed: int = 0, on_step: Any = None
) -> Validation:
    """Fit on ``fit_rows`` and score the forecasts of ``predict_rows`` (module docstring).

    Args:
        fit_rows, predict_rows: records frames (:meth:`twin.records.schema.RecordSet.frame`).
        seed: root seed of the posterior draws (a validation reproduces from it).
        on_step: called with a short description as each stage starts.

    Returns:
        :class:`Validation`.

    Raises:
        RecordsError: no usable row to fit on or to predict.
    """
    step = on_step or (lambda _msg: None)
    scorable = predict_rows[
        predict_rows["faces_seen"].notna()
        & predict_rows["true_alerts"].notna()
        & predict_rows["false_alerts"].notna()
        & predict_rows["alerts"].notna()
    ]
    if len(scorable) == 0:
        raise RecordsError(
            "no usable row to predict: each needs faces_seen and the published alerts, true_alerts "
            "and false_alerts to score the forecast against"
        )
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    step("fitting eras, faces and alert models")
    model = fit_forecast(fit_rows, scorable)
    step("drawing predictive distributions")
    fc = model.forecast(rng)
    rows = fc.rows
    base = baseline_rates(fit_rows)
    table = rows[
        [
            "file",
            "line",
            "date",
            "location",
            "place",
            "site_id",
            "kind",
            "duration_min",
            "watchlist_size",
            "threshold",
            "faces_seen",
            "era",
        ]
    ].copy()
    table["date"] = pd.to_datetime(table["date"]).dt.date.astype(str)
    table["era"] = [model.eras.labels[e] for e in table["era"]]
    summary: dict[str, Any] = {"coverage": {}, "pooled": {}, "log_score": {"model": {}, "baseline": {}}}
    for q in QUANTITIES:
        cols, scores = _score_quantity(fc, q, base[q], rng)
        for k, v in cols.items():
            table[f"{q}_{k}"] = v
        summary["coverage"][q] = scores["coverage"]
        summary["pooled"][q] = scores["pooled"]
        summary["log_score"]["model"][q] = scores["log_score"]
        summary["log_score"]["baseline"][q] = scores["baseline"]
    summary["rows"] = len(table)
    summary["fit_rows"] = int((model.frame["role"] == "fit").sum())
    summary["baseline_rates_per_face"] = base
    summary["eras"] = [
        {
            "start": str(s.date()),
            "label": lab,
            "median_faces_per_h": round(m, 1),
            "counting_factor": round(model.faces.counting_factor(i), 3),
        }
        for i, (s, lab, m) in enumerate(
            zip(model.eras.starts, model.eras.labels, model.eras.median_faces_per_h, strict=True)
        )
    ]
    summary["parameters"] = _parameters(model)
    summary["notes"] = list(model.notes)
    summary["seed"] = seed
    return Validation(model=model, forecast=fc, table=table, summary=summary)


def _parameters(model: ForecastModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for q, f in model.fits.items():
        out[q] = {
            "beta": {k: round(v, 4) for k, v in f.beta.items()},
            "beta_sd": {k: round(v, 4) for k, v in f.beta_sd.items()},
            "dispersion": round(f.alpha, 4),
            "place_sd": round(f.sigma_p, 4),
            "drift_sd_per_sqrt_year": round(f.sigma_w, 4),
            "rows": f.n_fitted,
        }
    out["false_alert_tail"] = {k: float(f"{v:.4g}") for k, v in model.false_alert_tail().items()}
    fm = model.faces
    out["faces"] = {
        "era_effect": [round(v, 4) for v in fm.era_effect],
        "kind_effect": fm.kind_effect,
        "hours_coef": round(fm.hours_coef, 4),
        "place_sd": round(fm.tau, 4),
        "residual_sd": round(fm.sigma, 4),
    }
    return out
