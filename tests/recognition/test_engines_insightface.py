"""insightface engine on tiny ONNX stand-ins (reference/face_engine.md §2): routing, boxes, guards.

The stand-ins go through insightface's real ``model_zoo`` routing and ``FaceAnalysis``; no weights,
no network. The download guard proves the project's own ModelFolderError fires before insightface
could ever reach its downloader.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from fixtures_engines import build_tiny_detector, build_tiny_recognizer, make_tiny_pack, white_squares
from twin.errors import EngineError, EngineUnavailableError, ModelFolderError
from twin.recognition.engines.base import FaceEngine
from twin.recognition.engines.insightface import (
    DEFAULT_THRESHOLD,
    InsightFaceEngine,
    check_model_folder,
    list_model_folders,
)
from twin.recognition.engines.registry import create_engine


class _DownloadAttempted(AssertionError):
    pass


@pytest.fixture
def tiny_pack(tmp_path: Path) -> Path:
    return make_tiny_pack(tmp_path)


@pytest.fixture
def no_download(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make insightface's downloader raise (and record) instead of reaching the network."""
    import insightface.utils.storage as storage

    calls: list[str] = []

    def guard(url: str, *args: object, **kwargs: object) -> None:
        calls.append(url)
        raise _DownloadAttempted(f"download attempted: {url}")

    monkeypatch.setattr(storage, "download_file", guard)
    return calls


def test_routing_of_the_stand_ins(tiny_pack: Path) -> None:
    rows = check_model_folder(tiny_pack)
    assert [(r.file, r.routed_class, r.task) for r in rows] == [
        ("det_tiny.onnx", "SCRFD", "detection"),
        ("w600k_tiny.onnx", "ArcFaceONNX", "recognition"),
    ]
    assert rows[0].sha256 == hashlib.sha256((tiny_pack / "det_tiny.onnx").read_bytes()).hexdigest()


def test_unroutable_and_corrupt_files_are_reported(tiny_pack: Path) -> None:
    (tiny_pack / "zz_broken.onnx").write_bytes(b"not a protobuf")
    rows = {r.file: r for r in check_model_folder(tiny_pack)}
    assert rows["zz_broken.onnx"].routed_class is None
    assert rows["zz_broken.onnx"].task.startswith("error:")


def test_exact_boxes_and_unit_512d_embeddings(tiny_pack: Path, no_download: list[str]) -> None:
    eng = InsightFaceEngine(tiny_pack, det_size=(320, 320))
    assert isinstance(eng, FaceEngine)
    assert eng.dim == 512 and eng.providers == ["CPUExecutionProvider"]
    assert eng.default_threshold == DEFAULT_THRESHOLD and eng.score_range == (-1.0, 1.0)
    img = white_squares([(64, 64), (224, 128)])
    faces = eng.detect(img)
    assert sorted(f.box for f in faces) == [(16.0, 16.0, 112.0, 112.0), (176.0, 80.0, 272.0, 176.0)]
    for f in faces:
        assert f.kps.shape == (5, 2) and f.kps[0, 0] < f.kps[1, 0]
        assert f.ied_px == pytest.approx(1.1 * 32, abs=1e-3)  # 0.55 + 0.55 strides of 32 px
        assert 0.9 < f.det_score <= 1.0
    emb = eng.embed(img, faces)
    assert emb.shape == (2, 512) and emb.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)
    assert float(emb[0] @ emb[1]) == pytest.approx(1.0, abs=1e-5)  # identical crops
    # a different pattern inside one square gives a different embedding
    img2 = img.copy()
    img2[90:112, 176:272] = 0
    emb2 = eng.embed(img2, faces)
    assert float(emb2[0] @ emb2[1]) < 0.999 or float(emb2[0] @ emb[0]) < 0.999
    assert eng.embed(img, []).shape == (0, 512)
    assert set(eng.model_files) == {"det_tiny.onnx", "w600k_tiny.onnx"}
    assert (
        eng.model_files["w600k_tiny.onnx"]
        == hashlib.sha256((tiny_pack / "w600k_tiny.onnx").read_bytes()).hexdigest()
    )
    assert eng.model_id == "insightface:tiny_pack:w600k_tiny"
    assert no_download == []


def test_the_guard_would_catch_insightface_downloading(tmp_path: Path, no_download: list[str]) -> None:
    """Without the project's check, a bare pack name sends insightface to its downloader."""
    from insightface.app import FaceAnalysis

    with pytest.raises(_DownloadAttempted):
        FaceAnalysis(name="buffalo_l", root=str(tmp_path), providers=["CPUExecutionProvider"])
    assert no_download and "buffalo_l.zip" in no_download[0]


def test_missing_folder_fails_first(tmp_path: Path, no_download: list[str]) -> None:
    with pytest.raises(ModelFolderError, match=r"buffalo_l does not exist.*never downloads"):
        InsightFaceEngine(tmp_path / "buffalo_l")
    with pytest.raises(ModelFolderError, match="does not exist"):
        InsightFaceEngine("buffalo_l")  # a bare pack name is a (missing) folder, never a download
    assert no_download == []


