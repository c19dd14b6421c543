"""The face bank: identities → recorded face images, from identity folders, the samples, or video.

A :class:`FaceBank` maps each identity to its :class:`FaceSource` records, in a stable order. The
first is the **enrolment image** (what goes on the watchlist); a **probe image** is a different
record where the identity has one, so a mated search never compares an image with itself.

Sources:

* :meth:`FaceBank.from_folder`: an identity folder (``person_name/*.jpg|png``, the LFW layout);
* :meth:`FaceBank.from_samples`: the sample photos (:mod:`twin.recognition.faces.samples`), plus, given an
  engine, the six unnamed people of insightface's group photo t1.jpg as ``t1_person_0..5``;
* :meth:`FaceBank.from_video`: every k-th frame of a video of one person, kept where a face is found.

Images are decoded lazily (:meth:`FaceBank.load`, a small in-memory cache); video frames are held in
memory. Nothing is written to disk.

Each photo is judged on its own: :meth:`FaceBank.vetted` keeps, for every identity, the images that
decode and show a face to the engine (the first of them is the enrolment image), and lists every file
left out with its reason in :attr:`FaceBank.skipped`, together with what :meth:`FaceBank.from_folder`
skipped while listing (HEIC photos, links to nothing or in a loop, hidden files, other files). An
identity whose first photo is corrupt keeps its other photos.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import ImageError, WatchlistError
from twin.recognition.engines.base import Face
from twin.recognition.faces.io import SkippedFile, read_image, scan_images

if TYPE_CHECKING:
    from twin.recognition.engines.base import FaceEngine

__all__ = ["MAX_BANK_IMAGES", "FaceBank", "FaceSource", "SkippedFile"]

logger = logging.getLogger(__name__)

_CACHE_IMAGES = 16
#: Most images a face bank may hold (vetting runs the detector on each once; ~0.1-0.7 s per photo).
MAX_BANK_IMAGES = 20_000


@dataclass(frozen=True)
class FaceSource:
    """One recorded image of one identity.

    Attributes:
        identity: who it shows.
        source: a printable reference: the file path, ``path#face=i`` for one face of a group
            photo, or ``path#frame=k`` for a video frame.
        path: the file, or None.
        face: the face in the image when already known (group photos, video frames), else None
            (the largest detected face is used).
        frame_index: the video frame number, or None.
        pixels: (H, W, 3) uint8 RGB held in memory (video frames), or None (decoded from ``path``).
    """

    identity: str
    source: str
    _: KW_ONLY
    path: Path | None = None
    face: Face | None = None
    frame_index: int | None = None
    pixels: np.ndarray | None = None


class FaceBank:
    """Identities → face sources; see the module docstring.

    Args:
        sources: identity → its sources (enrolment first).
        skipped: files left out, with why (:class:`~twin.recognition.faces.io.SkippedFile`).

    Raises:
        WatchlistError: an identity with no sources.
    """

    def __init__(
        self,
        sources: Mapping[str, Sequence[FaceSource]] | None = None,
        skipped: Sequence[SkippedFile] = (),
    ) -> None:
        self._sources: dict[str, list[FaceSource]] = {}
        self.skipped: tuple[SkippedFile, ...] = tuple(skipped)
        self._cache: OrderedDict[Path, tuple[np.ndarray, str]] = OrderedDict()
        for identity, items in (sources or {}).items():
            if not items:
                raise WatchlistError(f"identity {identity!r} has no images; drop it or add images")
            self._sources[identity] = list(items)

    # -- construction -----------------------------------------------------------------------------

    @classmethod
    def from_folder(cls, root: str | Path) -> FaceBank:
        """A bank from an identity folder: each sub-folder is one identity, its images sorted by name.

        Every entry not used is listed in :attr:`skipped` with its reason (a link to nothing or in a
        loop, a HEIC photo, an image outside any identity folder, ...); ``groups.csv`` and other files
        beside the identity folders are not images and are left alone.

        Raises:
            WatchlistError: the folder is missing, has no sub-folder with images, or holds more than
                :data:`MAX_BANK_IMAGES` images.
        """
        root = Path(root)
        if not root.is_dir():
            raise WatchlistError(f"identity folder root {root} does not exist or is not a folder")
        sources: dict[str, list[FaceSource]] = {}
        skipped: list[SkippedFile] = []
        n = 0
        for p in sorted(root.iterdir()):
            if p.name.startswith("."):
                continue
            if p.is_symlink() and not p.exists():
                skipped.append(
                    SkippedFile(str(p), "a symbolic link to nothing or in a loop; fix or remove it")
                )
            elif p.is_dir():
                files, left = scan_images(p)
                skipped.extend(left)
                if files:
                    sources[p.name] = [FaceSource(p.name, str(f), path=f) for f in files]
                    n += len(files)
                elif not left:
                    skipped.append(SkippedFile(str(p), "an empty identity folder"))
            elif p.suffix.lower() in (".jpg", ".jpeg", ".png"):
                skipped.append(
                    SkippedFile(str(p), "an image outside any identity folder; move it into person_name/")
                )
            if n > MAX_BANK_IMAGES:
                raise WatchlistError(
                    f"{root} holds more than {MAX_BANK_IMAGES:,} images; give a smaller identity folder"
                )
        if not sources:
            why = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
            raise WatchlistError(
                f"{root} has no person_name/*.jpg sub-folders with images" + (f" ({why})" if why else "")
            )
        return cls(sources, skipped)

    def vetted(self, engine: FaceEngine) -> FaceBank:
        """This bank with only the images that decode and show a face to ``engine``, judged one by one.

        The face found is kept with each source (no second detection later); an identity keeps its
        usable images in order, so a corrupt or faceless first photo hands enrolment to the next one.
        Every image left out joins :attr:`skipped` with its reason.

        Raises:
            WatchlistError: no image of any identity is usable (the message gives the first reasons).
        """
        import dataclasses

        kept: dict[str, list[FaceSource]] = {}
        skipped = list(self.skipped)
        for ident, items in self._sources.items():
            for src in items:
                try:
                    face = self.face(src, engine)
                except ImageError as exc:
                    skipped.append(SkippedFile(src.source, str(exc)))
                    continue
                kept.setdefault(ident, []).append(dataclasses.replace(src, face=face))
        if not kept:
            why = "; ".join(f"{Path(s.path).name}: {s.reason}" for s in skipped[:3])
            raise WatchlistError(
                f"no image of the face bank's {len(self._sources)} identities is usable ({why}); check the "
                "photos show one clear face"
            )
        bank = FaceBank(kept, skipped)
        bank._cache = self._cache
        return bank

    @classmethod
    def from_samples(
        cls, engine: FaceEngine | None = None, *, cache_dir: str | Path | None = None
    ) -> FaceBank:
        """A bank of the sample photos (fetched face_recognition images if present, packaged ones).

        Args:
            engine: if given, the group photo t1.jpg is cut into six identities ``t1_person_0..5``
                (ordered left to right) using this engine's detector.
            cache_dir: the fetched samples' folder (default
            :func:`twin.recognition.faces.samples.default_samples_dir`).
        """
        from twin.recognition.faces.samples import packaged_samples, sample_identities

        sources = {
            ident: [FaceSource(ident, str(p), path=p) for p in paths]
            for ident, paths in sample_identities(cache_dir).items()
        }
        t1 = packaged_samples().get("t1")
        if engine is not None and t1 is not None:
            img = read_image(t1).pixels
            faces = sorted(engine.detect(img), key=lambda f: f.box[0])
            for i, face in enumerate(faces):
                ident = f"t1_person_{i}"
                sources[ident] = [FaceSource(ident, f"{t1}#face={i}", path=t1, face=face)]
        return cls(sources)

    @classmethod
    def from_video(
        cls,
        path: str | Path,
        identity: str,
        engine: FaceEngine,
        *,
        every: int = 10,
        max_frames: int | None = None,
        min_ied_px: float = 0.0,
    ) -> FaceBank:
        """A bank of one identity from a video: every ``every``-th frame where a face is found.

        Args:
            path: a video file OpenCV can read.
            identity: who the video shows.
            engine: the detector to find the face (the largest in each sampled frame is kept).
            every: sample one frame in this many (>= 1).
            max_frames: keep at most this many frames.
            min_ied_px: skip faces smaller than this inter-eye distance, pixels.

        Raises:
            ImageError: the video cannot be opened, or no sampled frame shows a face.
        """
        import cv2

        if every < 1:
            raise ImageError(f"every {every!r} must be >= 1 (sample one frame in `every`)")
        path = Path(path)
        if not path.is_file():
            raise ImageError(f"video {path} does not exist; check the path")
        cap = cv2.VideoCapture(str(path))
        if not cap.isOpened():
            raise ImageError(f"video {path} cannot be opened by OpenCV; re-encode it (e.g. to H.264 MP4)")
        kept: list[FaceSource] = []
        index = -1
        try:
            while max_frames is None or len(kept) < max_frames:
                if not cap.grab():
                    break
                index += 1
                if index % every:
                    continue
                ok, bgr = cap.retrieve()
                if not ok or bgr is None:
                    continue
                rgb = np.ascontiguousarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
                faces = [f for f in engine.detect(rgb) if f.ied_px >= min_ied_px]
                if faces:
                    kept.append(
                        FaceSource(
                            identity,
                            f"{path}#frame={index}",
                            path=path,
                            face=faces[0],
                            frame_index=index,
                            pixels=rgb,
                        )
                    )
        finally:
            cap.release()
        if not kept:
            raise ImageError(
                f"no face found in the {index + 1} frames of {path} sampled every {every}; check the "
                "video shows a face"
            )
        logger.info("video %s: %d frames with a face (every %d of %d)", path, len(kept), every, index + 1)
        return cls({identity: kept})

    def merge(self, other: FaceBank) -> FaceBank:
        """A new bank with both banks' identities (sources of a shared identity are concatenated)."""
        merged: dict[str, list[FaceSource]] = {k: list(v) for k, v in self._sources.items()}
        for ident, items in other._sources.items():
            merged.setdefault(ident, []).extend(items)
        return FaceBank(merged, self.skipped + other.skipped)

    # -- access -----------------------------------------------------------------------------------

    @property
    def identities(self) -> tuple[str, ...]:
        """Identities, in insertion order."""
        return tuple(self._sources)

    def __len__(self) -> int:
        return len(self._sources)

    def __iter__(self) -> Iterator[str]:
        return iter(self._sources)

    def sources(self, identity: str) -> tuple[FaceSource, ...]:
        """All sources of an identity, enrolment first.

        Raises:
            WatchlistError: an unknown identity.
        """
        if identity not in self._sources:
            raise WatchlistError(
                f"identity {identity!r} is not in the face bank; known: {', '.join(self._sources)}"
            )
        return tuple(self._sources[identity])

    def enrolment_image(self, identity: str) -> FaceSource:
        """The image enrolled on a watchlist for this identity (its first source)."""
        return self.sources(identity)[0]

    def probe_image(self, identity: str, index: int = 0) -> FaceSource:
        """A probe image: the ``index``-th source other than the enrolment one, where there is one.

        With a single source, that source is returned (check :meth:`has_distinct_probe`): a
        probe rendered from the enrolment image itself overstates mated scores.
        """
        items = self.sources(identity)
        if len(items) == 1:
            return items[0]
        return items[1 + index % (len(items) - 1)]

    def has_distinct_probe(self, identity: str) -> bool:
        """True when the identity has a probe image other than its enrolment image."""
        return len(self.sources(identity)) > 1

    def load(self, src: FaceSource) -> np.ndarray:
        """The source's (H, W, 3) uint8 RGB pixels (decoded files are cached, 16 at most).

        Raises:
            ImageError: the file cannot be decoded.
        """
        if src.pixels is not None:
            return src.pixels
        if src.path is None:
            raise ImageError(f"face source {src.source} has neither pixels nor a path")
        if src.path in self._cache:
            self._cache.move_to_end(src.path)
            return self._cache[src.path][0]
        loaded = read_image(src.path)
        self._cache[src.path] = (loaded.pixels, loaded.sha256)
        while len(self._cache) > _CACHE_IMAGES:
            self._cache.popitem(last=False)
        return loaded.pixels

    def face(self, src: FaceSource, engine: FaceEngine) -> Face:
        """The face of a source: the known one, else the largest the engine detects.

        Raises:
            ImageError: no face found.
        """
        if src.face is not None:
            return src.face
        faces = engine.detect(self.load(src))
        if not faces:
            raise ImageError(f"no face found in {src.source}; use another image of {src.identity}")
        return faces[0]
