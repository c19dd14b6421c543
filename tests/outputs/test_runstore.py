"""Run folders: complete, offline, never overwritten, one alerts row per alert with what became of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from conftest import tiny_scenario_doc
from twin.cli.main import app
from twin.scenario.load import parse_scenario
from twin.sim.run import run

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_run_writes_a_complete_folder(tiny_scenario_path: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    r = invoke("run", str(tiny_scenario_path), "--out", str(out), "-r", "2")
    assert r.exit_code == 0, r.output
    assert "False alerts per hour" in r.output and "95% predictive interval" in r.output
    (folder,) = [p for p in out.iterdir()]
    names = {p.name for p in folder.iterdir()}
    assert {
        "scenario.yaml",
        "site.geojson",
        "summary.json",
        "run.json",
        "events.parquet",
        "alerts.parquet",
        "hourly.csv",
        "report.html",
        "map.html",
    } <= names
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["replications"] == 2 and summary["run"]["seed"] == 7
    events = pd.read_parquet(folder / "events.parquet")
    assert {"person", "camera_id", "usable_captures", "ied_px", "yaw_deg", "pitch_deg", "t_best_s"} <= set(
        events.columns
    )
    assert (
        events.groupby(["person", "camera"]).size().max() == 1
    )  # one row per person x camera, never per frame
    # the copied scenario reproduces the run from inside the folder
    r2 = invoke("run", str(folder / "scenario.yaml"), "--out", str(tmp_path / "again"), "--no-map")
    assert r2.exit_code == 0, r2.output
    (again,) = list((tmp_path / "again").iterdir())
    s2 = json.loads((again / "summary.json").read_text())
    assert s2["totals"] == summary["totals"]


def test_outputs_work_offline(tiny_scenario_path: Path, tmp_path: Path) -> None:
    r = invoke("run", str(tiny_scenario_path), "--out", str(tmp_path / "runs"), "-r", "1")
    assert r.exit_code == 0, r.output
    (folder,) = list((tmp_path / "runs").iterdir())
    for page in ("map.html", "report.html"):
        text = (folder / page).read_text()
        assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", text), page
    assert "L.map(" in (folder / "map.html").read_text() or "L.map" in (folder / "map.html").read_text()


def test_never_overwrites(tiny_scenario_path: Path, tmp_path: Path) -> None:
    for _ in range(2):
        assert (
            invoke(
                "run", str(tiny_scenario_path), "--out", str(tmp_path / "runs"), "-r", "1", "--no-map"
            ).exit_code
            == 0
        )
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(folders) == 2 and not any(f.startswith(".tmp") for f in folders)


def test_alerts_file_records_each_alerts_fate(square_site, tmp_path) -> None:
    import pandas as pd

    from twin.outputs.runstore import write_run
    from twin.sim.operations import OUTCOMES

    doc = tiny_scenario_doc(square_site)
    doc["watchlist"]["prevalence"] = 0.05
    res = run(parse_scenario(doc), replications=2)
    alerts = pd.read_parquet(write_run(res, tmp_path / "runs", with_map=False) / "alerts.parquet")
    assert len(alerts) == sum(len(o.alert_t_s) for o in res.outcomes) > 0
    assert set(alerts["outcome"]) <= set(OUTCOMES)
    assert (alerts.loc[alerts["outcome"] == "true_engaged", "true_alert"]).all()
    assert (alerts["review_wait_s"] >= 0).all()
    engaged = alerts["outcome"].isin(["true_engaged", "false_engaged"])
    assert (
        alerts.loc[engaged, "intercept_t_s"].notna().all()
        and alerts.loc[~engaged, "intercept_t_s"].isna().all()
    )
