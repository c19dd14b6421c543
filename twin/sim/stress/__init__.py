"""``twin stress``: push the real recognition pipeline at the arrival rates the twin simulates.

:func:`run_stress` builds the offered load (:mod:`twin.sim.stress.load`: the crowd model's frames with
faces per camera, composed from the face bank, or a video's frames), drives it through per-camera
bounded queues and W workers (:mod:`twin.sim.stress.pool`), and measures throughput, latency from a
frame's arrival to its decision, queue lengths, drops, faults, providers, CPU and memory. Paced
``fast`` (default), the latency at the deployment's arrival times is the trace-driven replay of the
measured service times (:mod:`twin.sim.stress.replay`); paced ``realtime`` it is measured on the wall
clock. :func:`find_capacity` raises the camera count (then lowers the footfall share at one camera)
and reports the largest load whose p95 latency stays within :data:`TARGET_P95_S` with no drop.
"""

from __future__ import annotations

from twin.sim.stress.capacity import TARGET_P95_S, CapacityPoint, find_capacity, limiting_stage
from twin.sim.stress.run import StressOptions, StressResult, run_stress

__all__ = [
    "TARGET_P95_S",
    "CapacityPoint",
    "StressOptions",
    "StressResult",
    "find_capacity",
    "limiting_stage",
    "run_stress",
]
