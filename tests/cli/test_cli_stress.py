"""``twin stress`` on the command line: bad input is one line, exit 2, nothing written; a short dlib run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from twin.cli.main import app

runner = CliRunner()
OXFORD = "scenarios/oxford_circus.yaml"


def _bad(args: list[str], out: Path, expect: str) -> None:
    res = runner.invoke(app, ["stress", OXFORD, *args, "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert expect in res.output and "Traceback" not in res.output
    assert len([ln for ln in res.output.strip().splitlines() if ln.strip()]) <= 3  # one line, wrapped
    assert not out.exists() or not any(out.iterdir())


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--workers", "0"], "--workers 0"),
        (["--workers", "-3"], "--workers -3"),
        (["--duration-s", "0"], "--duration-s 0"),
        (["--cameras", "7"], "outside 1..6"),
        (["--engine", "neoface"], "not a stress engine"),
        (["--inject", "melt:3"], "--inject"),
    ],
)
def test_bad_options(args: list[str], expect: str, tmp_path: Path) -> None:
    _bad(args, tmp_path / "out", expect)


def test_missing_corrupt_and_faceless_video(tmp_path: Path) -> None:
    import cv2

    _bad(["--video", str(tmp_path / "none.mp4")], tmp_path / "o1", "is not a file")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    _bad(["--video", str(junk)], tmp_path / "o2", "cannot be decoded")
    grey = tmp_path / "grey.avi"
    vw = cv2.VideoWriter(str(grey), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (160, 120))
    for _ in range(20):
        vw.write(np.full((120, 160, 3), 128, np.uint8))
    vw.release()
    _bad(["--video", str(grey)], tmp_path / "o3", "no face found")


@pytest.mark.slow
def test_short_dlib_run_writes_the_folder(tmp_path: Path) -> None:
    import json

    import pandas as pd

    res = runner.invoke(
        app,
        ["stress", OXFORD, "--engine", "dlib", "--duration-s", "3", "--cameras", "1", "--workers", "1",
         "--max-wall-s", "8", "--find-capacity", "--out", str(tmp_path)],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    folder = tmp_path / "stress"
    doc = json.loads((folder / "stress.json").read_text())
    assert doc["ledger"]["balanced"] and doc["replay"]["balanced"]
    assert doc["engine"]["providers"] == ["dlib on the CPU (no ONNX Runtime)"]
    assert "sustainable_cameras" in doc["capacity_result"]
    lat = pd.read_parquet(folder / "latency.parquet")
    assert len(lat) == doc["load"]["frames_offered"]
    html = (folder / "stress.html").read_text()
    assert "<svg" in html and "<script" not in html and "<link" not in html  # inline SVG: nothing to fetch
    assert not any(f'{a}="http' in html or f"{a}='http" in html for a in ("src", "href"))
