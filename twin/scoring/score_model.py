"""The statistical engine: mated and non-mated score distributions on a NeoFace-like [0, 1] scale.

Non-mated (impostor) comparisons
    A Normal body N(m, s) spliced at ``tail_u`` to a generalised Pareto tail (shape ``tail_xi`` > 0,
    a heavy upper tail; scale ``tail_beta``). The per-comparison false match rate is the survival
    function, ``FMR(t) = P(score >= t)``, and for a watchlist of N entries

        FPIR(t, N) = 1 - (1 - FMR(t))**N                        (ISO/IEC 19795-1, 1:N, per search)

    A person's searches against one gallery are strongly correlated (the same face against the
    same entries), so the model draws one top non-mated score per *person*, which makes FPIR a
    per-person (per face scanned) rate, as NPL report it.

    Defaults: fitted on the Met's 156 published deployments of Feb 2020 - Sep 2024
    (data/records/, :mod:`twin.records`; ``python -m twin.sim.records_fit`` writes
    twin/data/records_fit.json, and tests/scoring/test_score_model.py checks these constants
    against it): the records set the level and update NPL 2023's shape. For a deployment in the
    latest counting era (from 28 Aug 2024), six months after the last record, the expected FMR is
    1.01e-8 at 0.60, 3.58e-9 at 0.62 and 9.1e-10 at 0.64 per comparison, so FPIR(0.60, 10,000) ~ 1.0e-4
    per face scanned (NPL's "at worst 1 in 6,000" is 1.7e-4) and FPIR(0.64, 16,000) ~ 1.6e-5
    (~1 in 60,000). The tail keeps the NPL model's heavy generalised Pareto form (shape 0.05, body
    mean 0.25, splice at 0.54: assumptions); :func:`fit_tail_to_knots` sets the body sd and tail
    scale. How uncertain one deployment's rate is (parameters, place, drift, between-deployment
    spread) is ``tail_uncertainty`` (:mod:`twin.scoring.tail`). :func:`npl_score_model` is the
    model fitted to NPL 2023 alone (:func:`fit_nonmated_tail`: FMR(0.60) = 1.7e-8, a 7x fall to 0.62).

Mated (genuine) comparisons
    score = mu(quality) + sd * (sqrt(rho) z_person + sqrt(1 - rho) z_track), clipped to [0, 1], with

        mu = mated_mean_max - ied_coef * max(0, log2(ied_ref_px / ied_px))
                            - yaw_coef * (yaw_deg / 30)**2 - pitch_coef * (pitch_deg / 25)**2
                            - blur_coef * (blur_px / ied_px)

    The shape (scores fall as the face shrinks, turns, tilts and smears) follows the dlib
    measurements in shared/reference/face_engine.md §4 and NIST FIVE (NISTIR 8173); the
    coefficients are assumptions that ``twin calibrate`` re-fits from a real engine.
    ``mated_mean_max`` is fitted (:func:`twin.sim.calibrate.fit_mated_mean`) so that the per-pass TPIR
    of the default Oxford Circus van deployment at threshold 0.6 is 0.89 (NPL 2023: share of passes
    through the zone by a watchlisted person that raised a correct alert, capture failures included).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import KW_ONLY, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from twin.errors import CalibrationError, EngineError
from twin.files import MAX_JSON_BYTES, dumps_json, loads_json, read_capped
from twin.scoring.tail import TAIL_KNOTS, TailUncertainty

__all__ = [
    "NPL_GROUPS",
    "GroupEffect",
    "ScoreMap",
    "ScoreModel",
    "default_score_model",
    "fit_nonmated_tail",
    "fit_tail_to_knots",
    "load_score_model",
    "npl_score_model",
]


#: How uncertain one deployment's false-match rate is, from the records fit (twin/data/records_fit.json:
#: tail.log_cov, tail.between_deployment): log FMR(0.60) sd 1.27 (parameters 0.8, place 0.57, half a year
#: of drift 0.92), the 0.60 -> 0.62 fall sd 0.42, the 0.62 -> 0.64 fall sd 1.51 (no false alert at 0.64 yet).
RECORDS_TAIL_UNCERTAINTY = TailUncertainty(
    log_cov=((1.61235, -0.05784, -0.24364), (-0.05784, 0.17983, -0.10523), (-0.24364, -0.10523, 2.28275)),
    between_deployment=0.9192,
    source="the Met's published deployments Feb 2020 - Sep 2024, latest counting era, 6 months ahead",
)


@dataclass(frozen=True)
class GroupEffect:
    """How one demographic group's scores differ from the population's (see :mod:`twin.scoring.equitability`).

    Attributes:
        name: group name as used in the scenario's ``population``.
        fmr_ratio: R_g, the false-match multiplier well below ``centre`` (1: none).
        centre: t_c, threshold at which the multiplier is half gone, score units.
        width: w, how quickly it fades, score units (> 0).
        mated_shift: added to the group's mated scores, score units.
    """

    name: str
    _: KW_ONLY
    fmr_ratio: float = 1.0
    centre: float = 0.585
    width: float = 0.004
    mated_shift: float = 0.0

    def __post_init__(self) -> None:
        if not (self.fmr_ratio > 0 and self.width > 0):
            raise CalibrationError(
                f"group {self.name}: fmr_ratio {self.fmr_ratio} and width {self.width} must be > 0"
            )

    def multiplier(self, threshold: Any) -> np.ndarray:
        """r_g(t) = 1 + (R_g - 1) / (1 + exp((t - t_c) / w)) for threshold(s) t."""
        t = np.asarray(threshold, dtype=float)
        with np.errstate(over="ignore"):
            return 1.0 + (self.fmr_ratio - 1.0) / (1.0 + np.exp((t - self.centre) / self.width))


@dataclass(frozen=True, kw_only=True)
class ScoreMap:
    """The monotone (affine) map between a real engine's raw score and a calibrated model's [0, 1] scale.

    Written by ``twin calibrate`` into the ScoreModel file, so a statistical run with that model
    and a real-engine threshold can be translated both ways: ``unit = (raw - raw_at_0) /
    (raw_at_1 - raw_at_0)``. ``twin calibrate`` anchors it so that the measured non-mated mean
    lands on 0.25 and the engine's calibrated default threshold on 0.6 (the NeoFace-like scale's
    body mean and operating point; see :func:`twin.sim.calibrate.calibrate_engine`).

    Attributes:
        engine_kind: the engine kind it was measured on (``dlib``, ``insightface``).
        model_id: that engine's ``model_id``.
        raw_name: what the raw score is (e.g. "cosine of L2-normalised 128-d descriptors").
        raw_at_0: raw score mapped to 0.
        raw_at_1: raw score mapped to 1 (> raw_at_0).

    >>> m = ScoreMap(engine_kind="dlib", model_id="dlib-resnet-v1", raw_name="cosine",
    ...              raw_at_0=0.75, raw_at_1=1.05)
    >>> round(float(m.to_unit(0.93)), 3), round(float(m.to_raw(0.6)), 3)
    (0.6, 0.93)
    """

    engine_kind: str
    model_id: str
    raw_name: str
    raw_at_0: float
    raw_at_1: float

    def __post_init__(self) -> None:
        if not (
            math.isfinite(self.raw_at_0) and math.isfinite(self.raw_at_1) and self.raw_at_1 > self.raw_at_0
        ):
            raise CalibrationError(f"score map raw_at_1 {self.raw_at_1} must exceed raw_at_0 {self.raw_at_0}")

    def to_unit(self, raw: Any) -> np.ndarray:
        """Raw engine score(s) on the model's scale (not clipped)."""
        return (np.asarray(raw, dtype=float) - self.raw_at_0) / (self.raw_at_1 - self.raw_at_0)

    def to_raw(self, unit: Any) -> np.ndarray:
        """Model-scale score(s) as raw engine scores."""
        return self.raw_at_0 + np.asarray(unit, dtype=float) * (self.raw_at_1 - self.raw_at_0)


