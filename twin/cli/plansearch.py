"""CLI commands that search over plans: ``twin sweep`` (grid x replications on Dask) and ``twin optimise``
(where the vans should stand; ``--rank`` to rank sites).

Mount into the main CLI by extending its ``registered_commands`` with this ``app``'s (the commands
join the top level). A :class:`~twin.errors.TwinError` becomes one red line on stderr
and exit code 2, with nothing half-written.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import MofNCompleteColumn
from rich.table import Table

from twin.cli.common import console, fail, handles_errors, progress_bar

__all__ = ["app", "optimise", "sweep"]

app = typer.Typer(help="Sweeps and placement optimisation.", no_args_is_help=True)


def _fmt(v: Any, lo: Any = None, hi: Any = None) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "—"
    s = f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"
    if lo is not None and hi is not None and math.isfinite(float(lo)) and math.isfinite(float(hi)):
        s += f" [{_fmt(lo)}, {_fmt(hi)}]"
    return s


@app.command("sweep")
@handles_errors
def sweep(
    scenario: Path | None = typer.Argument(None, help="scenario YAML (not with --resume)"),
    grid: list[str] = typer.Option(
        [],
        "--grid",
        "-g",
        help="a swept key: key.path=v1,v2,... (repeatable; cameras=FILE1,FILE2 sweeps placements)",
    ),
    replications: int | None = typer.Option(
        None, "--replications", "-r", help="per grid point (default: the scenario's)"
    ),
    seed: int | None = typer.Option(None, "--seed", help="root seed (default: the scenario's)"),
    workers: int = typer.Option(2, "--workers", "-w", help="LocalCluster worker processes"),
    scheduler: str | None = typer.Option(
        None, "--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    ),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="folder that receives the sweep folder"),
    resume: Path | None = typer.Option(
        None, "--resume", help="a sweep folder to finish (runs only its missing cells)"
    ),
) -> None:
    """Sweep a scenario over a grid of settings x replications; rows go to Parquet as cells finish."""
    from twin.outputs.sweep import resume_sweep, start_sweep

    if workers < 1:
        raise fail(f"--workers {workers} must be >= 1")
    if (scenario is None) == (resume is None):
        raise fail("give a scenario YAML with --grid, or --resume DIR of an interrupted sweep (not both)")
    if resume is not None and grid:
        raise fail("--resume takes the grid from the sweep folder; drop --grid")
    with progress_bar(MofNCompleteColumn(), remaining=True) as progress:
        task = progress.add_task("sweep: cells of each crowd x replication", total=None)

        def cb(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        try:
            if resume is not None:
                res = resume_sweep(resume, workers=workers, scheduler=scheduler, progress=cb)
            else:
                assert scenario is not None
                res = start_sweep(
                    scenario,
                    grid,
                    replications=replications,
                    seed=seed,
                    out_dir=out,
                    workers=workers,
                    scheduler=scheduler,
                    progress=cb,
                )
        except KeyboardInterrupt:
            raise fail(
                "interrupted; every finished cell is kept: resume with twin sweep --resume <the sweep folder>"
            ) from None
    _print_sweep(res)


def _print_sweep(res: Any) -> None:
    """The console view of a sweep: what ran, the summary table, the folder."""
    if res.cells_run == 0 and res.complete:
        console.print(f"Nothing to do: all {res.cells_total} cells of {escape(str(res.folder))} are done.")
    else:
        console.print(
            f"{res.cells_run} cells run ({res.tasks_run} crowd simulations); {res.cells_total} in all."
        )
    if res.summary is not None:
        keys = [
            c
            for c in res.summary.columns
            if c not in ("point", "replications") and not c.endswith(("_lo", "_hi"))
        ]
        from twin.outputs.sweep import SUMMARY_METRICS

        axes = [k for k in keys if k not in SUMMARY_METRICS]
        t = Table(title="Sweep summary: mean [95% predictive interval] over replications")
        for k in axes:
            t.add_column(k)
        for m in ("true_alerts_per_h", "false_alerts_per_h", "tpir", "fpir", "false_engaged"):
            t.add_column(m, justify="right")
        for _, r in res.summary.iterrows():
            t.add_row(
                *[str(r[k]) for k in axes],
                *[
                    _fmt(r[m], r[f"{m}_lo"], r[f"{m}_hi"])
                    for m in ("true_alerts_per_h", "false_alerts_per_h", "tpir", "fpir", "false_engaged")
                ],
            )
        console.print(t)
    console.print("Sweep folder:", soft_wrap=True)
    console.print(escape(str(res.folder)), soft_wrap=True, highlight=False)


@app.command("optimise")
@handles_errors
def optimise(
    scenarios: list[Path] = typer.Argument(
        ..., help="scenario YAML (with --rank: several, e.g. scenarios/*.yaml)"
    ),
    vans: int = typer.Option(
        3, "--vans", "-k", help="vans to place (K), each with the scenario's two roof cameras"
    ),
    objective: str = typer.Option("true_alerts", "--objective", help="true_alerts | watchlisted_captures"),
    max_false_alerts_per_h: float | None = typer.Option(
        None, "--max-false-alerts-per-h", help="false-alert budget per hour (expected)"
    ),
    spacing: float = typer.Option(
        5.0, "--spacing", help="metres between candidate van positions along a route"
    ),
    toe: str = typer.Option(
        "5", "--toe", help="camera turns towards the footway's centre to try, degrees (comma-separated)"
    ),
    crowds: int = typer.Option(1, "--crowds", help="crowd replications the candidates are scored on"),
    verify: int = typer.Option(
        3, "--verify", help="replications of full runs of both placements, same seeds (0: skip)"
    ),
    out: Path = typer.Option(Path("runs"), "--out", "-o", help="folder that receives the optimise folder"),
    rank: bool = typer.Option(False, "--rank", help="rank the given scenarios' sites instead"),
    replications: int | None = typer.Option(None, "--replications", "-r", help="with --rank: per site"),
    workers: int = typer.Option(1, "--workers", "-w", help="local worker processes for the full runs"),
) -> None:
    """Where should the vans stand? Choose K van poses on the site's footways (or rank sites with --rank)."""
    from twin.outputs.folders import ensure_writable
    from twin.scenario.load import load_scenario

    if workers < 1:
        raise fail(f"--workers {workers} must be >= 1")
    if rank:
        _rank([str(p) for p in scenarios], replications, workers)
        return
    if len(scenarios) != 1:
        raise fail(f"give one scenario to optimise (got {len(scenarios)}); several only with --rank")
    if verify < 0 or crowds < 1:
        raise fail("--verify must be >= 0 and --crowds >= 1")
    from twin.outputs.placement import write_placement
    from twin.sim.optimise import optimise_placement, placement_scenario
    from twin.sim.ranking import run_figures

    sc = load_scenario(scenarios[0])
    if vans < 1:
        raise fail(f"--vans {vans}: choose at least 1 van")
    ensure_writable(out)
    with progress_bar(MofNCompleteColumn()) as progress:
        task = progress.add_task("optimise: preparing candidates", total=None)

        def stage(text: str, share: float) -> None:
            progress.update(task, description=f"optimise: {text}")

        res = optimise_placement(
            sc,
            vans=vans,
            objective=objective,
            max_false_alerts_per_h=max_false_alerts_per_h,
            spacing_m=spacing,
            toes_deg=_angles(toe),
            replications=crowds,
            progress=stage,
        )
        figs = None
        if verify:
            progress.update(
                task, description=f"verify: {verify} replication(s) of the scenario's own placement"
            )
            own = run_figures(sc, replications=verify, workers=workers)
            progress.update(task, description=f"verify: {verify} replication(s) of the recommended placement")
            rec = run_figures(placement_scenario(res), replications=verify, workers=workers)
            figs = (own, rec)
        progress.update(task, description="writing the placement folder")
        folder = write_placement(res, out, verify=figs)
    _print_placement(res, figs, folder)


