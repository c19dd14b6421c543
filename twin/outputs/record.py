"""The deployment record: what a data protection officer files for one planned LFR deployment.

Built from a run folder (its scenario copy, summary, audit log), never from live state, so the
record says exactly what the run found. It answers the governance points of
``shared/reference/public_figures.md``: who is on the watchlist and why, where and why there,
the expected error rates against the force's own limits, bias checks, signage, what is deleted
and when. Every breach of the scenario's own limits is listed first.

``twin record RUN_FOLDER`` adds ``record.json`` and ``record.html`` to the folder (results stay
untouched; a second record gets ``record-2.*``) and appends a ``record_written`` audit entry.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin._version import __version__
from twin.errors import RunFolderError, ScenarioError
from twin.outputs.audit import AUDIT_FILE, AuditLog, verify_folder
from twin.outputs.charts import Series, line_chart_svg
from twin.outputs.folders import write_new_files
from twin.outputs.report import operations_html
from twin.scenario.governance import APP_CATEGORIES, Governance, window_breach
from twin.scenario.load import load_scenario
from twin.scenario.specs import Scenario
from twin.scoring.metric_table import COUNT, RATIO, RECORD_ROWS, SCI, SHARE, Band, fmt_band, fmt_value
from twin.scoring.summary import RunSummary
from twin.world.camera import Camera
from twin.world.signage import RouteSignage, signage_coverage
from twin.world.site import Site

__all__ = ["EQUITY_RATIO_LIMIT", "SitePlan", "build_record", "render_record_html", "write_record"]

#: Highest/lowest group FPIR ratio above which the record flags a demographic differential
#: (the issue's encoding of NPL 2023's "no significant imbalance at >= 0.6").
EQUITY_RATIO_LIMIT = 1.25


@dataclass(frozen=True, kw_only=True)
class SitePlan:
    """What the record needs of the prepared run: the site, the cameras, and the signage coverage of every
    route.

    ``twin run`` passes the run's own (:meth:`of` its context); ``twin record RUN_FOLDER`` prepares
    the folder's scenario copy again (:func:`twin.sim.context.prepare`), the only way to know the
    coverage from the files alone.
    """

    site: Site
    cameras: Sequence[Camera]
    signage: Sequence[RouteSignage]

    @classmethod
    def of(cls, context: Any) -> SitePlan:
        """From a run's :class:`~twin.sim.context.Context` (site, cameras, view tables)."""
        return cls(
            site=context.site,
            cameras=list(context.cameras),
            signage=signage_coverage(context.site, context.tables),
        )


def _breach(rule: str, value: Any, limit: Any, source: str, fix: str) -> dict[str, Any]:
    return {"rule": rule, "value": value, "limit": limit, "source": source, "fix": fix}


@dataclass(frozen=True, kw_only=True)
class _AuditFacts:
    """What the audit log says about the run: its verification, deletions and the watchlist's fate."""

    check: Any
    probes_deleted: int
    watchlist_destroyed: bool
    watchlist_kept: bool


def _read_run_folder(folder: Path) -> tuple[Scenario, Governance, RunSummary, dict[str, Any]]:
    """(scenario copy, its governance block, summary, run.json) of a run folder.

    Raises:
        RunFolderError: not a run folder.
        ScenarioError: the scenario has no governance block.
    """
    if not folder.is_dir():
        raise RunFolderError(
            f"run folder {str(folder)!r} does not exist; give a folder written by `twin run` (under runs/)"
        )
    for name in ("scenario.yaml", "summary.json", "run.json"):
        if not (folder / name).is_file():
            raise RunFolderError(
                f"{folder} is not a run folder (no {name}); give a folder written by `twin run`"
            )
    sc = load_scenario(folder / "scenario.yaml")
    if sc.governance is None:
        raise ScenarioError(
            f"{folder / 'scenario.yaml'} has no governance block; a deployment record needs one "
            "(purpose, intelligence case, authorising officer role, watchlist composition, ...: see "
            "`twin schema`)"
        )
    summary = RunSummary.from_json(json.loads((folder / "summary.json").read_text(encoding="utf-8")))
    run_meta = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    return sc, sc.governance, summary, run_meta


