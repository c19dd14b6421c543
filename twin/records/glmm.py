"""A negative-binomial count model with a place effect and a random-walk drift, fitted by Laplace.

For deployments i with counts y_i (true alerts, or false alerts):

    y_i ~ NegBin(mean mu_i, dispersion alpha)        var = mu + alpha mu^2   (NB2)
    log mu_i = offset_i + X_i beta + sigma_p z_place[g_i] + w(month_i)
    z_place ~ N(0, 1) per place;  w(m) - w(m-1) ~ N(0, sigma_w^2 / 12)  (a random walk per month)

The place effect pools deployments at one place (Croydon's town centre is visited 26 times); the
random walk is the drift the records show between periods (counting changes, threshold changes,
algorithm updates), so a forecast for a later month carries the walk's spread forward instead
of assuming one fixed rate. beta has independent Normal priors (weak; given by the caller).

Inference is empirical Bayes with the Laplace approximation (Tierney & Kadane 1986; the method
of lme4 and glmmTMB): for hyperparameters (alpha, sigma_p, sigma_w) the latent vector
theta = (beta, z_place, z_walk) is optimised (scipy L-BFGS-B, analytic gradient); the marginal
likelihood is approximated from the mode and the Hessian's determinant; the hyperparameters are
the mode of that times weak half-Normal priors (scipy Nelder-Mead on their logs). The posterior
of theta is Normal(mode, H^-1), which carries the parameter uncertainty into every forecast.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from scipy.special import gammaln

from twin.errors import RecordsError

__all__ = ["Design", "Fit", "fit_glmm", "nb_logpmf"]


def nb_logpmf(y: np.ndarray, mu: np.ndarray, alpha: float | np.ndarray) -> np.ndarray:
    """log P(Y = y) for NB2 with mean mu and dispersion alpha (var = mu + alpha mu^2).

    >>> round(float(np.exp(nb_logpmf(np.array([0]), np.array([1.0]), 1e-9))[0]), 4)  # -> Poisson(1)
    0.3679
    """
    r = 1.0 / np.asarray(alpha, dtype=float)
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    return (
        gammaln(y + r)
        - gammaln(r)
        - gammaln(y + 1)
        + r * (np.log(r) - np.log(r + mu))
        + y * (np.log(np.maximum(mu, 1e-300)) - np.log(r + mu))
    )


@dataclass(frozen=True, kw_only=True)
class Design:
    """What the count model is fitted on (or predicts for).

    Attributes:
        y: (n,) counts (float; NaN where not observed: such rows are predicted, not fitted).
        offset: (n,) known part of log mu.
        X: (n, p) fixed-effect design.
        names: p column names.
        prior_mean, prior_sd: (p,) Normal priors of beta.
        place: (n,) int place index into ``places``.
        places: place keys.
        month: (n,) int month index into the walk's grid (0 = first month of the grid).
        n_months: months in the grid (fitted and predicted months, contiguous).
        upper: (p,) upper bounds of beta (inf: none; used for log thinning shares <= 0).
        beta_prior: optional extra log prior of beta: callable(beta) -> (logp, grad, hess_diag).
    """

    y: np.ndarray
    offset: np.ndarray
    X: np.ndarray
    names: tuple[str, ...]
    prior_mean: np.ndarray
    prior_sd: np.ndarray
    place: np.ndarray
    places: tuple[str, ...]
    month: np.ndarray
    n_months: int
    upper: np.ndarray | None = None
    beta_prior: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]] | None = None


@dataclass(frozen=True, kw_only=True)
class Component:
    """The posterior of theta at one point of the hyperparameters, with its weight.

    Attributes:
        weight: posterior weight of this hyperparameter point (the weights sum to 1).
        alpha, sigma_p, sigma_w: hyperparameters (NB dispersion; place sd; walk sd per sqrt(year)).
        mode: (p + G + M - 1,) posterior mode of theta = (beta, z_place, z_walk).
        cov: posterior covariance of theta (inverse Hessian at the mode).
    """

    weight: float
    alpha: float
    sigma_p: float
    sigma_w: float
    mode: np.ndarray
    cov: np.ndarray


@dataclass(frozen=True, kw_only=True)
class Fit:
    """A fitted count model.

    Attributes:
        design: what it was fitted on.
        alpha, sigma_p, sigma_w, mode, cov: the posterior at the hyperparameters' mode (see
            :class:`Component`; what the parameter tables report).
        components: the hyperparameters' posterior as weighted points (the mode among them),
            over which forecasts are mixed, so the hyperparameters' uncertainty is in them too.
        log_marginal: Laplace log marginal likelihood at the hyperparameters' mode.
        n_fitted: rows with an observed count.
    """

    design: Design
    alpha: float
    sigma_p: float
    sigma_w: float
    mode: np.ndarray
    cov: np.ndarray
    log_marginal: float
    n_fitted: int
    components: tuple[Component, ...] = ()

    @property
    def beta(self) -> dict[str, float]:
        """Posterior mode of each fixed effect."""
        p = len(self.design.names)
        return dict(zip(self.design.names, self.mode[:p].tolist(), strict=True))

    @property
    def beta_sd(self) -> dict[str, float]:
        """Posterior sd of each fixed effect."""
        p = len(self.design.names)
        return dict(zip(self.design.names, np.sqrt(np.diag(self.cov)[:p]).tolist(), strict=True))

    def walk(self) -> np.ndarray:
        """(M,) posterior mode of the drift w(m), w(0) = 0."""
        return self._walk_matrix() @ self.mode[self._walk_slice()]

    def _walk_slice(self) -> slice:
        p, g = len(self.design.names), len(self.design.places)
        return slice(p + g, None)

    def _walk_matrix(self) -> np.ndarray:
        return _walk_matrix(self.design.n_months, self.sigma_w)

    def draw_eta(
        self, rows: np.ndarray, rng: np.random.Generator, size: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws of the linear predictor for some rows of the design.

        Each draw first picks a hyperparameter point by its weight, then theta from that point's
        Normal posterior.

        Args:
            rows: (k,) row indices into the design.
            rng: random generator.
            size: S draws.

        Returns:
            ((S, k) float64 draws of log mu, (S,) the NB dispersion alpha of each draw).
        """
        comps = self.components or (
            Component(
                weight=1.0,
                alpha=self.alpha,
                sigma_p=self.sigma_p,
                sigma_w=self.sigma_w,
                mode=self.mode,
                cov=self.cov,
            ),
        )
        pick = rng.choice(len(comps), size=size, p=np.array([c.weight for c in comps]))
        d = self.design
        eta = np.empty((size, len(rows)))
        alpha = np.empty(size)
        for k, c in enumerate(comps):
            sel = np.flatnonzero(pick == k)
            if len(sel) == 0:
                continue
            theta = rng.multivariate_normal(c.mode, c.cov, size=len(sel), method="cholesky")
            full = np.hstack([d.X, _latent_design(d, c.sigma_p, c.sigma_w)])
            eta[sel] = d.offset[rows][None, :] + theta @ full[rows].T
            alpha[sel] = c.alpha
        return eta, alpha