def _angles(text: str) -> tuple[float, ...]:
    """``--toe`` values: comma-separated degrees.

    Raises:
        typer.Exit: not numbers (one line, exit code 2).
    """
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise fail(f"--toe {text!r} must be degrees separated by commas, e.g. 0,5,10") from None


def _print_placement(res: Any, figs: Any, folder: Path) -> None:
    unit = "true alerts/h" if res.objective == "true_alerts" else "watchlisted faces scanned/h"
    t = Table(title=f"Recommended placement at {res.model.context.site.name}: {len(res.poses)} vans ({unit})")
    for col in ("van", "lat", "lon", "headings (deg)", "along route", "marginal gain"):
        t.add_column(col, justify="right" if col in ("lat", "lon", "marginal gain") else "left")
    for k, (pose, g) in enumerate(zip(res.poses, res.selection.gains, strict=True)):
        lon, lat = pose.lonlat
        t.add_row(
            f"opt_van{k + 1}",
            f"{lat:.6f}",
            f"{lon:.6f}",
            " / ".join(f"{h:.0f}" for h in pose.headings_deg),
            f"{pose.route_id} at {pose.s_m:.0f} m",
            f"+{g:.3g}",
        )
    console.print(t)
    console.print(
        f"Model (one crowd, every placement; {res.candidates} candidates, {res.signage_excluded} fail "
        f"the signage test): {res.value:.3g} {unit}, {res.false_alerts_per_h:.3g} false alerts/h; the "
        f"scenario's own {len(res.scenario.cameras)} cameras: {res.baseline_value:.3g} and "
        f"{res.baseline_false_alerts_per_h:.3g}; gain x{res.gain_over_baseline:.3f}.",
        soft_wrap=True,
    )
    for s in res.tried:
        console.print(
            f"  {s.method}: {s.value:.4g} in {s.elapsed_s:.1f} s ({escape(s.note)})", soft_wrap=True
        )
    console.print(f"Kept: {res.selection.method}; optimisation took {res.elapsed_s:.1f} s.")
    if figs is not None:
        own, rec = figs
        console.print(
            f"Full runs ({own.replications} replications, same seeds), true alerts/h: own "
            f"{_fmt(*own.true_alerts_per_h)}, recommended {_fmt(*rec.true_alerts_per_h)}; false alerts/h: "
            f"own {_fmt(*own.false_alerts_per_h)}, recommended {_fmt(*rec.false_alerts_per_h)}; expected "
            "true alerts/h (prevalence x alerts had everyone been listed): own "
            f"{own.expected_true_alerts_per_h:.3g}, recommended {rec.expected_true_alerts_per_h:.3g} (x"
            f"{rec.expected_true_alerts_per_h / max(own.expected_true_alerts_per_h, 1e-12):.3f}).",
            soft_wrap=True,
        )
    console.print(
        "Placement written to (scenario.yaml runs with twin run; map.html opens offline):", soft_wrap=True
    )
    console.print(escape(str(folder)), soft_wrap=True, highlight=False)


