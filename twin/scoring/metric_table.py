"""The one metric table and the one number formatter: every figure the twin shows, wherever it shows it.

Every figure shown anywhere (console, ``report.html``, ``record.html``, comparisons, the app) is a
:class:`Metric` of :data:`METRICS`, named by its ``section.key`` id in the run summary
(:mod:`twin.scoring.summary`); the views are lists of those ids (:data:`REPORT_ROWS`,
:data:`OPERATIONS_ROWS`, :data:`COMPARE_ROWS`, :data:`RECORD_ROWS`, :data:`APP_ROWS`,
:data:`APP_OPERATIONS_ROWS`). A mistyped id is a ``KeyError``, not a blank cell. Numbers print
through :func:`fmt_value` (one rule per :class:`Metric` ``kind``) and bands (:class:`Band`: mean
and 95% predictive interval) through :func:`fmt_band`. The summary's section names are held here
once too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "APP_OPERATIONS_ROWS",
    "APP_ROWS",
    "COMPARE_ROWS",
    "COUNT",
    "CROWD",
    "EQUITABILITY",
    "HOURLY",
    "INTERVAL",
    "KINDS",
    "METRICS",
    "MODEL",
    "OPERATIONS",
    "OPERATIONS_ROWS",
    "OPS_BAND_SECTIONS",
    "PER_HOUR",
    "RATES",
    "RATIO",
    "REAL_ENGINE",
    "RECORD_ROWS",
    "REPLICATIONS",
    "REPORT_ROWS",
    "RUN",
    "SCI",
    "SCORED_WITH",
    "SECONDS",
    "SECTIONS",
    "SHARE",
    "TOTALS",
    "Band",
    "BandText",
    "Metric",
    "fmt_band",
    "fmt_value",
    "metric",
]

# -- sections, in the order summary.json has them ---------------------------------------------------

REPLICATIONS = "replications"
INTERVAL = "interval"
SCORED_WITH = "scored_with"
TOTALS = "totals"
PER_HOUR = "per_hour_rate"
RATES = "rates"
HOURLY = "hourly"
MODEL = "model"
EQUITABILITY = "equitability"
RUN = "run"
CROWD = "crowd"
OPERATIONS = "operations"
REAL_ENGINE = "real_engine"
#: Top-level keys of a run summary, in order.
SECTIONS: tuple[str, ...] = (
    REPLICATIONS, INTERVAL, SCORED_WITH, TOTALS, PER_HOUR, RATES, HOURLY, MODEL,
    EQUITABILITY, RUN, CROWD, OPERATIONS, REAL_ENGINE,
)  # fmt: skip
#: Band sections of the operations section (``operations.<name>``).
OPS_BAND_SECTIONS: tuple[str, ...] = ("totals", "per_hour_rate", "times_s", "rates")

# -- how a number prints ----------------------------------------------------------------------------

#: Counts and other plain numbers: ``12,346`` from 100 up, else one decimal (``45.5``, ``0.3``).
COUNT = "count"
#: Rates of alerts and identification (TPIR, precision): three decimals.
RATIO = "ratio"
#: Small rates (FPIR, FMR): two decimals in scientific notation, plain ``0`` for zero.
SCI = "sci"
#: Shares and utilisations: a percentage with one decimal.
SHARE = "share"
#: Durations in seconds: whole seconds with thousands separators.
SECONDS = "seconds"
KINDS: tuple[str, ...] = (COUNT, RATIO, SCI, SHARE, SECONDS)
#: What is printed for a missing or undefined value.
NONE_TEXT = "–"


def fmt_value(x: float | None, kind: str = COUNT) -> str:
    """One number as every output prints it (console, report, record, comparisons, app).

    Args:
        x: the value; None or NaN prints as "–".
        kind: :data:`COUNT`, :data:`RATIO`, :data:`SCI`, :data:`SHARE` or :data:`SECONDS`.

    Raises:
        ValueError: an unknown kind.

    >>> fmt_value(12345.6), fmt_value(45.54), fmt_value(0.8612, RATIO), fmt_value(1.706e-4, SCI)
    ('12,346', '45.5', '0.861', '1.71e-04')
    >>> fmt_value(0.125, SHARE), fmt_value(1234.4, SECONDS), fmt_value(0.0, SCI), fmt_value(None)
    ('12.5%', '1,234', '0', '–')
    >>> fmt_value(-1e-12, SECONDS), fmt_value(-0.04), fmt_value(-0.2)
    ('0', '0.0', '-0.2')
    """
    if kind not in KINDS:
        raise ValueError(f"unknown number kind {kind!r}; one of {', '.join(KINDS)}")
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return NONE_TEXT
    text = _fmt_number(float(x), kind)
    # a tiny negative (a percentile's rounding) prints as "0", never "-0" or "-0.0"
    if text.startswith("-") and float(text[1:].rstrip("%").replace(",", "")) == 0:
        return text[1:]
    return text


def _fmt_number(x: float, kind: str) -> str:
    """:func:`fmt_value`'s formatting of a defined number of a known kind."""
    if kind == SHARE:
        return f"{x:.1%}"
    if kind == SECONDS:
        return f"{x:,.0f}"
    if kind == SCI:
        return f"{x:.2e}" if x else "0"
    if kind == RATIO:
        return f"{x:.3f}"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.1f}"


