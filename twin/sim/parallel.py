"""Replications on Dask: local worker processes, or a cluster given its scheduler address.

Each task prepares the scenario in its worker and simulates one replication from its spawned seed
(:func:`twin.sim.replication.replicate`), so the results are the same whatever the number of
workers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import ClusterError
from twin.scenario.specs import Scenario
from twin.scoring.metrics import RepData
from twin.sim.replication import replicate

__all__ = ["SCHEDULER_TIMEOUT_S", "run_dask"]

#: Seconds to wait for a Dask scheduler before giving up.
SCHEDULER_TIMEOUT_S = 10


def run_dask(
    scenario: Scenario,
    seeds: list[np.random.SeedSequence],
    workers: int,
    scheduler: str | None,
    progress: Callable[[int, int, float], None] | None,
) -> list[tuple[RepData, pd.DataFrame | None]]:
    """Replications on Dask: local processes, or a cluster at ``scheduler``."""
    n = len(seeds)
    if scheduler:
        from dask.distributed import Client, as_completed

        try:
            client = Client(scheduler, timeout=SCHEDULER_TIMEOUT_S)
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(
                f"cannot reach the Dask scheduler at {scheduler!r} ({exc}); check the address "
                "(tcp://host:8786) and that the scheduler runs, or drop --scheduler to run here"
            ) from exc
        with client:
            futs = [client.submit(replicate, scenario, s, i == 0, pure=False) for i, s in enumerate(seeds)]
            done = 0
            for _ in as_completed(futs):
                done += 1
                if progress is not None:
                    progress(done, n, 0.0)
            return [f.result() for f in futs]
    import dask
    from dask.callbacks import Callback

    class _Progress(Callback):
        def __init__(self) -> None:
            super().__init__()
            self.done = 0

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
            self.done += 1
            if progress is not None:
                progress(min(self.done, n), n, 0.0)

    tasks = [dask.delayed(replicate)(scenario, s, i == 0) for i, s in enumerate(seeds)]
    with _Progress():
        out = dask.compute(*tasks, scheduler="processes", num_workers=max(1, workers))
    return list(out)
