"""What the app's pages show, computed without the browser: figures with units and intervals, tables, frames.

Every figure comes from the one metric table (:data:`twin.scoring.metric_table.METRICS`: the app shows
each metric's ``app_label`` and ``unit``) and prints through the one formatter
(:func:`twin.scoring.metric_table.fmt_band`), as "mean unit (95% PI lo–hi)", or "– (why)" where no
replication gives a value. Intervals are the run's 95% *predictive* intervals (2.5th–97.5th
percentiles over replications, Poisson noise included; DESIGN.md, Intervals), labelled "95% PI".

Here: the Plan page's headline figures (:func:`headline_figures`), the results table
(:func:`result_table`), per-hour and comparison frames, the
operations figures (:func:`operations_rows`) and the preview of the deployment record
(:func:`record_preview`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from twin.app import intervals
from twin.app.breaches import breach_text, deployment_breaches
from twin.app.headlines import HEADLINES, Headline, headline_figures
from twin.scenario.governance import Governance, plan_window, window_breach
from twin.scenario.specs import Scenario
from twin.scoring.metric_table import (
    APP_OPERATIONS_ROWS,
    APP_ROWS,
    COUNT,
    SCI,
    SHARE,
    Band,
    Metric,
    fmt_band,
    fmt_value,
    metric,
)
from twin.scoring.summary import RunSummary

__all__ = [
    "HEADLINES",
    "Headline",
    "OperationsView",
    "RecordPreview",
    "band_text",
    "breach_text",
    "deployment_breaches",
    "fpir_caption",
    "headline_figures",
    "hourly_frame",
    "operations_rows",
    "record_preview",
    "result_table",
]

SummaryLike = RunSummary | Mapping[str, Any]


def watchlist_text(wl: Any) -> str:
    """The watchlist in words: size, and its prevalence with where it came from.

    >>> from twin.scenario.specs import WatchlistSpec
    >>> watchlist_text(WatchlistSpec(size=9756, prevalence=1.3e-4))
    '9,756 entries; 13 per 100,000 passers-by on it (assumption)'
    """
    head = f"{wl.size:,} entries; {wl.prevalence * 1e5:.3g} per 100,000 passers-by on it"
    if wl.prevalence_dispersion > 0:
        cv = wl.prevalence_dispersion**0.5
        src = (
            f"fitted on the Met's published deployments for {wl.prevalence_fitted}"
            if wl.prevalence_fitted
            else "as given"
        )
        return f"{head} on average, varying ±{cv:.0%} between deployments ({src})"
    return f"{head} (assumption)"


def band_text(band: Band | Mapping[str, Any] | None, m: Metric, *, unit: str | None = None) -> str:
    """ "mean unit (95% PI lo–hi)" for a metric's band; "– (why)" when it has no value.

    Args:
        band: the band (or None).
        m: the metric (number kind, and why it may be undefined).
        unit: the unit to print after the mean (default none).

    >>> band = {"mean": 2.2, "p2_5": 0.1, "p97_5": 4.9}
    >>> band_text(band, metric("per_hour_rate.true_alerts"), unit="alerts/h")
    '2.2 alerts/h (95% PI 0.1–4.9)'
    >>> band_text({"mean": None, "p2_5": None, "p97_5": None}, metric("rates.precision"))
    '– (no alerts in any replication)'
    """
    text = fmt_band(band, m.kind)
    if not text.defined:
        return f"– ({m.undefined})" if m.undefined else "–"
    return text.pi(unit or "")


# -- the Plan page -------------------------------------------------------------------------------


def fpir_caption(summary: SummaryLike, *, threshold: float, watchlist_size: int) -> str:
    """The model's FPIR at the plan's threshold and watchlist size, as the Plan page states it."""
    model = RunSummary.coerce(summary).model
    fpir = model.fpir_at_threshold if model is not None else None
    return (
        f"Model FPIR at threshold {threshold:.3f} with {watchlist_size:,} entries: "
        f"{fmt_value(fpir, SCI)} per face scanned."
    )


def run_warnings(summary: SummaryLike) -> list[str]:
    """The run's warnings (e.g. a camera that captures nobody)."""
    run = RunSummary.coerce(summary).run
    return list(run.warnings) if run is not None else []


