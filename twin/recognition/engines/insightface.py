"""The insightface engine: a user's model pack folder (SCRFD detector + ArcFace recognizer) on ONNX Runtime.

The project ships no insightface weights (insightface's packs are licensed for non-commercial
research only): the user brings an unpacked pack folder, e.g. ``buffalo_l`` with ``det_10g.onnx``
and ``w600k_r50.onnx``, or any manifest-v2 folder.

insightface downloads a pack from GitHub whenever ``FaceAnalysis(name=...)`` does not resolve to an
existing folder, and fails with a bare ``AssertionError`` when the folder has no detector
(reference/face_engine.md §1). So the folder is checked here first, and a
:class:`~twin.errors.ModelFolderError` names the folder and what is missing; only then is
``FaceAnalysis(name=<folder>, allowed_modules=["detection", "recognition"], providers=...)``
built and prepared with an explicit ``det_size`` (one detector pass; without it insightface 2.1
runs two). Nothing can reach insightface's downloader.

Providers default to CPU only, so CUDA is never probed by accident. When CUDA is requested, the
created sessions are asked which provider really runs (``get_providers()``): onnxruntime-gpu lists
CUDA as available and then silently runs on the CPU when CUDA 13/cuDNN 9 are missing (§5).

Score: cosine of the L2-normalised embeddings, in [-1, 1]. The default threshold 0.4 is an
assumption for ArcFace R50 (w600k_r50) on a 1:N watchlist, not a calibrated value: run
``twin calibrate`` with this pack before trusting any FPIR.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from twin.errors import EngineError, EngineUnavailableError, ModelFolderError
from twin.recognition.engines.base import Face
from twin.recognition.engines.packcheck import read_manifest, smoke_test
from twin.recognition.faces.io import check_rgb

__all__ = [
    "DEFAULT_THRESHOLD",
    "InsightFaceEngine",
    "ModelFileCheck",
    "check_model_folder",
    "list_model_folders",
]

logger = logging.getLogger(__name__)

#: Assumed ArcFace R50 1:N threshold (cosine). Published ArcFace verification cuts on IJB-C lie
#: around 0.3–0.45 for FMR 1e-4…1e-6; 0.4 is a cautious middle. Calibrate per pack.
DEFAULT_THRESHOLD: float = 0.4

_CPU = "CPUExecutionProvider"
_CUDA = "CUDAExecutionProvider"
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ModelFileCheck:
    """How insightface routes one ONNX file of a folder.

    Attributes:
        file: file name inside the folder.
        routed_class: insightface class it routes to (``SCRFD``, ``ArcFaceONNX``, ``Landmark``,
            ``Attribute``, ``INSwapper``, ...), or None when insightface would silently skip it.
        task: ``detection``, ``recognition``, ..., ``unrouted``, or ``error: <reason>``.
        sha256: hex SHA-256 of the file.
    """

    file: str
    routed_class: str | None
    task: str
    sha256: str


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _import_insightface() -> Any:
    try:
        import insightface
        import insightface.model_zoo
    except ImportError as exc:
        raise EngineUnavailableError(
            f"the insightface engine needs insightface and onnxruntime ({exc}); "
            "install them with `pip install insightface==2.1 onnxruntime`"
        ) from exc
    return insightface


def _check_folder_exists(folder: Path) -> None:
    if not folder.exists():
        raise ModelFolderError(
            f"model folder {folder} does not exist; pass the unpacked pack folder (e.g. .../buffalo_l "
            "holding "
            "det_10g.onnx and w600k_r50.onnx). The project never downloads packs"
        )
    if not folder.is_dir():
        raise ModelFolderError(
            f"model folder {folder} is a file, not a folder; pass the folder that holds the .onnx files"
        )


def _manifest(folder: Path) -> dict[str, Any] | None:
    """The pack's version-2 manifest as a mapping, validated (:func:`~twin.recognition.engines.packcheck.
    read_manifest`), or None."""
    m = read_manifest(folder)
    return None if m is None else m.model_dump()


def check_model_folder(model_dir: str | Path, *, providers: Sequence[str] = (_CPU,)) -> list[ModelFileCheck]:
    """Route every ONNX file of a folder the way insightface will (for ``twin models check DIR``).

    Without a manifest, each ``*.onnx`` goes through ``insightface.model_zoo.get_model`` (which opens
    an ONNX Runtime session and routes on its inputs and outputs; face_engine.md §1). With a
    manifest v2, the manifest's tasks decide and its files are listed with the declared task.

    Args:
        model_dir: the folder.
        providers: ONNX Runtime providers for the routing sessions (CPU by default).

    Returns:
        one :class:`ModelFileCheck` per file, sorted by name (insightface's order).

    Raises:
        ModelFolderError: the folder is missing, not a folder, or holds no ``*.onnx`` and no manifest.
        EngineUnavailableError: insightface is not installed.
    """
    folder = Path(model_dir).expanduser()
    _check_folder_exists(folder)
    manifest = _manifest(folder)
    onnx_files = sorted(folder.glob("*.onnx"))
    if manifest is None and not onnx_files:
        raise ModelFolderError(
            f"model folder {folder} is empty: no *.onnx files and no manifest.json; unpack the pack into it"
        )
    if manifest is not None:
        out = []
        tasks = manifest.get("tasks") or {}
        for task, spec in sorted(tasks.items()):
            name = str(spec.get("file", "")) if isinstance(spec, dict) else ""
            path = folder / name
            exists = bool(name) and path.is_file()
            cls = {"detection": "SCRFD", "recognition": "ArcFaceONNX", "verification": "FaceVerifier"}.get(
                task
            )
            out.append(
                ModelFileCheck(
                    file=name or "<missing>",
                    routed_class=cls if exists else None,
                    task=task if exists else f"error: {task} file {name!r} missing",
                    sha256=_sha256(path) if exists else "",
                )
            )
        return out
    insightface = _import_insightface()
    out = []
    for path in onnx_files:
        digest = _sha256(path)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FutureWarning)
                model = insightface.model_zoo.get_model(str(path), providers=list(providers))
        except Exception as exc:  # any ORT, protobuf or assert failure is reported per file
            out.append(
                ModelFileCheck(path.name, None, f"error: {type(exc).__name__}: {exc}".strip()[:200], digest)
            )
            continue
        if model is None:
            out.append(ModelFileCheck(path.name, None, "unrouted", digest))
        else:
            out.append(ModelFileCheck(path.name, type(model).__name__, str(model.taskname), digest))
            del model
    return out


def list_model_folders(root: str | Path = "~/.insightface/models") -> list[Path]:
    """Folders directly under ``root`` holding ``*.onnx`` files or a manifest (no download, no routing)."""
    base = Path(root).expanduser()
    if not base.is_dir():
        return []
    return sorted(
        p for p in base.iterdir() if p.is_dir() and (any(p.glob("*.onnx")) or (p / _MANIFEST).is_file())
    )


class InsightFaceEngine:
    """SCRFD detection + ArcFace recognition from a model pack folder; a
    :class:`~twin.recognition.engines.base.FaceEngine`.

    Args:
        model_dir: the unpacked pack folder (must exist; it is never downloaded).
        providers: ONNX Runtime execution providers, in order of preference (default CPU only).
        det_size: detector input (width, height), pixels; one pass at this size.
        det_thresh: detector score threshold in [0, 1].
        threshold: this pack's calibrated alert threshold (cosine); default
            :data:`DEFAULT_THRESHOLD`, an uncalibrated assumption.

    Attributes:
        model_id: the manifest's model_id, else ``insightface:<folder>:<recognizer file stem>``.
        score_name, score_range, default_threshold, dim: the engine's declared score.
        model_files: file name → SHA-256 of the detector and recognizer (and manifest), for run metadata.
        providers: the providers the sessions actually run on.

    Raises:
        ModelFolderError: folder missing, not a folder, empty, without a detector or without a recognizer.
        EngineUnavailableError: insightface/onnxruntime missing, or a requested provider (CUDA) does not run.
        EngineError: a bad det_size, det_thresh or threshold.
    """

    score_name: str = "cosine of L2-normalised ArcFace embeddings"
    score_range: tuple[float, float] = (-1.0, 1.0)

    def __init__(
        self,
        model_dir: str | Path,
        *,
        providers: Sequence[str] = (_CPU,),
        det_size: tuple[int, int] = (640, 640),
        det_thresh: float = 0.5,
        threshold: float | None = None,
    ) -> None:
        folder = Path(model_dir).expanduser()
        providers = [str(p) for p in providers]
        if not providers:
            raise EngineError(f"providers is empty; pass e.g. ['{_CPU}']")
        if len(det_size) != 2 or any(int(v) < 32 or int(v) % 32 for v in det_size):
            raise EngineError(
                f"det_size {det_size!r} must be (width, height), multiples of 32 >= 32, e.g. (640, 640)"
            )
        if not 0.0 < det_thresh < 1.0:
            raise EngineError(f"det_thresh {det_thresh!r} must be inside (0, 1), e.g. 0.5")
        thr = DEFAULT_THRESHOLD if threshold is None else float(threshold)
        if not -1.0 <= thr <= 1.0:
            raise EngineError(
                f"threshold {threshold!r} must be a cosine inside [-1, 1]; ArcFace packs use ~0.3-0.5"
            )
        self.default_threshold = thr
        self.det_size = (int(det_size[0]), int(det_size[1]))
        self.det_thresh = float(det_thresh)

        _check_routes(folder)  # 1. the folder, before insightface ever sees the name
        want_cuda = _CUDA in providers
        if want_cuda:
            _check_cuda_offered()  # 2. the providers
        app = _load_app(folder, providers, self.det_size, self.det_thresh)  # 3. no download path is reachable
        self._app = app
        self._det = app.models["detection"]
        self._rec = app.models["recognition"]
        self.providers = _running_providers(app, want_cuda)  # 4. what really runs

        manifest = _manifest(folder)
        det_file, rec_file = Path(self._det.model_file), Path(self._rec.model_file)
        self.model_files = {det_file.name: _sha256(det_file), rec_file.name: _sha256(rec_file)}
        if manifest is not None:
            self.model_files[_MANIFEST] = _sha256(folder / _MANIFEST)
            self.model_id = str(manifest.get("model_id", folder.name))
        else:
            self.model_id = f"insightface:{folder.name}:{rec_file.stem}"
        try:
            self.dim = self._embedding_dim()
        except Exception as exc:  # the pack's recognizer, run once: anything ORT or insightface raises
            raise EngineError(
                f"{self.model_id}: the recognizer fails on a blank face ({type(exc).__name__}: "
                f"{str(exc)[:160]}); the pack is not usable: check its recognition model"
            ) from exc
        self.model_dir = folder
        smoke_test(self)  # detector and recognizer once, as a run will: fails here, not minutes later
        logger.info(
            "insightface engine %s (%d-d) on %s from %s", self.model_id, self.dim, self.providers, folder
        )

    def _embedding_dim(self) -> int:
        shape = getattr(self._rec, "output_shape", None)
        if shape is not None and isinstance(shape[-1], int) and shape[-1] > 0:
            return int(shape[-1])
        size = int(self._rec.input_size[0])
        return int(self._rec.get_feat([np.zeros((size, size, 3), np.uint8)]).shape[-1])

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an (H, W, 3) uint8 RGB image, largest first.

        Returns:
            :class:`Face` list: box in pixels, kps (5, 2) float32 (insightface's order, which is
            Face's), det_score = SCRFD score in [0, 1].

        Raises:
            ImageError: the array is not (H, W, 3) uint8.
        """
        bgr = cv2.cvtColor(check_rgb(image), cv2.COLOR_RGB2BGR)  # insightface works in BGR
        bboxes, kpss = self._det.detect(bgr, max_num=0)
        faces = []
        for i in range(len(bboxes)):
            x0, y0, x1, y1, score = (float(v) for v in bboxes[i])
            kps = kpss[i].astype(np.float32) if kpss is not None else np.zeros((5, 2), np.float32)
            faces.append(Face(box=(x0, y0, x1, y1), kps=kps, det_score=score))
        faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return faces

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        """(len(faces), dim) float32 L2-normalised embeddings, one recognizer batch.

        Faces are aligned by their 5 landmarks to insightface's 112×112 template (``norm_crop``).

        Raises:
            ImageError: the array is not (H, W, 3) uint8.
        """
        return self.embed_batch([image], [faces])[0]

    def embed_batch(self, images: Sequence[np.ndarray], faces: Sequence[Sequence[Face]]) -> list[np.ndarray]:
        """Embeddings of the faces of several images in one recognizer batch.

        Raises:
            EngineError: ``images`` and ``faces`` differ in length.
            ImageError: an array is not (H, W, 3) uint8.
        """
        from insightface.utils import face_align

        if len(images) != len(faces):
            raise EngineError(
                f"embed_batch got {len(images)} images but {len(faces)} face lists; pass one list per image"
            )
        size = int(self._rec.input_size[0])
        crops: list[np.ndarray] = []
        counts = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # skimage's SimilarityTransform.estimate
            for img, fs in zip(images, faces, strict=True):
                bgr = cv2.cvtColor(check_rgb(img), cv2.COLOR_RGB2BGR)
                for f in fs:
                    crops.append(
                        face_align.norm_crop(bgr, landmark=np.asarray(f.kps, np.float32), image_size=size)
                    )
                counts.append(len(fs))
        if crops:
            raw = np.asarray(self._rec.get_feat(crops), np.float32).reshape(len(crops), -1)
            emb = raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-12)
        else:
            emb = np.zeros((0, self.dim), np.float32)
        crops.clear()
        out, start = [], 0
        for n in counts:
            out.append(emb[start : start + n])
            start += n
        return out

    def __repr__(self) -> str:
        return f"InsightFaceEngine({self.model_dir}, model_id={self.model_id!r}, providers={self.providers})"


def _check_routes(folder: Path) -> None:
    """The model folder holds a detector and a recognizer insightface will route (:func:`check_model_folder`).

    Raises:
        ModelFolderError: missing, or without one of the two.
    """
    routes = check_model_folder(folder)
    tasks = {r.task for r in routes}
    if "detection" not in tasks or "recognition" not in tasks:
        missing = [t for t in ("detection", "recognition") if t not in tasks]
        found = ", ".join(f"{r.file} → {r.routed_class or r.task}" for r in routes) or "nothing routable"
        what = " and ".join(
            {
                "detection": "a detector (SCRFD, e.g. det_10g.onnx)",
                "recognition": "a recognizer (ArcFace, e.g. w600k_r50.onnx)",
            }[t]
            for t in missing
        )
        raise ModelFolderError(
            f"model folder {folder} lacks {what}; found: {found}. Add the missing ONNX file"
        )


def _check_cuda_offered() -> None:
    """This onnxruntime offers CUDA at all.

    Raises:
        EngineUnavailableError: the CPU build is installed.
    """
    import onnxruntime

    if _CUDA not in onnxruntime.get_available_providers():
        raise EngineUnavailableError(
            f"{_CUDA} was requested but this onnxruntime ({onnxruntime.__version__}) does not offer it; "
            "swap to the GPU build (`pip uninstall -y onnxruntime && pip install onnxruntime-gpu`, with "
            "CUDA 13 "
            f"and cuDNN 9 on the host), or pass providers=['{_CPU}']"
        )


def _load_app(folder: Path, providers: list[str], det_size: tuple[int, int], det_thresh: float) -> Any:
    """insightface's FaceAnalysis on the folder (passed as ``name``: an existing folder is never downloaded).

    Raises:
        ModelFolderError: insightface cannot load the pack.
    """
    insightface = _import_insightface()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            app = insightface.app.FaceAnalysis(
                name=str(folder.resolve()),
                allowed_modules=["detection", "recognition"],
                providers=providers,
            )
            app.prepare(ctx_id=-1 if providers == [_CPU] else 0, det_size=det_size, det_thresh=det_thresh)
    except AssertionError as exc:  # insightface's bare assert "detection" in self.models
        raise ModelFolderError(
            f"insightface found no usable detector in {folder}; run `twin models check {folder}`"
        ) from exc
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelFolderError(f"insightface could not load the pack in {folder}: {exc}") from exc
    return app


def _running_providers(app: Any, want_cuda: bool) -> list[str]:
    """The execution providers the created sessions really run on (not what onnxruntime lists).

    Raises:
        EngineUnavailableError: CUDA was requested and a session runs without it.
    """
    running = {name: list(m.session.get_providers()) for name, m in app.models.items()}
    if want_cuda:
        lacking = {n: p for n, p in running.items() if _CUDA not in p}
        if lacking:
            raise EngineUnavailableError(
                f"{_CUDA} was requested but the sessions run on {lacking}: CUDA 13/cuDNN 9 libraries are "
                f"missing or incompatible. Install them, or pass providers=['{_CPU}'] to run on the CPU "
                "knowingly"
            )
    return sorted({p for ps in running.values() for p in ps})
