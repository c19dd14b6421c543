"""The forecast model fitted on deployment records: faces, true alerts and false alerts.

Three parts, fitted on the rows given as "fit" and used to predict other rows from their
published inputs only (date, location, duration, watchlist size, threshold, faces seen):

1. **Eras and faces** (:mod:`twin.records.eras`, :mod:`twin.records.faces`): change points in
   how faces were counted, detected on the inputs of every row, and a mixed model of log faces.
   Each row's exposure is A_hat, its expected faces *in the latest era's counting* for its place,
   kind and duration, so a change of counting moves no alert forecast.
2. **True alerts per face** = share of passers-by on the watchlist x TPIR:

       log E[true_i] = log A_hat_i + log(TPIR(t_i) / TPIR(0.60)) + b0 + b_kind + b_N log(N_i / 12,000)
                       + b_h log(h_i / 5) + b_r r_i + place effect + drift(month)

   negative-binomial across deployments (:mod:`twin.records.glmm`), r_i the faces surplus.
   TPIR(t) per pass is the ScoreModel's mated distribution anchored at NPL's 0.89 at 0.60.
3. **False alerts per face** keep the ScoreModel's form, FPIR = 1 - (1 - FMR(t))^N ~ N FMR(t):

       log E[false_i] = log A_hat_i + log N_i + l + c1(t_i) log q1 + c2(t_i) log q2 + b_r r_i
                        + place effect + drift(month)

   l = log FMR(0.60) per comparison (the records set the level); q1 = FMR(0.62)/FMR(0.60) and
   q2 = FMR(0.64)/FMR(0.62) are the tail's shape with NPL 2023's whole-trial false positives as
   their priors (7 at 0.60, 1 of them left at 0.62, none at 0.64: Beta(1.5, 6.5) and
   Beta(0.5, 1.5), Jeffreys), which the records' 0.62 and 0.64 deployments update.
   c1, c2 interpolate log FMR linearly between 0.60, 0.62 and 0.64 (and extend the end slopes).

Every predictive distribution mixes the negative binomial over draws of the posterior
(parameters, place effects and the drift walked forward to the row's month), so parameter
uncertainty and drift are in every interval, and pooled totals are summed draw by draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from twin.errors import RecordsError
from twin.records.eras import Eras, detect_eras
from twin.records.faces import REF_HOURS, FacesModel, fit_faces
from twin.records.glmm import Design, Fit, fit_glmm, nb_logpmf
from twin.scoring.tail import fmr_shape

__all__ = [
    "NPL_TPIR",
    "QUANTITIES",
    "REF_WATCHLIST",
    "Forecast",
    "ForecastModel",
    "fit_forecast",
    "tpir_ratio",
]

#: The quantities forecast per deployment.
QUANTITIES: tuple[str, ...] = ("alerts", "true_alerts", "false_alerts")
#: NPL 2023: TPIR 0.89 per pass at threshold 0.60 (twin/engines/statistical.py).
NPL_TPIR = 0.89
#: Watchlist size the true-alert model is centred on (a 2023-24 Met list).
REF_WATCHLIST = 12_000.0
#: Mated score sd of the statistical engine (twin.engines.statistical.ScoreModel.mated_sd).
MATED_SD = 0.08
#: NPL 2023 whole-trial false positives at the knots, as Jeffreys Beta priors of the thinning
#: shares q1 = FMR(0.62)/FMR(0.60) (1 of 7 left) and q2 = FMR(0.64)/FMR(0.62) (0 of 1 left).
NPL_Q_PRIORS = ((1.5, 6.5), (0.5, 1.5))
#: NPL 2023 per-comparison FMR at 0.60 (FPIR 1.7e-4 with 10,000 entries): the level's weak prior.
NPL_FMR_060 = 1.7e-8
#: Posterior draws per forecast.
DRAWS = 4000


def tpir_ratio(threshold: Any, *, mated_sd: float = MATED_SD) -> np.ndarray:
    """TPIR(t) / TPIR(0.60) per pass: a Normal pass score anchored at NPL's 0.89 at 0.60.

    >>> round(float(tpir_ratio(0.60)), 3), round(float(tpir_ratio(0.64)), 3)
    (1.0, 0.861)
    """
    mu = 0.60 + mated_sd * float(ndtri(NPL_TPIR))
    t = np.asarray(threshold, dtype=float)
    return np.asarray(ndtr((mu - t) / mated_sd) / NPL_TPIR)


def _beta_log_prior(idx: tuple[int, int]) -> Any:
    """Log density of Beta priors on q = exp(p), for p = log q at positions idx of beta."""

    def f(beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        lp, g, h = 0.0, np.zeros_like(beta), np.zeros_like(beta)
        for (a, b), i in zip(NPL_Q_PRIORS, idx, strict=True):
            p = min(float(beta[i]), -1e-12)
            e = math.exp(p)
            lp += a * p + (b - 1) * math.log1p(-e)
            g[i] = a - (b - 1) * e / (1 - e)
            h[i] = -(b - 1) * e / (1 - e) ** 2
        return lp, g, h

    return f


@dataclass(kw_only=True)
class Forecast:
    """Predictive distributions of the predicted rows.

    Attributes:
        rows: the predicted rows (inputs, observed outcomes where published).
        samples: quantity -> (S, k) draws from each row's predictive distribution.
        mean: quantity -> (k,) predictive means.
        totals: quantity -> (S,) draws of the pooled total over the rows.
        mu, alpha: "true_alerts" / "false_alerts" -> (S, k) means and (S, 1) dispersions of the
            posterior draws the mixtures are made of.
    """

    rows: pd.DataFrame
    samples: dict[str, np.ndarray]
    mean: dict[str, np.ndarray]
    totals: dict[str, np.ndarray]
    mu: dict[str, np.ndarray]
    alpha: dict[str, np.ndarray]

    def interval(self, q: str, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Central predictive interval per row: the (1 -/+ level) / 2 quantiles of the draws
        (smallest counts whose empirical CDF reaches them)."""
        a = (1 - level) / 2
        s = self.samples[q]
        lo = np.quantile(s, a, axis=0, method="inverted_cdf")
        hi = np.quantile(s, 1 - a, axis=0, method="inverted_cdf")
        return lo.astype(int), hi.astype(int)

    def _draw_pmf(self, q: str, j: int, ys: np.ndarray) -> np.ndarray:
        """(S, len(ys)) probabilities of counts ys under each draw for row j."""
        if q != "alerts":
            return np.exp(nb_logpmf(ys[None, :], self.mu[q][:, j : j + 1], self.alpha[q]))
        top = int(ys.max())
        pt = self._draw_pmf("true_alerts", j, np.arange(top + 1))
        pf = self._draw_pmf("false_alerts", j, np.arange(top + 1))
        out = np.zeros((pt.shape[0], len(ys)))
        for i, y in enumerate(ys):
            out[:, i] = np.einsum("sk,sk->s", pt[:, y::-1][:, : y + 1], pf[:, : y + 1])
        return out

    def prob(self, q: str, y: np.ndarray) -> np.ndarray:
        """P(Y_j = y_j) per row under the predictive mixture (exact, from the draws)."""
        return np.array([self._draw_pmf(q, j, np.array([int(v)])).mean() for j, v in enumerate(y)])

    def cdf(self, q: str, y: np.ndarray) -> np.ndarray:
        """P(Y_j <= y_j) per row (y_j < 0 gives 0)."""
        out = np.zeros(len(y))
        for j, v in enumerate(y):
            if v >= 0:
                out[j] = self._draw_pmf(q, j, np.arange(int(v) + 1)).sum(axis=1).mean()
        return np.clip(out, 0.0, 1.0)


