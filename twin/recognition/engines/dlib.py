"""The embedded default real engine: dlib HOG detector, 5-point landmarks and the ResNet 128-d embedding.

Packages ``dlib-bin`` (a prebuilt dlib wheel) and ``face-recognition-models`` (the weight files).
The weights are located with :func:`importlib.util.find_spec`, never by importing
``face_recognition_models`` (its ``__init__`` needs ``pkg_resources``, gone from current
setuptools; reference/face_engine.md §3). Nothing is downloaded.

Model: dlib's ``dlib_face_recognition_resnet_model_v1`` (King 2017, "High quality face recognition
with deep metric learning", dlib.net blog; a ResNet-34-like network trained with a metric loss on
~3 million faces). Score: cosine of the L2-normalised 128-d descriptors. On this machine's sample
photos (reference/face_engine.md §4) same-person pairs score 0.952–0.986 and different people
≤ 0.906 (median 0.831); dlib's customary raw-L2 cut of 0.6 corresponds to a cosine near 0.93,
which is the default threshold here.

Cost on 2 cores (face_engine.md §3): loading 0.3–0.5 s (cached per process); HOG 95 ms (upsample 0)
or 411 ms (upsample 1) per 1280×886 frame; dlib's plain HOG call releases the GIL, so frames can
be detected in threads (its score-returning call does not: see ``det_scores``); landmarks
0.5 ms/face; ResNet 74–81 ms/face, single-threaded and holding the GIL, so ``embed_workers > 1``
spreads large batches over worker processes.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np

from twin.errors import EngineError, EngineUnavailableError
from twin.recognition.engines.base import Face
from twin.recognition.faces.io import check_rgb

__all__ = [
    "ARCFACE_5PT_112",
    "DLIB_MODEL_FILES",
    "DlibEngine",
    "dlib_weights_dir",
    "upsample_for_ied",
]

logger = logging.getLogger(__name__)

#: Weight files used, inside ``face_recognition_models/models/``.
DLIB_MODEL_FILES: dict[str, str] = {
    "landmarks": "shape_predictor_5_face_landmarks.dat",
    "resnet": "dlib_face_recognition_resnet_model_v1.dat",
}

#: Reference 5-point layout of a 112×112 aligned face (right eye, left eye, nose tip, right and
#: left mouth corner, in pixels), from insightface ``utils/face_align.py`` (``arcface_dst``).
#: Used to place the two mouth corners that dlib's 5-point model does not give.
ARCFACE_5PT_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)

#: dlib's face chip: 150×150 px with 25% padding (what ``compute_face_descriptor`` uses internally).
CHIP_SIZE_PX = 150
CHIP_PADDING = 0.25

#: Fewest faces in one :meth:`DlibEngine.embed_batch` call worth sending to worker processes
#: (a round trip costs ~5 ms against ~80 ms per face).
MIN_FACES_FOR_WORKERS = 4

_BROKEN_POOL = (
    "a dlib embedding worker process died; worker processes are started with the 'spawn' method, so a "
    'script using embed_workers > 1 must guard its entry point with `if __name__ == "__main__":`; '
    "or use embed_workers=1"
)


def upsample_for_ied(ied_px: float) -> int:
    """HOG upsample count for faces of a given inter-eye distance.

    From reference/face_engine.md §4 (faces found out of 6, t1.jpg pasted in a 1080p frame):
    upsample 0 finds all faces at ≥ 30 px IED, upsample 1 at ≥ 15 px, upsample 2 finds 5/6 at 10 px.

    Args:
        ied_px: expected inter-eye distance of the faces to find, pixels (> 0).

    Returns:
        0, 1 or 2.

    Raises:
        EngineError: ied_px is not a positive finite number.

    >>> [upsample_for_ied(x) for x in (40, 30, 20, 15, 10)]
    [0, 0, 1, 1, 2]
    """
    if not (isinstance(ied_px, int | float) and math.isfinite(ied_px) and ied_px > 0):
        raise EngineError(f"expected_ied_px {ied_px!r} must be a positive number of pixels, e.g. 30")
    if ied_px >= 30:
        return 0
    if ied_px >= 15:
        return 1
    return 2


def dlib_weights_dir() -> Path:
    """Folder holding the dlib weight files, found without importing face_recognition_models.

    Raises:
        EngineUnavailableError: the package is not installed or lacks a weight file.
    """
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise EngineUnavailableError(
            "the dlib engine needs the weights package face-recognition-models; "
            "install it with `pip install face-recognition-models==0.3.0`"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    missing = [f for f in DLIB_MODEL_FILES.values() if not (folder / f).is_file()]
    if missing:
        raise EngineUnavailableError(
            f"dlib weight files {missing} are missing from {folder}; reinstall with "
            "`pip install --force-reinstall face-recognition-models==0.3.0`"
        )
    return folder


@dataclass(frozen=True)
class _Models:
    detector: Any  # dlib.fhog_object_detector
    landmarks: Any  # dlib.shape_predictor
    resnet: Any  # dlib.face_recognition_model_v1
    owner: int  # the thread that loaded them: the only one that may scan with ``detector``
    lock: Any  # threading.RLock held while ``resnet`` runs: every engine of the process shares it


_CACHE: dict[Path, _Models] = {}
_CACHE_LOCK = threading.Lock()


def _import_dlib() -> Any:
    try:
        import dlib
    except ImportError as exc:
        raise EngineUnavailableError(
            f"the dlib engine needs dlib ({exc}); install the prebuilt wheel with `pip install dlib-bin`"
        ) from exc
    return dlib


def _load_models(folder: Path) -> _Models:
    """Load (once per process and folder) the HOG detector, 5-point predictor and ResNet."""
    with _CACHE_LOCK:
        if folder not in _CACHE:
            dlib = _import_dlib()
            try:
                _CACHE[folder] = _Models(
                    detector=dlib.get_frontal_face_detector(),
                    landmarks=dlib.shape_predictor(str(folder / DLIB_MODEL_FILES["landmarks"])),
                    resnet=dlib.face_recognition_model_v1(str(folder / DLIB_MODEL_FILES["resnet"])),
                    owner=threading.get_ident(),
                    lock=threading.RLock(),
                )
            except RuntimeError as exc:
                raise EngineUnavailableError(
                    f"dlib could not load the weights in {folder} ({exc}); reinstall face-recognition-models"
                ) from exc
            logger.debug("loaded dlib models from %s", folder)
        return _CACHE[folder]


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform (Umeyama 1991) mapping src (K, 2) onto dst (K, 2); (2, 3)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, 1.0 if np.linalg.det(u @ vt) >= 0 else -1.0])
    rot = u @ sign @ vt
    var = (s**2).sum() / len(src)
    scale = float((sig * np.diag(sign)).sum() / var) if var > 0 else 1.0
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def dlib5_to_kps(points: np.ndarray) -> np.ndarray:
    """Convert dlib's 5 landmarks to :class:`~twin.recognition.engines.base.Face` ``kps`` order.

    dlib's ``shape_predictor_5_face_landmarks`` gives: 0, 1 the subject's left eye (outer, inner
    corner; image right), 2, 3 the subject's right eye (outer, inner; image left), 4 the base of the
    nose. ``kps`` wants right eye, left eye, nose tip, right and left mouth corner. Eye centres are
    the corner midpoints; the nose is point 4; the mouth corners, which dlib does not give, are
    placed by a similarity fit of :data:`ARCFACE_5PT_112`'s eyes and nose onto the observed ones.

    Args:
        points: (5, 2) dlib landmarks in pixels.

    Returns:
        (5, 2) float32 kps in pixels.
    """
    p = np.asarray(points, dtype=np.float64)
    right_eye = (p[2] + p[3]) / 2
    left_eye = (p[0] + p[1]) / 2
    nose = p[4]
    observed = np.stack([right_eye, left_eye, nose])
    m = _similarity(ARCFACE_5PT_112[:3], observed)
    mouth = ARCFACE_5PT_112[3:] @ m[:, :2].T + m[:, 2]
    return np.vstack([observed, mouth]).astype(np.float32)


def _rect(dlib: Any, box: tuple[float, float, float, float]) -> Any:
    x0, y0, x1, y1 = box
    return dlib.rectangle(round(x0), round(y0), max(round(x0), round(x1) - 1), max(round(y0), round(y1) - 1))


def _descriptors(resnet: Any, chips: list[np.ndarray]) -> np.ndarray:
    """(len(chips), 128) float32 L2-normalised descriptors of 150×150 dlib chips.

    dlib's own descriptor vectors and the raw (unnormalised) copy are zeroed before they are released:
    only the returned array, which the caller zeroes once searched, holds the faces' descriptors.
    """
    if not chips:
        return np.zeros((0, 128), np.float32)
    vectors = resnet.compute_face_descriptor(chips)
    raw = np.asarray(vectors, dtype=np.float32).reshape(len(chips), 128)
    for v in vectors:  # dlib.vector: zero in place, element by element (no buffer interface)
        for i in range(len(v)):
            v[i] = 0.0
    norms = np.linalg.norm(raw, axis=1, keepdims=True)
    out = raw / np.maximum(norms, 1e-12)
    raw[...] = 0.0
    return out


def _worker_main(conn: Connection, folder: str) -> None:
    """Worker-process loop: receive lists of chips, send back descriptors; ``None`` stops it.

    Chips and descriptors only travel through the pipe; nothing is written to disk.
    """
    resnet = _load_models(Path(folder)).resnet
    while True:
        try:
            chips = conn.recv()
        except EOFError:
            return
        if chips is None:
            return
        desc = _descriptors(resnet, chips)
        conn.send(desc)
        desc[...] = 0.0  # this process's copies of the faces: gone once sent
        for c in chips:
            c[...] = 0


class DlibEngine:
    """dlib HOG + 5-point landmarks + ResNet 128-d; implements
    :class:`~twin.recognition.engines.base.FaceEngine`.

    Args:
        upsample: HOG upsample count (0, 1 or 2). Overrides ``expected_ied_px``.
        expected_ied_px: inter-eye distance of the faces to find, pixels; picks the upsample with
            :func:`upsample_for_ied`. With neither given, upsample 1 (finds faces down to ~15 px IED,
            face_engine.md §6; on the 512×512 astronaut it adds a weak false detection, score 0.12).
        det_adjust: HOG score offset; detections scoring below it are dropped (0 = dlib's default;
            raise it, e.g. to 0.3, to drop weak false detections).
        det_scores: return the HOG SVM margin as ``Face.det_score``. dlib's scoring call
            (``run``) holds the GIL, its plain call releases it; with False, ``det_score`` is NaN
            (not computed) and frames detected in parallel threads really run in parallel
            (measured 1.8× on 2 cores; the pipeline's batched path relies on it).
        embed_workers: processes sharing a large embedding batch (the calling process counts as
            one). The ResNet is single-threaded and holds the GIL; 2 on a 2-core machine nearly
            doubles :meth:`embed_batch` throughput. Each worker loads the weights once (~0.5 s).
            Workers are started with the 'spawn' method: a script must guard its entry point
            with ``if __name__ == "__main__":``. Call :meth:`close` (or use ``with``) to stop them.

    Attributes:
        model_id: ``"dlib-resnet-v1"``.
        score_name: how the score is defined.
        score_range: (-1.0, 1.0), cosine.
        default_threshold: 0.93 (cosine; ≈ raw L2 0.6; face_engine.md §4).
        dim: 128.
        upsample: the HOG upsample in use.

    Raises:
        EngineUnavailableError: dlib or the weight files are missing.
        EngineError: a bad option value.
    """

    model_id: str = "dlib-resnet-v1"
    score_name: str = "cosine of L2-normalised 128-d descriptors"
    score_range: tuple[float, float] = (-1.0, 1.0)
    default_threshold: float = 0.93
    dim: int = 128

    def __init__(
        self,
        *,
        upsample: int | None = None,
        expected_ied_px: float | None = None,
        det_adjust: float = 0.0,
        det_scores: bool = True,
        embed_workers: int = 1,
    ) -> None:
        if upsample is not None:
            if not isinstance(upsample, int) or isinstance(upsample, bool) or not 0 <= upsample <= 3:
                raise EngineError(
                    f"upsample {upsample!r} must be 0, 1, 2 or 3 (each doubles the frame size and ~4× "
                    "the cost)"
                )
            self.upsample = upsample
        elif expected_ied_px is not None:
            self.upsample = upsample_for_ied(expected_ied_px)
        else:
            self.upsample = 1
        if not math.isfinite(det_adjust):
            raise EngineError(f"det_adjust {det_adjust!r} must be a finite HOG score offset, e.g. 0.0")
        if not isinstance(embed_workers, int) or embed_workers < 1:
            raise EngineError(f"embed_workers {embed_workers!r} must be an integer >= 1")
        if not det_scores and det_adjust != 0.0:
            raise EngineError(
                "det_adjust needs det_scores=True (dlib's scoring detector call); drop one of them"
            )
        self.det_adjust = float(det_adjust)
        self.det_scores = bool(det_scores)
        self.embed_workers = embed_workers
        self._dlib = _import_dlib()
        self._folder = dlib_weights_dir()
        self._models = _load_models(self._folder)
        self._workers: list[Connection] = []
        self._procs: list[Any] = []
        self._local = threading.local()
        # the ResNet (and this engine's worker pipes) are shared by every engine of the process
        self._embed_lock = self._models.lock

    def _thread_models(self) -> tuple[Any, Any]:
        """(HOG detector, 5-point predictor) for the calling thread.

        dlib's HOG scanner keeps scratch state in the detector object: two threads sharing one
        corrupt the heap (measured here: ``free(): corrupted unsorted chunks``). Each thread other
        than the one that loaded the process's cached models gets its own pair on first use (~0.45 s,
        once per thread): two engines built in two threads share that cache, so the cache's loading
        thread, not the engine's constructing one, owns its detector (two stress worker threads that
        each built an engine crashed with a segfault when both scanned with the cached one).
        """
        if threading.get_ident() == self._models.owner:
            return self._models.detector, self._models.landmarks
        pair = getattr(self._local, "pair", None)
        if pair is None:
            pair = (
                self._dlib.get_frontal_face_detector(),
                self._dlib.shape_predictor(str(self._folder / DLIB_MODEL_FILES["landmarks"])),
            )
            self._local.pair = pair
        return pair

    # -- protocol ---------------------------------------------------------------------------------

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an image, largest first.

        Args:
            image: (H, W, 3) uint8 RGB.

        Returns:
            list of :class:`Face`: box (x0, y0, x1, y1) in pixels with exclusive ends, kps (5, 2)
            float32 (mouth corners estimated, see :func:`dlib5_to_kps`), det_score = HOG SVM margin
            (NaN with ``det_scores=False``).
            Thread-safe (each thread scans with its own detector, see :meth:`_thread_models`);
            with ``det_scores=False`` dlib releases the GIL while scanning, so frames detected in
            parallel threads run in parallel.

        Raises:
            ImageError: the array is not (H, W, 3) uint8.
        """
        img = check_rgb(image)
        detector, landmarks = self._thread_models()
        if self.det_scores:
            rects, scores, _ = detector.run(img, self.upsample, self.det_adjust)  # holds the GIL
        else:
            rects = detector(img, self.upsample)  # releases the GIL
            scores = [math.nan] * len(rects)
        faces = []
        for rect, score in zip(rects, scores, strict=True):
            shape = landmarks(img, rect)
            pts = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
            box = (float(rect.left()), float(rect.top()), float(rect.right() + 1), float(rect.bottom() + 1))
            faces.append(Face(box=box, kps=dlib5_to_kps(pts), det_score=float(score)))
        faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return faces

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """Embeddings of faces in one image.

        dlib's ResNet needs its own 5 landmarks, so they are re-fitted from each face's box
        (0.5 ms/face); a :class:`Face` from another detector therefore works too.

        Args:
            image: (H, W, 3) uint8 RGB.
            faces: faces in that image (boxes in its pixels).

        Returns:
            (len(faces), 128) float32, L2-normalised.

        Raises:
            ImageError: the array is not (H, W, 3) uint8.
        """
        return self.embed_batch([image], [faces])[0]

    # -- batching ---------------------------------------------------------------------------------

    def chips(self, image: np.ndarray, faces: Sequence[Face]) -> list[np.ndarray]:
        """dlib-aligned 150×150 uint8 RGB face chips (25% padding), the ResNet's input."""
        img = check_rgb(image)
        if not faces:
            return []
        landmarks = self._thread_models()[1]
        shapes = self._dlib.full_object_detections()
        for f in faces:
            shapes.append(landmarks(img, _rect(self._dlib, f.box)))
        return list(self._dlib.get_face_chips(img, shapes, size=CHIP_SIZE_PX, padding=CHIP_PADDING))

    def embed_batch(self, images: Sequence[np.ndarray], faces: Sequence[Sequence[Face]]) -> list[np.ndarray]:
        """Embeddings of the faces of several images in one batch.

        Args:
            images: (H, W, 3) uint8 RGB images.
            faces: ``faces[i]`` are faces in ``images[i]``.

        Returns:
            list with, for image i, a (len(faces[i]), 128) float32 L2-normalised array.

        Raises:
            EngineError: ``images`` and ``faces`` differ in length.
            ImageError: an array is not (H, W, 3) uint8.
        """
        if len(images) != len(faces):
            raise EngineError(
                f"embed_batch got {len(images)} images but {len(faces)} face lists; pass one list per image"
            )
        chips: list[np.ndarray] = []
        counts = []
        for img, fs in zip(images, faces, strict=True):
            c = self.chips(img, fs)
            chips.extend(c)
            counts.append(len(c))
        try:
            emb = self._embed_chips(chips)
        finally:
            for chip in chips:  # the aligned face chips: zeroed once embedded (privacy, README)
                chip[...] = 0
        out, start = [], 0
        for n in counts:
            out.append(emb[start : start + n])
            start += n
        return out

    def _embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        with self._embed_lock:  # one ResNet per process, shared by its engines
            return self._embed_chips_locked(chips)

    def _embed_chips_locked(self, chips: list[np.ndarray]) -> np.ndarray:
        if self.embed_workers == 1 or len(chips) < MIN_FACES_FOR_WORKERS:
            return _descriptors(self._models.resnet, chips)
        parts = np.array_split(np.arange(len(chips)), self.embed_workers)
        workers = self._start_workers()
        # Send synchronously from this thread: the ResNet holds the GIL, so a background feeder
        # thread (as in ProcessPoolExecutor) would not ship the work until the local part is done.
        try:
            for conn, idx in zip(workers, parts[1:], strict=True):
                conn.send([chips[i] for i in idx])
            first = _descriptors(self._models.resnet, [chips[i] for i in parts[0]])
            rest = [conn.recv() for conn in workers]
        except (EOFError, OSError) as exc:
            self.close()
            raise EngineError(_BROKEN_POOL) from exc
        return np.vstack([first, *rest])

    def _start_workers(self) -> list[Connection]:
        if not self._workers:
            import multiprocessing

            ctx = multiprocessing.get_context("spawn")  # never fork a process that may hold threads
            for _ in range(self.embed_workers - 1):
                parent, child = ctx.Pipe()
                proc = ctx.Process(target=_worker_main, args=(child, str(self._folder)), daemon=True)
                proc.start()
                child.close()
                self._workers.append(parent)
                self._procs.append(proc)
        return self._workers

    def warm_up(self) -> None:
        """Start the embedding worker processes now (each loads the weights once, ~1 s).

        Raises:
            EngineError: a worker process failed to start.
        """
        if self.embed_workers > 1:
            self._embed_chips([np.zeros((CHIP_SIZE_PX, CHIP_SIZE_PX, 3), np.uint8)] * self.embed_workers * 2)

    def close(self) -> None:
        """Stop the worker processes, if any. The engine stays usable (they restart on demand)."""
        with self._embed_lock:
            self._close_workers()

    def _close_workers(self) -> None:
        for conn in self._workers:
            try:
                conn.send(None)
                conn.close()
            except OSError:
                pass
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():  # pragma: no cover - a stuck worker
                proc.terminate()
        self._workers, self._procs = [], []

    def __enter__(self) -> DlibEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort; workers are daemons anyway
        for proc in getattr(self, "_procs", []):
            if proc.is_alive():
                proc.terminate()

    def __repr__(self) -> str:
        return (
            f"DlibEngine(upsample={self.upsample}, det_adjust={self.det_adjust}, "
            f"det_scores={self.det_scores}, "
            f"embed_workers={self.embed_workers})"
        )
