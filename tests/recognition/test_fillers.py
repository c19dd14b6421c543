"""Fillers: labelled extrapolated, fitted to the target non-mated scores, reproducible from the seed."""

from __future__ import annotations

import numpy as np
import pytest

from twin.errors import WatchlistError
from twin.recognition.fillers import add_fillers
from twin.recognition.watchlist import Watchlist


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
    wl = Watchlist.from_arrays(np.array([[1.0, 0.0]], np.float32), ["a"], model_id="toy")
    with pytest.raises(WatchlistError, match="at least 2"):
        add_fillers(wl, 5, np.random.default_rng(0))


def _cone(rng: np.random.Generator, n: int, dim: int = 64) -> np.ndarray:
    base = np.zeros(dim, np.float32)
    base[0] = 1.0
    x = base + 0.5 * rng.standard_normal((n, dim)).astype(np.float32) / np.sqrt(dim)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_fillers_score_higher_against_their_own_references_than_against_others() -> None:
    """Why passers-by must not be references: fillers sit around the references' mean, so a reference face
    gets higher filler scores than a face of the same population left out (the near-duplicate bias)."""
    rng = np.random.default_rng(3)
    faces = _cone(rng, 16)
    ref, held = faces[:8], faces[8:]
    wl = Watchlist.from_arrays(ref[:1], ["r0"], model_id="toy")
    add_fillers(wl, 2000, np.random.default_rng(4), reference=ref)
    f = wl.gallery[1:]
    assert (ref @ f.T).mean() > (held @ f.T).mean() + 0.01
    assert np.median((ref @ f.T).max(axis=1)) > np.median((held @ f.T).max(axis=1))


def test_distinct_from_redraws_only_the_duplicates_and_leaves_rng_as_it_was() -> None:
    rng = np.random.default_rng(5)
    faces = _cone(rng, 12)
    ref, passers = faces[:6], faces[6:]

    def build(**kw: object) -> tuple[Watchlist, np.random.Generator]:
        wl = Watchlist.from_arrays(ref[:1], ["r0"], model_id="toy")
        gen = np.random.default_rng(8)
        add_fillers(wl, 3000, gen, reference=ref, **kw)  # type: ignore[arg-type]
        return wl, gen

    plain, g1 = build()
    below = float(np.quantile((plain.gallery[1:] @ passers.T).max(axis=1), 0.9))  # 10% are "duplicates"
    kept, g2 = build(distinct_from=passers, distinct_below=below)
    top = (kept.gallery[1:] @ passers.T).max(axis=1)
    assert top.max() < below  # no filler scores `below` against a passer-by
    old_top = (plain.gallery[1:] @ passers.T).max(axis=1)
    same = old_top < below
    assert 200 < (~same).sum() < 400
    np.testing.assert_array_equal(kept.gallery[1:][same], plain.gallery[1:][same])  # the others unchanged
    assert g1.integers(1 << 30) == g2.integers(1 << 30)  # the caller's generator used as before
    with pytest.raises(WatchlistError, match="together"):
        add_fillers(Watchlist.from_arrays(ref, list("abcdef"), model_id="toy"), 5, rng, distinct_below=0.9)
    with pytest.raises(WatchlistError, match="redraws"):
        add_fillers(
            Watchlist.from_arrays(ref, list("abcdef"), model_id="toy"), 50, rng, distinct_from=passers,
            distinct_below=-1.0,
        )  # fmt: skip