#: NPL 2023 pattern (an assumption encoding its finding for NeoFace V4): a significant imbalance
#: at thresholds 0.56-0.58, more Black subjects falsely matched, and none significant at >= 0.6;
#: no significant TPIR difference by group at 0.6 (no mated shift). See twin/scoring/equitability.py.
NPL_GROUPS: tuple[GroupEffect, ...] = (
    GroupEffect("white"),
    GroupEffect("asian"),
    GroupEffect("black", fmr_ratio=3.0),
    GroupEffect("mixed_or_other"),
)


@dataclass(frozen=True, kw_only=True)
class ScoreModel:
    """Mated and non-mated score distributions as functions of capture quality.

    Implements the :class:`twin.recognition.engines.base.ScoringEngine` level of the engine protocol.
    All scores are on [0, 1]; angles in degrees; ied_px and blur_px in pixels.
    """

    model_id: str = "statistical-records2024"
    score_name: str = "NeoFace-like similarity score in [0, 1]"
    score_range: tuple[float, float] = (0.0, 1.0)
    default_threshold: float = 0.6
    source: str = (
        "mated: NPL 2023 (TPIR 0.89 per pass at 0.6); non-mated tail: the Met's 155 usable published "
        "deployments Feb 2020 - Sep 2024 with NPL 2023's shape as the prior (latest counting era, from "
        "28 Aug 2024)"
    )
    # mated
    mated_mean_max: float = (
        0.7988  # fitted: `twin fit-npl` on scenarios/oxford_circus.yaml (TPIR 0.890 per pass)
    )
    mated_sd: float = 0.08
    mated_person_corr: float = 0.5
    ied_ref_px: float = 80.0
    ied_coef: float = 0.04
    yaw_coef: float = 0.06
    pitch_coef: float = 0.04
    blur_coef: float = 0.15
    # non-mated
    nonmated_mean: float = 0.25
    nonmated_sd: float = 0.059941  # records fit (twin/data/records_fit.json: tail.score_model)
    tail_u: float = 0.54
    tail_xi: float = 0.05
    tail_beta: float = 0.013118  # records fit
    # demographic groups (twin.scoring.equitability); the population figures above stay the calibrated ones
    groups: tuple[GroupEffect, ...] = NPL_GROUPS
    # a real engine's raw score -> this scale (models from `twin calibrate --engine ...`); None: NeoFace-like
    score_map: ScoreMap | None = None
    # how uncertain one deployment's false-match rate is (records-fitted models); None: a known rate
    tail_uncertainty: TailUncertainty | None = RECORDS_TAIL_UNCERTAINTY

    def __post_init__(self) -> None:
        for f in ("mated_sd", "nonmated_sd", "tail_beta", "ied_ref_px"):
            if not getattr(self, f) > 0:
                raise CalibrationError(f"ScoreModel {f}={getattr(self, f)} must be > 0")
        if not 0 <= self.mated_person_corr <= 1:
            raise CalibrationError(f"ScoreModel mated_person_corr={self.mated_person_corr} must be in [0, 1]")
        if not 0 < self.tail_u < 1:
            raise CalibrationError(f"ScoreModel tail_u={self.tail_u} must be inside (0, 1)")

    # --- mated ---------------------------------------------------------------------------
    def mated_mean(self, ied_px: Any, yaw_deg: Any, pitch_deg: Any, blur_px: Any = 0.0) -> np.ndarray:
        """Mean mated score for captures of the given quality.

        Args:
            ied_px: inter-eye distance, pixels (> 0).
            yaw_deg, pitch_deg: face angle to the camera, degrees.
            blur_px: motion-blur length, pixels.

        Returns:
            float64 array of the broadcast shape.

        >>> m = ScoreModel()
        >>> float(m.mated_mean(80, 0, 0)) == m.mated_mean_max
        True
        >>> round(float(m.mated_mean(40, 0, 0)), 3) == round(m.mated_mean_max - m.ied_coef, 3)
        True
        """
        ied = np.maximum(np.asarray(ied_px, dtype=float), 1e-6)
        mu = (
            self.mated_mean_max
            - self.ied_coef * np.maximum(0.0, np.log2(self.ied_ref_px / ied))
            - self.yaw_coef * (np.asarray(yaw_deg, dtype=float) / 30.0) ** 2
            - self.pitch_coef * (np.asarray(pitch_deg, dtype=float) / 25.0) ** 2
            - self.blur_coef * (np.asarray(blur_px, dtype=float) / ied)
        )
        return np.asarray(mu)

    def mated_score(self, mean: Any, z_person: Any, z_track: Any) -> np.ndarray:
        """Mated score from its mean and standard-normal person and track effects, clipped to [0, 1]."""
        rho = self.mated_person_corr
        s = np.asarray(mean) + self.mated_sd * (
            math.sqrt(rho) * np.asarray(z_person) + math.sqrt(1 - rho) * np.asarray(z_track)
        )
        return np.clip(s, 0.0, 1.0)

    # --- non-mated -----------------------------------------------------------------------
    @property
    def _p_u(self) -> float:
        return float(ndtr(-(self.tail_u - self.nonmated_mean) / self.nonmated_sd))

    def fmr(self, threshold: Any) -> np.ndarray:
        """Per-comparison false match rate P(non-mated score >= threshold).

        >>> f = ScoreModel().fmr([0.60, 0.62, 0.64])  # the records fit: ~1.07e-8, then ~3.3x and ~3.1x falls
        >>> round(float(f[0] * 1e8), 2), round(float(f[0] / f[1]), 1), round(float(f[1] / f[2]), 1)
        (1.07, 3.3, 3.1)
        """
        t = np.asarray(threshold, dtype=float)
        body = ndtr(-(t - self.nonmated_mean) / self.nonmated_sd)
        x = np.maximum(t - self.tail_u, 0.0)
        tail = self._p_u * (1.0 + self.tail_xi * x / self.tail_beta) ** (-1.0 / self.tail_xi)
        out = np.where(t < self.tail_u, body, tail)
        return np.asarray(np.where(t > 1.0, 0.0, out))

    def fpir(self, threshold: Any, watchlist_size: Any) -> np.ndarray:
        """Per-person false positive identification rate, 1 - (1 - FMR(t))**N.

        Args:
            threshold: alert threshold(s) on [0, 1].
            watchlist_size: N, entries on the watchlist.

        >>> m = ScoreModel()  # ~0.63 of NPL's worst case 1.7e-4; linear in N this far out in the tail
        >>> round(float(m.fpir(0.6, 10_000)) / 1.7e-4, 2), round(float(m.fpir(0.6, 1_000)) / 1.7e-5, 2)
        (0.63, 0.63)
        """
        n = np.asarray(watchlist_size, dtype=float)
        return -np.expm1(n * np.log1p(-self.fmr(threshold)))

    def score_for_fmr(self, p: Any) -> np.ndarray:
        """Inverse of :meth:`fmr`: the score whose per-comparison FMR is ``p`` (0 < p <= 1)."""
        p = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0)
        pu = self._p_u
        tail = self.tail_u + self.tail_beta / self.tail_xi * (np.power(p / pu, -self.tail_xi) - 1.0)
        body = self.nonmated_mean + self.nonmated_sd * ndtri(np.clip(1.0 - p, 0.0, 1.0 - 1e-16))
        return np.asarray(np.where(p <= pu, tail, body))

    def top_nonmated(self, u: Any, watchlist_size: Any, multiplier: float = 1.0) -> np.ndarray:
        """Highest non-mated score among ``watchlist_size`` independent entries.

        Args:
            u: uniforms in (0, 1), one per search (a person); the same u with a larger list
                gives a higher (never lower) top score, so re-scoring is monotone.
            watchlist_size: N >= 1.
            multiplier: lambda > 0, this deployment's factor on every FMR (1: the model's rate;
                see :meth:`fmr_dispersion`).

        Returns:
            scores clipped to [0, 1], the shape of ``u``.

        P(top >= t) = 1 - (1 - lambda FMR(t))**N, so top = FMR^-1((1 - (1 - u)**(1/N)) / lambda).
        """
        u = np.asarray(u, dtype=float)
        n = np.asarray(watchlist_size, dtype=float)
        p = -np.expm1(np.log1p(-u) / n)
        if multiplier != 1.0:
            p = p / max(float(multiplier), 1e-300)
        return np.clip(self.score_for_fmr(p), 0.0, 1.0)

    def fmr_dispersion(self, threshold: float) -> float:
        """Gamma dispersion of one deployment's FMR multiplier at ``threshold`` (0: a known rate).

        See :mod:`twin.scoring.tail`: parameter, place and drift uncertainty plus the spread of
        false alerts between deployments, as the records fit measured them.
        """
        return 0.0 if self.tail_uncertainty is None else self.tail_uncertainty.dispersion(float(threshold))

    # --- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every parameter."""
        d = asdict(self)
        d["score_range"] = list(self.score_range)
        d["groups"] = [asdict(g) for g in self.groups]
        if self.score_map is None:
            del d["score_map"]  # the NPL model's parameter set stays as it was
        if self.tail_uncertainty is None:
            del d["tail_uncertainty"]
        else:
            d["tail_uncertainty"] = self.tail_uncertainty.to_dict()
        return d

    def save(self, path: Path | str) -> Path:
        """Write the model as JSON (what ``engine.score_model`` loads)."""
        path = Path(path)
        path.write_text(
            dumps_json({"kind": "ScoreModel", **self.to_dict()}, indent=2) + "\n", encoding="utf-8"
        )
        return path

    def with_params(self, **params: Any) -> ScoreModel:
        """A copy with some parameters changed (validated)."""
        return replace(self, **params)


