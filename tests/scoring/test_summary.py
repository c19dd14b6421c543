"""The typed run summary: the JSON shape of summary.json kept key for key; one metric table; one formatter."""

from __future__ import annotations

import json

import pytest

from golden_runs import GOLDEN
from twin.scoring.metric_table import (
    APP_OPERATIONS_ROWS,
    APP_ROWS,
    COMPARE_ROWS,
    KINDS,
    METRICS,
    OPERATIONS_ROWS,
    RECORD_ROWS,
    REPORT_ROWS,
    SECTIONS,
    Band,
    fmt_band,
    fmt_value,
    metric,
)
from twin.scoring.summary import RunSummary


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.json")), ids=lambda p: p.stem)
def test_golden_summaries_round_trip_exactly(path) -> None:
    """summary.json's shape is fixed by the goldens: reading one and writing it back changes nothing."""
    doc = json.loads(path.read_text())
    s = RunSummary.from_json(doc)
    assert s.to_json() == doc and s == doc and dict(s) == doc
    assert list(s) == [k for k in SECTIONS if k in doc]


def test_a_run_summary_has_the_goldens_shape(tiny_scenario) -> None:
    """A fresh run's summary.json has every section and key the goldens have (plus run metadata)."""
    from twin.sim.run import run

    got = run(tiny_scenario, replications=2).summary
    assert json.loads(json.dumps(got.to_json())) == got.to_json()  # JSON-ready
    golden = json.loads((GOLDEN / "oxford_circus.json").read_text())
    assert set(got) == set(golden) | {"run"}
    for section in (
        "scored_with",
        "totals",
        "per_hour_rate",
        "rates",
        "hourly",
        "crowd",
        "equitability",
        "operations",
    ):
        assert set(got[section]) == set(golden[section]), section
    assert set(golden["model"]) <= set(got["model"])
    assert RunSummary.from_json(got.to_json()).to_json() == got.to_json()


def test_every_metric_is_listed_once_and_every_view_names_known_metrics() -> None:
    ids = [m.id for m in METRICS]
    assert len(ids) == len(set(ids))
    for view in (REPORT_ROWS, OPERATIONS_ROWS, COMPARE_ROWS, RECORD_ROWS, APP_ROWS, APP_OPERATIONS_ROWS):
        assert all(metric(m.id) is m for m in view)
    assert all(m.kind in KINDS for m in METRICS)


def test_a_mistyped_metric_is_an_error_not_a_blank_cell() -> None:
    with pytest.raises(KeyError, match=r"no metric 'totals\.false_alert'"):
        metric("totals.false_alert")
    with pytest.raises(KeyError):
        RunSummary().band("rates.fpr")


def test_band_lookup_by_metric() -> None:
    s = RunSummary.from_json(
        {
            "totals": {"alerts": {"mean": 2.0, "p2_5": 1.0, "p97_5": 3.0}},
            "model": {"expected_false_alerts": 0.4},
        }
    )
    assert s.band("totals.alerts") == Band(mean=2.0, p2_5=1.0, p97_5=3.0)
    assert s.value("model.expected_false_alerts") == 0.4
    assert s.band("model.expected_false_alerts") == Band(mean=0.4, p2_5=None, p97_5=None)
    assert s.band("totals.faces_scanned") is None and s.band("operations.totals.stops") is None


@pytest.mark.parametrize(
    ("x", "kind", "text"),
    [
        (12345.6, "count", "12,346"),
        (45.54, "count", "45.5"),
        (0.0, "count", "0.0"),
        (None, "count", "–"),
        (float("nan"), "ratio", "–"),
        (0.8612, "ratio", "0.861"),
        (1.706e-4, "sci", "1.71e-04"),
        (0.0, "sci", "0"),
        (0.125, "share", "12.5%"),
        (1234.4, "seconds", "1,234"),
    ],
)
def test_one_formatter(x, kind: str, text: str) -> None:
    assert fmt_value(x, kind) == text


def test_band_text_pieces() -> None:
    t = fmt_band({"mean": 2.25, "p2_5": 0.1, "p97_5": 4.9})
    assert (t.mean, t.interval, t.pi("/h")) == ("2.2", "0.1 – 4.9", "2.2 /h (95% PI 0.1–4.9)")
    assert not fmt_band({"mean": None, "p2_5": None, "p97_5": None}).defined
    with pytest.raises(ValueError, match="unknown number kind"):
        fmt_value(1.0, "percent")
