"""The engine protocol shared by every recognition engine.

Two levels:

* :class:`ScoringEngine` — what every engine declares about its score: ``model_id``, the score
  definition ``score_name``, the closed ``score_range`` and a calibrated ``default_threshold``.
  The statistical engine (:mod:`twin.scoring.score_model`) implements only this level.
* :class:`FaceEngine` — a real engine that also detects and embeds faces in images.

Scores of different engines live on different scales (statistical: NeoFace-like [0, 1];
dlib: cosine of L2-normalised 128-d descriptors; ArcFace: cosine in [-1, 1]), so a threshold
is validated against the engine that will use it with :func:`check_threshold`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from twin.errors import EngineError

__all__ = ["Face", "FaceEngine", "ScoringEngine", "box_iou", "check_threshold"]


@dataclass(frozen=True)
class Face:
    """One detected face.

    Attributes:
        box: (x0, y0, x1, y1) in pixels of the image it was found in, float.
        kps: (5, 2) float32 landmarks in pixels: right eye, left eye, nose tip, right and
            left mouth corner (the subject's right/left; insightface's order).
        det_score: detector confidence, engine-specific scale (higher is more face-like).
    """

    box: tuple[float, float, float, float]
    kps: np.ndarray
    det_score: float

    @property
    def ied_px(self) -> float:
        """Inter-eye distance in pixels, from the two eye landmarks."""
        return float(np.hypot(*(self.kps[0] - self.kps[1])))


def box_iou(a: tuple[float, float, float, float], b: np.ndarray | tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) pixel boxes (a :attr:`Face.box` and a box row),
    in [0, 1]; 0 when the union is empty.

    >>> box_iou((0.0, 0.0, 2.0, 2.0), (1.0, 0.0, 3.0, 2.0))
    0.3333333333333333
    """
    ix = max(0.0, min(a[2], float(b[2])) - max(a[0], float(b[0])))
    iy = max(0.0, min(a[3], float(b[3])) - max(a[1], float(b[1])))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + float((b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


@runtime_checkable
class ScoringEngine(Protocol):
    """What every engine declares about its comparison score (read-only attributes)."""

    @property
    def model_id(self) -> str: ...

    @property
    def score_name(self) -> str: ...

    @property
    def score_range(self) -> tuple[float, float]: ...

    @property
    def default_threshold(self) -> float: ...


@runtime_checkable
class FaceEngine(ScoringEngine, Protocol):
    """A real engine: detector plus embedder; scores are cosines of unit embeddings."""

    dim: int

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an (H, W, 3) uint8 RGB image, largest first."""
        ...

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """(len(faces), dim) float32 L2-normalised embeddings, batched."""
        ...


def check_threshold(engine: ScoringEngine, threshold: float) -> float:
    """Return ``threshold`` if it lies inside the engine's score range, else raise.

    Args:
        engine: any :class:`ScoringEngine`.
        threshold: candidate alert threshold on the engine's score scale.

    Raises:
        EngineError: the threshold is outside ``engine.score_range``; the message names the
            engine's range and its calibrated default.
    """
    lo, hi = engine.score_range
    if not (lo <= threshold <= hi) or not np.isfinite(threshold):
        raise EngineError(
            f"threshold {threshold} is outside the {engine.model_id} score range [{lo}, {hi}] "
            f"({engine.score_name}); use a value inside it, e.g. its calibrated default "
            f"{engine.default_threshold}"
        )
    return float(threshold)
