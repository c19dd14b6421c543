"""Deployment records: breaches listed first; audit verification through the CLI."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import square_site_doc, tiny_scenario_doc
from twin.cli.main import app
from twin.errors import ScenarioError
from twin.outputs.record import build_record
from twin.outputs.runstore import write_run
from twin.scenario.load import load_scenario
from twin.sim.run import run

GOV = {
    "operation": "Op TEST",
    "purpose": "find people wanted for serious violence",
    "intelligence_case": "they are reported to pass this footway at lunchtime",
    "less_intrusive_means": "patrols tried for a month",
    "authorising_officer_role": "Superintendent",
    "start": "2026-12-05T12:00:00+00:00",
    "end": "2026-12-05T13:00:00+00:00",
    "watchlist_composition": [
        {"category": "wanted", "count": 900, "image_source": "custody images"},
        {"category": "missing", "count": 100, "image_source": "family photos"},
    ],
    "policy": {"max_watchlist_size": 2000, "max_false_alert_rate_per_face": 0.001, "min_threshold": 0.6},
    "signage_plan": "A-boards at each end",
    "dpia_reference": "DPIA-1",
}


def make_run(
    tmp_path: Path,
    square_site: Path,
    *,
    gov: dict | None = GOV,
    signs: bool = True,
    start: str = "12:00",
    **watchlist,
) -> Path:
    map_path = square_site
    if not signs:
        doc = square_site_doc()
        doc["features"] = [f for f in doc["features"] if f["properties"]["role"] != "signage"]
        map_path = tmp_path / "nosigns.geojson"
        map_path.write_text(json.dumps(doc))
    doc = tiny_scenario_doc(map_path, time={"start": start, "duration_s": 300})
    doc["watchlist"] = {"size": 1000, "prevalence": 0.01, "threshold": 0.6, **watchlist}
    if gov is not None:
        doc["governance"] = gov
    p = tmp_path / "sc.yaml"
    p.write_text(yaml.safe_dump(doc))
    return write_run(run(load_scenario(p), replications=1), tmp_path / "runs", with_map=False)


def rules(folder: Path) -> list[str]:
    return [b["rule"] for b in json.loads((folder / "record.json").read_text())["breaches"]]


def test_clean_plan_has_no_breach(tmp_path: Path, square_site: Path) -> None:
    folder = make_run(tmp_path, square_site)
    assert rules(folder) == []
    page = (folder / "record.html").read_text()
    assert "No breach" in page and "Op TEST" in page and "<svg" in page
    assert not re.search(r"<(script|link)[^>]+(src|href)=", page)


def test_watchlist_over_cap_is_listed_first(tmp_path: Path, square_site: Path) -> None:
    gov = {**GOV, "watchlist_composition": [{"category": "wanted", "count": 5000, "image_source": "custody"}]}
    folder = make_run(tmp_path, square_site, gov=gov, size=5000)
    r = rules(folder)
    assert r[0] == "watchlist larger than the policy allows"
    page = (folder / "record.html").read_text()
    assert page.index("watchlist larger than the policy allows") < page.index("1. Authorisation")


def test_false_alert_rate_over_cap(tmp_path: Path, square_site: Path) -> None:
    gov = {**GOV, "policy": {"max_false_alert_rate_per_face": 1e-6}}
    assert "expected false-alert rate per face scanned above the policy cap" in rules(
        make_run(tmp_path, square_site, gov=gov)
    )


def test_route_bypassing_the_signs(tmp_path: Path, square_site: Path) -> None:
    folder = make_run(tmp_path, square_site, signs=False)
    rec = json.loads((folder / "record.json").read_text())
    (b,) = [b for b in rec["breaches"] if b["rule"].startswith("routes reach a recognition zone")]
    assert b["value"] == ["east"]  # the eastbound route walks into the camera; westbound shows backs only


def test_differential_threshold_and_composition_mismatch(tmp_path: Path, square_site: Path) -> None:
    gov = {**GOV, "policy": {}}
    r = rules(make_run(tmp_path, square_site, gov=gov, threshold=0.57, size=1200))
    assert "demographic differential in false alerts at this threshold" in r
    assert "watchlist composition does not account for every entry" in r


def test_record_needs_governance(tmp_path: Path, square_site: Path) -> None:
    folder = make_run(tmp_path, square_site, gov=None)
    assert not (folder / "record.json").exists()
    with pytest.raises(ScenarioError, match="no governance block"):
        build_record(folder)


def test_audit_verify_cli_names_the_tampered_entry(tmp_path: Path, square_site: Path) -> None:
    folder = make_run(tmp_path, square_site)
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify", str(folder)])
    assert ok.exit_code == 0 and "intact" in ok.output
    con = sqlite3.connect(folder / "audit.sqlite")
    con.execute("DROP TRIGGER entries_no_update")
    con.execute(
        "UPDATE entries SET detail = replace(detail, '\"probes_deleted\":', '\"probes_deleted\":1') "
        "WHERE kind='deletion_batch'"
    )
    con.commit()
    con.close()
    bad = runner.invoke(app, ["audit", "verify", str(folder)])
    assert bad.exit_code == 1 and "deletion_batch" in bad.output and "edited" in bad.output
    # the record built afterwards reports the failure as a breach
    assert "audit log fails verification" in [b["rule"] for b in build_record(folder)["breaches"]]


def test_run_folder_results_untouched_by_record(tmp_path: Path, square_site: Path) -> None:
    folder = make_run(tmp_path, square_site)
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.name not in ("audit.sqlite",)}
    r = CliRunner().invoke(app, ["record", str(folder)])
    assert r.exit_code == 0, r.output
    after = {p.name: p.read_bytes() for p in folder.iterdir() if p.name in before}
    assert after == before
    assert (folder / "record-2.html").exists()


def test_window_outside_the_authorised_clock_times(tmp_path: Path, square_site: Path) -> None:
    """Authorised 12:00-13:00; a plan at 21:00 of the same length is a breach (clock times, not hours)."""
    folder = make_run(tmp_path, square_site, start="21:00")
    rec = json.loads((folder / "record.json").read_text())
    (b,) = [b for b in rec["breaches"] if b["rule"] == "planned window outside the authorised period"]
    assert "21:00" in b["value"] and "ends after the authorised end" in b["value"]


def test_audit_verify_catches_an_edited_summary_and_record(tmp_path: Path, square_site: Path) -> None:
    folder = make_run(tmp_path, square_site)
    runner = CliRunner()
    summary = folder / "summary.json"
    summary.write_text(summary.read_text().replace('"replications": 1', '"replications": 2'))
    r = runner.invoke(app, ["audit", "verify", str(folder)])
    assert r.exit_code == 1 and "summary.json was changed" in r.output


def test_audit_verify_catches_an_edited_record(tmp_path: Path, square_site: Path) -> None:
    folder = make_run(tmp_path, square_site)
    page = folder / "record.html"
    page.write_text(page.read_text().replace("No breach", "No problem"))
    r = CliRunner().invoke(app, ["audit", "verify", str(folder)])
    assert r.exit_code == 1 and "record.html was changed" in r.output
