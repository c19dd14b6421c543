"""Watchlist: exact top-k by hand, faiss agrees with numpy, destroy, search errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from twin.errors import WatchlistError
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
