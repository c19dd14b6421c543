"""The deployment record as a standalone, printable HTML document (no script, no network).

Sections in the order a data protection officer reads them: breaches first, then authorisation,
necessity, where and when, the watchlist, expected performance, equitability, officers, signage,
retention and the audit log. Numbers print through :func:`twin.scoring.metric_table.fmt_value`;
charts are :func:`twin.outputs.charts.line_chart_svg`.
"""

from __future__ import annotations

import html
import math
from typing import Any

from twin.outputs.charts import Series, line_chart_svg
from twin.outputs.report import operations_html
from twin.scoring.metric_table import COUNT, RATIO, RECORD_ROWS, SCI, SHARE, fmt_band, fmt_value
from twin.scoring.policy import EQUITY_RATIO_LIMIT

__all__ = ["EQUITY_RATIO_LIMIT", "render_record_html"]

#: How the record's own kinds of value print (:func:`twin.scoring.metric_table.fmt_value`).
_KINDS = {"rate": SCI, "share": SHARE, "p": RATIO}


def _fmt(x: Any, kind: str = "") -> str:
    """A value for the record's tables: numbers through :func:`~twin.scoring.metric_table.fmt_value`, anything
    else as text."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if kind in _KINDS:
        return fmt_value(x, _KINDS[kind])
    if isinstance(x, float):
        return fmt_value(x, COUNT)
    return html.escape(str(x))


def _bandtxt(b: dict[str, Any], kind: str = COUNT) -> str:
    if not b:
        return "–"
    text = fmt_band(b, kind)
    return f"{text.mean} <span class=m>(95% PI {text.lo}–{text.hi})</span>"


#: Colours of the groups' lines in the threshold sweep.
_GROUP_COLOURS = ("#1b5e20", "#0d47a1", "#b71c1c", "#6a1b9a", "#e65100", "#37474f")


def _sweep_ticks(ts: list[float]) -> list[tuple[float, str]]:
    return [(t, f"{t:.2f}") for t in ts[::4]]


def _ratio_svg(eq: dict[str, Any], threshold: float) -> str:
    """Highest/lowest group FPIR ratio against threshold, with the 1.25 flag line and the threshold."""
    sw = eq.get("sweep") or {}
    ts, rs = sw.get("thresholds") or [], sw.get("ratio") or []
    if not ts:
        return ""
    return line_chart_svg(
        [Series(label="highest / lowest group FPIR", colour="#0d47a1", x=ts, y=rs)],
        title="FPIR ratio across thresholds",
        x_label="threshold",
        y_label="highest / lowest group FPIR",
        x_ticks=_sweep_ticks(ts),
        hline=(EQUITY_RATIO_LIMIT, f"flag {EQUITY_RATIO_LIMIT}"),
        vline=(threshold, f"threshold {threshold}"),
        width=620,
        height=200,
        y_format="{:.2f}",
    )


def _sweep_svg(eq: dict[str, Any], threshold: float) -> str:
    """Each group's FPIR against threshold (log scale), with the threshold."""
    sw = eq.get("sweep") or {}
    ts = sw.get("thresholds") or []
    if not ts:
        return ""
    series = [
        Series(label=name, colour=_GROUP_COLOURS[i % len(_GROUP_COLOURS)], x=ts, y=values)
        for i, (name, values) in enumerate(sw["fpir"].items())
    ]
    return line_chart_svg(
        series,
        title="FPIR per group across thresholds",
        x_label="threshold",
        y_label="FPIR per face scanned (log)",
        x_ticks=_sweep_ticks(ts),
        vline=(threshold, f"threshold {threshold}"),
        y_log=True,
        width=620,
        height=260,
        y_format="{:.2e}",
    )


_CSS = """body{font:14px/1.5 Georgia,'Times New Roman',serif;color:#111;max-width:900px;margin:28px \
auto;padding:0 18px}
h1{font:600 22px sans-serif;margin:0}h2{font:600 16px sans-serif;margin:26px 0 6px;border-bottom:2px solid \
#222;padding-bottom:2px}
table{border-collapse:collapse;width:100%;margin:6px 0}td,th{border:1px solid #bbb;padding:4px \
8px;text-align:left;vertical-align:top}
th{background:#f0f0f0;font:600 13px sans-serif}.m{color:#555;font-size:12px}.breach{border:2px solid \
#b71c1c;background:#ffebee;padding:8px 12px}
.ok{border:2px solid #1b5e20;background:#e8f5e9;padding:8px 12px}.meta \
td:first-child{width:30%;font-weight:600}
@media print{body{margin:0;max-width:none}h2{page-break-after:avoid}table{page-break-inside:avoid}}"""


