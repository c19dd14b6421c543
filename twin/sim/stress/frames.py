"""Ready frames for the stress pool: composed (or decoded) by the load generator, handed to the workers.

Composing a frame from the face bank, or decoding a video frame, is the cameras' work, not the pipeline's:
the supervisor (:mod:`twin.sim.stress.pool`) composes the next frames to be dispatched ahead of the
workers (a bounded prefetch: at most :attr:`FrameStore.limit` frames held at once) and keeps each in
a shared-memory block (processes) or an array (threads); a worker maps it without a copy or a pickle
(:func:`open_frame`), runs the pipeline on it, zeroes it, and the supervisor zeroes and unlinks the
block once the frame is decided, dropped or failed. Nothing of a frame touches a disk: POSIX shared
memory lives in RAM (``/dev/shm``), and every block is zeroed before it is unlinked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing import shared_memory
from typing import Any

import numpy as np

__all__ = ["FrameRef", "FrameStore", "open_frame"]


@dataclass(frozen=True, kw_only=True)
class FrameRef:
    """What a worker gets for one frame (picklable when ``array`` is None).

    Attributes:
        frame: the frame number.
        rows: the track rows whose faces were placed in it (empty for a video).
        boxes: (n, 4) float32 boxes of those faces, pixels.
        shape: (H, W, 3) of the image.
        shm_name: the shared-memory block holding it (processes), or None.
        array: the image itself (threads), or None.
    """

    frame: int
    rows: tuple[int, ...]
    boxes: np.ndarray
    shape: tuple[int, int, int]
    shm_name: str | None = None
    array: np.ndarray | None = None


class FrameStore:
    """The supervisor's composed frames (see the module docstring).

    Args:
        source: a :class:`~twin.sim.stress.load.SyntheticSource`, ``VideoSource`` or a fake with
            ``frame(f) -> (image (H, W, 3) uint8, rows, boxes)``.
        shared: keep frames in shared memory (a process pool) rather than as arrays (a thread pool).
        limit: most frames held at once (the prefetch bound, >= 1).
    """

    def __init__(self, source: Any, *, shared: bool, limit: int) -> None:
        self.source = source
        self.shared = shared
        self.limit = max(1, int(limit))
        self.refs: dict[int, FrameRef] = {}
        self._shm: dict[int, shared_memory.SharedMemory] = {}
        self.compose_s: dict[int, float] = {}

    def __contains__(self, frame: int) -> bool:
        return frame in self.refs

    def __len__(self) -> int:
        return len(self.refs)

    def full(self) -> bool:
        """Whether the prefetch bound is reached."""
        return len(self.refs) >= self.limit

    def compose(self, frame: int) -> FrameRef:
        """Compose (or decode) a frame and keep it; its seconds go to :attr:`compose_s`.

        Raises:
            ImageError: the source cannot give the frame.
        """
        t0 = time.perf_counter()
        img, rows, boxes = self.source.frame(frame)
        img = np.ascontiguousarray(img, dtype=np.uint8)
        shape = (int(img.shape[0]), int(img.shape[1]), int(img.shape[2]) if img.ndim == 3 else 1)
        if self.shared:
            shm = shared_memory.SharedMemory(create=True, size=max(1, img.nbytes))
            np.ndarray(img.shape, np.uint8, buffer=shm.buf)[...] = img
            img[...] = 0  # the composed original: only the shared copy is left
            self._shm[frame] = shm
            ref = FrameRef(frame=frame, rows=tuple(rows), boxes=np.asarray(boxes, np.float32), shape=shape,
                           shm_name=shm.name)  # fmt: skip
        else:
            ref = FrameRef(frame=frame, rows=tuple(rows), boxes=np.asarray(boxes, np.float32), shape=shape,
                           array=img)  # fmt: skip
        self.refs[frame] = ref
        self.compose_s[frame] = time.perf_counter() - t0
        return ref

    def free(self, frame: int) -> None:
        """Zero and release a frame (decided, dropped or failed); nothing if it was never composed."""
        ref = self.refs.pop(frame, None)
        if ref is None:
            return
        if ref.array is not None and ref.array.flags.writeable:
            ref.array[...] = 0
        shm = self._shm.pop(frame, None)
        if shm is not None:
            np.ndarray((shm.size,), np.uint8, buffer=shm.buf)[...] = 0
            shm.close()
            shm.unlink()

    def close(self) -> None:
        """Free every frame still held."""
        for f in list(self.refs):
            self.free(f)


def open_frame(ref: FrameRef) -> tuple[np.ndarray, Any]:
    """A worker's view of a ready frame, and the handle to close once done (None for an array).

    The view is writable: the worker zeroes it as soon as the frame is decided.
    """
    if ref.array is not None:
        return ref.array, None
    assert ref.shm_name is not None
    shm = _attach(ref.shm_name)
    img = np.ndarray(ref.shape if ref.shape[2] != 1 else ref.shape[:2], np.uint8, buffer=shm.buf)
    return img, shm


def _attach(name: str) -> shared_memory.SharedMemory:
    """Attach to the supervisor's block. A ``spawn``-ed worker shares its parent's resource tracker
    (multiprocessing passes the tracker's fd), so the block registered on attach is the one the
    supervisor unregisters when it unlinks it: nothing leaks, nothing is unlinked twice."""
    return shared_memory.SharedMemory(name=name)
