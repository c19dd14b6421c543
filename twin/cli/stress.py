"""``twin stress``: the engineer's stress test of the real pipeline (:mod:`twin.sim.stress`).

Mounted into the main CLI like :mod:`twin.cli.engines`. A TwinError is one red line and exit code 2,
with nothing written; Ctrl-C during the load writes a partial report (``stress-partial``) marked as such.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.progress import TextColumn
from rich.table import Table

from twin.cli.common import console, handles_errors, progress_bar
from twin.errors import ScenarioError

#: --max-wall-s by default, s: on 2 cores dlib scans ~1 frame/s against 10 frames/s per camera, so
#: "every frame" of a 60-s window would take tens of minutes (bench/bench_stress.py).
DEFAULT_MAX_WALL_S = 120.0

__all__ = ["app", "parse_faults", "stress"]

app = typer.Typer()

#: Highest frame number a periodic fault reaches.
_FAULT_SPAN = 1_000_000


def parse_faults(specs: list[str]) -> Any:
    """``--inject`` values to a :class:`~twin.sim.stress.worker.FaultPlan`.

    Forms: ``engine-error:N`` (the engine raises on every N-th frame), ``corrupt:N`` (every N-th frame
    corrupt), ``slow:A-B`` (frames A to B run 10x slower), ``kill-worker:S`` (a worker process is killed
    S seconds into the run).

    Raises:
        ScenarioError: an unknown or malformed form.

    >>> sorted(parse_faults(["corrupt:500000"]).corrupt_frames)
    [499999, 999999]
    """
    from twin.sim.stress.worker import FaultPlan

    kw: dict[str, Any] = {}
    for s in specs:
        m = re.fullmatch(r"(engine-error|corrupt|slow|kill-worker):([0-9.]+)(?:-([0-9]+))?", s.strip())
        if not m:
            raise ScenarioError(
                f"--inject {s!r} is not one of engine-error:N, corrupt:N, slow:A-B, kill-worker:SECONDS"
            )
        kind, a, b = m.groups()
        try:
            if kind in ("engine-error", "corrupt"):
                n = int(a)
                if n < 1:
                    raise ValueError
                key = "engine_error_frames" if kind == "engine-error" else "corrupt_frames"
                kw[key] = frozenset(range(n - 1, _FAULT_SPAN, n))
            elif kind == "slow":
                lo, hi = int(a), int(b if b is not None else a)
                kw["slow_frames"] = frozenset(range(lo, hi + 1))
            else:
                kw["kill_at_s"] = float(a)
        except ValueError:
            raise ScenarioError(
                f"--inject {s!r}: give a positive whole number of frames, e.g. corrupt:50"
            ) from None
    return FaultPlan(**kw)


@app.command("stress")
@handles_errors
def stress(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML, e.g. scenarios/oxford_circus.yaml")],
    engine: Annotated[str, typer.Option("--engine", help="dlib or insightface (engine.model_dir)")] = "dlib",
    duration_s: Annotated[
        float, typer.Option("--duration-s", help="seconds of load (the scenario's first)")
    ] = 60.0,
    cameras: Annotated[
        int | None, typer.Option("--cameras", help="use the scenario's first N cameras")
    ] = None,
    footfall_scale: Annotated[float, typer.Option("--footfall-scale", help="multiply the footfall")] = 1.0,
    workers: Annotated[int, typer.Option("--workers", "-w", help="pipeline workers")] = 2,
    batch: Annotated[
        int, typer.Option("--batch", help="frames per pipeline call (one embed, one search)")
    ] = 1,
    queue_len: Annotated[int, typer.Option("--queue", help="frames each camera's queue holds")] = 20,
    drop: Annotated[str, typer.Option("--drop", help="drop-oldest or drop-newest when a queue is full")] = (
        "drop-oldest"
    ),
    realtime: Annotated[bool, typer.Option("--realtime", help="pace arrivals on the wall clock")] = False,
    pool: Annotated[str, typer.Option("--pool", help="processes or threads")] = "processes",
    video: Annotated[Path | None, typer.Option("--video", help="frames of a video file instead")] = None,
    max_wall_s: Annotated[
        float | None,
        typer.Option(
            "--max-wall-s",
            help="fast pacing: stop feeding frames after this long (default 120 s, so a slow machine's run "
            "ends in minutes; frames not reached are replayed with service times measured on the others)",
        ),
    ] = DEFAULT_MAX_WALL_S,
    find_capacity: Annotated[
        bool, typer.Option("--find-capacity", help="search the sustainable load")
    ] = False,
    target_p95_s: Annotated[float, typer.Option("--target-p95-s", help="capacity target, seconds")] = 2.0,
    inject: Annotated[
        list[str], typer.Option("--inject", help="a fault, e.g. engine-error:50, kill-worker:5")
    ] = [],  # noqa: B006
    set_: Annotated[list[str], typer.Option("--set", help="override a scenario value: key.path=value")] = [],  # noqa: B006
    seed: Annotated[int | None, typer.Option("--seed", help="root seed (default: the scenario's)")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="folder that receives the stress folder")] = Path(
        "runs"
    ),
) -> None:
    """Push the real pipeline at the twin's arrival rates: throughput, latency, drops, capacity."""
    from twin.outputs.folders import check_out_dir
    from twin.outputs.stress import write_stress
    from twin.scenario.load import load_scenario
    from twin.sim.stress.run import StressOptions, run_stress

    sc = load_scenario(scenario, set_)
    opts = StressOptions(
        engine=engine,
        duration_s=duration_s,
        cameras=cameras,
        footfall_scale=footfall_scale,
        workers=workers,
        batch=batch,
        queue_len=queue_len,
        policy=drop,  # type: ignore[arg-type]
        realtime=realtime,
        pool=pool,  # type: ignore[arg-type]
        video=video,  # type: ignore[arg-type]
        max_wall_s=max_wall_s,
        find_capacity=find_capacity,
        target_p95_s=target_p95_s,
        faults=parse_faults(inject),
        seed=seed,
    )
    opts.check(sc)
    check_out_dir(out)  # a file, a run folder, unwritable: one line, before minutes of work
    with progress_bar(TextColumn("{task.completed}/{task.total} frames")) as progress:
        task = progress.add_task("preparing", total=None)
        result = run_stress(
            sc,
            opts,
            on_step=lambda m: progress.update(task, description=m),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
        progress.update(task, description="writing the stress folder")
        folder = write_stress(result, out)
    _print(result, folder)


def _print(result: Any, folder: Path) -> None:
    doc = result.to_json()
    t = Table(title=escape(f"Stress test — {result.scenario}"), title_justify="left", header_style="bold")
    t.add_column("figure")
    t.add_column("value", justify="right")
    lat, thr, led = doc["latency_s"], doc["throughput"], doc["ledger"]
    t.add_row("engine (providers)", escape(f"{result.model_id} ({', '.join(result.providers)})"))
    t.add_row(
        "offered",
        f"{doc['load']['frames_offered']} frames, {doc['load']['faces_offered']} faces, "
        f"{doc['load']['offered_frames_per_s']:g} frames/s",
    )
    t.add_row("throughput", f"{thr['frames_per_s']:g} frames/s, {thr['faces_per_s']:g} faces/s")
    t.add_row(
        "latency p50 / p95 / p99 / max", " / ".join(f"{lat[k]} s" for k in ("p50", "p95", "p99", "max"))
    )
    t.add_row("latency basis", escape(doc["latency_basis"]))
    for name, s in doc["stages_mean_s"].items():
        t.add_row(f"  mean {name}", f"{s:.4f} s/frame")
    wt = doc["worker_time"]
    t.add_row(
        "workers' time",
        f"pipeline {wt['pipeline']:.1%}, frame access {wt['frame_access']:.1%}, "
        f"overhead {wt['batch_overhead']:.1%}, idle {wt['idle']:.1%}",
    )
    t.add_row(
        "ledger (measured run)",
        f"in {led['frames_in']} = decided {led['decided']} + dropped "
        f"{led['dropped']} + failed {led['failed']}: "
        f"{'balanced' if led['balanced'] else 'NOT BALANCED'}",
    )
    if led["dropped_by_camera"]:
        t.add_row("dropped by camera", escape(str(led["dropped_by_camera"])))
    if "replay" in doc:
        r = doc["replay"]
        t.add_row(
            "at the deployment's rate",
            f"in {r['frames_in']} = decided {r['decided']} + dropped {r['dropped']} + failed {r['failed']}",
        )
    faults = {k: v for k, v in doc["faults"].items() if v}
    t.add_row("faults", escape(str(faults or "none")))
    al = doc["alerts"]
    t.add_row(
        "alerts, one per camera/track/identity (true)",
        f"{al['alerts']} ({'n/a' if al['true_alerts'] is None else al['true_alerts']})",
    )
    t.add_row("  raw per-frame matches (true)", f"{al['frame_matches']} ({al['true_frame_matches']})")
    res = doc["resources"]
    t.add_row(
        "CPU / memory",
        f"{res['cpu_s']} CPU s ({res['cpu_cores_busy']} cores busy), peak {res['peak_rss_mib']} MiB",
    )
    if "capacity_result" in doc:
        c = doc["capacity_result"]
        t.add_row(
            "sustainable cameras", f"{c['sustainable_cameras']} (p95 <= {c['target_p95_s']:g} s, no drop)"
        )
        t.add_row(
            "sustainable footfall share at 1 camera", f"{c['sustainable_footfall_share_at_1_camera']:g}"
        )
        t.add_row("limiting stage", c["limiting_stage"])
    console.print(t)
    if result.partial:
        console.print("[bold yellow]PARTIAL: interrupted before the end; the report says so[/]")
    console.print(f"stress folder: [bold]{escape(str(folder))}[/]")
