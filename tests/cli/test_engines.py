"""CLI commands `samples` and `models check|list` through typer's runner, and as plain functions."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from fixtures_engines import build_tiny_recognizer, make_tiny_pack
from twin.cli.engines import app, models_check, models_list

runner = CliRunner()


def test_models_check_table(tmp_path: Path) -> None:
    pack = make_tiny_pack(tmp_path)
    res = runner.invoke(app, ["models", "check", str(pack)])
    assert res.exit_code == 0, res.output
    assert "SCRFD" in res.output and "ArcFaceONNX" in res.output and "usable" in res.output
    rows = models_check(pack)  # plain function
    assert [r.task for r in rows] == ["detection", "recognition"]


def test_a_pack_that_routes_but_returns_nan_is_not_usable(tmp_path: Path) -> None:
    """Routing reads a model's inputs and outputs; only running it shows NaN weights. `twin run` would
    fail on the same check when it builds the engine, before any simulation."""
    from twin.errors import EngineError
    from twin.recognition.engines.insightface import InsightFaceEngine

    pack = make_tiny_pack(tmp_path)
    build_tiny_recognizer(str(pack / "w600k_tiny.onnx"), nan=True)
    res = runner.invoke(app, ["models", "check", str(pack)])
    assert res.exit_code == 1, res.output
    assert (
        "ArcFaceONNX" in res.output and "not usable as an engine" in res.output and "recognizer" in res.output
    )
    with pytest.raises(EngineError, match="the recognizer fails"):
        InsightFaceEngine(pack, det_size=(320, 320))


@pytest.mark.parametrize(
    ("manifest", "needle"),
    [
        (
            '{"manifest_version": 2, "tasks": ["det.onnx", "rec.onnx"]}',
            "tasks: Input should be a valid dictionary",
        ),
        ('{"manifest_version": 2, "tasks": {"detection": {"file": 5}}}', "tasks.detection.file"),
        ('{"manifest_version": 2, "tasks": {"detection": {"file": "d.onnx"}', "not valid JSON at line 1"),
        ('{"manifest_version": 2, "model_id": NaN}', "NaN is not a JSON number"),
    ],
)
def test_malformed_manifest_is_one_line_exit_2(tmp_path: Path, manifest: str, needle: str) -> None:
    pack = make_tiny_pack(tmp_path)
    (pack / "manifest.json").write_text(manifest)
    res = runner.invoke(app, ["models", "check", str(pack)])
    assert res.exit_code == 2, res.output
    assert needle in res.output and len(res.output.strip().splitlines()) == 1, res.output


def test_models_check_missing_folder_is_one_line_exit_2(tmp_path: Path) -> None:
    res = runner.invoke(app, ["models", "check", str(tmp_path / "buffalo_l")])
    assert res.exit_code == 2
    assert "does not exist" in res.output and "Traceback" not in res.output


def test_models_list(tmp_path: Path) -> None:
    make_tiny_pack(tmp_path, "pack_a")
    assert models_list(tmp_path) == [tmp_path / "pack_a"]
    res = runner.invoke(app, ["models", "list", "--root", str(tmp_path / "none")])
    assert res.exit_code == 0 and "no model pack folders" in res.output


def test_samples_when_already_present(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from twin.recognition.faces.samples import FR_TEST_IMAGES

    for name in FR_TEST_IMAGES:
        (tmp_path / name).write_bytes(b"jpeg bytes")
    monkeypatch.setenv("TWIN_SAMPLES_DIR", str(tmp_path))
    res = runner.invoke(app, ["samples"])
    assert res.exit_code == 0, res.output
    assert "already in" in res.output and "obama2.jpg" in res.output


def test_samples_failure_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    def fake_run(*args: object, **kwargs: object) -> subprocess.CompletedProcess:
        return subprocess.CompletedProcess(
            args, 1, "", "ERROR: No matching distribution found for face_recognition==1.3.0"
        )

    monkeypatch.setattr(subprocess, "run", fake_run)
    res = runner.invoke(app, ["samples", "--dir", str(tmp_path / "cache")])
    assert res.exit_code == 2
    assert "No matching distribution" in res.output and "Traceback" not in res.output
