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


@pytest.mark.model
@pytest.mark.slow
def test_video_run_gives_one_alert_per_camera_and_no_filler_duplicates(tmp_path: Path) -> None:
    """A video of the t1 group photo (6 bank faces, panned 1 px a frame), replayed by 2 cameras: its first
    face is the watchlisted subject, matched in ~every frame; with no tracks, matches within 10 s are one
    alert per camera, so 2 alerts stand for all the frame matches. No filler may duplicate a face seen in
    the video (before, fillers drawn around the bank, t1's people included, alerted on them)."""
    import json

    import cv2
    import pandas as pd

    from real_runs import need_samples
    from twin.recognition.faces.io import load_image
    from twin.recognition.faces.samples import packaged_samples

    need_samples()
    bgr = cv2.cvtColor(load_image(packaged_samples()["t1"]), cv2.COLOR_RGB2BGR)
    video = tmp_path / "t1.avi"
    vw = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (bgr.shape[1], bgr.shape[0]))
    for i in range(40):
        vw.write(np.roll(bgr, i, axis=1))
    vw.release()
    res = runner.invoke(
        app,
        ["stress", OXFORD, "--engine", "dlib", "--duration-s", "3", "--cameras", "2", "--video", str(video),
         "--max-wall-s", "8", "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    folder = tmp_path / "out" / "stress"
    doc = json.loads((folder / "stress.json").read_text())
    alerts = pd.read_parquet(folder / "alerts.parquet")
    assert doc["ledger"]["balanced"]
    assert sorted(alerts["identity"]) == ["video-subject", "video-subject"]
    assert alerts["camera_id"].nunique() == 2 and (alerts["track"] == -1).all()
    assert doc["alerts"]["alerts"] == 2 and doc["alerts"]["true_alerts"] is None
    assert doc["alerts"]["frame_matches"] == int(alerts["frame_matches"].sum()) > 2
