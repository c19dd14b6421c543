"""CLI commands for face engines and sample images: ``twin samples``, ``twin models check|list``.

Mount into the main CLI with ``main_app.add_typer(twin.cli.engines.app)`` (no name: the commands
join the top level). Each command is also a plain function (``samples``, ``models_check``,
``models_list``) returning what it found, for tests and notebooks. A :class:`~twin.errors.TwinError`
becomes one red line on stderr and exit code 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from twin.errors import TwinError

__all__ = ["app", "models_app", "models_check", "models_list", "samples"]

app = typer.Typer(help="Face engines and sample images.", no_args_is_help=True)
models_app = typer.Typer(
    help="Inspect insightface model pack folders (nothing is downloaded).", no_args_is_help=True
)
app.add_typer(models_app, name="models")

_out = Console()
_err = Console(stderr=True)


def _fail(exc: TwinError) -> typer.Exit:
    _err.print(f"[red]error:[/red] {escape(str(exc))}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.command("samples")
def samples(
    cache_dir: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="where to put the images (default $TWIN_SAMPLES_DIR or ~/.cache/lfr-twin/samples)"
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="download again even if present")] = False,
) -> Path:
    """Fetch the face_recognition 1.3.0 test photos (the only offline same-person pairs), once.

    Runs pip download for the source package and keeps only tests/test_images/*.jpg.
    """
    from twin.recognition.faces.samples import fetch_samples, packaged_samples

    try:
        with _out.status("fetching sample images…") as status:
            report = fetch_samples(cache_dir, force=force, on_step=lambda msg: status.update(msg))
    except TwinError as exc:
        raise _fail(exc) from exc
    verb = "fetched into" if report.fetched else "already in"
    _out.print(
        f"{len(report.files)} face_recognition sample images {verb} [bold]{escape(str(report.folder))}[/bold]"
    )
    for p in report.files:
        _out.print(f"  {escape(p.name)}  sha256 {report.sha256[p.name][:12]}")
    for name, p in packaged_samples().items():
        _out.print(f"  packaged {escape(name)}: {escape(str(p))}")
    return report.folder


@models_app.command("check")
def models_check(
    model_dir: Annotated[Path, typer.Argument(help="an unpacked insightface model pack folder")],
) -> list:
    """Show how insightface routes each ONNX file of a folder (file → class → task, sha256), then build the
    engine and run it once on a small input; exit 1 when the pack is not usable, 2 on a bad folder."""
    from twin.recognition.engines.insightface import check_model_folder

    try:
        with _out.status(f"routing the ONNX files of {model_dir}…"):
            rows = check_model_folder(model_dir)
    except TwinError as exc:
        raise _fail(exc) from exc
    table = Table(title=escape(str(model_dir)))  # the user's names: text, never console markup
    for col in ("file", "routed class", "task", "sha256"):
        table.add_column(col)
    for r in rows:
        style = None if r.routed_class else "yellow"
        table.add_row(escape(r.file), r.routed_class or "—", escape(r.task), r.sha256[:12], style=style)
    _out.print(table)
    tasks = {r.task for r in rows}
    missing = [t for t in ("detection", "recognition") if t not in tasks]
    if missing:
        _out.print(f"[red]not usable as an engine: no {' and no '.join(missing)} model[/red]")
        raise typer.Exit(1)
    from twin.recognition.engines.insightface import InsightFaceEngine
    from twin.recognition.engines.packcheck import smoke_test

    try:  # built and run once, the way `twin run` will (the engine's own smoke test, then its result)
        with _out.status("running the detector and the recognizer once…"):
            engine = InsightFaceEngine(model_dir, det_size=(320, 320))
            smoke = smoke_test(engine)
    except TwinError as exc:
        _out.print(f"[red]not usable as an engine:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(1) from None
    _out.print(
        f"[green]usable[/green]: {escape(engine.model_id)} ran once: the detector returned "
        f"{smoke.faces_on_grey} face(s) on a grey frame, the recognizer a finite {smoke.dim}-d embedding; "
        f"providers {', '.join(engine.providers)}",
        soft_wrap=True,
    )
    return rows


@models_app.command("list")
def models_list(
    root: Annotated[Path, typer.Option("--root", help="folder holding model pack folders")] = Path(
        "~/.insightface/models"
    ),
) -> list[Path]:
    """List model pack folders under a root (default ~/.insightface/models); nothing is downloaded."""
    from twin.recognition.engines.insightface import list_model_folders

    folders = list_model_folders(root)
    if not folders:
        _out.print(
            f"no model pack folders under {Path(root).expanduser()}; unpack a pack there or pass --root"
        )
    for f in folders:
        n = len(list(f.glob("*.onnx")))
        _out.print(f"{escape(str(f))}  ({n} ONNX file{'s' if n != 1 else ''})")
    return folders
