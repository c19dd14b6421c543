"""The ``twin`` command line (typer + rich).

Every :class:`twin.errors.TwinError` ends the command with one red line naming the problem and
the fix, exit code 2, and no traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from twin.errors import TwinError

app = typer.Typer(
    name="twin",
    help="LFR deployment twin: simulate live facial recognition deployments in London.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str) -> typer.Exit:
    """Print one red error line and return the exit (code 2) to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(2)


def handles_errors(fn: F) -> F:
    """Turn TwinError (and a missing file) into one line on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except TwinError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            raise fail("interrupted; nothing was written") from None

    return wrapper  # type: ignore[return-value]


def _summary_table(summary: dict[str, Any], title: str) -> Table:
    from twin.report import summary_rows

    t = Table(title=title, title_justify="left", header_style="bold")
    t.add_column("metric")
    t.add_column("mean", justify="right")
    t.add_column("95% predictive interval", justify="right")
    for label, mean, band in summary_rows(summary):
        t.add_row(label, mean, band)
    return t


def _ops_table(summary: dict[str, Any]) -> Table | None:
    from twin.report import operations_rows

    rows = operations_rows(summary)
    if not rows:
        return None
    st = summary["operations"]["settings"]
    t = Table(title=f"Review and response — {st['operators']} operator(s), {st['officers']} officer(s)",
              title_justify="left", header_style="bold")
    t.add_column("metric")
    t.add_column("mean", justify="right")
    t.add_column("95% predictive interval", justify="right")
    for label, mean, band in rows:
        t.add_row(label, mean, band)
    return t


@app.command()
@handles_errors
def run(
    scenario: Path = typer.Argument(..., help="scenario YAML, e.g. scenarios/oxford_circus.yaml"),
    seed: int | None = typer.Option(None, "--seed", help="root seed (default: the scenario's)"),
    replications: int | None = typer.Option(None, "--replications", "-r", help="replications (default: the scenario's)"),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="folder that receives the run folder"),
    set_: list[str] = typer.Option([], "--set", help="override a scenario value: key.path=value (repeatable)"),
    workers: int = typer.Option(1, "--workers", "-w", help="local worker processes for replications"),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"),
    no_map: bool = typer.Option(False, "--no-map", help="skip map.html"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON instead of a table"),
) -> None:
    """Simulate a deployment: faces scanned, true and false alerts per hour, with a map."""
    from twin.runstore import write_run
    from twin.scenario import load_scenario
    from twin.simulation import run as run_scenario

    sc = load_scenario(scenario, set_)
    reps = sc.replications if replications is None else replications
    if workers < 1:
        raise fail(f"--workers {workers} must be >= 1")
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"{sc.name}: {reps} replication(s)", total=reps)

        def cb(done: int, total: int, frac: float) -> None:
            progress.update(task, completed=done + frac)

        result = run_scenario(sc, seed=seed, replications=reps, workers=workers, scheduler=scheduler, progress=cb)
        progress.update(task, description="writing the run folder")
        folder = write_run(result, out, with_map=not no_map)
    if json_out:
        console.print_json(json.dumps(result.summary))
    else:
        meta = result.summary["run"]
        console.print(_summary_table(
            result.summary,
            f"{sc.name} — {meta['site']['name']}, {sc.time.start} for {sc.time.duration_s / 3600:g} h, "
            f"watchlist {sc.watchlist.size:,}, threshold {sc.watchlist.threshold}",
        ))
        ops = _ops_table(result.summary)
        if ops is not None:
            console.print(ops)
            console.print(f"Officers needed: {result.summary['operations']['officers_needed']['note']}")
        for w in meta["warnings"]:
            console.print(f"[yellow]warning:[/] {w}")
        console.print(f"Run written to [bold]{folder}[/] (report.html, map.html, summary.json, events.parquet)")


@app.command()
@handles_errors
def compare(
    scenarios: list[Path] = typer.Argument(..., help="scenario YAML files (two or more, or one with --set variants)"),
    set_: list[str] = typer.Option(
        [], "--set",
        help="add a variant of every scenario: one or more key.path=value pairs separated by spaces, one --set per "
        "variant; e.g. --set watchlist.threshold=0.64 --set \"operations.officers=6 operations.operators=2\"",
    ),
    set_all: list[str] = typer.Option(
        [], "--set-all", help="override every scenario and variant alike: key.path=value (repeatable), e.g. time.duration_s=3600",
    ),
    replications: int = typer.Option(4, "--replications", "-r", help="replications per scenario (default 4: a first look; more for decisions)"),
    seed: int | None = typer.Option(None, "--seed", help="root seed for every scenario (default: each scenario's own)"),
    out: Path = typer.Option(Path("comparisons"), "--out", "-o", help="folder that receives the comparison folder"),
    workers: int = typer.Option(1, "--workers", "-w", help="local worker processes for replications (Dask)"),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"),
) -> None:
    """Compare scenarios side by side: mean and 95% predictive interval per metric, CSV/JSON and an HTML page.

    Examples: twin compare scenarios/oxford_circus.yaml scenarios/leicester_square.yaml;
    twin compare scenarios/oxford_circus.yaml --set watchlist.threshold=0.64 --set operations.officers=2.
    """
    from twin.compare import build_variants, comparison_frame, run_comparison, write_comparison
    from twin.report import fmt_band

    variants = build_variants(scenarios, set_, set_all)
    with Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(), console=err_console, transient=True, disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"{len(variants)} columns x {replications} replication(s)", total=None)

        def cb(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        comp = run_comparison(variants, replications=replications, seed=seed, workers=workers, scheduler=scheduler,
                              progress=cb)
        folder = write_comparison(comp, out)
    frame = comparison_frame(comp)
    t = Table(title=f"Comparison — mean [95% predictive interval], {replications} replications each",
              title_justify="left", header_style="bold")
    t.add_column("metric")
    for v in comp.variants:
        t.add_column(v.label, justify="right")
    for metric, g in frame.groupby("metric", sort=False):
        label = g["label"].iloc[0]
        cells = []
        for r in g.itertuples():
            if metric == "operations.officers_needed":
                cells.append("not reached" if r.mean is None or r.mean != r.mean else f"{int(r.mean)}")
            else:
                mean, band = fmt_band({"mean": r.mean, "p2_5": r.p2_5, "p97_5": r.p97_5}, str(metric).rsplit(".", 1)[-1])
                cells.append(f"{mean} [{band}]")
        t.add_row(label, *cells)
    console.print(t)
    console.print(f"Comparison written to [bold]{folder}[/] (comparison.html, comparison.csv, comparison.json)")


@app.command()
@handles_errors
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from twin.scenario import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
@handles_errors
def sites(maps_dir: Path = typer.Argument(Path("maps"), help="folder of site GeoJSON files")) -> None:
    """List the site maps: routes, vans, area and footfall."""
    from twin.site import load_site

    files = sorted(maps_dir.glob("*.geojson"))
    if not files:
        raise fail(f"no *.geojson site maps in {maps_dir}; give the maps folder")
    t = Table(header_style="bold")
    for col in ("site", "area m²", "routes", "vans", "signs", "people/day", "geometry"):
        t.add_column(col, no_wrap=col != "site")
    for f in files:
        s = load_site(f)
        t.add_row(f"{s.name}\n[dim]{f}[/]", f"{s.area_m2:,.0f}", str(len(s.routes)), str(len(s.vans)), str(len(s.signage)),
                  f"{s.daily_passers_by:,.0f}", "approx." if s.approximate else "OSM")
    console.print(t)


@app.command()
@handles_errors
def record(folder: Path = typer.Argument(..., help="a run folder written by `twin run`")) -> None:
    """Write the deployment record (record.html, record.json) into a run folder; breaches first."""
    from twin.record import write_record

    jpath, hpath = write_record(folder)
    rec = __import__("json").loads(jpath.read_text())
    for b in rec["breaches"]:
        console.print(f"[bold red]breach:[/] {b['rule']}: {b['value']} (limit {b['limit']}; {b['source']})", soft_wrap=True)
    if not rec["breaches"]:
        console.print("[green]no breach[/] of the deployment's own limits")
    console.print(f"Record written: [bold]{hpath}[/] and {jpath.name}")


audit_app = typer.Typer(help="The run folder's tamper-evident audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
@handles_errors
def audit_verify(folder: Path = typer.Argument(..., help="a run folder written by `twin run`")) -> None:
    """Check the audit log's hash chain; exit 1 and name the entry if it was edited, removed or reordered."""
    from twin.audit import AUDIT_FILE, verify

    meta_path = folder / "run.json"
    head = None
    if meta_path.is_file():
        h = json.loads(meta_path.read_text()).get("audit_head")
        head = (h["seq"], h["sha256"]) if h else None
    r = verify(folder / AUDIT_FILE, expected_head=head)
    if not r.ok:
        err_console.print(f"[bold red]audit log FAILS:[/] {r.problem}", soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[green]audit log intact[/]: {r.entries} entries, head {r.head[1]}")


@audit_app.command("show")
@handles_errors
def audit_show(folder: Path = typer.Argument(..., help="a run folder written by `twin run`"),
               limit: int = typer.Option(50, help="entries to show")) -> None:
    """Print the audit log's entries."""
    from twin.audit import AUDIT_FILE, AuditLog
    from twin.errors import AuditError

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


@app.command("fit-npl")
@handles_errors
def fit_npl(
    scenario: Path = typer.Argument(Path("scenarios/oxford_circus.yaml"), help="the reference van deployment"),
    replications: int = typer.Option(4, "--replications", "-r"),
    target: float = typer.Option(0.89, "--target-tpir", help="per-pass TPIR to reach (NPL 2023: 0.89)"),
) -> None:
    """Re-fit the statistical engine's mated mean so the reference scenario gives NPL's per-pass TPIR."""
    from twin.calibrate import fit_mated_mean
    from twin.simulation import run as run_scenario

    with console.status("simulating the reference deployment"):
        res = run_scenario(scenario, replications=replications, overrides=("time.duration_s=3600",))
        fit = fit_mated_mean(res, target_tpir=target)
    console.print(fit)


def _mount_engine_commands() -> None:
    """Add the real-engine commands (``samples``, ``models``) of :mod:`twin.cli_engines` to this app."""
    from twin.cli_engines import app as engines_app

    app.registered_commands.extend(engines_app.registered_commands)
    app.registered_groups.extend(engines_app.registered_groups)


_mount_engine_commands()


def main() -> None:
    """Console entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
