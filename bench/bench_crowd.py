"""Crowd + capture cost for a 10-hour Oxford Circus day, and how it scales with duration.

Prints, measured in this one run:
  * wall time and peak memory of one replication of the 10-hour day (10:00-20:00, ~340,000
    passers-by, 6 cameras) — targets on a 2-core machine: <= 15 s, <= 1 GB;
  * the time ratio when the simulated duration doubles at the same rates (a flat rate, so the
    densities are the same and there are twice the people) — target <= 2.2 (linear cost).

Each measurement runs in a fresh child process so peak memory (max RSS) is its own.
Usage: python bench/bench_crowd.py [--scenario scenarios/oxford_circus.yaml]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

CHILD = r"""
import json, resource, sys, time
from twin.scenario.load import load_scenario
from twin.sim.replication import simulate_replication
from twin.sim.context import prepare
from twin.rng import replication_seeds
sc = load_scenario(sys.argv[1], json.loads(sys.argv[2]))
t0 = time.perf_counter()
ctx = prepare(sc)
rep, _ = simulate_replication(ctx, replication_seeds(sc.seed, 1)[0])
wall = time.perf_counter() - t0
print(json.dumps({"wall_s": wall, "passers_by": int(len(rep.t_arrive_s)),
                  "tracks": int(len(rep.track_person)),
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "crowd_s": rep.extra["crowd_s"], "capture_s": rep.extra["capture_s"],
                  "simpy_events": rep.extra["simpy_events"]}))
"""


def measure(scenario: str, overrides: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, scenario, json.dumps(overrides)], capture_output=True, text=True
    )
    if out.returncode:
        sys.exit(f"bench child failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/oxford_circus.yaml")
    a = ap.parse_args()
    day = ["time.start=10:00", "time.duration_s=36000"]
    t = time.perf_counter()
    d = measure(a.scenario, day)
    print(
        f"10-hour day (10:00-20:00): {d['passers_by']:,} passers-by, {d['tracks']:,} tracks, "
        f"{d['simpy_events']:,} SimPy events"
    )
    print(
        f"  wall {d['wall_s']:.2f} s (crowd {d['crowd_s']:.2f} s, capture {d['capture_s']:.2f} s)   "
        "target <= 15 s"
    )
    print(f"  peak memory {d['peak_rss_mb']:.0f} MB   target <= 1024 MB")
    flat = 34_000  # people/h, the 10-hour day's mean rate
    rate = "[" + ",".join([str(flat)] * 24) + "]"
    one = measure(a.scenario, ["time.start=00:00", "time.duration_s=18000", f"footfall.rate_per_h={rate}"])
    two = measure(a.scenario, ["time.start=00:00", "time.duration_s=36000", f"footfall.rate_per_h={rate}"])
    ratio = two["wall_s"] / one["wall_s"]
    print(
        f"doubling the duration at a flat {flat:,}/h: {one['passers_by']:,} -> {two['passers_by']:,} people, "
        f"{one['wall_s']:.2f} s -> {two['wall_s']:.2f} s, ratio {ratio:.2f}   target <= 2.2"
    )
    print(f"(bench took {time.perf_counter() - t:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
