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
    "REAL_KINDS",
    "STATISTICAL_DEFAULT_THRESHOLD",
    "EngineScore",
    "build_bank",
    "build_engine",
    "check_engine_config",
    "engine_score",
    "resolve_threshold",
]

#: Engine kinds that run real faces.
REAL_KINDS: tuple[str, ...] = ("dlib", "insightface")

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


def resolve_threshold(scenario: Scenario) -> tuple[float, str]:
    """The real engine's alert threshold for a scenario, and where it comes from.

    Returns:
        (threshold on the engine's scale, a sentence saying where it came from).

    Raises:
        ScenarioError: the threshold lies outside the engine's score range (the message gives
            the engine's default).
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
    return float(t), f"watchlist.threshold {t:g} on the {es.kind} engine's scale ({es.score_name})"


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
    """The face bank: ``engine.faces`` (identity folder), else the sample photos.

    Raises:
        WatchlistError: the folder holds no identity with images.
    """
    from twin.recognition.faces.bank import FaceBank

    if scenario.engine.faces is not None:
        return FaceBank.from_folder(scenario.engine.faces)
    return FaceBank.from_samples(engine)
