"""Sweeps on Dask and the placement optimiser: speed-up, flat memory, optimiser wall time.

Prints, measured in this one run:
  * the speed-up of 2 local Dask workers over 1 on 40 replications (one grid point of Oxford Circus,
    a 1-hour window as the Plan page's, about 0.7 s of work a cell; each worker's first cell also
    prepares the site, as in any sweep) — target >= 1.7x on a 2-core machine
    (the cluster start is left out of both times; the load average is printed, since the machine is
    shared);
  * peak memory (RSS of this process and its workers) of a 1,000-cell sweep (10 crowd settings x 100
    replications of the small square test site: 1,000 tasks), after 500 and after 1,000 cells —
    target: the last 500 cells add < 10%;
  * the optimiser's wall time for K = 3 at Oxford Circus (target <= 60 s) and its gain over the shipped
    placement in the optimiser's model, and with ``--verify N`` in full runs of both placements.

Usage: python bench/bench_sweep.py [--skip speedup,memory,optimise] [--verify 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def _client(workers: int):
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    return Client(cluster)


def _close(client) -> None:
    cluster = client.cluster
    client.close()
    cluster.close()


def speedup(tmp: Path) -> dict:
    from twin.outputs.sweep import start_sweep

    doc = yaml.safe_load((REPO / "scenarios/oxford_circus.yaml").read_text())
    doc["site"]["map"] = str((REPO / "maps/oxford_circus.geojson").resolve())
    doc["time"]["duration_s"] = 3600
    path = tmp / "oxford_1h.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = {}
    for workers in (1, 2):
        client = _client(workers)
        try:
            t0 = time.perf_counter()
            res = start_sweep(
                path, ["watchlist.threshold=0.6"], replications=40, out_dir=tmp / f"w{workers}", client=client
            )
            out[workers] = time.perf_counter() - t0
            assert res.complete and res.cells_run == 40
        finally:
            _close(client)
    return {
        "one_worker_s": out[1],
        "two_workers_s": out[2],
        "speedup": out[1] / out[2],
        "load_avg": os.getloadavg(),
    }


def memory(tmp: Path) -> dict:
    from conftest import square_site_doc, tiny_scenario_doc
    from twin.outputs.sweep import start_sweep

    site = tmp / "square.geojson"
    site.write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(site)
    doc["time"]["duration_s"] = 60
    path = tmp / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc))
    grid = ["crowd.group_share=" + ",".join(f"{g:.2f}" for g in [i / 20 for i in range(10)])]
    client = _client(2)
    me = psutil.Process()
    peak = {"now": 0.0}
    marks: dict[int, float] = {}
    stop = threading.Event()

    def rss_mb() -> float:
        procs = [me, *me.children(recursive=True)]
        total = 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total / 2**20

    def sample() -> None:
        while not stop.is_set():
            peak["now"] = max(peak["now"], rss_mb())
            time.sleep(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()

    def progress(done: int, total: int) -> None:
        peak["now"] = max(peak["now"], rss_mb())
        if done in (500, 1000):
            marks[done] = peak["now"]

    try:
        t0 = time.perf_counter()
        res = start_sweep(path, grid, replications=100, out_dir=tmp / "mem", client=client, progress=progress)
        wall = time.perf_counter() - t0
    finally:
        stop.set()
        th.join()
        _close(client)
    assert res.complete and res.cells_total == 1000
    return {
        "cells": res.cells_total,
        "tasks": res.tasks_run,
        "wall_s": wall,
        "peak_mb_at_500": marks.get(500),
        "peak_mb_at_1000": marks.get(1000),
        "growth_last_500": (marks[1000] - marks[500]) / marks[500]
        if 500 in marks and 1000 in marks
        else None,
    }


def optimise(verify: int) -> dict:
    from twin.scenario.load import load_scenario
    from twin.sim.optimise import optimise_placement, placement_scenario
    from twin.sim.ranking import run_figures

    sc = load_scenario(REPO / "scenarios/oxford_circus.yaml")
    t0 = time.perf_counter()
    res = optimise_placement(sc, vans=3)
    wall = time.perf_counter() - t0
    out = {
        "wall_s": wall,
        "candidates": res.candidates,
        "kept_method": res.selection.method,
        "methods": {s.method: round(s.value, 4) for s in res.tried},
        "model_true_alerts_per_h": res.value,
        "model_shipped_true_alerts_per_h": res.baseline_value,
        "model_gain": res.gain_over_baseline,
        "model_timings_s": res.model.timings,
    }
    if verify:
        own = run_figures(sc, replications=verify)
        rec = run_figures(placement_scenario(res), replications=verify)
        out["verified_replications"] = verify
        out["verified_shipped_true_alerts_per_h"] = own.true_alerts_per_h
        out["verified_recommended_true_alerts_per_h"] = rec.true_alerts_per_h
        out["verified_gain"] = rec.expected_true_alerts_per_h / own.expected_true_alerts_per_h
        out["verified_shipped_expected"] = own.expected_true_alerts_per_h
        out["verified_recommended_expected"] = rec.expected_true_alerts_per_h
        out["verified_shipped_faces_scanned_per_h"] = own.faces_scanned_per_h
        out["verified_recommended_faces_scanned_per_h"] = rec.faces_scanned_per_h
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip", default="", help="comma-separated: speedup, memory, optimise")
    ap.add_argument(
        "--verify", type=int, default=3, help="full-run replications of both placements (0: skip)"
    )
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "speedup" not in skip:
            s = speedup(tmp)
            print(
                f"speed-up, 2 workers over 1 on 40 replications: {s['speedup']:.2f}x "
                f"({s['one_worker_s']:.1f} s vs {s['two_workers_s']:.1f} s; target >= 1.7x; "
                f"load average {s['load_avg'][0]:.1f} on {os.cpu_count()} cores)",
                flush=True,
            )
        if "memory" not in skip:
            m = memory(tmp)
            print(
                f"1,000-cell sweep ({m['tasks']} tasks, {m['wall_s']:.0f} s): peak RSS "
                f"{m['peak_mb_at_500']:.0f} MB after 500 cells, {m['peak_mb_at_1000']:.0f} MB after 1,000: "
                f"the last 500 add {100 * m['growth_last_500']:.1f}% (target < 10%)",
                flush=True,
            )
        if "optimise" not in skip:
            o = optimise(args.verify)
            print(
                f"optimiser, K = 3 at Oxford Circus: {o['wall_s']:.1f} s (target <= 60 s; {o['candidates']} "
                f"candidates; kept {o['kept_method']}); model: {o['model_true_alerts_per_h']:.3f} true "
                f"alerts/h vs the shipped placement's {o['model_shipped_true_alerts_per_h']:.3f}: "
                f"gain x{o['model_gain']:.3f}",
                flush=True,
            )
            if "verified_gain" in o:
                own, rec = (
                    o["verified_shipped_true_alerts_per_h"],
                    o["verified_recommended_true_alerts_per_h"],
                )
                print(
                    f"  full runs ({o['verified_replications']} replications each, same seeds): shipped "
                    f"{own[0]:.3f} [{own[1]:.3f}, {own[2]:.3f}], recommended {rec[0]:.3f} "
                    f"[{rec[1]:.3f}, {rec[2]:.3f}] true alerts/h; expected (prevalence x alerts had everyone "
                    f"been listed) {o['verified_shipped_expected']:.3f} vs "
                    f"{o['verified_recommended_expected']:.3f}: "
                    f"gain x{o['verified_gain']:.3f}; "
                    "faces scanned/h "
                    f"{o['verified_shipped_faces_scanned_per_h'][0]:.0f} vs "
                    f"{o['verified_recommended_faces_scanned_per_h'][0]:.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
