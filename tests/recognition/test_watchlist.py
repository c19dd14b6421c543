"""Watchlist: exact top-k by hand, faiss agrees with numpy, destroy, fillers, enrolment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from PIL import Image

from fixtures_engines import FakeEngine, paint_faces
from twin.errors import WatchlistError
from twin.recognition.enrol import enrol_folder
from twin.recognition.fillers import add_fillers
from twin.recognition.watchlist import CandidateList, Watchlist, WatchlistEntry, topk_rows


def _unit(rows: list[list[float]]) -> np.ndarray:
    a = np.asarray(rows, np.float32)
    return a / np.linalg.norm(a, axis=1, keepdims=True)


@pytest.fixture
def tiny() -> Watchlist:
    """Four 3-d entries; probe (1, 0, 0) scores them by hand: 1.0, 0.6, 0.0, -0.8."""
    g = np.array([[1, 0, 0], [0.6, 0.8, 0], [0, 0, 1], [-0.8, 0.6, 0]], np.float32)
    wl = Watchlist(dim=3, model_id="toy")
    wl.add(g, [WatchlistEntry(x) for x in "abcd"])
    return wl


def test_exact_top_k_by_hand(tiny: Watchlist) -> None:
    (cl,) = tiny.search(np.array([[1, 0, 0]], np.float32), k=3)
    assert cl.identities == ("a", "b", "c")
    np.testing.assert_allclose(cl.scores, [1.0, 0.6, 0.0], atol=1e-6)
    assert cl.indices.tolist() == [0, 1, 2]
    assert cl.ranks.tolist() == [1, 2, 3]
    assert cl.rank_of("b") == 2 and cl.rank_of("d") is None
    assert cl.above(0.5).identities == ("a", "b")
    # probe (0, 1, 0): b 0.8, d 0.6, a 0, c 0
    (cl2,) = tiny.search(np.array([0, 1, 0], np.float32), k=2)
    assert cl2.identities == ("b", "d")


def test_k_is_capped_at_gallery_size(tiny: Watchlist) -> None:
    (cl,) = tiny.search(_unit([[1, 1, 1]]), k=50)
    assert len(cl.indices) == 4
    assert np.all(np.diff(cl.scores) <= 0)


def test_blocked_top_k_equals_full_sort() -> None:
    rng = np.random.default_rng(3)
    s = rng.standard_normal((7, 128 * 40)).astype(np.float32)
    idx, val = topk_rows(s, 5, block=128)
    ref = np.argsort(-s, axis=1)[:, :5]
    np.testing.assert_array_equal(idx, ref)
    np.testing.assert_array_equal(val, np.take_along_axis(s, ref, 1))


@pytest.mark.parametrize("ann", ["hnsw", "ivf"])
def test_faiss_path_agrees_with_numpy(ann: str) -> None:
    rng = np.random.default_rng(0)
    g = rng.standard_normal((3000, 64)).astype(np.float32)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    q = g[:50] + 0.05 * rng.standard_normal((50, 64)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    wl = Watchlist.from_arrays(g, [f"p{i}" for i in range(3000)], model_id="toy", ann_min_size=1000, ann=ann)
    assert wl.uses_ann()
    approx = wl.search(q, k=5)
    exact = wl.search(q, k=5, exact=True)
    top1 = np.mean([a.indices[0] == e.indices[0] for a, e in zip(approx, exact, strict=True)])
    assert top1 == 1.0  # near-duplicate probes: the mate is always found
    for a, e in zip(approx, exact, strict=True):
        np.testing.assert_allclose(a.scores[0], e.scores[0], atol=1e-5)


def test_faiss_flat_and_numpy_give_identical_lists() -> None:
    import faiss

    rng = np.random.default_rng(1)
    g = _unit(rng.standard_normal((1000, 32)).tolist())
    q = _unit(rng.standard_normal((20, 32)).tolist())
    wl = Watchlist.from_arrays(g, [str(i) for i in range(1000)], model_id="toy")
    index = faiss.IndexFlatIP(32)
    index.add(g)
    val, idx = index.search(q, 5)
    ours = wl.search(q, k=5)
    np.testing.assert_array_equal(np.stack([c.indices for c in ours]), idx)
    np.testing.assert_allclose(np.stack([c.scores for c in ours]), val, atol=1e-5)


def test_destroy_zeroes_and_blocks_search(tiny: Watchlist) -> None:
    g = tiny._gallery
    assert g is not None
    tiny.destroy()
    assert not g.any()  # the memory the gallery lived in is zeroed, not just dropped
    assert tiny.is_destroyed
    with pytest.raises(WatchlistError, match="destroyed"):
        tiny.search(np.array([[1, 0, 0]], np.float32))
    with pytest.raises(WatchlistError, match="destroyed"):
        _ = tiny.gallery
    tiny.destroy()  # idempotent
    assert tiny.identities == ("a", "b", "c", "d")  # metadata stays for the run record


def test_fillers_are_labelled_extrapolated_and_match_target() -> None:
    rng = np.random.default_rng(5)
    # real entries in a cone around a common direction, like dlib's (non-mated cosines ~0.8)
    base = np.zeros(128, np.float32)
    base[0] = 1.0
    real = base + 0.5 * rng.standard_normal((12, 128)).astype(np.float32) / np.sqrt(128)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    wl = Watchlist.from_arrays(real, [f"r{i}" for i in range(12)], model_id="toy")
    assert not wl.is_extrapolated
    rep = add_fillers(wl, 500, np.random.default_rng(9), target_mean=0.83, target_sd=0.03)
    assert wl.is_extrapolated and wl.n_fillers == 500 and wl.size == 512
    assert all(e.filler for e in wl.entries[12:]) and not any(e.filler for e in wl.entries[:12])
    assert abs(rep.achieved_mean - 0.83) < 0.01
    assert 0.015 < rep.achieved_sd < 0.06
    (cl,) = wl.search(wl.gallery[0], k=3)  # a real entry finds itself first, then fillers may follow
    assert cl.fillers[0] is False and cl.identities[0] == "r0"


def test_fillers_default_target_is_measured_non_mated() -> None:
    rng = np.random.default_rng(6)
    real = rng.standard_normal((10, 16)).astype(np.float32) + 3.0
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    wl = Watchlist.from_arrays(real, [f"r{i}" for i in range(10)], model_id="toy")
    s = real @ real.T
    iu = np.triu_indices(10, 1)
    rep = add_fillers(wl, 400, np.random.default_rng(1))
    assert rep.target_mean == pytest.approx(float(s[iu].mean()), abs=1e-6)
    assert abs(rep.achieved_mean - rep.target_mean) < 0.01
    # same seed, same fillers
    wl2 = Watchlist.from_arrays(real, [f"r{i}" for i in range(10)], model_id="toy")
    add_fillers(wl2, 400, np.random.default_rng(1))
    np.testing.assert_array_equal(wl.gallery, wl2.gallery)


def test_fillers_need_real_entries() -> None:
    wl = Watchlist.from_arrays(_unit([[1, 0]]), ["a"], model_id="toy")
    with pytest.raises(WatchlistError, match="at least 2"):
        add_fillers(wl, 5, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("probe", "match"),
    [
        (np.ones((1, 4), np.float32), "shape"),
        (np.full((1, 3), 2.0, np.float32), "norm"),
        (np.array([[np.nan, 0, 0]], np.float32), "NaN"),
        (np.array([[1, 0, 0]], np.int64), "dtype"),
    ],
)
def test_bad_probes_are_refused(tiny: Watchlist, probe: np.ndarray, match: str) -> None:
    with pytest.raises(WatchlistError, match=match):
        tiny.search(probe)


def test_empty_watchlist_refuses_search() -> None:
    with pytest.raises(WatchlistError, match="empty"):
        Watchlist(dim=3, model_id="toy").search(_unit([[1, 0, 0]]))


@settings(max_examples=60, deadline=None)
@given(
    g=arrays(np.float32, st.tuples(st.integers(1, 300), st.just(8)), elements=st.floats(-1, 1, width=32)),
    q=arrays(np.float32, st.tuples(st.integers(1, 5), st.just(8)), elements=st.floats(-1, 1, width=32)),
)
def test_top1_is_argmax(g: np.ndarray, q: np.ndarray) -> None:
    g = g + np.float32(1e-3) * np.arange(1, 9, dtype=np.float32)  # avoid all-zero rows
    q = q + np.float32(1e-3)
    g /= np.linalg.norm(g, axis=1, keepdims=True)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    wl = Watchlist.from_arrays(g, [str(i) for i in range(len(g))], model_id="toy")
    for probe, cl in zip(q, wl.search(q, k=3), strict=True):
        scores = g @ probe
        assert cl.scores[0] == pytest.approx(scores.max(), abs=1e-5)
        assert scores[cl.indices[0]] == pytest.approx(scores.max(), abs=1e-5)


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


def test_candidate_list_is_frozen() -> None:
    cl = CandidateList(np.array([0]), ("a",), np.array([0.5], np.float32), (False,))
    with pytest.raises(AttributeError):
        cl.identities = ("b",)  # type: ignore[misc]
    assert cl.top_score == 0.5 and cl.top_identity == "a"


def test_tiled_exact_search_equals_full_sort(monkeypatch: pytest.MonkeyPatch) -> None:
    import twin.recognition.watchlist as wlmod

    monkeypatch.setattr(wlmod, "_TILE_COLS", 1000)  # force several gallery tiles (the last one partial)
    rng = np.random.default_rng(11)
    g = _unit(rng.standard_normal((3300, 24)).tolist())
    q = _unit(rng.standard_normal((40, 24)).tolist())
    wl = Watchlist.from_arrays(g, [str(i) for i in range(3300)], model_id="toy")
    got = wl.search(q, k=7)
    s = q @ g.T
    ref = np.argsort(-s, axis=1, kind="stable")[:, :7]
    np.testing.assert_array_equal(np.stack([c.indices for c in got]), ref)
    np.testing.assert_allclose(np.stack([c.scores for c in got]), np.take_along_axis(s, ref, 1), atol=1e-6)
