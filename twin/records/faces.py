"""Faces per deployment by place, duration and counting era (a linear mixed model on log faces).

    log faces_i = era[e_i] + kind[k_i] + b_h log(hours_i / 5) + u[place_i] + e_i
    u ~ N(0, tau^2) per place,  e_i ~ N(0, s^2)

fitted by REML with ``statsmodels`` MixedLM (a random intercept per place). It gives:

* the *counting factor* of each era, exp(era[e] - era[latest]): how many of the latest era's
  faces one face of era e is worth (the latest era is the reference: forecasts are for it);
* each deployment's *expected faces in the latest era's counting* for its place, kind and
  duration, A_hat_i: the exposure of the alert models (:mod:`twin.records.forecast`), so a
  counting change moves no alert forecast;
* the *faces surplus* r_i = log faces_i - fitted_i (a busier day than usual for that place),
  which the alert models may use as a covariate;
* faces per hour at each modelled site in each era (the twin's site calibration).

Hours not published (the 2020-22 grid) are imputed with the median of the rows that have them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.errors import RecordsError

__all__ = ["REF_HOURS", "FacesModel", "faces_bic", "fit_faces"]

#: Duration the faces model is centred on, hours (a typical Met deployment of 2023-24: 5 h).
REF_HOURS = 5.0


@dataclass(frozen=True, kw_only=True)
class FacesModel:
    """A fitted faces model.

    Attributes:
        era_effect: (E,) era intercepts, log faces (era 0 includes the kind baseline).
        kind_effect: kind of place -> log faces effect (town_centre: 0).
        hours_coef: b_h, elasticity of faces in hours.
        place_effect: place key -> predicted random intercept (BLUP), log faces.
        tau: sd of place intercepts, log faces.
        sigma: residual sd, log faces.
        latest: index of the reference era.
    """

    era_effect: tuple[float, ...]
    kind_effect: dict[str, float]
    hours_coef: float
    place_effect: dict[str, float]
    tau: float
    sigma: float
    latest: int

    def log_faces(
        self,
        *,
        era: np.ndarray,
        kind: np.ndarray,
        hours: np.ndarray,
        place: np.ndarray,
        with_place: bool = True,
    ) -> np.ndarray:
        """Expected log faces of deployments (an unseen place gets the kind's mean).

        Args:
            era: (n,) era indices; kind, place: (n,) keys; hours: (n,) hours live (> 0).
            with_place: add the place's intercept.
        """
        e = np.asarray(self.era_effect)[np.asarray(era, dtype=int)]
        k = np.array([self.kind_effect.get(str(v), 0.0) for v in kind])
        p = np.array([self.place_effect.get(str(v), 0.0) for v in place]) if with_place else 0.0
        return e + k + self.hours_coef * np.log(np.asarray(hours, dtype=float) / REF_HOURS) + p

    def counting_factor(self, era: int) -> float:
        """Faces of the latest era per face counted in ``era`` (1 for the latest)."""
        return float(np.exp(self.era_effect[self.latest] - self.era_effect[era]))


def _frame(
    frame: pd.DataFrame, era: np.ndarray, n_eras: int
) -> tuple[pd.DataFrame, str, list[int], list[str]]:
    df = pd.DataFrame(
        {
            "lf": np.log(np.maximum(frame["faces_seen"].to_numpy(dtype=float), 1.0)),
            "lh": np.log(frame["hours"].to_numpy(dtype=float) / REF_HOURS),
            "era": np.asarray(era, dtype=int),
            "kind": frame["kind"].astype(str).to_numpy(),
            "place": frame["place"].astype(str).to_numpy(),
        }
    )
    present_eras = sorted(set(df["era"].tolist()))
    present_kinds = [k for k in ("central", "event") if (df["kind"] == k).any()]
    terms = ["0", "C(era)" if len(present_eras) > 1 else "1"]
    terms += [f"I(kind == '{k}')" for k in present_kinds]
    terms.append("lh")
    return df, "lf ~ " + " + ".join(terms), present_eras, present_kinds


def faces_bic(frame: pd.DataFrame, era: np.ndarray, n_eras: int) -> float:
    """BIC of the faces model with these eras, fitted by maximum likelihood (for choosing eras)."""
    import statsmodels.formula.api as smf

    df, formula, _, _ = _frame(frame, era, n_eras)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = smf.mixedlm(formula, df, groups=df["place"]).fit(reml=False, method=["lbfgs", "powell"])
            ll, k = float(res.llf), len(res.fe_params) + 2
        except (np.linalg.LinAlgError, ValueError):
            ols = smf.ols(formula, df).fit()
            ll, k = float(ols.llf), len(ols.params) + 1
    return -2.0 * ll + k * float(np.log(len(df)))


def fit_faces(frame: pd.DataFrame, era: np.ndarray, n_eras: int) -> FacesModel:
    """Fit the faces model on deployments' published inputs.

    Args:
        frame: with columns faces_seen (> 0), hours (imputed where unpublished), kind, place.
        era: (n,) era index of each row.
        n_eras: E.

    Returns:
        :class:`FacesModel`.

    Raises:
        RecordsError: fewer than 3 deployments with faces.
    """
    import statsmodels.formula.api as smf

    if len(frame) < 3:
        raise RecordsError(
            f"{len(frame)} deployment(s) with a faces figure; the faces model needs at least 3"
        )
    df, formula, present_eras, present_kinds = _frame(frame, era, n_eras)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = smf.mixedlm(formula, df, groups=df["place"]).fit(reml=True, method=["lbfgs", "powell"])
            fe = res.fe_params
            tau = float(np.sqrt(max(res.cov_re.iloc[0, 0], 0.0)))
            sigma = float(np.sqrt(res.scale))
            re = {str(k): float(v.iloc[0]) for k, v in res.random_effects.items()}
        except (np.linalg.LinAlgError, ValueError):  # one place per row, or a singular fit: no place effect
            ols = smf.ols(formula, df).fit()
            fe, tau, sigma, re = ols.params, 0.0, float(np.sqrt(ols.scale)), {}
    era_eff = np.zeros(n_eras)
    if len(present_eras) > 1:
        for e in present_eras:
            era_eff[e] = float(fe.get(f"C(era)[{e}]", np.nan))
    else:
        era_eff[:] = float(fe.get("1", fe.get("Intercept", 0.0)))
    # an era without rows (cannot happen for detected eras) inherits its neighbour's level
    for e in range(n_eras):
        if not np.isfinite(era_eff[e]):
            era_eff[e] = era_eff[e - 1] if e else np.nanmean(era_eff)
    kinds = {"town_centre": 0.0}
    for k in present_kinds:
        kinds[k] = float(fe[f"I(kind == '{k}')[T.True]"])
    return FacesModel(
        era_effect=tuple(float(v) for v in era_eff),
        kind_effect=kinds,
        hours_coef=float(fe["lh"]),
        place_effect=re,
        tau=tau,
        sigma=sigma,
        latest=n_eras - 1,
    )
