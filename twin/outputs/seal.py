"""Signed audit heads: an Ed25519 key held outside the run folder anchors what the folder holds.

A hash chain stored beside what it protects proves order, not authorship: whoever can edit the
folder can drop the triggers, delete the last entries (a shorter chain is still a valid chain),
edit the record and re-hash everything. So at the end of every command that writes into a run
folder (``twin run``, ``twin record``, ``twin retention apply``) the twin *seals* it: it signs,
with the force's Ed25519 private key (``twin audit keygen``; RFC 8032, via the ``cryptography``
package), the canonical JSON of

    {"kind": "lfr-twin audit seal", "head_seq": n, "head_hash": h, "files": {path: sha256, ...}}

(the audit chain's head and the SHA-256 of every other file in the folder) and appends the seal
to a ``seals`` table in ``audit.sqlite`` (append-only by trigger, like the entries). The record
names the head it was built at and the public key that signs the folder.

:func:`check_seals` with the public key (``twin audit verify --public-key``, the key taken from
outside the folder) fails on a rewrite (a seal that does not verify: re-hashing the chain or editing
a file changes what was signed), a truncation (the last seal names a head the chain no longer
has), entries appended without the key (after the last seal), a changed, missing or added file, and
a log with no seal at all. What no signature can catch is a folder rolled back *whole* to an earlier
sealed state (its files and log as they were after an earlier command); the record's printed head
is the anchor for that.

The private key must not lie inside the folder it seals (anyone who can edit the folder could then
re-sign it); :func:`seal_folder` refuses it.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.errors import AuditError

__all__ = [
    "KEY_ENV",
    "SEAL_KIND",
    "Seal",
    "SealCheck",
    "SigningKey",
    "check_seals",
    "fingerprint",
    "folder_manifest",
    "generate_key",
    "has_seals",
    "load_private_key",
    "load_public_key",
    "read_seals",
    "require_key_if_sealed",
    "seal_folder",
]

#: File name of the audit log inside a run folder (:mod:`twin.outputs.audit` writes its entries; this
#: module only adds seals to it, so that it need not import that one).
AUDIT_FILE = "audit.sqlite"
#: Environment variable naming the signing key's file when ``--audit-key`` is not given.
KEY_ENV = "TWIN_AUDIT_KEY"
#: The ``kind`` of every signed payload (so a signature over anything else never passes as a seal).
SEAL_KIND = "lfr-twin audit seal"
#: Files of a run folder a seal does not cover: the log itself (it holds the seals) and SQLite's journals.
_UNSEALED = {"audit.sqlite", "audit.sqlite-journal", "audit.sqlite-wal", "audit.sqlite-shm"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seals (
    n INTEGER PRIMARY KEY,
    t_utc TEXT NOT NULL,
    head_seq INTEGER NOT NULL,
    head_hash TEXT NOT NULL,
    files TEXT NOT NULL,
    public_key TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS seals_no_update BEFORE UPDATE ON seals
BEGIN SELECT RAISE(ABORT, 'the audit seals are append-only'); END;
CREATE TRIGGER IF NOT EXISTS seals_no_delete BEFORE DELETE ON seals
BEGIN SELECT RAISE(ABORT, 'the audit seals are append-only'); END;
"""


def _raw_public(pub: Any) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return bytes(pub.public_bytes(Encoding.Raw, PublicFormat.Raw))


def fingerprint(pub: Any) -> str:
    """``sha256:<16 hex>`` of an Ed25519 public key's raw 32 bytes (what messages and the record show)."""
    return "sha256:" + hashlib.sha256(_raw_public(pub)).hexdigest()[:16]


