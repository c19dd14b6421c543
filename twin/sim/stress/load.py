"""The stress test's offered load: frames with faces per camera, from the twin's crowd model or a video.

:func:`frame_schedule` turns replication 0's person x camera tracks (:mod:`twin.sim.replication`) into
the frames a camera delivers while someone usable is in view. A track with ``usable_captures`` = k
gives its face to k consecutive frames of its camera (at the camera's ``fps``, centred on
``t_best_s``), with the best capture's geometry (ied_px, yaw_deg, blur_px, u_px, v_px) in each: the
crowd model keeps the best capture and the count per person and camera, not every frame (DESIGN.md,
Crowd), so this is an approximation of the per-frame geometry, not of the arrival rate. Frames of one
camera holding the same frame index are one frame with several faces.

:class:`SyntheticSource` composes each frame from rendered probes of the face bank (as ``twin run``
does, :mod:`twin.sim.realpass`) on a street background; :class:`VideoSource` decodes the frames of a
recorded video (OpenCV), faces as they are. The supervisor composes or decodes from them just ahead of
dispatch (the cameras' work, not the pipeline's: :mod:`twin.sim.stress.frames`, timed as ``compose_s``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import ImageError

__all__ = [
    "FRAME_FIELDS",
    "MAX_FACES_PER_FRAME",
    "FrameSchedule",
    "SyntheticSource",
    "VideoSource",
    "frame_schedule",
    "thin_tracks",
]

#: Most faces composed into one frame (as :data:`twin.sim.realpass.MAX_FACES_PER_FRAME`).
MAX_FACES_PER_FRAME: int = 12
#: Columns of :attr:`FrameSchedule.frames`, held once.
FRAME_FIELDS: tuple[str, ...] = ("frame", "camera", "t_s", "n_faces")


@dataclass(frozen=True, kw_only=True)
class FrameSchedule:
    """When each frame with faces arrives, per camera, and which tracks it holds.

    Attributes:
        frames: one row per frame, sorted by ``t_s``: ``frame`` (int, 0..F-1 in arrival order),
            ``camera`` (int, index into ``camera_ids``), ``t_s`` (float, seconds since the window
            start), ``n_faces`` (int, faces placed in it).
        members: per frame, the track rows (indices into the track table) whose face it holds.
        camera_ids: the camera ids, by index.
        duration_s: the window length, s.
    """

    frames: pd.DataFrame
    members: tuple[tuple[int, ...], ...]
    camera_ids: tuple[str, ...]
    duration_s: float

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def faces(self) -> int:
        """Faces in all frames."""
        return int(self.frames["n_faces"].sum())

    def offered_frames_per_s(self) -> float:
        """Frames with faces per second of the window, all cameras together."""
        return len(self) / self.duration_s if self.duration_s > 0 else 0.0


def frame_schedule(
    tracks: pd.DataFrame,
    *,
    fps: list[float] | tuple[float, ...],
    camera_ids: list[str] | tuple[str, ...],
    duration_s: float,
    max_faces: int = MAX_FACES_PER_FRAME,
) -> FrameSchedule:
    """The frames with faces of a track table (see the module docstring).

    Args:
        tracks: person x camera tracks with ``camera`` (int), ``usable_captures`` (int), ``t_best_s`` (s);
            rows with no usable capture are skipped.
        fps: frames per second of each camera (the processing rate; DESIGN.md default 10).
        camera_ids: the cameras' ids (same order as ``fps``).
        duration_s: window length, s; frames at or after it are left out.
        max_faces: most faces in one frame; a frame would-be fuller keeps the first ``max_faces`` tracks.

    Returns:
        :class:`FrameSchedule`.

    Three captures centred on 1.0 s at 10 fps, and one at 1.1 s, on one camera:

    >>> t = pd.DataFrame({"camera": [0, 0], "usable_captures": [3, 1], "t_best_s": [1.0, 1.1]})
    >>> s = frame_schedule(t, fps=[10.0], camera_ids=["c"], duration_s=5.0)
    >>> s.frames["t_s"].round(2).tolist(), [list(m) for m in s.members]
    ([0.9, 1.0, 1.1], [[0], [0], [0, 1]])
    """
    cams, counts, times, rows = [], [], [], []
    for i, (cam, k, tb) in enumerate(
        zip(
            tracks["camera"].to_numpy(int),
            tracks["usable_captures"].to_numpy(int),
            tracks["t_best_s"].to_numpy(float),
            strict=True,
        )
    ):
        if k <= 0 or not math.isfinite(tb):
            continue
        dt = 1.0 / float(fps[cam])
        idx0 = int(round(tb / dt - (k - 1) / 2.0))
        for j in range(k):
            cams.append(cam)
            counts.append(idx0 + j)
            times.append((idx0 + j) * dt)
            rows.append(i)
    by_frame: dict[tuple[int, int], list[int]] = {}
    when: dict[tuple[int, int], float] = {}
    for cam, idx, t, r in zip(cams, counts, times, rows, strict=True):
        if not 0.0 <= t < duration_s:
            continue
        key = (cam, idx)
        lst = by_frame.setdefault(key, [])
        if len(lst) < max_faces:
            lst.append(r)
        when[key] = t
    keys = sorted(by_frame, key=lambda k: (when[k], k[0]))
    frames = pd.DataFrame(
        {
            "frame": np.arange(len(keys), dtype=np.int64),
            "camera": np.array([k[0] for k in keys], np.int64),
            "t_s": np.array([when[k] for k in keys], np.float64),
            "n_faces": np.array([len(by_frame[k]) for k in keys], np.int64),
        }
    )
    return FrameSchedule(
        frames=frames,
        members=tuple(tuple(by_frame[k]) for k in keys),
        camera_ids=tuple(camera_ids),
        duration_s=float(duration_s),
    )


def thin_tracks(tracks: pd.DataFrame, share: float, rng: np.random.Generator) -> pd.DataFrame:
    """Keep each person's tracks with probability ``share`` (Poisson thinning: footfall x share).

    Arrivals are a non-homogeneous Poisson process (DESIGN.md, Crowd): thinning it by persons gives the
    process at ``share`` times the footfall, with the same walking and capture geometry.
    """
    if share >= 1.0:
        return tracks
    persons = np.unique(tracks["person"].to_numpy())
    keep = persons[rng.random(len(persons)) < share]
    return tracks[tracks["person"].isin(keep)].reset_index(drop=True)


@dataclass(kw_only=True)
class SyntheticSource:
    """Frames composed from rendered probes on a street background (by the stress supervisor).

    Attributes:
        probes: per track row, its :class:`~twin.recognition.faces.render.RenderedProbe` (None: not rendered).
        positions: per track row, the (u_px, v_px) of its eye midpoint in the frame.
        members: per frame, the track rows it holds (:attr:`FrameSchedule.members`).
        frame_camera: per frame, its camera index.
        sizes: per camera, (width_px, height_px).
        seed: seeds each camera's background (:func:`~twin.recognition.faces.compose.street_background`).
        persons: per track row, the simulated person.
    """

    probes: list[Any]
    positions: list[tuple[float, float]]
    members: tuple[tuple[int, ...], ...]
    frame_camera: tuple[int, ...]
    sizes: tuple[tuple[int, int], ...]
    seed: int
    persons: tuple[int, ...]
    _backgrounds: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_backgrounds"] = {}
        return state

    def frame(self, frame: int) -> tuple[np.ndarray, list[int], np.ndarray]:
        """(image (H, W, 3) uint8, track rows placed, (n, 4) float32 boxes of the placed faces)."""
        from twin.recognition.faces.compose import compose_frame, street_background

        cam = self.frame_camera[frame]
        bg = self._backgrounds.get(cam)
        if bg is None:
            rng = np.random.default_rng([self.seed, cam])
            bg = self._backgrounds[cam] = street_background(self.sizes[cam], rng=rng)
        rows = [r for r in self.members[frame] if self.probes[r] is not None]
        composed = compose_frame(
            [self.probes[r] for r in rows],
            [self.positions[r] for r in rows],
            background=bg,
            rng=np.random.default_rng(0),  # unused: a background is given
        )
        return composed.frame, [rows[j] for j in composed.placed], composed.boxes

    def wipe(self) -> None:
        """Zero every rendered probe (they show faces of simulated passers-by) and drop the backgrounds."""
        for p in self.probes:
            if p is not None and p.patch.flags.writeable:
                p.patch[...] = 0
        self._backgrounds.clear()


@dataclass(kw_only=True)
class VideoSource:
    """Frames of a recorded video (OpenCV), decoded by the stress supervisor; faces as they are.

    Attributes:
        path: the video file.
        frame_index: per stress frame, the video frame it is (several cameras may replay one video).
    """

    path: Path
    frame_index: tuple[int, ...]
    _cap: Any = field(default=None, repr=False)
    _next: int = field(default=-1, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cap"], state["_next"] = None, -1
        return state

    def frame(self, frame: int) -> tuple[np.ndarray, list[int], np.ndarray]:
        """(image (H, W, 3) uint8 RGB, [], empty boxes): a video has no ground truth.

        Raises:
            ImageError: the frame cannot be decoded.
        """
        import cv2

        want = self.frame_index[frame]
        if self._cap is None:
            self._cap = cv2.VideoCapture(str(self.path))
            self._next = 0
        if want != self._next:
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, want)
        ok, bgr = self._cap.read()
        if not ok or bgr is None:
            raise ImageError(f"frame {want} of {self.path} cannot be decoded")
        self._next = want + 1
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), [], np.zeros((0, 4), np.float32)

    def wipe(self) -> None:
        """Release the decoder."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
