"""Synthetic CCTV probes rendered from a recorded face for one capture.

A capture (:mod:`twin.world.camera`) gives the face's inter-eye distance ``ied_px``, its yaw and the
walking speed; :func:`render_probe` turns a recorded face into what that camera would record, in
the order light and optics act on it:

1. **scale** so the frontal inter-eye distance equals ``ied_px`` (``cv2.INTER_AREA`` when
   shrinking, which averages pixels as a sensor does; cubic when enlarging);
2. **yaw**: a horizontal squeeze by cos(yaw) about the face centre plus a small vertical shear
   (0.08 at 45°, scaled by sin(yaw)/sin 45°), the cheap head-turn model of reference/face_engine.md §4;
   the eye distance seen in the probe is therefore ≈ ``ied_px`` · cos(yaw);
3. **motion blur**: a horizontal box kernel ``blur_px`` long (see :func:`motion_blur_px`);
4. **light**: a gain on intensities (see :func:`light_gain`);
5. **sensor noise**: additive Gaussian, ``noise_sd`` grey levels, drawn from the injected ``rng``;
6. **compression**: a JPEG round trip at ``jpeg_quality`` (in memory).

The result is a patch with context around the face (:data:`CONTEXT`), for the detector, and the
five landmarks mapped into it. Same inputs and same ``rng`` state give identical bytes.
Rendered probes live in memory only; nothing here writes to disk.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import cv2
import numpy as np

from twin.errors import ImageError
from twin.recognition.engines.base import Face
from twin.recognition.faces.io import check_rgb

__all__ = [
    "CONTEXT",
    "RenderedProbe",
    "light_gain",
    "motion_blur_px",
    "render_probe",
    "sharpness",
]

logger = logging.getLogger(__name__)

#: Context kept around the face box on each side, as a fraction of the box side (the detector needs
#: some surroundings: dlib's HOG window is 80×80 px for a ~60 px face).
CONTEXT: float = 0.6

#: Vertical shear at 45° yaw (face_engine.md §4 used a 0.7 squeeze with 0.08 shear).
YAW_SHEAR_AT_45: float = 0.08


@dataclass(frozen=True, kw_only=True)
class RenderedProbe:
    """A rendered probe.

    Attributes:
        patch: (h, w, 3) uint8 RGB, the face with context around it.
        kps: (5, 2) float32 landmarks in patch pixels (Face.kps order).
        box: (x0, y0, x1, y1) the source face box mapped into the patch (bounding box), pixels.
        scale: the applied scale factor (target / source inter-eye distance).
    """

    patch: np.ndarray
    kps: np.ndarray
    box: tuple[float, float, float, float]
    scale: float

    @property
    def ied_px(self) -> float:
        """Inter-eye distance of the rendered landmarks, pixels (≈ ied_px · cos yaw)."""
        return float(np.hypot(*(self.kps[0] - self.kps[1])))


def motion_blur_px(speed_m_s: float, exposure_s: float, px_per_m: float) -> float:
    """Length of the motion blur streak, pixels: speed × exposure × px_per_m.

    Assumes motion across the image (the worst case; a walker heading at the camera smears less).

    Args:
        speed_m_s: walking speed, m/s (Weidmann 1993 free-flow mean 1.34 m/s).
        exposure_s: shutter time, s (CCTV auto-exposure: 1/50 s by day, 1/25–1/12 s at night).
        px_per_m: image scale at the face, pixels per metre.

    Raises:
        ImageError: a negative or non-finite input.

    >>> round(motion_blur_px(1.34, 1 / 50, 500.0), 1)
    13.4
    """
    for name, v in (("speed_m_s", speed_m_s), ("exposure_s", exposure_s), ("px_per_m", px_per_m)):
        if not (math.isfinite(v) and v >= 0):
            raise ImageError(f"{name} {v!r} must be a finite number >= 0")
    return float(speed_m_s * exposure_s * px_per_m)


def light_gain(hour: float) -> float:
    """Intensity gain of an outdoor scene by hour of day (an assumption, not a measurement).

    1.0 between 09:00 and 16:00; a cosine ramp down to 0.35 (street lighting after camera
    auto-exposure has done what it can) by 20:00 and back up from 05:00; 0.35 at night.
    Replace with a site's measured profile when one exists.

    Args:
        hour: local hour in [0, 24).

    >>> light_gain(12.0), light_gain(23.0)
    (1.0, 0.35)
    """
    if not (math.isfinite(hour) and 0 <= hour < 24):
        raise ImageError(f"hour {hour!r} must be in [0, 24)")
    night, day = 0.35, 1.0
    if 9 <= hour <= 16:
        return day
    if 16 < hour < 20:
        f = (hour - 16) / 4
    elif 5 < hour < 9:
        f = (9 - hour) / 4
    else:
        return night
    return float(night + (day - night) * 0.5 * (1 + math.cos(math.pi * f)))


def sharpness(image: np.ndarray) -> float:
    """Variance of the Laplacian of the grey image (higher = sharper; Pech-Pacheco et al. 2000)."""
    grey = cv2.cvtColor(check_rgb(image), cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def _motion_kernel(length: float) -> np.ndarray:
    """(1, n) float32 horizontal box kernel of (fractional) length ``length`` px, sum 1."""
    n = int(math.ceil(length))
    if n % 2 == 0:
        n += 1
    k = np.zeros(n, np.float64)
    half = length / 2.0
    centre = n // 2
    for i in range(n):
        lo, hi = i - centre - 0.5, i - centre + 0.5
        k[i] = max(0.0, min(hi, half) - max(lo, -half))
    return (k / k.sum()).astype(np.float32)[None, :]


def render_probe(
    image: np.ndarray,
    face: Face,
    *,
    ied_px: float,
    rng: np.random.Generator,
    yaw_deg: float = 0.0,
    blur_px: float = 0.0,
    light: float = 1.0,
    noise_sd: float = 0.0,
    jpeg_quality: int | None = None,
) -> RenderedProbe:
    """Render what a camera would record of ``face`` in one capture.

    Args:
        image: (H, W, 3) uint8 RGB recorded image holding the face.
        face: the face in it (box and kps in ``image`` pixels).
        ied_px: frontal inter-eye distance to render, pixels (> 0; DESIGN.md: 0.063 m × px_per_m).
        rng: generator for the sensor noise (e.g. ``Streams(seed)["render"]``).
        yaw_deg: head yaw relative to the camera, degrees, |yaw| < 90.
        blur_px: horizontal motion-blur length at the rendered scale, pixels (>= 0; see
            :func:`motion_blur_px`).
        light: intensity gain (> 0; 1 = as recorded; see :func:`light_gain`).
        noise_sd: Gaussian sensor noise SD, grey levels (>= 0).
        jpeg_quality: JPEG quality 1–100 for the round trip, or None for none.

    Returns:
        a :class:`RenderedProbe`.

    Raises:
        ImageError: a bad image, a face without eye distance, or a parameter out of range.
    """
    img = check_rgb(image)
    _check_params(ied_px, yaw_deg, blur_px, light, noise_sd, jpeg_quality)
    src_ied = face.ied_px
    if not src_ied > 0:
        raise ImageError(f"the source face has inter-eye distance {src_ied}; its landmarks are degenerate")
    scale = ied_px / src_ied
    if scale > 1.0:
        logger.debug(
            "enlarging a face from %.1f to %.1f px inter-eye distance: the probe is softer than real",
            src_ied,
            ied_px,
        )

    patch, kps, corners, sx = _scaled_crop(img, face, scale)
    if yaw_deg != 0.0:
        patch, kps, corners = _yaw_warp(patch, kps, corners, yaw_deg)
    out = _degrade(patch, blur_px=blur_px, light=light, noise_sd=noise_sd, jpeg_quality=jpeg_quality, rng=rng)
    bx0, by0 = corners.min(axis=0)
    bx1, by1 = corners.max(axis=0)
    return RenderedProbe(
        patch=np.ascontiguousarray(out),
        kps=kps.astype(np.float32),
        box=(float(bx0), float(by0), float(bx1), float(by1)),
        scale=float(sx),
    )


def _scaled_crop(
    img: np.ndarray, face: Face, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Step 1: the face box plus context (edges replicated outside the image), resized by ``scale``.

    Returns:
        (square patch, landmarks and box corners in patch pixels, the realised scale).
    """
    x0, y0, x1, y1 = face.box
    side = max(x1 - x0, y1 - y0)
    cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
    half = side * (0.5 + CONTEXT)
    out_side = max(8, int(round(2 * half * scale)))
    crop_side = out_side / scale  # source pixels covered, so the scale is exact
    ox, oy = cx - crop_side / 2.0, cy - crop_side / 2.0
    ix, iy = int(math.floor(ox)), int(math.floor(oy))
    n = int(math.ceil(crop_side)) + 2
    crop = _crop_replicate(img, ix, iy, n, n)
    # sub-pixel offset of the true crop origin inside the integer crop
    fx, fy = ox - ix, oy - iy
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    big = cv2.resize(crop, (int(round(n * scale)), int(round(n * scale))), interpolation=interp)
    sx = big.shape[1] / n  # realised scale of the resize
    tx, ty = int(round(fx * sx)), int(round(fy * sx))
    patch = big[ty : ty + out_side, tx : tx + out_side]
    if patch.shape[0] != out_side or patch.shape[1] != out_side:
        patch = cv2.copyMakeBorder(
            patch, 0, out_side - patch.shape[0], 0, out_side - patch.shape[1], cv2.BORDER_REPLICATE
        )

    def to_patch(pts: np.ndarray) -> np.ndarray:
        return (pts - np.array([ix, iy])) * sx - np.array([tx, ty])

    kps = to_patch(face.kps.astype(np.float64))
    corners = to_patch(np.array([[x0, y0], [x1, y0], [x0, y1], [x1, y1]], np.float64))
    return patch, kps, corners, sx