@dataclass(kw_only=True)
class ForecastModel:
    """The fitted forecast model (module docstring).

    Attributes:
        frame: every row (fit and predict) with derived columns (hours, era, log_a_hat, r, role).
        eras: counting eras detected on all rows' inputs.
        faces: the faces model.
        fits: "true_alerts" / "false_alerts" -> fitted count model.
        notes: what was assumed or imputed.
    """

    frame: pd.DataFrame
    eras: Eras
    faces: FacesModel
    fits: dict[str, Fit]
    notes: list[str] = field(default_factory=list)

    # --- parameters in words ------------------------------------------------------------------
    def false_alert_tail(self) -> dict[str, float]:
        """FMR(0.60) per comparison and the tail's thinning shares (posterior modes and sds)."""
        f = self.fits["false_alerts"]
        b, s = f.beta, f.beta_sd
        return {
            "fmr_060": math.exp(b["log_fmr_060"]),
            "log_fmr_060_sd": s["log_fmr_060"],
            "q_060_062": math.exp(b["log_q1"]),
            "q_062_064": math.exp(b["log_q2"]),
            "log_q1_sd": s["log_q1"],
            "log_q2_sd": s["log_q2"],
        }

    def forecast(self, rng: np.random.Generator, *, draws: int = DRAWS) -> Forecast:
        """Predictive distributions for the rows marked ``predict``.

        Args:
            rng: random generator (posterior draws, pooled totals).
            draws: posterior draws S.

        Returns:
            :class:`Forecast`.
        """
        idx = np.flatnonzero(self.frame["role"].to_numpy() == "predict")
        if len(idx) == 0:
            raise RecordsError("no row to predict")
        samples, mus, alphas = {}, {}, {}
        for q in ("true_alerts", "false_alerts"):
            eta, alpha = self.fits[q].draw_eta(idx, rng, draws)
            mus[q], alphas[q] = np.exp(np.clip(eta, -50, 12)), alpha[:, None]
            r = 1.0 / alphas[q]
            samples[q] = rng.negative_binomial(r, r / (r + mus[q]))
        samples["alerts"] = samples["true_alerts"] + samples["false_alerts"]
        fc = Forecast(
            rows=self.frame.iloc[idx].reset_index(drop=True),
            samples=samples,
            mean={},
            totals={q: v.sum(axis=1).astype(float) for q, v in samples.items()},
            mu=mus,
            alpha=alphas,
        )
        fc.mean["true_alerts"] = mus["true_alerts"].mean(axis=0)
        fc.mean["false_alerts"] = mus["false_alerts"].mean(axis=0)
        fc.mean["alerts"] = fc.mean["true_alerts"] + fc.mean["false_alerts"]
        return fc


