"""The ``twin`` command line (typer + rich).

Every :class:`twin.errors.TwinError` ends the command with one red line naming the problem and
the fix, exit code 2, and no traceback.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import TextColumn
from rich.table import Table

from twin.cli.common import (
    console,
    err_console,
    fail,
    handles_errors,
    install_signal_handlers,
    progress_bar,
)
from twin.errors import TwinError

if TYPE_CHECKING:
    from twin.outputs.compare import Comparison
    from twin.scenario.specs import Scenario
    from twin.scoring.summary import RunSummary
    from twin.sim.run import RunResult

app = typer.Typer(
    name="twin",
    help="LFR deployment twin: simulate live facial recognition deployments in London.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
#: Below this many replications a percentile interval says little (the CLI says so).
MIN_REPLICATIONS_FOR_INTERVALS = 5


def fmt_duration(seconds: float) -> str:
    """A window's length for people: '10 min', '1 h', '6.5 h'.

    >>> fmt_duration(600), fmt_duration(3600), fmt_duration(23400)
    ('10 min', '1 h', '6.5 h')
    """
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.3g} h"


def _summary_table(summary: RunSummary, title: str) -> Table:
    from twin.outputs.report import summary_rows

    t = Table(title=escape(title), title_justify="left", header_style="bold")
    t.add_column("metric")
    t.add_column("mean", justify="right")
    t.add_column("95% predictive interval", justify="right")
    for label, mean, band in summary_rows(summary):
        t.add_row(label, mean, band)
    return t


def _ops_table(summary: RunSummary) -> Table | None:
    from twin.outputs.report import operations_rows

    rows = operations_rows(summary)
    if not rows or summary.operations is None:
        return None
    st = summary.operations.settings
    t = Table(
        title=f"Review and response — {st['operators']} operator(s), {st['officers']} officer(s)",
        title_justify="left",
        header_style="bold",
    )
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
    replications: int | None = typer.Option(
        None, "--replications", "-r", help="replications (default: the scenario's)"
    ),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="folder that receives the run folder"),
    set_: list[str] = typer.Option(
        [], "--set", help="override a scenario value: key.path=value (repeatable)"
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        help="local worker processes for replications (default: every core, or 1 for a small run; "
        "1: in this process)",
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    ),
    no_map: bool = typer.Option(False, "--no-map", help="skip map.html"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON instead of a table"),
    audit_key: Path | None = typer.Option(
        None,
        "--audit-key",
        help="Ed25519 private key (`twin audit keygen`, kept outside the run folder) that signs the audit "
        "log; default $TWIN_AUDIT_KEY, else unsigned",
    ),
) -> None:
    """Simulate a deployment: faces scanned, true and false alerts per hour, with a map.

    Every scenario key, its unit and its limits: `twin schema`.

    Bad input ends with one line naming the value and the fix, exit code 2, and nothing written.
    """
    from twin.outputs.folders import check_out_dir
    from twin.outputs.runstore import write_run
    from twin.outputs.seal import SigningKey
    from twin.scenario.load import load_scenario
    from twin.sim.budget import check_run_request
    from twin.sim.run import run as run_scenario

    sc = load_scenario(scenario, set_)
    reps = sc.replications if replications is None else replications
    check_run_request(seed=sc.seed if seed is None else seed, replications=reps, workers=workers)
    check_out_dir(out)  # before minutes of simulation, not after; nothing is created until the end
    signer = SigningKey.resolve(audit_key)
    with progress_bar(TextColumn("{task.percentage:>3.0f}%"), remaining=True) as progress:
        task = progress.add_task(f"{sc.name}: {reps} replication(s)", total=reps)

        def cb(done: int, total: int, frac: float) -> None:
            progress.update(task, completed=done + frac)

        def stage(text: str) -> None:
            progress.update(task, description=text)

        result = run_scenario(
            sc,
            seed=seed,
            replications=reps,
            workers=workers,
            scheduler=scheduler,
            progress=cb,
            on_stage=stage,
        )
        progress.update(task, description="writing the run folder")
        folder = write_run(result, out, with_map=not no_map, signer=signer)
    if json_out:
        console.print_json(json.dumps(result.summary.to_json()))
    else:
        _print_run(result, sc, reps, folder)


def _print_run(result: RunResult, sc: Scenario, reps: int, folder: Path) -> None:
    """The console view of a finished run: the metric table, operations, real engine, warnings, files."""
    summary = result.summary
    meta, real = summary.run, summary.real_engine
    model_id = summary.model.model_id if summary.model else None
    stat_label = (
        f"statistical engine {model_id}, threshold {result.context.stat_threshold:g} on its scale"
        if real
        else f"threshold {sc.watchlist.threshold}"
    )
    console.print(
        _summary_table(
            summary,
            f"{sc.name} — {meta.site.name if meta else ''}, {sc.time.start} for "
            f"{fmt_duration(sc.time.duration_s)}, "
            f"watchlist {sc.watchlist.size:,}, {stat_label}",
        )
    )
    ops = _ops_table(summary)
    if ops is not None and summary.operations is not None and summary.operations.officers_needed is not None:
        console.print(ops)
        console.print(f"Officers needed: {escape(summary.operations.officers_needed.note)}")
    if real:
        console.print(_real_table(real))
    for w in meta.warnings if meta else ():
        console.print(f"[yellow]warning:[/] {escape(w)}", soft_wrap=True)
    if reps < MIN_REPLICATIONS_FOR_INTERVALS:
        console.print(
            f"[yellow]note:[/] with {reps} replication(s) the 95% intervals are not meaningful; "
            f"use --replications {MIN_REPLICATIONS_FOR_INTERVALS * 2} or more",
            soft_wrap=True,
        )
    files = json.loads((folder / "run.json").read_text()).get("files", [])
    console.print("Run written to:", soft_wrap=True)
    console.print(escape(str(folder)), soft_wrap=True, highlight=False)
    console.print(f"[dim]{escape(', '.join(files))}[/]", soft_wrap=True)


def _real_table(real: Mapping[str, Any]) -> Table:
    from twin.outputs.report import real_engine_rows

    t = Table(
        title=f"Real engine on replication 0 — {escape(str(real['statement']))}",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("what")
    t.add_column("measured", overflow="fold")
    for label, value in real_engine_rows({"real_engine": real}):  # model ids, file names: the user's text
        t.add_row(escape(label), escape(value))
    return t


@app.command()
@handles_errors
def compare(
    scenarios: list[Path] = typer.Argument(
        ..., help="scenario YAML files (two or more, or one with --set variants)"
    ),
    set_: list[str] = typer.Option(
        [],
        "--set",
        help="add a variant of every scenario: one or more key.path=value pairs separated by spaces, one "
        "--set per "
        'variant; e.g. --set watchlist.threshold=0.64 --set "operations.officers=6 operations.operators=2"',
    ),
    set_all: list[str] = typer.Option(
        [],
        "--set-all",
        help="override every scenario and variant alike: key.path=value (repeatable), e.g. "
        "time.duration_s=3600",
    ),
    replications: int = typer.Option(
        4,
        "--replications",
        "-r",
        help="replications per scenario (default 4: a first look; more for decisions)",
    ),
    seed: int | None = typer.Option(
        None, "--seed", help="root seed for every scenario (default: each scenario's own)"
    ),
    out: Path = typer.Option(
        Path("comparisons"), "--out", "-o", help="folder that receives the comparison folder"
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        "-w",
        help="local worker processes for replications (default: every core, or 1 for a small run)",
    ),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    ),
) -> None:
    """Compare scenarios side by side: mean and 95% predictive interval per metric, CSV/JSON and an HTML page.

    Examples: twin compare scenarios/oxford_circus.yaml scenarios/leicester_square.yaml;
    twin compare scenarios/oxford_circus.yaml --set watchlist.threshold=0.64 --set operations.officers=2.
    """
    from twin.outputs.compare import build_variants, run_comparison, write_comparison
    from twin.outputs.folders import check_out_dir
    from twin.sim.budget import check_run_request

    check_run_request(seed=0 if seed is None else seed, replications=replications, workers=workers)
    variants = build_variants(scenarios, set_, set_all)
    check_out_dir(out)
    with progress_bar(TextColumn("{task.percentage:>3.0f}%")) as progress:
        task = progress.add_task(f"{len(variants)} columns x {replications} replication(s)", total=None)

        def cb(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        comp = run_comparison(
            variants, replications=replications, seed=seed, workers=workers, scheduler=scheduler, progress=cb
        )
        folder = write_comparison(comp, out)
    console.print(_comparison_table(comp, replications))
    console.print(
        f"Comparison written to [bold]{escape(str(folder))}[/] (comparison.html, comparison.csv, "
        "comparison.json)"
    )


def _comparison_table(comp: Comparison, replications: int) -> Table:
    """Mean [95% predictive interval] per metric (rows) and variant (columns)."""
    from twin.outputs.compare import comparison_frame
    from twin.scoring.metric_table import Band, fmt_band, metric

    frame = comparison_frame(comp)
    t = Table(
        title=f"Comparison — mean [95% predictive interval], {replications} replications each",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("metric")
    for v in comp.variants:
        t.add_column(escape(v.label), justify="right")  # a scenario's name: text, never console markup
    for metric_id, g in frame.groupby("metric", sort=False):
        label = g["label"].iloc[0]
        cells = []
        for r in g.itertuples():
            if metric_id == "operations.officers_needed":
                cells.append("not reached" if r.mean is None or r.mean != r.mean else f"{int(r.mean)}")
            else:
                text = fmt_band(Band(mean=r.mean, p2_5=r.p2_5, p97_5=r.p97_5), metric(str(metric_id)).kind)
                cells.append(f"{text.mean} [{text.interval}]")
        t.add_row(label, *cells)
    return t


@app.command()
@handles_errors
def schema() -> None:
    """Print the JSON Schema of scenario files."""
    from twin.scenario.load import scenario_json_schema

    sys.stdout.write(json.dumps(scenario_json_schema(), indent=2) + "\n")


@app.command()
@handles_errors
def sites(maps_dir: Path = typer.Argument(Path("maps"), help="folder of site GeoJSON files")) -> None:
    """List the site maps: routes, vans, area and footfall."""
    from twin.world.site import load_site

    files = sorted(maps_dir.glob("*.geojson"))
    if not files:
        raise fail(f"no *.geojson site maps in {maps_dir}; give the maps folder")
    t = Table(header_style="bold")
    for col in ("site", "area m²", "routes", "vans", "signs", "people/day", "geometry"):
        t.add_column(col, no_wrap=col != "site")
    bad = 0
    for f in files:
        try:
            s = load_site(f)
        except TwinError as exc:
            bad += 1
            t.add_row(f"[red]{escape(f.name)}[/]", "", "", "", "", "", "[red]invalid[/]")
            err_console.print(f"[red]{escape(f.name)}:[/] {escape(str(exc))}", soft_wrap=True)
            continue
        t.add_row(
            f"{escape(s.name)}\n[dim]{escape(str(f))}[/]",
            f"{s.area_m2:,.0f}",
            str(len(s.routes)),
            str(len(s.vans)),
            str(len(s.signage)),
            f"{s.daily_passers_by:,.0f}",
            "approx." if s.approximate else "OSM",
        )
    console.print(t)
    if bad:
        raise typer.Exit(2)


def _mount_commands() -> None:
    """Add the commands of :mod:`twin.cli.records` (record, audit, retention), :mod:`twin.cli.calibrate`
    (calibrate, fit-npl), :mod:`twin.cli.validate` (validate), :mod:`twin.cli.engines` (samples,
    models), :mod:`twin.cli.stress` (stress) and :mod:`twin.cli.plansearch` (sweep, optimise) to the top
    level, in that order."""
    from twin.cli import calibrate, engines, plansearch, records, stress, validate

    app.registered_commands.extend(records.app.registered_commands)
    app.registered_commands.extend(calibrate.app.registered_commands)
    app.registered_commands.extend(validate.app.registered_commands)
    app.registered_groups.extend(records.app.registered_groups)
    app.registered_commands.extend(engines.app.registered_commands)
    app.registered_groups.extend(engines.app.registered_groups)
    app.registered_commands.extend(stress.app.registered_commands)
    app.registered_commands.extend(plansearch.app.registered_commands)


_mount_commands()


def main() -> None:
    """Console entry point.

    A usage mistake (an option's value of the wrong type, a missing argument, an unknown option or
    command) ends like every other bad input: one line on stderr naming it and where help is, exit 2,
    not click's boxed usage block.
    """
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    install_signal_handlers()
    try:
        rv = app(standalone_mode=False, prog_name="twin")
    except typer.Abort:
        fail("aborted")
        sys.exit(1)
    except typer.TyperException as exc:  # typer's click exceptions (usage errors among them)
        code = int(getattr(exc, "exit_code", 2))
        ctx = getattr(exc, "ctx", None)
        if type(exc).__name__ == "NoArgsIsHelpError":  # `twin` alone: the help, as before
            exc.show()  # type: ignore[attr-defined]
            sys.exit(code)
        fmt = getattr(exc, "format_message", None)
        message = " ".join((fmt() if callable(fmt) else str(exc)).split()).rstrip(".")
        fail(message + (f"; see `{ctx.command_path} --help`" if ctx is not None else ""))
        sys.exit(code)
    sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
