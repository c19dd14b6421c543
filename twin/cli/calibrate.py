"""``twin calibrate``: a real engine's scores measured into a ScoreModel, or (``--npl``) the NPL
mated-mean fit.

Mounted at the top level of the ``twin`` app by :mod:`twin.cli.main` (with the hidden alias ``twin fit-npl``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.progress import TextColumn
from rich.table import Table

from twin.cli.common import console, fail, handles_errors, progress_bar

if TYPE_CHECKING:
    from twin.recognition.engines.base import FaceEngine
    from twin.recognition.faces.bank import FaceBank
    from twin.sim.calibrate import CalibrationGrid, EngineCalibration

__all__ = ["app"]

app = typer.Typer(help="Calibration of the statistical engine.", no_args_is_help=True)


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
    from twin.outputs.folders import check_out_file, sweep_stale, temp_file_for
    from twin.recognition.engines.registry import create_engine
    from twin.recognition.faces.bank import FaceBank
    from twin.sim.calibrate import CalibrationGrid, grid_values, read_groups

    if engine not in ("dlib", "insightface"):
        raise fail(f"--engine {engine!r}: calibrate measures a real engine, dlib or insightface")
    check_out_file(out)  # before minutes of rendering, not after
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
    bank = (FaceBank.from_folder(faces) if faces is not None else FaceBank.from_samples(eng)).vetted(eng)
    for skip in bank.skipped:  # each photo judged on its own: say which were left out, and why
        console.print(f"[yellow]skipped[/] {escape(skip.path)}: {escape(skip.reason)}", soft_wrap=True)
    groups = (
        read_groups(faces / "groups.csv") if faces is not None and (faces / "groups.csv").is_file() else None
    )
    cal = _measure(eng, bank, engine, grid, seed=seed, min_mated=min_mated, groups=groups)
    console.print(_cell_table(cal, eng))
    check_out_file(out)  # still free after the calibration
    out.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(out.parent)  # a killed calibration's .<name>.<pid>.tmp
    tmp = temp_file_for(out)
    try:
        cal.model.save(tmp)
        tmp.rename(out)
    finally:
        tmp.unlink(missing_ok=True)
    _print_fit(cal, out)


def _measure(
    eng: FaceEngine,
    bank: FaceBank,
    engine: str,
    grid: CalibrationGrid,
    *,
    seed: int,
    min_mated: int,
    groups: dict[str, str] | None,
) -> EngineCalibration:
    """Render, embed and score the grid, with a progress bar on a terminal."""
    import numpy as np

    from twin.sim.calibrate import calibrate_engine

    with progress_bar(TextColumn("{task.completed}/{task.total} cells")) as progress:
        task = progress.add_task(f"rendering and embedding {len(bank)} identities", total=len(grid.cells))
        return calibrate_engine(
            eng,
            bank,
            engine_kind=engine,
            rng=np.random.default_rng(seed),
            grid=grid,
            min_mated_identities=min_mated,
            groups=groups,
            progress=lambda done, total: progress.update(task, completed=done),
        )


def _cell_table(cal: EngineCalibration, eng: FaceEngine) -> Table:
    """Mated vs non-mated scores per grid cell, as measured."""
    from twin.sim.calibrate import cell_rows

    t = Table(
        title=f"{escape(eng.model_id)}: mated vs non-mated scores per grid cell (ied px, yaw °, blur px; "
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
    return t


def _print_fit(cal: EngineCalibration, out: Path) -> None:
    """What was fitted, the notes, and where the ScoreModel went."""
    m = cal.model
    console.print(
        f"{len(cal.identities)} identities ({escape(', '.join(cal.mated_identities))} with mated pairs): "
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
        console.print(f"[dim]- {escape(note)}[/]", soft_wrap=True)
    console.print(
        f"ScoreModel written to [bold]{escape(str(out))}[/]; use it with engine.kind: statistical, "
        f"engine.score_model: {escape(str(out))}"
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
