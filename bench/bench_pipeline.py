"""Benchmarks of the recognition pipeline and 1:N search, measured in one run on this machine.

Run from the repository root (the dlib part needs the sample photos of ``twin samples`` for the
Obama/Biden faces; the packaged t1.jpg faces suffice otherwise):

    .venv/bin/python bench/bench_pipeline.py            # all sections, ~1-2 min on 2 cores
    .venv/bin/python bench/bench_pipeline.py --quick    # smaller sizes, for a smoke test

Sections:

1. fp32 matmul peak of this machine (best of several 4096² numpy products).
2. Pipeline faces/s: :class:`twin.recognition.pipeline.RecognitionPipeline.process_batch` (frames detected in
   threads, one embedding batch over 2 processes, one search) against a naive image-by-image loop
   doing the same work (detect, embed each face, search each probe), dlib engine, composed 1080p
   frames, 16,000-entry watchlist. Target ≥ 1.5×.
3. 1:N search, 16,000 entries at 128-d and 512-d, 4,096 probes: numpy exact (the watchlist's
   kernel, and with its CandidateList records) against faiss IndexFlatIP, as probes/s and as a
   share of the matmul peak (2·M·N·D flop). Target ≥ 70 % for exact batched search.
4. Per-frame latency (one probe) exact vs HNSW at 16,000 and 100,000 entries: the basis of
   :data:`twin.recognition.watchlist.ANN_MIN_SIZE`.
5. faiss IVF recall at the threshold for 1,000,000 synthetic 128-d entries (< 4 GB, < 3 min).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

try:
    import twin  # noqa: F401
except ImportError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twin.recognition.fillers import add_fillers
from twin.recognition.watchlist import TOPK_BLOCK, Watchlist, WatchlistEntry

if TYPE_CHECKING:
    from twin.recognition.engines.dlib import DlibEngine
    from twin.recognition.faces.bank import FaceBank

RESULTS: dict[str, str] = {}


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _best(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def matmul_peak(n: int = 4096, repeats: int = 5) -> float:
    """Best fp32 GFLOP/s of an n×n @ n×n numpy product (BLAS, all cores)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    out = np.empty((n, n), np.float32)
    np.matmul(a, b, out=out)
    dt = _best(lambda: np.matmul(a, b, out=out), repeats)
    return 2 * n**3 / dt / 1e9


# -- 2. pipeline ------------------------------------------------------------------------------------


def bench_pipeline(n_frames: int, faces_per_frame: int) -> None:
    from twin.recognition.engines.dlib import DlibEngine
    from twin.recognition.faces.bank import FaceBank
    from twin.recognition.pipeline import FrameInput, QualityGate, RecognitionPipeline

    rng = np.random.default_rng(1)
    ied = 40.0
    # det_scores=False: dlib's plain HOG call releases the GIL (its scoring call does not), for both
    batched_engine = DlibEngine(expected_ied_px=ied, embed_workers=2, det_scores=False)
    naive_engine = DlibEngine(expected_ied_px=ied, det_scores=False)
    bank = FaceBank.from_samples(naive_engine)
    people = [p for p in bank.identities if p.startswith("t1_person_") or p in ("barack_obama", "joe_biden")]
    wl = _bench_watchlist(naive_engine, bank, people, rng)
    frames = _bench_frames(naive_engine, bank, people, rng, n_frames, faces_per_frame, ied)
    gate = QualityGate(min_ied_px=20.0)
    thr = naive_engine.default_threshold

    def naive() -> list[tuple[str, float]]:
        hits = []
        for t, frame in enumerate(frames):
            for face in naive_engine.detect(frame):
                if gate.reason(face) is not None:
                    continue
                emb = naive_engine.embed(frame, [face])
                (cl,) = wl.search(emb, k=5)
                if cl.top_score >= thr:
                    hits.append((cl.identities[0], float(t)))
        return hits

    pipe = RecognitionPipeline(batched_engine, wl, gate=gate, detect_workers=os.cpu_count() or 2)
    batched_engine.warm_up()

    def batched() -> list[tuple[str, float]]:
        res = pipe.process_batch(
            [FrameInput(image=f, t_s=float(t), camera_id="cam") for t, f in enumerate(frames)]
        )
        return [(a.identity, a.t_s) for r in res for a in r]

    naive_hits = naive()  # warm caches, and the reference answer
    batched_hits = batched()
    t_naive = _best(naive, 3)
    t_batched = _best(batched, 3)
    n_faces = pipe.counters.probes_searched // 4  # four batched runs so far
    same = sorted(naive_hits) == sorted(batched_hits)
    RESULTS["pipeline faces/s naive"] = f"{n_faces / t_naive:.2f}"
    RESULTS["pipeline faces/s batched"] = f"{n_faces / t_batched:.2f}"
    RESULTS["pipeline speed-up (target >= 1.5)"] = f"{t_naive / t_batched:.2f}x"
    print(
        f"[pipeline] {n_frames} frames 1920x1080, {n_faces} faces at ied {ied:.0f} px, watchlist {wl.size} "
        f"({wl.n_fillers} fillers): naive {t_naive:.2f} s = {n_faces / t_naive:.2f} faces/s; batched "
        f"{t_batched:.2f} s "
        f"= {n_faces / t_batched:.2f} faces/s; speed-up {t_naive / t_batched:.2f}x; same alerts: {same} "
        f"({len(naive_hits)} alerts)"
    )
    pipe.close()
    batched_engine.close()
    wl.destroy()


