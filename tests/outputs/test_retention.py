"""Retention of alert data: due after the policy's alert_days from created_at, each deletion batch in the
audit log."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import governance_doc, square_site_doc, tiny_scenario_doc
from twin.cli.main import app
from twin.outputs.audit import AUDIT_FILE, AuditLog, verify

runner = CliRunner()


@pytest.mark.model
@pytest.mark.slow
def test_retention_apply_deletes_old_alert_data_and_logs_it(dlib_run: dict, tmp_path: Path) -> None:
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(dlib_run["folder"], folder)
    created = dt.datetime.fromisoformat(json.loads((folder / "run.json").read_text())["created_at"])
    n = len(list((folder / "alerts").glob("*.png")))
    assert n >= 1
    future = (created + dt.timedelta(days=32)).isoformat()
    refused = runner.invoke(app, ["retention", "apply", str(folder), "--as-of", future])
    assert refused.exit_code == 2 and "is in the future" in refused.output and "--force" in refused.output
    assert len(list((folder / "alerts").glob("*"))) == 2 * n  # nothing deleted early
    early = runner.invoke(
        app,
        [
            "retention",
            "apply",
            str(folder),
            "--force",
            "--as-of",
            (created + dt.timedelta(days=30)).isoformat(),
        ],
    )
    assert early.exit_code == 0, early.output
    assert "nothing due yet" in early.output and "no governance block" in early.output
    assert len(list((folder / "alerts").glob("*"))) == 2 * n
    late = runner.invoke(app, ["retention", "apply", str(folder), "--force", "--as-of", future])
    assert late.exit_code == 0, late.output
    assert f"deleted {2 * n} files of {n} alerts" in " ".join(late.output.split())
    assert not (folder / "alerts").exists()
    meta = json.loads((folder / "run.json").read_text())
    assert verify(
        folder / AUDIT_FILE, expected_head=(meta["audit_head"]["seq"], meta["audit_head"]["sha256"])
    ).ok
    with AuditLog(folder / AUDIT_FILE) as log:
        (last,) = [e for e in log.entries() if e.kind == "retention_deletion"]
    assert (
        last.detail["files_deleted"] == 2 * n
        and last.detail["alerts"] == n
        and last.detail["alert_days"] == 31
    )
    assert last.detail["measured_from"] == "created_at"
    bad = runner.invoke(app, ["retention", "apply", str(folder), "--as-of", "next tuesday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output


def test_retention_uses_the_governance_alert_days(tmp_path: Path) -> None:
    from twin.outputs.retention import apply_retention

    folder = tmp_path / "run"
    (folder / "alerts").mkdir(parents=True)
    site = tmp_path / "square.geojson"
    site.write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(site)
    doc["governance"] = governance_doc(
        end="2026-12-05T13:00:00+00:00",
        watchlist_composition=[{"category": "wanted", "count": 10000, "image_source": "custody"}],
        retention={"alert_days": 7},
    )
    (folder / "scenario.yaml").write_text(yaml.safe_dump(doc))
    (folder / "run.json").write_text(json.dumps({"created_at": "2026-01-01T00:00:00+00:00"}))
    with AuditLog(folder / AUDIT_FILE) as log:
        log.append("run_start")
    (folder / "alerts" / "alert-0001.png").write_bytes(b"x")
    (folder / "alerts" / "alert-0001.json").write_text("{}")
    r = apply_retention(folder, as_of="2026-01-07T23:00:00")
    assert not r.due and r.files_deleted == 0 and r.policy_source == "governance.retention.alert_days"
    r = apply_retention(folder, as_of="2026-01-08T00:00:00Z")
    assert r.due and r.files_deleted == 2 and r.alerts == 1 and r.audit_seq == 2
    with pytest.raises(Exception, match="not a run folder"):
        apply_retention(tmp_path)
