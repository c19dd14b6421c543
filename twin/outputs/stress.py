"""A stress run's folder: ``stress.json``, ``latency.parquet`` (one row per frame), ``alerts.parquet``
(one row per alert, deduplicated per track), ``stress.html`` (offline).

Written atomically (:func:`twin.outputs.folders.atomic_folder`), never over an existing folder; a
partial run (Ctrl-C) is written as ``stress-partial`` and says so in every file. Nothing of a face is
written: the frame table holds times, counts, stage seconds and the alerts' watchlist identities only.
The charts are inline SVG (:mod:`twin.outputs.charts`): the HTML loads nothing from the network.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from twin.files import dumps_json
from twin.outputs.charts import Series, line_chart_svg
from twin.outputs.folders import atomic_folder

if TYPE_CHECKING:
    from twin.sim.stress.run import StressResult

__all__ = ["LATENCY_COLUMNS", "stress_html", "write_stress"]

#: Columns of ``latency.parquet``, in order (those a run lacks are left out).
LATENCY_COLUMNS: tuple[str, ...] = (
    "frame",
    "camera_id",
    "t_s",
    "n_faces",
    "status",
    "cause",
    "worker",
    "retries",
    "t_arrive",
    "t_start",
    "t_done",
    "latency_s",
    "service_s",
    "source_s",
    "compose_s",
    "detect_s",
    "embed_s",
    "search_s",
    "other_s",
    "faces_detected",
    "probes",
    "frame_matches",
    "true_frame_matches",
    "match_identities",
    "new_alerts",
    "replay_dropped",
)
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def write_stress(result: StressResult, out_dir: Path | str) -> Path:
    """Write the stress folder under ``out_dir`` and return its path.

    Raises:
        RunFolderError: ``out_dir`` cannot be written.
    """
    base = "stress-partial" if result.partial else "stress"
    doc = result.to_json()
    table = result.frames[[c for c in LATENCY_COLUMNS if c in result.frames]].copy()
    table["provider"] = ",".join(result.providers)
    with atomic_folder(out_dir, base) as f:
        (f.tmp / "stress.json").write_text(
            dumps_json(doc, indent=2) + "\n",
            encoding="utf-8",  # NaN (nothing decided) as null
        )
        table.to_parquet(f.tmp / "latency.parquet", index=False)
        result.alerts.to_parquet(f.tmp / "alerts.parquet", index=False)
        (f.tmp / "stress.html").write_text(stress_html(result), encoding="utf-8")
    return f.final


def _cdf(lat: np.ndarray) -> Series:
    x = np.sort(lat)
    y = np.arange(1, len(x) + 1) / len(x)
    step = max(1, len(x) // 400)
    return Series(
        label="latency CDF", colour=_COLOURS[0], x=[*list(x[::step]), float(x[-1])], y=[*list(y[::step]), 1.0]
    )


def _throughput(frames: pd.DataFrame, bin_s: float) -> tuple[list[float], list[float | None]]:
    done = frames.loc[frames["status"] == "decided", "t_done"].dropna().to_numpy(float)
    if len(done) == 0:
        return [0.0], [0.0]
    edges = np.arange(0.0, float(done.max()) + bin_s, bin_s)
    counts, _ = np.histogram(done, bins=edges)
    return list(edges[:-1] + bin_s / 2), [float(c) / bin_s for c in counts]


def _charts(result: StressResult) -> list[str]:
    """Inline SVG charts: latency CDF, queue length, throughput over time, capacity curve."""
    lat = result.frames["latency_s"].dropna().to_numpy(float) if "latency_s" in result.frames else np.zeros(0)
    target = result.options.target_p95_s
    charts = []
    target = result.options.target_p95_s
    if len(lat):
        charts.append(
            line_chart_svg(
                [_cdf(lat)],
                title="Latency from frame arrival to decision (CDF)",
                x_label="seconds",
                y_label="share of frames",
                y_max=1.0,
                vline=(target, f"target p95 {target:g} s"),
                y_format="{:.0%}",
            )
        )
    q = result.queue_trace
    if len(q):
        series = [
            Series(label=cam, colour=_COLOURS[i % len(_COLOURS)], x=list(g["t_s"]), y=list(g["queue_len"]))
            for i, (cam, g) in enumerate(q.groupby("camera_id", sort=True))
        ]
        charts.append(
            line_chart_svg(
                series,
                title="Queue length per camera",
                x_label="seconds since start",
                y_label="frames queued",
                hline=(result.options.queue_len, "queue bound"),
                y_format="{:.0f}",
            )
        )
    x, y = _throughput(result.frames, 1.0 if result.summary["throughput"]["wall_s"] < 120 else 5.0)
    charts.append(
        line_chart_svg(
            [Series(label="decided frames/s", colour=_COLOURS[2], x=x, y=y)],
            title="Throughput over time (measured)",
            x_label="seconds since start",
            y_label="frames/s",
        )
    )
    if result.capacity:
        pts = [p for p in result.capacity if p.footfall_share == 1.0]
        cap = [
            Series(
                label="p95 latency, full footfall",
                colour=_COLOURS[1],
                x=[p.cameras for p in pts],
                y=[min(p.p95_s, 1e4) for p in pts],
            )
        ]
        charts.append(
            line_chart_svg(
                cap,
                title="Capacity curve: p95 latency by camera count",
                x_label="cameras",
                y_label="p95 s",
                hline=(target, "target"),
                y_log=True,
            )
        )
    return charts


def _rows(doc: dict[str, Any], result: StressResult) -> list[tuple[str, str]]:
    """The figures table of the report."""
    rows = [
        ("engine", f"{doc['engine']['model_id']} on {', '.join(result.providers)}"),
        (
            "pacing / pool",
            f"{doc['options']['pacing']} / {result.options.workers} {result.options.pool}, "
            f"batch {result.options.batch}, queue {result.options.queue_len} ({result.options.policy})",
        ),
        (
            "offered",
            f"{doc['load']['frames_offered']} frames, {doc['load']['faces_offered']} faces over "
            f"{doc['load']['window_s']:g} s ({doc['load']['offered_frames_per_s']:g} frames/s)",
        ),
        (
            "throughput",
            f"{doc['throughput']['frames_per_s']:g} frames/s, {doc['throughput']['faces_per_s']:g} faces/s",
        ),
        (
            "latency p50 / p95 / p99 / max (s)",
            " / ".join(str(doc["latency_s"].get(k)) for k in ("p50", "p95", "p99", "max")),
        ),
        ("latency basis", doc.get("latency_basis", "")),
        (
            "alerts (one per camera, track, identity)",
            f"{doc['alerts']['alerts']} (true {doc['alerts']['true_alerts']}); raw per-frame matches "
            f"{doc['alerts']['frame_matches']}",
        ),
        ("alert counting", doc["alerts"]["counting"]),
        (
            "workers' time",
            ", ".join(f"{k} {v:.1%}" for k, v in doc["worker_time"].items() if isinstance(v, float))
            + f"; composing (supervisor) {doc['load_generator']['compose_s_mean']} s/frame",
        ),
        ("ledger", json.dumps(doc["ledger"])),
        ("faults", json.dumps(doc["faults"])),
        ("CPU / memory", f"{doc['resources']['cpu_s']} CPU s, peak {doc['resources']['peak_rss_mib']} MiB"),
    ]
    if "capacity_result" in doc:
        c = doc["capacity_result"]
        rows.append(
            (
                "sustainable load",
                f"{c['sustainable_cameras']} camera(s) at full footfall; "
                f"limiting stage {c['limiting_stage']}",
            )
        )
    return rows


def stress_html(result: StressResult) -> str:
    """The offline report: figures, latency CDF, queue length and throughput over time, capacity curve."""
    doc = result.to_json()
    e = html.escape
    charts = _charts(result)
    rows = _rows(doc, result)
    table = "".join(f"<tr><th>{e(k)}</th><td>{e(str(v))}</td></tr>" for k, v in rows)
    banner = "<p class='partial'>PARTIAL RUN: stopped by Ctrl-C before the end.</p>" if result.partial else ""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Stress test: {e(result.scenario)}</title><style>body{{font-family:sans-serif;margin:2em}}"
        "th{text-align:left;padding-right:1em}.partial{color:#b00;font-weight:bold}</style></head><body>"
        f"<h1>Stress test: {e(result.scenario)}</h1>{banner}<p>Every figure was measured with "
        f"{e(', '.join(result.providers))}.</p><table>{table}</table>"
        + "".join(f"<figure>{c}</figure>" for c in charts)
        + "</body></html>\n"
    )