def _yaw_warp(
    patch: np.ndarray, kps: np.ndarray, corners: np.ndarray, yaw_deg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Step 2, yaw: squeeze x about the face centre by cos(yaw), shear y by k·(x − c)."""
    out_side = patch.shape[0]
    c = kps[:2].mean(axis=0)
    sq = math.cos(math.radians(yaw_deg))
    k = YAW_SHEAR_AT_45 * math.sin(math.radians(yaw_deg)) / math.sin(math.radians(45.0))
    m = np.array([[sq, 0.0, c[0] * (1 - sq)], [k * sq, 1.0, -k * sq * c[0]]], np.float64)
    # y' = y + k (x' − c), with x' = c + sq (x − c)
    patch = cv2.warpAffine(
        patch, m, (out_side, out_side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return patch, kps @ m[:, :2].T + m[:, 2], corners @ m[:, :2].T + m[:, 2]


def _degrade(
    patch: np.ndarray,
    *,
    blur_px: float,
    light: float,
    noise_sd: float,
    jpeg_quality: int | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Steps 3-6: motion blur, light, sensor noise, and the JPEG round trip (in memory)."""
    work = patch.astype(np.float32)
    if blur_px > 1e-3:
        work = np.asarray(
            cv2.filter2D(work, -1, _motion_kernel(max(blur_px, 1.0)), borderType=cv2.BORDER_REFLECT),
            np.float32,
        )
    if light != 1.0:
        work *= light
    if noise_sd > 0:
        work += rng.normal(0.0, noise_sd, size=work.shape).astype(np.float32)
    out = np.clip(np.rint(work), 0, 255).astype(np.uint8)
    if jpeg_quality is not None:
        ok, enc = cv2.imencode(
            ".jpg", cv2.cvtColor(out, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)]
        )
        if not ok:  # pragma: no cover - OpenCV's JPEG encoder does not fail on uint8 RGB
            raise ImageError("JPEG encoding of the rendered probe failed")
        decoded = cv2.imdecode(enc, cv2.IMREAD_COLOR)
        if decoded is None:  # pragma: no cover - a buffer OpenCV just encoded always decodes
            raise ImageError("JPEG decoding of the rendered probe failed")
        out = np.asarray(cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB), np.uint8)
    return out


