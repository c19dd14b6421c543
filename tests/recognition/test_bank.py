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


def test_each_photo_is_judged_on_its_own_and_every_skip_has_a_reason(tmp_path: Path) -> None:
    """A corrupt, faceless or huge first photo no longer drops its identity; links, HEIC and other files
    are listed, not silently passed over."""
    ann, bo = tmp_path / "ann", tmp_path / "bo"
    ann.mkdir()
    bo.mkdir()
    (ann / "0_corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    Image.fromarray(np.zeros((240, 320, 3), np.uint8)).save(ann / "1_noface.png")
    Image.new("L", (10_000, 5_000)).save(
        ann / "2_huge.png"
    )  # 50 MP: over MAX_PIXELS, refused from the header
    Image.fromarray(paint_faces([11])).save(ann / "3_ok.png")
    Image.fromarray(paint_faces([12])).save(ann / "4_ok.png")
    (ann / "5_phone.heic").write_bytes(b"....ftypheic")
    (ann / "notes.txt").write_text("x")
    (ann / "6_dangling.jpg").symlink_to(tmp_path / "nowhere.jpg")
    (ann / "7_loop.jpg").symlink_to(ann / "7_loop.jpg")
    Image.fromarray(paint_faces([20])).save(bo / "0.png")
    (tmp_path / "stray.jpg").write_bytes(b"x")
    bank = FaceBank.from_folder(tmp_path)
    listed = {Path(s.path).name: s.reason for s in bank.skipped}
    assert "HEIC" in listed["5_phone.heic"] and "convert it to JPEG" in listed["5_phone.heic"]
    assert "link to nothing" in listed["6_dangling.jpg"] and "loop" in listed["7_loop.jpg"]
    assert "not an image file" in listed["notes.txt"] and "outside any identity folder" in listed["stray.jpg"]
    vetted = bank.vetted(FakeEngine())
    assert vetted.identities == ("ann", "bo")  # ann kept: her first photo is corrupt, the fourth is fine
    assert vetted.enrolment_image("ann").path == ann / "3_ok.png"
    assert vetted.probe_image("ann").path == ann / "4_ok.png"
    reasons = {Path(s.path).name: s.reason for s in vetted.skipped}
    assert {"0_corrupt.jpg", "1_noface.png", "2_huge.png"} <= set(reasons)
    assert "no face found" in reasons["1_noface.png"] and "pixels" in reasons["2_huge.png"]
    assert len(vetted.skipped) == len(bank.skipped) + 3


def test_a_bank_with_no_usable_photo_says_why(tmp_path: Path) -> None:
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "a.heic").write_bytes(b"x")
    with pytest.raises(WatchlistError, match=r"a\.heic: a HEIC photo"):
        FaceBank.from_folder(tmp_path)
    Image.fromarray(np.zeros((240, 320, 3), np.uint8)).save(tmp_path / "ann" / "b.png")
    with pytest.raises(WatchlistError, match=r"b\.png: no face found"):
        FaceBank.from_folder(tmp_path).vetted(FakeEngine())
