"""The CLI as a user meets it: a run folder, a summary, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from conftest import REPO, tiny_scenario_doc
from twin.cli.main import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def bad_scenario(tmp_path: Path, square_site: Path, mutate) -> Path:
    doc = tiny_scenario_doc(square_site)
    mutate(doc)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(doc))
    return p


CASES = {
    "unknown key": (lambda d: d.update(colour="red"), "unknown key 'colour'"),
    "negative rate": (lambda d: d.update(footfall={"rate_per_h": [-5] * 24}), "negative"),
    "threshold outside range": (lambda d: d["watchlist"].update(threshold=2.0), "score range"),
    "fov zero": (lambda d: d["cameras"][0].update(hfov_deg=0), "hfov_deg 0"),
    "fov 180": (lambda d: d["cameras"][0].update(hfov_deg=180), "hfov_deg 180"),
    "camera outside": (
        lambda d: d["cameras"][0].update(lat=d["cameras"][0]["lat"] + 0.02),
        "outside the Test square geofence",
    ),
    "swapped lat lon": (
        lambda d: d["cameras"][0].update(lat=d["cameras"][0]["lon"], lon=d["cameras"][0]["lat"]),
        "swapped",
    ),
    "missing map": (lambda d: d["site"].update(map="nowhere.geojson"), "not found"),
    "zero duration": (lambda d: d["time"].update(duration_s=0), "duration_s 0"),
    "empty watchlist": (lambda d: d["watchlist"].update(size=0), "empty watchlist"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_one_line_exit_2_nothing_written(case: str, tmp_path: Path, square_site: Path) -> None:
    mutate, needle = CASES[case]
    out = tmp_path / "runs"
    r = invoke("run", str(bad_scenario(tmp_path, square_site, mutate)), "--out", str(out))
    assert r.exit_code == 2, r.output
    assert needle in r.output
    assert "Traceback" not in r.output
    assert not out.exists() or not any(out.iterdir())


def test_malformed_yaml_and_self_intersecting_polygon(tmp_path: Path, square_site: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("name: [x\n")
    r = invoke("run", str(p), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "malformed YAML" in r.output
    site = json.loads(square_site.read_text())
    ring = site["features"][0]["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]
    bad_map = tmp_path / "bowtie.geojson"
    bad_map.write_text(json.dumps(site))
    r = invoke("run", str(bad_scenario(tmp_path, bad_map, lambda d: None)), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "Self-intersection" in r.output


def test_schema_and_sites() -> None:
    r = invoke("schema")
    assert r.exit_code == 0 and json.loads(r.output)["title"] == "Scenario"
    r = invoke("sites", str(REPO / "maps"))
    assert r.exit_code == 0 and "Oxford" in r.output and "approx." in r.output


def test_real_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "twin", "run", str(tmp_path / "absent.yaml")], capture_output=True, text=True
    )
    assert r.returncode == 2
    assert r.stderr.strip().startswith("error:") and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) <= 2


def test_unwritable_out_fails_before_simulating(
    tiny_scenario_path: Path, tmp_path: Path, monkeypatch
) -> None:
    import twin.sim.run

    def boom(*a, **k):  # the simulation must not even start
        raise AssertionError("simulated before checking --out")

    monkeypatch.setattr(twin.sim.run, "run", boom)
    target = tmp_path / "a_file"
    target.write_text("x")
    r = invoke("run", str(tiny_scenario_path), "--out", str(target))
    assert r.exit_code == 2 and "is a file, not a folder" in r.output


def test_brackets_survive_in_messages(tmp_path: Path, square_site: Path) -> None:
    doc = json.loads(square_site.read_text())
    ring = doc["features"][0]["geometry"]["coordinates"][0]
    doc["features"][0]["geometry"]["coordinates"][0] = [[lat, lon] for lon, lat in ring]
    bad_map = tmp_path / "swapped.geojson"
    bad_map.write_text(json.dumps(doc))
    r = invoke("run", str(bad_scenario(tmp_path, bad_map, lambda d: None)), "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "[lon, lat]" in r.output
