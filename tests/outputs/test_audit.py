"""The audit log's hash chain detects any edited, removed or reordered entry and names it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from twin.errors import AuditError
from twin.outputs.audit import AUDIT_FILE, AuditLog, verify


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "audit.sqlite"
    ticks = iter(range(1000))
    with AuditLog(path, clock=lambda: f"2026-01-01T00:00:{next(ticks):02d}Z") as a:
        a.append("run_start", scenario="x")
        a.append("watchlist_enrolled", size=100)
        a.append("alert", t_s=12.5, camera_id="cam1", true_alert=True)
        a.append("alert", t_s=40.0, camera_id="cam2", true_alert=False)
        a.append("deletion_batch", hour=0, probes_deleted=812)
        head = a.append("run_end").seq, a.head()[1]
    return path, head


def tamper(path, *sql: str) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER entries_no_update")
    con.execute("DROP TRIGGER entries_no_delete")
    for s in sql:
        con.execute(s)
    con.commit()
    con.close()


def test_intact_chain(log) -> None:
    path, head = log
    r = verify(path, expected_head=head)
    assert r.ok and r.entries == 6 and r.head == head


def test_triggers_refuse_updates(log) -> None:
    path, _ = log
    con = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE entries SET detail='{}' WHERE seq=3")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM entries WHERE seq=3")


def test_edited_entry_is_named(log) -> None:
    path, head = log
    tamper(
        path, """UPDATE entries SET detail='{"camera_id":"cam1","t_s":12.5,"true_alert":false}' WHERE seq=3"""
    )
    r = verify(path, expected_head=head)
    assert not r.ok and r.bad_seq == 3 and "entry 3 (alert" in r.problem and "edited" in r.problem


def test_removed_entry_is_named(log) -> None:
    path, head = log
    tamper(path, "DELETE FROM entries WHERE seq=4")
    r = verify(path, expected_head=head)
    assert not r.ok and r.bad_seq == 4 and "removed" in r.problem


def test_reordered_entries_are_named(log) -> None:
    """Swapping two entries (seq is SQLite's rowid, so a reorder means moving contents between seqs)."""
    path, head = log
    con = sqlite3.connect(path)
    r3, r4 = con.execute("SELECT * FROM entries WHERE seq IN (3,4) ORDER BY seq").fetchall()
    con.close()
    tamper(path, "DELETE FROM entries WHERE seq IN (3,4)")
    con = sqlite3.connect(path)
    con.execute("INSERT INTO entries VALUES (?,?,?,?,?,?)", (3, *r4[1:]))
    con.execute("INSERT INTO entries VALUES (?,?,?,?,?,?)", (4, *r3[1:]))
    con.commit()
    con.close()
    r = verify(path, expected_head=head)
    assert not r.ok and r.bad_seq == 3 and "entry 3 (alert (t_s=40.0" in r.problem


def test_truncated_end_is_caught_by_the_recorded_head(log) -> None:
    path, head = log
    tamper(path, "DELETE FROM entries WHERE seq=6")
    assert verify(path).ok  # a shorter chain is still a chain...
    r = verify(path, expected_head=head)  # ...but not the one the run recorded
    assert not r.ok and "removed from the end" in r.problem


def test_not_an_audit_log(tmp_path) -> None:
    with pytest.raises(AuditError, match="no audit log"):
        verify(tmp_path / "none.sqlite")
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(AuditError):
        verify(bad)


# issue 12: an unsigned folder's log is still checked against what the run recorded
@pytest.fixture(scope="module")
def unsigned_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import json

    import yaml
    from typer.testing import CliRunner

    from conftest import governance_doc, square_site_doc, tiny_scenario_doc
    from twin.cli.main import app

    base = tmp_path_factory.mktemp("unsigned")
    (base / "site.geojson").write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(base / "site.geojson", governance=governance_doc(), replications=1)
    (base / "s.yaml").write_text(yaml.safe_dump(doc))
    r = CliRunner().invoke(app, ["run", str(base / "s.yaml"), "--out", str(base / "runs"), "--no-map"])
    assert r.exit_code == 0, r.output
    (folder,) = (base / "runs").iterdir()
    return folder


def _copy(folder: Path, tmp_path: Path) -> Path:
    import shutil

    shutil.copytree(folder, tmp_path / "copy")
    return tmp_path / "copy"


def test_unsigned_log_vouches_for_the_scenario_copy_whose_governance_sets_retention(
    unsigned_run: Path, tmp_path: Path
) -> None:
    from twin.outputs.audit import verify_folder

    assert verify_folder(unsigned_run).ok
    f = _copy(unsigned_run, tmp_path)
    text = (f / "scenario.yaml").read_text()
    assert "alert_days: 31" in text
    (f / "scenario.yaml").write_text(text.replace("alert_days: 31", "alert_days: 3650"))  # keep for 10 years
    rep = verify_folder(f)
    assert not rep.ok and "scenario.yaml was changed after entry" in rep.problem


def test_run_json_without_its_head_fails_verify(unsigned_run: Path, tmp_path: Path) -> None:
    """Dropping audit_head from run.json would let a truncated chain pass as whole."""
    import json

    from twin.outputs.audit import verify_folder

    f = _copy(unsigned_run, tmp_path)
    meta = json.loads((f / "run.json").read_text())
    del meta["audit_head"]
    (f / "run.json").write_text(json.dumps(meta))
    rep = verify_folder(f)
    assert not rep.ok and "run.json names no audit head" in rep.problem
    (f / "run.json").write_text("{")
    assert "run.json cannot be read" in verify_folder(f).problem


@pytest.mark.parametrize("how", ["emptied", "tables dropped"])
def test_an_emptied_log_is_not_started_afresh(unsigned_run: Path, tmp_path: Path, how: str) -> None:
    """Retention, record and show refuse a log that was emptied or replaced; before, retention quietly
    started a new chain whose one entry then verified as whole. Nothing is deleted."""
    import sqlite3

    from typer.testing import CliRunner

    from twin.cli.main import app

    f = _copy(unsigned_run, tmp_path)
    if how == "emptied":
        (f / AUDIT_FILE).write_bytes(b"")
    else:
        con = sqlite3.connect(f / AUDIT_FILE)
        con.executescript(
            "DROP TRIGGER entries_no_delete; DROP TRIGGER entries_no_update; DROP TABLE entries;"
        )
        con.close()
    before = sorted(p.name for p in f.iterdir())
    size = (f / AUDIT_FILE).stat().st_size
    for args in (
        ["retention", "apply", str(f), "--as-of", "2099-01-01T00:00:00", "--force"],
        ["audit", "show", str(f)],
        ["record", str(f)],
    ):
        r = CliRunner().invoke(app, args)
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert r.exit_code == 2 and len(lines) == 1, (args, r.output)
        assert any(
            m in lines[0]
            for m in ("the log was emptied or replaced", "was removed or emptied", "not a readable audit log")
        ), lines
    assert sorted(p.name for p in f.iterdir()) == before and (f / AUDIT_FILE).stat().st_size == size


def test_a_later_created_at_does_not_postpone_retention(unsigned_run: Path, tmp_path: Path) -> None:
    """run.json is not in the chain (it records the head); the log's first entry is, and counts."""
    import datetime as dt
    import json

    from twin.outputs.retention import apply_retention

    f = _copy(unsigned_run, tmp_path)
    meta = json.loads((f / "run.json").read_text())
    created = dt.datetime.fromisoformat(meta["created_at"])
    meta["created_at"] = (created + dt.timedelta(days=3650)).isoformat()
    (f / "run.json").write_text(json.dumps(meta))
    rep = apply_retention(f, as_of=created + dt.timedelta(days=32), force=True)
    assert rep.due_at <= created + dt.timedelta(days=31, seconds=1), rep
