"""Replications on local worker processes: the default number, bit-for-bit results, a dead worker."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from conftest import SCENARIOS
from twin.errors import ClusterError, ScenarioError
from twin.rng import replication_seeds
from twin.sim import parallel
from twin.sim.context import prepare
from twin.sim.parallel import available_cores, resolve_workers, run_local
from twin.sim.run import run


def test_available_cores_is_the_affinity() -> None:
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert available_cores() == expected


def test_default_workers_every_core_for_a_big_run_serial_for_a_small_one(monkeypatch) -> None:
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    big = parallel.PARALLEL_MIN_PASSER_REPLICATIONS
    assert resolve_workers(None, replications=10, expected_passers_by=big / 10) == 2
    assert resolve_workers(None, replications=10, expected_passers_by=big / 10 - 1) == 1
    assert resolve_workers(None, replications=1, expected_passers_by=big) == 1  # nothing to share out
    monkeypatch.setattr(parallel, "available_cores", lambda: 16)
    assert resolve_workers(None, replications=3, expected_passers_by=big) == 3  # one per replication
    assert resolve_workers(1, replications=10, expected_passers_by=big) == 1  # -w 1: serial
    with pytest.raises(ScenarioError, match="workers 0 must be >= 1"):
        resolve_workers(0, replications=10, expected_passers_by=big)


def _same_run(a, b) -> None:
    assert json.dumps(a.summary.to_json(), sort_keys=True) == json.dumps(b.summary.to_json(), sort_keys=True)
    assert a.tracks.equals(b.tracks)
    for ra, rb in zip(a.reps, b.reps, strict=True):  # every stored draw and track, not only the summary
        arrays = [f.name for f in dataclasses.fields(ra) if isinstance(getattr(ra, f.name), np.ndarray)]
        assert len(arrays) > 10
        for f in arrays:
            x, y = getattr(ra, f), getattr(rb, f)
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f


def test_one_and_two_workers_give_the_same_run_bit_for_bit() -> None:
    """Oxford Circus, 10 minutes, 3 replications: in this process and on 2 local worker processes."""
    sc = SCENARIOS / "oxford_circus.yaml"
    one = run(sc, replications=3, overrides=["time.duration_s=600"], workers=1)
    two = run(sc, replications=3, overrides=["time.duration_s=600"], workers=2)
    assert (one.workers, two.workers) == (1, 2)
    assert one.summary["totals"]["passers_by"]["mean"] > 1000
    _same_run(one, two)


def test_the_default_uses_every_core_on_a_big_enough_run(monkeypatch, tiny_scenario) -> None:
    monkeypatch.setattr(parallel, "PARALLEL_MIN_PASSER_REPLICATIONS", 0)
    monkeypatch.setattr(parallel, "available_cores", lambda: 2)
    auto = run(tiny_scenario, replications=2, workers=None)
    assert auto.workers == 2
    _same_run(run(tiny_scenario, replications=2), auto)
    assert run(tiny_scenario, replications=2).workers == 1  # the facade's default stays serial


class _DiesWhenUnpickled:
    """Kills the worker process that unpickles it (stands in for a worker that dies)."""

    def __reduce__(self):
        return (os._exit, (3,))


def test_a_dead_worker_is_one_clear_error(tiny_scenario) -> None:
    ctx = prepare(tiny_scenario)
    ctx.warnings.append(_DiesWhenUnpickled())  # type: ignore[arg-type]
    with pytest.raises(ClusterError, match=r"worker process died.*workers=1"):
        run_local(ctx, replication_seeds(1, 2), 2, None)


@pytest.mark.slow
def test_an_unguarded_script_runs_once_its_workers_do_not_import_it(tmp_path) -> None:
    """Spawned and forkserver workers import the caller's main module by path unless it is hidden from
    them; one that starts a run at import time (no ``if __name__ == "__main__":``) would then start a run
    in every worker and kill the pool. The pool hides it (twin.sim.parallel.process_pool, also what keeps
    the app's page script out of its workers): the script's body runs once, and the run completes."""
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import twin\n"
        "print('script body ran', flush=True)\n"
        f"r = twin.run({str(SCENARIOS / 'oxford_circus.yaml')!r}, replications=2, workers=2,\n"
        "         overrides=['time.duration_s=60'])\n"
        "print('workers', r.workers)\n"
    )
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("script body ran") == 1 and "workers 2" in r.stdout, r.stdout


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no nice on this OS")
def test_the_apps_pool_workers_run_nicer_than_the_server() -> None:
    """The app's pool lowers its workers' priority (twin.app.ui.POOL_NICENESS) so the browser and server
    come first on a loaded machine: a worker's niceness is the parent's plus the step (Unix caps it at 19)."""
    from twin.sim.parallel import lower_priority, process_pool

    with process_pool(1, initializer=lower_priority, initargs=(3,)) as pool:
        assert pool.submit(os.nice, 0).result() == min(os.nice(0) + 3, 19)
