"""``twin record``, ``twin audit verify|show`` and ``twin retention apply``: the accountability commands.

Mounted at the top level of the ``twin`` app by :mod:`twin.cli.main`.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from twin.cli.common import console, err_console, handles_errors

__all__ = ["app"]

app = typer.Typer(help="Deployment records, audit logs and retention.", no_args_is_help=True)


@app.command()
@handles_errors
def record(
    folder: Path = typer.Argument(..., help="a run folder written by `twin run`"),
    audit_key: Path | None = typer.Option(
        None, "--audit-key", help="the audit signing key (a signed run needs it); default $TWIN_AUDIT_KEY"
    ),
) -> None:
    """Write the deployment record (record.html, record.json) into a run folder; breaches first."""
    from twin.outputs.record import write_record
    from twin.outputs.seal import SigningKey

    jpath, hpath = write_record(folder, signer=SigningKey.resolve(audit_key))
    rec = json.loads(jpath.read_text())
    for b in rec["breaches"]:
        console.print(
            f"[bold red]breach:[/] {escape(str(b['rule']))}: {escape(str(b['value']))} (limit "
            f"{escape(str(b['limit']))}; {escape(str(b['source']))})",
            soft_wrap=True,
        )
    if not rec["breaches"]:
        console.print("[green]no breach[/] of the deployment's own limits")
    console.print(f"Record written: [bold]{escape(str(hpath))}[/] and {escape(jpath.name)}")


audit_app = typer.Typer(help="The run folder's tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("keygen")
@handles_errors
def audit_keygen(
    key: Path = typer.Argument(
        ..., help="where to write the private key, outside any run folder, e.g. ~/.config/lfr-twin/audit.pem"
    ),
) -> None:
    """Make the force's Ed25519 audit signing key (private, mode 0600) and its public key (.pub) beside it."""
    from twin.outputs.seal import fingerprint, generate_key, load_public_key

    priv, pub = generate_key(key)
    console.print(f"private key: [bold]{escape(str(priv))}[/] (keep it secret, outside every run folder)")
    console.print(
        f"public key:  [bold]{escape(str(pub))}[/] ({fingerprint(load_public_key(pub))}); hand it to "
        "whoever verifies: twin audit verify RUN_FOLDER --public-key " + escape(str(pub)),
        soft_wrap=True,
    )


@audit_app.command("verify")
@handles_errors
def audit_verify(
    folder: Path = typer.Argument(..., help="a run folder written by `twin run`"),
    public_key: Path | None = typer.Option(
        None,
        "--public-key",
        help="the force's public key (.pub of `twin audit keygen`), taken from outside the folder: the log "
        "must be signed by it",
    ),
) -> None:
    """Check the audit log's hash chain, the files it vouches for and its signed heads; exit 1 naming the
    first problem."""
    from twin.outputs.audit import verify_folder
    from twin.outputs.seal import load_public_key

    pub = load_public_key(public_key) if public_key is not None else None
    r = verify_folder(folder, public_key=pub)
    if not r.ok:
        err_console.print(f"[bold red]audit log FAILS:[/] {escape(r.problem)}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(
        f"[green]audit log intact[/]: {r.entries} entries; the files it vouches for are unchanged; "
        f"{escape(r.signature)}.",
        soft_wrap=True,
    )
    if pub is None:
        console.print(
            "[yellow]not checked against a key held outside the folder[/]: a rewritten folder cannot be told "
            "apart; give --public-key",
            soft_wrap=True,
        )
    console.print(f"head: entry {r.head[0]}, {r.head[1]}", soft_wrap=True)


@audit_app.command("show")
@handles_errors
def audit_show(
    folder: Path = typer.Argument(..., help="a run folder written by `twin run`"),
    limit: int = typer.Option(50, help="entries to show"),
) -> None:
    """Print the audit log's entries."""
    from twin.errors import AuditError
    from twin.outputs.audit import AUDIT_FILE, AuditLog

    if not (folder / AUDIT_FILE).is_file():
        raise AuditError(f"no audit log in {folder}; give a run folder written by `twin run`")
    t = Table(header_style="bold")
    for col in ("seq", "time (UTC)", "kind", "detail"):
        t.add_column(col, overflow="fold")
    with AuditLog(folder / AUDIT_FILE, existing=True) as log:
        for i, e in enumerate(log.entries()):
            if i >= limit:
                break
            t.add_row(str(e.seq), escape(e.t_utc), escape(e.kind), escape(json.dumps(e.detail)[:160]))
    console.print(t)


retention_app = typer.Typer(
    help="Retention of a run's alert data (review crops and candidate lists).", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")


@retention_app.command("apply")
@handles_errors
def retention_apply(
    folder: Path = typer.Argument(..., help="a run folder written by `twin run`"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="apply the policy at this ISO 8601 time (default: now, UTC; not in the future)"
    ),
    force: bool = typer.Option(
        False, "--force", help="accept an --as-of in the future (deletes early: drills on copies only)"
    ),
    audit_key: Path | None = typer.Option(
        None, "--audit-key", help="the audit signing key (a signed run needs it); default $TWIN_AUDIT_KEY"
    ),
) -> None:
    """Delete alert data older than the policy's alert_days (from the run's created_at) and log it."""
    from twin.outputs.retention import apply_retention
    from twin.outputs.seal import SigningKey

    r = apply_retention(folder, as_of=as_of, force=force, signer=SigningKey.resolve(audit_key))
    console.print(
        f"policy: alert data kept {r.alert_days:g} days ({r.policy_source}); run created "
        f"{r.created_at.isoformat(timespec='seconds')}, due {r.due_at.isoformat(timespec='seconds')}",
        soft_wrap=True,
    )
    if r.files_deleted:
        console.print(
            f"[green]deleted[/] {r.files_deleted} files of {r.alerts} alerts; audit entry {r.audit_seq}"
        )
    elif r.alerts:
        console.print(f"nothing due yet at {r.as_of.isoformat(timespec='seconds')}: {r.alerts} alerts kept")
    else:
        console.print("no alert data in this run folder")