def _walk_matrix(n_months: int, sigma_w: float) -> np.ndarray:
    """(M, M-1): w = L z, w(0) = 0, increments sigma_w / sqrt(12) z."""
    L = np.tril(np.ones((n_months, n_months)), 0)[:, 1:]
    return L * (sigma_w / np.sqrt(12.0))


def _latent_design(d: Design, sigma_p: float, sigma_w: float) -> np.ndarray:
    n = len(d.offset)
    P = np.zeros((n, len(d.places)))
    P[np.arange(n), d.place] = sigma_p
    W = _walk_matrix(d.n_months, sigma_w)[d.month]
    return np.hstack([P, W])


def _half_normal_logpdf(x: float, scale: float) -> float:
    return float(-0.5 * (x / scale) ** 2)


class _Posterior:
    """The negative log posterior of theta for one design, its Newton solve and the Laplace marginal."""

    def __init__(self, d: Design, hyper_scale: tuple[float, float, float]) -> None:
        self.d = d
        self.obs = np.isfinite(d.y)
        if not self.obs.any():
            raise RecordsError("no deployment with an observed count to fit on")
        self.y = np.where(self.obs, d.y, 0.0)
        self.p = d.X.shape[1]
        self.dim = self.p + len(d.places) + d.n_months - 1
        self.upper = d.upper if d.upper is not None else np.full(self.p, np.inf)
        self.theta = np.concatenate(
            [np.minimum(d.prior_mean, self.upper - 1e-3), np.zeros(self.dim - self.p)]
        )
        self.hyper_scale = hyper_scale

    def parts(
        self, theta: np.ndarray, full: np.ndarray, alpha: float
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """(negative log posterior, its gradient, its Hessian) at theta."""
        d, p, obs, y = self.d, self.p, self.obs, self.y
        r = 1.0 / alpha
        beta, z = theta[:p], theta[p:]
        mu = np.exp(np.clip(d.offset + full @ theta, -50, 30))
        ll = np.where(obs, nb_logpmf(y, mu, alpha), 0.0).sum()
        g_eta = np.where(obs, r * (y - mu) / (mu + r), 0.0)
        w = np.where(obs, mu * r * (y + r) / (mu + r) ** 2, 0.0)
        lp = -0.5 * np.sum(((beta - d.prior_mean) / d.prior_sd) ** 2) - 0.5 * z @ z
        g = full.T @ g_eta + np.concatenate([-(beta - d.prior_mean) / d.prior_sd**2, -z])
        H = full.T @ (full * w[:, None])
        diag_p = np.arange(p)
        H[diag_p, diag_p] += 1.0 / d.prior_sd**2
        H[np.arange(p, self.dim), np.arange(p, self.dim)] += 1.0
        if d.beta_prior is not None:
            e_lp, e_g, e_h = d.beta_prior(beta)
            lp += e_lp
            g[:p] += e_g
            H[diag_p, diag_p] -= e_h
        return -(ll + lp), -g, H

    def solve(self, alpha: float, sp: float, sw: float) -> tuple[np.ndarray, float, np.ndarray]:
        """Posterior mode of theta at these hyperparameters: (mode, negative log posterior, Hessian)."""
        full = np.hstack([self.d.X, _latent_design(self.d, sp, sw)])
        cache: dict[bytes, tuple[float, np.ndarray, np.ndarray]] = {}

        def get(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
            key = theta.tobytes()
            if key not in cache:
                bad = np.any(theta[: self.p] >= self.upper)
                cache[key] = (
                    (np.inf, np.zeros(self.dim), np.eye(self.dim)) if bad else self.parts(theta, full, alpha)
                )
            return cache[key]

        # the negative log posterior is convex in theta (NB2 with a log link, Normal priors, Beta
        # priors on log shares), so a trust-region Newton method converges in a few steps
        res = optimize.minimize(
            lambda t: get(t)[0],
            self.theta,
            jac=lambda t: get(t)[1],
            hess=lambda t: get(t)[2],
            method="trust-exact",
            options={"gtol": 1e-8, "maxiter": 200},
        )
        self.theta = res.x  # warm start for the next hyperparameters
        nlp, _, H = self.parts(res.x, full, alpha)
        return res.x, float(nlp), H

    def neg_marginal(self, h: np.ndarray) -> float:
        """Negative Laplace log marginal likelihood plus hyperpriors, at log hyperparameters h."""
        alpha, sp, sw = np.exp(h)
        if not (1e-4 <= alpha <= 20 and 1e-3 <= sp <= 5 and 1e-3 <= sw <= 5):
            return 1e12
        _, nlp, H = self.solve(alpha, sp, sw)
        sign, logdet = np.linalg.slogdet(H)
        if sign <= 0:
            return 1e12
        s = self.hyper_scale  # half-Normal priors; + log terms: the Jacobians of the log scale
        hp = (
            _half_normal_logpdf(np.sqrt(alpha), s[0])
            + 0.5 * np.log(alpha)
            + _half_normal_logpdf(sp, s[1])
            + np.log(sp)
            + _half_normal_logpdf(sw, s[2])
            + np.log(sw)
        )
        return nlp + 0.5 * logdet - hp

    def component(self, h: np.ndarray, weight: float) -> Component | None:
        """The Normal posterior of theta at log hyperparameters h (None if degenerate)."""
        alpha, sp, sw = (float(v) for v in np.exp(h))
        theta, _, H = self.solve(alpha, sp, sw)
        try:
            cov = np.linalg.inv(H)
            cov = 0.5 * (cov + cov.T)
            np.linalg.cholesky(cov)
        except np.linalg.LinAlgError:
            return None
        return Component(weight=weight, alpha=alpha, sigma_p=sp, sigma_w=sw, mode=theta, cov=cov)


def fit_glmm(
    d: Design,
    *,
    alpha0: float = 0.3,
    sigma_p0: float = 0.3,
    sigma_w0: float = 0.3,
    hyper_scale: tuple[float, float, float] = (1.0, 1.0, 1.0),
) -> Fit:
    """Fit the model of the module docstring.

    Args:
        d: the design (rows with NaN y are carried for prediction but not fitted).
        alpha0, sigma_p0, sigma_w0: starting hyperparameters.
        hyper_scale: scales of the half-Normal hyperpriors on (sqrt(alpha), sigma_p, sigma_w).

    Returns:
        :class:`Fit`.

    Raises:
        RecordsError: no observed rows, or a degenerate fit (too few deployments).
    """
    post = _Posterior(d, hyper_scale)
    res = optimize.minimize(
        post.neg_marginal,
        np.log([alpha0, sigma_p0, sigma_w0]),
        method="Nelder-Mead",
        options={"xatol": 0.01, "fatol": 0.01, "maxiter": 300},
    )
    h_mode = np.asarray(res.x, dtype=float)
    comps = [
        c
        for h, w in _hyper_points(post.neg_marginal, h_mode, float(res.fun))
        if (c := post.component(h, w)) is not None
    ]
    if not comps or comps[0].alpha != float(np.exp(h_mode[0])):
        raise RecordsError("the count model's fit is degenerate at its mode; too few deployments to fit on?")
    total = sum(c.weight for c in comps)
    comps = [dataclasses.replace(c, weight=c.weight / total) for c in comps]
    m = comps[0]
    return Fit(
        design=d,
        alpha=m.alpha,
        sigma_p=m.sigma_p,
        sigma_w=m.sigma_w,
        mode=m.mode,
        cov=m.cov,
        log_marginal=-float(res.fun),
        n_fitted=int(post.obs.sum()),
        components=tuple(comps),
    )


#: Gauss-Hermite 3-point rule for a standard Normal: nodes and weights.
_GH3 = ((0.0, 2.0 / 3.0), (-np.sqrt(3.0), 1.0 / 6.0), (np.sqrt(3.0), 1.0 / 6.0))


def _hyper_points(
    neg_marginal: Callable[[np.ndarray], float], h_mode: np.ndarray, f_mode: float
) -> list[tuple[np.ndarray, float]]:
    """Weighted points of the hyperparameters' posterior (the mode first).

    A Normal approximation at the mode (finite-difference Hessian of the negative log marginal,
    steps of 0.1 in log units) gives the axes; a 3-point Gauss-Hermite product rule on them
    (27 points) with each weight corrected by the posterior's ratio to that Normal integrates
    over the hyperparameters (Rue, Martino & Chopin 2009, the grid strategy of INLA).
    """
    f = neg_marginal
    k = len(h_mode)
    step = 0.1
    H = np.zeros((k, k))
    for i in range(k):
        for j in range(i, k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            v = (f(h_mode + ei + ej) - f(h_mode + ei - ej) - f(h_mode - ei + ej) + f(h_mode - ei - ej)) / (
                4 * step**2
            )
            H[i, j] = H[j, i] = v
    vals, vecs = np.linalg.eigh(0.5 * (H + H.T))
    sd = 1.0 / np.sqrt(np.clip(vals, 1.0, None))  # at most 1 log unit either way (weakly identified axes)
    points: list[tuple[np.ndarray, float]] = [(h_mode, 0.0)]
    logw = [np.log(_GH3[0][1]) * k]
    for combo in itertools.product(range(3), repeat=k):
        if all(c == 0 for c in combo):
            continue
        z = np.array([_GH3[c][0] for c in combo])
        h = h_mode + vecs @ (sd * z)
        fv = f(h)
        if fv >= 1e11:
            continue
        # weight: GH weight x posterior / Normal, both relative to the mode
        logw.append(sum(np.log(_GH3[c][1]) for c in combo) - (fv - f_mode) + 0.5 * float(z @ z))
        points.append((h, 0.0))
    lw = np.array(logw)
    w = np.exp(lw - lw.max())
    return [(h, float(wi)) for (h, _), wi in zip(points, w / w.sum(), strict=True)]