def _month_index(dates: pd.Series) -> tuple[np.ndarray, int, pd.Period]:
    per = pd.to_datetime(dates).dt.to_period("M")
    first = per.min()
    idx = np.array([(p - first).n for p in per], dtype=int)
    return idx, int(idx.max()) + 1, first


def fit_forecast(fit_rows: pd.DataFrame, predict_rows: pd.DataFrame | None = None) -> ForecastModel:
    """Fit the forecast model on ``fit_rows``; carry ``predict_rows`` (inputs only) for forecasting.

    Args:
        fit_rows: records frame (:meth:`twin.records.schema.RecordSet.frame`) to fit on; rows
            without faces_seen or outcomes are left out.
        predict_rows: records frame of rows to forecast (their outcomes are never read here).

    Returns:
        :class:`ForecastModel`.

    Raises:
        RecordsError: no usable row to fit on, or a predict row without faces_seen.
    """
    fit_rows = fit_rows[
        fit_rows["faces_seen"].notna() & fit_rows["true_alerts"].notna() & fit_rows["false_alerts"].notna()
    ].copy()
    if len(fit_rows) < 5:
        raise RecordsError(
            f"{len(fit_rows)} usable deployment(s) to fit on (faces and outcomes published); "
            "the forecast needs at least 5"
        )
    fit_rows["role"] = "fit"
    parts = [fit_rows]
    if predict_rows is not None and len(predict_rows):
        pr = predict_rows[predict_rows["faces_seen"].notna()].copy()
        for c in ("alerts", "true_alerts", "false_alerts"):
            pr[c + "_observed"] = pr[c]
            pr[c] = np.nan  # never read by the fit
        pr["role"] = "predict"
        parts.append(pr)
    df = pd.concat(parts, ignore_index=True)
    notes = []
    df["hours"] = df["duration_min"].astype(float) / 60.0
    known = df["hours"].notna() & (df["role"] == "fit")
    med = float(df.loc[known, "hours"].median()) if known.any() else REF_HOURS
    n_imp = int(df["hours"].isna().sum())
    if n_imp:
        notes.append(f"{n_imp} deployment(s) without a published duration: {med:.1f} h assumed (the median)")
    df["hours_imputed"] = df["hours"].isna()
    df["hours"] = df["hours"].fillna(med)
    if df["threshold_assumed"].any():
        notes.append(
            f"{int(df['threshold_assumed'].sum())} deployment(s) without a published threshold: 0.60 assumed"
        )

    eras = detect_eras(df.assign(hours=df["hours"].where(~df["hours_imputed"])))
    df["era"] = eras.of(df["date"])
    faces = fit_faces(df, df["era"].to_numpy(), len(eras.starts))
    fitted_log = faces.log_faces(
        era=df["era"].to_numpy(),
        kind=df["kind"].to_numpy(),
        hours=df["hours"].to_numpy(),
        place=df["place"].to_numpy(),
    )
    df["r"] = np.log(df["faces_seen"].to_numpy(float).clip(1.0)) - fitted_log
    df["log_a_hat"] = faces.log_faces(
        era=np.full(len(df), faces.latest),
        kind=df["kind"].to_numpy(),
        hours=df["hours"].to_numpy(),
        place=df["place"].to_numpy(),
    )
    months, n_months, _ = _month_index(df["date"])
    places = tuple(sorted(df["place"].astype(str).unique()))
    place_idx = np.searchsorted(np.array(places), df["place"].astype(str).to_numpy())
    fits = {
        "true_alerts": fit_glmm(_true_design(df, places, place_idx, months, n_months)),
        "false_alerts": fit_glmm(_false_design(df, places, place_idx, months, n_months)),
    }
    return ForecastModel(frame=df, eras=eras, faces=faces, fits=fits, notes=notes)


