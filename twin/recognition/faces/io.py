"""Robust image loading: any image file becomes an (H, W, 3) uint8 RGB array or an ImageError.

Decoding goes through Pillow (a dependency of scikit-image) from the file's bytes, so file names
in any script work, and falls back to OpenCV's ``cv2.imdecode`` for formats Pillow cannot identify.

What is normalised, and how:

* EXIF orientation is applied (the array is what a viewer shows).
* Greyscale, palette, bilevel, CMYK (including Adobe inverted CMYK JPEG), YCbCr and LAB images are
  converted to RGB.
* Alpha (RGBA, LA, PA) is composited over mid-grey (128, 128, 128), a neutral background for a
  face detector; the transparent pixels' hidden colours never leak into the array.
* 16-bit images keep their high byte; 32-bit integer and float images are scaled by their maximum.
* Animated or multi-page files give their first frame.

What is refused (:class:`~twin.errors.ImageError`, naming the file and the fix):

* a missing, empty, unreadable, truncated or corrupt file;
* an image smaller than :data:`MIN_SIDE_PX` on either side (no engine here finds a face in it);
* an image larger than :data:`MAX_PIXELS` pixels, checked from the header *before* decoding, so a
  decompression bomb never allocates memory. We refuse rather than downscale: a silent downscale
  would change the face sizes (ied_px) a planner reasons about, and the decoder would still have
  to allocate the full image first.

A picture with no face in it is a valid image: finding faces is the engine's job.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import ImageError

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE_PX",
    "LoadedImage",
    "SkippedFile",
    "check_rgb",
    "decode_image",
    "file_sha256",
    "list_images",
    "load_image",
    "read_image",
    "scan_images",
]

logger = logging.getLogger(__name__)

#: Largest accepted image, in pixels (width × height). 8K UHD (7680 × 4320 = 33.2 MP) is the
#: largest CCTV/broadcast sensor in use; 40 MP decodes to 120 MB of RGB. Anything above is refused.
MAX_PIXELS: int = 40_000_000

#: Smallest accepted side, in pixels. dlib HOG at upsample 2 and MTCNN find faces down to ~10 px
#: inter-eye distance, i.e. a face box of ~20 px (reference/face_engine.md §4); below it nothing can.
MIN_SIDE_PX: int = 20

#: File suffixes treated as images when listing an identity folder (lower case).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")
#: Photo formats met in face folders that no decoder here reads, and what to do.
_UNREADABLE_PHOTOS: dict[str, str] = {
    ".heic": "a HEIC photo (iPhone): no HEIF decoder is installed; convert it to JPEG",
    ".heif": "a HEIF photo: no HEIF decoder is installed; convert it to JPEG",
    ".avif": "an AVIF photo: convert it to JPEG",
    ".jxl": "a JPEG XL photo: convert it to JPEG",
    **dict.fromkeys(
        (".raw", ".cr2", ".cr3", ".nef", ".arw", ".dng", ".orf", ".rw2"),
        "a camera raw file: export it as JPEG",
    ),
}
#: Largest image file read, bytes (a 40 MP JPEG is ~20 MB; checked before reading).
MAX_IMAGE_BYTES: int = 64 * 1024 * 1024


@dataclass(frozen=True)
class SkippedFile:
    """A file of a face folder that is not used, and why (listed in run summaries and by calibrate).

    Attributes:
        path: the file, as found.
        reason: why it was skipped, and the fix.
    """

    path: str
    reason: str


def _link_problem(p: Path) -> str | None:
    """Why a symbolic link cannot be followed, or None when it can."""
    try:
        p.resolve(strict=True)
    except RuntimeError:
        return "a symbolic link loop; point the link at a file"
    except OSError as exc:
        if getattr(exc, "errno", None) == 40:  # ELOOP
            return "a symbolic link loop; point the link at a file"
        return "a symbolic link to nothing (dangling); point it at a file or remove it"
    return None


def scan_images(folder: str | Path) -> tuple[list[Path], list[SkippedFile]]:
    """The image files directly inside ``folder`` (sorted by name), and every other entry with why it is
    skipped: hidden files, links to nothing or in a loop, sub-folders, photo formats no decoder here
    reads (HEIC, raw, ...), and anything that is not an image by its suffix.

    Returns:
        (image files, skipped entries).
    """
    folder = Path(folder)
    images: list[Path] = []
    skipped: list[SkippedFile] = []
    for p in sorted(folder.iterdir()):
        suffix = p.suffix.lower()
        why: str | None = None
        if p.name.startswith("."):
            why = "a hidden file"
        elif p.is_symlink():
            why = _link_problem(p)
        if why is None and not p.name.startswith("."):
            if p.is_dir():
                why = "a folder inside an identity folder (images are read one level deep)"
            elif not p.is_file():
                why = "not a regular file"
            elif suffix in _UNREADABLE_PHOTOS:
                why = _UNREADABLE_PHOTOS[suffix]
            elif suffix not in IMAGE_SUFFIXES:
                why = f"not an image file by its name (suffix {suffix or 'none'!r}); images are " + ", ".join(
                    IMAGE_SUFFIXES
                )
        if why is None:
            images.append(p)
        else:
            skipped.append(SkippedFile(str(p), why))
    return images, skipped


_GREY_BACKGROUND = 128


@dataclass(frozen=True)
class LoadedImage:
    """An image decoded from a file, with the hash of the file's bytes.

    Attributes:
        path: the file it came from.
        pixels: (H, W, 3) uint8 RGB, C-contiguous.
        sha256: hex SHA-256 of the file's bytes (identifies the source image in run metadata).
    """

    path: Path
    pixels: np.ndarray
    sha256: str


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks.

    Raises:
        ImageError: the file cannot be read.
    """
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        raise ImageError(
            f"cannot read {path}: {exc.strerror or exc}; check the path and its permissions"
        ) from exc
    return digest.hexdigest()


