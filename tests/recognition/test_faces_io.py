"""Hostile image files, each generated in tmp_path: a clean RGB array or an ImageError naming the file."""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from twin.errors import ImageError, TwinError
from twin.recognition.faces.io import (
    MAX_PIXELS,
    MIN_SIDE_PX,
    check_rgb,
    decode_image,
    list_images,
    load_image,
    read_image,
)


def _pattern(h: int = 40, w: int = 60) -> np.ndarray:
    """(h, w, 3) uint8 with a red top-left quadrant, so orientation is checkable."""
    img = np.full((h, w, 3), 30, np.uint8)
    img[: h // 2, : w // 2] = (250, 0, 0)
    return img


def _assert_clean(arr: np.ndarray, shape: tuple[int, int]) -> None:
    assert arr.dtype == np.uint8
    assert arr.ndim == 3 and arr.shape[2] == 3
    assert arr.shape[:2] == shape
    assert arr.flags["C_CONTIGUOUS"]


def test_plain_rgb_png_round_trips_exactly(tmp_path: Path) -> None:
    src = _pattern()
    p = tmp_path / "a.png"
    Image.fromarray(src).save(p)
    loaded = read_image(p)
    np.testing.assert_array_equal(loaded.pixels, src)
    assert len(loaded.sha256) == 64


def test_corrupt_file_names_the_file(tmp_path: Path) -> None:
    p = tmp_path / "broken.jpg"
    p.write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg" * 3)
    with pytest.raises(ImageError, match=r"broken\.jpg"):
        load_image(p)


def test_truncated_jpeg_is_refused(tmp_path: Path) -> None:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8)).save(
        buf, "JPEG"
    )
    p = tmp_path / "cut.jpg"
    p.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageError, match=r"cut\.jpg.*(corrupt|truncated)"):
        load_image(p)


def test_empty_missing_and_folder(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ImageError, match="empty"):
        load_image(tmp_path / "empty.png")
    with pytest.raises(ImageError, match="does not exist"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="folder"):
        load_image(tmp_path)


def test_grayscale_becomes_three_equal_channels(tmp_path: Path) -> None:
    grey = np.tile(np.arange(60, dtype=np.uint8) * 4, (40, 1))
    p = tmp_path / "g.png"
    Image.fromarray(grey, mode="L").save(p)
    arr = load_image(p)
    _assert_clean(arr, (40, 60))
    for c in range(3):
        np.testing.assert_array_equal(arr[..., c], grey)


def test_rgba_is_composited_over_grey(tmp_path: Path) -> None:
    rgba = np.zeros((40, 60, 4), np.uint8)
    rgba[..., 0] = 255  # hidden colour under full transparency must not leak
    rgba[:, :30, 3] = 255
    p = tmp_path / "a.png"
    Image.fromarray(rgba, mode="RGBA").save(p)
    arr = load_image(p)
    _assert_clean(arr, (40, 60))
    np.testing.assert_array_equal(arr[0, 0], (255, 0, 0))
    np.testing.assert_array_equal(arr[0, 59], (128, 128, 128))


def test_cmyk_jpeg(tmp_path: Path) -> None:
    p = tmp_path / "cmyk.jpg"
    Image.fromarray(_pattern()).convert("CMYK").save(p, "JPEG", quality=95)
    assert Image.open(p).mode == "CMYK"
    arr = load_image(p)
    _assert_clean(arr, (40, 60))
    assert arr[5, 5, 0] > 200 and arr[5, 5, 1] < 60  # red stays red
    assert arr[35, 55].max() < 70


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    im = Image.fromarray(_pattern(40, 60))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    p = tmp_path / "rot.jpg"
    im.save(p, "JPEG", quality=95, exif=exif)
    arr = load_image(p)
    _assert_clean(arr, (60, 40))  # displayed upright: portrait
    # the red top-left quadrant moves to the top-right after a clockwise turn
    assert arr[5, 35, 0] > 200 and arr[5, 5, 0] < 80


def test_one_pixel_image_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "dot.png"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(p)
    with pytest.raises(ImageError, match=rf"dot\.png.*1×1.*{MIN_SIDE_PX}"):
        load_image(p)


def _bilevel_png(path: Path, w: int, h: int) -> None:
    """A w×h 1-bit PNG of zeros written by hand (tiny file, huge header) without allocating it."""
    import struct

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
        )

    row = b"\x00" + b"\x00" * ((w + 7) // 8)
    comp = zlib.compressobj(9)
    data = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_12000_square_is_refused_from_the_header(tmp_path: Path) -> None:
    p = tmp_path / "huge.png"
    _bilevel_png(p, 12000, 12000)
    assert 12000 * 12000 > MAX_PIXELS
    with pytest.raises(ImageError, match=r"huge\.png.*12000×12000.*MP limit"):
        load_image(p)


def test_pillow_bomb_limit_becomes_image_error(tmp_path: Path) -> None:
    p = tmp_path / "bomb.png"
    _bilevel_png(p, 20000, 20000)  # 400 MP > Pillow's own hard limit (2 × 89.5 MP)
    with pytest.raises(ImageError, match=r"bomb\.png"):
        load_image(p)


def test_non_face_image_loads_cleanly(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    p = tmp_path / "noise.png"
    Image.fromarray(noise).save(p)
    np.testing.assert_array_equal(load_image(p), noise)


def test_non_ascii_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "Zoë Ångström"
    folder.mkdir()
    p = folder / "写真 ü.jpg"
    Image.fromarray(_pattern()).save(p, "JPEG", quality=95)
    _assert_clean(load_image(p), (40, 60))
    assert list_images(folder) == [p]


def test_sixteen_bit_png_keeps_high_byte(tmp_path: Path) -> None:
    arr16 = np.full((30, 30), 0xAB12, np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(arr16).save(p)
    arr = load_image(p)
    assert arr[0, 0, 0] == 0xAB


def test_decode_bytes_via_opencv_fallback() -> None:
    import cv2

    ok, enc = cv2.imencode(
        ".hdr", np.full((30, 30, 3), 0.5, np.float32)
    )  # Radiance HDR: Pillow cannot read it
    assert ok
    arr = decode_image(enc.tobytes(), name="x.hdr")
    assert arr.shape == (30, 30, 3) and arr.dtype == np.uint8 and arr[0, 0, 0] == 128


def test_errors_are_twin_errors(tmp_path: Path) -> None:
    with pytest.raises(TwinError):
        load_image(tmp_path / "missing.jpg")


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((4, 4), np.uint8), "shape"),
        (np.zeros((4, 4, 4), np.uint8), "shape"),
        (np.zeros((4, 4, 3), np.float32), "dtype"),
        ([[1, 2, 3]], "numpy array"),
    ],
)
def test_check_rgb_refuses(bad: object, match: str) -> None:
    with pytest.raises(ImageError, match=match):
        check_rgb(bad)  # type: ignore[arg-type]
