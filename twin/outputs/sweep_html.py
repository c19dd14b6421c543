"""``sweep.html``: each summary metric against each swept key, with its 95% predictive interval.

One offline page (inline SVG from :mod:`twin.outputs.charts`, no script, no CDN). A numeric axis
is drawn to scale; a categorical one (e.g. ``cameras`` files) at evenly spaced ticks. With two or
more axes, each line is one combination of the other axes' values (at most :data:`MAX_LINES`).
"""

from __future__ import annotations

import html
import itertools
from typing import Any

import numpy as np
import pandas as pd

from twin.outputs.charts import PALETTE, Series, line_chart_svg
from twin.scenario.grid import GridAxis

__all__ = ["MAX_LINES", "METRIC_LABELS", "fmt_number", "sweep_html"]

#: Lines per chart before the other axes are pooled (their mean is drawn instead).
MAX_LINES = 8
#: How each summary metric is titled.
METRIC_LABELS: dict[str, str] = {
    "faces_scanned_per_h": "faces scanned per hour",
    "true_alerts_per_h": "true alerts per hour",
    "false_alerts_per_h": "false alerts per hour",
    "tpir": "TPIR (per pass through the zone)",
    "fpir": "FPIR (per face scanned)",
    "precision": "precision (true / all alerts)",
    "true_engaged": "true alerts engaged",
    "false_engaged": "false alerts engaged (wrongful stops)",
}

_CSS = (
    "body{font:14px/1.4 system-ui,sans-serif;margin:24px;max-width:1100px;color:#222}"
    "table{border-collapse:collapse;font-size:12px}"
    "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "th{background:#f3f3f3}h2{margin-top:28px}.note{color:#555}"
)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def _chart(summary: pd.DataFrame, axes: list[GridAxis], axis: GridAxis, metric: str) -> str:
    others = [a for a in axes if a is not axis]
    combos = list(itertools.product(*[a.labels for a in others])) if others else [()]
    pooled = len(combos) > MAX_LINES
    if pooled:
        combos = [()]
    xs = [float(v) for v in axis.values] if axis.numeric else list(range(len(axis.labels)))
    series = []
    for ci, combo in enumerate(combos):
        sel = summary
        if not pooled:
            for a, lab in zip(others, combo, strict=True):
                sel = sel[sel[a.key].astype(str) == lab]
        ys, lo, hi = [], [], []
        for lab in axis.labels:
            g = sel[sel[axis.key].astype(str) == lab]
            ys.append(_num(g[metric].mean()) if len(g) else None)
            lo.append(_num(g[f"{metric}_lo"].mean()) if len(g) else None)
            hi.append(_num(g[f"{metric}_hi"].mean()) if len(g) else None)
        name = ", ".join(f"{a.key}={v}" for a, v in zip(others, combo, strict=True)) or (
            "mean over the other keys" if pooled else metric
        )
        series.append(Series(label=name, colour=PALETTE[ci % len(PALETTE)], x=xs, y=ys, lo=lo, hi=hi))
    ticks = None if axis.numeric else [(float(i), lab) for i, lab in enumerate(axis.labels)]
    return line_chart_svg(
        series,
        title=f"{METRIC_LABELS.get(metric, metric)} against {axis.key}",
        x_label=axis.key,
        y_label=METRIC_LABELS.get(metric, metric),
        x_ticks=ticks,
        y_format="{:.3g}",
    )


def _table(summary: pd.DataFrame, axes: list[GridAxis]) -> str:
    head = "".join(f"<th>{html.escape(a.key)}</th>" for a in axes) + "<th>reps</th>"
    head += "".join(f"<th>{html.escape(METRIC_LABELS.get(m, m))}</th>" for m in _metrics(summary))
    body = []
    for _, r in summary.iterrows():
        cells = "".join(f"<td>{html.escape(str(r[a.key]))}</td>" for a in axes)
        cells += f"<td>{int(r['replications'])}</td>"
        for m in _metrics(summary):
            v, lo, hi = (_num(r[m]), _num(r[f"{m}_lo"]), _num(r[f"{m}_hi"]))
            cells += (
                "<td>—</td>"
                if v is None
                else f"<td>{fmt_number(v)} [{fmt_number(lo or 0.0)}, {fmt_number(hi or 0.0)}]</td>"
            )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def fmt_number(v: float) -> str:
    """A figure for a table: thousands with separators, smaller values to 3 significant digits.

    >>> fmt_number(1083.4), fmt_number(0.000868), fmt_number(14.0)
    ('1,083', '0.000868', '14')
    """
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"


def _metrics(summary: pd.DataFrame) -> list[str]:
    return [m for m in METRIC_LABELS if m in summary.columns]


def sweep_html(summary: pd.DataFrame, axes: list[GridAxis], *, title: str, reps: int) -> str:
    """The sweep page: the per-point table (mean [2.5%, 97.5%]) and one chart per metric and axis.

    Args:
        summary: :func:`twin.outputs.sweep.summarise_sweep`'s frame.
        axes: the sweep's axes.
        title: the page title (escaped here).
        reps: replications per point.
    """
    charts = []
    for axis in axes:
        charts.append(f"<h2>Against {html.escape(axis.key)}</h2>")
        charts.extend(_chart(summary, axes, axis, m) for m in _metrics(summary))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><h1>{html.escape(title)}</h1>"
        f'<p class="note">{len(summary)} grid points x {reps} replications (spawned seeds). Each figure is '
        "the mean over replications with its 95% predictive interval (2.5th-97.5th percentiles: what one "
        "deployment may show).</p>"
        f"{_table(summary, axes)}{''.join(charts)}</body></html>"
    )
