"""The one way the twin writes output folders and files: atomically, and never over an existing one.

:func:`atomic_folder` writes a new folder (a run folder, a comparison folder) into a hidden
temporary folder beside its destination and renames it into place at the end, so an interrupted or
failed write leaves nothing half-written; a taken name gets ``-2``, ``-3``, ... (:func:`free_name`).
:func:`write_new_files` adds files to an existing folder (a second deployment record becomes
``record-2.*``), each written to a temporary file and renamed. :func:`check_out_dir` and
:func:`check_out_file` check an output path *before* any work, without creating anything.

Temporaries carry the writing process's id (``.tmp-<base>-<pid>-<random>``, ``.<name>.<pid>.tmp``);
the command line turns SIGTERM and SIGHUP into the same clean exit as Ctrl-C, so an error or a
signal removes them, and :func:`sweep_stale` removes those of dead processes (a ``kill -9``, a power
cut) the next time the twin writes there. Nothing but the twin's own pattern is ever touched.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from twin.errors import RunFolderError

__all__ = [
    "NewFolder",
    "atomic_folder",
    "check_out_dir",
    "check_out_file",
    "ensure_writable",
    "free_name",
    "free_stem",
    "is_run_folder",
    "sweep_stale",
    "temp_file_for",
    "write_new_files",
]

#: The twin's temporaries: ``.tmp-<base>-<pid>-<8 hex>`` folders and ``.<name>.<pid>.tmp`` files.
_TMP_FOLDER = re.compile(r"^\.tmp-.+-(\d+)-[0-9a-f]{8}$")
_TMP_FILE = re.compile(r"^\..+\.(\d+)\.tmp$")
#: Temporaries of the older pattern (no process id) are swept once older than this, s.
_LEGACY_TMP_AGE_S = 24 * 3600
_LEGACY_TMP_FOLDER = re.compile(r"^\.tmp-.+-[0-9a-f]{8}$")


def _alive(pid: int) -> bool:
    """True if a process with this id exists (or may: another user's)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def sweep_stale(folder: Path | str) -> list[Path]:
    """Remove the twin's temporaries in ``folder`` left by processes that no longer run.

    Only names of the twin's own pattern are touched (module docstring); those of a live process
    (another run writing now) are left alone. Older temporaries without a process id are removed
    once a day old.

    Returns:
        the paths removed.
    """
    folder = Path(folder)
    removed: list[Path] = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for p in entries:
        m = _TMP_FOLDER.match(p.name) if p.is_dir() else _TMP_FILE.match(p.name)
        stale = m is not None and not _alive(int(m.group(1)))
        if m is None and p.is_dir() and _LEGACY_TMP_FOLDER.match(p.name):
            try:
                stale = time.time() - p.stat().st_mtime > _LEGACY_TMP_AGE_S
            except OSError:
                stale = False
        if stale and not p.is_symlink():
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def is_run_folder(folder: Path) -> bool:
    """True for a folder the twin wrote (a run, a comparison, a validation or a stress test), where no
    new run may be nested."""
    return folder.is_dir() and any(
        (folder / n).is_file()
        for n in ("run.json", "audit.sqlite", "comparison.json", "validation.json", "stress.json")
    )


def _existing_ancestor(path: Path, what: str) -> Path:
    """The nearest existing folder at or above ``path``.

    Raises:
        RunFolderError: a file stands where a folder is needed.
    """
    probe = path
    while not probe.exists():
        if probe.is_symlink():
            raise RunFolderError(
                f"{what} {str(path)!r}: {str(probe)!r} is a link to nothing; fix or remove it"
            )
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise RunFolderError(
            f"{what} {str(path)!r}: {str(probe)!r} is a file, not a folder; choose another path"
        )
    return probe


def check_out_dir(out_dir: Path | str, *, what: str = "--out") -> Path:
    """Check, before any work and creating nothing, that run folders can be written under ``out_dir``.

    Raises:
        RunFolderError: it (or a folder above it) is a file, it is itself a run or comparison folder
            (a run would be nested inside it), or the nearest existing folder is not writable.
    """
    out_dir = Path(out_dir)
    if is_run_folder(out_dir):
        raise RunFolderError(
            f"{what} {str(out_dir)!r} is itself a run folder; give the folder that holds runs (e.g. "
            f"{str(out_dir.parent)!r}), so the new run goes beside it, not inside it"
        )
    base = _existing_ancestor(out_dir, what)
    if not os.access(base, os.W_OK | os.X_OK):
        raise RunFolderError(f"{what} {str(out_dir)!r}: cannot write in {str(base)!r}; choose another folder")
    return out_dir


def check_out_file(path: Path | str, *, what: str = "--out") -> Path:
    """Check, before any work and creating nothing, that a new file can be written at ``path``.

    Raises:
        RunFolderError: it is a folder, it already exists (the twin never overwrites its outputs), a
            file stands where a folder above it should be, or that folder is not writable.
    """
    path = Path(path)
    if path.is_dir():
        raise RunFolderError(
            f"{what} {str(path)!r} is a folder; give a file name, e.g. {path / 'model.json'}"
        )
    if path.exists() or path.is_symlink():
        raise RunFolderError(
            f"{what} {str(path)!r} exists; give a new file name (the twin never overwrites an output)"
        )
    base = _existing_ancestor(path.parent, what)
    if not os.access(base, os.W_OK | os.X_OK):
        raise RunFolderError(f"{what} {str(path)!r}: cannot write in {str(base)!r}; choose another folder")
    return path


def temp_file_for(path: Path) -> Path:
    """The temporary a new file ``path`` is written to before its rename (``.<name>.<pid>.tmp``)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


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
    """A new hidden ``.tmp-<base>-<pid>-<random>`` folder in ``out_dir`` to write into before the final
    rename.

    Raises:
        RunFolderError: the folder cannot be created.
    """
    tmp = out_dir / f".tmp-{base}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
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
        tmp: where to write now (a hidden ``.tmp-<base>-<pid>-<random>`` folder beside the destination).
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
        RunFolderError: ``out_dir`` cannot be created or written, is a file, or is a run folder.

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> with atomic_folder(d, "run") as f:
    ...     _ = (f.tmp / "a.txt").write_text("x")
    >>> f.final.name, sorted(p.name for p in d.iterdir())
    ('run', ['run'])
    """
    if is_run_folder(Path(out_dir)):
        check_out_dir(out_dir)
    out = ensure_writable(out_dir)
    sweep_stale(out)
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
    sweep_stale(folder)
    name = free_stem(folder, stem, tuple(texts))
    out = {}
    for suffix, text in texts.items():
        path = folder / f"{name}{suffix}"
        tmp = temp_file_for(path)
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.rename(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        out[suffix] = path
    return out
