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
def record(folder: Path = typer.Argument(..., help="a run folder written by `twin run`")) -> None:
    """Write the deployment record (record.html, record.json) into a run folder; breaches first."""
    from twin.outputs.record import write_record

    jpath, hpath = write_record(folder)
    rec = json.loads(jpath.read_text())
    for b in rec["breaches"]:
        console.print(
            f"[bold red]breach:[/] {b['rule']}: {b['value']} (limit {b['limit']}; {b['source']})",
            soft_wrap=True,
        )
    if not rec["breaches"]:
        console.print("[green]no breach[/] of the deployment's own limits")
    console.print(f"Record written: [bold]{hpath}[/] and {jpath.name}")


audit_app = typer.Typer(help="The run folder's tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@handles_errors
def audit_verify(folder: Path = typer.Argument(..., help="a run folder written by `twin run`")) -> None:
    """Check the audit log's hash chain and the files it vouches for; exit 1 naming the first problem."""
    from twin.outputs.audit import verify_folder

    r = verify_folder(folder)
    if not r.ok:
        err_console.print(f"[bold red]audit log FAILS:[/] {escape(r.problem)}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(
        f"[green]audit log intact[/]: {r.entries} entries; the files it vouches for are unchanged.",
        soft_wrap=True,
    )
    console.print(
        f"head {r.head[1]} (note it outside the folder: entries after the run's end are anchored only by it)",
        soft_wrap=True,
    )


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
    with AuditLog(folder / AUDIT_FILE) as log:
        for i, e in enumerate(log.entries()):
            if i >= limit:
                break
            t.add_row(str(e.seq), e.t_utc, e.kind, json.dumps(e.detail)[:160])
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
) -> None:
    """Delete alert data older than the policy's alert_days (from the run's created_at) and log it."""
    from twin.outputs.retention import apply_retention

    r = apply_retention(folder, as_of=as_of, force=force)
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
