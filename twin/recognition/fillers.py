"""Fillers: synthetic watchlist entries that score against real probes like non-mated people.

No offline face set provides the thousands of subjects of a real watchlist, so a real-engine run
fills its watchlist up to size with fillers (:func:`add_fillers`): embeddings drawn around the real
entries so that their cosines against real faces reproduce the engine's non-mated score
distribution. Any FPIR measured on a watchlist holding them is an extrapolation
(:attr:`twin.recognition.watchlist.Watchlist.is_extrapolated`).

Fillers sit around the references' mean, so they score higher against the reference faces themselves
than against other people (measured with dlib on the sample bank: top filler cosine of 10,000 against a
reference face 0.91-0.945, against a held-out face 0.85-0.91, means 0.85 vs 0.82). Faces that will be
searched as non-mated probes (passers-by) should therefore not be references; and a filler the engine
would match to such a face (score >= ``distinct_below`` against a ``distinct_from`` row) is that person
entered under a false name: it is redrawn, from a generator derived from ``rng``, so ``rng`` is used
exactly as without the option and the fillers that pass are unchanged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from twin.errors import WatchlistError
from twin.recognition.watchlist import Watchlist, WatchlistEntry, check_unit_rows

__all__ = ["PILOT_FILLERS", "FillerReport", "add_fillers"]

logger = logging.getLogger(__name__)

#: Fillers in the fixed pilot draw the spread and shrinkage are fitted on.
PILOT_FILLERS = 256
#: Rounds of redrawing the fillers that score at or above ``distinct_below`` against a ``distinct_from``
#: row before giving up (each round redraws only those; a few per mille need a second round in practice).
MAX_REDRAW_ROUNDS = 50


@dataclass(frozen=True, kw_only=True)
class FillerReport:
    """How fillers landed against the real entries (cosines of fillers vs real entries).

    Attributes:
        n: fillers added.
        target_mean, target_sd: the non-mated score distribution aimed at.
        achieved_mean, achieved_sd: measured on the added fillers against all real entries.
        spread: κ, the deviation scale around the real entries' mean (fitted to the mean).
        shrinkage: λ, the covariance shrinkage used (fitted to the SD unless given).
    """

    n: int
    target_mean: float
    target_sd: float
    achieved_mean: float
    achieved_sd: float
    spread: float
    shrinkage: float


def add_fillers(
    watchlist: Watchlist,
    n: int,
    rng: np.random.Generator,
    *,
    target_mean: float | None = None,
    target_sd: float | None = None,
    reference: np.ndarray | None = None,
    shrinkage: float | None = None,
    distinct_from: np.ndarray | None = None,
    distinct_below: float | None = None,
) -> FillerReport:
    """Add ``n`` synthetic filler entries that score against real probes like non-mated people.

    Model: real embeddings of one engine share a common direction (dlib's non-mated cosines have
    median 0.83, not 0). Let m be the mean of the real (reference) embeddings and S their
    covariance, shrunk towards isotropic, ``S' = (1 − λ) S + λ tr(S)/D I`` (Ledoit–Wolf style;
    λ = ``shrinkage``, since ~15 real identities give a rank-deficient S). A filler is
    ``f = normalise(m + κ · z)`` with z ~ N(0, S'). Two parameters, fitted by bisection on a fixed
    pilot draw of 256 fillers: κ so that the mean cosine of fillers against the reference rows
    equals ``target_mean`` (larger κ → fillers farther from everyone → lower scores), and λ so
    that the SD of those cosines equals ``target_sd`` (λ = 0 keeps the references' own
    directions of variation and gives the widest spread; λ = 1 spreads evenly and gives the
    narrowest). A target SD outside that range ends at the nearer end. The achieved mean and SD
    on the real draw are reported (:class:`FillerReport`).

    The default target is the measured non-mated distribution of the reference itself: the mean
    and SD of cosines between reference rows of different identities. Pass the engine's
    calibrated non-mated mean/SD instead when you have it (e.g. dlib on the samples: mean 0.83,
    face_engine.md §4).

    Faces searched as non-mated probes should not be references, and ``distinct_from`` keeps fillers
    from duplicating them (see the module docstring).

    Args:
        watchlist: the watchlist to add them to (its real rows are the default reference).
        n: fillers to add (>= 1).
        rng: the random generator (e.g. ``Streams(seed)["engine"]``).
        target_mean: mean non-mated score to reproduce; default measured, see above.
        target_sd: SD of that distribution; default measured.
        reference: (R, D) unit embeddings standing for real probes; default the real
            (non-filler) gallery rows.
        shrinkage: λ in [0, 1]; default fitted to ``target_sd``.
        distinct_from: (P, D) unit embeddings of faces no filler may duplicate (e.g. the passers-by).
        distinct_below: the score a filler must stay below against every ``distinct_from`` row (e.g.
            the engine's alert threshold); both or neither.

    Returns:
        a :class:`FillerReport`.

    Raises:
        WatchlistError: destroyed, n < 1, fewer than 2 reference rows, no different-identity
            pairs to measure the target from, an unreachable target, only one of ``distinct_from`` and
            ``distinct_below``, or fillers still duplicating a ``distinct_from`` row after
            :data:`MAX_REDRAW_ROUNDS` redraws.
    """
    avoid = _check_args(watchlist, n, shrinkage, distinct_from, distinct_below)
    ref, target_mean, target_sd = _reference(watchlist, reference, target_mean, target_sd)
    pilot_seed = int(rng.integers(0, 2**63 - 1))
    model = _FillerModel(ref, watchlist.dim, np.random.default_rng(pilot_seed))
    if shrinkage is None:
        shrinkage = model.fit_shrinkage(target_mean, target_sd)
    lam_chol = model.chol(shrinkage)
    kappa = model.fit_kappa(lam_chol, target_mean)
    fillers = model.draw(n, rng, lam_chol, kappa)
    redrawn = (
        0
        if avoid is None
        else _redraw_duplicates(fillers, avoid, distinct_below, model, lam_chol, kappa, pilot_seed)
    )
    start = watchlist.n_fillers
    watchlist.add(fillers, [WatchlistEntry(f"filler-{start + i}", filler=True) for i in range(n)])
    achieved = fillers @ ref.T
    report = FillerReport(
        n=n, target_mean=float(target_mean), target_sd=float(target_sd), achieved_mean=float(achieved.mean()),
        achieved_sd=float(achieved.std()), spread=float(kappa), shrinkage=float(shrinkage),
    )  # fmt: skip
    logger.info("added %d fillers (%d redrawn as duplicates): %s", n, redrawn, report)
    return report


def _check_args(
    watchlist: Watchlist,
    n: int,
    shrinkage: float | None,
    distinct_from: np.ndarray | None,
    distinct_below: float | None,
) -> np.ndarray | None:
    """Check :func:`add_fillers`'s arguments; the checked ``distinct_from`` rows.

    Raises:
        WatchlistError: as :func:`add_fillers` says.
    """
    watchlist.gallery  # noqa: B018 - raises WatchlistError on a destroyed watchlist, before anything else
    if not isinstance(n, int | np.integer) or n < 1:
        raise WatchlistError(f"n {n!r} fillers must be a positive integer")
    if shrinkage is not None and not 0.0 <= shrinkage <= 1.0:
        raise WatchlistError(f"shrinkage {shrinkage} must be in [0, 1]")
    if (distinct_from is None) != (distinct_below is None):
        raise WatchlistError(
            "give distinct_from and distinct_below together (faces, and the score to stay below)"
        )
    return None if distinct_from is None else check_unit_rows(distinct_from, "distinct_from", watchlist.dim)


def _redraw_duplicates(
    fillers: np.ndarray,
    avoid: np.ndarray,
    below: float | None,
    model: _FillerModel,
    lam_chol: np.ndarray,
    kappa: float,
    seed: int,
) -> int:
    """Redraw, in place, the fillers scoring >= ``below`` against an ``avoid`` row; how many were.

    Raises:
        WatchlistError: some still do after :data:`MAX_REDRAW_ROUNDS` rounds.
    """
    below = float(below if below is not None else np.inf)
    gen = np.random.default_rng([seed, 1])
    bad = np.flatnonzero((fillers @ avoid.T).max(axis=1) >= below)
    total = len(bad)
    for _ in range(MAX_REDRAW_ROUNDS):
        if not len(bad):
            return total
        fillers[bad] = model.draw(len(bad), gen, lam_chol, kappa)
        bad = bad[(fillers[bad] @ avoid.T).max(axis=1) >= below]
    raise WatchlistError(
        f"{len(bad)} filler(s) still score >= {below:g} against a face they must not duplicate after "
        f"{MAX_REDRAW_ROUNDS} redraws; distinct_below is below the non-mated scores: give the engine's alert "
        "threshold"
    )


def _reference(
    watchlist: Watchlist, reference: np.ndarray | None, target_mean: float | None, target_sd: float | None
) -> tuple[np.ndarray, float, float]:
    """The reference rows (default: the real gallery rows) and the target non-mated mean and SD (default:
    measured).

    Raises:
        WatchlistError: destroyed, fewer than 2 reference rows, nothing to measure, or a mean outside (-1, 1).
    """
    g = watchlist.gallery
    real_mask = np.array([not e.filler for e in watchlist.entries], bool)
    ref = g[real_mask] if reference is None else check_unit_rows(reference, "reference", watchlist.dim)
    if len(ref) < 2:
        raise WatchlistError(
            f"fillers need at least 2 real reference embeddings to sit against, have {len(ref)}; enrol "
            "real faces first"
        )
    if target_mean is None or target_sd is None:
        ids = (
            None
            if reference is not None
            else np.array([e.identity for e in watchlist.entries if not e.filler])
        )
        measured_mean, measured_sd = _nonmated(ref, ids)
        target_mean = measured_mean if target_mean is None else target_mean
        target_sd = measured_sd if target_sd is None else target_sd
    if not -1.0 < target_mean < 1.0:
        raise WatchlistError(f"target_mean {target_mean} must lie inside (-1, 1)")
    return ref, float(target_mean), float(target_sd)


def _nonmated(ref: np.ndarray, ids: np.ndarray | None) -> tuple[float, float]:
    """Mean and SD of the cosines between reference rows (of different identities when ``ids`` is given).

    Raises:
        WatchlistError: no such pair.
    """
    sims = ref @ ref.T
    iu = np.triu_indices(len(ref), 1)
    pair = sims[iu] if ids is None else sims[iu][ids[iu[0]] != ids[iu[1]]]
    if pair.size == 0:
        raise WatchlistError(
            "no different-identity pairs among the reference rows; pass target_mean and target_sd"
        )
    return float(pair.mean()), float(pair.std())


def _unit(f: np.ndarray) -> np.ndarray:
    return (f / np.linalg.norm(f, axis=1, keepdims=True)).astype(np.float32)


class _FillerModel:
    """Fillers ``normalise(m + κ z)``, z ~ N(0, S'), around the reference rows (see :func:`add_fillers`).

    Args:
        ref: (R, D) unit reference rows.
        dim: D.
        pilot_rng: draws the fixed pilot of :data:`PILOT_FILLERS` standard normals the fits use.
    """

    def __init__(self, ref: np.ndarray, dim: int, pilot_rng: np.random.Generator) -> None:
        self.ref = ref
        self.dim = dim
        self.mean_vec = ref.mean(axis=0).astype(np.float64)
        dev = ref - self.mean_vec
        self.cov_raw = dev.T @ dev / max(len(ref) - 1, 1)
        self.iso = float(np.trace(self.cov_raw)) / dim or 1.0 / dim
        self.pilot_z = pilot_rng.standard_normal((PILOT_FILLERS, dim))

    def chol(self, lam: float) -> np.ndarray:
        """Cholesky factor of the shrunk covariance ``(1 - λ) S + λ tr(S)/D I``."""
        cov = (1.0 - lam) * self.cov_raw + lam * self.iso * np.eye(self.dim)
        return np.linalg.cholesky(cov + 1e-9 * np.eye(self.dim))

    def pilot(self, lam_chol: np.ndarray, kappa: float) -> np.ndarray:
        """Cosines of the pilot fillers against the reference rows."""
        return _unit(self.mean_vec + kappa * (self.pilot_z @ lam_chol.T)) @ self.ref.T

    def fit_kappa(self, lam_chol: np.ndarray, target_mean: float) -> float:
        """κ whose pilot cosines have mean ``target_mean`` (bisection; larger κ, lower scores).

        Raises:
            WatchlistError: the target is out of reach.
        """
        lo, hi = 0.0, 1.0
        while self.pilot(lam_chol, hi).mean() > target_mean and hi < 1e6:
            hi *= 2.0
        if self.pilot(lam_chol, lo).mean() < target_mean or self.pilot(lam_chol, hi).mean() > target_mean:
            raise WatchlistError(
                f"target_mean {target_mean:.3f} is outside what fillers can reach against these references "
                f"({self.pilot(lam_chol, hi).mean():.3f}..{self.pilot(lam_chol, lo).mean():.3f}); check "
                "it is a "
                "non-mated score on this engine's scale"
            )
        for _ in range(30):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if self.pilot(lam_chol, mid).mean() > target_mean else (lo, mid)
        return 0.5 * (lo + hi)

    def fit_shrinkage(self, target_mean: float, target_sd: float) -> float:
        """λ whose pilot cosines (at the fitted κ) have SD ``target_sd``.

        The SD falls as λ grows (isotropic noise spreads evenly over the references): bisection.
        """
        lam_lo, lam_hi = 0.0, 1.0
        for _ in range(12):
            lam = 0.5 * (lam_lo + lam_hi)
            c = self.chol(lam)
            sd = float(self.pilot(c, self.fit_kappa(c, target_mean)).std())
            lam_lo, lam_hi = (lam, lam_hi) if sd > target_sd else (lam_lo, lam)
        return 0.5 * (lam_lo + lam_hi)

    def draw(self, count: int, gen: np.random.Generator, lam_chol: np.ndarray, kappa: float) -> np.ndarray:
        """``count`` (count, D) float32 unit fillers."""
        return _unit(self.mean_vec + kappa * (gen.standard_normal((count, self.dim)) @ lam_chol.T))
