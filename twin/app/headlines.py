"""The Plan page's headline figures: each mean with its unit, its sampled 95% PI, and for alerts the
model's expected count beside it (issue 15: a "0–0" sample never stands alone)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twin.scoring.metric_table import fmt_band, fmt_value, metric
from twin.scoring.summary import RunSummary

__all__ = ["HEADLINES", "MODEL_BESIDE", "Headline", "headline_figures", "model_per_hour_text"]

SummaryLike = RunSummary | Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class Headline:
    """One headline figure of the Plan page: label, "mean unit", the interval caption, the help text."""

    label: str
    value: str
    caption: str
    help: str


#: (metric id, label, unit, help) of the Plan page's headline figures, in order.
HEADLINES: tuple[tuple[str, str, str, str], ...] = (
    ("per_hour_rate.passers_by", "Passers-by", "/h", "People entering the geofenced area per hour."),
    (
        "per_hour_rate.faces_scanned",
        "Faces scanned",
        "/h",
        "People with at least one usable capture, searched against the watchlist.",
    ),
    ("per_hour_rate.true_alerts", "True alerts", "/h", "Watchlisted people correctly alerted on, per hour."),
    (
        "per_hour_rate.false_alerts",
        "False alerts",
        "/h",
        "Alerts on people who are not the candidate shown (mostly not on the watchlist), per hour.",
    ),
    (
        "rates.precision",
        "Precision",
        "",
        "True alerts ÷ all alerts: how often an alert is about the right person.",
    ),
)


#: Headline figure -> the model figure (whole window) shown beside its sampled interval.
MODEL_BESIDE: dict[str, str] = {
    "per_hour_rate.true_alerts": "model.expected_true_alerts",
    "per_hour_rate.false_alerts": "model.expected_false_alerts",
}


def model_per_hour_text(summary: SummaryLike, metric_id: str) -> str | None:
    """The model's expected count per hour, with its 95% interval, for a headline alert figure.

    The model's figures (``summary["model"]``) are analytic: they include the spread of prevalence
    between deployments and the false-match tail's uncertainty, and stay positive where a few
    replications sample no alert at all. Per hour = the window's figure / the window's hours.

    Returns:
        ``"model: expected 0.52 /h (95% PI 0.1–1.4)"``, or None where the run has no such figure.

    >>> s = {"model": {"expected_true_alerts": 6.0, "true_alerts_interval": [1.2, 14.4]},
    ...      "run": {"window": {"duration_s": 21600.0}}}
    >>> model_per_hour_text(s, "per_hour_rate.true_alerts")
    'model: expected 1.0 /h (95% PI 0.2–2.4)'
    """
    s = RunSummary.coerce(summary)
    key = MODEL_BESIDE.get(metric_id)
    run = s.run
    hours = run.window.duration_s / 3600.0 if run is not None and run.window.duration_s else None
    band = s.band(key) if key else None
    if band is None or band.mean is None or not hours:
        return None

    def per_h(x: float) -> str:
        v = x / hours
        return f"{v:.2g}" if 0 < abs(v) < 1 else fmt_value(v)

    text = f"model: expected {per_h(band.mean)} /h"
    if band.p2_5 is not None and band.p97_5 is not None:
        text += f" (95% PI {per_h(band.p2_5)}–{per_h(band.p97_5)})"
    return text


def headline_figures(summary: SummaryLike) -> list[Headline]:
    """The Plan page's headline figures (:data:`HEADLINES`): the mean with its unit, the 95% PI underneath,
    and for alerts the model's expected count beside the sampled interval (never a bare "0–0" where the
    model expects a positive count: :func:`model_per_hour_text`)."""
    s = RunSummary.coerce(summary)
    reps = s.run.replications if s.run is not None else None
    out = []
    for metric_id, label, unit, help_text in HEADLINES:
        m = metric(metric_id)
        text = fmt_band(s.band(m), m.kind)
        caption = (
            f"95% PI {text.lo}–{text.hi} {unit}"
            if text.defined
            else m.undefined or "no value in any replication"
        )
        beside = model_per_hour_text(s, metric_id)
        if beside is not None:
            caption += f" (sampled over {reps} replication(s)); {beside}" if reps else f"; {beside}"
        out.append(
            Headline(label=label, value=f"{text.mean} {unit}".strip(), caption=caption, help=help_text)
        )
    return out
