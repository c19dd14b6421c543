"""Real-engine runs for the tests: the sample photos' check, a scenario file with a real engine, one dlib run.

``dlib_run_folder`` is the body of the session fixture ``dlib_run`` (tests/conftest.py): one small
dlib run through the CLI, shared by the real-pass and retention tests (each copies the folder before
changing it).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import IN_CI, square_site_doc, tiny_scenario_doc
from twin.cli.main import app
from twin.recognition.faces.samples import default_samples_dir, samples_present

#: Files that could hold a face image or an embedding.
IMAGE_OR_ARRAY = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".ppm", ".pgm", ".tif", ".tiff", ".npy", ".npz"}


def need_samples() -> None:
    """FAIL under CI=true when the face_recognition sample photos are absent, skip otherwise."""
    if not samples_present():
        msg = f"face_recognition sample images not in {default_samples_dir()}; run `twin samples` first"
        if IN_CI:
            pytest.fail(msg)
        pytest.skip(msg)


def image_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_OR_ARRAY}


def write_scenario(folder: Path, *, engine: dict, watchlist: dict | None = None, **extra: object) -> Path:
    """The square-site scenario, 5 minutes at noon, one replication, with a real engine."""
    site = folder / "square.geojson"
    site.write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(site, time={"start": "12:00", "duration_s": 300}, replications=1, **extra)
    doc["watchlist"] = watchlist or {"size": 300, "prevalence": 0.05, "threshold": 0.6}
    doc["engine"] = engine
    path = folder / "real.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def dlib_run_folder(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One small dlib run through the CLI, with the temp dir redirected to an empty folder and scanned."""
    need_samples()
    work = tmp_path_factory.mktemp("dlibrun")
    scratch = tmp_path_factory.mktemp("scratch-tmp")
    sc = write_scenario(work, engine={"kind": "dlib", "max_real_probes": 20})
    mp = pytest.MonkeyPatch()
    mp.setattr(tempfile, "tempdir", str(scratch))
    mp.setenv("TMPDIR", str(scratch))
    try:
        assert tempfile.gettempdir() == str(scratch)
        before = image_files(Path(tempfile.gettempdir()))
        r = CliRunner().invoke(app, ["run", str(sc), "--out", str(work / "runs"), "--no-map"])
        after = image_files(Path(tempfile.gettempdir()))
    finally:
        mp.undo()
    assert r.exit_code == 0, r.output
    (folder,) = list((work / "runs").iterdir())
    return {"folder": folder, "output": r.output, "tmp_before": before, "tmp_after": after}
