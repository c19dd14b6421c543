"""The ``twin`` command line (typer + rich).

Every :class:`twin.errors.TwinError` ends the command with one red line naming the problem and
the fix, exit code 2, and no traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from twin.errors import TwinError

if TYPE_CHECKING:
    from twin.scoring.summary import RunSummary

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
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
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
    workers: int = typer.Option(1, "--workers", "-w", help="local worker processes for replications"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    ),
    no_map: bool = typer.Option(False, "--no-map", help="skip map.html"),
    json_out: bool = typer.Option(False, "--json", help="print the summary as JSON instead of a table"),
) -> None:
    """Simulate a deployment: faces scanned, true and false alerts per hour, with a map."""
    from twin.outputs.folders import ensure_writable
    from twin.outputs.runstore import write_run
    from twin.scenario.load import load_scenario
    from twin.sim.run import run as run_scenario

    sc = load_scenario(scenario, set_)
    reps = sc.replications if replications is None else replications
    if workers < 1:
        raise fail(f"--workers {workers} must be >= 1")
    ensure_writable(out)  # before minutes of simulation, not after
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
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
        folder = write_run(result, out, with_map=not no_map)
    if json_out:
        console.print_json(json.dumps(result.summary.to_json()))
    else:
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
        if (
            ops is not None
            and summary.operations is not None
            and summary.operations.officers_needed is not None
        ):
            console.print(ops)
            console.print(f"Officers needed: {summary.operations.officers_needed.note}")
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
        title=f"Real engine on replication 0 — {real['statement']}", title_justify="left", header_style="bold"
    )
    t.add_column("what")
    t.add_column("measured", overflow="fold")
    for label, value in real_engine_rows({"real_engine": real}):
        t.add_row(label, value)
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
    workers: int = typer.Option(1, "--workers", "-w", help="local worker processes for replications (Dask)"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    ),
) -> None:
    """Compare scenarios side by side: mean and 95% predictive interval per metric, CSV/JSON and an HTML page.

    Examples: twin compare scenarios/oxford_circus.yaml scenarios/leicester_square.yaml;
    twin compare scenarios/oxford_circus.yaml --set watchlist.threshold=0.64 --set operations.officers=2.
    """
    from twin.outputs.compare import build_variants, comparison_frame, run_comparison, write_comparison
    from twin.scoring.metric_table import Band, fmt_band, metric

    variants = build_variants(scenarios, set_, set_all)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"{len(variants)} columns x {replications} replication(s)", total=None)

        def cb(label: str, done: int, total: int) -> None:
            progress.update(task, description=label, completed=done, total=total)

        comp = run_comparison(
            variants, replications=replications, seed=seed, workers=workers, scheduler=scheduler, progress=cb
        )
        folder = write_comparison(comp, out)
    frame = comparison_frame(comp)
    t = Table(
        title=f"Comparison — mean [95% predictive interval], {replications} replications each",
        title_justify="left",
        header_style="bold",
    )
    t.add_column("metric")
    for v in comp.variants:
        t.add_column(v.label, justify="right")
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
    console.print(t)
    console.print(
        f"Comparison written to [bold]{folder}[/] (comparison.html, comparison.csv, comparison.json)"
    )


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


@app.command()
@handles_errors
def record(folder: Path = typer.Argument(..., help="a run folder written by `twin run`")) -> None:
    """Write the deployment record (record.html, record.json) into a run folder; breaches first."""
    from twin.outputs.record import write_record

    jpath, hpath = write_record(folder)
    rec = __import__("json").loads(jpath.read_text())
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


def _fit_npl(scenario: Path, replications: int, target: float) -> dict[str, Any]:
    from twin.sim.calibrate import fit_mated_mean
    from twin.sim.run import run as run_scenario

    with console.status("simulating the reference deployment"):
        res = run_scenario(scenario, replications=replications, overrides=("time.duration_s=3600",))
        fit = fit_mated_mean(res, target_tpir=target)
    console.print(fit)
    return fit


@app.command()
@handles_errors
def calibrate(
    engine: str = typer.Option("dlib", "--engine", help="real engine to measure: dlib or insightface"),
    faces: Path | None = typer.Option(
        None, "--faces", help="identity folder person_name/*.jpg (default: the sample photos)"
    ),
    out: Path = typer.Option(Path("score_model.json"), "--out", "-o", help="ScoreModel JSON to write"),
    model_dir: Path | None = typer.Option(None, "--model-dir", help="insightface model pack folder"),
    ied: str = typer.Option("12,20,30,45,60", "--ied", help="inter-eye distances of the grid, pixels"),
    yaw: str = typer.Option("0,20,40", "--yaw", help="head yaws of the grid, degrees"),
    blur: str = typer.Option("0,2,4", "--blur", help="motion blur lengths of the grid, pixels"),
    jpeg: int = typer.Option(75, "--jpeg", help="JPEG quality of the rendered probes"),
    repeats: int = typer.Option(1, "--repeats", help="renders per image and cell (fresh sensor noise)"),
    seed: int = typer.Option(0, "--seed", help="seed of the sensor noise"),
    min_mated: int = typer.Option(
        2, "--min-mated-identities", help="fewest identities with 2+ images to accept"
    ),
    npl: bool = typer.Option(
        False,
        "--npl",
        help="instead: re-fit the statistical engine's mated mean to NPL 2023's "
        "per-pass TPIR on a reference scenario (was `twin fit-npl`)",
    ),
    scenario: Path = typer.Option(
        Path("scenarios/oxford_circus.yaml"), "--scenario", help="with --npl: the reference van deployment"
    ),
    replications: int = typer.Option(4, "--replications", "-r", help="with --npl: replications"),
    target: float = typer.Option(
        0.89, "--target-tpir", help="with --npl: per-pass TPIR to reach (NPL 2023: 0.89)"
    ),
) -> None:
    """Measure a real engine's mated and non-mated scores against ied_px, yaw and blur; write a ScoreModel.

    The file is what `engine.kind: statistical` + `engine.score_model: FILE` loads. With --npl,
    re-fit the default model's mated mean to NPL's per-pass TPIR instead (nothing is written).
    """
    if npl:
        _fit_npl(scenario, replications, target)
        return
    import numpy as np

    from twin.recognition.engines.registry import create_engine
    from twin.recognition.faces.bank import FaceBank
    from twin.sim.calibrate import CalibrationGrid, calibrate_engine, cell_rows, grid_values, read_groups

    if engine not in ("dlib", "insightface"):
        raise fail(f"--engine {engine!r}: calibrate measures a real engine, dlib or insightface")
    grid = CalibrationGrid(
        ied_px=grid_values(ied, "ied"),
        yaw_deg=grid_values(yaw, "yaw"),
        blur_px=grid_values(blur, "blur"),
        jpeg_quality=jpeg,
        repeats=repeats,
    )
    opts: dict[str, Any] = {"model_dir": model_dir} if engine == "insightface" else {"upsample": 1}
    if engine == "insightface" and model_dir is None:
        raise fail(
            "--engine insightface needs --model-dir: the unpacked model pack folder (nothing is downloaded)"
        )
    eng = create_engine(engine, **opts)
    bank = FaceBank.from_folder(faces) if faces is not None else FaceBank.from_samples(eng)
    groups = (
        read_groups(faces / "groups.csv") if faces is not None and (faces / "groups.csv").is_file() else None
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} cells"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as progress:
        task = progress.add_task(f"rendering and embedding {len(bank)} identities", total=len(grid.cells))
        cal = calibrate_engine(
            eng,
            bank,
            engine_kind=engine,
            rng=np.random.default_rng(seed),
            grid=grid,
            min_mated_identities=min_mated,
            groups=groups,
            progress=lambda done, total: progress.update(task, completed=done),
        )
    t = Table(
        title=f"{eng.model_id}: mated vs non-mated scores per grid cell (ied px, yaw °, blur px; "
        f"{eng.score_name}; "
        f"mated mean (fitted); non-mated mean/max; FNMR and FMR at the engine's threshold "
        f"{eng.default_threshold:g})",
        title_justify="left",
        header_style="bold",
    )
    for col in ("ied", "yaw", "blur", "mated (fit)", "non-mated/max", "d'", "FNMR", "FMR"):
        t.add_column(col, justify="right", no_wrap=True)
    for row in cell_rows(cal):
        t.add_row(*row)
    console.print(t)
    m = cal.model
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    m.save(tmp)
    tmp.replace(out)
    console.print(
        f"{len(cal.identities)} identities ({', '.join(cal.mated_identities)} with mated pairs): "
        f"{cal.mated_scores} mated, "
        f"{cal.nonmated_scores} non-mated scores. Fitted on [0, 1]: mated_mean_max "
        f"{m.mated_mean_max:.3f}, ied_coef "
        f"{m.ied_coef:.3f}, yaw_coef {m.yaw_coef:.3f}, blur_coef {m.blur_coef:.3f}, mated_sd "
        f"{m.mated_sd:.3f}; non-mated "
        f"sd {m.nonmated_sd:.3f}. FMR at the threshold: measured {cal.measured_fmr_at_threshold:.2e}, model "
        f"{float(m.fmr(m.default_threshold)):.2e}.",
        soft_wrap=True,
    )
    for note in cal.notes:
        console.print(f"[dim]- {note}[/]", soft_wrap=True)
    console.print(
        f"ScoreModel written to [bold]{out}[/]; use it with engine.kind: statistical, "
        f"engine.score_model: {out}"
    )


@app.command("fit-npl", hidden=True)
@handles_errors
def fit_npl(
    scenario: Path = typer.Argument(
        Path("scenarios/oxford_circus.yaml"), help="the reference van deployment"
    ),
    replications: int = typer.Option(4, "--replications", "-r"),
    target: float = typer.Option(0.89, "--target-tpir", help="per-pass TPIR to reach (NPL 2023: 0.89)"),
) -> None:
    """Alias of `twin calibrate --npl`: re-fit the statistical engine's mated mean to NPL's per-pass TPIR."""
    _fit_npl(scenario, replications, target)


retention_app = typer.Typer(
    help="Retention of a run's alert data (review crops and candidate lists).", no_args_is_help=True
)
app.add_typer(retention_app, name="retention")


@retention_app.command("apply")
@handles_errors
def retention_apply(
    folder: Path = typer.Argument(..., help="a run folder written by `twin run`"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="apply the policy at this ISO 8601 time (default: now, UTC)"
    ),
) -> None:
    """Delete alert data older than the policy's alert_days (from the run's created_at) and log it."""
    from twin.outputs.retention import apply_retention

    r = apply_retention(folder, as_of=as_of)
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


def _mount_engine_commands() -> None:
    """Add the real-engine commands (``samples``, ``models``) of :mod:`twin.cli.engines` to this app."""
    from twin.cli.engines import app as engines_app

    app.registered_commands.extend(engines_app.registered_commands)
    app.registered_groups.extend(engines_app.registered_groups)


_mount_engine_commands()


def main() -> None:
    """Console entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