def _crop_replicate(img: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    """img[y:y+h, x:x+w], replicating edge pixels where the window leaves the image."""
    H, W = img.shape[:2]
    top, left = max(0, -y), max(0, -x)
    bottom, right = max(0, y + h - H), max(0, x + w - W)
    inner = img[max(0, y) : min(H, y + h), max(0, x) : min(W, x + w)]
    if inner.size == 0:
        raise ImageError(
            f"the face box lies outside the {W}×{H} image; pass the image the face was detected in"
        )
    if top or left or bottom or right:
        inner = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_REPLICATE)
    return inner


def _check_params(
    ied_px: float, yaw_deg: float, blur_px: float, light: float, noise_sd: float, jpeg_quality: int | None
) -> None:
    if not (math.isfinite(ied_px) and ied_px > 0):
        raise ImageError(f"ied_px {ied_px!r} must be a positive number of pixels, e.g. 30")
    if ied_px > 1000:
        raise ImageError(f"ied_px {ied_px} is implausibly large (> 1000 px); check px_per_m")
    if not (math.isfinite(yaw_deg) and abs(yaw_deg) < 90):
        raise ImageError(f"yaw_deg {yaw_deg!r} must be inside (-90, 90): a face turned further shows no eyes")
    if not (math.isfinite(blur_px) and blur_px >= 0):
        raise ImageError(f"blur_px {blur_px!r} must be >= 0 pixels")
    if not (math.isfinite(light) and light > 0):
        raise ImageError(f"light {light!r} must be a gain > 0 (1 = as recorded)")
    if not (math.isfinite(noise_sd) and noise_sd >= 0):
        raise ImageError(f"noise_sd {noise_sd!r} must be >= 0 grey levels")
    if jpeg_quality is not None and not (
        isinstance(jpeg_quality, int | np.integer) and 1 <= jpeg_quality <= 100
    ):
        raise ImageError(
            f"jpeg_quality {jpeg_quality!r} must be an integer 1-100, or None for no compression"
        )
