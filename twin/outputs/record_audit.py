"""What a run folder's audit log and files say about retention, for the deployment record.

The record's retention and audit sections are measured, not asserted: the probes the log says were
deleted, the watchlist's fate as logged (destroyed or kept), the log's verification and signature,
and the images and arrays actually found in the folder by their content (:func:`stored_images`), the
alert crops the log lists apart from anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twin.outputs.audit import AUDIT_FILE, AuditLog, verify_folder
from twin.outputs.seal import SigningKey
from twin.scenario.governance import Governance

__all__ = ["AuditFacts", "audit_facts", "retention_and_audit", "stored_images"]


@dataclass(frozen=True, kw_only=True)
class AuditFacts:
    """What the audit log says about the run: its verification, deletions and the watchlist's fate."""

    check: Any
    probes_deleted: int
    watchlist_destroyed: bool
    watchlist_kept: bool
    alert_files: set[str]


def audit_facts(folder: Path) -> AuditFacts:
    """The audit log's facts about a run folder (its verification, deletions, the watchlist's fate, the
    alert files it lists); empty facts without a log."""
    audit_path = folder / AUDIT_FILE
    if not audit_path.is_file():
        return AuditFacts(
            check=None, probes_deleted=0, watchlist_destroyed=False, watchlist_kept=False, alert_files=set()
        )
    check = verify_folder(folder)
    deleted = destroyed = 0
    kept = False
    alert_files: set[str] = set()
    with AuditLog(audit_path, existing=True) as log:
        for e in log.entries():
            if e.kind == "deletion_batch":
                deleted += int(e.detail.get("probes_deleted", 0))
            elif e.kind == "watchlist_destroyed":
                destroyed += 1
            elif e.kind == "watchlist_kept":
                kept = True
            elif e.kind == "alert_data_written":
                alert_files.update(str(f) for f in e.detail.get("files", []))
    return AuditFacts(
        check=check,
        probes_deleted=deleted,
        watchlist_destroyed=destroyed > 0,
        watchlist_kept=kept,
        alert_files=alert_files,
    )


def retention_and_audit(
    gov: Governance, audit: AuditFacts, folder: Path, signer: SigningKey | None
) -> dict[str, Any]:
    """The record's ``retention`` and ``audit`` sections, measured (module docstring)."""
    check = audit.check
    alert_images, other_images = stored_images(folder, audit.alert_files)
    return {
        "retention": {
            "policy": gov.retention.model_dump(),
            "probes_deleted": audit.probes_deleted,
            "watchlist_destroyed": audit.watchlist_destroyed,
            "watchlist_kept": audit.watchlist_kept,
            "non_match_images_stored": other_images,
            "alert_images_stored": alert_images,
            "measured": "images and arrays found in the run folder by their content, when the record was "
            "written; alert crops are those the audit log lists",
        },
        "audit": {
            "ok": check.ok if check else None,
            "entries": check.entries if check else 0,
            "head_seq": check.head[0] if check else None,
            "head_sha256": check.head[1] if check else None,
            "problem": check.problem if check else "no audit log",
            "signature": check.signature if check else "",
            "signed_by": (
                {"fingerprint": signer.fingerprint, "public_key_ed25519": signer.public_key_b64}
                if signer is not None
                else None
            ),
        },
    }


#: File signatures of images and arrays (PNG, JPEG, GIF, BMP, WebP/RIFF, TIFF, NumPy .npy, zip/.npz).
_IMAGE_MAGIC = (
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"BM",
    b"RIFF",
    b"II*\x00",
    b"MM\x00*",
    b"\x93NUMPY",
    b"PK\x03\x04",
)


def stored_images(folder: Path, alert_files: set[str]) -> tuple[int, int]:
    """(alert crops, other images or arrays) stored in the run folder, found by content, not name."""
    alerts = other = 0
    for p in folder.rglob("*"):
        if not p.is_file():
            continue
        with open(p, "rb") as fh:
            head = fh.read(8)
        if not head.startswith(_IMAGE_MAGIC):
            continue
        if p.relative_to(folder).as_posix() in alert_files:
            alerts += 1
        else:
            other += 1
    return alerts, other
