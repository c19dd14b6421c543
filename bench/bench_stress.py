"""Stress-test figures of the dlib engine on this machine, measured in one run.

    .venv/bin/python bench/bench_stress.py [--workers 2] [--wall-s 60] [--repeats 3]

Prints:

1. before each run, the single-frame service time of each stage (median of repeats; measured again
   for each run, as the shared machine drifts by +-15% in minutes): detect on a composed 1920x1080
   frame (HOG, the scenario's upsample; its cost is per frame, whatever the faces in it), embed one
   face, 1:N search of one probe against a 10,000-entry watchlist (Oxford Circus's size);
2. the bound it implies for W workers, like with like: frames hold more than one face, and detection
   is paid per frame, embedding and search per probe, so
   frames/s bound = W / (detect + mean probes per frame x (embed + search)) and
   faces/s bound = frames/s bound x mean faces per frame, with the means of the frames decided;
3. the sustained frames/s and faces/s under load (``twin stress`` on Oxford Circus, one camera, paced
   as fast as possible, processes; frames composed ahead by the supervisor) as a share of that bound
   (target >= 85%), once per repeat (the range is printed), with where the workers' time went; then the
   same load in threads;
4. the sustainable Oxford Circus camera count (``--find-capacity``, p95 <= 2 s, no drop).

The machine has 2 cores shared with other users: each line gives the 1-minute load average before the
run; a run at load above ~0.5 shares its cores with someone else and falls short of the bound by that.
"""

from __future__ import annotations

import argparse
import os
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


def _load() -> str:
    return f"load average {os.getloadavg()[0]:.2f}"


def _single_frame(sc) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Median seconds of detect (one composed 1920x1080 frame), embed (one face), search (one probe)."""
    from twin.recognition.faces.bank import FaceBank
    from twin.recognition.faces.compose import compose_frame, street_background
    from twin.recognition.faces.render import render_probe
    from twin.recognition.watchlist import Watchlist
    from twin.sim.stress.run import _engine_factory

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
    if not faces:
        raise SystemExit("no face found in the composed frame")
    g = rng.standard_normal((10_000, engine.dim)).astype(np.float32)
    wl = Watchlist.from_arrays(
        g / np.linalg.norm(g, axis=1, keepdims=True), range(10_000), model_id=engine.model_id
    )
    emb = engine.embed(img, faces[:1])
    print(f"single-frame service ({_load()}; dlib HOG upsample {engine.upsample}, 1920x1080, CPU):")
    t_det = _median_s(lambda: engine.detect(img), 5)
    t_emb = _median_s(lambda: engine.embed(img, faces[:1]), 9)
    t_sea = _median_s(lambda: wl.search(emb, k=5), 20)
    print(
        f"  detect {t_det * 1000:.0f} ms/frame, embed {t_emb * 1000:.1f} ms/face, "
        f"search {t_sea * 1000:.2f} ms/probe (10,000 entries)"
    )
    return t_det, t_emb, t_sea


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--wall-s", type=float, default=60.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    from twin.scenario.load import load_scenario
    from twin.sim.stress.run import StressOptions, run_stress

    sc = load_scenario("scenarios/oxford_circus.yaml", ["engine.kind=dlib"])
    w = args.workers
    shares: list[float] = []
    figures = {}
    rates: dict[str, list[float]] = {}
    for k in range(args.repeats + 1):
        pool = "processes" if k < args.repeats else "threads"
        t_det, t_emb, t_sea = _single_frame(sc)  # just before the run it bounds: the machine drifts
        before = _load()
        opts = StressOptions(
            engine="dlib", duration_s=60.0, cameras=1, workers=w, pool=pool, max_wall_s=args.wall_s,
            find_capacity=k == 0,
        )  # fmt: skip
        r = run_stress(sc, opts)
        figures.setdefault(pool, r)
        rates.setdefault(pool, []).append(r.summary["throughput"]["frames_per_s"])
        dec = r.frames[r.frames.status == "decided"]
        mean_faces = float(dec["faces_detected"].mean())
        mean_probes = float(dec["probes"].mean())
        per_frame = t_det + mean_probes * (t_emb + t_sea)
        bound_frames = w / per_frame
        bound_faces = bound_frames * mean_faces
        thr = r.summary["throughput"]
        share = thr["frames_per_s"] / bound_frames
        if pool == "processes":
            shares.append(share)
        wt = r.summary["worker_time"]
        emb_run = dec["embed_s"].sum() / max(1, dec["probes"].sum())
        print(
            f"run {k + 1} ({pool}, {before}): {len(dec)} frames, mean {mean_faces:.2f} faces and "
            f"{mean_probes:.2f} probes/frame; bound {bound_frames:.3f} frames/s = {bound_faces:.3f} faces/s "
            f"({w} / ({t_det:.3f} + {mean_probes:.2f} x ({t_emb:.4f} + {t_sea:.5f})) s); sustained "
            f"{thr['frames_per_s']:.3f} frames/s, {thr['faces_per_s']:.3f} faces/s = {share:.0%} of the bound"
        )
        print(
            f"  workers' time: pipeline {wt['pipeline']:.0%}, frame access {wt['frame_access']:.1%}, batch "
            f"overhead {wt['batch_overhead']:.1%}, idle {wt['idle']:.1%}; in-run means detect "
            f"{dec['detect_s'].mean():.3f} s/frame ({dec['detect_s'].mean() / t_det:.2f} x the single-frame "
            f"detect), embed {emb_run:.4f} s/probe; composing (supervisor) "
            f"{r.summary['load_generator']['compose_s_mean']} s/frame; CPU "
            f"{r.summary['resources']['cpu_cores_busy']} cores; {_load()} after"
        )
    if shares:
        print(
            f"sustained share of the bound (processes, {len(shares)} runs): "
            f"{min(shares):.0%}-{max(shares):.0%}, median {statistics.median(shares):.0%} (target >= 85%)"
        )
    p, t = (statistics.median(rates[k]) for k in ("processes", "threads"))
    print(
        f"processes (median of {len(rates['processes'])}) / threads frames/s: {p / t:.2f} "
        f"({'processes' if p > t else 'threads'} faster; a ratio near 1 is within the machine's noise)"
    )
    cap = figures["processes"].summary["capacity_result"]
    print(
        f"sustainable Oxford Circus cameras (dlib, this machine): {cap['sustainable_cameras']} "
        f"(footfall share at 1 camera {cap['sustainable_footfall_share_at_1_camera']:g}; limiting stage "
        f"{cap['limiting_stage']}; target p95 {cap['target_p95_s']:g} s, an assumption)"
    )


if __name__ == "__main__":
    main()
