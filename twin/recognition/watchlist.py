"""The watchlist: a gallery of unit embeddings with per-entry metadata, and 1:N search.

A :class:`Watchlist` holds an (N, D) float32 gallery of L2-normalised embeddings from one engine
(``model_id``) and one :class:`WatchlistEntry` per row. :meth:`Watchlist.search` turns probes into
candidate lists (the k highest-scoring entries, score = cosine = inner product of unit vectors).

Search paths:

* **exact** (default below :data:`ANN_MIN_SIZE` entries): ``probes @ gallery.T`` in chunks that stay
  in cache, then a blocked top-k: the maximum of each block of :data:`TOPK_BLOCK` scores is taken
  (one vectorised pass), the k best blocks are kept, and the exact top-k is picked inside them. The
  true top-k always lies inside the k best blocks (an element outside them is beaten by k block
  maxima), so the result equals a full sort, at close to matrix-multiply speed
  (bench/bench_pipeline.py).
* **ann** (at or above :data:`ANN_MIN_SIZE`): a faiss ``IndexHNSWFlat`` (inner product), or
  ``IndexIVFFlat`` on request. Approximate: recall at the threshold is measured in the bench.

Entries come from :meth:`Watchlist.add` (embeddings and their metadata), from identity folders
(:func:`twin.recognition.enrol.enrol_folder`), or as fillers (:func:`twin.recognition.fillers.add_fillers`):
synthetic embeddings that stand in for the thousands of watchlist subjects no offline face set
provides; any FPIR measured on a watchlist holding them is an extrapolation
(:attr:`Watchlist.is_extrapolated`) and must be labelled so.

Privacy: :meth:`Watchlist.destroy` zeroes the gallery in place and drops it and any index; later
searches raise :class:`~twin.errors.WatchlistError`. Nothing here writes to disk.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from twin.errors import WatchlistError

if TYPE_CHECKING:
    from twin.recognition.engines.base import FaceEngine

__all__ = [
    "ANN_MIN_SIZE",
    "TOPK_BLOCK",
    "CandidateList",
    "Watchlist",
    "WatchlistEntry",
    "check_unit_rows",
    "topk_rows",
]

logger = logging.getLogger(__name__)

#: Gallery size (entries) from which :meth:`Watchlist.search` uses an ANN index instead of exact
#: search. Measured here (bench/bench_pipeline.py, 2-core CPU, one probe = one frame's search):
#: exact 0.13–0.3 ms at 16,000 × 128-d and ~1 ms at 16,000 × 512-d; 1.7 ms at 100,000 × 128-d and
#: ~9 ms at 100,000 × 512-d (9% of a camera's 100 ms frame budget at 10 frames/s, DESIGN.md);
#: HNSW 0.25 ms at 16,000 and 0.75 ms at 100,000 × 128-d, but it takes ~25 s to build at 100,000
#: and is approximate. So the ANN only pays at ~100,000 entries and up. LFR watchlists (Met Police
#: 2024–25: up to ~16,000 entries; NPL 2023 tested 1,000–10,000) stay exact; only synthetic
#: scale-ups go approximate.
ANN_MIN_SIZE: int = 100_000

#: Block length of the blocked top-k (scores per block). 128 keeps the candidate set k × 128 small
#: and the block-max pass vectorised; measured fastest of 32/64/128 at N = 16,000.
TOPK_BLOCK: int = 128

#: Scores per exact-search chunk (probes × padded gallery), 16 MB of float32: ~256 probes at
#: N = 16,000, enough rows for an efficient matrix product while the chunk stays in L3 for the
#: top-k pass (measured best of 1, 2, 4 and 8 M scores here).
_CHUNK_SCORES = 4_000_000

#: Gallery entries per tile of the exact search above this size (16 MB per tile at 128-d): each
#: tile is read from memory once and reused by every probe chunk, instead of streaming the whole
#: gallery once per probe chunk (which made 1,000,000 entries memory-bound at ~26 probes/s).
_TILE_COLS = 32_768

#: How far from 1 an L2 norm may be before a vector counts as not normalised.
_NORM_TOL = 1e-3


@dataclass(frozen=True)
class WatchlistEntry:
    """Metadata of one gallery row.

    Attributes:
        identity: who it is (folder name for identity folders; ``filler-<n>`` for fillers).
        source: the image it came from (path, or ``video#frame=k``), or None (fillers, arrays).
        sha256: hex SHA-256 of the source image's bytes, or None.
        category: optional watchlist category (e.g. "wanted", "missing person").
        notes: optional free text.
        filler: True for synthetic filler embeddings (:meth:`Watchlist.add_fillers`).
    """

    identity: str
    source: str | None = None
    _: KW_ONLY
    sha256: str | None = None
    category: str | None = None
    notes: str | None = None
    filler: bool = False


@dataclass(frozen=True)
class CandidateList:
    """The k highest-scoring gallery entries for one probe, best first.

    Attributes:
        indices: (k,) int64 gallery rows.
        identities: the k entries' identities.
        scores: (k,) float32 scores, sorted descending (cosine on the engine's scale).
        fillers: for each candidate, whether it is a filler entry.

    ``k`` may be smaller than requested when the gallery is smaller.
    """

    indices: np.ndarray
    identities: tuple[str, ...]
    scores: np.ndarray
    fillers: tuple[bool, ...] = ()

    @property
    def ranks(self) -> np.ndarray:
        """(k,) int64 ranks 1..k of the candidates."""
        return np.arange(1, len(self.indices) + 1, dtype=np.int64)

    @property
    def top_score(self) -> float:
        """Score of the rank-1 candidate (-inf for an empty list)."""
        return float(self.scores[0]) if len(self.scores) else -math.inf

    @property
    def top_identity(self) -> str | None:
        """Identity of the rank-1 candidate, or None."""
        return self.identities[0] if self.identities else None

    def rank_of(self, identity: str) -> int | None:
        """Rank (1-based) of the first candidate with this identity, or None if absent."""
        for r, ident in enumerate(self.identities, start=1):
            if ident == identity:
                return r
        return None

    def above(self, threshold: float) -> CandidateList:
        """The candidates scoring at least ``threshold`` (what an operator is shown)."""
        n = int(np.searchsorted(-self.scores, -threshold, side="right"))
        return CandidateList(self.indices[:n], self.identities[:n], self.scores[:n], self.fillers[:n])


def check_unit_rows(x: np.ndarray, what: str, dim: int | None) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or (dim is not None and arr.shape[1] != dim):
        want = f"(M, {dim})" if dim is not None else "(M, D)"
        raise WatchlistError(
            f"{what} has shape {np.shape(x)}, expected {want}; use embeddings from the same engine"
        )
    if not np.issubdtype(arr.dtype, np.floating):
        raise WatchlistError(f"{what} has dtype {arr.dtype}, expected float32 embeddings")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise WatchlistError(f"{what} contains NaN or infinite values; check the engine's output")
    norms = np.linalg.norm(arr, axis=1)
    bad = np.flatnonzero(np.abs(norms - 1.0) > _NORM_TOL)
    if bad.size:
        raise WatchlistError(
            f"{what} row {int(bad[0])} has L2 norm {norms[bad[0]]:.4f}, not 1; L2-normalise embeddings "
            "(engine.embed does) before enrolling or searching"
        )
    return arr


def _transpose_padded(g: np.ndarray) -> np.ndarray:
    """(D, N padded to a multiple of TOPK_BLOCK) float32 C-contiguous copy of g.T, zero-padded."""
    n, d = g.shape
    npad = -(-n // TOPK_BLOCK) * TOPK_BLOCK
    gt = np.zeros((d, npad), np.float32)
    gt[:, :n] = g.T
    return gt


def topk_rows(scores: np.ndarray, k: int, *, block: int = TOPK_BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k of each row of a score matrix, best first.

    Args:
        scores: (M, N) float32; columns beyond the real gallery may hold -inf.
        k: how many per row (1 <= k <= N).
        block: block length for the blocked algorithm (see module docstring); plain
            ``argpartition`` is used when N is not a multiple of it or k × block ≥ N / 2.

    Returns:
        (indices (M, k) int64, values (M, k) float32), each row sorted descending.

    >>> idx, val = topk_rows(np.array([[0.1, 0.9, 0.5, 0.7]], np.float32), 2, block=2)
    >>> idx.tolist(), [round(float(v), 2) for v in val[0]]
    ([[1, 3]], [0.9, 0.7])
    """
    m, n = scores.shape
    rows = np.arange(m)[:, None]
    if n % block == 0 and k * block * 2 <= n:
        nb = n // block
        s3 = scores.reshape(m, nb, block)
        bmax = s3.max(axis=2)
        blk = np.argpartition(bmax, nb - k, axis=1)[:, nb - k :]
        cand = s3[rows, blk].reshape(m, k * block)
        j = np.argpartition(cand, k * block - k, axis=1)[:, k * block - k :]
        cols = blk[rows, j // block] * block + j % block
        vals = cand[rows, j]
    else:
        cols = np.argpartition(scores, n - k, axis=1)[:, n - k :]
        vals = scores[rows, cols]
    order = np.argsort(-vals, axis=1, kind="stable")
    return cols[rows, order].astype(np.int64), vals[rows, order]


class Watchlist:
    """A gallery of unit embeddings from one engine, with metadata, searchable 1:N.

    Args:
        dim: embedding dimension D (128 for dlib, 512 for ArcFace).
        model_id: the engine that made the embeddings (``engine.model_id``); probes must match.
        ann_min_size: gallery size from which search goes through an ANN index.
        ann: the ANN index kind: ``"hnsw"`` (faiss IndexHNSWFlat, M = 32, efSearch = 128) or
            ``"ivf"`` (faiss IndexIVFFlat, nlist = 4 √N, nprobe = 32). On uniform synthetic 128-d
            data at 1,000,000 entries (the hardest case for IVF) nprobe 32 finds 83% of mates above
            the threshold, 128 finds 97%, 256 finds 99% (bench); HNSW found 100% at 100,000.

    Raises:
        WatchlistError: a bad dimension or option.

    >>> wl = Watchlist(dim=2, model_id="toy")
    >>> wl.add(np.array([[1, 0], [0, 1]], np.float32), [WatchlistEntry("a"), WatchlistEntry("b")])
    >>> wl.search(np.array([[0.6, 0.8]], np.float32), k=1)[0].identities
    ('b',)
    """

    def __init__(
        self,
        *,
        dim: int,
        model_id: str,
        ann_min_size: int = ANN_MIN_SIZE,
        ann: Literal["hnsw", "ivf"] = "hnsw",
    ) -> None:
        if not isinstance(dim, int) or dim < 1:
            raise WatchlistError(f"dim {dim!r} must be a positive integer (the engine's embedding size)")
        if ann not in ("hnsw", "ivf"):
            raise WatchlistError(f"ann {ann!r} must be 'hnsw' or 'ivf'")
        if ann_min_size < 1:
            raise WatchlistError(f"ann_min_size {ann_min_size} must be >= 1")
        self.dim = dim
        self.model_id = model_id
        self.ann_min_size = int(ann_min_size)
        self.ann = ann
        self._gallery: np.ndarray | None = np.zeros((0, dim), np.float32)
        self._entries: list[WatchlistEntry] = []
        self._gallery_t: np.ndarray | None = None  # (D, N padded) cache for exact search
        self._index: Any = None
        self._label_cache: tuple[np.ndarray, np.ndarray] | None = None
        self._destroyed = False

    # -- contents ---------------------------------------------------------------------------------

    @classmethod
    def for_engine(cls, engine: FaceEngine, **options: Any) -> Watchlist:
        """An empty watchlist for an engine's embeddings (``dim``, ``model_id`` from it)."""
        return cls(dim=int(engine.dim), model_id=engine.model_id, **options)

    @property
    def size(self) -> int:
        """Number of entries N."""
        return len(self._entries)

    def __len__(self) -> int:
        return self.size

    @property
    def entries(self) -> tuple[WatchlistEntry, ...]:
        """Per-row metadata."""
        return tuple(self._entries)

    @property
    def identities(self) -> tuple[str, ...]:
        """Distinct identities, in enrolment order."""
        return tuple(dict.fromkeys(e.identity for e in self._entries))

    @property
    def n_fillers(self) -> int:
        """Number of filler entries."""
        return sum(e.filler for e in self._entries)

    @property
    def is_extrapolated(self) -> bool:
        """True when fillers are present: any FPIR measured on this watchlist is extrapolated."""
        return self.n_fillers > 0

    @property
    def is_destroyed(self) -> bool:
        """True after :meth:`destroy`."""
        return self._destroyed

    @property
    def gallery(self) -> np.ndarray:
        """(N, D) float32 L2-normalised gallery (read-only view).

        Raises:
            WatchlistError: the watchlist was destroyed.
        """
        g = self._live()
        view = g.view()
        view.flags.writeable = False
        return view

    def _live(self) -> np.ndarray:
        if self._destroyed or self._gallery is None:
            raise WatchlistError(
                "this watchlist was destroyed (its gallery zeroed and dropped); build a new one to "
                "search again"
            )
        return self._gallery

    def add(self, embeddings: np.ndarray, entries: Sequence[WatchlistEntry]) -> None:
        """Append rows.

        Args:
            embeddings: (n, D) float32, L2-normalised.
            entries: n metadata records.

        Raises:
            WatchlistError: destroyed, wrong shape, not normalised, or counts differ.
        """
        g = self._live()
        emb = check_unit_rows(embeddings, "embeddings", self.dim)
        if len(entries) != len(emb):
            raise WatchlistError(f"{len(emb)} embeddings but {len(entries)} entries; pass one entry per row")
        self._gallery = np.vstack([g, emb]) if len(g) else emb.copy()
        self._entries.extend(entries)
        self._gallery_t = None
        self._index = None

    # -- search -----------------------------------------------------------------------------------

    def uses_ann(self) -> bool:
        """Whether :meth:`search` goes through the ANN index (N >= ann_min_size)."""
        return self.size >= self.ann_min_size

    def search(self, probes: np.ndarray, k: int = 5, *, exact: bool | None = None) -> list[CandidateList]:
        """1:N search: the k best entries for each probe.

        Args:
            probes: (M, D) float32 L2-normalised (a single (D,) probe is accepted).
            k: candidate list length (>= 1); capped at N.
            exact: force exact (True) or ANN (False) search; default by size (:data:`ANN_MIN_SIZE`).

        Returns:
            M :class:`CandidateList`, scores descending.

        Raises:
            WatchlistError: destroyed, empty, wrong probe shape/dim, probes not normalised, bad k.
        """
        g = self._live()
        if self.size == 0:
            raise WatchlistError("the watchlist is empty; enrol faces before searching")
        if not isinstance(k, int | np.integer) or k < 1:
            raise WatchlistError(f"k {k!r} must be a positive integer")
        q = check_unit_rows(probes, "probes", self.dim)
        k = min(int(k), self.size)
        use_ann = self.uses_ann() if exact is None else not exact
        idx, val = self._search_ann(q, k) if use_ann else self._search_exact(g, q, k)
        ids, fill = self._labels()
        idx = np.where(idx >= 0, idx, -1)  # faiss pads missing results with -1
        cand_ids = ids[np.maximum(idx, 0)].tolist()
        cand_fill = fill[np.maximum(idx, 0)].tolist()
        out = []
        for r in range(len(q)):
            row = idx[r]
            n_ok = int((row >= 0).sum())
            out.append(
                CandidateList(
                    indices=row[:n_ok],
                    identities=tuple(cand_ids[r][:n_ok]),
                    scores=val[r, :n_ok],
                    fillers=tuple(cand_fill[r][:n_ok]),
                )
            )
        return out

    def _labels(self) -> tuple[np.ndarray, np.ndarray]:
        """Cached (N,) object array of identities and (N,) bool array of filler flags."""
        if self._label_cache is None or len(self._label_cache[0]) != len(self._entries):
            ids = np.empty(len(self._entries), dtype=object)
            ids[:] = [e.identity for e in self._entries]
            self._label_cache = (ids, np.array([e.filler for e in self._entries], bool))
        return self._label_cache

    def _padded_transpose(self, g: np.ndarray) -> np.ndarray:
        if self._gallery_t is None:
            self._gallery_t = _transpose_padded(g)
        return self._gallery_t

    def _search_exact(self, g: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k. Up to :data:`_TILE_COLS` entries: one cached (D, N) transposed gallery,
        probes in chunks. Above: gallery tiles (outer loop, each read from memory once, used in
        place through a transposed view) × probe chunks (inner), each tile's top-k merged into a
        running top-k per probe; no copy of a large gallery is made."""
        n = len(g)
        if n <= _TILE_COLS:
            return self._exact_tile(self._padded_transpose(g), n, q, k)
        best_i = np.zeros((len(q), k), np.int64)
        best_v = np.full((len(q), k), -np.inf, np.float32)
        rows = np.arange(len(q))[:, None]
        chunk = max(1, _CHUNK_SCORES // _TILE_COLS)
        flat = np.empty(min(chunk, len(q)) * _TILE_COLS, np.float32)
        for c0 in range(0, n, _TILE_COLS):
            tile = g[c0 : c0 + _TILE_COLS]  # (w, D) rows, used through a transposed view: no copy
            w = len(tile)
            kk = min(k, w)
            for s in range(0, len(q), chunk):
                part = q[s : s + chunk]
                out = flat[: len(part) * w].reshape(len(part), w)  # contiguous: BLAS writes it directly
                np.matmul(part, tile.T, out=out)
                idx, val = topk_rows(out, kk)
                cv = np.concatenate([best_v[s : s + len(part)], val], axis=1)
                ci = np.concatenate([best_i[s : s + len(part)], idx + c0], axis=1)
                j = np.argpartition(cv, cv.shape[1] - k, axis=1)[:, cv.shape[1] - k :]
                r = rows[: len(part)]
                best_v[s : s + len(part)], best_i[s : s + len(part)] = cv[r, j], ci[r, j]
        flat[...] = 0.0  # scores of probes are not kept
        order = np.argsort(-best_v, axis=1, kind="stable")
        return best_i[rows, order], best_v[rows, order]

    @staticmethod
    def _exact_tile(gt: np.ndarray, n: int, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of q against the first n columns of a (D, N padded) transposed gallery."""
        npad = gt.shape[1]
        chunk = max(1, _CHUNK_SCORES // npad)
        buf = np.empty((min(chunk, len(q)), npad), np.float32)
        idx = np.empty((len(q), k), np.int64)
        val = np.empty((len(q), k), np.float32)
        for s in range(0, len(q), chunk):
            part = q[s : s + chunk]
            out = buf[: len(part)]
            np.matmul(part, gt, out=out)
            out[:, n:] = -np.inf
            idx[s : s + len(part)], val[s : s + len(part)] = topk_rows(out, k)
        buf[...] = 0.0  # scores of probes are not kept
        return idx, val

    def _build_index(self, g: np.ndarray) -> Any:
        try:
            import faiss
        except ImportError as exc:  # pragma: no cover - faiss-cpu is a dependency
            raise WatchlistError(
                f"ANN search needs faiss ({exc}); install faiss-cpu or search with exact=True"
            ) from exc
        index: Any
        if self.ann == "hnsw":
            index = faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.add(g)
            index.hnsw.efSearch = 128
        else:
            nlist = max(1, min(int(4 * math.sqrt(len(g))), len(g) // 39))
            quant = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFFlat(quant, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            index.train(g)
            index.add(g)
            index.nprobe = min(32, nlist)
        return index

    def _search_ann(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        g = self._live()
        if self._index is None:
            self._index = self._build_index(g)
        val, idx = self._index.search(q, k)
        return idx.astype(np.int64), val.astype(np.float32)

    # -- privacy ----------------------------------------------------------------------------------

    def destroy(self) -> None:
        """Zero the gallery in place, drop it and any index; later searches raise WatchlistError.

        Entries' metadata is kept (identities and sources are needed for the run record), the
        biometric templates are not. Idempotent.
        """
        if self._gallery is not None:
            self._gallery[...] = 0.0
        if self._gallery_t is not None:
            self._gallery_t[...] = 0.0
        if self._index is not None:
            self._index.reset()
        self._gallery = None
        self._gallery_t = None
        self._index = None
        self._destroyed = True
        logger.info("watchlist of %d entries destroyed", len(self._entries))

    def __repr__(self) -> str:
        state = "destroyed" if self._destroyed else f"{self.size} entries, {self.n_fillers} fillers"
        return f"Watchlist({self.model_id}, {self.dim}-d, {state})"

    # -- construction helpers ---------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        embeddings: np.ndarray,
        identities: Iterable[str],
        *,
        model_id: str,
        **options: Any,
    ) -> Watchlist:
        """A watchlist from (N, D) unit embeddings and N identities (no source images).

        Raises:
            WatchlistError: as :meth:`add`.
        """
        emb = np.asarray(embeddings)
        if emb.ndim != 2:
            raise WatchlistError(f"embeddings have shape {emb.shape}, expected (N, D)")
        wl = cls(dim=int(emb.shape[1]), model_id=model_id, **options)
        wl.add(emb, [WatchlistEntry(str(i)) for i in identities])
        return wl