def _true_design(
    df: pd.DataFrame, places: tuple[str, ...], place_idx: np.ndarray, months: np.ndarray, n_months: int
) -> Design:
    n = len(df)
    X = np.column_stack(
        [
            np.ones(n),
            (df["kind"] == "central").to_numpy(float),
            (df["kind"] == "event").to_numpy(float),
            np.log(df["watchlist_size"].to_numpy(float) / REF_WATCHLIST),
            np.log(df["hours"].to_numpy(float) / REF_HOURS),
            df["r"].to_numpy(float),
        ]
    )
    names = ("log_rate", "central", "event", "log_watchlist", "log_hours", "faces_surplus")
    offset = df["log_a_hat"].to_numpy(float) + np.log(tpir_ratio(df["threshold"].to_numpy(float)))
    return Design(
        y=df["true_alerts"].to_numpy(float),
        offset=offset,
        X=X,
        names=names,
        prior_mean=np.array([math.log(1e-3), 0, 0, 0.5, 0, 0]),
        prior_sd=np.array([5.0, 1.5, 1.5, 0.5, 1.0, 1.0]),
        place=place_idx,
        places=places,
        month=months,
        n_months=n_months,
    )


def _false_design(
    df: pd.DataFrame, places: tuple[str, ...], place_idx: np.ndarray, months: np.ndarray, n_months: int
) -> Design:
    n = len(df)
    c1, c2 = fmr_shape(df["threshold"].to_numpy(float))
    X = np.column_stack([np.ones(n), c1, c2, df["r"].to_numpy(float)])
    names = ("log_fmr_060", "log_q1", "log_q2", "faces_surplus")
    offset = df["log_a_hat"].to_numpy(float) + np.log(df["watchlist_size"].to_numpy(float))
    q_means = [math.log(a / (a + b)) for a, b in NPL_Q_PRIORS]
    return Design(
        y=df["false_alerts"].to_numpy(float),
        offset=offset,
        X=X,
        names=names,
        prior_mean=np.array([math.log(NPL_FMR_060), q_means[0], q_means[1], 0.5]),
        prior_sd=np.array([3.0, 1e3, 1e3, 0.5]),
        place=place_idx,
        places=places,
        month=months,
        n_months=n_months,
        upper=np.array([np.inf, -1e-9, -1e-9, np.inf]),
        beta_prior=_beta_log_prior((1, 2)),
    )
