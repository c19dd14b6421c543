"""Enrolment from identity folders: one entry per image, every skipped image counted with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from fixtures_engines import FakeEngine, paint_faces
from twin.errors import WatchlistError
from twin.recognition.enrol import enrol_folder
from twin.recognition.watchlist import Watchlist


def test_enrol_folder_counts_reasons(tmp_path: Path) -> None:
    eng = FakeEngine()
    root = tmp_path / "gallery"
    for person, codes in {"alice": [[1]], "bob": [[2], [2, 3]], "carol": [[]]}.items():
        (root / person).mkdir(parents=True)
        for i, c in enumerate(codes):
            Image.fromarray(paint_faces(c, size=(200, 120))).save(root / person / f"{i}.png")
    (root / "carol" / "bad.jpg").write_bytes(b"not an image at all")
    wl = Watchlist.for_engine(eng)
    rep = enrol_folder(wl, root, eng, category="wanted")
    assert rep.enrolled == 3 and rep.identities == 2
    assert rep.skipped == {"no_face": 1, "unreadable": 1}
    assert rep.several_faces == 1
    assert [e.identity for e in wl.entries] == ["alice", "bob", "bob"]
    assert all(e.sha256 and len(e.sha256) == 64 and e.category == "wanted" for e in wl.entries)
    assert wl.entries[0].source is not None and wl.entries[0].source.endswith("alice/0.png")
    (cl,) = wl.search(eng.table[2], k=1)
    assert cl.identities == ("bob",)


def test_enrol_folder_errors(tmp_path: Path) -> None:
    eng = FakeEngine()
    wl = Watchlist.for_engine(eng)
    with pytest.raises(WatchlistError, match="does not exist"):
        enrol_folder(wl, tmp_path / "missing", eng)
    with pytest.raises(WatchlistError, match="no identity sub-folders"):
        enrol_folder(wl, tmp_path, eng)
    other = Watchlist(dim=eng.dim, model_id="other-engine")
    (tmp_path / "x").mkdir()
    with pytest.raises(WatchlistError, match="does not match"):
        enrol_folder(other, tmp_path, eng)
