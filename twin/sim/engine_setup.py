"""A real-engine run's set-up, before any simulation: the engine's declared score, the threshold, the engine
and face bank.

With ``engine.kind`` dlib or insightface, :func:`check_engine_config` checks the settings cheaply
(model folder, face folder, threshold range) before minutes of simulation; :func:`resolve_threshold`
puts ``watchlist.threshold`` on the engine's scale (a threshold left at the statistical default
becomes the engine's calibrated default, and the summary says so); :func:`build_engine` and
:func:`build_bank` load what the real pass (:mod:`twin.sim.realpass`) runs. Nothing here needs a
prepared :class:`~twin.sim.context.Context`, so :func:`twin.sim.context.prepare` can call it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from twin.errors import EngineError, ScenarioError, WatchlistError
from twin.scenario.specs import Scenario
from twin.scoring.score_model import ScoreModel

if TYPE_CHECKING:
    from twin.recognition.faces.bank import FaceBank

__all__ = [
    "MAX_EXPECTED_FPIR",
    "NONMATED_SCORE",
    "REAL_KINDS",
    "STATISTICAL_DEFAULT_THRESHOLD",
    "EngineScore",
    "build_bank",
    "build_engine",
    "check_engine_config",
    "engine_score",
    "expected_fpir",
    "resolve_threshold",
]

#: Engine kinds that run real faces.
REAL_KINDS: tuple[str, ...] = ("dlib", "insightface")

#: Each real engine's non-mated (impostor) score distribution, (mean, sd) of a normal, and its source:
#: what a threshold below the engine's calibrated default is checked against before a run.
NONMATED_SCORE: dict[str, tuple[float, float, str]] = {
    "dlib": (
        0.831,
        0.03,
        "reference/face_engine.md: 95 impostor pairs of the sample photos, cosine median 0.831, max 0.906",
    ),
    "insightface": (
        0.0,
        0.07,
        "assumption: ArcFace impostor cosines centre on 0 with sd ~0.07 (InsightFace's published "
        "verification curves); a pack's own calibration may differ",
    ),
}
#: Largest expected FPIR (share of non-watchlisted passers-by alerted) a threshold *below* the engine's
#: calibrated default may give before the run is refused (``engine.force_threshold: true`` runs it).
MAX_EXPECTED_FPIR = 0.01

#: The statistical engine's default threshold (NeoFace-like scale): left there, a real engine's
#: own calibrated default is used instead.
STATISTICAL_DEFAULT_THRESHOLD: float = ScoreModel().default_threshold


@dataclass(frozen=True, kw_only=True)
class EngineScore:
    """What a real engine declares about its score, read without loading any model.

    Attributes:
        kind: ``dlib`` or ``insightface``.
        score_name: the score's definition.
        score_range: (low, high) closed range.
        default_threshold: the engine's calibrated (dlib) or assumed (insightface) default.
        model_id: the model id where known before loading (dlib), else None.
    """

    kind: str
    score_name: str
    score_range: tuple[float, float]
    default_threshold: float
    model_id: str | None = None


def engine_score(kind: str) -> EngineScore:
    """The declared score of a real engine kind (class attributes only; no weights are loaded).

    Raises:
        EngineError: not a real engine kind.

    >>> engine_score("dlib").default_threshold
    0.93
    """
    if kind == "dlib":
        from twin.recognition.engines.dlib import DlibEngine

        return EngineScore(
            kind="dlib",
            score_name=DlibEngine.score_name,
            score_range=DlibEngine.score_range,
            default_threshold=DlibEngine.default_threshold,
            model_id=DlibEngine.model_id,
        )
    if kind == "insightface":
        from twin.recognition.engines.insightface import DEFAULT_THRESHOLD, InsightFaceEngine

        return EngineScore(
            kind="insightface",
            score_name=InsightFaceEngine.score_name,
            score_range=InsightFaceEngine.score_range,
            default_threshold=DEFAULT_THRESHOLD,
        )
    raise EngineError(f"engine kind {kind!r} runs no real faces; real kinds: {', '.join(REAL_KINDS)}")


def expected_fpir(kind: str, threshold: float, watchlist_size: int) -> float:
    """Expected FPIR of a real engine at ``threshold`` against ``watchlist_size`` entries.

    FPIR = 1 - (1 - FMR)^N with FMR the upper tail of the engine's declared non-mated normal
    (:data:`NONMATED_SCORE`); a sanity bound, not a calibration (real tails are heavier).

    >>> round(expected_fpir("dlib", 0.5, 10), 3), expected_fpir("dlib", 0.99, 10) < 1e-6
    (1.0, True)
    """
    mean, sd, _ = NONMATED_SCORE[kind]
    fmr = 0.5 * math.erfc((threshold - mean) / (sd * math.sqrt(2)))
    return float(-math.expm1(watchlist_size * math.log1p(-min(fmr, 1 - 1e-16))))


def _check_below_default(scenario: Scenario, es: EngineScore, t: float) -> str:
    """A threshold below the engine's calibrated default: refused where its expected FPIR is absurd.

    Returns:
        a note for the threshold's source ("" when nothing to say).

    Raises:
        ScenarioError: expected FPIR above :data:`MAX_EXPECTED_FPIR`, unless ``engine.force_threshold``.
    """
    if t >= es.default_threshold:
        return ""
    n = scenario.watchlist.size
    fpir = expected_fpir(es.kind, t, n)
    mean, sd, source = NONMATED_SCORE[es.kind]
    if fpir <= MAX_EXPECTED_FPIR:
        return ""
    if scenario.engine.force_threshold:
        return f"; forced with engine.force_threshold: expected FPIR {fpir:.1%} at {n:,} entries"
    stranger = " (below a stranger's typical score: nearly every passer-by would alert)" if t <= mean else ""
    raise ScenarioError(
        f"watchlist.threshold {t:g} is below the {es.kind} engine's calibrated default "
        f"{es.default_threshold:g}{stranger}: with {n:,} entries it gives an expected FPIR of "
        f"{fpir:.1%} (limit {MAX_EXPECTED_FPIR:.0%}; non-mated {es.score_name} ~ N({mean:g}, {sd:g}), "
        f"{source}), and every false alert keeps a review crop of someone not on the watchlist; raise it "
        f"towards {es.default_threshold:g}, or set engine.force_threshold: true to run it anyway"
    )


def resolve_threshold(scenario: Scenario) -> tuple[float, str]:
    """The real engine's alert threshold for a scenario, and where it comes from.

    Returns:
        (threshold on the engine's scale, a sentence saying where it came from).

    Raises:
        ScenarioError: the threshold lies outside the engine's score range (the message gives
            the engine's default), or below its default where the expected FPIR is absurd
            (:func:`expected_fpir` above :data:`MAX_EXPECTED_FPIR`) without ``engine.force_threshold``.
    """
    es = engine_score(scenario.engine.kind)
    t = scenario.watchlist.threshold
    if t == STATISTICAL_DEFAULT_THRESHOLD and t != es.default_threshold:
        return es.default_threshold, (
            f"watchlist.threshold was left at the statistical engine's default {t:g} (NeoFace-like "
            "scale); the "
            f"{es.kind} engine scores {es.score_name}, so its default {es.default_threshold:g} is used; set "
            f"watchlist.threshold on the {es.kind} scale to choose another"
        )
    lo, hi = es.score_range
    if not lo <= t <= hi:
        raise ScenarioError(
            f"watchlist.threshold {t:g} is outside the {es.kind} engine's score range [{lo:g}, {hi:g}] "
            f"({es.score_name}); use a value inside it, e.g. its default {es.default_threshold:g}"
        )
    note = _check_below_default(scenario, es, float(t))
    return float(t), f"watchlist.threshold {t:g} on the {es.kind} engine's scale ({es.score_name}){note}"


def check_engine_config(scenario: Scenario) -> None:
    """Cheap checks of a real engine's settings, before any simulation or model loading.

    Raises:
        EngineError: insightface without ``engine.model_dir``.
        ModelFolderError: the model folder is missing or not a folder.
        WatchlistError: ``engine.faces`` is not a folder.
        ScenarioError: threshold outside the engine's range (see :func:`resolve_threshold`).
    """
    eng = scenario.engine
    if eng.kind not in REAL_KINDS:
        raise EngineError(f"engine.kind {eng.kind!r} runs no real faces; real kinds: {', '.join(REAL_KINDS)}")
    if eng.kind == "insightface":
        if eng.model_dir is None:
            raise EngineError(
                "engine.kind insightface needs engine.model_dir: the unpacked model pack folder (e.g. "
                ".../buffalo_l "
                "holding det_10g.onnx and w600k_r50.onnx); the twin never downloads packs"
            )
        from twin.recognition.engines.insightface import _check_folder_exists

        _check_folder_exists(eng.model_dir.expanduser())
    if eng.faces is not None and not eng.faces.is_dir():
        raise WatchlistError(
            f"engine.faces {str(eng.faces)!r} is not a folder; give an identity folder "
            "(person_name/*.jpg) or drop "
            "the key to use the sample photos (`twin samples`)"
        )
    resolve_threshold(scenario)


def build_engine(scenario: Scenario) -> Any:
    """The scenario's real engine (dlib: HOG upsample for the gate's smallest face; insightface: its pack).

    The smallest face the pipeline must find is the capture gate's ``min_ied_px`` seen at the gate's
    largest yaw (the projected eye distance shrinks by cos(yaw)).

    Raises:
        EngineError, EngineUnavailableError, ModelFolderError: from the engine.
    """
    from twin.recognition.engines.registry import create_engine

    eng, gate = scenario.engine, scenario.capture
    if eng.kind == "dlib":
        smallest = gate.min_ied_px * math.cos(math.radians(gate.max_abs_yaw_deg))
        return create_engine("dlib", expected_ied_px=max(1.0, smallest), det_scores=False)
    w = max(c.width_px for c in scenario.cameras)
    h = max(c.height_px for c in scenario.cameras)
    det_size = (32 * math.ceil(w / 32), 32 * math.ceil(h / 32))  # one pass over the whole frame, no downscale
    return create_engine(
        "insightface", model_dir=eng.model_dir, providers=list(eng.providers), det_size=det_size
    )


def build_bank(scenario: Scenario, engine: Any) -> FaceBank:
    """The face bank: ``engine.faces`` (identity folder), else the sample photos; each photo vetted on its
    own (:meth:`~twin.recognition.faces.bank.FaceBank.vetted`: the skipped ones are listed with why).

    Raises:
        WatchlistError: the folder holds no identity with a usable image.
    """
    from twin.recognition.faces.bank import FaceBank

    if scenario.engine.faces is not None:
        return FaceBank.from_folder(scenario.engine.faces).vetted(engine)
    return FaceBank.from_samples(engine).vetted(engine)