def _bench_watchlist(
    engine: DlibEngine, bank: FaceBank, people: list[str], rng: np.random.Generator
) -> Watchlist:
    """Three t1 people and Obama enrolled, fillers up to 16,000 entries."""
    wl = Watchlist.for_engine(engine)
    enrolled = [p for p in people if p in ("t1_person_0", "t1_person_2", "t1_person_4", "barack_obama")]
    for p in enrolled:
        src = bank.enrolment_image(p)
        img = bank.load(src)
        wl.add(engine.embed(img, [bank.face(src, engine)]), [WatchlistEntry(p, src.source)])
    # fillers against all sample faces (the references stand for real probes)
    refs = []
    for p in people:
        src = bank.enrolment_image(p)
        refs.append(engine.embed(bank.load(src), [bank.face(src, engine)])[0])
    add_fillers(wl, 16_000 - wl.size, rng, reference=np.vstack(refs))

    return wl


def _bench_frames(
    engine: DlibEngine,
    bank: FaceBank,
    people: list[str],
    rng: np.random.Generator,
    n_frames: int,
    faces_per_frame: int,
    ied: float,
) -> list[np.ndarray]:
    """``faces_per_frame`` rendered probes per frame (a different image than enrolled where there is one)."""
    from twin.recognition.faces.compose import compose_frame
    from twin.recognition.faces.render import render_probe

    frames = []
    for i in range(n_frames):
        probes = []
        for j in range(faces_per_frame):
            p = people[(i * faces_per_frame + j) % len(people)]
            src = bank.probe_image(p)
            probes.append(
                render_probe(bank.load(src), bank.face(src, engine), ied_px=ied, rng=rng, jpeg_quality=80)
            )
        pos = [
            (300.0 + 650 * j + rng.uniform(-80, 80), 450.0 + rng.uniform(-150, 150))
            for j in range(faces_per_frame)
        ]
        frames.append(compose_frame(probes, pos, rng=rng).frame)
    return frames


# -- 3. 1:N throughput ------------------------------------------------------------------------------


