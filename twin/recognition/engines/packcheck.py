"""Checks of a user's insightface model pack beyond routing: its manifest's form, and one real run.

A pack's ``manifest.json`` (version 2: ``{"manifest_version": 2, "model_id": ..., "tasks": {task:
{"file": ..., "sha256": ...}}}``) is read with a size cap and strict JSON, and validated by a pydantic
model, so a ``"tasks"`` list or a file name that is a number is one
:class:`~twin.errors.ModelFolderError` line naming the key, not a crash. A manifest of another version
is ignored, as insightface ignores it.

Routing (:func:`twin.recognition.engines.insightface.check_model_folder`) reads a file's inputs and
outputs; it does not prove the model runs. :func:`smoke_test` runs the built engine once on a small
input, the way a run will: the detector on a grey frame, the recognizer on one aligned face, and
checks what comes back (well-formed boxes and landmarks; one finite, non-zero embedding of the declared
width). A pack that fails it is refused when the engine is built, before any simulation, and
``twin models check`` reports it as not usable.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from twin.errors import EngineError, ModelFolderError
from twin.files import MAX_JSON_BYTES, loads_json, read_capped

__all__ = ["MANIFEST", "Manifest", "SmokeResult", "read_manifest", "smoke_test"]

#: A pack's manifest file name.
MANIFEST = "manifest.json"
#: The frame the detector is tried on, pixels (a multiple of 32, as SCRFD wants).
_SMOKE_FRAME = (320, 320)
#: Landmarks of a frontal face in a 112x112 crop (insightface's ArcFace template; face_align.arcface_dst).
_ARCFACE_KPS = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)


class _Task(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    file: str = Field(min_length=1, max_length=255, description="the ONNX file inside the pack")
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")


class Manifest(BaseModel):
    """A version-2 pack manifest: which file does which task, and the pack's id."""

    model_config = ConfigDict(extra="allow", frozen=True)
    manifest_version: int
    model_id: str | None = Field(default=None, max_length=200)
    tasks: dict[str, _Task] = Field(default_factory=dict, max_length=16)


def read_manifest(folder: Path) -> Manifest | None:
    """The pack's manifest (version 2), None without one or for another version.

    Raises:
        ModelFolderError: too large, not strict JSON, or a version-2 manifest of the wrong form (one
            line naming the key and what it must be).
    """
    path = folder / MANIFEST
    if not path.exists() and not path.is_symlink():
        return None
    raw = read_capped(path, what="manifest", max_bytes=MAX_JSON_BYTES, error=ModelFolderError)
    doc = loads_json(raw, name=str(path), error=ModelFolderError)
    if not isinstance(doc, dict) or doc.get("manifest_version") != 2:
        return None  # insightface ignores it too and globs the .onnx files
    try:
        return Manifest.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        raise ModelFolderError(
            f"{path}: {loc}: {err['msg']} (got {err.get('input')!r:.60}); a version-2 manifest maps each "
            'task to its file: {"tasks": {"detection": {"file": "det_10g.onnx"}, "recognition": {"file": '
            '"w600k_r50.onnx"}}}'
        ) from None


@dataclass(frozen=True, kw_only=True)
class SmokeResult:
    """What one real run of an engine returned.

    Attributes:
        faces_on_grey: faces the detector reported on a plain grey frame (0 expected).
        dim: width of the embedding the recognizer returned.
    """

    faces_on_grey: int
    dim: int


def smoke_test(engine: Any) -> SmokeResult:
    """Run ``engine`` once on a small input and check what comes back (module docstring).

    Raises:
        EngineError: the detector or the recognizer fails or returns something malformed; the message
            names which, with the error insightface or ONNX Runtime raised.
    """
    from twin.recognition.engines.base import Face

    frame = np.full((_SMOKE_FRAME[1], _SMOKE_FRAME[0], 3), 128, np.uint8)
    try:
        faces = engine.detect(frame)
        for f in faces:
            if len(f.box) != 4 or np.asarray(f.kps).shape != (5, 2) or not np.all(np.isfinite(f.box)):
                raise ValueError(f"a face with box {f.box} and landmarks of shape {np.asarray(f.kps).shape}")
    except Exception as exc:  # anything the pack's detector raises: ORT, shapes, asserts
        raise EngineError(
            f"{engine.model_id}: the detector fails on a {_SMOKE_FRAME[0]}x{_SMOKE_FRAME[1]} frame "
            f"({type(exc).__name__}: {str(exc)[:160]}); the pack is not usable: check its detection model"
        ) from exc
    crop = np.full((112, 112, 3), 128, np.uint8)
    face = Face(box=(20.0, 20.0, 92.0, 108.0), kps=_ARCFACE_KPS.copy(), det_score=1.0)
    try:
        emb = np.asarray(engine.embed(crop, [face]), np.float64)
        if emb.shape != (1, int(engine.dim)) or not np.all(np.isfinite(emb)) or not np.linalg.norm(emb) > 0:
            raise ValueError(
                f"an embedding of shape {emb.shape} (expected (1, {engine.dim})), finite and non-zero"
            )
    except Exception as exc:  # anything the pack's recognizer raises
        raise EngineError(
            f"{engine.model_id}: the recognizer fails on one aligned 112x112 face ({type(exc).__name__}: "
            f"{str(exc)[:160]}); the pack is not usable: check its recognition model"
        ) from exc
    return SmokeResult(faces_on_grey=len(faces), dim=int(emb.shape[1]))