@dataclass(frozen=True)
class BandText:
    """A band's three numbers as text (:func:`fmt_band`); the views add their own words around them.

    Attributes:
        mean, lo, hi: the mean and the 2.5th / 97.5th percentiles, formatted ("–" where missing).
        defined: the band has a mean (some replication gave a value).
    """

    mean: str
    lo: str
    hi: str
    defined: bool = True

    @property
    def interval(self) -> str:
        """``"lo – hi"`` (the tables' interval column)."""
        return f"{self.lo} – {self.hi}"

    def pi(self, unit: str = "") -> str:
        """``"mean unit (95% PI lo–hi)"`` (the app's and the record's way)."""
        u = f" {unit}" if unit else ""
        return f"{self.mean}{u} (95% PI {self.lo}–{self.hi})"


def fmt_band(band: Band | Mapping[str, Any] | None, kind: str = COUNT) -> BandText:
    """A band's mean and 95% predictive interval, formatted by :func:`fmt_value`.

    >>> t = fmt_band(Band(mean=2.2, p2_5=0.1, p97_5=4.9))
    >>> t.interval, t.pi("/h")
    ('0.1 – 4.9', '2.2 /h (95% PI 0.1–4.9)')
    >>> fmt_band(None).defined
    False
    """
    b = Band.coerce(band)
    if b is None:
        return BandText(NONE_TEXT, NONE_TEXT, NONE_TEXT, defined=False)
    return BandText(
        fmt_value(b.mean, kind), fmt_value(b.p2_5, kind), fmt_value(b.p97_5, kind), defined=b.mean is not None
    )


@dataclass(frozen=True, kw_only=True)
class Band:
    """Mean and 95% predictive interval (2.5th / 97.5th percentiles over replications) of one metric.

    Values keep their JSON type (None where no replication had a value).
    """

    mean: float | None
    p2_5: float | None
    p97_5: float | None

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Band:
        """From ``{"mean": .., "p2_5": .., "p97_5": ..}`` (missing keys are None)."""
        return cls(mean=d.get("mean"), p2_5=d.get("p2_5"), p97_5=d.get("p97_5"))

    @classmethod
    def coerce(cls, x: Band | Mapping[str, Any] | None) -> Band | None:
        """A Band from a Band, a band mapping, or None."""
        if x is None or isinstance(x, Band):
            return x
        return cls.from_json(x)

    def to_json(self) -> dict[str, Any]:
        """The band as summary.json holds it."""
        return {"mean": self.mean, "p2_5": self.p2_5, "p97_5": self.p97_5}


