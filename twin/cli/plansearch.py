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

from twin.cli.common import console, err_console, fail, handles_errors, progress_bar
from twin.errors import TwinError

__all__ = ["app", "sweep"]

app = typer.Typer(help="Sweeps and placement optimisation.", no_args_is_help=True)


def _fmt(v: Any, lo: Any = None, hi: Any = None) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return str(v)
    if not math.isfinite(x):
        return "—"
    s = f"{x:.3g}"
    if lo is not None and hi is not None and math.isfinite(float(lo)) and math.isfinite(float(hi)):
        s += f" [{float(lo):.3g}, {float(hi):.3g}]"
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


def _unused(*_: Any) -> None:  # keep imports used until optimise lands
    _ = (err_console, TwinError)