def npl_score_model() -> ScoreModel:
    """The model fitted to NPL 2023 alone (the defaults before the records fit).

    FMR(0.60) = 1.7e-8 (FPIR 1.7e-4 at N = 10,000: "at worst 1 in 6,000"), falling 7x to 0.62
    (NPL's whole-trial false positives 7 -> 1), a known rate (no tail uncertainty).

    >>> m = npl_score_model()
    >>> round(float(m.fpir(0.6, 10_000)) / 1.7e-4, 2), round(float(m.fmr(0.6) / m.fmr(0.62)), 2)
    (1.0, 7.0)
    """
    return ScoreModel(
        model_id="statistical-npl2023",
        nonmated_sd=0.07162264116,
        tail_beta=0.006786072527,
        tail_uncertainty=None,
        source="defaults fitted to NPL 2023 (TPIR 0.89 per pass, FPIR 1.7e-4 at N=10,000, threshold 0.6)",
    )


def default_score_model() -> ScoreModel:
    """The ScoreModel fitted to NPL 2023 (module docstring)."""
    return ScoreModel()


def load_score_model(path: Path | str) -> ScoreModel:
    """Read a ScoreModel JSON written by :meth:`ScoreModel.save` or ``twin calibrate``.

    Raises:
        EngineError: missing, malformed, or unknown parameters.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise EngineError(
            f"score model {str(path)!r} not found; write one with `twin calibrate` or drop engine.score_model"
        )
    raw = read_capped(path, what="score model", max_bytes=MAX_JSON_BYTES, error=EngineError)
    doc = loads_json(raw, name=f"score model {path}", error=EngineError)
    if not isinstance(doc, dict) or doc.pop("kind", None) != "ScoreModel":
        raise EngineError(f'score model {path}: not a ScoreModel file (no "kind": "ScoreModel")')
    names = {f.name for f in fields(ScoreModel)}
    unknown = sorted(set(doc) - names)
    if unknown:
        raise EngineError(f"score model {path}: unknown parameters {unknown}; valid: {sorted(names)}")
    if "score_range" in doc:
        doc["score_range"] = tuple(doc["score_range"])
    try:
        if "groups" in doc:
            doc["groups"] = tuple(GroupEffect(**g) for g in doc["groups"])
        if doc.get("score_map") is not None:
            doc["score_map"] = ScoreMap(**doc["score_map"])
        if doc.get("tail_uncertainty") is not None:
            doc["tail_uncertainty"] = TailUncertainty.from_dict(doc["tail_uncertainty"])
        return ScoreModel(**doc)
    except (TypeError, ValueError, CalibrationError) as exc:
        raise EngineError(f"score model {path}: {exc}; regenerate it with `twin calibrate`") from exc


def fit_nonmated_tail(
    *,
    fmr_at_060: float = 1.7e-8,
    ratio_060_062: float = 7.0,
    nonmated_mean: float = 0.25,
    tail_u: float = 0.54,
    tail_xi: float = 0.05,
) -> tuple[float, float]:
    """Fit the non-mated body sd and tail scale to two published points.

    Args:
        fmr_at_060: per-comparison FMR at threshold 0.60 (NPL 2023: FPIR 1.7e-4 / N 10,000).
        ratio_060_062: FMR(0.60) / FMR(0.62) (NPL 2023: false positives 7 at 0.60, 1 at 0.62).
        nonmated_mean, tail_u, tail_xi: fixed assumptions (body mean, splice point, tail shape).

    Returns:
        (nonmated_sd, tail_beta).

    Raises:
        CalibrationError: no solution for these inputs.
    """
    from scipy.optimize import fsolve

    def eqs(p: np.ndarray) -> list[float]:
        sd, beta = p
        m = ScoreModel(
            nonmated_mean=nonmated_mean,
            nonmated_sd=abs(sd) + 1e-9,
            tail_u=tail_u,
            tail_xi=tail_xi,
            tail_beta=abs(beta) + 1e-9,
        )
        f60, f62 = m.fmr([0.60, 0.62])
        return [math.log(f60 / fmr_at_060), math.log(f60 / f62 / ratio_060_062)]

    sol, _, ok, msg = fsolve(eqs, [0.07, 0.007], full_output=True)
    if ok != 1 or max(abs(v) for v in eqs(sol)) > 1e-8:
        raise CalibrationError(f"non-mated tail fit failed: {msg}")
    return float(abs(sol[0])), float(abs(sol[1]))


def fit_tail_to_knots(
    fmr: Sequence[float],
    log_var: Sequence[float],
    *,
    nonmated_mean: float = 0.25,
    tail_u: float = 0.54,
    tail_xi: float = 0.05,
) -> tuple[float, float]:
    """Fit the non-mated body sd and tail scale to the FMR at the knots 0.60, 0.62, 0.64.

    Weighted least squares on log FMR, each knot weighted by the inverse of its variance (a
    records fit: :func:`twin.records.export.tail_forecast`); the tail keeps its heavy (generalised
    Pareto, shape ``tail_xi`` > 0) form, so a knot the records barely inform (0.64: no false
    alert seen) bends the fit least.

    Args:
        fmr: per-comparison FMR at (0.60, 0.62, 0.64).
        log_var: variance of each log FMR (> 0).
        nonmated_mean, tail_u, tail_xi: fixed assumptions, as in :func:`fit_nonmated_tail`.

    Returns:
        (nonmated_sd, tail_beta).

    Raises:
        CalibrationError: non-positive inputs, or no fit.

    >>> m = ScoreModel()
    >>> sd, beta = fit_tail_to_knots(m.fmr([0.60, 0.62, 0.64]), [1.0, 1.0, 1.0])
    >>> round(sd / m.nonmated_sd, 3), round(beta / m.tail_beta, 3)
    (1.0, 1.0)
    """
    from scipy.optimize import least_squares

    f = np.asarray(fmr, dtype=float)
    v = np.asarray(log_var, dtype=float)
    if f.shape != (3,) or v.shape != (3,) or not (np.all(f > 0) and np.all(v > 0)):
        raise CalibrationError(f"tail fit needs 3 positive FMRs and variances, got {list(f)} and {list(v)}")
    w = 1.0 / np.sqrt(v)

    def res(p: np.ndarray) -> np.ndarray:
        sd, beta = np.exp(p)
        m = ScoreModel(
            nonmated_mean=nonmated_mean, nonmated_sd=sd, tail_u=tail_u, tail_xi=tail_xi, tail_beta=beta
        )
        return np.asarray((np.log(m.fmr(list(TAIL_KNOTS))) - np.log(f)) * w)

    sol = least_squares(res, np.log([0.07, 0.007]), xtol=1e-12, ftol=1e-12)
    if not sol.success:
        raise CalibrationError(f"tail fit to the knots failed: {sol.message}")
    sd, beta = np.exp(sol.x)
    return float(sd), float(beta)
