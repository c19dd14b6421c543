"""Enrolment: a watchlist filled from an identity folder (``person_name/*.jpg``, the LFW layout).

Each image is read (:func:`twin.recognition.faces.io.read_image`), its faces detected by the engine
and the largest embedded; the entry records the identity (the folder's name), the image's path and
its SHA-256. Images that cannot be read or show no face are skipped and counted
(:class:`EnrolmentReport`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twin.errors import ImageError, WatchlistError
from twin.recognition.faces.io import list_images, read_image
from twin.recognition.watchlist import Watchlist, WatchlistEntry

if TYPE_CHECKING:
    from twin.recognition.engines.base import FaceEngine

__all__ = ["EnrolmentReport", "enrol_folder"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class EnrolmentReport:
    """What :func:`enrol_folder` did.

    Attributes:
        enrolled: images enrolled (one entry each).
        identities: identities with at least one enrolled image.
        skipped: reason → count of images not enrolled ("unreadable", "no_face").
        several_faces: images with more than one face (the largest was enrolled).
        details: (path, reason) for each skipped or several-face image.
    """

    enrolled: int
    identities: int
    skipped: Mapping[str, int]
    several_faces: int
    details: tuple[tuple[str, str], ...] = ()


def enrol_folder(
    watchlist: Watchlist,
    path: str | Path,
    engine: FaceEngine,
    *,
    category: str | None = None,
    max_per_identity: int | None = None,
) -> EnrolmentReport:
    """Enrol an identity folder (``person_name/*.jpg|png``, the LFW layout) into ``watchlist``, one entry per
    image.

    Each image is decoded with :func:`twin.recognition.faces.io.read_image`; its source path and SHA-256 are
    recorded. Images that cannot be read, or show no face, are skipped and counted; with several
    faces the largest is enrolled and the image counted under ``several_faces``.

    Args:
        watchlist: the watchlist to add the entries to.
        path: the root folder; each sub-folder is one identity (its name).
        engine: a :class:`~twin.recognition.engines.base.FaceEngine` with this watchlist's ``model_id``.
        category: stored on every entry.
        max_per_identity: enrol at most this many images per identity (sorted by file name).

    Returns:
        an :class:`EnrolmentReport`.

    Raises:
        WatchlistError: the folder is missing or holds no identity sub-folders, the engine's
            model differs, or nothing at all could be enrolled.
    """
    root = Path(path)
    people = _identity_folders(root, watchlist, engine)
    skipped: Counter[str] = Counter()
    details: list[tuple[str, str]] = []
    several = 0
    embs: list[np.ndarray] = []
    entries: list[WatchlistEntry] = []
    for person in people:
        done = 0
        for f in list_images(person):
            if max_per_identity is not None and done >= max_per_identity:
                break
            entry = _enrol_image(f, person.name, engine, category, skipped, details)
            if entry is None:
                continue
            if entry[2] > 1:
                several += 1
            embs.append(entry[0])
            entries.append(entry[1])
            done += 1
    if not entries:
        raise WatchlistError(
            f"no image under {root} could be enrolled ({dict(skipped)}); check the images show one clear face"
        )
    watchlist.add(np.vstack(embs), entries)
    report = EnrolmentReport(
        enrolled=len(entries),
        identities=len({e.identity for e in entries}),
        skipped=dict(skipped),
        several_faces=several,
        details=tuple(details),
    )
    logger.info(
        "enrolled %d images of %d identities from %s; skipped %s",
        report.enrolled,
        report.identities,
        root,
        dict(skipped),
    )
    return report


def _identity_folders(root: Path, watchlist: Watchlist, engine: FaceEngine) -> list[Path]:
    """The identity sub-folders of ``root``, sorted, after checking the engine fits the watchlist."""
    if not root.is_dir():
        raise WatchlistError(
            f"identity folder root {root} does not exist or is not a folder; pass person_name/*.jpg's parent"
        )
    if engine.model_id != watchlist.model_id or int(engine.dim) != watchlist.dim:
        raise WatchlistError(
            f"engine {engine.model_id} ({engine.dim}-d) does not match this watchlist "
            f"({watchlist.model_id}, {watchlist.dim}-d)"
        )
    people = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not people:
        raise WatchlistError(
            f"{root} has no identity sub-folders; lay it out as {root}/<person_name>/<image>.jpg"
        )
    return people


def _enrol_image(
    f: Path,
    identity: str,
    engine: FaceEngine,
    category: str | None,
    skipped: Counter[str],
    details: list[tuple[str, str]],
) -> tuple[np.ndarray, WatchlistEntry, int] | None:
    """(embedding of the largest face, its entry, faces found) of one image, or None (counted in
    ``skipped``)."""
    try:
        loaded = read_image(f)
    except ImageError as exc:
        skipped["unreadable"] += 1
        details.append((str(f), f"unreadable: {exc}"))
        return None
    faces = engine.detect(loaded.pixels)
    if not faces:
        skipped["no_face"] += 1
        details.append((str(f), "no_face"))
        return None
    if len(faces) > 1:
        details.append((str(f), f"several_faces: {len(faces)}, largest enrolled"))
    largest = max(faces, key=lambda fc: (fc.box[2] - fc.box[0]) * (fc.box[3] - fc.box[1]))
    emb = engine.embed(loaded.pixels, [largest])[0]
    return emb, WatchlistEntry(identity, str(f), sha256=loaded.sha256, category=category), len(faces)
