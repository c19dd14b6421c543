"""Test doubles for engines: a fake engine with fixed embeddings, painted frames, tiny ONNX packs.

Test modules import the plain helpers and define thin fixtures; the fixtures below (``fake_engine``,
``tiny_pack``) are ready for a ``pytest_plugins = ["fixtures_engines"]`` line in a root conftest.

A "face" is a filled square whose green channel is 255 and whose red channel holds an identity
code (1..250). :class:`FakeEngine` finds squares with OpenCV connected components, places the five
landmarks inside each box (inter-eye distance = 0.4 × side), and returns the fixed unit embedding
of the code at the box centre. So evaluation logic (quality gate, search, alerts, privacy) is tested
without any weights, as insightface's newer GUI core does.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from twin.recognition.engines.base import Face

#: Landmarks of a unit square face box (fractions of the side): eyes 0.4 apart.
_KPS_UNIT = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.6], [0.35, 0.8], [0.65, 0.8]], np.float32)

FAKE_DIM = 16


def _table(n_codes: int = 251, dim: int = FAKE_DIM, seed: int = 1234) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = rng.standard_normal((n_codes, dim)).astype(np.float32)
    return t / np.linalg.norm(t, axis=1, keepdims=True)


class FakeEngine:
    """Fixed-embedding engine implementing :class:`~twin.recognition.engines.base.FaceEngine`.

    Attributes:
        table: (251, 16) float32 unit rows; row c is identity code c's embedding.
        detect_calls, embed_calls, embedded_faces: counters, to check batching.
    """

    model_id = "fake-fixed-v1"
    score_name = "cosine of fixed 16-d unit vectors"
    score_range = (-1.0, 1.0)
    default_threshold = 0.8
    dim = FAKE_DIM

    def __init__(self) -> None:
        self.table = _table()
        self.detect_calls = 0
        self.embed_calls = 0
        self.embedded_faces = 0

    def detect(self, image: np.ndarray) -> list[Face]:
        self.detect_calls += 1
        mask = (image[..., 1] == 255).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
        faces = []
        for i in range(1, n):
            x, y, w, h, _area = (int(v) for v in stats[i])
            side = float(min(w, h))
            kps = _KPS_UNIT * side + np.array([x, y], np.float32)
            faces.append(Face(box=(float(x), float(y), float(x + w), float(y + h)), kps=kps, det_score=1.0))
        faces.sort(key=lambda f: -(f.box[2] - f.box[0]) * (f.box[3] - f.box[1]))
        return faces

    def _embed(self, image: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        self.embedded_faces += len(faces)
        out = np.zeros((len(faces), self.dim), np.float32)
        for i, f in enumerate(faces):
            cx, cy = int((f.box[0] + f.box[2]) / 2), int((f.box[1] + f.box[3]) / 2)
            out[i] = self.table[int(image[cy, cx, 0])]
        return out

    def embed(self, image: np.ndarray, faces: list[Face]) -> np.ndarray:
        self.embed_calls += 1
        return self._embed(image, faces)

    def embed_batch(self, images: Sequence[np.ndarray], faces: Sequence[Sequence[Face]]) -> list[np.ndarray]:
        self.embed_calls += 1
        return [self._embed(img, fs) for img, fs in zip(images, faces, strict=True)]


def paint_faces(
    codes: Sequence[int],
    *,
    size: tuple[int, int] = (320, 240),
    side: int = 80,
    positions: Sequence[tuple[int, int]] | None = None,
) -> np.ndarray:
    """A (H, W, 3) uint8 frame with one painted face square per code.

    Args:
        codes: identity codes 1..250.
        size: (width, height) of the frame in pixels.
        side: square side in pixels (inter-eye distance = 0.4 × side).
        positions: top-left corners; default a row from (10, 10) spaced side + 10 apart.
    """
    w, h = size
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 2] = 40  # a dim blue background, never mistaken for a face
    for i, c in enumerate(codes):
        x, y = positions[i] if positions is not None else (10 + i * (side + 10), 10)
        img[y : y + side, x : x + side] = (c, 255, 0)
    return img


@pytest.fixture
def fake_engine() -> FakeEngine:
    """A fresh :class:`FakeEngine`."""
    return FakeEngine()


# --- tiny insightface stand-ins (reference/face_engine.md §2) -----------------------------------

#: Keypoint offsets of the tiny detector, in stride units around the anchor (a five-point layout).
TINY_KPS = [-0.55, -0.35, 0.55, -0.35, 0.0, 0.15, -0.45, 0.7, 0.45, 0.7]


def _save_onnx(nodes: list, inputs: list, outputs: list, inits: list, path: str) -> None:
    import onnx
    from onnx import helper as h

    model = h.make_model(
        h.make_graph(nodes, "tiny", inputs, outputs, inits),
        opset_imports=[h.make_opsetid("", 13)],
        ir_version=8,
    )
    onnx.checker.check_model(model)
    onnx.save(model, path)


def build_tiny_detector(path: str) -> None:
    """A 9-output SCRFD-like detector: a bright 96×96 square centred on a multiple of 32 → one face.

    Per stride s: AveragePool (kernel 3s, stride s, pads centring each window on the anchor) of the
    channel mean, then Sigmoid(8(x − 0.5)) for s = 32 and Sigmoid(−20) for 8 and 16; boxes are
    1.5 strides each side (a 96×96 box), keypoints a fixed five-point layout.
    """
    from onnx import TensorProto
    from onnx import helper as h
    from onnx import numpy_helper as nh

    nodes = [h.make_node("ReduceMean", ["img"], ["g"], axes=[1], keepdims=1, name="gray")]
    inits = [
        nh.from_array(np.array(0.5, np.float32), "half"),
        nh.from_array(np.array(8.0, np.float32), "gain"),
        nh.from_array(np.array(0.0, np.float32), "zero"),
        nh.from_array(np.array(-20.0, np.float32), "neg"),
        nh.from_array(np.array(1.0, np.float32), "one"),
        nh.from_array(np.array([-1, 1], np.int64), "shape1"),
        nh.from_array(np.array([[1.5] * 4], np.float32), "box_c"),
        nh.from_array(np.array([TINY_KPS], np.float32), "kps_c"),
    ]
    scores, boxes, kpss = [], [], []
    for s in (8, 16, 32):
        live = s == 32
        p = f"s{s}"
        nodes += [
            h.make_node(
                "AveragePool",
                ["g"],
                [f"{p}_pool"],
                kernel_shape=[3 * s, 3 * s],
                strides=[s, s],
                pads=[3 * s // 2, 3 * s // 2, s // 2, s // 2],
                name=f"{p}_avg",
            ),
            h.make_node("Sub", [f"{p}_pool", "half"], [f"{p}_c"], name=f"{p}_centre"),
            h.make_node("Mul", [f"{p}_c", "gain" if live else "zero"], [f"{p}_k"], name=f"{p}_gain"),
            h.make_node("Add", [f"{p}_k", "zero" if live else "neg"], [f"{p}_b"], name=f"{p}_bias"),
            h.make_node("Sigmoid", [f"{p}_b"], [f"{p}_sig"], name=f"{p}_sigmoid"),
            h.make_node("Concat", [f"{p}_sig", f"{p}_sig"], [f"{p}_2a"], axis=1, name=f"{p}_anchors"),
            h.make_node("Transpose", [f"{p}_2a"], [f"{p}_nhwc"], perm=[0, 2, 3, 1], name=f"{p}_nhwc_t"),
            h.make_node("Reshape", [f"{p}_nhwc", "shape1"], [f"score_{s}"], name=f"{p}_flat"),
            h.make_node("Mul", [f"score_{s}", "zero"], [f"{p}_z"], name=f"{p}_zeros"),
            h.make_node("Add", [f"{p}_z", "one"], [f"{p}_ones"], name=f"{p}_ones_a"),
            h.make_node("Mul", [f"{p}_ones", "box_c"], [f"bbox_{s}"], name=f"{p}_box"),
            h.make_node("Mul", [f"{p}_ones", "kps_c"], [f"kps_{s}"], name=f"{p}_kps"),
        ]
        scores.append(h.make_tensor_value_info(f"score_{s}", TensorProto.FLOAT, [f"n{s}", 1]))
        boxes.append(h.make_tensor_value_info(f"bbox_{s}", TensorProto.FLOAT, [f"n{s}", 4]))
        kpss.append(h.make_tensor_value_info(f"kps_{s}", TensorProto.FLOAT, [f"n{s}", 10]))
    inp = [h.make_tensor_value_info("img", TensorProto.FLOAT, [1, 3, "h", "w"])]
    _save_onnx(nodes, inp, scores + boxes + kpss, inits, path)


def build_tiny_recognizer(path: str, *, seed: int = 0, nan: bool = False) -> None:
    """A 112×112 → 512 "ArcFace": AveragePool 16×16 → Flatten → MatMul with a seeded W (147, 512).

    ``nan``: NaN weights; it still routes as ArcFace, but every embedding is NaN (a broken pack)."""
    from onnx import TensorProto
    from onnx import helper as h
    from onnx import numpy_helper as nh

    w = np.random.default_rng(seed).standard_normal((147, 512)).astype(np.float32)
    if nan:
        w[:] = np.nan
    nodes = [
        h.make_node(
            "AveragePool", ["data"], ["pooled"], kernel_shape=[16, 16], strides=[16, 16], name="pool"
        ),
        h.make_node("Flatten", ["pooled"], ["flat"], axis=1, name="flatten"),
        h.make_node("MatMul", ["flat", "W"], ["fc1"], name="project"),
    ]
    _save_onnx(
        nodes,
        [h.make_tensor_value_info("data", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [h.make_tensor_value_info("fc1", TensorProto.FLOAT, ["N", 512])],
        [nh.from_array(w, "W")],
        path,
    )


def make_tiny_pack(parent: Path, name: str = "tiny_pack") -> Path:
    """``parent/name`` holding det_tiny.onnx (SCRFD-like) and w600k_tiny.onnx (ArcFace-like), ~0.1 s."""
    folder = parent / name
    folder.mkdir()
    build_tiny_detector(str(folder / "det_tiny.onnx"))
    build_tiny_recognizer(str(folder / "w600k_tiny.onnx"))
    return folder


@pytest.fixture
def tiny_pack(tmp_path: Path) -> Path:
    """A tiny insightface model pack folder (:func:`make_tiny_pack`)."""
    return make_tiny_pack(tmp_path)


def white_squares(
    centres: Sequence[tuple[int, int]], size: tuple[int, int] = (320, 240), side: int = 96
) -> np.ndarray:
    """(H, W, 3) uint8 black frame with white side×side squares centred on the given (x, y)."""
    w, hgt = size
    img = np.zeros((hgt, w, 3), np.uint8)
    for cx, cy in centres:
        img[cy - side // 2 : cy + side // 2, cx - side // 2 : cx + side // 2] = 255
    return img
