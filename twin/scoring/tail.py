"""The false-match tail at the operating thresholds, and how uncertain it is for one deployment.

The Met ran NeoFace at three thresholds (0.60 until June 2024, 0.62, 0.64 from 25 July 2024), and
NPL 2023 counted false positives at the same three (7, 1, 0). Between those knots the log of the
per-comparison false match rate is taken as piecewise linear (:func:`fmr_shape`), the form the
records model is fitted in (:mod:`twin.records.forecast`).

A forecast for one deployment is uncertain in two ways the twin carries into its intervals: the
rate itself (parameters, the place, drift since the records: a Normal on log FMR at the knots,
:class:`TailUncertainty`), and the spread between deployments (negative-binomial). Both are
moment-matched into one Gamma multiplier of the FMR per deployment, mean 1 and dispersion

    d(t) = (1 + alpha) exp(v(t)) - 1,   v(t) = c(t)' Sigma c(t)

which :func:`gamma_multiplier` turns into a draw from a uniform (stored per replication, so
re-scoring at another threshold keeps the same draw's quantile).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.errors import CalibrationError

__all__ = ["TAIL_KNOTS", "TailUncertainty", "fmr_shape", "gamma_multiplier"]

#: Thresholds of the tail's knots, score units (the Met's 0.60, 0.62, 0.64; NPL 2023's points).
TAIL_KNOTS: tuple[float, float, float] = (0.60, 0.62, 0.64)


def fmr_shape(threshold: Any) -> tuple[np.ndarray, np.ndarray]:
    """(c1, c2) with log FMR(t) = log FMR(0.60) + c1 log q1 + c2 log q2, piecewise linear between knots.

    q1 = FMR(0.62) / FMR(0.60), q2 = FMR(0.64) / FMR(0.62); beyond the knots the end slopes continue.

    >>> [tuple(round(float(v), 2) for v in fmr_shape(t)) for t in (0.58, 0.60, 0.63, 0.66)]
    [(-1.0, 0.0), (0.0, 0.0), (1.0, 0.5), (1.0, 2.0)]
    """
    t = np.asarray(threshold, dtype=float)
    a, b, _ = TAIL_KNOTS
    c1 = np.where(t < b, (t - a) / (b - a), 1.0)
    c2 = np.where(t < b, 0.0, (t - b) / (b - a))
    return np.asarray(c1), np.asarray(c2)


def gamma_multiplier(u: Any, dispersion: float) -> np.ndarray:
    """A Gamma(mean 1, variance ``dispersion``) quantile at uniform(s) ``u`` (1 where dispersion <= 0).

    >>> float(gamma_multiplier(0.3, 0.0)), round(float(gamma_multiplier(0.5, 1.0)), 4)  # Exp(1) median
    (1.0, 0.6931)
    """
    u = np.asarray(u, dtype=float)
    if not dispersion > 1e-9:  # below: no spread (and 1 / d would overflow)
        return np.ones_like(u)
    k = 1.0 / dispersion
    from scipy.stats import gamma  # here, not at import: scipy.stats takes ~0.75 s to import, and the app's
    # first page (the map, before any figure) imports this module

    return np.asarray(gamma.ppf(np.clip(u, 1e-12, 1 - 1e-12), a=k, scale=1.0 / k))


@dataclass(frozen=True)
class TailUncertainty:
    """How uncertain a deployment's false-match rate is (module docstring).

    Attributes:
        log_cov: (3, 3) covariance of (log FMR(0.60), log q1, log q2): parameters, place, drift.
        between_deployment: alpha, the negative-binomial dispersion of false alerts between
            deployments with the same expected rate.
        source: where it was fitted.
    """

    log_cov: tuple[tuple[float, ...], ...]
    between_deployment: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        cov = np.asarray(self.log_cov, dtype=float)
        if (
            cov.shape != (3, 3)
            or not np.all(np.isfinite(cov))
            or np.any(np.linalg.eigvalsh(0.5 * (cov + cov.T)) < -1e-9)
        ):
            raise CalibrationError(f"tail log_cov {self.log_cov} must be a finite 3 x 3 covariance matrix")
        if not (math.isfinite(self.between_deployment) and self.between_deployment >= 0):
            raise CalibrationError(f"tail between_deployment {self.between_deployment} must be >= 0")

    def log_var(self, threshold: float) -> float:
        """Variance of log FMR(threshold) for a deployment."""
        c1, c2 = (float(v) for v in fmr_shape(threshold))
        c = np.array([1.0, c1, c2])
        return float(c @ np.asarray(self.log_cov) @ c)

    def dispersion(self, threshold: float) -> float:
        """Gamma dispersion d(t) of a deployment's false-match multiplier (module docstring)."""
        return (1.0 + self.between_deployment) * math.exp(self.log_var(threshold)) - 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "log_cov": [list(r) for r in self.log_cov],
            "between_deployment": self.between_deployment,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TailUncertainty:
        """Read :meth:`to_dict`'s output.

        Raises:
            CalibrationError: malformed.
        """
        try:
            rows: Sequence[Sequence[float]] = d["log_cov"]
            cov = tuple(tuple(float(v) for v in r) for r in rows)
            return cls(
                log_cov=cov,
                between_deployment=float(d.get("between_deployment", 0.0)),
                source=str(d.get("source", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"tail uncertainty {d!r}: {exc}") from exc
