"""The Plan page's headline figures: each mean with its unit, its sampled 95% PI and what it rests on,
and for alerts the model's expected count beside it (a "0–0" sample never stands alone:
:mod:`twin.app.intervals`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twin.app import intervals
from twin.scoring.metric_table import COUNT, fmt_band, metric
from twin.scoring.summary import RunSummary

__all__ = ["HEADLINES", "Headline", "headline_figures"]

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


def headline_figures(summary: SummaryLike) -> list[Headline]:
    """The Plan page's headline figures (:data:`HEADLINES`): the mean with its unit, the 95% PI underneath.

    Alerts show what their interval rests on and the model's expectation beside it; where the
    sampled interval is degenerate (0–0 from a few replications of a rare event) and the model
    expects more than zero, the model's expectation is the figure
    (:func:`twin.app.intervals.alert_headline`). A degenerate ratio (precision) is given no interval.
    """
    s = RunSummary.coerce(summary)
    out = []
    for metric_id, label, unit, help_text in HEADLINES:
        m = metric(metric_id)
        band = s.band(m)
        text = fmt_band(band, m.kind)
        if metric_id in intervals.MODEL_COUNTS:
            value, caption = intervals.alert_headline(s, metric_id, unit)
        else:
            value = f"{text.mean} {unit}".strip()
            if not text.defined:
                caption = m.undefined or "no value in any replication"
            elif intervals.is_degenerate(band) and m.kind != COUNT:
                caption = f"alike in all {intervals.basis_of(s).text}: too few alerts for an interval"
            else:
                caption = f"95% PI {text.lo}–{text.hi} {unit}".strip()
        out.append(Headline(label=label, value=value, caption=caption, help=help_text))
    return out
