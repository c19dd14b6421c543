"""Human-readable outputs of a run: the summary table rows and a standalone HTML report.

The HTML report is one self-contained file (inline CSS and SVG charts, no script, no CDN), so it
opens on a closed network and prints cleanly to PDF.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

from twin.outputs.charts import _fmt_tick, nice_ticks
from twin.scoring.metric_table import (
    COUNT,
    OPERATIONS_ROWS,
    REPORT_ROWS,
    SHARE,
    Band,
    Metric,
    fmt_band,
    fmt_value,
)
from twin.scoring.summary import ModelFigures, OfficersNeeded, RunSummary, ScoredWith

__all__ = [
    "hourly_svg",
    "metric_rows",
    "operations_html",
    "operations_rows",
    "real_engine_html",
    "real_engine_rows",
    "render_report",
    "summary_rows",
]

SummaryLike = RunSummary | Mapping[str, Any]


def metric_rows(summary: SummaryLike, metrics: Sequence[Metric]) -> list[tuple[str, str, str]]:
    """Rows (label, mean, "lo – hi") of ``metrics`` that the summary has; a model value has no interval
    ("–")."""
    s = RunSummary.coerce(summary)
    out = []
    for m in metrics:
        v = s.value(m)
        if isinstance(v, Band):
            text = fmt_band(v, m.kind)
            out.append((m.label, text.mean, text.interval))
        elif isinstance(v, (int, float)):
            out.append((m.label, fmt_value(float(v), m.kind), "–"))
    return out


def summary_rows(summary: SummaryLike) -> list[tuple[str, str, str]]:
    """Rows (label, mean, 95% predictive interval) of the summary table
    (:data:`~twin.scoring.metric_table.REPORT_ROWS`)."""
    return metric_rows(summary, REPORT_ROWS)


def operations_rows(summary: SummaryLike) -> list[tuple[str, str, str]]:
    """Rows (label, mean, 95% predictive interval) of the operations table; empty without operations."""
    s = RunSummary.coerce(summary)
    if s.operations is None:
        return []
    return metric_rows(s, OPERATIONS_ROWS)


def operations_html(summary: SummaryLike) -> str:
    """The report's operations section: settings, the table, and the officers-needed table and curve."""
    from twin.outputs.charts import Series, line_chart_svg

    s = RunSummary.coerce(summary)
    ops = s.operations
    if ops is None:
        return ""
    st = ops.settings
    rt = st.get("review_time", {})
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
        for a, b, c in operations_rows(s)
    )
    cur = ops.officers_needed or OfficersNeeded()
    target = cur.target_engaged_share
    ns, shares = list(cur.officers), list(cur.engaged_true_share)
    curve = line_chart_svg(
        [
            Series(
                label="expected share of true alerts engaged",
                colour="#1565c0",
                x=ns,
                y=shares,
                marker=cur.officers_needed,
            )
        ],
        title="officers needed",
        x_label="intercept officers",
        y_label="share of true alerts engaged",
        y_max=1.0,
        hline=(0.8 if target is None else target, f"target {0.8 if target is None else target:.0%}"),
    )
    trows = "".join(
        f"<tr><td>{n}</td><td>{fmt_value(sh, SHARE)}</td>"
        f"<td>{fmt_value(w, COUNT)}</td><td>{fmt_value(a, COUNT)}</td>"
        f"<td>{fmt_value(u, SHARE)}</td></tr>"
        for n, sh, w, a, u in zip(
            ns, shares, cur.wrongful_stops, cur.arrests, cur.officer_utilisation, strict=False
        )
    )
    needed = cur.officers_needed
    return f"""<h2>Operations: review and response</h2>
<p>{st.get("operators")} operator(s) review every alert ({html.escape(str(rt.get("distribution")))} review \
time, mean
{rt.get("mean_s")} s); {st.get("officers")} officer(s) posted {st.get("officer_post_m")} m past the cameras \
walk at
{st.get("officer_speed_m_s")} m/s after the person, who is lost if they leave the area first. A false alert \
is dispatched
with probability {st.get("false_alert_dispatch_probability")}; an engaged true alert is an arrest with \
probability
{st.get("arrest_probability")}.</p>
<table><tr><th>Metric</th><th>Mean</th><th>95% predictive interval</th></tr>{rows}</table>
<h3>Officers needed</h3>
<p><b>{"Not reached" if needed is None else f"{needed} officer(s)"}</b> for a target of
{0 if target is None else target:.0%} of true alerts engaged ({html.escape(cur.note)}).</p>
{curve}
<table><tr><th>Officers</th><th>Share of true alerts engaged (expected)</th><th>Wrongful \
stops</th><th>Arrests</th>
<th>Officer utilisation</th></tr>{trows}</table>
<p class="muted">Review source: {html.escape(str(rt.get("source", "")))}. Geometry and calibration: \
twin/operations.py.</p>"""