def _audit_facts(folder: Path) -> _AuditFacts:
    audit_path = folder / AUDIT_FILE
    if not audit_path.is_file():
        return _AuditFacts(check=None, probes_deleted=0, watchlist_destroyed=False, watchlist_kept=False)
    check = verify_folder(folder)
    deleted = destroyed = 0
    kept = False
    with AuditLog(audit_path) as log:
        for e in log.entries():
            if e.kind == "deletion_batch":
                deleted += int(e.detail.get("probes_deleted", 0))
            elif e.kind == "watchlist_destroyed":
                destroyed += 1
            elif e.kind == "watchlist_kept":
                kept = True
    return _AuditFacts(
        check=check, probes_deleted=deleted, watchlist_destroyed=destroyed > 0, watchlist_kept=kept
    )


def _band_json(summary: RunSummary, metric_id: str) -> dict[str, Any]:
    band = summary.band(metric_id)
    return band.to_json() if band is not None else {}


def _expected(summary: RunSummary) -> tuple[float, float, dict[str, Any]]:
    """(model FPIR, false alerts per face scanned, the false-alerts band) of the summary."""
    faces = (summary.band("totals.faces_scanned") or Band(mean=None, p2_5=None, p97_5=None)).mean or 0.0
    fa = _band_json(summary, "totals.false_alerts")
    model = summary.model
    fpir_model = float(
        model.fpir_at_threshold if model is not None and model.fpir_at_threshold is not None else float("nan")
    )
    fa_per_face = (fa.get("mean") or 0.0) / faces if faces else float("nan")
    return fpir_model, fa_per_face, fa


def _breaches(
    sc: Scenario, gov: Governance, summary: RunSummary, plan: SitePlan, audit: _AuditFacts
) -> list[dict[str, Any]]:
    """Every breach of the deployment's own limits, in the record's order."""
    wl, pol = sc.watchlist, gov.policy
    fpir_model, fa_per_face, fa = _expected(summary)
    out: list[dict[str, Any]] = []
    if pol.max_watchlist_size is not None and wl.size > pol.max_watchlist_size:
        out.append(
            _breach(
                "watchlist larger than the policy allows",
                wl.size,
                pol.max_watchlist_size,
                "force policy (e.g. SWP SOP: <= 2,000 images)",
                "reduce the watchlist to the operation's need",
            )
        )
    if gov.watchlist_total != wl.size:
        out.append(
            _breach(
                "watchlist composition does not account for every entry",
                gov.watchlist_total,
                wl.size,
                "APP on LFR 2022: every entry justified by category",
                "list every entry under an APP category",
            )
        )
    if pol.max_false_alert_rate_per_face is not None:
        worst = max(fpir_model, fa_per_face if math.isfinite(fa_per_face) else 0.0)
        if worst > pol.max_false_alert_rate_per_face:
            out.append(
                _breach(
                    "expected false-alert rate per face scanned above the policy cap",
                    worst,
                    pol.max_false_alert_rate_per_face,
                    "force policy (e.g. SWP: below 1 in 1,000)",
                    "raise the threshold or shorten the watchlist",
                )
            )
    if (
        pol.max_false_alerts_per_deployment is not None
        and (fa.get("mean") or 0) > pol.max_false_alerts_per_deployment
    ):
        out.append(
            _breach(
                "expected false alerts per deployment above the policy cap",
                fa.get("mean"),
                pol.max_false_alerts_per_deployment,
                "force policy",
                "raise the threshold or shorten the deployment",
            )
        )
    if pol.min_threshold is not None and wl.threshold < pol.min_threshold:
        out.append(
            _breach(
                "threshold below the force's minimum",
                wl.threshold,
                pol.min_threshold,
                "force policy",
                f"set watchlist.threshold >= {pol.min_threshold}",
            )
        )
    ratio = summary.equitability.fpir_ratio if summary.equitability is not None else None
    if ratio is not None and ratio > EQUITY_RATIO_LIMIT:
        out.append(
            _breach(
                "demographic differential in false alerts at this threshold",
                round(ratio, 2),
                EQUITY_RATIO_LIMIT,
                "public sector equality duty (Bridges [2020] EWCA Civ 1058); NPL 2023",
                "raise the threshold to where the groups' FPIR ratio is <= 1.25 (see the sweep)",
            )
        )
    bypass = [s.route_id for s in plan.signage if not s.covered]
    if bypass:
        out.append(
            _breach(
                "routes reach a recognition zone without passing a sign",
                bypass,
                "none",
                "APP on LFR 2022: advance notice; ICO 2019/01",
                "add signs before the cameras on these routes",
            )
        )
    outside = window_breach(gov, sc.time.start, sc.time.duration_s)
    if outside:
        out.append(
            _breach(
                "planned window outside the authorised period",
                outside,
                f"{gov.start.isoformat()} to {gov.end.isoformat()}",
                "authorisation (APP: set start and end times)",
                "move time.start / time.duration_s inside the authorisation, or re-authorise",
            )
        )
    if audit.check is not None and not audit.check.ok:
        out.append(
            _breach(
                "audit log fails verification",
                audit.check.problem,
                "intact hash chain",
                "twin/audit.py",
                "investigate: the log was altered after the run",
            )
        )
    if audit.watchlist_kept and gov.retention.watchlist == "destroy_at_end":
        out.append(
            _breach(
                "watchlist kept after the deployment",
                "kept",
                "destroyed at end",
                "retention policy",
                "destroy the watchlist",
            )
        )
    return out