def engine_id(summary: SummaryLike) -> str:
    """The model id of the engine that scored the run ("" if unknown)."""
    run = RunSummary.coerce(summary).run
    return str(run.engine.get("model_id", "")) if run is not None else ""


def result_table(summary: SummaryLike) -> pd.DataFrame:
    """The results as a table: Metric, "Expected (95% PI)", Unit (the metric table's ``APP_ROWS``)."""
    s = RunSummary.coerce(summary)
    rows = []
    for m in APP_ROWS:
        band = s.band(m)
        if band is None:
            continue
        rows.append({"Metric": m.app_label, "Expected (95% PI)": intervals.figure_text(s, m), "Unit": m.unit})
    return pd.DataFrame(rows, columns=["Metric", "Expected (95% PI)", "Unit"])


def hourly_frame(summary: SummaryLike, start_hour: int) -> pd.DataFrame:
    """Per-hour alerts (long form): hour label, series ("True alerts" / "False alerts"), mean, lo, hi.

    Hours are clock hours from the window start; values are alerts in that hour (mean over
    replications and the 95% PI).
    """
    hourly = RunSummary.coerce(summary).hourly
    rows = []
    for key, series in (("true_alerts", "True alerts"), ("false_alerts", "False alerts")):
        for i, b in enumerate(hourly.get(key, ())):
            rows.append(
                {
                    "hour": f"{(start_hour + i) % 24:02d}:00",
                    "order": i,
                    "series": series,
                    "mean": b.mean or 0.0,
                    "lo": b.p2_5 or 0.0,
                    "hi": b.p97_5 or 0.0,
                }
            )
    return pd.DataFrame(rows, columns=["hour", "order", "series", "mean", "lo", "hi"])


# -- operations ----------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class OperationsView:
    """The operations figures the Plan page shows (from the summary's ``operations`` section).

    Attributes:
        officers_needed: smallest officer count engaging the target share of true alerts, or None.
        target_share: that target share, or None.
        note: the operations model's one-line explanation (e.g. why the target is not reached).
        rows: (label, "mean unit (95% PI lo–hi)") rows.
        estimable: False when no replication had a true alert (the officers needed cannot be estimated).
    """

    officers_needed: int | None
    target_share: float | None
    note: str
    rows: tuple[tuple[str, str], ...]
    estimable: bool = True
    most_tried: int | None = None

    @property
    def officers_text(self) -> str:
        """The officers needed as shown: a count, "not reached", or "n/a" when it cannot be estimated."""
        if self.officers_needed is not None:
            return str(self.officers_needed)
        return "not reached" if self.estimable else "n/a"

    @property
    def officers_short(self) -> str:
        """As :attr:`officers_text`, short enough for a headline figure: "> 12" when even the most officers
        tried do not reach the target.

        >>> v = OperationsView(officers_needed=None, target_share=0.8, note="", rows=(), most_tried=12)
        >>> v.officers_short
        '> 12'
        """
        if self.officers_needed is None and self.estimable and self.most_tried is not None:
            return f"> {self.most_tried}"
        return self.officers_text


def _ops_unit(m: Metric) -> str:
    return "" if m.kind == SHARE else m.unit


def operations_rows(summary: SummaryLike) -> OperationsView | None:
    """The summary's ``operations`` section for display, or None when the run has none.

    Sections or keys the operations section lacks are skipped.
    """
    s = RunSummary.coerce(summary)
    ops = s.operations
    if ops is None:
        return None
    need = ops.officers_needed
    needed = target = None
    note = ""
    estimable = True
    most = None
    if need is not None:
        estimable = need.true_alerts != 0
        most = max((int(n) for n in need.officers), default=None)
        needed = int(need.officers_needed) if need.officers_needed is not None else None
        target = float(need.target_engaged_share) if need.target_engaged_share is not None else None
        note = need.note
    rows = []
    for m in APP_OPERATIONS_ROWS:
        band = s.band(m)
        if band is not None:
            rows.append((m.app_label, band_text(band, m, unit=_ops_unit(m))))
    return OperationsView(
        officers_needed=needed,
        target_share=target,
        note=note,
        rows=tuple(rows),
        estimable=estimable,
        most_tried=most,
    )