def _rank(paths: list[str], replications: int | None, workers: int) -> None:
    from twin.sim.ranking import rank_sites

    with progress_bar(MofNCompleteColumn()) as progress:
        task = progress.add_task("rank: running sites", total=len(paths))

        def cb(done: int, total: int, name: str) -> None:
            progress.update(task, completed=done, description=f"rank: {name}")

        ranks = rank_sites(paths, replications=replications, workers=workers, progress=cb)
    t = Table(title="Sites ranked by expected true alerts per hour (mean [95% interval])")
    cols = ("#", "site", "expected true alerts/h", "expected true per false alert", "true per officer-hour")
    for col in (*cols, "simulated true / false alerts/h"):
        t.add_column(col, justify="left" if col == "site" else "right")
    for i, r in enumerate(ranks):
        ratio = r.expected_true_per_false_alert
        t.add_row(
            str(i + 1),
            escape(r.name),
            _fmt(*r.expected_true_alerts_per_h),
            _fmt(ratio) if math.isfinite(ratio) else "no false alert expected",
            _fmt(*r.true_per_officer_hour),
            f"{_fmt(*r.true_alerts_per_h)} / {_fmt(*r.false_alerts_per_h)}",
        )
    console.print(t)
    console.print(
        "Expected: the score model's expectation with its analytic 95% interval; simulated: mean and 95% "
        "predictive interval over replications; per officer-hour: simulated true alerts per hour per "
        "intercept officer. Each site as its scenario places the vans (twin optimise SITE --vans K to "
        "improve it).",
        soft_wrap=True,
    )
