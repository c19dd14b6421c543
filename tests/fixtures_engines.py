"""A fake face engine with fixed embeddings, and painted test frames it can read.

A "face" is a filled square whose green channel is 255 and whose red channel holds an identity
code (1..250). :class:`FakeEngine` finds squares with OpenCV connected components, places the five
landmarks inside each box (inter-eye distance = 0.4 × side), and returns the fixed unit embedding
of the code at the box centre. So evaluation logic (quality gate, search, alerts, privacy) is tested
without any weights, as insightface's newer GUI core does.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pytest

from twin.engines.base import Face

#: Landmarks of a unit square face box (fractions of the side): eyes 0.4 apart.
_KPS_UNIT = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], np.float32)

FAKE_DIM = 16


def _table(n_codes: int = 251, dim: int = FAKE_DIM, seed: int = 1234) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((n_codes, dim)).astype(np.float32)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


class FakeEngine:
    """Fixed-embedding engine implementing :class:`~twin.engines.base.FaceEngine`.

    Attributes:
        table: (251, 16) float32 unit rows; row c is identity code c's embedding.
        detect_calls, embed_calls, embedded_faces: counters, to check batching.
    """

    model_id = "fake-fixed-v1"
    score_name = "cosine of fixed 16-d unit vectors"
    score_range = (-1.0, 1.0)
    default_threshold = 0.8
    dim = FAKE_DIM

    def __init__(self) -> None:
        self.table = _table()
        self.detect_calls = 0
        self.embed_calls = 0
        self.embedded_faces = 0

    def detect(self, image: np.ndarray) -> list[Face]:
        self.detect_calls += 1
        mask = (image[..., 1] == 255).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        faces = []
        for i in range(1, n):
            x, y, w, h, _area = (int(v) for v in stats[i])
            side = float(min(w, h))
            kps = _KPS_UNIT * side + np.array([x, y], np.float32)
            faces.append(Face(box=(float(x), float(y), float(x + w), float(y + h)), kps=kps, det_score=1.0))
        faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return faces

    def _embed(self, image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        self.embedded_faces += len(faces)
        out = np.zeros((len(faces), self.dim), np.float32)
        for i, f in enumerate(faces):
            cx, cy = int((f.box[0] + f.box[2]) / 2), int((f.box[1] + f.box[3]) / 2)
            out[i] = self.table[int(image[cy, cx, 0])]
        return out

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        self.embed_calls += 1
        return self._embed(image, faces)

    def embed_batch(self, images: Sequence[np.ndarray], faces: Sequence[Sequence[Face]]) -> list[np.ndarray]:
        self.embed_calls += 1
        return [self._embed(img, fs) for img, fs in zip(images, faces, strict=True)]


def paint_faces(
    codes: Sequence[int],
    *,
    size: tuple[int, int] = (320, 240),
    side: int = 80,
    positions: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """A (H, W, 3) uint8 frame with one painted face square per code.

    Args:
        codes: identity codes 1..250.
        size: (width, height) of the frame in pixels.
        side: square side in pixels (inter-eye distance = 0.4 × side).
        positions: top-left corners; default a row from (10, 10) spaced side + 10 apart.
    """
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 2] = 40  # a dim blue background, never mistaken for a face
    for i, c in enumerate(codes):
        x, y = positions[i] if positions is not None else (10 + i * (side + 10), 10)
        img[y : y + side, x : x + side] = (c, 255, 0)
    return img


@pytest.fixture
def fake_engine() -> FakeEngine:
    """A fresh :class:`FakeEngine`."""
    return FakeEngine()
