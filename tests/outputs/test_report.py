"""report.html and the console tables: rows from the one metric table, numbers through the one formatter,
offline."""

from __future__ import annotations

import re

import pytest

from twin.outputs.report import operations_rows, render_report, summary_rows
from twin.scoring.metric_table import OPERATIONS_ROWS, REPORT_ROWS
from twin.sim.run import run


@pytest.fixture(scope="module")
def summary(tmp_path_factory: pytest.TempPathFactory):
    import json

    from conftest import square_site_doc, tiny_scenario_doc
    from twin.scenario.load import parse_scenario

    site = tmp_path_factory.mktemp("report") / "square.geojson"
    site.write_text(json.dumps(square_site_doc()))
    return run(parse_scenario(tiny_scenario_doc(site)), replications=2).summary


def test_summary_rows_follow_the_metric_table(summary) -> None:
    rows = summary_rows(summary)
    assert [label for label, _, _ in rows] == [m.label for m in REPORT_ROWS]
    # a model value has no interval; a count band has "lo – hi"
    by = {label: (mean, band) for label, mean, band in rows}
    assert by["False alerts expected (model: faces × FPIR)"][1] == "–"
    assert re.fullmatch(r"[\d,.]+ – [\d,.]+", by["Passers-by"][1])
    assert (
        re.fullmatch(r"\d\.\d{3}", by["Precision (true / all alerts)"][0] or "")
        or by["Precision (true / all alerts)"][0] == "–"
    )


def test_operations_rows_only_with_operations(summary) -> None:
    assert [label for label, _, _ in operations_rows(summary)] == [m.label for m in OPERATIONS_ROWS]
    assert operations_rows({"totals": {}}) == []


def test_report_is_one_offline_file(summary) -> None:
    page = render_report(summary, title="tiny <plan>", scenario_yaml="name: tiny", start_hour=12)
    assert page.startswith("<!doctype html>") and "tiny &lt;plan&gt;" in page
    assert "<script" not in page.lower() and not re.search(r"""(src|href)=["']?https?://""", page)
    assert page.count("<svg") >= 2  # alerts per hour, officers needed
    assert "OpenStreetMap contributors" in page