def _rate_txt(r: dict[str, Any] | None) -> str:
    if not r or r.get("value") is None:
        return "– (none run)"
    ci = r.get("ci95") or [None, None]
    return f"{r['value']:.3f} ({r['k']}/{r['n']}; Wilson 95% CI {ci[0]:.3f} – {ci[1]:.3f})"


def _skipped_text(rows: list[dict[str, str]]) -> str:
    """ "none", or how many face-bank files were left out and why (the first three)."""
    if not rows:
        return "none"
    first = "; ".join(f"{r['file']}: {r['reason']}" for r in rows[:3])
    return f"{len(rows)}: {first}" + (f"; ... (all {len(rows)} in summary.json)" if len(rows) > 3 else "")


def real_engine_rows(summary: SummaryLike) -> list[tuple[str, str]]:
    """Rows (label, value) of the real-engine section (``summary["real_engine"]``); empty without one."""
    re_ = RunSummary.coerce(summary).real_engine
    if not re_:
        return []
    eng, wl, samp, rates = re_["engine"], re_["watchlist"], re_["sampling"], re_["rates"]
    gated = ", ".join(f"{k} {v}" for k, v in sorted(re_.get("gated_out", {}).items())) or "none"
    rows = [
        ("Engine", f"{eng['model_id']} ({eng['score_name']})"),
        ("Threshold", f"{re_['threshold']:g} — {re_['threshold_source']}"),
        (
            "Sampling",
            f"{samp['probes_run']} of {samp['usable_captures']} usable captures of replication 0 "
            f"(max_real_probes {samp['max_real_probes']}; {samp['watchlisted_usable']} watchlisted)",
        ),
        (
            "Watchlist",
            f"{wl['entries']:,} entries: {wl['real_entries']} enrolled from the face bank, "
            f"{wl['fillers']:,} fillers{' (extrapolated)' if wl['extrapolated'] else ''}; "
            + (
                "destroyed at the end"
                if wl.get("destroyed", True)
                else "kept, as the plan says (in memory only)"
            ),
        ),
        ("Photos skipped", _skipped_text(re_.get("faces", {}).get("skipped_images") or [])),
        ("Frames composed", f"{re_['frames']}"),
        ("Probes placed / faces detected", f"{re_['probes_placed']} / {re_['faces_detected']}"),
        ("Gated out", gated),
        ("Probes searched / deleted at once", f"{re_['probes_searched']} / {re_['probes_deleted']}"),
        ("Alerts (true / false)", f"{re_['alerts']} ({re_['true_alerts']} / {re_['false_alerts']})"),
        ("TPIR, measured (per pass)", _rate_txt(rates.get("tpir"))),
        ("FPIR, measured (per face)", _rate_txt(rates.get("fpir"))),
    ]
    if rates.get("tpir_in_zone"):
        rows.append(("TPIR incl. capture failures", _rate_txt(rates["tpir_in_zone"])))
    if "model_files" in eng:
        rows.append(("Model files", ", ".join(f"{k} sha256 {v[:12]}" for k, v in eng["model_files"].items())))
    return rows


