"""``twin validate``: fit the forecast model on published deployments and score it on others.

Mounted into the main CLI (:func:`twin.cli.main.main`); a TwinError is one red line, exit 2.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import Progress, TextColumn
from rich.table import Table

from twin.cli.common import console, fail, handles_errors, progress_bar
from twin.errors import RecordsError

if TYPE_CHECKING:
    import pandas as pd

    from twin.records.validate import Validation

__all__ = ["app", "run_validation"]

app = typer.Typer()


def run_validation(
    records: Path | None,
    *,
    split: str | None,
    fit: list[Path],
    predict: Path | None,
    out: Path,
    seed: int = 0,
    faces: bool = True,
    scenarios_dir: Path | None = None,
    progress: Progress | None = None,
) -> tuple[Path, dict]:
    """Load, split, fit, forecast, check faces at modelled sites and write the validation folder.

    Returns:
        (the folder written, the JSON document).

    Raises:
        RecordsError: bad arguments or records (see :mod:`twin.records.schema`).
        RunFolderError: ``out`` cannot be written.
    """
    import json

    from twin.outputs.folders import check_out_dir, ensure_writable
    from twin.outputs.validation import write_validation
    from twin.records.validate import validate

    if records is not None and (fit or predict is not None):
        raise RecordsError(
            "give either RECORDS with --split DATE, or --fit FILE [--fit ...] --predict FILE, not both"
        )
    if records is None and not (fit and predict is not None):
        raise RecordsError(
            "nothing to validate: give RECORDS --split DATE (e.g. data/records/"
            "met_deployments_2020-02_2024-09.csv --split 2024-07-01) or --fit FILE --predict FILE"
        )
    if records is not None and split is None:
        raise RecordsError(
            f"{records}: say where to split with --split DATE (YYYY-MM-DD): rows before it are fitted, "
            "the rest predicted"
        )
    check_out_dir(out)  # before any work, creating nothing (issue 12)
    task = progress.add_task("loading records", total=None) if progress else None

    def step(msg: str, total: float | None = None, completed: float | None = None) -> None:
        if progress is not None and task is not None:
            progress.update(task, description=msg, total=total, completed=completed)

    fit_rows, pred_rows, sources, warnings = _load(records, split, fit, predict)
    v = validate(fit_rows, pred_rows, seed=seed, on_step=step)
    ensure_writable(out)  # after every input check: a bad file leaves no empty folder behind
    table, fsum = _check_faces(v, scenarios_dir, step) if faces else (v.table, None)
    step("writing the validation folder")
    sources["seed"] = str(seed)
    folder = write_validation(v, out, faces=fsum, table=table, sources=sources)
    doc = json.loads((folder / "validation.json").read_text(encoding="utf-8"))
    doc["_warnings"] = warnings
    return folder, doc


def _load(
    records: Path | None, split: str | None, fit: list[Path], predict: Path | None
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str], list[str]]:
    """(rows to fit, rows to predict, what they came from, loader warnings)."""
    import pandas as pd

    from twin.records.schema import load_records
    from twin.records.validate import split_by_date

    if records is not None:
        rs = load_records(records)
        try:
            date = dt.date.fromisoformat(str(split))
        except ValueError:
            raise RecordsError(
                f"--split {split!r} is not a date written YYYY-MM-DD (e.g. 2024-07-01)"
            ) from None
        fit_rows, pred_rows = split_by_date(rs.frame(), date)
        return fit_rows, pred_rows, {"records": str(records), "split": str(date)}, list(rs.warnings)
    sets = [load_records(p) for p in fit]
    pr = load_records(predict)  # type: ignore[arg-type]
    warnings = [w for s in (*sets, pr) for w in s.warnings]
    fit_rows = pd.concat([s.frame() for s in sets], ignore_index=True)
    return fit_rows, pr.frame(), {"fit": ", ".join(str(p) for p in fit), "predict": str(predict)}, warnings


def _check_faces(
    v: Validation, scenarios_dir: Path | None, step: Callable[..., None]
) -> tuple[pd.DataFrame, dict | None]:
    """The twin's faces at the modelled sites of the predicted rows (one-van runs)."""
    from twin.records.sitefaces import faces_check
    from twin.sim.sitefaces import SITE_SCENARIOS, site_profiles

    sites = sorted(set(v.table["site_id"].dropna()) & set(SITE_SCENARIOS))
    if not sites:
        return v.table, None
    step(f"simulating one van at {len(sites)} modelled site(s)", total=len(sites), completed=0)
    done: dict[str, float] = {}

    def cb(sid: str, frac: float) -> None:
        done[sid] = frac
        step(f"simulating one van at {sid}", total=len(sites), completed=sum(done.values()))

    profiles = site_profiles(scenarios_dir or _scenarios_dir(), sites, progress=cb)
    return faces_check(v.model, v.table, profiles)


