"""``twin sweep``: plan a grid sweep, run its cells on Dask into a Parquet dataset, resume, summarise.

:func:`start_sweep` validates every grid point before it creates anything (bad input leaves no
folder), creates the sweep folder with its manifest (:mod:`twin.outputs.sweepstore`) and runs the
cells; :func:`resume_sweep` rebuilds the plan from a folder's manifest and runs only the cells not
on disk (a finished sweep: nothing); :func:`start_sweep` of a sweep already in the output folder
(same scenario, grid, seed and replications) resumes it, so rerunning the same command does nothing
once done. When every cell is done, ``summary.csv`` (per point: mean and 2.5th-97.5th percentiles
over replications, a predictive interval) and ``sweep.html`` (each metric against each swept key,
inline SVG) are added.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import RunFolderError
from twin.outputs.folders import ensure_writable, write_new_files
from twin.outputs.sweepstore import SweepStore, create_sweep_folder, open_sweep_folder
from twin.scenario.grid import GridAxis, GridPoint, expand_grid, load_grid
from twin.sim.sweep import CELL_METRICS, plan_tasks, run_tasks, sweep_client

__all__ = [
    "SAME_SWEEP_KEYS",
    "SUMMARY_METRICS",
    "SweepOutcome",
    "find_same_sweep",
    "resume_sweep",
    "start_sweep",
    "summarise_sweep",
]

#: Metrics of the summary table and the plots (a subset of :data:`twin.sim.sweep.CELL_METRICS`).
SUMMARY_METRICS: tuple[str, ...] = (
    "faces_scanned_per_h", "true_alerts_per_h", "false_alerts_per_h", "tpir", "fpir", "precision",
    "true_engaged", "false_engaged",
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class SweepOutcome:
    """What a sweep call did.

    Attributes:
        folder: the sweep folder.
        cells_total: cells of the whole sweep (points x replications).
        cells_run: cells run by this call (0: nothing was missing).
        tasks_run: tasks run (one per crowd group and replication).
        complete: every cell is on disk.
        summary: per point summary (:func:`summarise_sweep`) when complete, else None.
        files: files added by this call (summary.csv, sweep.html).
    """

    folder: Path
    cells_total: int
    cells_run: int
    tasks_run: int
    complete: bool
    summary: pd.DataFrame | None
    files: dict[str, Path]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")[:60] or "sweep"


def start_sweep(
    scenario_path: Path | str,
    grid: list[str] | tuple[str, ...],
    *,
    replications: int | None = None,
    seed: int | None = None,
    out_dir: Path | str = "runs",
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    limit: int | None = None,
) -> SweepOutcome:
    """Plan, create and run a sweep of ``scenario_path`` over ``grid``.

    Args:
        scenario_path: the scenario YAML.
        grid: ``key.path=v1,v2`` items (:func:`twin.scenario.grid.parse_grid`).
        replications: per point (default: the scenario's).
        seed: root seed (default: the scenario's).
        out_dir: where the ``sweep-<scenario>`` folder goes.
        workers: LocalCluster worker processes (ignored with ``scheduler`` or ``client``).
        scheduler: a Dask scheduler address (``tcp://host:8786``).
        progress: ``progress(tasks_done, tasks_total)``.
        client: an existing Dask client (tests, benches); None: one is made and closed here.
        limit: run at most this many tasks (an interrupted sweep, for tests).

    Raises:
        ScenarioError: a bad grid (unknown key, empty list, wrong type: see :mod:`twin.scenario.grid`).
        ClusterError: the scheduler cannot be reached.
        RunFolderError: ``out_dir`` cannot be written.
    """
    path = Path(scenario_path)
    raw, axes, points = load_grid(path, grid)
    sc0 = points[0].scenario
    seed = sc0.seed if seed is None else int(seed)
    reps = sc0.replications if replications is None else int(replications)
    plan_tasks(points, seed=seed, replications=reps)  # raises before anything is written
    ensure_writable(out_dir)
    manifest = {
        "scenario_path": str(path),
        "base_dir": str(path.resolve().parent),
        "scenario": raw,
        "grid": list(grid),
        "axes": [{"key": a.key, "labels": list(a.labels), "values": list(a.values)} for a in axes],
        "points": [{"index": p.index, "labels": p.labels} for p in points],
        "seed": seed,
        "replications": reps,
        "cells": len(points) * reps,
    }
    base = f"sweep-{_slug(path.stem)}"
    same = find_same_sweep(out_dir, base, manifest)
    if same is not None:  # the same sweep again: finish it (nothing to do when it is complete)
        return resume_sweep(
            same, workers=workers, scheduler=scheduler, progress=progress, client=client, limit=limit
        )
    own = client is None
    if own:
        client = sweep_client(workers, scheduler)  # an unreachable scheduler fails before the folder exists
    try:
        folder = create_sweep_folder(out_dir, base, manifest)
        return _run(folder, manifest, axes, points, client=client, progress=progress, limit=limit)
    finally:
        if own:
            _close(client)


#: Manifest keys that make two sweeps the same sweep.
SAME_SWEEP_KEYS: tuple[str, ...] = ("scenario", "base_dir", "grid", "seed", "replications")


def find_same_sweep(out_dir: Path | str, base: str, manifest: dict[str, Any]) -> Path | None:
    """An existing ``out_dir/base*`` sweep folder with the same scenario, grid, seed and replications
    (:data:`SAME_SWEEP_KEYS`), or None."""
    want = json.loads(json.dumps({k: manifest[k] for k in SAME_SWEEP_KEYS}, default=str, sort_keys=True))
    for folder in sorted(Path(out_dir).glob(f"{base}*")):
        try:
            have = open_sweep_folder(folder)
        except RunFolderError:
            continue
        if {k: have.get(k) for k in SAME_SWEEP_KEYS} == want:
            return folder
    return None


def resume_sweep(
    folder: Path | str,
    *,
    workers: int = 2,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    client: Any = None,
    limit: int | None = None,
) -> SweepOutcome:
    """Run the cells of the sweep in ``folder`` that are not on disk yet (none: nothing is run).

    Raises:
        RunFolderError: not a sweep folder.
        ScenarioError: its scenario no longer validates (e.g. the site map moved).
        ClusterError: the scheduler cannot be reached.
    """
    folder = Path(folder)
    manifest = open_sweep_folder(folder)
    axes = [
        GridAxis(key=a["key"], values=tuple(a["values"]), labels=tuple(a["labels"])) for a in manifest["axes"]
    ]
    points = expand_grid(
        manifest["scenario"], axes, base_dir=Path(manifest["base_dir"]), source=manifest["scenario_path"]
    )
    store = SweepStore(folder, _columns(axes))
    missing = len(points) * int(manifest["replications"]) - len(store.done_cells())
    own = client is None and missing > 0
    if own:
        client = sweep_client(workers, scheduler)
    try:
        return _run(folder, manifest, axes, points, client=client, progress=progress, limit=limit)
    finally:
        if own:
            _close(client)


def _close(client: Any) -> None:
    cluster = getattr(client, "cluster", None)
    client.close()
    if cluster is not None:
        cluster.close()


def _columns(axes: list[GridAxis]) -> list[str]:
    return ["point", "rep", "cell", *(f"grid.{a.key}" for a in axes), *CELL_METRICS]


def _run(
    folder: Path,
    manifest: dict[str, Any],
    axes: list[GridAxis],
    points: list[GridPoint],
    *,
    client: Any,
    progress: Callable[[int, int], None] | None,
    limit: int | None,
) -> SweepOutcome:
    seed, reps = int(manifest["seed"]), int(manifest["replications"])
    store = SweepStore(folder, _columns(axes))
    done = store.done_cells()
    tasks = [t for t in plan_tasks(points, seed=seed, replications=reps) if not set(t.cells()) <= done]
    labels = {p.index: p.labels for p in points}
    cells_run = [0]

    def on_rows(rows: list[dict[str, Any]]) -> None:
        for r in rows:
            for k, v in labels[r["point"]].items():
                r[f"grid.{k}"] = v
        store.append([r for r in rows if r["cell"] not in done])
        cells_run[0] += len(rows)

    n = 0
    try:
        if tasks:
            n = run_tasks(
                tasks,
                seed=seed,
                replications=reps,
                client=client,
                on_rows=on_rows,
                progress=progress,
                limit=limit,
            )
    finally:
        store.flush()  # an interruption keeps every finished cell
    total = len(points) * reps
    complete = len(store.done_cells()) >= total
    files: dict[str, Path] = {}
    summary = None
    if complete:
        df = store.frame()
        summary = summarise_sweep(df, axes)
        if not (folder / "summary.csv").exists():
            from twin.outputs.sweep_html import sweep_html

            title = f"Sweep of {manifest['scenario'].get('name', manifest['scenario_path'])}"
            files = write_new_files(
                folder, "summary", {".csv": summary.to_csv(index=False)}
            ) | write_new_files(folder, "sweep", {".html": sweep_html(summary, axes, title=title, reps=reps)})
    return SweepOutcome(
        folder=folder,
        cells_total=total,
        cells_run=cells_run[0],
        tasks_run=n,
        complete=complete,
        summary=summary,
        files=files,
    )


def summarise_sweep(rows: pd.DataFrame, axes: list[GridAxis]) -> pd.DataFrame:
    """Per grid point: each axis's label, the replications, and per :data:`SUMMARY_METRICS` metric its
    mean, 2.5th and 97.5th percentiles over replications (``<m>``, ``<m>_lo``, ``<m>_hi``; a predictive
    interval, DESIGN.md "Intervals"; NaN replications left out).

    Raises:
        RunFolderError: ``rows`` lacks a metric column (not a sweep's rows).
    """
    missing = [m for m in SUMMARY_METRICS if m not in rows.columns]
    if missing:
        raise RunFolderError(f"sweep rows lack the columns {missing}; the folder is not a sweep's")
    out = []
    for point, g in rows.groupby("point", sort=True):
        rec: dict[str, Any] = {"point": int(point)}  # type: ignore[call-overload]
        for a in axes:
            rec[a.key] = g[f"grid.{a.key}"].iloc[0]
        rec["replications"] = len(g)
        for m in SUMMARY_METRICS:
            v = g[m].to_numpy(dtype=float)
            v = v[np.isfinite(v)]
            rec[m] = float(v.mean()) if len(v) else float("nan")
            rec[f"{m}_lo"] = float(np.percentile(v, 2.5)) if len(v) else float("nan")
            rec[f"{m}_hi"] = float(np.percentile(v, 97.5)) if len(v) else float("nan")
        out.append(rec)
    return pd.DataFrame(out)
