"""Scenario validation: clear errors naming the value and the fix; defaults pinned."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import SCENARIOS, tiny_scenario_doc
from twin.errors import ScenarioError
from twin.scenario.load import apply_overrides, load_scenario, scenario_json_schema
from twin.scenario.specs import (
    LONDON_HIGH_STREET_PROFILE_PCT,
    CameraSpec,
    CaptureGate,
    CrowdSpec,
    WatchlistSpec,
)


def write(tmp_path: Path, doc: object, name: str = "s.yaml") -> Path:
    p = tmp_path / name
    p.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return p


def test_defaults_are_pinned() -> None:
    """Defaults with a source must not drift silently (jupedsim-style pin)."""
    assert CaptureGate().model_dump() == {
        "min_ied_px": 30.0,
        "max_abs_yaw_deg": 30.0,
        "max_abs_pitch_deg": 25.0,
    }
    crowd = CrowdSpec()
    assert (crowd.free_speed_mean_m_s, crowd.free_speed_sd_m_s) == (1.34, 0.26)  # Weidmann 1993
    cam = CameraSpec(id="c", lat=51.5, lon=-0.1)
    assert (cam.width_px, cam.height_px, cam.fps, cam.hfov_deg, cam.mount_height_m, cam.tilt_deg) == (
        1920,
        1080,
        10.0,
        30.0,
        3.0,
        15.0,
    )
    assert WatchlistSpec().threshold == 0.6
    assert sum(LONDON_HIGH_STREET_PROFILE_PCT) == pytest.approx(100.0, abs=0.5)
    assert (
        max(range(24), key=lambda h: LONDON_HIGH_STREET_PROFILE_PCT[h]) == 17
    )  # busiest 17-18 (Marble Arch BID)
    assert min(range(24), key=lambda h: LONDON_HIGH_STREET_PROFILE_PCT[h]) == 4  # quietest 04-05


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_loads(path: Path) -> None:
    sc = load_scenario(path)
    assert sc.site.map.is_file()


def test_unknown_key_lists_valid_ones(square_site: Path, tmp_path: Path) -> None:
    doc = tiny_scenario_doc(square_site)
    doc["watchlist"]["treshold"] = 0.6
    with pytest.raises(ScenarioError) as e:
        load_scenario(write(tmp_path, doc))
    msg = str(e.value)
    assert (
        "treshold" in msg
        and "size, prevalence, prevalence_dispersion, prevalence_fitted, threshold" in msg
        and "watchlist" in msg
    )


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"malformed YAML at line 2, column 10: mapping values"):
        load_scenario(write(tmp_path, "name: x\nsite: map: a\n"))


def test_missing_file() -> None:
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario("nowhere/none.yaml")


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="mapping"):
        load_scenario(write(tmp_path, "- a\n- b\n"))


@pytest.mark.parametrize(
    ("patch", "needle"),
    [
        ({"footfall": {"rate_per_h": [-1.0] + [10.0] * 23}}, "negative"),
        ({"footfall": {"scale": -2}}, "scale"),
        ({"time": {"duration_s": 0}}, "duration_s 0"),
        ({"time": {"start": "25:00"}}, "HH:MM"),
        ({"watchlist": {"size": 0}}, "empty watchlist"),
        ({"watchlist": {"prevalence": 1.5}}, "prevalence"),
        ({"cameras": []}, "cameras"),
        ({"replications": 0}, "replications"),
    ],
)
def test_bad_values_are_named(square_site: Path, tmp_path: Path, patch: dict, needle: str) -> None:
    doc = tiny_scenario_doc(square_site)
    for k, v in patch.items():
        doc[k] = {**doc[k], **v} if isinstance(v, dict) and isinstance(doc.get(k), dict) else v
    with pytest.raises(ScenarioError, match=needle):
        load_scenario(write(tmp_path, doc))


@pytest.mark.parametrize("hfov", [0, 180, 190])
def test_fov_out_of_range(square_site: Path, tmp_path: Path, hfov: float) -> None:
    doc = tiny_scenario_doc(square_site)
    doc["cameras"][0]["hfov_deg"] = hfov
    with pytest.raises(ScenarioError, match=f"hfov_deg {hfov}"):
        load_scenario(write(tmp_path, doc))


def test_paths_are_relative_to_the_scenario_file(square_site: Path, tmp_path: Path) -> None:
    sub = tmp_path / "scen"
    sub.mkdir()
    doc = tiny_scenario_doc(Path("../square.geojson"))
    sc = load_scenario(write(sub, doc))
    assert sc.site.map.resolve() == square_site.resolve()


def test_overrides() -> None:
    d = {"cameras": [{"tilt_deg": 15}], "watchlist": {"threshold": 0.6}}
    out = apply_overrides(d, ["watchlist.threshold=0.64", "cameras.0.tilt_deg=12", "time.start=10:00"])
    assert out["watchlist"]["threshold"] == 0.64 and out["cameras"][0]["tilt_deg"] == 12
    assert d["watchlist"]["threshold"] == 0.6  # input untouched
    with pytest.raises(ScenarioError, match=r"key\.path=value"):
        apply_overrides(d, ["watchlist.threshold"])
    with pytest.raises(ScenarioError, match="list index"):
        apply_overrides(d, ["cameras.5.tilt_deg=1"])


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("10:00", "start 600 is a number, not a clock time (YAML 1.1 reads an unquoted 10:00 as 600)"),
        ("1200", "start 1200 is a number, not a clock time"),  # ran at 20:00 before
        ("12", 'unquoted 0:12 as 12); write it in quotes as "HH:MM"'),
        ("true", "start True is not text, not a clock time"),
    ],
)
def test_unquoted_clock_time_is_refused(square_site: Path, tmp_path: Path, text: str, needle: str) -> None:
    """An unquoted clock time is a number in YAML 1.1; guessing which time was meant ran 1200 at 20:00."""
    doc = tiny_scenario_doc(square_site)
    body = yaml.safe_dump({k: v for k, v in doc.items() if k != "time"}) + f"time:\n  start: {text}\n"
    path = tmp_path / "t.yaml"
    path.write_text(body)
    with pytest.raises(ScenarioError, match=re.escape(needle)):
        load_scenario(path)
    path.write_text(body.replace(f"start: {text}", 'start: "10:00"'))
    assert load_scenario(path).time.start_s == 36000
    assert apply_overrides(doc, ["time.start=10:00"])["time"]["start"] == "10:00"  # --set keeps the text


def test_schema_has_units_in_names() -> None:
    schema = scenario_json_schema()
    text = str(schema)
    for key in ("duration_s", "mount_height_m", "hfov_deg", "rate_per_h", "min_ied_px"):
        assert key in text
    assert schema["additionalProperties"] is False