def _scenarios_dir() -> Path:
    """The shipped scenarios/ folder (beside the package in a source checkout)."""
    here = Path(__file__).resolve().parents[2] / "scenarios"
    if here.is_dir():
        return here
    raise RecordsError(
        "cannot find the scenarios/ folder of the modelled sites; run from the repository or pass "
        "--scenarios DIR"
    )


def _print(folder: Path, doc: dict) -> None:
    from twin.outputs.validation import QUANTITY_LABELS

    t = Table(
        title=f"Forecasts against {doc['rows']} published deployments (fitted on {doc['fit_rows']})",
        title_justify="left",
        header_style="bold",
    )
    for c in (
        "quantity",
        "95% coverage",
        "pooled observed",
        "pooled predicted (95% PI)",
        "log score",
        "baseline",
    ):
        t.add_column(c, justify="left" if c == "quantity" else "right")
    for q, label in QUANTITY_LABELS.items():
        p = doc["pooled"][q]
        t.add_row(
            label,
            f"{doc['coverage'][q]:.0%}",
            f"{p['observed']:,}",
            f"{p['mean']:,.1f} ({p['lo']:,.0f}–{p['hi']:,.0f})",
            f"{doc['log_score']['model'][q]:.3f}",
            f"{doc['log_score']['baseline'][q]:.3f}",
        )
    console.print(t)
    fr = doc["faces_ratio"]
    if fr["n"]:
        console.print(
            f"Faces at modelled sites: twin / published, median [bold]{fr['median']:.2f}[/] "
            f"over {fr['n']} deployment(s)"
        )
    eras = ", ".join(f"{e['label']} ({e['median_faces_per_h']:,.0f} faces/h)" for e in doc["eras"])
    console.print(f"Counting eras found: {escape(eras)}", highlight=False)
    for w in doc.get("_warnings", [])[:20]:
        console.print(f"[yellow]warning:[/] {escape(w)}", highlight=False)
    for n in doc.get("notes", []):
        console.print(f"note: {escape(n)}", highlight=False)
    console.print(
        f"Validation written to:\n{folder}\nvalidation.csv, validation.json, validation.html", highlight=False
    )


@app.command("validate")
def validate_cmd(
    records: Annotated[
        Path | None, typer.Argument(help="a records CSV to split by date (with --split)")
    ] = None,
    split: Annotated[
        str | None,
        typer.Option("--split", help="fit on rows dated before this day (YYYY-MM-DD), predict the rest"),
    ] = None,
    fit: Annotated[
        list[Path] | None, typer.Option("--fit", help="records CSV to fit on (repeat for several)")
    ] = None,
    predict: Annotated[
        Path | None, typer.Option("--predict", help="records CSV to predict and score")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="parent folder of the validation folder")] = Path(
        "validations"
    ),
    seed: Annotated[int, typer.Option("--seed", help="seed of the forecast's posterior draws")] = 0,
    no_faces: Annotated[
        bool, typer.Option("--no-faces", help="skip the twin's faces at modelled sites (no simulation)")
    ] = False,
) -> None:
    """Fit the forecast model on published deployments and score its forecasts of others.

    For each predicted deployment, from its published inputs only: the predictive mean and 95%
    interval of alerts, true alerts and false alerts and the PIT of the published count; then
    coverage, pooled totals, the log score against a naive per-face baseline and, at modelled
    sites, the twin's own faces against the published ones. Writes validation.csv, .json and an
    offline .html. Exit 0 whatever the coverage (it is a report); 2 on bad input.
    """
    if seed < 0:
        raise fail(f"--seed {seed} must be >= 0")

    @handles_errors
    def go() -> None:
        with progress_bar(TextColumn("")) as progress:
            folder, doc = run_validation(
                records,
                split=split,
                fit=list(fit or []),
                predict=predict,
                out=out,
                seed=seed,
                faces=not no_faces,
                progress=progress,
            )
        _print(folder, doc)

    go()
