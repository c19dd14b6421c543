"""Compose rendered probes into a full camera frame, with ground-truth boxes, for the detector.

A real-engine run runs the detector on whole frames, not only the embedder on crops (DESIGN.md,
Faces). :func:`compose_frame` pastes :class:`~twin.recognition.faces.render.RenderedProbe` patches into a
background at given pixel positions, feathering each patch's border into the background so the
square outline does not give the detector a free edge, and returns the frame with each face's box
and landmarks in frame pixels.

:func:`street_background` makes a plausible, seeded background: a sky-to-pavement gradient, a
blurred brick band (scikit-image's ``data/brick.png``, shipped with the package; a gradient if
absent) and sensor noise.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from twin.errors import ImageError
from twin.recognition.faces.io import check_rgb
from twin.recognition.faces.render import RenderedProbe

__all__ = ["FRAME_SIZE", "ComposedFrame", "compose_frame", "street_background"]

#: Default frame (width, height), pixels: a 1080p CCTV sensor (DESIGN.md camera defaults).
FRAME_SIZE: tuple[int, int] = (1920, 1080)

#: Feather width at a patch border, as a fraction of the patch side.
_FEATHER = 0.12


@dataclass(frozen=True, kw_only=True)
class ComposedFrame:
    """A composed frame and its ground truth.

    Attributes:
        frame: (H, W, 3) uint8 RGB.
        boxes: (n, 4) float32 face boxes (x0, y0, x1, y1) in frame pixels, one per probe placed,
            clipped to the frame.
        kps: (n, 5, 2) float32 landmarks in frame pixels.
        placed: (n,) int64 indices of the input probes that were placed (a probe whose face would
            fall outside the frame is skipped).
    """

    frame: np.ndarray
    boxes: np.ndarray
    kps: np.ndarray
    placed: np.ndarray


def _brick_texture() -> np.ndarray | None:
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "brick.png"
    if not path.is_file():
        return None
    grey = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_GRAYSCALE)
    return grey


def street_background(size: tuple[int, int] = FRAME_SIZE, *, rng: np.random.Generator) -> np.ndarray:
    """A plausible street background: gradient sky, blurred brick band, pavement, sensor noise.

    Args:
        size: (width, height) in pixels.
        rng: generator for the tint, band position and noise.

    Returns:
        (height, width, 3) uint8 RGB.

    Raises:
        ImageError: a non-positive size.
    """
    w, h = size
    if w < 16 or h < 16:
        raise ImageError(f"frame size {size} is too small; use e.g. (1920, 1080)")
    y = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    sky = np.array([150, 170, 190], np.float32) * rng.uniform(0.8, 1.1)
    pave = np.array([95, 92, 88], np.float32) * rng.uniform(0.8, 1.1)
    img = np.broadcast_to(sky * (1 - y) + pave * y, (h, w, 3)).copy()
    top, bottom = int(h * rng.uniform(0.15, 0.3)), int(h * rng.uniform(0.6, 0.75))
    brick = _brick_texture()
    if brick is not None and bottom > top:
        band = cv2.resize(brick, (w, bottom - top), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        band = np.asarray(cv2.GaussianBlur(band, (0, 0), 3.0), np.float32)
        tint = np.array([150, 95, 80], np.float32) / 128.0
        img[top:bottom] = 0.35 * img[top:bottom] + 0.65 * band[..., None] * tint
    img += rng.normal(0.0, 3.0, size=img.shape).astype(np.float32)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def _feather_mask(h: int, w: int) -> np.ndarray:
    fy = max(1.0, _FEATHER * h)
    fx = max(1.0, _FEATHER * w)
    ry = np.minimum(np.arange(h) + 0.5, h - np.arange(h) - 0.5) / fy
    rx = np.minimum(np.arange(w) + 0.5, w - np.arange(w) - 0.5) / fx
    return np.clip(np.minimum(ry[:, None], rx[None, :]), 0.0, 1.0).astype(np.float32)[..., None]


def compose_frame(
    probes: Sequence[RenderedProbe],
    positions: Sequence[tuple[float, float]],
    *,
    size: tuple[int, int] = FRAME_SIZE,
    background: np.ndarray | None = None,
    rng: np.random.Generator,
) -> ComposedFrame:
    """Paste rendered probes into a frame so each face's eye midpoint lands at its position.

    Args:
        probes: rendered probes (:func:`twin.recognition.faces.render.render_probe`).
        positions: (x, y) frame pixels for each probe's eye midpoint.
        size: (width, height) of the frame when no background is given.
        background: (H, W, 3) uint8 RGB to paste into (copied); default :func:`street_background`.
        rng: generator for the default background.

    Returns:
        a :class:`ComposedFrame`. Later probes are pasted over earlier ones.

    Raises:
        ImageError: counts differ, or a bad background.
    """
    if len(probes) != len(positions):
        raise ImageError(f"{len(probes)} probes but {len(positions)} positions; pass one (x, y) per probe")
    frame = (
        street_background(size, rng=rng)
        if background is None
        else check_rgb(background, name="background").copy()
    )
    H, W = frame.shape[:2]
    boxes, kps_all, placed = [], [], []
    for i, (p, (px, py)) in enumerate(zip(probes, positions, strict=True)):
        eye_mid = p.kps[:2].mean(axis=0)
        dx, dy = int(round(px - eye_mid[0])), int(round(py - eye_mid[1]))
        h, w = p.patch.shape[:2]
        x0, y0, x1, y1 = max(0, dx), max(0, dy), min(W, dx + w), min(H, dy + h)
        bx0, by0, bx1, by1 = p.box
        fb = (bx0 + dx, by0 + dy, bx1 + dx, by1 + dy)
        if x1 <= x0 or y1 <= y0 or fb[2] <= 0 or fb[3] <= 0 or fb[0] >= W or fb[1] >= H:
            continue
        mask = _feather_mask(h, w)[y0 - dy : y1 - dy, x0 - dx : x1 - dx]
        src = p.patch[y0 - dy : y1 - dy, x0 - dx : x1 - dx].astype(np.float32)
        dst = frame[y0:y1, x0:x1].astype(np.float32)
        frame[y0:y1, x0:x1] = np.clip(np.rint(mask * src + (1 - mask) * dst), 0, 255).astype(np.uint8)
        boxes.append((max(0.0, fb[0]), max(0.0, fb[1]), min(float(W), fb[2]), min(float(H), fb[3])))
        kps_all.append(p.kps + np.array([dx, dy], np.float32))
        placed.append(i)
    return ComposedFrame(
        frame=frame,
        boxes=np.asarray(boxes, np.float32).reshape(-1, 4),
        kps=np.asarray(kps_all, np.float32).reshape(-1, 5, 2),
        placed=np.asarray(placed, np.int64),
    )
