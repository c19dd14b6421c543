"""Probe rendering and frame composition: exact scale, blur lowers sharpness, seeded determinism."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import ImageError
from twin.recognition.engines.base import Face
from twin.recognition.faces.compose import compose_frame, street_background
from twin.recognition.faces.render import light_gain, motion_blur_px, render_probe, sharpness


@pytest.fixture(scope="module")
def face_image() -> tuple[np.ndarray, Face]:
    """A synthetic 400×400 'face': textured disc, dark eyes 100 px apart, with landmarks."""
    rng = np.random.default_rng(0)
    img = rng.integers(90, 170, (400, 400, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:400, :400]
    disc = (xx - 200) ** 2 + (yy - 210) ** 2 < 120**2
    img[disc] = (205, 170, 150)
    img[disc & ((xx // 6 + yy // 6) % 2 == 0)] = (190, 150, 130)
    for ex in (150, 250):
        img[(xx - ex) ** 2 + (yy - 170) ** 2 < 12**2] = (20, 20, 30)
    img[((xx - 200) ** 2) / 40**2 + ((yy - 270) ** 2) / 8**2 < 1] = (120, 40, 40)
    kps = np.array([[150, 170], [250, 170], [200, 215], [165, 270], [235, 270]], np.float32)
    return img, Face(box=(80.0, 90.0, 320.0, 330.0), kps=kps, det_score=1.0)


@pytest.mark.parametrize("target", [15.0, 22.5, 40.0, 64.0, 130.0])
def test_rendered_ied_equals_target(face_image: tuple[np.ndarray, Face], target: float) -> None:
    img, face = face_image
    probe = render_probe(img, face, ied_px=target, rng=np.random.default_rng(1))
    assert abs(probe.ied_px - target) < 1.0
    assert probe.patch.dtype == np.uint8 and probe.patch.ndim == 3
    # the eyes really are where the landmarks say: dark pixels at both eye points
    for x, y in probe.kps[:2]:
        assert probe.patch[int(round(y)), int(round(x))].mean() < 100


def test_yaw_squeezes_the_eye_distance(face_image: tuple[np.ndarray, Face]) -> None:
    img, face = face_image
    probe = render_probe(img, face, ied_px=40, yaw_deg=45, rng=np.random.default_rng(1))
    assert probe.ied_px == pytest.approx(40 * np.cos(np.radians(45)), abs=1.0)


def test_blur_lowers_sharpness(face_image: tuple[np.ndarray, Face]) -> None:
    img, face = face_image
    sharp = render_probe(img, face, ied_px=40, rng=np.random.default_rng(1))
    blurred = render_probe(img, face, ied_px=40, blur_px=6.0, rng=np.random.default_rng(1))
    assert sharpness(blurred.patch) < 0.6 * sharpness(sharp.patch)


def test_same_seed_same_bytes(face_image: tuple[np.ndarray, Face]) -> None:
    img, face = face_image
    kw = {"ied_px": 20.0, "yaw_deg": 20.0, "blur_px": 2.5, "light": 0.6, "noise_sd": 4.0, "jpeg_quality": 40}
    a = render_probe(img, face, rng=np.random.default_rng(42), **kw)
    b = render_probe(img, face, rng=np.random.default_rng(42), **kw)
    c = render_probe(img, face, rng=np.random.default_rng(43), **kw)
    assert a.patch.tobytes() == b.patch.tobytes()
    assert a.patch.tobytes() != c.patch.tobytes()
    np.testing.assert_array_equal(a.kps, b.kps)


def test_light_gain_darkens(face_image: tuple[np.ndarray, Face]) -> None:
    img, face = face_image
    day = render_probe(img, face, ied_px=30, rng=np.random.default_rng(0))
    night = render_probe(img, face, ied_px=30, light=light_gain(22.0), rng=np.random.default_rng(0))
    assert night.patch.mean() == pytest.approx(day.patch.mean() * 0.35, rel=0.05)


def test_face_near_the_image_edge_is_padded(face_image: tuple[np.ndarray, Face]) -> None:
    img, face = face_image
    edge = Face(box=(-20.0, -10.0, 220.0, 230.0), kps=face.kps - 100, det_score=1.0)
    probe = render_probe(img, edge, ied_px=30, rng=np.random.default_rng(0))
    assert abs(probe.ied_px - 30) < 1.0


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"ied_px": 0.0}, "ied_px"),
        ({"ied_px": 30.0, "yaw_deg": 95.0}, "yaw_deg"),
        ({"ied_px": 30.0, "blur_px": -1.0}, "blur_px"),
        ({"ied_px": 30.0, "light": 0.0}, "light"),
        ({"ied_px": 30.0, "noise_sd": -2.0}, "noise_sd"),
        ({"ied_px": 30.0, "jpeg_quality": 0}, "jpeg_quality"),
    ],
)
def test_bad_parameters(face_image: tuple[np.ndarray, Face], kw: dict, match: str) -> None:
    img, face = face_image
    with pytest.raises(ImageError, match=match):
        render_probe(img, face, rng=np.random.default_rng(0), **kw)


def test_motion_blur_and_light_helpers() -> None:
    # 1.34 m/s (Weidmann 1993) × 1/50 s × 500 px/m = 13.4 px
    assert motion_blur_px(1.34, 0.02, 500.0) == pytest.approx(13.4)
    assert light_gain(12.0) == 1.0 and light_gain(2.0) == 0.35
    assert 0.35 < light_gain(18.0) < 1.0
    with pytest.raises(ImageError):
        motion_blur_px(-1.0, 0.02, 500.0)


def test_compose_places_faces_with_ground_truth(face_image: tuple[np.ndarray, Face]) -> None:
    img, face = face_image
    rng = np.random.default_rng(3)
    probes = [render_probe(img, face, ied_px=ied, rng=rng) for ied in (30, 40, 50)]
    positions = [(300.0, 500.0), (900.0, 400.0), (1900.0, 5000.0)]  # the last is off-frame
    cf = compose_frame(probes, positions, rng=np.random.default_rng(4))
    assert cf.frame.shape == (1080, 1920, 3) and cf.frame.dtype == np.uint8
    assert cf.placed.tolist() == [0, 1]
    np.testing.assert_allclose(cf.kps[:, :2].mean(axis=1), positions[:2], atol=0.6)
    for (x0, y0, x1, y1), (px, py) in zip(cf.boxes, positions[:2], strict=True):
        assert x0 < px < x1 and y0 < py < y1
    # the eyes are dark in the frame where ground truth says
    for k in cf.kps:
        for x, y in k[:2]:
            assert cf.frame[int(round(y)), int(round(x))].mean() < 110
    again = compose_frame(probes, positions, rng=np.random.default_rng(4))
    assert again.frame.tobytes() == cf.frame.tobytes()


def test_background_is_seeded() -> None:
    a = street_background((320, 240), rng=np.random.default_rng(1))
    b = street_background((320, 240), rng=np.random.default_rng(1))
    assert a.shape == (240, 320, 3) and a.tobytes() == b.tobytes()