def list_images(folder: str | Path) -> list[Path]:
    """Image files directly inside ``folder`` (by suffix, case-insensitive), sorted by name.

    Hidden files (starting with '.') are skipped.
    """
    folder = Path(folder)
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


def check_rgb(image: np.ndarray, *, name: str = "image") -> np.ndarray:
    """Check that an in-memory array is an (H, W, 3) uint8 RGB image; return it C-contiguous.

    Args:
        image: the array to check.
        name: what to call it in the error message.

    Raises:
        ImageError: wrong type, rank, channel count, dtype, or an empty image.

    >>> check_rgb(np.zeros((2, 3, 3), np.uint8)).shape
    (2, 3, 3)
    """
    if not isinstance(image, np.ndarray):
        raise ImageError(
            f"{name} is a {type(image).__name__}, expected a numpy array; load files with load_image()"
        )
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(
            f"{name} has shape {image.shape}, expected (H, W, 3) RGB; convert greyscale/RGBA with "
            "load_image() "
            "or cv2.cvtColor"
        )
    if image.dtype != np.uint8:
        raise ImageError(
            f"{name} has dtype {image.dtype}, expected uint8; scale to 0-255 and cast with .astype(np.uint8)"
        )
    return np.ascontiguousarray(image)


def load_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode an image file to (H, W, 3) uint8 RGB (see the module docstring for what is normalised).

    Args:
        path: the image file; any file name (non-ASCII included).
        max_pixels: refuse images with more pixels than this (default :data:`MAX_PIXELS`).

    Returns:
        (H, W, 3) uint8 RGB, C-contiguous, EXIF orientation applied.

    Raises:
        ImageError: missing, empty, corrupt, too small or too large; the message names the file and the fix.
    """
    return read_image(path, max_pixels=max_pixels).pixels


def read_image(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> LoadedImage:
    """Like :func:`load_image`, and also return the SHA-256 of the file's bytes.

    Raises:
        ImageError: as :func:`load_image`.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError:
        size = 0  # the read below says what is wrong
    if size > MAX_IMAGE_BYTES:
        raise ImageError(
            f"image file {path} is {size / 2**20:,.0f} MB, over the {MAX_IMAGE_BYTES / 2**20:,.0f} MB limit; "
            "give a photo (a 40-megapixel JPEG is ~20 MB)"
        )
    try:
        data = path.read_bytes()
    except IsADirectoryError as exc:
        raise ImageError(f"{path} is a folder, not an image file; pass an image file inside it") from exc
    except FileNotFoundError as exc:
        raise ImageError(f"image file {path} does not exist; check the path") from exc
    except OSError as exc:
        raise ImageError(
            f"cannot read image file {path}: {exc.strerror or exc}; check its permissions"
        ) from exc
    pixels = decode_image(data, name=str(path), max_pixels=max_pixels)
    return LoadedImage(path=path, pixels=pixels, sha256=hashlib.sha256(data).hexdigest())


