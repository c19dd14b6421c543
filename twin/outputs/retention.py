"""Retention of alert data in a run folder (``twin retention apply RUN_FOLDER [--as-of ISO8601]``).

A real-engine run keeps each alert's review crop and candidate list under ``alerts/``
(:mod:`twin.outputs.runstore`); non-matched faces are never written, so alerts are the only personal data
a run folder can hold. They are kept for the governance block's ``retention.alert_days``; a run
without a governance block uses 31 days (:class:`twin.scenario.governance.RetentionPolicy`'s default, the
Met's LFR policy for alert data) and the report says so.

Age is measured from the run's ``created_at`` (``run.json``): that is when the crops were made.
The governance block's start and end are the *planned* deployment's, which a planning run may
precede by months, so they would delete data that has not been kept at all yet (or keep data
long after). ``--as-of`` sets "now" (default: the current UTC time), for audits and tests.

Every deletion batch is appended to the audit log (``retention_deletion``: what, how many files,
the policy and the dates); nothing else in the folder changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from twin.errors import RunFolderError, ScenarioError
from twin.files import MAX_JSON_BYTES, loads_json, read_capped
from twin.outputs.audit import AUDIT_FILE, AuditLog
from twin.outputs.seal import SigningKey, require_key_if_sealed, seal_folder

__all__ = ["DEFAULT_ALERT_DAYS", "RetentionReport", "apply_retention", "parse_as_of"]

#: Days alert data are kept when the scenario has no governance block (RetentionPolicy's default).
DEFAULT_ALERT_DAYS: float = 31.0
_ALERTS = "alerts"


@dataclass(frozen=True, kw_only=True)
class RetentionReport:
    """What :func:`apply_retention` found and did.

    Attributes:
        folder: the run folder.
        alert_days: days alert data are kept.
        policy_source: where ``alert_days`` came from (governance block, or the default).
        created_at: the run's creation time (UTC), from which age is measured.
        as_of: the time the policy was applied at (UTC).
        due_at: when the alert data fall due for deletion (UTC).
        alerts: alerts whose data were found (PNG crops).
        files_deleted: files deleted now (crops and sidecars; 0 when nothing was due).
        audit_seq: sequence number of the audit entry appended, or None (nothing deleted).
    """

    folder: Path
    alert_days: float
    policy_source: str
    created_at: dt.datetime
    as_of: dt.datetime
    due_at: dt.datetime
    alerts: int
    files_deleted: int
    audit_seq: int | None

    @property
    def due(self) -> bool:
        """True when the alert data were due at ``as_of``."""
        return self.as_of >= self.due_at


def parse_as_of(text: str | None) -> dt.datetime:
    """An ISO 8601 time as an aware UTC datetime (naive times are taken as UTC); None: now.

    Raises:
        ScenarioError: not an ISO 8601 time.

    >>> parse_as_of("2026-01-31T12:00:00").isoformat()
    '2026-01-31T12:00:00+00:00'
    """
    if text is None:
        return dt.datetime.now(dt.timezone.utc)
    try:
        t = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScenarioError(
            f"--as-of {text!r} is not an ISO 8601 time; e.g. 2026-02-01T09:00:00+00:00"
        ) from exc
    return t.replace(tzinfo=dt.timezone.utc) if t.tzinfo is None else t.astimezone(dt.timezone.utc)


def _policy(folder: Path) -> tuple[float, str]:
    from twin.scenario.load import load_scenario

    sc = load_scenario(folder / "scenario.yaml")
    if sc.governance is None:
        return (
            DEFAULT_ALERT_DAYS,
            f"default {DEFAULT_ALERT_DAYS:g} days: the scenario has no governance block",
        )
    return float(sc.governance.retention.alert_days), "governance.retention.alert_days"


#: How far ahead of the clock ``as_of`` may lie without ``force`` (clock skew between machines), s.
AS_OF_TOLERANCE_S = 300.0


def _created_at(folder: Path) -> dt.datetime:
    """The run's ``created_at`` (UTC) from its run.json, or the audit log's first entry if earlier.

    Raises:
        RunFolderError: not a run folder, or run.json damaged.
    """
    for name in ("run.json", "scenario.yaml", AUDIT_FILE):
        if not (folder / name).is_file():
            raise RunFolderError(
                f"{folder} is not a run folder (no {name}); give a folder written by `twin run`"
            )
    meta = loads_json(
        read_capped(folder / "run.json", what="run.json", max_bytes=MAX_JSON_BYTES, error=RunFolderError),
        name=str(folder / "run.json"),
        error=RunFolderError,
    )
    if not isinstance(meta, dict):
        raise RunFolderError(f"{folder / 'run.json'} is not a JSON object; the run folder is damaged")
    try:
        created = parse_as_of(str(meta["created_at"]))
    except (KeyError, ScenarioError) as exc:
        raise RunFolderError(
            f"{folder / 'run.json'} has no valid created_at; the run folder is damaged"
        ) from exc
    # the log's first entry is hashed into the chain; run.json is not (it records the head): a
    # created_at moved later cannot postpone a deletion
    with AuditLog(folder / AUDIT_FILE, existing=True) as log:
        first = next(iter(log.entries()), None)
    if first is not None:
        try:
            created = min(created, parse_as_of(first.t_utc).replace(microsecond=0))
        except ScenarioError:
            pass
    return created


def _as_of(as_of: dt.datetime | str | None, force: bool) -> dt.datetime:
    """The time to apply the policy at (UTC); one in the future only with ``force``.

    Raises:
        ScenarioError: malformed, or in the future without ``force``.
    """
    now = as_of if isinstance(as_of, dt.datetime) else parse_as_of(as_of)
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    clock = dt.datetime.now(dt.timezone.utc)
    if (now - clock).total_seconds() > AS_OF_TOLERANCE_S and not force:
        raise ScenarioError(
            f"--as-of {now.isoformat(timespec='seconds')} is in the future (now "
            f"{clock.isoformat(timespec='seconds')}): it would delete alert data before they are due; leave "
            "--as-of out to apply the policy now, or add --force on a copy of the folder for a drill"
        )
    return now


def apply_retention(
    folder: Path | str,
    *,
    as_of: dt.datetime | str | None = None,
    force: bool = False,
    signer: SigningKey | None = None,
) -> RetentionReport:
    """Delete a run's alert data once they are older than the retention policy allows, and log it.

    Args:
        folder: a run folder written by ``twin run``.
        as_of: the time to apply the policy at (aware datetime, ISO 8601 text, or None for now).
        force: accept an ``as_of`` in the future (it deletes alert data before they are due: for
            tests and drills on copies, never on a deployment's folder).
        signer: the audit signing key; a signed folder needs it (the deletion is logged and sealed).

    Returns:
        :class:`RetentionReport`.

    Raises:
        RunFolderError: not a run folder (no run.json / scenario.yaml / audit log), or a file
            cannot be deleted.
        ScenarioError: a malformed ``as_of`` or scenario copy, or an ``as_of`` in the future without
            ``force``.
        AuditError: the audit log is missing, emptied or not a log (nothing is deleted), or the folder
            is signed and no ``signer`` is given.
    """
    folder = Path(folder)
    created = _created_at(folder)
    now = _as_of(as_of, force)
    require_key_if_sealed(folder, signer, "a retention deletion")
    with AuditLog(folder / AUDIT_FILE, existing=True):  # a deletion must be loggable before it is made
        pass
    days, source = _policy(folder)
    due_at = created + dt.timedelta(days=days)
    alerts_dir = folder / _ALERTS
    files = sorted(p for p in alerts_dir.iterdir() if p.is_file()) if alerts_dir.is_dir() else []
    n_alerts = sum(p.suffix == ".png" for p in files)
    seq = None
    deleted = 0
    if files and now >= due_at:
        try:
            for p in files:
                p.unlink()
                deleted += 1
            alerts_dir.rmdir()
        except OSError as exc:
            raise RunFolderError(
                f"could not delete {alerts_dir} ({exc}); {deleted} files were deleted first"
            ) from exc
        finally:
            if deleted:
                with AuditLog(folder / AUDIT_FILE, existing=True) as log:
                    seq = log.append(
                        "retention_deletion",
                        what="alert review crops and candidate lists",
                        alerts=n_alerts,
                        files_deleted=deleted,
                        alert_days=days,
                        policy=source,
                        measured_from="created_at",
                        created_at=created.isoformat(timespec="seconds"),
                        due_at=due_at.isoformat(timespec="seconds"),
                        as_of=now.isoformat(timespec="seconds"),
                    ).seq
                if signer is not None:
                    seal_folder(folder, signer.key, key_path=signer.path)
    return RetentionReport(
        folder=folder,
        alert_days=days,
        policy_source=source,
        created_at=created,
        as_of=now,
        due_at=due_at,
        alerts=n_alerts,
        files_deleted=deleted,
        audit_seq=seq,
    )
