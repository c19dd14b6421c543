"""Write a validation of the forecast model: ``validation.csv``, ``validation.json``, ``validation.html``.

One folder per validation, written atomically and never over an earlier one
(:func:`twin.outputs.folders.atomic_folder`). The HTML works offline (inline SVG, no script): the
summary, observed against predicted with 95% intervals in date order per quantity, a PIT
histogram per quantity, and the twin's faces against the published ones at modelled sites.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin._version import __version__
from twin.files import csv_cell, dumps_json
from twin.outputs.charts import PALETTE, bar_chart_svg
from twin.outputs.folders import atomic_folder
from twin.outputs.point_charts import interval_strip_svg, scatter_svg
from twin.records.forecast import QUANTITIES
from twin.records.validate import Validation

__all__ = ["QUANTITY_LABELS", "render_validation", "validation_doc", "write_validation"]

#: How each quantity is named for people.
QUANTITY_LABELS: dict[str, str] = {
    "alerts": "Alerts",
    "true_alerts": "True alerts",
    "false_alerts": "False alerts",
}

#: The faces ratio a calibrated twin should keep (issue target, shown on the plot).
FACES_RATIO_BAND = (0.67, 1.5)


def _clean(x: Any) -> Any:
    """JSON-safe: NaN and infinities become None; numpy scalars become Python numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else None
    return x