def build_record(
    folder: Path | str, *, folder_name: str | None = None, plan: SitePlan | None = None
) -> dict[str, Any]:
    """The deployment record of a run folder, as a JSON-ready dict.

    Args:
        folder: the run folder.
        folder_name: the name to print for it (default its own; ``twin run`` builds the record
            in a temporary folder before renaming it).
        plan: the run's site, cameras and signage coverage (``twin run`` passes its own); default:
            the folder's scenario copy prepared again.

    Raises:
        RunFolderError: not a run folder.
        ScenarioError: the scenario has no governance block (the record needs one).
    """
    folder = Path(folder)
    sc, gov, summary, run_meta = _read_run_folder(folder)
    if plan is None:
        from twin.sim.context import prepare  # heavy: only for `twin record` on a folder

        plan = SitePlan.of(prepare(sc))
    audit = _audit_facts(folder)
    check = audit.check
    fpir_model, fa_per_face, _ = _expected(summary)
    return {
        "kind": "deployment_record",
        "twin_version": __version__,
        "breaches": _breaches(sc, gov, summary, plan, audit),
        "operation": gov.operation,
        "authorisation": {
            "officer_role": gov.authorising_officer_role,
            "start": gov.start.isoformat(),
            "end": gov.end.isoformat(),
            "hours": round(gov.authorised_hours, 2),
            "dpia_reference": gov.dpia_reference,
            "policy_document_reference": gov.policy_document_reference,
        },
        "necessity": {
            "purpose": gov.purpose,
            "intelligence_case": gov.intelligence_case,
            "less_intrusive_means": gov.less_intrusive_means,
        },
        "site": _site_section(sc, plan),
        "watchlist": {
            "size": sc.watchlist.size,
            "threshold": sc.watchlist.threshold,
            "built": gov.watchlist_built,
            "composition": [
                {
                    "category": c.category,
                    "label": APP_CATEGORIES[c.category],
                    "count": c.count,
                    "image_source": c.image_source,
                    "justification": c.justification,
                }
                for c in gov.watchlist_composition
            ],
        },
        "expected": {
            **{
                m.key: _band_json(summary, m.id) for m in RECORD_ROWS
            },  # faces, true and false alerts, precision, TPIR
            "fpir_model": fpir_model,
            "false_alerts_per_face": fa_per_face,
            "policy_cap_per_face": gov.policy.max_false_alert_rate_per_face,
            "interval": summary.interval or "",
            "engine": summary.model.model_id if summary.model is not None else None,
        },
        "operations": summary.operations.to_json() if summary.operations is not None else None,
        "equitability": summary.equitability.to_json() if summary.equitability is not None else {},
        "signage": {
            "plan": gov.signage_plan,
            "advance_notice": gov.advance_notice,
            "signs": int(len(plan.site.signage)),
            "routes": [
                {
                    "route": s.route_id,
                    "enters_zone": s.enters_zone,
                    "covered": s.covered,
                    "zone_start_m": None if math.isnan(s.zone_start_m) else round(s.zone_start_m, 1),
                    "first_sign_m": None if math.isnan(s.first_sign_m) else round(s.first_sign_m, 1),
                }
                for s in plan.signage
            ],
        },
        "retention": {
            "policy": gov.retention.model_dump(),
            "probes_deleted": audit.probes_deleted,
            "watchlist_destroyed": audit.watchlist_destroyed,
            "non_match_images_stored": 0,
        },
        "audit": {
            "ok": check.ok if check else None,
            "entries": check.entries if check else 0,
            "head_sha256": check.head[1] if check else None,
            "problem": check.problem if check else "no audit log",
        },
        "run": {
            "folder": folder_name or folder.name,
            "seed": summary.run.seed if summary.run else None,
            "scenario_sha256": summary.run.scenario_sha256 if summary.run else None,
            "created_at": run_meta.get("created_at"),
        },
    }


