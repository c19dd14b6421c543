"""A fake engine of fixed service time and a patterned frame source, for tests and benches.

With :class:`FixedServiceEngine` (service time s per frame) W workers decide at most W / s frames per
second, and latencies follow the D/D/c arithmetic; :class:`PatternSource` shows a watchlisted face on
every ``alert_every``-th frame, so which frames must raise an alert is known in advance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from twin.recognition.engines.base import Face

__all__ = ["FixedServiceEngine", "PatternSource", "TrackSource", "fake_watchlist"]

#: Embedding size of the fake engine.
FAKE_DIM: int = 8


class FixedServiceEngine:
    """Detects one face per frame after ``service_s`` seconds; embeds it from the frame's first pixel.

    Args:
        service_s: seconds each ``detect`` takes (>= 0).
        busy: spin the CPU for the service time (holds the GIL, as pure-Python work does) instead of
            sleeping (releases it, as dlib's and ONNX Runtime's native calls mostly do).

    A frame whose pixel (0, 0, 0) is 1 shows the watchlisted identity ``wl-0`` (embedding e0); any other
    value shows a non-listed face (e1, orthogonal to every watchlist entry).
    """

    model_id = "fake-fixed-service"
    device = "fake engine (fixed service time, CPU)"
    score_name = "cosine"
    score_range = (-1.0, 1.0)
    default_threshold = 0.5
    dim = FAKE_DIM

    def __init__(self, service_s: float = 0.05, *, busy: bool = False) -> None:
        self.service_s = float(service_s)
        self.busy = busy

    def detect(self, image: np.ndarray) -> list[Face]:
        if self.busy:
            end = time.perf_counter() + self.service_s
            while time.perf_counter() < end:
                pass
        elif self.service_s > 0:
            time.sleep(self.service_s)
        kps = np.array([[4, 8], [20, 8], [12, 14], [6, 20], [18, 20]], np.float32)
        return [Face(box=(0.0, 0.0, 24.0, 24.0), kps=kps, det_score=1.0)]

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        e = np.zeros((len(faces), FAKE_DIM), np.float32)
        e[:, 0 if int(image[0, 0, 0]) == 1 else 1] = 1.0
        return e


def fake_watchlist(size: int = 100):  # type: ignore[no-untyped-def]
    """A watchlist for :class:`FixedServiceEngine`: ``wl-0`` (e0) and fillers orthogonal to e1."""
    from twin.recognition.watchlist import Watchlist

    rng = np.random.default_rng(0)
    emb = np.zeros((size, FAKE_DIM), np.float32)
    emb[0, 0] = 1.0
    rest = rng.standard_normal((size - 1, FAKE_DIM - 2)).astype(np.float32)
    emb[1:, 2:] = rest / np.linalg.norm(rest, axis=1, keepdims=True)
    return Watchlist.from_arrays(emb, [f"wl-{i}" for i in range(size)], model_id=FixedServiceEngine.model_id)


@dataclass
class PatternSource:
    """Frame f is a (32, 32, 3) image whose first pixel is 1 when ``f % alert_every == 0`` (a watchlisted
    face, which must raise an alert), else 2."""

    alert_every: int = 5

    def frame(self, frame: int) -> tuple[np.ndarray, list[int], np.ndarray]:
        img = np.full((32, 32, 3), 2 if frame % self.alert_every else 1, np.uint8)
        return img, [], np.zeros((0, 4), np.float32)

    def wipe(self) -> None:
        """Nothing to wipe: no face is shown."""


@dataclass
class TrackSource:
    """Frames of known tracks: frame f shows track ``f // frames_per_track``'s face at the box
    :class:`FixedServiceEngine` detects; tracks ``t % alert_every == 0`` show the watchlisted ``wl-0``.

    :attr:`truth` is the ground truth per track (as :class:`~twin.sim.stress.worker.WorkerConfig` takes).
    """

    frames_per_track: int = 4
    alert_every: int = 2
    tracks: int = 10

    @property
    def truth(self) -> dict[int, tuple[str, bool]]:
        return {t: ("wl-0" if t % self.alert_every == 0 else f"passer-{t}", t % self.alert_every == 0)
                for t in range(self.tracks)}  # fmt: skip

    def frame(self, frame: int) -> tuple[np.ndarray, list[int], np.ndarray]:
        track = frame // self.frames_per_track
        img = np.full((32, 32, 3), 1 if track % self.alert_every == 0 else 2, np.uint8)
        return img, [track], np.array([[0.0, 0.0, 24.0, 24.0]], np.float32)

    def wipe(self) -> None:
        """Nothing to wipe: no face is shown."""