def validation_doc(v: Validation, faces: dict[str, Any] | None, *, sources: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: ``coverage``, ``pooled``, ``log_score``, ``faces_ratio``, ``rows`` and context."""
    s = v.summary
    return _clean(
        {
            "coverage": s["coverage"],
            "pooled": s["pooled"],
            "log_score": s["log_score"],
            "faces_ratio": {
                "median": (faces or {}).get("median"),
                "n": (faces or {}).get("n", 0),
                "sites": (faces or {}).get("sites", {}),
                "definition": "twin's faces scanned by one van of the site's scenario (calibrated on the fit "
                "rows, for the row's duration and era) / published faces_seen",
            },
            "rows": s["rows"],
            "fit_rows": s["fit_rows"],
            "eras": s["eras"],
            "parameters": s["parameters"],
            "baseline": {
                "rates_per_face": s["baseline_rates_per_face"],
                "definition": "each quantity's pooled training rate per published face, Poisson",
            },
            "interval": "95% predictive interval: 2.5th-97.5th percentiles of the forecast's draws "
            "(parameters, place, drift and between-deployment spread included)",
            "notes": s["notes"],
            "seed": s["seed"],
            "sources": sources,
            "twin_version": __version__,
        }
    )


def _month(d: str) -> str:
    return pd.Timestamp(d).strftime("%b %Y")


_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:960px;color:#212121}"
    "table{border-collapse:collapse;margin:.6em 0}"
    "td,th{border-bottom:1px solid #e0e0e0;padding:3px 10px;text-align:right}"
    "td:first-child,th:first-child{text-align:left}figure{margin:1em 0}h2{margin-top:1.6em}"
)

_INTRO = (
    "<p>Fitted on {fit} deployments, predicted {rows} from their published inputs only (date, location, "
    "duration, watchlist size, threshold, faces seen). A 95% predictive interval should hold the published "
    "count for about 95 of 100 deployments; the PIT values of a calibrated forecast spread evenly over "
    "0–1.</p>"
)
_SCORES = (
    "<p>Log score: mean log predictive probability of the published counts (higher is better). Baseline: "
    "each quantity's pooled training rate per published face, Poisson.</p>"
)
_ERAS = (
    "<p>Change points in the published faces per hour (detected on inputs only). Counting factor: how many "
    "of the latest era's faces one face of that era is worth.</p>"
)


def _summary_table(s: dict[str, Any]) -> str:
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "quantity",
            "95% coverage",
            "pooled observed",
            "pooled predicted (95% interval)",
            "log score",
            "baseline",
        )
    )
    rows = []
    for q in QUANTITIES:
        pl = s["pooled"][q]
        cells = (
            QUANTITY_LABELS[q],
            f"{s['coverage'][q]:.0%}",
            f"{pl['observed']:,}",
            f"{pl['mean']:,.1f} ({pl['lo']:,.0f}–{pl['hi']:,.0f})",
            f"{s['log_score']['model'][q]:.3f}",
            f"{s['log_score']['baseline'][q]:.3f}",
        )
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _strips(t: pd.DataFrame) -> str:
    months = [_month(d) for d in t["date"]]
    out = []
    for q in QUANTITIES:
        svg = interval_strip_svg(
            months,
            t[f"{q}_mean"].tolist(),
            t[f"{q}_lo"].tolist(),
            t[f"{q}_hi"].tolist(),
            t[f"{q}_observed"].tolist(),
            title=f"{QUANTITY_LABELS[q]} per deployment, by date",
            y_label=QUANTITY_LABELS[q].lower(),
        )
        out.append(f"<figure>{svg}</figure>")
    return "".join(out)


def _outside(t: pd.DataFrame) -> str:
    """The deployments whose published count fell outside its 95% interval (escaped text)."""
    rows = []
    for q in QUANTITIES:
        out = t[(t[f"{q}_observed"] < t[f"{q}_lo"]) | (t[f"{q}_observed"] > t[f"{q}_hi"])]
        for _, r in out.iterrows():
            cells = (
                html.escape(str(r["date"])),
                html.escape(str(r["location"])),
                QUANTITY_LABELS[q],
                f"{int(r[f'{q}_observed'])}",
                f"{r[f'{q}_mean']:.1f} ({int(r[f'{q}_lo'])}–{int(r[f'{q}_hi'])})",
            )
            rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if not rows:
        return "<p>Every published count fell inside its 95% interval.</p>"
    head = "".join(f"<th>{h}</th>" for h in ("date", "location", "quantity", "published", "predicted (95%)"))
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def _pit(t: pd.DataFrame) -> str:
    bins = [f"{i / 10:.1f}–{(i + 1) / 10:.1f}" for i in range(10)]
    counts = [np.histogram(t[f"{q}_pit"].to_numpy(float), bins=10, range=(0, 1))[0] for q in QUANTITIES]
    bars = [(QUANTITY_LABELS[q], PALETTE[i]) for i, q in enumerate(QUANTITIES)]
    values = [[int(counts[k][b]) for k in range(len(QUANTITIES))] for b in range(10)]
    return (
        f"<figure>{bar_chart_svg(bins, bars, values, title='PIT histogram', y_label='deployments')}</figure>"
    )


def _faces(t: pd.DataFrame, faces: dict[str, Any] | None) -> str:
    if not faces or not faces.get("n") or "faces_ratio" not in t:
        return "<p>No predicted deployment at a modelled site.</p>"
    ft = t[t["faces_ratio"].notna()]
    lo, hi = FACES_RATIO_BAND
    svg = scatter_svg(
        ft["faces_seen"].tolist(),
        ft["twin_faces"].tolist(),
        [f"{d} {loc}" for d, loc in zip(ft["date"], ft["location"], strict=True)],
        title="Faces per deployment",
        x_label="published faces_seen",
        y_label="twin's faces scanned",
        band=FACES_RATIO_BAND,
    )
    return (
        f"<p>Median ratio twin / published: <b>{faces['median']:.2f}</b> over {faces['n']} deployment(s) "
        f"(target {lo}–{hi}).</p>{svg}"
    )


def render_validation(
    v: Validation, table: pd.DataFrame, faces: dict[str, Any] | None, *, title: str, sources: dict[str, Any]
) -> str:
    """The offline ``validation.html`` page (every text from input escaped)."""
    s = v.summary
    esc = html.escape
    t = table.sort_values(["date", "line"], kind="stable")
    eras = "".join(
        f"<tr><td>{esc(e['label'])}</td><td>{e['median_faces_per_h']:,.0f}</td>"
        f"<td>{e['counting_factor']:.2f}</td></tr>"
        for e in s["eras"]
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in s["notes"]) or "<li>none</li>"
    src = "".join(f"<li>{esc(str(k))}: {esc(str(val))}</li>" for k, val in sources.items())
    parts = [
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>',
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{esc(title)}</h1>",
        _INTRO.format(fit=s["fit_rows"], rows=s["rows"]),
        f"<ul>{src}</ul>",
        "<h2>Summary</h2>",
        _summary_table(s),
        _SCORES,
        "<h2>Observed against predicted</h2>",
        _strips(t),
        "<h3>Outside their 95% interval</h3>",
        _outside(t),
        "<h2>PIT histogram</h2>",
        _pit(t),
        "<h2>Faces: the twin against the records</h2>",
        _faces(t, faces),
        "<h2>Counting eras</h2>",
        _ERAS,
        f"<table><tr><th>era from</th><th>median faces / h</th><th>counting factor</th></tr>{eras}</table>",
        f"<h2>Notes</h2><ul>{notes}</ul>",
        "</body></html>\n",
    ]
    return "\n".join(parts)


def write_validation(
    v: Validation,
    out_dir: Path | str,
    *,
    faces: dict[str, Any] | None = None,
    table: pd.DataFrame | None = None,
    sources: dict[str, Any] | None = None,
    name: str | None = None,
    now: dt.datetime | None = None,
) -> Path:
    """Write ``validation.csv``, ``validation.json`` and ``validation.html`` into a new folder.

    Args:
        v: the validation.
        out_dir: parent folder (created if needed).
        faces: the faces check's summary (:func:`twin.records.sitefaces.faces_check`), if run.
        table: the per-deployment table (default ``v.table``; with the faces columns if run).
        sources: what was fitted and predicted (shown and stored).
        name: folder name (default ``validation-<timestamp>``; a taken name gets ``-2``, ...).

    Returns:
        the new folder.

    Raises:
        RunFolderError: ``out_dir`` cannot be created or written.
    """
    now = now or dt.datetime.now()
    table = v.table if table is None else table
    sources = sources or {}
    base = name or f"validation-{now:%Y%m%d-%H%M%S}"
    with atomic_folder(out_dir, base) as folder:
        # locations and notes are the user's text: never a spreadsheet formula (numbers pass through)
        table.map(csv_cell).to_csv(folder.tmp / "validation.csv", index=False)
        doc = validation_doc(v, faces, sources=sources)
        (folder.tmp / "validation.json").write_text(dumps_json(doc, indent=1) + "\n", encoding="utf-8")
        (folder.tmp / "validation.html").write_text(
            render_validation(
                v, table, faces, title="Forecasts against published deployments", sources=sources
            ),
            encoding="utf-8",
        )
    return folder.final
