"""Privacy, by content: no embedding and no face crop of a non-matched probe is written anywhere.

One small dlib run through the CLI records, in memory, every embedding the engine produced (enrolment and
probes) and every face it rendered and aligned. Then every file the run and the process wrote, wherever
(the run folder, the temp folder, the working folder, the audit log's entry texts), is searched for them
by content, never by file name:

* an embedding as float32 or float64 bytes, or as 4 consecutive numbers in any text or Parquet column;
* a face as a raw pixel run (a 64-byte slice of a row of a rendered probe or an aligned chip);
* any file that decodes as an image, whatever its name, must be an alert crop the audit log lists.

No embedding may be written at all (an alert keeps its crop and its candidate list, not an embedding).
"""

from __future__ import annotations

import json
import re
import sqlite3
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from conftest import square_site_doc, tiny_scenario_doc
from real_runs import need_samples
from twin.cli.main import app

pytestmark = [pytest.mark.model, pytest.mark.slow]

_NUMBER = re.compile(rb"-?\d+\.\d+(?:[eE][-+]?\d+)?")


def _runs(values: np.ndarray, want: np.ndarray, tol: float) -> bool:
    """True when 4 consecutive entries of ``values`` equal the first 4 of ``want`` (within ``tol``)."""
    if len(values) < 4:
        return False
    hits = np.flatnonzero(np.abs(values[:-3] - want[0]) <= tol)
    return any(np.all(np.abs(values[i : i + 4] - want[:4]) <= tol) for i in hits)


def _numbers_in_text(data: bytes) -> np.ndarray:
    return np.array([float(m) for m in _NUMBER.findall(data)], dtype=np.float64)


def _parquet_columns(path: Path) -> list[np.ndarray]:
    import pyarrow.parquet as pq

    cols = []
    table = pq.read_table(path)
    for col in table.columns:
        try:
            cols.append(np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64).ravel())
        except (TypeError, ValueError):
            continue
    return cols


def _scan(path: Path, data: bytes, embs: list[np.ndarray], rows: list[bytes], listed: set[Path]) -> list[str]:
    import cv2

    found = []
    for k, e in enumerate(embs):
        e32 = e.astype(np.float32)
        if e32[:4].tobytes() in data or e32.astype(np.float64)[:4].tobytes() in data:
            found.append(f"{path}: embedding {k} as binary")
    numbers = [_numbers_in_text(data)] + (_parquet_columns(path) if data.startswith(b"PAR1") else [])
    for k, e in enumerate(embs):
        if any(_runs(v, e.astype(np.float64), 1e-5) for v in numbers):
            found.append(f"{path}: embedding {k} as numbers")
    found += [f"{path}: a face's raw pixels" for r in rows if r in data]
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if img is not None and path.resolve() not in listed:
        found.append(f"{path}: an image the audit log does not list as an alert crop")
    return found


def test_no_non_matched_embedding_or_crop_is_written_anywhere(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_samples()
    import twin.sim.realpass as realpass
    from twin.recognition.engines.dlib import DlibEngine

    work, scratch = tmp_path_factory.mktemp("privacy"), tmp_path_factory.mktemp("privacy-tmp")
    (work / "square.geojson").write_text(json.dumps(square_site_doc()))
    doc = tiny_scenario_doc(
        work / "square.geojson", time={"start": "12:00", "duration_s": 300}, replications=1
    )
    doc["watchlist"] = {"size": 300, "prevalence": 0.05, "threshold": 0.6}
    doc["engine"] = {"kind": "dlib", "max_real_probes": 20}
    (work / "real.yaml").write_text(yaml.safe_dump(doc))

    embs: list[np.ndarray] = []
    faces: list[np.ndarray] = []
    embed_batch, chips, render = DlibEngine.embed_batch, DlibEngine.chips, realpass.render_probe

    def rec_embed(self, images, fl):  # type: ignore[no-untyped-def]
        out = embed_batch(self, images, fl)
        embs.extend(np.array(row) for arr in out for row in arr)
        return out

    def rec_chips(self, image, fl):  # type: ignore[no-untyped-def]
        out = chips(self, image, fl)
        faces.extend(np.array(c) for c in out)
        return out

    def rec_render(*a, **k):  # type: ignore[no-untyped-def]
        pr = render(*a, **k)
        faces.append(np.array(pr.patch))
        return pr

    monkeypatch.setattr(DlibEngine, "embed_batch", rec_embed)
    monkeypatch.setattr(DlibEngine, "chips", rec_chips)
    monkeypatch.setattr(realpass, "render_probe", rec_render)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.chdir(work)
    r = CliRunner().invoke(app, ["run", "real.yaml", "--no-map"])  # into ./runs, the working folder
    assert r.exit_code == 0, r.output
    assert len(embs) > 20 and len(faces) > 20  # the probes and the enrolment really went through
    assert all(abs(float(np.linalg.norm(e)) - 1) < 1e-3 for e in embs)  # copied before being zeroed

    (folder,) = (work / "runs").iterdir()
    con = sqlite3.connect(folder / "audit.sqlite")
    entries = con.execute("SELECT kind, detail FROM entries").fetchall()
    con.close()
    listed = {
        (folder / f).resolve()
        for kind, detail in entries
        if kind == "alert_data_written"
        for f in json.loads(detail)["files"]
    }
    rows = []
    for f in faces:
        mid = f[f.shape[0] // 2].tobytes()
        if len(mid) >= 64 and len(set(mid[:64])) > 8:  # a textured slice, not a flat background
            rows.append(mid[len(mid) // 2 - 32 : len(mid) // 2 + 32])
    files = [p for root in (work, scratch) for p in root.rglob("*") if p.is_file()]
    assert any(p.name == "audit.sqlite" for p in files) and any(p.suffix == ".parquet" for p in files)
    found: list[str] = []
    for p in files:
        found += _scan(p, p.read_bytes(), embs, rows, listed)
    for kind, detail in entries:  # the log's texts, read the way a reader of the log sees them
        found += _scan(Path(f"audit:{kind}"), detail.encode(), embs, rows, listed)
    assert not found, found[:10]
    # the search would find them: an embedding written as JSON, a crop saved under a harmless name
    assert _scan(Path("x.json"), json.dumps(embs[0].tolist()).encode(), embs, rows, listed)
    import cv2

    _, png = cv2.imencode(".png", faces[0])
    assert _scan(Path("notes.dat"), png.tobytes(), embs, rows, listed)
