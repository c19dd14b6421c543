"""The README's main job, ``twin run scenarios/oxford_circus.yaml``, timed from a warm install.

Runs the real command (a fresh ``twin`` process each time, writing to a temporary folder) and prints,
measured in this one run (the machine is shared: compare within a run, and repeat):
  * its wall time with the default workers (every core for a run this size), target <= 30 s on a
    2-core machine, and where the time went (simulate, score; the rest is start-up and writing);
  * the same with ``-w 1`` (serial) and ``-w 2``, and the ratio of serial to 2 workers; the serial
    run's CPU seconds (user + system), which other work on a shared machine barely changes: on two
    otherwise idle cores the default's wall time is about the parent's share plus half the rest;
  * the load average before and after (above the core count, every wall time is inflated);
  * for the default rule (:data:`twin.sim.parallel.PARALLEL_MIN_PASSER_REPLICATIONS`): the cost of
    starting 2 local workers (a pool with an empty task) and the crowd + capture time per passer-by.

Usage: python bench/bench_main.py [--scenario scenarios/oxford_circus.yaml] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 30.0
TWIN = str(Path(sys.executable).with_name("twin"))


def time_run(scenario: str, workers: list[str]) -> tuple[float, dict, float]:
    """Wall seconds of one ``twin run``, its run.json timings, and the CPU seconds of the ``twin``
    process (user + system; local workers are not its waited children, so serial runs only)."""
    with tempfile.TemporaryDirectory() as tmp:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run([TWIN, "run", scenario, "--out", tmp, *workers], capture_output=True, text=True)
        wall = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if out.returncode:
            sys.exit(f"twin run failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
        (run_json,) = Path(tmp).glob("*/run.json")
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        return wall, json.loads(run_json.read_text())["timings_s"], cpu


START_UP = r"""
import time
from twin.scenario.load import load_scenario
from twin.sim.context import prepare
from twin.sim import parallel
from twin.rng import replication_seeds
from twin.sim.arrivals import expected_arrivals
import sys
sc = load_scenario(sys.argv[1], ["time.duration_s=600"])
ctx = prepare(sc)
seeds = replication_seeds(1, 2)
t = time.perf_counter()
reps = parallel.run_local(ctx, seeds, 2, None)
pool_s = time.perf_counter() - t
from twin.sim.replication import simulate_replication
t = time.perf_counter()
for s in seeds:
    simulate_replication(ctx, s)
serial_s = time.perf_counter() - t
people = sum(len(r.t_arrive_s) for r, _ in reps)
print(pool_s, serial_s, people)
"""


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/oxford_circus.yaml")
    ap.add_argument("--repeat", type=int, default=1, help="repeat the measurements (noisy machines)")
    a = ap.parse_args()
    t0 = time.perf_counter()
    print(f"load average {_load()} on {os.cpu_count()} cores")
    subprocess.run([TWIN, "--help"], capture_output=True)  # warm the file cache
    for _ in range(a.repeat):
        wall, tm, _ = time_run(a.scenario, [])
        verdict = "OK" if wall <= TARGET_S else "MISSED"
        print(
            f"twin run {a.scenario} (default workers): {wall:.1f} s   target <= {TARGET_S:g} s: {verdict}"
            f"   (simulate {tm['simulate_s']:.1f} s, score {tm['score_s']:.1f} s, "
            f"start-up and writing {wall - tm['simulate_s'] - tm['score_s']:.1f} s)"
        )
        w1, tm1, cpu1 = time_run(a.scenario, ["-w", "1"])
        w2, _, _ = time_run(a.scenario, ["-w", "2"])
        print(f"  -w 1: {w1:.1f} s   -w 2: {w2:.1f} s   serial / 2 workers = {w1 / w2:.2f}")
        rest = cpu1 - tm1["simulate_s"] * min(cpu1 / w1, 1.0)
        print(
            f"  -w 1 used {cpu1:.1f} CPU s (simulate ~{cpu1 - rest:.1f}, the rest ~{rest:.1f}); on 2 idle "
            f"cores the default would take ~{rest + (cpu1 - rest) / 2:.1f} s"
        )
        out = subprocess.run([sys.executable, "-c", START_UP, a.scenario], capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stderr)
        pool_s, serial_s, people = (float(x) for x in out.stdout.split())
        per_person_us = serial_s / people * 1e6
        print(
            f"  2 replications of 10 minutes ({people:,.0f} passers-by): 2 local workers {pool_s:.2f} s "
            f"(start-up included), serial {serial_s:.2f} s; {per_person_us:.1f} us per passer-by; "
            f"2 workers pay off above ~{2 * max(pool_s - serial_s / 2, 0) / (per_person_us * 1e-6):,.0f} "
            "passer-by replications"
        )
    print(f"(bench took {time.perf_counter() - t0:.0f} s; load average now {_load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
