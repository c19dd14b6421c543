"""Human-readable outputs of a run: the summary table rows and a standalone HTML report.

The HTML report is one self-contained file (inline CSS and SVG charts, no script, no CDN), so it
opens on a closed network and prints cleanly to PDF.
"""

from __future__ import annotations

import html
import math
from typing import Any

from twin.outputs.charts import _fmt_tick, nice_ticks

__all__ = ["OPERATIONS_ROWS", "SUMMARY_ROWS", "fmt_band", "hourly_svg", "operations_html", "operations_rows",
           "real_engine_html", "real_engine_rows", "render_report", "summary_rows"]

#: (label, section, key, per-hour?) rows of the summary table, in display order.
SUMMARY_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Passers-by", "totals", "passers_by"),
    ("Turned back at the signs", "totals", "turned_back"),
    ("Passes through a recognition zone", "totals", "in_zone"),
    ("Faces scanned (≥ 1 usable capture)", "totals", "faces_scanned"),
    ("Usable captures", "totals", "captures"),
    ("Watchlisted passers-by", "totals", "watchlisted_passers"),
    ("Alerts", "totals", "alerts"),
    ("True alerts", "totals", "true_alerts"),
    ("False alerts", "totals", "false_alerts"),
    ("False alerts expected (model: faces × FPIR)", "model", "expected_false_alerts"),
    ("True alerts per hour", "per_hour_rate", "true_alerts"),
    ("False alerts per hour", "per_hour_rate", "false_alerts"),
    ("TPIR (per pass through the zone)", "rates", "tpir"),
    ("FPIR (per face scanned)", "rates", "fpir"),
    ("Precision (true / all alerts)", "rates", "precision"),
)


#: (label, section inside ``summary["operations"]`` or "" for the top level, key) rows of the
#: operations table (twin/sim/operations.py), in display order.
OPERATIONS_ROWS: tuple[tuple[str, str, str], ...] = (
    ("Alerts per hour", "per_hour_rate", "alerts"),
    ("Review queue wait, mean (s)", "operations.times_s", "review_wait_s"),
    ("Capture to engagement, mean (s)", "operations.times_s", "capture_to_engagement_s"),
    ("True alerts engaged", "operations.totals", "true_engaged"),
    ("True alerts lost in the crowd", "operations.totals", "true_lost"),
    ("False alerts dismissed at review", "operations.totals", "false_dismissed"),
    ("Wrongful stops (false alerts engaged)", "operations.totals", "false_engaged"),
    ("False alerts dispatched, person lost", "operations.totals", "false_lost"),
    ("Stops", "operations.totals", "stops"),
    ("Arrests", "operations.totals", "arrests"),
    ("Share of true alerts engaged (mean of replications)", "operations.rates", "engaged_true_share"),
    ("Operator utilisation", "operations.rates", "operator_utilisation"),
    ("Officer utilisation", "operations.rates", "officer_utilisation"),
)
_SHARE_KEYS = ("engaged_true_share", "operator_utilisation", "officer_utilisation")