def real_engine_html(summary: SummaryLike) -> str:
    """The report's real-engine section (empty without one)."""
    s = RunSummary.coerce(summary)
    rows = real_engine_rows(s)
    if not rows or s.real_engine is None:
        return ""
    re_ = s.real_engine
    body = "".join(
        f"<tr><td>{html.escape(a)}</td><td style='text-align:left'>{html.escape(b)}</td></tr>"
        for a, b in rows
    )
    flag = (
        f'<p class="warn">{html.escape(re_["statement"])}: '
        f"{html.escape('; '.join(re_.get('extrapolated_because', [])))}</p>"
        if re_.get("extrapolated")
        else f"<p>{html.escape(re_['statement'])}</p>"
    )
    return f"""<h2>Real engine: {html.escape(re_["engine"]["model_id"])} on replication 0</h2>
{flag}
<table><tr><th>What</th><th style='text-align:left'>Measured</th></tr>{body}</table>
<p class="muted">Faces rendered from the face bank for each sampled capture (ied_px, yaw, motion blur, light \
by hour,
sensor noise, JPEG), composed into camera frames and run through detection, the quality gate, embedding, 1:N \
search
and the threshold. Only alerts keep a review crop (<code>alerts/</code>); every other probe was deleted at \
once.
{html.escape(re_.get("statistical_figures", ""))}.</p>"""


