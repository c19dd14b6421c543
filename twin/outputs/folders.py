"""The one way the twin writes output folders and files: atomically, and never over an existing one.

:func:`atomic_folder` writes a new folder (a run folder, a comparison folder) into a hidden
temporary folder beside its destination and renames it into place at the end, so an interrupted or
failed write leaves nothing half-written; a taken name gets ``-2``, ``-3``, ... (:func:`free_name`).
:func:`write_new_files` adds files to an existing folder (a second deployment record becomes
``record-2.*``), each written to a temporary file and renamed.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from twin.errors import RunFolderError

__all__ = ["NewFolder", "atomic_folder", "ensure_writable", "free_name", "free_stem", "write_new_files"]


def ensure_writable(out_dir: Path | str) -> Path:
    """Create ``out_dir`` if needed and prove a file can be written there (before a long run).

    Raises:
        RunFolderError: it is a file, lies under a file, or is not writable.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".write-test-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"")
        probe.unlink()
    except (OSError, NotADirectoryError, FileExistsError) as exc:
        raise RunFolderError(
            f"cannot write run folders in {str(out_dir)!r} ({getattr(exc, 'strerror', None) or exc}); "
            "choose another with --out"
        ) from exc
    return out_dir


def make_temp_folder(out_dir: Path, base: str) -> Path:
    """A new hidden ``.tmp-<base>-<random>`` folder in ``out_dir`` to write into before the final rename.

    Raises:
        RunFolderError: the folder cannot be created.
    """
    tmp = out_dir / f".tmp-{base}-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
    except OSError as exc:
        raise RunFolderError(
            f"cannot write in {str(out_dir)!r} ({exc.strerror}); choose another folder with --out"
        ) from exc
    return tmp


def free_name(out_dir: Path, base: str) -> Path:
    """``out_dir / base``, or ``base-2``, ``base-3``, ... if taken: a folder is never overwritten.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "run").mkdir()
    >>> free_name(d, "run").name, free_name(d, "new").name
    ('run-2', 'new')
    """
    final, k = out_dir / base, 2
    while final.exists():
        final, k = out_dir / f"{base}-{k}", k + 1
    return final


@dataclass
class NewFolder:
    """A folder being written by :func:`atomic_folder`.

    Attributes:
        tmp: where to write now (a hidden ``.tmp-<base>-<random>`` folder beside the destination).
        final: where it will be renamed to (a free name when the write began; re-checked at the end).
    """

    tmp: Path
    final: Path


@contextmanager
def atomic_folder(out_dir: Path | str, base: str) -> Iterator[NewFolder]:
    """Write a new folder ``out_dir/base`` atomically; yields a :class:`NewFolder` to write into.

    On leaving the block the temporary folder is renamed to ``final`` (or to the next free name if
    another process took it meanwhile; ``final`` is updated); on an error it is removed.

    Raises:
        RunFolderError: ``out_dir`` cannot be created or written, or is a file.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_folder(d, "run") as f:
    ...     _ = (f.tmp / "a.txt").write_text("x")
    >>> f.final.name, sorted(p.name for p in d.iterdir())
    ('run', ['run'])
    """
    out = ensure_writable(out_dir)
    tmp = make_temp_folder(out, base)
    folder = NewFolder(tmp=tmp, final=free_name(out, base))
    try:
        yield folder
        if folder.final.exists():  # taken meanwhile by another process
            folder.final = free_name(out, base)
        os.rename(tmp, folder.final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def free_stem(folder: Path, stem: str, suffixes: tuple[str, ...]) -> str:
    """``stem``, or ``stem-2``, ``stem-3``, ... so that no ``<stem><suffix>`` exists in ``folder``.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); _ = (d / "record.html").write_text("x")
    >>> free_stem(d, "record", (".json", ".html"))
    'record-2'
    """
    name, k = stem, 2
    while any((folder / f"{name}{s}").exists() for s in suffixes):
        name, k = f"{stem}-{k}", k + 1
    return name


def write_new_files(folder: Path, stem: str, texts: Mapping[str, str]) -> dict[str, Path]:
    """Add ``<stem'><suffix>`` files to ``folder`` (``stem'`` from :func:`free_stem`), each written
    atomically.

    Args:
        folder: an existing folder.
        stem: the files' name without suffix.
        texts: suffix (``.json``) -> text (UTF-8).

    Returns:
        suffix -> the path written.
    """
    name = free_stem(folder, stem, tuple(texts))
    out = {}
    for suffix, text in texts.items():
        path = folder / f"{name}{suffix}"
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.rename(path)
        out[suffix] = path
    return out
