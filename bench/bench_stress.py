"""Stress-test figures of the dlib engine on this machine, measured in one run.

    .venv/bin/python bench/bench_stress.py [--workers 2] [--wall-s 60]

Prints:

1. the single-face service time of each stage (median of repeats): detect on a composed 1920x1080
   frame with one face (HOG, the scenario's upsample), embed that face, 1:N search against a
   10,000-entry watchlist (Oxford Circus's size);
2. the bound it implies: W / (detect + embed + search) faces/s for W workers;
3. the sustained faces/s under load (``twin stress`` on Oxford Circus, one camera, paced as fast as
   possible, processes) as a share of that bound (target >= 85%), and the same load in threads;
4. the sustainable Oxford Circus camera count (``--find-capacity``, p95 <= 2 s, no drop).

The machine has 2 cores shared with other users: figures vary with their load; run it when quiet.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def _median_s(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wall-s", type=float, default=60.0)
    args = ap.parse_args()
    from twin.recognition.faces.bank import FaceBank
    from twin.recognition.faces.compose import compose_frame, street_background
    from twin.recognition.faces.render import render_probe
    from twin.recognition.watchlist import Watchlist
    from twin.scenario.load import load_scenario
    from twin.sim.stress.run import StressOptions, _engine_factory, run_stress

    sc = load_scenario("scenarios/oxford_circus.yaml", ["engine.kind=dlib"])
    engine = _engine_factory(sc)()
    bank = FaceBank.from_samples(engine)
    ident = bank.identities[0]
    src = bank.enrolment_image(ident)
    rng = np.random.default_rng(0)
    probe = render_probe(bank.load(src), bank.face(src, engine), ied_px=45.0, rng=rng)
    frame = compose_frame(
        [probe], [(960.0, 540.0)], background=street_background((1920, 1080), rng=rng), rng=rng
    )
    img = frame.frame
    faces = engine.detect(img)
    assert faces, "no face found in the composed frame"
    g = rng.standard_normal((10_000, engine.dim)).astype(np.float32)
    wl = Watchlist.from_arrays(
        g / np.linalg.norm(g, axis=1, keepdims=True), range(10_000), model_id=engine.model_id
    )
    emb = engine.embed(img, faces[:1])
    t_det = _median_s(lambda: engine.detect(img), 3)
    t_emb = _median_s(lambda: engine.embed(img, faces[:1]), 5)
    t_sea = _median_s(lambda: wl.search(emb, k=5), 20)
    single = t_det + t_emb + t_sea
    w = args.workers
    bound = w / single
    print(f"single-face service (dlib HOG upsample {engine.upsample}, 1920x1080, CPU):")
    print(
        f"  detect {t_det * 1000:.0f} ms, embed {t_emb * 1000:.1f} ms, "
        f"search {t_sea * 1000:.2f} ms (10,000 entries)"
    )
    print(f"  bound for W={w} workers: {bound:.3f} faces/s ({w} / {single:.3f} s)")
    figures = {}
    for pool in ("processes", "threads"):
        opts = StressOptions(
            engine="dlib", duration_s=60.0, cameras=1, workers=w, pool=pool, max_wall_s=args.wall_s,
            find_capacity=pool == "processes",
        )  # fmt: skip
        r = run_stress(sc, opts)
        figures[pool] = r
        thr = r.summary["throughput"]
        print(
            f"sustained under load ({pool}): {thr['frames_per_s']:.3f} frames/s, "
            f"{thr['faces_per_s']:.3f} faces/s "
            f"(mean {r.frames.loc[r.frames.status == 'decided', 'n_faces'].mean():.2f} faces/frame) = "
            f"{thr['faces_per_s'] / bound:.0%} of the bound; "
            f"CPU {r.summary['resources']['cpu_cores_busy']} cores"
        )
    p, t = (figures[k].summary["throughput"]["frames_per_s"] for k in ("processes", "threads"))
    print(f"processes / threads frames/s: {p / t:.2f} ({'processes' if p > t else 'threads'} faster)")
    cap = figures["processes"].summary["capacity_result"]
    print(
        f"sustainable Oxford Circus cameras (dlib, this machine): {cap['sustainable_cameras']} "
        f"(footfall share at 1 camera {cap['sustainable_footfall_share_at_1_camera']:g}; limiting stage "
        f"{cap['limiting_stage']}; target p95 {cap['target_p95_s']:g} s, an assumption)"
    )


if __name__ == "__main__":
    main()