# -- the deployment record's preview ---------------------------------------------------------------


def _operations_record_rows(scenario: Scenario, summary: RunSummary) -> list[tuple[str, str]]:
    view = operations_rows(summary)
    if view is None:
        return []
    ops = scenario.operations
    on_duty = f"{ops.officers} intercept officers and {ops.operators} operator(s) planned; "
    need = (
        f"{view.officers_needed} needed to engage {view.target_share:.0%} of true alerts"
        if view.officers_needed is not None and view.target_share
        else view.note or "officers needed not estimated"
    )
    rows = [("Officers", on_duty + need)]
    wrongful = dict(view.rows).get(metric("operations.per_hour_rate.false_engaged").app_label)
    if wrongful:
        rows.append(("Wrongful stops", wrongful))
    return rows


@dataclass(frozen=True)
class RecordPreview:
    """What the current plan already determines of its deployment record.

    Attributes:
        rows: (field, value) rows, plan and expected outcome.
        governance: (field, value) rows from the scenario's governance block; empty without one.
        checks: (rule, "ok" / "breach" / "n/a", detail) of the force's own limits.
    """

    rows: tuple[tuple[str, str], ...]
    governance: tuple[tuple[str, str], ...]
    checks: tuple[tuple[str, str, str], ...]


def _plan_rows(scenario: Scenario, s: RunSummary, site: Any) -> tuple[tuple[str, str], ...]:
    t = scenario.time
    end_min = int(round((t.start_s + t.duration_s) / 60)) % (24 * 60)
    wl = scenario.watchlist
    gov = scenario.governance
    ret = gov.retention if gov is not None else None
    keep_days = (
        f"alert images and records kept {ret.alert_days:g} days"
        if ret is not None
        else "alerts kept for operator review"
    )
    wl_fate = (
        "watchlist destroyed at the end of the deployment"
        if ret is None or ret.watchlist == "destroy_at_end"
        else "watchlist kept after the deployment (the plan says so)"
    )
    model_id = s.model.model_id if s.model is not None and s.model.model_id else scenario.engine.kind
    fpir = s.model.fpir_at_threshold if s.model is not None else None
    faces, fa_h = metric("totals.faces_scanned"), metric("per_hour_rate.false_alerts")
    fa, ta_h = metric("totals.false_alerts"), metric("per_hour_rate.true_alerts")
    return (
        ("Deployment", scenario.name),
        (
            "Site",
            f"{site.name}{' (approximate geometry)' if site.approximate else ''}; geofenced area "
            f"{site.area_m2:,.0f} m²",
        ),
        (
            "Time window",
            f"{t.start}–{end_min // 60:02d}:{end_min % 60:02d} local ({t.duration_s / 3600:g} h)",
        ),
        ("Cameras", f"{len(scenario.cameras)}: {', '.join(c.id for c in scenario.cameras)}"),
        ("LFR notice signs", f"{len(site.signage)} on the map"),
        ("Watchlist", watchlist_text(wl)),
        ("Engine and threshold", f"{model_id}; alert threshold {wl.threshold:g}"),
        (
            "Model FPIR",
            f"{fmt_value(fpir, SCI)} per face scanned (score model, at this threshold and watchlist size)",
        ),
        ("Faces scanned", band_text(s.band(faces), faces, unit="faces in the window")),
        (
            "False alerts",
            f"{intervals.figure_text(s, fa_h, unit='/h')}; "
            f"{intervals.figure_text(s, fa, unit='in the window')}",
        ),
        ("True alerts", intervals.figure_text(s, ta_h, unit="/h")),
        *_operations_record_rows(scenario, s),
        (
            "Retention",
            f"non-matched faces: image and template deleted at once, never written; {keep_days}; {wl_fate}",
        ),
    )


def _governance_rows(
    scenario: Scenario, s: RunSummary
) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    gov = scenario.governance
    if gov is None:
        return [], []
    return _governance_plan_rows(gov), _governance_checks(gov, scenario, s)