def render_record_html(rec: dict[str, Any]) -> str:
    """The record (:func:`twin.outputs.record.build_record`) as a standalone, printable HTML document."""
    return "\n".join([_head(rec), _plan_sections(rec), _outcome_sections(rec), _notice_sections(rec)])


def _breaches_html(b: list[dict[str, Any]]) -> str:
    e = html.escape
    if not b:
        return (
            '<div class="ok"><b>No breach</b> of the limits set in this deployment\'s governance block.</div>'
        )
    rows = "".join(
        f"<tr><td>{e(x['rule'])}</td><td>{_fmt(x['value'])}</td><td>{_fmt(x['limit'])}</td>"
        f"<td>{e(x['source'])}</td><td>{e(x['fix'])}</td></tr>"
        for x in b
    )
    return (
        f'<div class="breach"><b>{len(b)} breach{"es" if len(b) != 1 else ""} of the deployment\'s '
        "own limits</b>"
        f"<table><tr><th>Rule</th><th>Planned</th><th>Limit</th><th>Source</th><th>Fix</th></tr>{rows}</table></div>"
    )


def _head(rec: dict[str, Any]) -> str:
    """The document head, the title block and the breaches."""
    e = html.escape
    a, s = rec["authorisation"], rec["site"]
    breach_html = _breaches_html(rec["breaches"])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Deployment record — \
{e(rec["operation"])}</title>
<style>{_CSS}</style></head><body>
<p class=m>OFFICIAL — planning record generated by the LFR deployment twin {e(rec["twin_version"])}; \
expected figures are model forecasts.</p>
<h1>LFR deployment record: {e(rec["operation"])}</h1>
<p class=m>{e(s["name"])} · authorised {e(a["start"])} to {e(a["end"])} ({a["hours"]} h) · run \
{e(str(rec["run"]["folder"]))}</p>
{breach_html}"""


def _plan_sections(rec: dict[str, Any]) -> str:
    """Sections 1-4: authorisation, necessity and proportionality, where and when, the watchlist."""
    e = html.escape
    a, n, s, w = rec["authorisation"], rec["necessity"], rec["site"], rec["watchlist"]
    comp = "".join(
        f"<tr><td>{e(c['label'])}</td><td>{c['count']:,}</td><td>{e(c['image_source'])}</td>"
        f"<td>{e(c['justification'])}</td></tr>"
        for c in w["composition"]
    )
    return f"""<h2>1. Authorisation</h2><table class=meta>
<tr><td>Authorising officer (role)</td><td>{e(a["officer_role"])}</td></tr>
<tr><td>Authorised period</td><td>{e(a["start"])} – {e(a["end"])}</td></tr>
<tr><td>DPIA reference</td><td>{e(a["dpia_reference"])}</td></tr>
<tr><td>Appropriate policy document</td><td>{e(a["policy_document_reference"]) or "–"}</td></tr></table>
<h2>2. Necessity and proportionality</h2><table class=meta>
<tr><td>Purpose</td><td>{e(n["purpose"])}</td></tr><tr><td>Intelligence case (why here, why \
now)</td><td>{e(n["intelligence_case"])}</td></tr>
<tr><td>Less intrusive means considered</td><td>{e(n["less_intrusive_means"])}</td></tr></table>
<h2>3. Where and when</h2><table class=meta>
<tr><td>Site</td><td>{e(s["name"])}{" (approximate geometry)" if s["approximate"] else ""}; target area \
{s["area_m2"]:,} m²; {s["routes"]} walking routes</td></tr>
<tr><td>Cameras</td><td>{len(s["cameras"])}: {", ".join(e(c["id"]) for c in s["cameras"])}</td></tr>
<tr><td>Planned window</td><td>from {e(s["window"]["start"])} for {s["window"]["hours"]} h</td></tr>
<tr><td>Geometry source</td><td>{e(s["geometry_source"])}</td></tr></table>
<h2>4. Watchlist</h2><p>{w["size"]:,} entries; alert threshold {w["threshold"]}. Built: \
{e(w["built"]) or "–"}.</p>
<table><tr><th>APP category</th><th>Entries</th><th>Image source</th><th>Justification</th></tr>\
{comp}</table>"""


def _outcome_sections(rec: dict[str, Any]) -> str:
    """Sections 5-7: expected performance, equitability, officers and operations."""
    e = html.escape
    w, x = rec["watchlist"], rec["expected"]
    expected_rows = "\n".join(
        f"<tr><td>{e(m.label)}</td><td>{_bandtxt(x[m.key], m.kind)}</td></tr>" for m in RECORD_ROWS
    )
    eq = rec.get("equitability") or {}
    eq_rows = "".join(
        f"<tr><td>{e(g['group'])}</td><td>{_fmt(g['share'], 'share')}</td><td>{_fmt(g['fpir'], 'rate')}</td>"
        f"<td>{_fmt(g['tpir'], 'p')}</td></tr>"
        for g in eq.get("groups", [])
    )
    ops = rec.get("operations")
    ops_html = (
        operations_html({"operations": ops}).replace("<h2>Operations: review and response</h2>", "")
        if ops
        else "<p>Operations (operators, officers, intercepts) were not modelled in this run.</p>"
    )
    return f"""<h2>5. Expected performance</h2><table class=meta>
{expected_rows}
<tr><td>FPIR per face scanned (engine {e(str(x["engine"]))})</td><td>{_fmt(x["fpir_model"], "rate")} (policy \
cap {_fmt(x["policy_cap_per_face"], "rate")})</td></tr></table>
<p class=m>{e(x["interval"])}.</p>
<h2>6. Equitability (public sector equality duty)</h2>
<p>{e(eq.get("basis", ""))}. Highest/lowest group FPIR ratio at the threshold: \
<b>{_fmt(eq.get("fpir_ratio"), "p")}</b>
(flagged above {EQUITY_RATIO_LIMIT}).</p>
<table><tr><th>Group</th><th>Share of passers-by</th><th>FPIR</th><th>TPIR</th></tr>{eq_rows}</table>
<p class=m>Where a differential appears: the ratio of the highest to the lowest group's FPIR across \
thresholds,
and each group's FPIR (dashed line: this deployment's threshold).</p>
{_ratio_svg(eq, w["threshold"])}
{_sweep_svg(eq, w["threshold"])}
<h2>7. Officers and operations</h2>{ops_html}"""


def _signer_html(signed: dict[str, Any] | None) -> str:
    """Who signs the folder: the public key's fingerprint and the key itself, or that nobody does."""
    if not signed:
        return (
            "<b>Unsigned</b>: the log's head is not signed with a key held outside the folder, so a "
            "rewritten folder cannot be told from this one (sign runs with <code>--audit-key</code>)."
        )
    return (
        "Signed after this record with the Ed25519 key "
        f"<code>{html.escape(str(signed['fingerprint']))}</code> "
        f"(public key <code>{html.escape(str(signed['public_key_ed25519']))}</code>); check with "
        "<code>twin audit verify RUN_FOLDER --public-key KEY.pub</code>, the public key taken from outside "
        "the folder."
    )