def decode_image(data: bytes, *, name: str = "<bytes>", max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, ...) to (H, W, 3) uint8 RGB.

    Args:
        data: the encoded file content.
        name: the file name for error messages.
        max_pixels: refuse images with more pixels than this.

    Returns:
        (H, W, 3) uint8 RGB, C-contiguous.

    Raises:
        ImageError: empty, corrupt, too small or too large.
    """
    if len(data) == 0:
        raise ImageError(f"image file {name} is empty (0 bytes); re-copy or re-export it")
    try:
        pixels = _decode_pil(data, name, max_pixels)
    except _NotIdentified:
        pixels = _decode_cv2(data, name, max_pixels)
    h, w = pixels.shape[:2]
    if min(h, w) < MIN_SIDE_PX:
        raise ImageError(
            f"image {name} is {w}×{h} px, smaller than {MIN_SIDE_PX} px on a side: no face can be found "
            "in it; "
            "use the original, larger image"
        )
    return np.ascontiguousarray(pixels)


class _NotIdentified(Exception):
    """Pillow does not know the format; try OpenCV."""


def _too_large(name: str, w: int, h: int, max_pixels: int) -> ImageError:
    return ImageError(
        f"image {name} is {w}×{h} px = {w * h / 1e6:.1f} MP, above the {max_pixels / 1e6:.0f} MP limit; "
        f"downscale it first (faces need at most ~250 px inter-eye distance), or pass a larger max_pixels"
    )


def _decode_pil(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # We do our own size check below, from the header, before decoding.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageError(
            f"image {name} declares more than {2 * (Image.MAX_IMAGE_PIXELS or 0) / 1e6:.0f} MP, above the "
            f"{max_pixels / 1e6:.0f} MP limit; downscale it first"
        ) from exc
    except UnidentifiedImageError as exc:
        raise _NotIdentified from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"image file {name} is corrupt ({exc}); re-copy or re-export it") from exc
    w, h = im.size
    if w * h > max_pixels:
        raise _too_large(name, w, h, max_pixels)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
            return _pil_to_rgb(ImageOps.exif_transpose(im))
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise ImageError(
            f"image file {name} is corrupt or truncated ({exc}); re-copy or re-export it"
        ) from exc


def _pil_to_rgb(im: PILImage) -> np.ndarray:
    mode = im.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"), dtype=np.float32)
        alpha = rgba[..., 3:4] / 255.0
        rgb = rgba[..., :3] * alpha + _GREY_BACKGROUND * (1.0 - alpha)
        return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(im)
        if mode.startswith("I;16"):
            grey = (arr.astype(np.uint32) >> 8).astype(np.uint8)
        else:
            arr = arr.astype(np.float64)
            top = float(np.nanmax(arr)) if arr.size else 0.0
            grey = (
                np.zeros(arr.shape, np.uint8)
                if top <= 0
                else np.clip(arr / top * 255.0, 0, 255).astype(np.uint8)
            )
        return np.repeat(grey[..., None], 3, axis=2)
    if mode != "RGB":
        im = im.convert("RGB")
    out = np.asarray(im, dtype=np.uint8)
    if out.ndim != 3 or out.shape[2] != 3:  # pragma: no cover - defensive, Pillow's RGB is always 3 channels
        raise ImageError(f"decoded image has shape {out.shape}; expected RGB")
    return out


def _decode_cv2(data: bytes, name: str, max_pixels: int) -> np.ndarray:
    import cv2

    buf = np.frombuffer(data, dtype=np.uint8)
    try:
        bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)  # applies EXIF orientation
    except cv2.error as exc:
        raise ImageError(f"image file {name} cannot be decoded ({exc}); re-copy or re-export it") from exc
    if bgr is None:
        raise ImageError(
            f"image file {name} is not a readable image (corrupt, or a format neither Pillow nor OpenCV "
            "knows); "
            "re-export it as JPEG or PNG"
        )
    h, w = bgr.shape[:2]
    if w * h > max_pixels:
        raise _too_large(name, w, h, max_pixels)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