def bench_search(peak: float, n: int, m: int) -> None:
    import faiss

    rng = np.random.default_rng(2)
    for d in (128, 512):
        g = _unit(rng.standard_normal((n, d), dtype=np.float32))
        q = _unit(rng.standard_normal((m, d), dtype=np.float32))
        wl = Watchlist.from_arrays(g, [f"p{i}" for i in range(n)], model_id="bench")
        flop = 2.0 * m * n * d
        wl.search(q[:64], k=5)  # build the padded transpose once
        t_kernel = _best(lambda wl=wl, q=q: wl._search_exact(wl._gallery, q, 5), 3)
        t_records = _best(lambda wl=wl, q=q: wl.search(q, k=5, exact=True), 3)
        index = faiss.IndexFlatIP(d)
        index.add(g)
        t_faiss = _best(lambda index=index, q=q: index.search(q, 5), 3)
        idx_np, _ = wl._search_exact(wl._gallery, q[:256], 5)
        _, idx_f = index.search(q[:256], 5)
        agree = float(np.mean(idx_np[:, 0] == idx_f[:, 0]))
        for name, t in (
            ("numpy exact kernel", t_kernel),
            ("numpy exact + records", t_records),
            ("faiss IndexFlatIP", t_faiss),
        ):
            share = flop / t / 1e9 / peak
            RESULTS[f"1:N {d}-d {name} probes/s"] = f"{m / t:,.0f} ({share:.0%} of peak)"
            print(
                f"[search] N={n:,} D={d} M={m:,} {name:24s}: {m / t:>10,.0f} probes/s, "
                f"{flop / t / 1e9:6.1f} GFLOP/s = {share:.0%} of peak"
            )
        print(f"[search] numpy and faiss top-1 agree on {agree:.1%} of 256 probes; top-k block {TOPK_BLOCK}")
        index.reset()
        wl.destroy()
        gc.collect()


# -- 4. latency: exact vs HNSW ---------------------------------------------------------------------


def bench_latency(sizes: list[int]) -> None:
    rng = np.random.default_rng(3)
    for n in sizes:
        for d in (128, 512):
            g = _unit(rng.standard_normal((n, d), dtype=np.float32))
            q = _unit(rng.standard_normal((200, d), dtype=np.float32))
            wl = Watchlist.from_arrays(g, [f"p{i}" for i in range(n)], model_id="bench", ann_min_size=10**9)
            wl.search(q[:1], k=5)
            t_exact = (
                _best(lambda wl=wl, q=q: [wl.search(q[i : i + 1], k=5, exact=True) for i in range(50)], 2)
                / 50
            )
            line = f"[latency] N={n:>7,} D={d}: exact {t_exact * 1e3:6.2f} ms/probe"
            RESULTS[f"latency exact N={n} D={d}"] = f"{t_exact * 1e3:.2f} ms"
            if d == 128:
                t0 = time.perf_counter()
                wl.search(q[:1], k=5, exact=False)  # builds HNSW
                build = time.perf_counter() - t0
                t_hnsw = (
                    _best(
                        lambda wl=wl, q=q: [wl.search(q[i : i + 1], k=5, exact=False) for i in range(200)], 2
                    )
                    / 200
                )
                # recall at the threshold of mated probes (mate cosine uniform in 0.61..0.95, threshold 0.6)
                mates = rng.choice(n, 500, replace=False)
                target = rng.uniform(0.61, 0.95, 500).astype(np.float32)[:, None]
                noise = rng.standard_normal((500, d), dtype=np.float32)
                noise = _unit(noise - (noise * g[mates]).sum(1, keepdims=True) * g[mates])
                mq = target * g[mates] + np.sqrt(1 - target**2) * noise
                found = np.array(
                    [
                        c.indices[0] == m and c.scores[0] >= 0.6
                        for c, m in zip(wl.search(mq, k=5, exact=False), mates, strict=True)
                    ]
                )
                line += (
                    f"; HNSW {t_hnsw * 1e3:5.2f} ms/probe (build {build:.1f} s), recall at threshold "
                    f"{found.mean():.3f}"
                )
                RESULTS[f"latency HNSW N={n} D={d}"] = (
                    f"{t_hnsw * 1e3:.2f} ms (build {build:.1f} s), recall@thr {found.mean():.3f}"
                )
            print(line)
            wl.destroy()
            gc.collect()


# -- 5. recall at 1M ---------------------------------------------------------------------------------


