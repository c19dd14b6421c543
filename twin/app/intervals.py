"""Honest figures for rare events: what an interval rests on, and the model's expectation beside it.

A Plan page run is a first look: 5 replications of a 1-hour window by default. For a rare event
(false alerts at threshold 0.64, true alerts with 13 watchlisted passers-by per 100,000) the
2.5th-97.5th percentiles over so few replications are often 0-0, which reads as certainty while
the score model expects a positive count. So, wherever the app prints a figure (:func:`figure_text`,
:func:`alert_headline`):

* every interval says what it rests on ("5 replications of 1 h", :class:`Basis`);
* a count whose sampled interval is degenerate (lo = hi) or rests on fewer than
  :data:`FEW_REPLICATIONS` replications is shown with the model's expectation beside it, read from
  the summary's ``model`` section (``expected_false_alerts`` always; ``expected_true_alerts``,
  ``false_alerts_interval`` and ``true_alerts_interval``, ``[lo, hi]`` counts in the window, when
  the summary has them), never as "0–0" when the model expects more than zero;
* a degenerate interval of a ratio (precision, TPIR) is not printed as an interval at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from twin.scoring.metric_table import COUNT, Band, Metric, fmt_band, fmt_value
from twin.scoring.summary import RunSummary

__all__ = [
    "FEW_REPLICATIONS",
    "Basis",
    "ModelAlerts",
    "alert_headline",
    "basis_of",
    "figure_text",
    "fmt_rate",
    "is_degenerate",
    "model_alerts",
]

#: Fewer replications than this and a sampled 95% interval of a rare count is a rough guide only:
#: its 2.5th and 97.5th percentiles fall between the lowest and highest of so few values.
FEW_REPLICATIONS = 20
#: The metrics whose counts the score model also expects: metric id -> ``true_alerts`` / ``false_alerts``.
MODEL_COUNTS: dict[str, str] = {
    "per_hour_rate.true_alerts": "true_alerts",
    "per_hour_rate.false_alerts": "false_alerts",
    "totals.true_alerts": "true_alerts",
    "totals.false_alerts": "false_alerts",
}


@dataclass(frozen=True)
class Basis:
    """What a run's intervals rest on: its replications and the window's hours (None: unknown).

    >>> Basis(5, 1.0).text, Basis(1, 6.0).text, Basis(None, None).text
    ('5 replications of 1 h', '1 replication of 6 h', 'the replications')
    """

    replications: int | None
    hours: float | None

    @property
    def text(self) -> str:
        """E.g. "5 replications of 1 h"."""
        if not self.replications:
            return "the replications"
        n = self.replications
        out = f"{n} replication{'s' if n != 1 else ''}"
        return out + (f" of {self.hours:g} h" if self.hours else "")

    @property
    def few(self) -> bool:
        """Fewer than :data:`FEW_REPLICATIONS` replications (or unknown)."""
        return not self.replications or self.replications < FEW_REPLICATIONS


def basis_of(summary: RunSummary | Mapping[str, Any]) -> Basis:
    """The replications and window hours of a summary."""
    s = RunSummary.coerce(summary)
    reps = s.replications if s.replications is not None else (s.run.replications if s.run else None)
    hours = s.run.window.duration_s / 3600 if s.run is not None and s.run.window is not None else None
    return Basis(int(reps) if reps else None, float(hours) if hours else None)


@dataclass(frozen=True)
class ModelAlerts:
    """The score model's expected count of an alert kind in the window, and its 95% predictive
    interval where the summary gives one (None where it does not)."""

    expected: float | None
    interval: tuple[float, float] | None


def model_alerts(summary: RunSummary | Mapping[str, Any], which: str) -> ModelAlerts:
    """``which`` ("true_alerts" or "false_alerts") as the summary's ``model`` section expects it (window
    counts); fields the summary lacks read as None."""
    model = RunSummary.coerce(summary).model
    exp = getattr(model, f"expected_{which}", None) if model is not None else None
    iv = getattr(model, f"{which}_interval", None) if model is not None else None
    interval = None
    if isinstance(iv, (list, tuple)) and len(iv) == 2 and all(isinstance(v, (int, float)) for v in iv):
        interval = (float(iv[0]), float(iv[1]))
    return ModelAlerts(float(exp) if isinstance(exp, (int, float)) else None, interval)


def is_degenerate(band: Band | Mapping[str, Any] | None) -> bool:
    """The band's 95% interval has no width (lo = hi), e.g. 0–0 from a few replications of a rare event.

    >>> zero, wide = {"mean": 0.0, "p2_5": 0.0, "p97_5": 0.0}, {"mean": 1, "p2_5": 0, "p97_5": 2}
    >>> is_degenerate(zero), is_degenerate(wide)
    (True, False)
    """
    b = Band.coerce(band)
    return b is not None and b.p2_5 is not None and b.p97_5 is not None and b.p2_5 == b.p97_5


def fmt_rate(x: float | None) -> str:
    """An expected count or rate, with two significant figures below 1 (so 0.06 is not shown as 0.1, nor
    0.13 as 0.1).

    >>> fmt_rate(0.0634), fmt_rate(0.126), fmt_rate(2.23), fmt_rate(0.0), fmt_rate(None)
    ('0.063', '0.13', '2.2', '0', '–')
    """
    if x is None:
        return fmt_value(None)
    if x == 0:
        return "0"
    return f"{x:.2g}" if abs(x) < 1 else fmt_value(x, COUNT)


def _model_note(summary: RunSummary, metric_id: str, basis: Basis) -> tuple[float | None, str]:
    """(the model's expectation in the metric's unit, its 95% PI as " (95% PI lo–hi in the 1 h window)"
    or "") for a count the model expects; (None, "") for other metrics."""
    which = MODEL_COUNTS.get(metric_id)
    if which is None:
        return None, ""
    ma = model_alerts(summary, which)
    if ma.expected is None:
        return None, ""
    per_hour = metric_id.startswith("per_hour_rate.")
    scale = 1.0 / basis.hours if per_hour and basis.hours else 1.0
    interval = ""
    if ma.interval is not None:
        lo, hi = ma.interval
        where = f"in the {basis.hours:g} h window" if basis.hours else "in the window"
        interval = f" (95% PI {fmt_rate(lo)}–{fmt_rate(hi)} {where})"
    return ma.expected * scale, interval


def figure_text(summary: RunSummary | Mapping[str, Any], m: Metric, *, unit: str | None = None) -> str:
    """A metric as the app prints it in tables: "mean unit (95% PI lo–hi)", with what it rests on when
    that matters, and never a 0–0 interval for a count the model expects above zero.

    Args:
        summary: the run's summary.
        m: the metric.
        unit: the unit after the mean (default none).
    """
    s = RunSummary.coerce(summary)
    band = s.band(m)
    text = fmt_band(band, m.kind)
    if not text.defined:
        return f"– ({m.undefined})" if m.undefined else "–"
    basis = basis_of(s)
    u = f" {unit}" if unit else ""
    expected, interval = _model_note(s, m.id, basis)
    if is_degenerate(band):
        if expected is not None and expected > 0:
            seen = "none" if (band is not None and band.mean == 0) else f"{text.mean}{u} in each"
            return f"{fmt_rate(expected)}{u} expected by the model{interval}; {seen} in {basis.text}"
        if m.kind == COUNT:
            return f"{text.mean}{u} (the same in all {basis.text})"
        return f"{text.mean}{u} (alike in all {basis.text}: too few events for an interval)"
    if not (basis.few and basis.replications):
        return text.pi(unit or "")
    out = f"{text.mean}{u} (95% PI {text.lo}–{text.hi} over {basis.text}"
    if expected is not None:
        out += f"; model expects {fmt_rate(expected)}{u}{interval}"
    return out + ")"


def alert_headline(summary: RunSummary | Mapping[str, Any], metric_id: str, unit: str) -> tuple[str, str]:
    """(value, caption) of a headline count: the sampled mean with its 95% PI and what it rests on, and
    the model's expectation beside it; where the sampled interval is degenerate and the model expects a
    positive count, the model's expectation is the value ("… (model)").

    Raises:
        KeyError: ``metric_id`` is not a metric.
    """
    from twin.scoring.metric_table import metric

    s = RunSummary.coerce(summary)
    m = metric(metric_id)
    band = s.band(m)
    text = fmt_band(band, m.kind)
    if not text.defined:
        return "–", m.undefined or "no value in any replication"
    basis = basis_of(s)
    expected, interval = _model_note(s, metric_id, basis)
    u = f" {unit}" if unit else ""
    if is_degenerate(band) and expected is not None and expected > 0:
        seen = "none simulated" if (band is not None and band.mean == 0) else f"{text.mean}{u} in each"
        value = f"{fmt_rate(expected)}{u} (model)"
        return value, f"expected by the score model{interval}; {seen} in {basis.text}"
    if is_degenerate(band):  # no model figure to show: say what the sampled value rests on, no "0–0"
        seen = "none in any" if (band is not None and band.mean == 0) else "the same in all"
        return f"{text.mean}{u}", f"{seen} of {basis.text}: too few for an interval"
    caption = f"95% PI {text.lo}–{text.hi}{u}" + (f" over {basis.text}" if basis.replications else "")
    if expected is not None and (basis.few or is_degenerate(band)):
        caption += f" · model expects {fmt_rate(expected)}{u}{interval}"
    return f"{text.mean}{u}", caption