def hourly_svg(summary: SummaryLike, start_hour: int, *, width: int = 640, height: int = 220) -> str:
    """An inline SVG bar chart of true and false alerts per hour (means) with passers-by as a line.

    Returns an empty string for a window without hours.
    """
    hourly = RunSummary.coerce(summary).hourly
    true_a = [b.mean or 0.0 for b in hourly.get("true_alerts", ())]
    false_a = [b.mean or 0.0 for b in hourly.get("false_alerts", ())]
    passers = [b.mean or 0.0 for b in hourly.get("passers_by", ())]
    H = len(true_a)
    if H == 0:
        return ""
    pad_l, pad_b, pad_t, pad_r = 44, 28, 18, 54
    w, h = width - pad_l - pad_r, height - pad_b - pad_t
    ticks = nice_ticks(max(t + f for t, f in zip(true_a, false_a, strict=True)))
    ticks_p = nice_ticks(max(passers))
    top, top_p = ticks[-1], ticks_p[-1]
    bw = w / H
    every = max(1, math.ceil(30 / bw))  # keep hour labels >= 30 px apart
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="alerts per hour" style="font:11px sans-serif">'
    ]
    for v in ticks:
        y = pad_t + h - h * v / top
        parts.append(f'<line x1="{pad_l}" x2="{pad_l + w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        parts.append(f'<text x="{pad_l - 4}" y="{y + 4:.1f}" text-anchor="end">{_fmt_tick(v)}</text>')
    for v in ticks_p:
        y = pad_t + h - h * v / top_p
        parts.append(f'<text x="{pad_l + w + 4}" y="{y + 4:.1f}" fill="#616161">{_fmt_tick(v)}</text>')
    for i in range(H):
        x = pad_l + i * bw + bw * 0.15
        ht, hf = h * true_a[i] / top, h * false_a[i] / top
        parts.append(
            f'<rect x="{x:.1f}" y="{pad_t + h - ht:.1f}" width="{bw * 0.7:.1f}" height="{ht:.1f}" '
            f'fill="#2e7d32"><title>true alerts {true_a[i]:.2f}</title></rect>'
        )
        parts.append(
            f'<rect x="{x:.1f}" y="{pad_t + h - ht - hf:.1f}" width="{bw * 0.7:.1f}" height="{hf:.1f}" '
            f'fill="#c62828"><title>false alerts {false_a[i]:.2f}</title></rect>'
        )
        if i % every == 0:
            parts.append(
                f'<text x="{pad_l + (i + 0.5) * bw:.1f}" y="{pad_t + h + 14}" '
                f'text-anchor="middle">{(start_hour + i) % 24:02d}h</text>'
            )
    pts = " ".join(
        f"{pad_l + (i + 0.5) * bw:.1f},{pad_t + h - h * p / top_p:.1f}" for i, p in enumerate(passers)
    )
    parts.append(
        f'<polyline points="{pts}" fill="none" stroke="#616161" stroke-width="1.5" stroke-dasharray="4 3"/>'
    )
    parts.append(
        f'<text x="{pad_l}" y="12">alerts / h (mean): <tspan fill="#2e7d32">■ true</tspan> <tspan '
        'fill="#c62828">■ false</tspan>'
        f' <tspan fill="#616161">- - passers-by / h (right axis)</tspan></text>'
    )
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font:14px/1.45 -apple-system,Segoe UI,Roboto,sans-serif;color:#212121;max-width:980px;margin:24px \
auto;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid \
#ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid \
#eee;text-align:right}
td:first-child,th:first-child{text-align:left}.muted{color:#757575;font-size:12px}\
.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:6px 10px}
@media print{body{margin:0}}
"""


def render_report(
    summary: SummaryLike,
    *,
    title: str,
    scenario_yaml: str,
    start_hour: int,
    map_file: str | None = "map.html",
) -> str:
    """The standalone HTML report of a run.

    Args:
        summary: the run's summary (``summary.json`` content).
        title: heading.
        scenario_yaml: the scenario text, shown verbatim.
        start_hour: clock hour of the window's start (chart labels).
        map_file: relative link to the map, or None.
    """
    s = RunSummary.coerce(summary)
    run = s.run
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
        for a, b, c in summary_rows(s)
    )
    warn = "".join(f'<p class="warn">{html.escape(w)}</p>' for w in (run.warnings if run else ()))
    model = s.model or ModelFigures()
    sw = s.scored_with or ScoredWith()
    nan = float("nan")
    link = f'<p><a href="{html.escape(map_file)}">Open the map</a> (works offline).</p>' if map_file else ""
    site_name = run.site.name if run else ""
    w_start, w_dur = (run.window.start, run.window.duration_s) if run else ("", 0)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">Site {html.escape(str(site_name))} · window {html.escape(str(w_start))}
for {w_dur / 3600:.1f} h · engine {html.escape(str(model.model_id or ""))} ·
seed {run.seed if run else None} · {s.replications} replications · scenario sha256 \
{html.escape(str(run.scenario_sha256 if run else "")[:12])}</p>
{warn}{link}
<h2>Expected outcome{" (statistical engine)" if s.real_engine else ""}</h2>
<p>Watchlist of {sw.watchlist_size or 0:,} entries, threshold {sw.threshold}, prevalence {sw.prevalence}.
The model's FPIR at this threshold and list size is \
{nan if model.fpir_at_threshold is None else model.fpir_at_threshold:.2e} per face scanned
(per-comparison FMR {nan if model.fmr_at_threshold is None else model.fmr_at_threshold:.2e}).</p>
<table><tr><th>Metric</th><th>Mean</th><th>95% predictive interval</th></tr>{rows}</table>
<p class="muted">{html.escape(s.interval or "")}. TPIR counts every pass through a camera's recognition zone \
by a
watchlisted person, capture failures included (NPL 2023's definition); FPIR counts false alerts per face \
scanned of people not on the watchlist.</p>
<h2>Alerts per hour</h2>{hourly_svg(s, start_hour)}
{real_engine_html(s)}
{operations_html(s)}
<h2>Scenario</h2><pre style="background:#fafafa;border:1px solid \
#eee;padding:8px;overflow:auto">{html.escape(scenario_yaml)}</pre>
<p class="muted">Twin {html.escape(str(run.twin_version if run else ""))}. Street geometry © OpenStreetMap \
contributors, ODbL 1.0.</p>
</body></html>"""
