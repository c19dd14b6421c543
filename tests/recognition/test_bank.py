"""Face bank: identity folders, enrolment vs probe image, video sampling (fake engine, painted frames)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from fixtures_engines import FakeEngine, paint_faces
from twin.errors import ImageError, WatchlistError
from twin.recognition.faces.bank import FaceBank


def test_folder_enrolment_and_probe(tmp_path: Path) -> None:
    for person, n in (("ann", 3), ("bo", 1)):
        (tmp_path / person).mkdir()
        for i in range(n):
            Image.fromarray(paint_faces([10 + i])).save(tmp_path / person / f"{i}.png")
    (tmp_path / "empty").mkdir()
    bank = FaceBank.from_folder(tmp_path)
    assert bank.identities == ("ann", "bo")
    assert bank.enrolment_image("ann").path == tmp_path / "ann" / "0.png"
    assert bank.probe_image("ann").path == tmp_path / "ann" / "1.png"
    assert bank.probe_image("ann", 1).path == tmp_path / "ann" / "2.png"
    assert bank.has_distinct_probe("ann") and not bank.has_distinct_probe("bo")
    assert bank.probe_image("bo") == bank.enrolment_image("bo")
    eng = FakeEngine()
    src = bank.probe_image("ann")
    img = bank.load(src)
    assert img.shape == (240, 320, 3) and bank.load(src) is img  # cached
    assert bank.face(src, eng).box == (10.0, 10.0, 90.0, 90.0)
    with pytest.raises(WatchlistError, match="not in the face bank"):
        bank.sources("zed")


def test_video_sampling(tmp_path: Path) -> None:
    path = tmp_path / "walk.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10, (320, 240))
    assert writer.isOpened()
    for i in range(30):
        frame = paint_faces([5] if i % 2 == 0 else [], positions=[(10 + i, 20)])
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    bank = FaceBank.from_video(path, "walker", FakeEngine(), every=4, max_frames=5)
    items = bank.sources("walker")
    assert [s.frame_index for s in items] == [0, 4, 8, 12, 16]
    assert all(s.pixels is not None and s.face is not None for s in items)
    assert items[1].face is not None and items[1].face.box[0] == 14.0
    assert items[1].source.endswith("walk.avi#frame=4")
    with pytest.raises(ImageError, match="no face found"):
        FaceBank.from_video(_blank_video(tmp_path), "nobody", FakeEngine())
    with pytest.raises(ImageError, match="does not exist"):
        FaceBank.from_video(tmp_path / "nope.mp4", "x", FakeEngine())


def _blank_video(tmp_path: Path) -> Path:
    path = tmp_path / "blank.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"FFV1"), 10, (64, 48))
    for _ in range(5):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    return path


def test_samples_bank_has_packaged_identities() -> None:
    bank = FaceBank.from_samples()
    assert {"eileen_collins", "tom_hanks"} <= set(bank.identities)
