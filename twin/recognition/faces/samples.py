"""Sample face images: shipped inside installed packages, plus an install step for same-person pairs.

Two sources, both offline at run time:

* **Packaged** (always present, located with :mod:`importlib` without importing the packages):
  insightface's ``data/images/t1.jpg`` (a group of 6, inter-eye distance 28–50 px) and
  ``Tom_Hanks_54745.png`` (an aligned 112×112 crop), and scikit-image's ``data/astronaut.png``
  (Eileen Collins, 512×512).
* **Fetched once** by :func:`fetch_samples` (the ``twin samples`` command): the ``tests/test_images``
  JPEGs of the face_recognition 1.3.0 source package (obama.jpg, obama2.jpg, obama3.jpg,
  obama_partial_face.jpg, obama_partial_face2.jpg, biden.jpg): the only offline same-person pairs
  (reference/face_engine.md §4). They come from the package registry with
  ``pip download --no-deps --no-binary :all: face_recognition==1.3.0``; only those JPEGs are
  extracted into the cache folder (default ``~/.cache/lfr-twin/samples``, or ``$TWIN_SAMPLES_DIR``).

Nothing here downloads anything unless :func:`fetch_samples` is called explicitly.
face_recognition is MIT-licensed (© Adam Geitgey); the photos are the upstream project's test data.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from twin.errors import SampleFetchError

__all__ = [
    "FR_SDIST",
    "FR_TEST_IMAGES",
    "SAMPLES_ENV",
    "SampleFetchError",
    "SamplesReport",
    "default_samples_dir",
    "fetch_samples",
    "link_identity_folders",
    "packaged_samples",
    "sample_identities",
    "samples_present",
]

logger = logging.getLogger(__name__)

#: Environment variable overriding the samples cache folder.
SAMPLES_ENV = "TWIN_SAMPLES_DIR"

#: The source distribution whose test images are fetched (pip requirement string).
FR_SDIST = "face_recognition==1.3.0"

#: The JPEGs extracted from ``face_recognition-1.3.0/tests/test_images/``, and their identity.
FR_TEST_IMAGES: dict[str, str] = {
    "obama.jpg": "barack_obama",
    "obama2.jpg": "barack_obama",
    "obama3.jpg": "barack_obama",
    "obama_partial_face.jpg": "barack_obama",
    "obama_partial_face2.jpg": "barack_obama",
    "biden.jpg": "joe_biden",
}


@dataclass(frozen=True)
class SamplesReport:
    """What :func:`fetch_samples` did.

    Attributes:
        folder: the cache folder holding the images.
        files: the image files now in it, sorted.
        sha256: file name → hex SHA-256 of its bytes.
        fetched: False when every file was already there and nothing was downloaded.
    """

    folder: Path
    files: tuple[Path, ...]
    sha256: dict[str, str]
    fetched: bool


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def packaged_samples() -> dict[str, Path]:
    """Sample images shipped inside installed packages, by name; absent packages are left out.

    Returns:
        mapping with keys among ``"t1"`` (insightface group of 6), ``"tom_hanks"`` (insightface
        112×112 aligned crop) and ``"astronaut"`` (scikit-image, Eileen Collins), to existing files.
    """
    found: dict[str, Path] = {}
    insight = _package_dir("insightface")
    if insight is not None:
        for key, rel in (("t1", "data/images/t1.jpg"), ("tom_hanks", "data/images/Tom_Hanks_54745.png")):
            if (insight / rel).is_file():
                found[key] = insight / rel
    skimage = _package_dir("skimage")
    if skimage is not None and (skimage / "data" / "astronaut.png").is_file():
        found["astronaut"] = skimage / "data" / "astronaut.png"
    return found


def default_samples_dir() -> Path:
    """The samples cache folder: ``$TWIN_SAMPLES_DIR`` if set, else ``~/.cache/lfr-twin/samples``."""
    env = os.environ.get(SAMPLES_ENV)
    return Path(env).expanduser() if env else Path("~/.cache/lfr-twin/samples").expanduser()


def samples_present(cache_dir: str | Path | None = None) -> bool:
    """True when every face_recognition test image is in the cache folder."""
    folder = Path(cache_dir) if cache_dir is not None else default_samples_dir()
    return all((folder / name).is_file() for name in FR_TEST_IMAGES)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_samples(
    cache_dir: str | Path | None = None,
    *,
    force: bool = False,
    python: str | None = None,
    on_step: Callable[[str], None] | None = None,
) -> SamplesReport:
    """Fetch the face_recognition 1.3.0 test images into the cache folder (the install step).

    Runs ``python -m pip download --no-deps --no-binary :all: face_recognition==1.3.0`` into a
    temporary folder (the ordinary pip client, so the configured index and proxy apply), then
    extracts only ``tests/test_images/*.jpg`` (regular files, no paths outside the folder).
    Skips the download when all files are already present unless ``force``.

    Args:
        cache_dir: where to put the images; default :func:`default_samples_dir`.
        force: download again even if present.
        python: interpreter whose pip to use; default the running one.
        on_step: called with a short human message at each step (for a CLI status line).

    Returns:
        a :class:`SamplesReport`.

    Raises:
        SampleFetchError: pip failed (no registry reachable), or the archive lacks the images.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_samples_dir()
    step = on_step or (lambda msg: logger.info("%s", msg))
    if samples_present(folder) and not force:
        step(f"samples already in {folder}")
        files = tuple(sorted(folder / n for n in FR_TEST_IMAGES))
        return SamplesReport(folder, files, {p.name: _sha256(p) for p in files}, fetched=False)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SampleFetchError(
            f"cannot create samples folder {folder}: {exc}; set {SAMPLES_ENV} to a writable folder"
        ) from exc
    with tempfile.TemporaryDirectory(prefix="twin-samples-") as tmp:
        step(f"downloading the {FR_SDIST} source package with pip")
        cmd = [
            python or sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            FR_SDIST,
            "-d",
            tmp,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SampleFetchError(
                f"running pip failed ({exc}); check that pip works in this environment"
            ) from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SampleFetchError(
                f"pip download {FR_SDIST} failed (exit {proc.returncode}: {tail[0]}); "
                "check that a package index is reachable, or copy the images into "
                f"{folder} by hand"
            )
        archives = sorted(Path(tmp).glob("face_recognition-*.tar.gz"))
        if not archives:
            raise SampleFetchError(f"pip reported success but left no face_recognition sdist in {tmp}")
        step(f"extracting tests/test_images/*.jpg into {folder}")
        _extract_test_images(archives[0], folder)
    files = tuple(sorted(folder / n for n in FR_TEST_IMAGES))
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise SampleFetchError(f"the {FR_SDIST} archive lacks {missing}; the upstream package changed")
    return SamplesReport(folder, files, {p.name: _sha256(p) for p in files}, fetched=True)


def _extract_test_images(archive: Path, folder: Path) -> None:
    """Extract ``*/tests/test_images/<name>.jpg`` members only, each written atomically."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if (
                    len(parts) == 4
                    and parts[1:3] == ("tests", "test_images")
                    and parts[3] in FR_TEST_IMAGES
                    and member.isreg()
                ):
                    src = tar.extractfile(member)
                    if src is None:  # pragma: no cover - regular members always have a file object
                        continue
                    target = folder / parts[3]
                    tmp = target.with_suffix(".part")
                    with src, open(tmp, "wb") as out:
                        shutil.copyfileobj(src, out)
                    os.replace(tmp, target)
    except (tarfile.TarError, OSError) as exc:
        raise SampleFetchError(f"cannot extract {archive.name}: {exc}") from exc