def _governance_plan_rows(gov: Governance) -> list[tuple[str, str]]:
    comp = ", ".join(f"{c.category.replace('_', ' ')} {c.count:,}" for c in gov.watchlist_composition)
    return [
        ("Operation", gov.operation),
        ("Purpose", gov.purpose),
        ("Intelligence case", gov.intelligence_case),
        ("Less intrusive means", gov.less_intrusive_means),
        ("Authorising officer", gov.authorising_officer_role),
        (
            "Authorised",
            f"{gov.start:%Y-%m-%d %H:%M} to {gov.end:%Y-%m-%d %H:%M} ({gov.authorised_hours:g} h)",
        ),
        ("Watchlist composition", f"{comp} (total {gov.watchlist_total:,})"),
        ("Signage plan", gov.signage_plan),
        ("Advance notice", gov.advance_notice or "not stated"),
        ("DPIA", gov.dpia_reference),
    ]


def _governance_checks(gov: Governance, scenario: Scenario, s: RunSummary) -> list[tuple[str, str, str]]:
    t, wl = scenario.time, scenario.watchlist
    pol = gov.policy
    faces = (s.band("totals.faces_scanned") or Band(mean=None, p2_5=None, p97_5=None)).mean or 0.0
    fa = (s.band("totals.false_alerts") or Band(mean=None, p2_5=None, p97_5=None)).mean or 0.0
    checks: list[tuple[str, str, str]] = []

    def check(rule: str, limit: Any, ok: bool, detail: str) -> None:
        checks.append(
            (
                rule,
                "n/a" if limit is None else ("ok" if ok else "breach"),
                detail if limit is not None else "no limit set in the governance block",
            )
        )

    check(
        "Watchlist size within the force's limit",
        pol.max_watchlist_size,
        pol.max_watchlist_size is None or wl.size <= pol.max_watchlist_size,
        f"{wl.size:,} entries; limit {pol.max_watchlist_size or 0:,}",
    )
    check(
        "Threshold at or above the force's minimum",
        pol.min_threshold,
        pol.min_threshold is None or wl.threshold >= pol.min_threshold,
        f"threshold {wl.threshold:g}; minimum {pol.min_threshold}",
    )
    rate = fa / faces if faces else 0.0
    fpir = s.model.fpir_at_threshold if s.model is not None else None
    worst = max(rate, fpir or 0.0)  # as the record checks it (twin.scoring.policy)
    check(
        "False alerts per face scanned within the limit",
        pol.max_false_alert_rate_per_face,
        pol.max_false_alert_rate_per_face is None or worst <= pol.max_false_alert_rate_per_face,
        f"model FPIR {fmt_value(fpir, SCI)}; simulated {fmt_value(rate, SCI)} false alerts per face scanned "
        f"({intervals.basis_of(s).text}); limit {pol.max_false_alert_rate_per_face}",
    )
    check(
        "False alerts in the deployment within the limit",
        pol.max_false_alerts_per_deployment,
        pol.max_false_alerts_per_deployment is None or fa <= pol.max_false_alerts_per_deployment,
        f"expected {fmt_value(fa, COUNT)} in the window; limit {pol.max_false_alerts_per_deployment}",
    )
    checks.append(
        (
            "Watchlist composition adds up to the plan's watchlist size",
            "ok" if gov.watchlist_total == wl.size else "breach",
            f"categories {gov.watchlist_total:,}; plan {wl.size:,}",
        )
    )
    a, b = plan_window(gov, t.start, t.duration_s)
    outside = window_breach(gov, t.start, t.duration_s)
    checks.append(
        (
            "Plan window inside the authorised period",
            "breach" if outside else "ok",
            outside
            or f"plan {a:%Y-%m-%d %H:%M}-{b:%H:%M}; authorised {gov.start:%Y-%m-%d %H:%M} to "
            f"{gov.end:%Y-%m-%d %H:%M}",
        )
    )
    return checks


def record_preview(scenario: Scenario, summary: SummaryLike, site: Any) -> RecordPreview:
    """The plan's part of its deployment record (:mod:`twin.outputs.record` builds the full record from a
    run folder)."""
    s = RunSummary.coerce(summary)
    g_rows, checks = _governance_rows(scenario, s)
    return RecordPreview(_plan_rows(scenario, s, site), tuple(g_rows), tuple(checks))
