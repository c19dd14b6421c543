"""A tamper-evident, append-only audit log in SQLite (one per run folder).

Each entry carries the SHA-256 of the previous entry, and its own hash covers its sequence
number, time, kind, details and that previous hash:

    hash_k = sha256(prev_hash || canonical_json([seq_k, t_utc_k, kind_k, detail_k]))

so editing, removing, inserting or reordering any entry breaks the chain at that entry, and
:func:`verify` names it. SQLite triggers refuse UPDATE and DELETE as a first line of defence;
the chain is what proves it. Removing entries from the *end* leaves a valid shorter chain, so
the run records its head (sequence and hash at the end of the run) in ``run.json`` and
:func:`verify` checks the chain still holds it; later commands append after it. Both live in the
folder, so neither stops someone who rewrites it whole: the anchor is a signature with a key held
outside the folder (:mod:`twin.outputs.seal`), which :func:`verify_folder` checks with the public key.

The log is the only file in a run folder that grows after the run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.errors import AuditError
from twin.files import MAX_JSON_BYTES, dumps_json, loads_json, read_capped
from twin.outputs.seal import AUDIT_FILE as _SEALED_LOG_FILE
from twin.outputs.seal import check_seals

__all__ = ["AUDIT_FILE", "GENESIS", "AuditEntry", "AuditLog", "VerifyReport", "verify", "verify_folder"]

#: File name of the audit log inside a run folder (defined with the seals, which add to the same file).
AUDIT_FILE = _SEALED_LOG_FILE
#: The previous hash of the first entry.
GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    t_utc TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def _canonical(detail: Any) -> str:
    return dumps_json(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(prev_hash: str, seq: int, t_utc: str, kind: str, detail_json: str) -> str:
    """The chain hash of one entry (hex).

    >>> len(entry_hash(GENESIS, 1, "2026-01-01T00:00:00+00:00", "run_start", "{}"))
    64
    """
    payload = json.dumps([seq, t_utc, kind, detail_json], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    """One audit entry as stored."""

    seq: int
    t_utc: str
    kind: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class AuditLog:
    """Append entries to the audit log at ``path`` (created if missing, unless ``existing``).

    Args:
        path: the SQLite file (``<run folder>/audit.sqlite``).
        clock: returns the entry time; default: now, UTC. Injected for tests.
        existing: the log of a run already written (record, retention, show, verify): it must exist
            and hold its entries table. Without this an emptied or replaced log would be quietly
            started afresh, and what a later record or deletion appended would look like a whole
            chain.

    Raises:
        AuditError: the file is not an audit log, or cannot be opened; with ``existing``: it is
            missing, empty, or has no entries table.
    """

    def __init__(self, path: Path | str, clock: Any = None, *, existing: bool = False) -> None:
        self.path = Path(path)
        self._clock = clock or (lambda: dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"))
        if existing and (not self.path.is_file() or self.path.stat().st_size == 0):
            raise AuditError(
                f"{self.path} is missing or empty: the run's audit log was removed or emptied, so its "
                "trail is broken; restore the run folder from its copy"
            )
        try:
            if existing:
                self._con = sqlite3.connect(self.path.resolve().as_uri() + "?mode=rw", uri=True)
                found = self._con.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'"
                ).fetchone()
                if found is None:
                    self._con.close()
                    raise AuditError(
                        f"{self.path} holds no audit entries: the log was emptied or replaced, so the "
                        "run's trail is broken; restore the run folder from its copy"
                    )
            else:
                self._con = sqlite3.connect(self.path)
            self._con.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise AuditError(
                f"{self.path} is not an audit log ({exc}); it may be corrupt or another file"
            ) from exc

    def close(self) -> None:
        """Close the database."""
        self._con.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def head(self) -> tuple[int, str]:
        """(seq, hash) of the last entry; (0, GENESIS) for an empty log."""
        row = self._con.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def append(self, kind: str, **detail: Any) -> AuditEntry:
        """Append one entry and return it.

        Args:
            kind: what happened, e.g. ``run_start``, ``alert``, ``deletion_batch``.
            **detail: JSON-serialisable facts (no image or embedding, ever).
        """
        seq, prev = self.head()
        seq += 1
        t = str(self._clock())
        body = _canonical(detail)
        h = entry_hash(prev, seq, t, kind, body)
        with self._con:
            self._con.execute("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)", (seq, t, kind, body, prev, h))
        return AuditEntry(seq=seq, t_utc=t, kind=kind, detail=json.loads(body), prev_hash=prev, hash=h)

    def append_many(self, items: list[tuple[str, dict[str, Any]]]) -> tuple[int, str]:
        """Append several entries in one transaction; returns the new head."""
        seq, prev = self.head()
        rows = []
        for kind, detail in items:
            seq += 1
            t = str(self._clock())
            body = _canonical(detail)
            h = entry_hash(prev, seq, t, kind, body)
            rows.append((seq, t, kind, body, prev, h))
            prev = h
        with self._con:
            self._con.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?)", rows)
        return seq, prev

    def entries(self) -> Iterator[AuditEntry]:
        """Entries in storage order (by rowid, which is seq unless tampered with)."""
        for seq, t, kind, body, prev, h in self._con.execute(
            "SELECT seq, t_utc, kind, detail, prev_hash, hash FROM entries ORDER BY rowid"
        ):
            try:
                detail = json.loads(body)
            except json.JSONDecodeError:
                detail = {"_unparseable": body}
            yield AuditEntry(
                seq=int(seq), t_utc=str(t), kind=str(kind), detail=detail, prev_hash=str(prev), hash=str(h)
            )


@dataclass(frozen=True, kw_only=True)
class VerifyReport:
    """Outcome of :func:`verify`.

    Attributes:
        ok: the chain is intact (and holds the recorded head, if one was given).
        entries: number of entries read.
        head: (seq, hash) of the last entry.
        problem: what is wrong, naming the entry; empty when ok.
        bad_seq: sequence number of the first bad entry (None when ok).
        signature: what signs the log: "signed by <key fingerprint> at entry N (k seals)", or
            "unsigned" (:mod:`twin.outputs.seal`).
    """

    ok: bool
    entries: int
    head: tuple[int, str]
    problem: str = ""
    bad_seq: int | None = None
    signature: str = ""


def _describe(e: dict[str, Any]) -> str:
    bits = [
        f"{k}={e['detail'][k]}" for k in ("t_s", "camera_id", "true_alert", "replication") if k in e["detail"]
    ]
    return f"{e['kind']}" + (f" ({', '.join(bits)})" if bits else "")


def verify(path: Path | str, *, expected_head: tuple[int, str] | None = None) -> VerifyReport:
    """Check the hash chain of an audit log.

    Args:
        path: the SQLite audit log.
        expected_head: (seq, hash) the run recorded at its end; the chain must still contain it.

    Returns:
        :class:`VerifyReport` naming the first edited, removed, inserted or reordered entry.

    Raises:
        AuditError: the file is missing or not an audit log.
    """
    path = Path(path)
    if not path.is_file():
        raise AuditError(f"no audit log at {path}; give a run folder written by `twin run`")
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = con.execute(
            "SELECT seq, t_utc, kind, detail, prev_hash, hash FROM entries ORDER BY rowid"
        ).fetchall()
        con.close()
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{path} is not a readable audit log ({exc})") from exc
    prev = GENESIS
    by_seq: dict[int, str] = {}
    for i, (seq, t, kind, body, prev_hash, h) in enumerate(rows, start=1):
        try:
            detail = json.loads(body)
        except json.JSONDecodeError:
            detail = {}
        e = {"kind": kind, "detail": detail}
        if seq != i:
            what = "removed" if seq > i else "reordered or duplicated"
            return VerifyReport(
                ok=False,
                entries=len(rows),
                head=(i - 1, prev),
                problem=f"entry {i} is {what}: found entry {seq} ({_describe(e)}) in position {i}",
                bad_seq=i,
            )
        if prev_hash != prev:
            return VerifyReport(
                ok=False,
                entries=len(rows),
                head=(i - 1, prev),
                problem=f"entry {seq} ({_describe(e)}) does not follow entry {seq - 1}: an entry before "
                "it was "
                "edited, removed or reordered",
                bad_seq=seq,
            )
        if entry_hash(prev_hash, seq, t, kind, body) != h:
            return VerifyReport(
                ok=False,
                entries=len(rows),
                head=(i - 1, prev),
                problem=f"entry {seq} ({_describe(e)}) was edited: its content no longer matches its hash",
                bad_seq=seq,
            )
        by_seq[seq] = h
        prev = h
    head = (len(rows), prev)
    if expected_head is not None:
        seq, h = expected_head
        if by_seq.get(seq) != h:
            got = "is missing" if seq not in by_seq else "differs"
            return VerifyReport(
                ok=False,
                entries=len(rows),
                head=head,
                problem=f"entry {seq}, the run's recorded end of log, {got}: entries were removed from "
                "the end",
                bad_seq=seq,
            )
    return VerifyReport(ok=True, entries=len(rows), head=head)


def verify_folder(folder: Path | str, *, public_key: Any | None = None) -> VerifyReport:
    """Verify a run folder: the audit chain (holding the head ``run.json`` recorded), the files it vouches
    for, and its signed heads.

    Entries that name file hashes — ``run_end`` (``summary_sha256`` of ``summary.json``) and
    ``record_written`` (``files``: name -> sha256) — are checked against the files on disk, so an
    edited summary or record is caught even though the chain itself is intact. The seals
    (:func:`twin.outputs.seal.check_seals`) catch a rewritten, re-hashed or truncated log and any
    changed file; with ``public_key`` (from outside the folder) an unsigned log fails too.

    Args:
        folder: the run folder.
        public_key: the Ed25519 public key the folder must be signed by
            (:func:`twin.outputs.seal.load_public_key`), or None.

    Raises:
        AuditError: no audit log in the folder.
    """
    report = _verify_chain_and_files(Path(folder))
    if not report.ok:
        return report
    with AuditLog(Path(folder) / AUDIT_FILE, existing=True) as log:
        chain = {e.seq: e.hash for e in log.entries()}
    sc = check_seals(Path(folder), chain, public_key=public_key)
    signature = (
        f"signed by {sc.signed_by} at entry {sc.head[0]} ({sc.seals} seal{'s' if sc.seals != 1 else ''})"
        if sc.ok and sc.seals
        else "unsigned"
    )
    if not sc.ok:
        return VerifyReport(
            ok=False, entries=report.entries, head=report.head, problem=sc.problem, signature=signature
        )
    return VerifyReport(ok=True, entries=report.entries, head=report.head, signature=signature)


def _verify_chain_and_files(folder: Path) -> VerifyReport:
    """The chain (with the head run.json recorded) and the files its entries vouch for."""
    head = None
    meta = folder / "run.json"
    unreadable = ""
    if meta.is_file() or meta.is_symlink():
        try:
            doc = loads_json(
                read_capped(meta, what="run.json", max_bytes=MAX_JSON_BYTES, error=AuditError),
                name=str(meta),
                error=AuditError,
            )
            h = doc.get("audit_head") if isinstance(doc, dict) else None
            head = (int(h["seq"]), str(h["sha256"])) if h else None
            if head is None:
                unreadable = "names no audit head"
        except (AuditError, KeyError, TypeError, ValueError) as exc:
            unreadable = f"cannot be read ({str(exc)[:120]})"
    report = verify(folder / AUDIT_FILE, expected_head=head)
    if not report.ok:
        return report
    if unreadable:  # without the head it recorded, a truncated chain would pass as whole
        return VerifyReport(
            ok=False,
            entries=report.entries,
            head=report.head,
            problem=f"run.json {unreadable}: the head the run recorded is gone, so a truncated log "
            "cannot be told from a whole one; the folder was changed",
        )
    with AuditLog(folder / AUDIT_FILE, existing=True) as log:
        entries = list(log.entries())
    for e in entries:
        claims: dict[str, str] = {}
        if "summary_sha256" in e.detail:
            claims["summary.json"] = str(e.detail["summary_sha256"])
        if isinstance(e.detail.get("files"), dict):
            claims.update({str(k): str(v) for k, v in e.detail["files"].items()})
        for name, digest in claims.items():
            path = folder / name
            if not path.is_file():
                if e.kind == "record_written":
                    continue  # a record may be removed by retention; the chain still shows it existed
                return VerifyReport(
                    ok=False,
                    entries=report.entries,
                    head=report.head,
                    problem=f"{name}, vouched for by entry {e.seq} ({e.kind}), is missing",
                    bad_seq=e.seq,
                )
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                return VerifyReport(
                    ok=False,
                    entries=report.entries,
                    head=report.head,
                    problem=f"{name} was changed after entry {e.seq} ({e.kind}) recorded its hash",
                    bad_seq=e.seq,
                )
    return report