def sample_identities(
    cache_dir: str | Path | None = None, *, include_packaged: bool = True
) -> dict[str, list[Path]]:
    """An identity-folder view of the sample images: identity → image files (enrolment image first).

    Single-subject images only; the insightface group photo t1.jpg (6 unnamed people) is handled by
    :meth:`twin.recognition.faces.bank.FaceBank.from_samples`, which cuts it into faces.

    Args:
        cache_dir: the face_recognition images' folder; default :func:`default_samples_dir`.
            Missing images are left out (run ``twin samples`` to fetch them).
        include_packaged: also list the packaged astronaut (``eileen_collins``) and Tom Hanks crop.

    Returns:
        e.g. ``{"barack_obama": [obama.jpg, obama2.jpg, ...], "joe_biden": [biden.jpg],
        "eileen_collins": [astronaut.png], "tom_hanks": [Tom_Hanks_54745.png]}``.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_samples_dir()
    out: dict[str, list[Path]] = {}
    for name, identity in FR_TEST_IMAGES.items():  # dict order puts obama.jpg first
        if (folder / name).is_file():
            out.setdefault(identity, []).append(folder / name)
    if include_packaged:
        packaged = packaged_samples()
        if "astronaut" in packaged:
            out["eileen_collins"] = [packaged["astronaut"]]
        if "tom_hanks" in packaged:
            out["tom_hanks"] = [packaged["tom_hanks"]]
    return out


def link_identity_folders(
    dest: str | Path, cache_dir: str | Path | None = None, *, include_packaged: bool = True
) -> Path:
    """Materialise :func:`sample_identities` as an LFW-style tree ``dest/<identity>/<file>`` of symlinks.

    Falls back to copies where symlinks are not allowed. Returns ``dest``.
    """
    dest = Path(dest)
    for identity, files in sample_identities(cache_dir, include_packaged=include_packaged).items():
        person = dest / identity
        person.mkdir(parents=True, exist_ok=True)
        for f in files:
            target = person / f.name
            if target.exists() or target.is_symlink():
                continue
            try:
                target.symlink_to(f.resolve())
            except OSError:
                shutil.copy2(f, target)
    return dest