def _notice_sections(rec: dict[str, Any]) -> str:
    """Sections 8-10: signage and notice, retention, audit; and the footer."""
    e = html.escape
    sig, ret, aud = rec["signage"], rec["retention"], rec["audit"]
    sig_rows = "".join(
        f"<tr><td>{e(r['route'])}</td><td>{'yes' if r['enters_zone'] else 'no'}</td>"
        f"<td>{_fmt(r['first_sign_m'])}</td><td>{_fmt(r['zone_start_m'])}</td>"
        f"<td>{'covered' if r['covered'] else '<b>NOT covered</b>'}</td></tr>"
        for r in sig["routes"]
    )
    wl_fate = (
        "destroyed at the end of the deployment"
        if ret["watchlist_destroyed"]
        else e(ret["policy"]["watchlist"])
    )
    return f"""<h2>8. Signage and notice</h2><p>{e(sig["plan"])} {e(sig["advance_notice"])} \
({sig["signs"]} signs on the plan.)</p>
<table><tr><th>Route</th><th>Enters a recognition zone</th><th>First sign (m along)</th><th>First possible \
capture (m along)</th><th>Coverage</th></tr>{sig_rows}</table>
<h2>9. Retention</h2><table class=meta>
<tr><td>Non-matched faces</td><td>deleted immediately; {ret["probes_deleted"]:,} probes deleted in the run; \
{ret.get("non_match_images_stored", 0)} images or arrays other than alert crops found in the run folder, \
{ret.get("alert_images_stored", 0)} alert crops (measured when the record was written)</td></tr>
<tr><td>Alert data</td><td>kept {ret["policy"]["alert_days"]:g} days</td></tr>
<tr><td>Watchlist</td><td>{wl_fate}</td></tr></table>
<h2>10. Audit</h2><p>Audit log: {aud["entries"]} entries, \
{"verified intact" if aud["ok"] else "<b>FAILS verification</b>: " + e(aud["problem"] or "")}.
Head: entry {e(str(aud.get("head_seq")))}, SHA-256 <code>{e(str(aud["head_sha256"]))}</code> \
(note it on paper to anchor the log).</p>
<p>{_signer_html(aud.get("signed_by"))}</p>
<p class=m>Scenario SHA-256 {e(str(rec["run"]["scenario_sha256"]))}; seed {rec["run"]["seed"]}; run created \
{e(str(rec["run"]["created_at"]))}.</p>
</body></html>"""