# -- the one metric table ---------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One figure a run reports, wherever it is shown.

    Attributes:
        section: dotted path of its section in the summary (``totals``, ``operations.rates``, ...).
        key: its key there.
        label: the tables' label (console, report.html, record.html, comparisons).
        short: the app's shorter label, shown beside :attr:`unit` (default: ``label``).
        unit: what one unit is (the app's unit column), e.g. ``alerts/h``.
        kind: how its numbers print (:func:`fmt_value`).
        undefined: why it has no value when no replication gives one (shown instead of a number).
    """

    section: str
    key: str
    label: str
    kind: str = COUNT
    short: str = ""
    unit: str = ""
    undefined: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.id}: unknown kind {self.kind!r}")

    @property
    def id(self) -> str:
        """``section.key``: the metric's name in comparisons and views."""
        return f"{self.section}.{self.key}"

    @property
    def app_label(self) -> str:
        """The app's label (``short``, else ``label``)."""
        return self.short or self.label


def _m(
    section: str,
    key: str,
    label: str,
    kind: str = COUNT,
    *,
    short: str = "",
    unit: str = "",
    undefined: str = "",
) -> Metric:
    return Metric(
        section=section, key=key, label=label, kind=kind, short=short, unit=unit, undefined=undefined
    )


_OPS = OPERATIONS
#: Every metric, each (section, key) once.
METRICS: tuple[Metric, ...] = (
    _m(TOTALS, "passers_by", "Passers-by", short="Passers-by in the window", unit="people"),
    _m(TOTALS, "turned_back", "Turned back at the signs", unit="people"),
    _m(TOTALS, "in_zone", "Passes through a recognition zone", unit="people"),
    _m(
        TOTALS,
        "faces_scanned",
        "Faces scanned (≥ 1 usable capture)",
        short="Faces scanned in the window",
        unit="faces",
    ),
    _m(TOTALS, "captures", "Usable captures", unit="captures"),
    _m(TOTALS, "watchlisted_passers", "Watchlisted passers-by", unit="people"),
    _m(TOTALS, "watchlisted_in_zone", "Watchlisted passes through a recognition zone", unit="people"),
    _m(TOTALS, "alerts", "Alerts", short="Alerts in the window", unit="alerts"),
    _m(TOTALS, "true_alerts", "True alerts", short="True alerts in the window", unit="alerts"),
    _m(TOTALS, "false_alerts", "False alerts", short="False alerts in the window", unit="alerts"),
    _m(PER_HOUR, "passers_by", "Passers-by per hour", short="Passers-by", unit="people/h"),
    _m(PER_HOUR, "turned_back", "Turned back at the signs per hour", unit="people/h"),
    _m(PER_HOUR, "in_zone", "Passes through a recognition zone per hour", unit="people/h"),
    _m(PER_HOUR, "faces_scanned", "Faces scanned per hour", short="Faces scanned", unit="faces/h"),
    _m(PER_HOUR, "captures", "Usable captures per hour", unit="captures/h"),
    _m(PER_HOUR, "watchlisted_passers", "Watchlisted passers-by per hour", unit="people/h"),
    _m(PER_HOUR, "watchlisted_in_zone", "Watchlisted passes through a zone per hour", unit="people/h"),
    _m(PER_HOUR, "alerts", "Alerts per hour", unit="alerts/h"),
    _m(PER_HOUR, "true_alerts", "True alerts per hour", short="True alerts", unit="alerts/h"),
    _m(PER_HOUR, "false_alerts", "False alerts per hour", short="False alerts", unit="alerts/h"),
    _m(
        RATES,
        "tpir",
        "TPIR (per pass through the zone)",
        RATIO,
        short="TPIR",
        unit="per pass through a zone",
        undefined="no watchlisted passer-by in a zone in any replication",
    ),
    _m(
        RATES,
        "fpir",
        "FPIR (per face scanned)",
        SCI,
        short="FPIR",
        unit="per face scanned",
        undefined="no face scanned",
    ),
    _m(
        RATES,
        "precision",
        "Precision (true / all alerts)",
        RATIO,
        short="Precision",
        unit="true ÷ all alerts",
        undefined="no alerts in any replication",
    ),
    _m(RATES, "scan_share", "Share of passers-by scanned", RATIO, unit="faces ÷ passers-by"),
    _m(MODEL, "expected_true_alerts", "True alerts expected (model)", unit="alerts"),
    _m(MODEL, "expected_false_alerts", "False alerts expected (model: faces × FPIR)", unit="alerts"),
    _m(
        MODEL,
        "fpir_at_threshold",
        "FPIR at the threshold (model)",
        SCI,
        short="Expected FPIR",
        unit="per face scanned",
    ),
    _m(MODEL, "fmr_at_threshold", "FMR at the threshold (model, per comparison)", SCI, unit="per comparison"),
    _m(f"{_OPS}.totals", "true_engaged", "True alerts engaged", unit="alerts"),
    _m(f"{_OPS}.totals", "true_lost", "True alerts lost in the crowd", unit="alerts"),
    _m(f"{_OPS}.totals", "false_dismissed", "False alerts dismissed at review", unit="alerts"),
    _m(f"{_OPS}.totals", "false_engaged", "Wrongful stops (false alerts engaged)", unit="stops"),
    _m(f"{_OPS}.totals", "false_lost", "False alerts dispatched, person lost", unit="alerts"),
    _m(f"{_OPS}.totals", "stops", "Stops", unit="stops"),
    _m(f"{_OPS}.totals", "arrests", "Arrests", unit="arrests"),
    _m(f"{_OPS}.per_hour_rate", "stops", "Stops per hour", short="Stops by officers", unit="/h"),
    _m(
        f"{_OPS}.per_hour_rate",
        "false_engaged",
        "Wrongful stops per hour",
        short="Wrongful stops (false alerts engaged)",
        unit="/h",
    ),
    _m(f"{_OPS}.per_hour_rate", "arrests", "Arrests per hour", short="Arrests", unit="/h"),
    _m(
        f"{_OPS}.times_s",
        "review_wait_s",
        "Review queue wait, mean (s)",
        SECONDS,
        short="Wait for review",
        unit="s",
    ),
    _m(f"{_OPS}.times_s", "review_wait_max_s", "Review queue wait, longest (s)", SECONDS, unit="s"),
    _m(f"{_OPS}.times_s", "capture_to_engagement_s", "Capture to engagement, mean (s)", SECONDS, unit="s"),
    _m(
        f"{_OPS}.rates",
        "engaged_true_share",
        "Share of true alerts engaged (mean of replications)",
        SHARE,
        short="True alerts engaged",
        undefined="no true alerts in any replication",
    ),
    _m(
        f"{_OPS}.rates",
        "operator_utilisation",
        "Operator utilisation",
        SHARE,
        short="Operator busy",
        unit="share of time",
    ),
    _m(
        f"{_OPS}.rates",
        "officer_utilisation",
        "Officer utilisation",
        SHARE,
        short="Officers busy",
        unit="share of time",
    ),
)
_BY_ID: dict[str, Metric] = {m.id: m for m in METRICS}


def metric(metric_id: str) -> Metric:
    """The metric named ``section.key``.

    Raises:
        KeyError: no such metric (the message lists the sections).

    >>> metric("rates.fpir").label
    'FPIR (per face scanned)'
    """
    try:
        return _BY_ID[metric_id]
    except KeyError:
        sections = sorted({m.section for m in METRICS})
        raise KeyError(
            f"no metric {metric_id!r} in twin.scoring.metric_table.METRICS (sections: {', '.join(sections)})"
        ) from None


def _rows(*ids: str) -> tuple[Metric, ...]:
    return tuple(metric(i) for i in ids)


#: The run's summary table (console and report.html), in display order.
REPORT_ROWS: tuple[Metric, ...] = _rows(
    "totals.passers_by",
    "totals.turned_back",
    "totals.in_zone",
    "totals.faces_scanned",
    "totals.captures",
    "totals.watchlisted_passers",
    "totals.alerts",
    "totals.true_alerts",
    "model.expected_true_alerts",
    "totals.false_alerts",
    "model.expected_false_alerts",
    "per_hour_rate.true_alerts",
    "per_hour_rate.false_alerts",
    "rates.tpir",
    "rates.fpir",
    "rates.precision",
)
#: The review-and-response table (console and report.html), in display order.
OPERATIONS_ROWS: tuple[Metric, ...] = _rows(
    "per_hour_rate.alerts",
    "operations.times_s.review_wait_s",
    "operations.times_s.capture_to_engagement_s",
    "operations.totals.true_engaged",
    "operations.totals.true_lost",
    "operations.totals.false_dismissed",
    "operations.totals.false_engaged",
    "operations.totals.false_lost",
    "operations.totals.stops",
    "operations.totals.arrests",
    "operations.rates.engaged_true_share",
    "operations.rates.operator_utilisation",
    "operations.rates.officer_utilisation",
)
#: The rows of a comparison (``twin compare``): the summary table but four counts, then operations.
COMPARE_ROWS: tuple[Metric, ...] = (
    *(
        m
        for m in REPORT_ROWS
        if m.id
        not in ("totals.turned_back", "totals.in_zone", "totals.captures", "totals.watchlisted_passers")
    ),
    *OPERATIONS_ROWS,
)
#: The deployment record's expected performance (record.html, section 5).
RECORD_ROWS: tuple[Metric, ...] = _rows(
    "totals.faces_scanned",
    "totals.true_alerts",
    "totals.false_alerts",
    "rates.precision",
    "rates.tpir",
)
#: The app's results table (Plan page "All figures", Compare page).
APP_ROWS: tuple[Metric, ...] = _rows(
    "per_hour_rate.passers_by",
    "per_hour_rate.faces_scanned",
    "per_hour_rate.true_alerts",
    "per_hour_rate.false_alerts",
    "rates.precision",
    "rates.tpir",
    "rates.fpir",
    "totals.passers_by",
    "totals.faces_scanned",
    "totals.alerts",
    "totals.true_alerts",
    "totals.false_alerts",
)
#: The app's operations rows.
APP_OPERATIONS_ROWS: tuple[Metric, ...] = _rows(
    "operations.per_hour_rate.stops",
    "operations.per_hour_rate.false_engaged",
    "operations.per_hour_rate.arrests",
    "operations.rates.engaged_true_share",
    "operations.rates.operator_utilisation",
    "operations.rates.officer_utilisation",
    "operations.times_s.review_wait_s",
)
