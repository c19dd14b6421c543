"""Leftovers: a signal during the write phase leaves nothing; stale temporaries of dead processes are swept,
and nothing else is touched."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from twin.outputs.folders import atomic_folder, sweep_stale

#: A `twin run` that stops in its write phase (the report) until it is signalled.
SLOW_WRITE = textwrap.dedent(
    """
    import sys, time
    import twin.outputs.runstore as rs
    from twin.cli.main import main

    scenario, out, marker = sys.argv[1:4]

    def slow(*a, **k):
        open(marker, "w").write("in the write phase")
        time.sleep(120)

    rs.render_report = slow
    sys.argv = ["twin", "run", scenario, "--out", out, "--no-map"]
    main()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_in_the_write_phase_leaves_nothing(
    tiny_scenario_path: Path, tmp_path: Path, sig: int
) -> None:
    out, marker = tmp_path / "runs", tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITE, str(tiny_scenario_path), str(out), str(marker)],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "never reached the write phase"
        time.sleep(0.1)
    assert any(p.name.startswith(".tmp-") for p in out.iterdir())  # half-written, right now
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == [f"interrupted ({signal.Signals(sig).name}); nothing was written"], err
    assert list(out.iterdir()) == []  # no temporary folder, no run folder


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporaries_of_dead_processes_are_swept_and_nothing_else(tmp_path: Path) -> None:
    dead = tmp_path / f".tmp-run-{_dead_pid()}-0123abcd"
    live = tmp_path / f".tmp-run-{os.getpid()}-0123abcd"
    old = tmp_path / ".tmp-run-89abcdef"  # the pattern before pids were recorded, two days old
    young_old = tmp_path / ".tmp-run-fedcba98"
    mine = tmp_path / ".tmp-my-notes"  # not the twin's pattern
    stale_file = tmp_path / f".record.json.{_dead_pid()}.tmp"
    for d in (dead, live, old, young_old, mine):
        d.mkdir()
        (d / "summary.json").write_text("{}")
    stale_file.write_text("{}")
    two_days = time.time() - 2 * 86400
    os.utime(old, (two_days, two_days))
    with atomic_folder(tmp_path, "run") as f:
        (f.tmp / "a.txt").write_text("x")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {live.name, young_old.name, mine.name, "run"}, left
    assert sweep_stale(tmp_path) == []  # idempotent
