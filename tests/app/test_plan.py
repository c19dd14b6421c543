"""The plan as a document: scenario files, uploads, the controls, saving, and the command that reproduces
it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import twin
from conftest import MAPS, SCENARIOS
from twin.app import plan as plans
from twin.errors import ScenarioError
from twin.scenario.prevalence import fitted_prevalence


@pytest.fixture
def doc(tiny_doc: dict) -> dict:
    return tiny_doc


# -- scenario files, uploads, settings --------------------------------------------------------------


def test_list_scenarios_names_every_site() -> None:
    files = plans.list_scenarios(SCENARIOS)
    names = {f.path.name for f in files}
    assert {
        "oxford_circus.yaml",
        "leicester_square.yaml",
        "stratford.yaml",
        "croydon_north_end.yaml",
    } <= names
    ox = next(f for f in files if f.path.name == "oxford_circus.yaml")
    assert ox.label == "Oxford Circus"  # short enough for the sidebar (issue 13: site names cut off)
    labels = [f.label for f in files]
    assert len(set(labels)) == len(labels) and max(map(len, labels)) <= 34, labels


def test_upload_round_trip_of_a_saved_plan() -> None:
    doc = plans.load_plan(SCENARIOS / "oxford_circus.yaml")
    text = plans.plan_yaml(doc, file_name="x.yaml")
    assert text.startswith("# ") and "twin run x.yaml" in text
    back = plans.plan_from_upload(text.encode(), "x.yaml", scenarios_dir=SCENARIOS, maps_dir=MAPS)
    assert back == yaml.safe_load(text)
    assert plans.to_scenario(back, SCENARIOS) == plans.to_scenario(doc, SCENARIOS)


@pytest.mark.parametrize(
    ("name", "data", "match"),
    [
        ("plan.txt", b"name: x", "not a scenario file"),
        ("plan.yaml", b"", "empty"),
        ("plan.yaml", b"name: [unclosed", "malformed YAML at line 1"),
        ("plan.yaml", b"- a\n- b\n", "mapping"),
        ("plan.yaml", "name: x\n".encode("utf-16"), "UTF-8"),
        ("plan.yaml", b"name: x\ncameras: []\n", "site.map is missing"),
        (
            "plan.yaml",
            b"name: x\nsite: {map: ../maps/atlantis.geojson}\n",
            "atlantis.geojson' not found.*oxford_circus.geojson",
        ),
        ("plan.yaml", b"name: x\nsite: {map: ../maps/oxford_circus.geojson}\ncameras: []\n", "cameras"),
        ("plan.yaml", b"x" * (plans.MAX_SCENARIO_BYTES + 1), "too large"),
        # an upload names the app's own maps only: no other file on the server is read
        (
            "plan.yaml",
            b"name: x\nsite: {map: /etc/passwd}\n",
            "'/etc/passwd' is not one of the app's site maps",
        ),
        (
            "plan.yaml",
            b"name: x\nsite: {map: ../README.md}\n",
            "'../README.md' is not one of the app's site maps",
        ),
        (
            "plan.yaml",
            b"name: x\nsite: {map: ../maps/oxford_circus.geojson}\nengine: {score_model: /etc/x.json}\n",
            "engine.score_model names a file on the server",
        ),
    ],
)
def test_bad_uploads_are_refused_with_the_reason(name: str, data: bytes, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        plans.plan_from_upload(data, name, scenarios_dir=SCENARIOS, maps_dir=MAPS)


def test_upload_finds_the_map_by_name_and_refuses_real_engines(tmp_path: Path) -> None:
    doc = plans.load_plan(SCENARIOS / "stratford.yaml")
    doc["site"]["map"] = "/somewhere/else/stratford.geojson"
    got = plans.plan_from_upload(
        yaml.safe_dump(doc).encode(), "s.yml", scenarios_dir=SCENARIOS, maps_dir=MAPS
    )
    assert got["site"]["map"] == "../maps/stratford.geojson"
    doc["engine"] = {"kind": "dlib"}
    with pytest.raises(ScenarioError, match="statistical"):
        plans.plan_from_upload(yaml.safe_dump(doc).encode(), "s.yml", scenarios_dir=SCENARIOS, maps_dir=MAPS)


def test_settings_default_to_a_one_hour_window_and_five_replications() -> None:
    doc = plans.load_plan(SCENARIOS / "oxford_circus.yaml")
    s = plans.settings_from_doc(doc)
    assert (s.start, s.duration_h, s.replications) == ("12:00", 1, 5)
    fitted_mean, fitted_dispersion, _ = fitted_prevalence("oxford_circus", 10_000)
    assert (s.threshold, s.watchlist_size, s.prevalence, s.seed) == (0.6, 10_000, fitted_mean, 20260101)
    assert s.prevalence_dispersion == fitted_dispersion > 0  # the spread across deployments is kept
    kept = plans.settings_from_doc(doc, keep_window=True, keep_replications=True)
    assert (kept.duration_h, kept.replications) == (6, 10)


def test_apply_settings_writes_every_control_and_leaves_the_input_alone(doc: dict) -> None:
    s = plans.PlanSettings(
        start="09:30",
        duration_h=2,
        footfall_scale=0.5,
        watchlist_size=500,
        prevalence=0.002,
        threshold=0.62,
        seed=3,
        replications=4,
    )
    out = plans.apply_settings(doc, s)
    assert out["time"] == {"start": "09:30", "duration_s": 7200}
    assert out["footfall"]["scale"] == 0.5 and out["footfall"]["rate_per_h"] == doc["footfall"]["rate_per_h"]
    assert out["watchlist"] == {"size": 500, "prevalence": 0.002, "threshold": 0.62}
    assert (out["seed"], out["replications"]) == (3, 4)
    assert doc["time"]["duration_s"] == 600  # the input is not modified


def test_time_options_and_tile_url() -> None:
    assert len(plans.time_options()) == 48 and "12:15" in plans.time_options("12:15")
    assert plans.check_tile_url("http://localhost:8080/{z}/{x}/{y}.png").endswith(".png")
    for bad in ("ftp://x/{z}/{x}/{y}", "http://localhost/tiles"):
        with pytest.raises(ScenarioError, match="XYZ template"):
            plans.check_tile_url(bad)


# -- caching --------------------------------------------------------------------------------------


# -- cameras --------------------------------------------------------------------------------------


def test_saved_yaml_is_a_valid_scenario_with_seed_and_replications(doc: dict, square_site: Path) -> None:
    full = plans.apply_settings(doc, plans.PlanSettings(seed=11, replications=3))
    text = plans.plan_yaml(full)
    back = yaml.safe_load(text)
    assert (back["seed"], back["replications"]) == (11, 3)
    assert plans.to_scenario(back, square_site.parent).seed == 11


# -- display --------------------------------------------------------------------------------------


def test_run_command_reproduces_a_rescored_variant(doc: dict, square_site: Path, tmp_path: Path) -> None:
    """The command the Compare page prints gives the numbers its column shows (re-scored, no new crowd)."""
    import shlex

    from twin.scenario.load import load_scenario

    saved = tmp_path / "plan.yaml"
    saved.write_text(plans.plan_yaml(doc, file_name="plan.yaml"))
    settings = plans.settings_from_doc(doc, keep_window=False)
    variant = plans.apply_settings(
        doc,
        plans.PlanSettings(
            start="12:00",
            duration_h=1,
            footfall_scale=1.0,
            watchlist_size=500,
            prevalence=2e-5,
            threshold=0.58,
            seed=settings.seed,
            replications=3,
        ),
    )
    cmd = plans.run_command("plan.yaml", doc, variant)
    assert cmd.startswith("twin run plan.yaml --set time.duration_s=3600")
    assert "--set watchlist.prevalence=2e-05" not in cmd and "--set watchlist.prevalence=2.0e-05" in cmd
    args = shlex.split(cmd)
    overrides = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    cli = twin.run(load_scenario(saved, overrides)).summary
    shown = twin.run(
        plans.to_scenario({**variant, "watchlist": doc["watchlist"]}, square_site.parent)
    ).rescore(threshold=0.58, watchlist_size=500, prevalence=2e-5)[1]
    for section in ("totals", "per_hour_rate", "rates"):
        assert cli[section] == shown[section]
