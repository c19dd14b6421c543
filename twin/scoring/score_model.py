"""The statistical engine: mated and non-mated score distributions on a NeoFace-like [0, 1] scale.

Non-mated (impostor) comparisons
    A Normal body N(m, s) spliced at ``tail_u`` to a generalised Pareto tail (shape ``tail_xi`` > 0,
    a heavy upper tail; scale ``tail_beta``). The per-comparison false match rate is the survival
    function, ``FMR(t) = P(score >= t)``, and for a watchlist of N entries

        FPIR(t, N) = 1 - (1 - FMR(t))**N                        (ISO/IEC 19795-1, 1:N, per search)

    A person's searches against one gallery are strongly correlated (the same face against the
    same entries), so the model draws one top non-mated score per *person*, which makes FPIR a
    per-person (per face scanned) rate, as NPL report it.

    Defaults (fitted by :func:`fit_nonmated_tail`, see tests/scoring/test_score_model.py):
    FMR(0.60) = 1.7e-8, so FPIR(0.60, 10 000) = 1.7e-4 (NPL 2023, "at worst 1 in 6,000 with a
    10,000 list", the upper end of NeoFace V4) and FPIR(0.60, 1 000) ~ 1.7e-5; FMR falls 7x from
    0.60 to 0.62 (NPL's whole-trial false positives 7 -> 1 -> 0 at 0.60 / 0.62 / 0.64) and ~6x more
    by 0.64. Body mean 0.25 and the splice point 0.54 are assumptions; the fit sets the body sd.

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
from dataclasses import KW_ONLY, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from twin.errors import CalibrationError, EngineError
from twin.files import MAX_JSON_BYTES, dumps_json, loads_json, read_capped

__all__ = [
    "NPL_GROUPS",
    "GroupEffect",
    "ScoreMap",
    "ScoreModel",
    "default_score_model",
    "fit_nonmated_tail",
    "load_score_model",
]


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

    model_id: str = "statistical-npl2023"
    score_name: str = "NeoFace-like similarity score in [0, 1]"
    score_range: tuple[float, float] = (0.0, 1.0)
    default_threshold: float = 0.6
    source: str = "defaults fitted to NPL 2023 (TPIR 0.89 per pass, FPIR 1.7e-4 at N=10,000, threshold 0.6)"
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
    nonmated_sd: float = 0.07162264116
    tail_u: float = 0.54
    tail_xi: float = 0.05
    tail_beta: float = 0.006786072527
    # demographic groups (twin.scoring.equitability); the population figures above stay the calibrated ones
    groups: tuple[GroupEffect, ...] = NPL_GROUPS
    # a real engine's raw score -> this scale (models from `twin calibrate --engine ...`); None: NeoFace-like
    score_map: ScoreMap | None = None

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

        >>> f = ScoreModel().fmr([0.60, 0.62])
        >>> round(float(f[0] / 1.7e-8), 3), round(float(f[0] / f[1]), 2)
        (1.0, 7.0)
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

        >>> m = ScoreModel()
        >>> round(float(m.fpir(0.6, 10_000)) / 1.7e-4, 2), round(float(m.fpir(0.6, 1_000)) / 1.7e-5, 2)
        (1.0, 1.0)
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

    def top_nonmated(self, u: Any, watchlist_size: Any) -> np.ndarray:
        """Highest non-mated score among ``watchlist_size`` independent entries.

        Args:
            u: uniforms in (0, 1), one per search (a person); the same u with a larger list
                gives a higher (never lower) top score, so re-scoring is monotone.
            watchlist_size: N >= 1.

        Returns:
            scores clipped to [0, 1], the shape of ``u``.

        P(top >= t) = 1 - (1 - FMR(t))**N, so top = FMR^-1(1 - (1 - u)**(1/N)).
        """
        u = np.asarray(u, dtype=float)
        n = np.asarray(watchlist_size, dtype=float)
        p = -np.expm1(np.log1p(-u) / n)
        return np.clip(self.score_for_fmr(p), 0.0, 1.0)

    # --- files ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every parameter."""
        d = asdict(self)
        d["score_range"] = list(self.score_range)
        d["groups"] = [asdict(g) for g in self.groups]
        if self.score_map is None:
            del d["score_map"]  # the NPL model's parameter set stays as it was
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