def _site_section(sc: Scenario, plan: SitePlan) -> dict[str, Any]:
    site = plan.site
    return {
        "name": site.name,
        "area_m2": round(site.area_m2),
        "approximate": site.approximate,
        "routes": len(site.routes),
        "geometry_source": site.geometry_source,
        "cameras": [
            {
                "id": c.id,
                "heading_deg": c.heading_deg,
                "mount_height_m": c.mount_height_m,
                "hfov_deg": c.hfov_deg,
            }
            for c in plan.cameras
        ],
        "window": {"start": sc.time.start, "hours": round(sc.time.duration_s / 3600, 2)},
    }


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
    """The record as a standalone, printable HTML document (no script, no network)."""
    e = html.escape
    b = rec["breaches"]
    if b:
        rows = "".join(
            f"<tr><td>{e(x['rule'])}</td><td>{_fmt(x['value'])}</td><td>{_fmt(x['limit'])}</td><td>{e(x['source'])}</td><td>{e(x['fix'])}</td></tr>"
            for x in b
        )
        breach_html = (
            f'<div class="breach"><b>{len(b)} breach{"es" if len(b) != 1 else ""} of the deployment\'s '
            "own limits</b>"
            f"<table><tr><th>Rule</th><th>Planned</th><th>Limit</th><th>Source</th><th>Fix</th></tr>{rows}</table></div>"
        )
    else:
        breach_html = (
            '<div class="ok"><b>No breach</b> of the limits set in this deployment\'s governance block.</div>'
        )
    a, n, s, w, x = rec["authorisation"], rec["necessity"], rec["site"], rec["watchlist"], rec["expected"]
    comp = "".join(
        f"<tr><td>{e(c['label'])}</td><td>{c['count']:,}</td><td>{e(c['image_source'])}</td><td>{e(c['justification'])}</td></tr>"
        for c in w["composition"]
    )
    eq = rec.get("equitability") or {}
    eq_rows = "".join(
        f"<tr><td>{e(g['group'])}</td><td>{_fmt(g['share'], 'share')}</td><td>{_fmt(g['fpir'], 'rate')}</td>"
        f"<td>{_fmt(g['tpir'], 'p')}</td></tr>"
        for g in eq.get("groups", [])
    )
    sig = rec["signage"]
    sig_rows = "".join(
        f"<tr><td>{e(r['route'])}</td><td>{'yes' if r['enters_zone'] else 'no'}</td>"
        f"<td>{_fmt(r['first_sign_m'])}</td><td>{_fmt(r['zone_start_m'])}</td>"
        f"<td>{'covered' if r['covered'] else '<b>NOT covered</b>'}</td></tr>"
        for r in sig["routes"]
    )
    ops = rec.get("operations")
    ops_html = (
        operations_html({"operations": ops}).replace("<h2>Operations: review and response</h2>", "")
        if ops
        else "<p>Operations (operators, officers, intercepts) were not modelled in this run.</p>"
    )
    ret = rec["retention"]
    aud = rec["audit"]
    expected_rows = "\n".join(
        f"<tr><td>{e(m.label)}</td><td>{_bandtxt(x[m.key], m.kind)}</td></tr>" for m in RECORD_ROWS
    )
    wl_fate = (
        "destroyed at the end of the deployment"
        if ret["watchlist_destroyed"]
        else e(ret["policy"]["watchlist"])
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Deployment record — \
{e(rec["operation"])}</title>
<style>{_CSS}</style></head><body>
<p class=m>OFFICIAL — planning record generated by the LFR deployment twin {e(rec["twin_version"])}; \
expected figures are model forecasts.</p>
<h1>LFR deployment record: {e(rec["operation"])}</h1>
<p class=m>{e(s["name"])} · authorised {e(a["start"])} to {e(a["end"])} ({a["hours"]} h) · run \
{e(str(rec["run"]["folder"]))}</p>
{breach_html}
<h2>1. Authorisation</h2><table class=meta>
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
<table><tr><th>APP category</th><th>Entries</th><th>Image source</th><th>Justification</th></tr>{comp}</table>
<h2>5. Expected performance</h2><table class=meta>
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
<h2>7. Officers and operations</h2>{ops_html}
<h2>8. Signage and notice</h2><p>{e(sig["plan"])} {e(sig["advance_notice"])} ({sig["signs"]} signs on the \
plan.)</p>
<table><tr><th>Route</th><th>Enters a recognition zone</th><th>First sign (m along)</th><th>First possible \
capture (m along)</th><th>Coverage</th></tr>{sig_rows}</table>
<h2>9. Retention</h2><table class=meta>
<tr><td>Non-matched faces</td><td>deleted immediately; {ret["probes_deleted"]:,} probes deleted in the run, \
{ret["non_match_images_stored"]} stored</td></tr>
<tr><td>Alert data</td><td>kept {ret["policy"]["alert_days"]:g} days</td></tr>
<tr><td>Watchlist</td><td>{wl_fate}</td></tr></table>
<h2>10. Audit</h2><p>Audit log: {aud["entries"]} entries, \
{"verified intact" if aud["ok"] else "<b>FAILS verification</b>: " + e(aud["problem"] or "")}.
Head SHA-256 <code>{e(str(aud["head_sha256"]))}</code> (note it on paper to anchor the log).</p>
<p class=m>Scenario SHA-256 {e(str(rec["run"]["scenario_sha256"]))}; seed {rec["run"]["seed"]}; run created \
{e(str(rec["run"]["created_at"]))}.</p>
</body></html>"""


def write_record(
    folder: Path | str, *, folder_name: str | None = None, plan: SitePlan | None = None
) -> tuple[Path, Path]:
    """Add ``record.json`` and ``record.html`` to a run folder (``record-2.*`` if taken) and log it.

    Args:
        folder, folder_name, plan: see :func:`build_record`.

    Raises:
        RunFolderError, ScenarioError: see :func:`build_record`.
    """
    folder = Path(folder)
    rec = build_record(folder, folder_name=folder_name, plan=plan)
    body = json.dumps(rec, indent=2, sort_keys=True, default=str) + "\n"
    written = write_new_files(folder, "record", {".json": body, ".html": render_record_html(rec)})
    jpath, hpath = written[".json"], written[".html"]
    if (folder / AUDIT_FILE).is_file():
        with AuditLog(folder / AUDIT_FILE) as log:
            log.append(
                "record_written",
                files={p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (jpath, hpath)},
                breaches=len(rec["breaches"]),
            )
    return jpath, hpath