def bench_recall(n: int, n_probes: int = 2000, d: int = 128, threshold: float = 0.6) -> None:
    import faiss

    t_start = time.perf_counter()
    rng = np.random.default_rng(4)
    g = np.empty((n, d), np.float32)
    for s in range(0, n, 100_000):
        g[s : s + 100_000] = _unit(rng.standard_normal((min(100_000, n - s), d), dtype=np.float32))
    # mated probes: mate j, cosine spread uniformly from just above the threshold to 0.95
    mates = rng.choice(n, n_probes, replace=False)
    target = rng.uniform(threshold + 0.01, 0.95, n_probes).astype(np.float32)
    noise = rng.standard_normal((n_probes, d), dtype=np.float32)
    noise -= (noise * g[mates]).sum(1, keepdims=True) * g[mates]
    noise = _unit(noise)
    q = target[:, None] * g[mates] + np.sqrt(1 - target[:, None] ** 2) * noise
    t0 = time.perf_counter()
    nlist = 1024
    quant = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quant, d, nlist, faiss.METRIC_INNER_PRODUCT)
    index.train(g[rng.choice(n, 64 * nlist, replace=False)])
    index.add(g)
    build = time.perf_counter() - t0
    wl = Watchlist.from_arrays(g, [""] * n, model_id="bench")
    t0 = time.perf_counter()
    exact_idx, exact_val = wl._search_exact(wl._gallery, q, 5)
    t_exact = time.perf_counter() - t0
    true_hit = (exact_idx[:, 0] == mates) & (exact_val[:, 0] >= threshold)
    print(
        f"[recall] N={n:,} D={d}: IVF{nlist} built in {build:.1f} s; exact numpy "
        f"{n_probes / t_exact:,.0f} probes/s; "
        f"{true_hit.mean():.1%} of probes have their mate at rank 1 above {threshold}"
    )
    band = target < threshold + 0.1
    for nprobe in (8, 32, 64, 128, 256):
        index.nprobe = nprobe
        t0 = time.perf_counter()
        val, idx = index.search(q, 5)
        t_ann = time.perf_counter() - t0
        found = (idx[:, 0] == mates) & (val[:, 0] >= threshold)
        recall = found[true_hit].mean()
        recall_band = found[true_hit & band].mean()
        print(
            f"[recall]   nprobe {nprobe:3d}: recall at threshold {recall:.3f} (mates within 0.1 of it: "
            f"{recall_band:.3f}), "
            f"{n_probes / t_ann:,.0f} probes/s"
        )
        RESULTS[f"IVF recall@thr N={n} nprobe={nprobe}"] = (
            f"{recall:.3f} (near-threshold {recall_band:.3f}), {n_probes / t_ann:,.0f} probes/s"
        )
    mem_gb = (g.nbytes * 2) / 1e9
    print(f"[recall] gallery + index ≈ {mem_gb:.2f} GB; section took {time.perf_counter() - t_start:.0f} s")
    index.reset()
    wl.destroy()
    gc.collect()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test)")
    ap.add_argument("--skip", nargs="*", default=[], help="sections to skip: pipeline search latency recall")
    ap.add_argument("--only", nargs="*", default=[], help="run only these sections")
    args = ap.parse_args()
    t0 = time.perf_counter()
    peak = matmul_peak(2048 if args.quick else 4096)
    RESULTS["fp32 matmul peak"] = f"{peak:.1f} GFLOP/s"
    print(f"[peak] fp32 matmul {peak:.1f} GFLOP/s on {os.cpu_count()} CPUs (numpy {np.__version__})")
    sections = {
        "pipeline": lambda: bench_pipeline(n_frames=3 if args.quick else 8, faces_per_frame=3),
        "search": lambda: bench_search(peak, n=16_000, m=1024 if args.quick else 4096),
        "latency": lambda: bench_latency([16_000] if args.quick else [16_000, 100_000]),
        "recall": lambda: bench_recall(n=100_000 if args.quick else 1_000_000),
    }
    for name, run in sections.items():
        if name in args.skip or (args.only and name not in args.only):
            continue
        run()
        # the machine may be shared: a peak that dropped during a section flags its figures
        after = matmul_peak(2048, repeats=3)
        flag = "" if after > 0.85 * peak else "  << CONTENDED: other load during this section, rerun it"
        RESULTS[f"peak after {name}"] = f"{after:.1f} GFLOP/s{flag}"
        print(f"[peak] after {name}: {after:.1f} GFLOP/s{flag}")
    print(f"\n== summary (one run, {time.perf_counter() - t0:.0f} s) ==")
    for k, v in RESULTS.items():
        print(f"{k:45s} {v}")


if __name__ == "__main__":
    main()
