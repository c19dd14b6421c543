"""The audit log's hash chain detects any edited, removed or reordered entry and names it."""

from __future__ import annotations

import sqlite3

import pytest

from twin.errors import AuditError
from twin.outputs.audit import AuditLog, verify


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