def test_empty_folder_fails_first(tmp_path: Path, no_download: list[str]) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelFolderError, match="empty"):
        InsightFaceEngine(tmp_path / "empty")
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ModelFolderError, match="is a file"):
        InsightFaceEngine(tmp_path / "afile")
    assert no_download == []


def test_recognizer_only_folder_fails_first(tiny_pack: Path, tmp_path: Path, no_download: list[str]) -> None:
    only_rec = tmp_path / "only_rec"
    only_rec.mkdir()
    shutil.copy(tiny_pack / "w600k_tiny.onnx", only_rec)
    with pytest.raises(ModelFolderError, match=r"only_rec lacks a detector") as exc:
        InsightFaceEngine(only_rec)
    assert "w600k_tiny.onnx → ArcFaceONNX" in str(exc.value)
    only_det = tmp_path / "only_det"
    only_det.mkdir()
    shutil.copy(tiny_pack / "det_tiny.onnx", only_det)
    with pytest.raises(ModelFolderError, match="lacks a recognizer"):
        InsightFaceEngine(only_det)
    assert no_download == []


def test_cuda_requested_but_absent_fails_loudly(tiny_pack: Path) -> None:
    with pytest.raises(EngineUnavailableError, match="CUDAExecutionProvider"):
        InsightFaceEngine(tiny_pack, providers=("CUDAExecutionProvider", "CPUExecutionProvider"))


def test_cuda_listed_but_sessions_on_cpu_fails_loudly(
    tiny_pack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """onnxruntime-gpu without CUDA libraries lists CUDA, then runs on the CPU: ask the sessions."""
    import onnxruntime

    monkeypatch.setattr(
        onnxruntime, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"]
    )
    monkeypatch.setattr(onnxruntime, "preload_dlls", lambda *a, **k: None, raising=False)
    with pytest.warns(UserWarning), pytest.raises(EngineUnavailableError, match="sessions run on"):
        InsightFaceEngine(tiny_pack, providers=("CUDAExecutionProvider", "CPUExecutionProvider"))


def test_manifest_v2_folder_and_tamper(tiny_pack: Path, tmp_path: Path, no_download: list[str]) -> None:
    pack = tmp_path / "manifest_pack"
    shutil.copytree(tiny_pack, pack)
    digest = hashlib.sha256((pack / "w600k_tiny.onnx").read_bytes()).hexdigest()
    manifest = {
        "manifest_version": 2,
        "model_id": "tiny_v2",
        "license": "MODEL.LICENSE",
        "tasks": {
            "detection": {"file": "det_tiny.onnx"},
            "recognition": {"file": "w600k_tiny.onnx", "sha256": digest},
        },
    }
    (pack / "manifest.json").write_text(json.dumps(manifest))
    eng = InsightFaceEngine(pack, det_size=(320, 320))
    assert eng.model_id == "tiny_v2" and "manifest.json" in eng.model_files
    assert len(eng.detect(white_squares([(64, 64)]))) == 1
    rows = check_model_folder(pack)
    assert {(r.file, r.task) for r in rows} == {
        ("det_tiny.onnx", "detection"),
        ("w600k_tiny.onnx", "recognition"),
    }
    build_tiny_recognizer(str(pack / "w600k_tiny.onnx"), seed=1)  # tampered weights
    with pytest.raises(ModelFolderError, match="SHA-256 mismatch"):
        InsightFaceEngine(pack)
    assert no_download == []


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"det_size": (300, 300)}, "det_size"),
        ({"det_thresh": 1.5}, "det_thresh"),
        ({"threshold": 2.0}, "threshold"),
        ({"providers": ()}, "providers"),
    ],
)
def test_bad_options(tiny_pack: Path, kw: dict, match: str) -> None:
    with pytest.raises(EngineError, match=match):
        InsightFaceEngine(tiny_pack, **kw)


def test_registry_and_listing(tiny_pack: Path) -> None:
    eng = create_engine("insightface", model_dir=tiny_pack, det_size=(320, 320), threshold=0.35)
    assert isinstance(eng, InsightFaceEngine) and eng.default_threshold == 0.35
    assert list_model_folders(tiny_pack.parent) == [tiny_pack]
    assert list_model_folders(tiny_pack / "nope") == []


def test_stand_in_builders_are_deterministic(tmp_path: Path) -> None:
    build_tiny_detector(str(tmp_path / "a.onnx"))
    build_tiny_detector(str(tmp_path / "b.onnx"))
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


def test_registry_errors_and_extra_kinds() -> None:
    with pytest.raises(EngineError, match=r"unknown engine kind 'arcface'; valid kinds: dlib, insightface"):
        create_engine("arcface")
    with pytest.raises(EngineError, match="needs model_dir"):
        create_engine("insightface")
    sentinel = object()
    assert create_engine("statistical", extra={"statistical": lambda **kw: (sentinel, kw)}, n=3) == (
        sentinel,
        {"n": 3},
    )
    with pytest.raises(EngineError, match="valid kinds: dlib, insightface, statistical"):
        create_engine("nope", extra={"statistical": lambda **kw: None})