def _fmt(x: float | None, key: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if key in _SHARE_KEYS:
        return f"{x:.1%}"
    if key.endswith("_s"):
        return f"{x:,.0f}"
    if key == "fpir":
        return f"{x:.2e}" if x else "0"
    if key in ("tpir", "precision", "scan_share"):
        return f"{x:.3f}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}"


def fmt_band(band: dict[str, Any], key: str) -> tuple[str, str]:
    """(mean, "lo – hi") strings for a metric band."""
    return _fmt(band.get("mean"), key), f"{_fmt(band.get('p2_5'), key)} – {_fmt(band.get('p97_5'), key)}"


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows (label, mean, 95% predictive interval) of the summary table."""
    out = []
    for label, section, key in SUMMARY_ROWS:
        band = summary.get(section, {}).get(key)
        if isinstance(band, dict):
            out.append((label, *fmt_band(band, key)))
        elif isinstance(band, (int, float)):
            out.append((label, _fmt(float(band), key), "–"))
    return out


def _section(summary: dict[str, Any], path: str) -> dict[str, Any]:
    node: Any = summary
    for part in path.split("."):
        node = node.get(part, {}) if isinstance(node, dict) else {}
    return node if isinstance(node, dict) else {}


def operations_rows(summary: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Rows (label, mean, 95% predictive interval) of the operations table; empty without operations."""
    if "operations" not in summary:
        return []
    out = []
    for label, section, key in OPERATIONS_ROWS:
        band = _section(summary, section).get(key)
        if band is not None:
            out.append((label, *fmt_band(band, key)))
    return out


def operations_html(summary: dict[str, Any]) -> str:
    """The report's operations section: settings, the table, and the officers-needed table and curve."""
    from twin.outputs.charts import Series, line_chart_svg

    ops = summary.get("operations")
    if not ops:
        return ""
    st = ops.get("settings", {})
    rt = st.get("review_time", {})
    rows = "".join(f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>"
                   for a, b, c in operations_rows(summary))
    cur = ops.get("officers_needed", {})
    ns, shares = cur.get("officers", []), cur.get("engaged_true_share", [])
    curve = line_chart_svg(
        [Series("expected share of true alerts engaged", "#1565c0", ns, shares, marker=cur.get("officers_needed"))],
        title="officers needed", x_label="intercept officers", y_label="share of true alerts engaged", y_max=1.0,
        hline=(cur.get("target_engaged_share", 0.8), f"target {cur.get('target_engaged_share', 0.8):.0%}"),
    )
    util = cur.get("officer_utilisation", [])
    trows = "".join(
        f"<tr><td>{n}</td><td>{_fmt(sh, 'engaged_true_share')}</td><td>{_fmt(w, 'x')}</td><td>{_fmt(a, 'x')}</td>"
        f"<td>{_fmt(u, 'officer_utilisation')}</td></tr>"
        for n, sh, w, a, u in zip(ns, shares, cur.get("wrongful_stops", []), cur.get("arrests", []), util, strict=False)
    )
    needed = cur.get("officers_needed")
    return f"""<h2>Operations: review and response</h2>
<p>{st.get('operators')} operator(s) review every alert ({html.escape(str(rt.get('distribution')))} review time, mean
{rt.get('mean_s')} s); {st.get('officers')} officer(s) posted {st.get('officer_post_m')} m past the cameras walk at
{st.get('officer_speed_m_s')} m/s after the person, who is lost if they leave the area first. A false alert is dispatched
with probability {st.get('false_alert_dispatch_probability')}; an engaged true alert is an arrest with probability
{st.get('arrest_probability')}.</p>
<table><tr><th>Metric</th><th>Mean</th><th>95% predictive interval</th></tr>{rows}</table>
<h3>Officers needed</h3>
<p><b>{'Not reached' if needed is None else f'{needed} officer(s)'}</b> for a target of
{cur.get('target_engaged_share', 0):.0%} of true alerts engaged ({html.escape(str(cur.get('note', '')))}).</p>
{curve}
<table><tr><th>Officers</th><th>Share of true alerts engaged (expected)</th><th>Wrongful stops</th><th>Arrests</th>
<th>Officer utilisation</th></tr>{trows}</table>
<p class="muted">Review source: {html.escape(str(rt.get('source', '')))}. Geometry and calibration: twin/operations.py.</p>"""


def _rate_txt(r: dict[str, Any] | None) -> str:
    if not r or r.get("value") is None:
        return "– (none run)"
    ci = r.get("ci95") or [None, None]
    return f"{r['value']:.3f} ({r['k']}/{r['n']}; Wilson 95% CI {ci[0]:.3f} – {ci[1]:.3f})"


def real_engine_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    """Rows (label, value) of the real-engine section (``summary["real_engine"]``); empty without one."""
    re_ = summary.get("real_engine")
    if not re_:
        return []
    eng, wl, samp, rates = re_["engine"], re_["watchlist"], re_["sampling"], re_["rates"]
    gated = ", ".join(f"{k} {v}" for k, v in sorted(re_.get("gated_out", {}).items())) or "none"
    rows = [
        ("Engine", f"{eng['model_id']} ({eng['score_name']})"),
        ("Threshold", f"{re_['threshold']:g} — {re_['threshold_source']}"),
        ("Sampling", f"{samp['probes_run']} of {samp['usable_captures']} usable captures of replication 0 "
                     f"(max_real_probes {samp['max_real_probes']}; {samp['watchlisted_usable']} watchlisted)"),
        ("Watchlist", f"{wl['entries']:,} entries: {wl['real_entries']} enrolled from the face bank, "
                      f"{wl['fillers']:,} fillers{' (extrapolated)' if wl['extrapolated'] else ''}; destroyed at the end"),
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


def real_engine_html(summary: dict[str, Any]) -> str:
    """The report's real-engine section (empty without one)."""
    rows = real_engine_rows(summary)
    if not rows:
        return ""
    re_ = summary["real_engine"]
    body = "".join(f"<tr><td>{html.escape(a)}</td><td style='text-align:left'>{html.escape(b)}</td></tr>" for a, b in rows)
    flag = (f'<p class="warn">{html.escape(re_["statement"])}: {html.escape("; ".join(re_.get("extrapolated_because", [])))}</p>'
            if re_.get("extrapolated") else f"<p>{html.escape(re_['statement'])}</p>")
    return f"""<h2>Real engine: {html.escape(re_['engine']['model_id'])} on replication 0</h2>
{flag}
<table><tr><th>What</th><th style='text-align:left'>Measured</th></tr>{body}</table>
<p class="muted">Faces rendered from the face bank for each sampled capture (ied_px, yaw, motion blur, light by hour,
sensor noise, JPEG), composed into camera frames and run through detection, the quality gate, embedding, 1:N search
and the threshold. Only alerts keep a review crop (<code>alerts/</code>); every other probe was deleted at once.
{html.escape(re_.get('statistical_figures', ''))}.</p>"""


def hourly_svg(summary: dict[str, Any], start_hour: int, *, width: int = 640, height: int = 220) -> str:
    """An inline SVG bar chart of true and false alerts per hour (means) with passers-by as a line.

    Returns an empty string for a window without hours.
    """
    hourly = summary.get("hourly", {})
    true_a = [b["mean"] or 0.0 for b in hourly.get("true_alerts", [])]
    false_a = [b["mean"] or 0.0 for b in hourly.get("false_alerts", [])]
    passers = [b["mean"] or 0.0 for b in hourly.get("passers_by", [])]
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
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="alerts per hour" style="font:11px sans-serif">']
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
        parts.append(f'<rect x="{x:.1f}" y="{pad_t + h - ht:.1f}" width="{bw * 0.7:.1f}" height="{ht:.1f}" fill="#2e7d32"><title>true alerts {true_a[i]:.2f}</title></rect>')
        parts.append(f'<rect x="{x:.1f}" y="{pad_t + h - ht - hf:.1f}" width="{bw * 0.7:.1f}" height="{hf:.1f}" fill="#c62828"><title>false alerts {false_a[i]:.2f}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{pad_l + (i + 0.5) * bw:.1f}" y="{pad_t + h + 14}" text-anchor="middle">{(start_hour + i) % 24:02d}h</text>')
    pts = " ".join(f"{pad_l + (i + 0.5) * bw:.1f},{pad_t + h - h * p / top_p:.1f}" for i, p in enumerate(passers))
    parts.append(f'<polyline points="{pts}" fill="none" stroke="#616161" stroke-width="1.5" stroke-dasharray="4 3"/>')
    parts.append(f'<text x="{pad_l}" y="12">alerts / h (mean): <tspan fill="#2e7d32">■ true</tspan> <tspan fill="#c62828">■ false</tspan>'
                 f' <tspan fill="#616161">- - passers-by / h (right axis)</tspan></text>')
    parts.append("</svg>")
    return "".join(parts)


_CSS = """
body{font:14px/1.45 -apple-system,Segoe UI,Roboto,sans-serif;color:#212121;max-width:980px;margin:24px auto;padding:0 16px}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:4px 10px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}.muted{color:#757575;font-size:12px}.warn{background:#fff3e0;border-left:4px solid #ef6c00;padding:6px 10px}
@media print{body{margin:0}}
"""


def render_report(summary: dict[str, Any], *, title: str, scenario_yaml: str, start_hour: int, map_file: str | None = "map.html") -> str:
    """The standalone HTML report of a run.

    Args:
        summary: the run's summary (``summary.json`` content).
        title: heading.
        scenario_yaml: the scenario text, shown verbatim.
        start_hour: clock hour of the window's start (chart labels).
        map_file: relative link to the map, or None.
    """
    run = summary.get("run", {})
    rows = "".join(
        f"<tr><td>{html.escape(a)}</td><td>{html.escape(b)}</td><td>{html.escape(c)}</td></tr>" for a, b, c in summary_rows(summary)
    )
    warn = "".join(f'<p class="warn">{html.escape(w)}</p>' for w in run.get("warnings", []))
    model = summary.get("model", {})
    sw = summary.get("scored_with", {})
    link = f'<p><a href="{html.escape(map_file)}">Open the map</a> (works offline).</p>' if map_file else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="muted">Site {html.escape(str(run.get('site', {}).get('name', '')))} · window {html.escape(str(run.get('window', {}).get('start', '')))}
for {run.get('window', {}).get('duration_s', 0) / 3600:.1f} h · engine {html.escape(str(model.get('model_id', '')))} ·
seed {run.get('seed')} · {summary.get('replications')} replications · scenario sha256 {html.escape(str(run.get('scenario_sha256', ''))[:12])}</p>
{warn}{link}
<h2>Expected outcome{' (statistical engine)' if summary.get('real_engine') else ''}</h2>
<p>Watchlist of {sw.get('watchlist_size', 0):,} entries, threshold {sw.get('threshold')}, prevalence {sw.get('prevalence')}.
The model's FPIR at this threshold and list size is {model.get('fpir_at_threshold', float('nan')):.2e} per face scanned
(per-comparison FMR {model.get('fmr_at_threshold', float('nan')):.2e}).</p>
<table><tr><th>Metric</th><th>Mean</th><th>95% predictive interval</th></tr>{rows}</table>
<p class="muted">{html.escape(summary.get('interval', ''))}. TPIR counts every pass through a camera's recognition zone by a
watchlisted person, capture failures included (NPL 2023's definition); FPIR counts false alerts per face scanned of people not on the watchlist.</p>
<h2>Alerts per hour</h2>{hourly_svg(summary, start_hour)}
{real_engine_html(summary)}
{operations_html(summary)}
<h2>Scenario</h2><pre style="background:#fafafa;border:1px solid #eee;padding:8px;overflow:auto">{html.escape(scenario_yaml)}</pre>
<p class="muted">Twin {html.escape(str(run.get('twin_version', '')))}. Street geometry © OpenStreetMap contributors, ODbL 1.0.</p>
</body></html>"""