def generate_key(path: Path | str) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: the private key at ``path`` (PKCS#8 PEM, mode 0600) and the public key
    beside it with the suffix ``.pub`` (SubjectPublicKeyInfo PEM).

    Returns:
        (private key path, public key path).

    Raises:
        AuditError: either file exists (a key is never overwritten) or cannot be written.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    path = Path(path).expanduser()
    pub_path = path.with_suffix(".pub")
    for p in (path, pub_path):
        if p.exists() or p.is_symlink():
            raise AuditError(f"{p} exists; a key is never overwritten: choose another file name")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    pub = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        pub_path.write_bytes(pub)
    except OSError as exc:
        raise AuditError(f"cannot write the key to {path} ({exc.strerror}); choose another folder") from exc
    return path, pub_path


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and the file it was read from (kept outside every run folder)."""

    key: Any
    path: Path

    @classmethod
    def resolve(cls, given: Path | str | None) -> SigningKey | None:
        """The key at ``given`` (``--audit-key``), else at ``$TWIN_AUDIT_KEY``, else None (unsigned).

        Raises:
            AuditError: the file is missing or not an Ed25519 private key.
        """
        if given is None:
            env = os.environ.get(KEY_ENV, "").strip()
            given = env or None
        if given is None:
            return None
        path = Path(given).expanduser()
        return cls(key=load_private_key(path), path=path)

    @property
    def fingerprint(self) -> str:
        """The public key's fingerprint (:func:`fingerprint`)."""
        return fingerprint(self.key.public_key())

    @property
    def public_key_b64(self) -> str:
        """Base64 of the raw 32-byte public key (what the record names)."""
        return base64.b64encode(_raw_public(self.key.public_key())).decode()


def require_key_if_sealed(folder: Path, signer: SigningKey | None, what: str) -> None:
    """Refuse to add to a signed folder without the key: the new entries would break its seal.

    Raises:
        AuditError: the folder's log carries seals and ``signer`` is None.
    """
    if signer is None and has_seals(folder / AUDIT_FILE):
        raise AuditError(
            f"{folder}'s audit log is signed; {what} adds to it, so give the signing key with --audit-key "
            f"(or ${KEY_ENV}), else the new entries would leave it unsigned"
        )


def _read_key_file(path: Path, what: str) -> bytes:
    from twin.files import read_capped

    return read_capped(path, what=what, max_bytes=64 * 1024, error=AuditError)


def load_private_key(path: Path | str) -> Any:
    """An Ed25519 private key from a PEM file written by :func:`generate_key`.

    Raises:
        AuditError: missing, unreadable, not a PEM private key, or not Ed25519.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    path = Path(path).expanduser()
    data = _read_key_file(path, "audit signing key")
    try:
        key = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise AuditError(
            f"audit signing key {path} is not an unencrypted PEM private key ({exc}); make one with "
            "`twin audit keygen`"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditError(f"audit signing key {path} is not an Ed25519 key; make one with `twin audit keygen`")
    return key


def load_public_key(path: Path | str) -> Any:
    """An Ed25519 public key from a PEM file (the ``.pub`` of :func:`generate_key`).

    Raises:
        AuditError: missing, unreadable, not a PEM public key, or not Ed25519.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    path = Path(path).expanduser()
    data = _read_key_file(path, "public key")
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise AuditError(
            f"public key {path} is not a PEM public key ({exc}); give the .pub file `twin audit keygen` wrote"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        raise AuditError(
            f"public key {path} is not an Ed25519 key; give the .pub file `twin audit keygen` wrote"
        )
    return key


def folder_manifest(folder: Path) -> dict[str, str]:
    """``{relative posix path: sha256}`` of every regular file under ``folder`` but the audit log.

    Links are listed by their target's content; the twin writes none.
    """
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel in _UNSEALED or not p.is_file():
            continue
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _payload(head_seq: int, head_hash: str, files: dict[str, str]) -> bytes:
    doc = {"kind": SEAL_KIND, "head_seq": head_seq, "head_hash": head_hash, "files": files}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@dataclass(frozen=True, kw_only=True)
class Seal:
    """One signed head as stored.

    Attributes:
        n: the seal's number (1, 2, ... in order).
        t_utc: when it was made.
        head_seq, head_hash: the audit chain's head it signs.
        files: the folder's files and their SHA-256 at that moment.
        public_key: base64 of the signer's raw Ed25519 public key (32 bytes).
        signature: base64 of the Ed25519 signature over :func:`_payload`.
    """

    n: int
    t_utc: str
    head_seq: int
    head_hash: str
    files: dict[str, str]
    public_key: str
    signature: str


def _head(log_path: Path) -> tuple[int, str]:
    """(seq, hash) of the log's last entry; (0, 64 zeros) for an empty log."""
    con = _connect(log_path)
    try:
        row = con.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{log_path} is not an audit log ({exc})") from exc
    finally:
        con.close()
    return (int(row[0]), str(row[1])) if row else (0, "0" * 64)


def _connect(path: Path) -> sqlite3.Connection:
    try:
        con = sqlite3.connect(path)
        con.executescript(_SCHEMA)
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{path} is not an audit log ({exc}); it may be corrupt or another file") from exc
    return con


def read_seals(log_path: Path) -> list[Seal]:
    """The seals of an audit log, in order (none for a log that was never signed).

    Raises:
        AuditError: the file is not a readable audit log.
    """
    try:
        con = sqlite3.connect(f"file:{log_path}?mode=ro", uri=True)
        try:
            has = con.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='seals'").fetchone()
            rows = con.execute("SELECT * FROM seals ORDER BY n").fetchall() if has else []
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{log_path} is not a readable audit log ({exc})") from exc
    out = []
    for n, t, seq, h, files, pub, sig in rows:
        try:
            manifest = json.loads(files)
        except json.JSONDecodeError:
            manifest = {}
        out.append(
            Seal(
                n=int(n),
                t_utc=str(t),
                head_seq=int(seq),
                head_hash=str(h),
                files=manifest if isinstance(manifest, dict) else {},
                public_key=str(pub),
                signature=str(sig),
            )
        )
    return out


def has_seals(log_path: Path) -> bool:
    """True when the audit log carries at least one seal (later commands must then sign too)."""
    return log_path.is_file() and bool(read_seals(log_path))


def seal_folder(folder: Path | str, key: Any, *, key_path: Path | None = None) -> Seal:
    """Sign the folder's audit head and files with ``key`` and append the seal to its audit log.

    Args:
        folder: a run folder (or one being written).
        key: an Ed25519 private key (:func:`load_private_key`).
        key_path: where the key was read from, to refuse a key kept inside the folder.

    Raises:
        AuditError: no audit log, or the key lies inside the folder.
    """
    folder = Path(folder)
    if key_path is not None and key_path.resolve().is_relative_to(folder.resolve()):
        raise AuditError(
            f"the audit signing key {key_path} lies inside the run folder it signs; keep it outside (whoever "
            "can edit the folder could otherwise re-sign it)"
        )
    log_path = folder / AUDIT_FILE
    if not log_path.is_file():
        raise AuditError(f"no audit log in {folder} to sign")
    head_seq, head_hash = _head(log_path)
    files = folder_manifest(folder)
    sig = key.sign(_payload(head_seq, head_hash, files))
    pub = base64.b64encode(_raw_public(key.public_key())).decode()
    t = dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")
    con = _connect(log_path)
    try:
        with con:
            n = int(con.execute("SELECT COALESCE(MAX(n), 0) FROM seals").fetchone()[0]) + 1
            con.execute(
                "INSERT INTO seals VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    n,
                    t,
                    head_seq,
                    head_hash,
                    json.dumps(files, sort_keys=True),
                    pub,
                    base64.b64encode(sig).decode(),
                ),
            )
    finally:
        con.close()
    return Seal(
        n=n,
        t_utc=t,
        head_seq=head_seq,
        head_hash=head_hash,
        files=files,
        public_key=pub,
        signature=base64.b64encode(sig).decode(),
    )


@dataclass(frozen=True, kw_only=True)
class SealCheck:
    """Outcome of :func:`check_seals`.

    Attributes:
        ok: every check passed.
        problem: the first failure, naming the seal, entry or file; empty when ok.
        seals: seals found.
        signed_by: fingerprint of the key that signed the last seal ("" without one).
        head: (seq, hash) the last seal signs.
    """

    ok: bool
    problem: str = ""
    seals: int = 0
    signed_by: str = ""
    head: tuple[int, str] = (0, "")


def _verify_one(seal: Seal, pub: Any) -> bool:
    from cryptography.exceptions import InvalidSignature

    try:
        pub.verify(base64.b64decode(seal.signature), _payload(seal.head_seq, seal.head_hash, seal.files))
    except (InvalidSignature, ValueError):
        return False
    return True


def check_seals(folder: Path, chain: dict[int, str], *, public_key: Any | None) -> SealCheck:
    """Check a folder's seals against its (already verified) audit chain and its files.

    Args:
        folder: the run folder.
        chain: ``{seq: hash}`` of the verified chain (its entries in order).
        public_key: the Ed25519 public key taken from outside the folder; None checks the seals against
            the key they name (consistency only: a forger can sign with a key of their own).

    Returns:
        :class:`SealCheck`.
    """
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    seals = read_seals(folder / AUDIT_FILE)
    if not seals:
        return SealCheck(
            ok=public_key is None,
            problem="the audit log carries no signed head: it cannot be told apart from a rewritten one "
            "(sign runs with --audit-key)",
        )
    given = fingerprint(public_key) if public_key is not None else None
    for s in seals:
        try:
            pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(s.public_key))
        except ValueError:
            return SealCheck(ok=False, problem=f"seal {s.n} names no valid public key", seals=len(seals))
        if given is not None and fingerprint(pub) != given:
            return SealCheck(
                ok=False,
                problem=f"seal {s.n} is signed by key {fingerprint(pub)}, not by the key given ({given})",
                seals=len(seals),
            )
        if not _verify_one(s, public_key or pub):
            return SealCheck(
                ok=False,
                problem=f"seal {s.n} (head {s.head_seq}) does not verify: the log or the files it signed "
                "were rewritten",
                seals=len(seals),
            )
        if chain.get(s.head_seq) != s.head_hash:
            what = "is missing: the log was truncated" if s.head_seq not in chain else "differs: rewritten"
            return SealCheck(
                ok=False, problem=f"entry {s.head_seq}, signed by seal {s.n}, {what}", seals=len(seals)
            )
    last = seals[-1]
    end = max(chain) if chain else 0
    if end != last.head_seq:
        return SealCheck(
            ok=False,
            problem=f"entries {last.head_seq + 1} to {end} come after the last signed head "
            f"({last.head_seq}): appended without the signing key",
            seals=len(seals),
        )
    now = folder_manifest(folder)
    for name in sorted(set(now) | set(last.files)):
        if name not in now:
            problem = f"{name}, signed by seal {last.n}, is missing"
        elif name not in last.files:
            problem = f"{name} was added after the last seal ({last.n})"
        elif now[name] != last.files[name]:
            problem = f"{name} was changed after the last seal ({last.n}) signed it"
        else:
            continue
        return SealCheck(ok=False, problem=problem, seals=len(seals))
    pub = Ed25519PublicKey.from_public_bytes(base64.b64decode(last.public_key))
    return SealCheck(
        ok=True, seals=len(seals), signed_by=fingerprint(pub), head=(last.head_seq, last.head_hash)
    )
