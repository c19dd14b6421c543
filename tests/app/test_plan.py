"""Pure helpers behind the browser app: plans as documents, cameras from clicks, caching keys, display."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import twin
from conftest import MAPS, SCENARIOS, X0, Y0, tiny_scenario_doc
from twin.app import cache, cameras, views
from twin.app import plan as plans
from twin.errors import CameraGeometryError, GeofenceError, ScenarioError
from twin.scoring.summary import metric
from twin.sim.run import crowd_key
from twin.world.geo import bng_to_lonlat
from twin.world.site import load_site


@pytest.fixture
def site(square_site: Path):
    return load_site(square_site)


@pytest.fixture
def doc(square_site: Path) -> dict:
    return tiny_scenario_doc(square_site)


def _ll(x: float, y: float) -> tuple[float, float]:
    lon, lat = bng_to_lonlat(X0 + x, Y0 + y)
    return float(lat), float(lon)


# -- scenario files, uploads, settings --------------------------------------------------------------


def test_list_scenarios_names_every_site() -> None:
    files = plans.list_scenarios(SCENARIOS)
    names = {f.path.name for f in files}
    assert {"oxford_circus.yaml", "leicester_square.yaml", "stratford.yaml", "croydon_north_end.yaml"} <= names
    ox = next(f for f in files if f.path.name == "oxford_circus.yaml")
    assert ox.label == f"{ox.name} (oxford_circus.yaml)"


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
        ("plan.yaml", b"name: x\nsite: {map: ../maps/atlantis.geojson}\n", "atlantis.geojson' not found.*oxford_circus.geojson"),
        ("plan.yaml", b"name: x\nsite: {map: ../maps/oxford_circus.geojson}\ncameras: []\n", "cameras"),
        ("plan.yaml", b"x" * (plans.MAX_SCENARIO_BYTES + 1), "too large"),
    ],
)
def test_bad_uploads_are_refused_with_the_reason(name: str, data: bytes, match: str) -> None:
    with pytest.raises(ScenarioError, match=match):
        plans.plan_from_upload(data, name, scenarios_dir=SCENARIOS, maps_dir=MAPS)


def test_upload_finds_the_map_by_name_and_refuses_real_engines(tmp_path: Path) -> None:
    doc = plans.load_plan(SCENARIOS / "stratford.yaml")
    doc["site"]["map"] = "/somewhere/else/stratford.geojson"
    got = plans.plan_from_upload(yaml.safe_dump(doc).encode(), "s.yml", scenarios_dir=SCENARIOS, maps_dir=MAPS)
    assert got["site"]["map"] == "../maps/stratford.geojson"
    doc["engine"] = {"kind": "dlib"}
    with pytest.raises(ScenarioError, match="statistical"):
        plans.plan_from_upload(yaml.safe_dump(doc).encode(), "s.yml", scenarios_dir=SCENARIOS, maps_dir=MAPS)


def test_settings_default_to_a_one_hour_window_and_five_replications() -> None:
    doc = plans.load_plan(SCENARIOS / "oxford_circus.yaml")
    s = plans.settings_from_doc(doc)
    assert (s.start, s.duration_h, s.replications) == ("12:00", 1, 5)
    assert (s.threshold, s.watchlist_size, s.prevalence, s.seed) == (0.6, 10_000, 1.3e-4, 20260101)
    kept = plans.settings_from_doc(doc, keep_window=True, keep_replications=True)
    assert (kept.duration_h, kept.replications) == (6, 10)


def test_apply_settings_writes_every_control_and_leaves_the_input_alone(doc: dict) -> None:
    s = plans.PlanSettings(start="09:30", duration_h=2, footfall_scale=0.5, watchlist_size=500, prevalence=0.002,
                              threshold=0.62, seed=3, replications=4)
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


def test_crowd_key_ignores_only_what_rescore_changes(doc: dict, square_site: Path) -> None:
    base = plans.to_scenario(doc, square_site.parent)

    def key(**wl: object) -> str:
        d = {**doc, "watchlist": {**doc["watchlist"], **wl}}
        return crowd_key(plans.to_scenario(d, square_site.parent))

    k = crowd_key(base)
    assert key(threshold=0.64) == k and key(size=99) == k and key(prevalence=0.5) == k
    assert crowd_key(plans.to_scenario({**doc, "name": "renamed"}, square_site.parent)) == k
    for change in ({"seed": 8}, {"replications": 4}, {"time": {"start": "13:00", "duration_s": 600}},
                   {"footfall": {"rate_per_h": [1800.0] * 24}}):
        assert crowd_key(plans.to_scenario({**doc, **change}, square_site.parent)) != k
    moved = cameras.update_camera(doc, "cam_w", heading_deg=280.0)
    assert crowd_key(plans.to_scenario(moved, square_site.parent)) != k


def test_run_cache_drops_the_least_recently_used() -> None:
    c = cache.RunCache(max_entries=2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # a is now the most recent
    c.put("c", 3)
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3 and len(c) == 2
    c.clear()
    assert len(c) == 0 and c.get("a") is None


def test_rescored_numbers_equal_a_fresh_run_of_the_saved_plan(doc: dict, square_site: Path) -> None:
    """What the app shows after a threshold change (rescore) is what `twin run` gives on the saved plan."""
    sc = plans.to_scenario(doc, square_site.parent)
    res = twin.run(sc)
    _, shown = res.rescore(threshold=0.58, watchlist_size=500)
    saved = plans.apply_settings(doc, plans.PlanSettings(
        start=sc.time.start, duration_h=1, watchlist_size=500, prevalence=sc.watchlist.prevalence, threshold=0.58,
        seed=sc.seed, replications=sc.replications))
    saved["time"]["duration_s"] = sc.time.duration_s
    fresh = twin.run(plans.to_scenario(saved, square_site.parent)).summary
    for section in ("totals", "per_hour_rate", "rates", "hourly"):
        assert shown[section] == fresh[section]


# -- cameras --------------------------------------------------------------------------------------


def test_camera_at_a_click_faces_the_walkers(site) -> None:
    lat, lon = _ll(40.0, 0.0)  # on the footway; the nearest route is "east" (walking +x)
    cam = cameras.camera_at(site, lat, lon, existing_ids=["cam_1"])
    assert cam["id"] == "cam_2"
    # both routes run along y = 0 (one each way); the camera looks along the footway, east or west
    assert min(abs(cam["heading_deg"] - 90.0), abs(cam["heading_deg"] - 270.0)) < 1.0
    assert cameras.camera_at(site, lat, lon, heading_deg=12.5, tilt_deg=20.0)["heading_deg"] == 12.5


def test_suggest_heading_looks_against_the_walking_direction(site) -> None:
    east = next(r for r in site.routes if r.id == "east")
    x, y = east.line.interpolate(30.0).coords[0]
    # the "east" route walks +x (heading 90) and "west" -x: whichever is nearest, the camera faces its walkers
    h = cameras.suggest_heading(site, x, y + 0.1)  # 0.1 m off the line: aims 5 m upstream, atan(0.1 / 5) = 1.1 degrees
    assert min(abs(h - 270.0), abs(h - 90.0)) < 1.5


def test_camera_outside_the_geofence_or_london_is_refused(site) -> None:
    lat, lon = _ll(50.0, 60.0)  # 40 m north of the 20 m half-width fence
    with pytest.raises(CameraGeometryError, match="40 m outside the Test square geofence"):
        cameras.camera_at(site, lat, lon)
    with pytest.raises(GeofenceError):
        cameras.camera_at(site, 48.85, 2.35)  # Paris
    with pytest.raises(CameraGeometryError, match="hfov_deg"):
        cameras.camera_at(site, *_ll(40, 0), hfov_deg=200.0)


def test_add_move_update_delete_cameras(doc: dict, site) -> None:
    cam = cameras.camera_at(site, *_ll(20.0, 2.0), existing_ids=cameras.camera_ids(doc))
    d1 = cameras.add_camera(doc, cam)
    assert cameras.camera_ids(d1) == ["cam_w", "cam_1"] and cameras.camera_ids(doc) == ["cam_w"]
    with pytest.raises(ScenarioError, match="taken"):
        cameras.add_camera(d1, cam)
    lat, lon = _ll(60.0, -2.0)
    d2 = cameras.move_camera(d1, "cam_1", lat, lon, site)
    moved = d2["cameras"][1]
    assert (moved["lat"], moved["lon"]) == (round(lat, 7), round(lon, 7)) and moved["heading_deg"] == cam["heading_deg"]
    d3 = cameras.update_camera(d2, "cam_1", tilt_deg=20.0, hfov_deg=45.0, mount_height_m=4.0)
    assert (d3["cameras"][1]["tilt_deg"], d3["cameras"][1]["hfov_deg"], d3["cameras"][1]["mount_height_m"]) == (20.0, 45.0, 4.0)
    with pytest.raises(CameraGeometryError, match="tilt_deg"):
        cameras.update_camera(d3, "cam_1", tilt_deg=95.0)
    with pytest.raises(ScenarioError, match="no camera 'nope'"):
        cameras.update_camera(d3, "nope", tilt_deg=1.0)
    d4 = cameras.delete_camera(d3, "cam_w")
    assert cameras.camera_ids(d4) == ["cam_1"]
    with pytest.raises(ScenarioError, match="only camera"):
        cameras.delete_camera(d4, "cam_1")
    plans.to_scenario(d4, "/")  # still a valid scenario


def test_saved_yaml_is_a_valid_scenario_with_seed_and_replications(doc: dict, square_site: Path) -> None:
    full = plans.apply_settings(doc, plans.PlanSettings(seed=11, replications=3))
    text = plans.plan_yaml(full)
    back = yaml.safe_load(text)
    assert (back["seed"], back["replications"]) == (11, 3)
    assert plans.to_scenario(back, square_site.parent).seed == 11


# -- display --------------------------------------------------------------------------------------


def test_band_text_shows_mean_unit_and_predictive_interval() -> None:
    """One formatter for every output (twin.scoring.summary.fmt_value): the app prints what the report prints."""
    assert views.band_text({"mean": 32530.2, "p2_5": 32213.0, "p97_5": 32733.0}, metric("per_hour_rate.passers_by"),
                           unit="/h") == "32,530 /h (95% PI 32,213–32,733)"
    zero = {"mean": 0.0, "p2_5": 0.0, "p97_5": 0.0}
    assert views.band_text(zero, metric("per_hour_rate.false_alerts")) == "0.0 (95% PI 0.0–0.0)"
    sci = {"mean": 1.41e-4, "p2_5": 1e-4, "p97_5": 2e-4}
    assert views.band_text(sci, metric("rates.fpir")) == "1.41e-04 (95% PI 1.00e-04–2.00e-04)"
    assert views.band_text(None, metric("totals.alerts")) == "–"
    empty = {"mean": None, "p2_5": None, "p97_5": None}
    assert views.band_text(empty, metric("rates.tpir")) == "– (no watchlisted passer-by in a zone in any replication)"


def _summary() -> dict:
    def band(m: float) -> dict:
        return {"mean": m, "p2_5": m / 2, "p97_5": m * 2}

    return {
        "totals": {"passers_by": band(1000.0), "faces_scanned": band(500.0), "alerts": band(3.0), "true_alerts": band(1.0),
                   "false_alerts": band(2.0)},
        "per_hour_rate": {"passers_by": band(1000.0), "faces_scanned": band(500.0), "true_alerts": band(1.0),
                          "false_alerts": band(2.0)},
        "rates": {"precision": band(0.33), "tpir": band(0.9), "fpir": band(4e-3)},
        "hourly": {"true_alerts": [band(1.0), band(0.5)], "false_alerts": [band(2.0), band(1.0)]},
        "model": {"model_id": "m", "fpir_at_threshold": 1.7e-4},
    }


def test_result_table_and_frames() -> None:
    t = views.result_table(_summary())
    assert list(t.columns) == ["Metric", "Expected (95% PI)", "Unit"]
    row = t.set_index("Metric").loc["False alerts"]
    assert row["Expected (95% PI)"] == "2.0 (95% PI 1.0–4.0)" and row["Unit"] == "alerts/h"
    h = views.hourly_frame(_summary(), 23)
    assert list(h["hour"].unique()) == ["23:00", "00:00"] and len(h) == 4
    c = views.compare_table([("A", _summary()), ("B", _summary())])
    assert list(c.columns) == ["A", "B"] and c.loc["False alerts (alerts/h)", "B"] == "2.0 (95% PI 1.0–4.0)"
    f = views.compare_frame([("A", _summary())])
    assert set(f["metric"]) == {"True alerts /h", "False alerts /h"} and f["hi"].max() == 4.0


def test_heat_points_keep_usable_captures_only() -> None:
    tracks = pd.DataFrame({"x_m": [1.0, 2.0, np.nan], "y_m": [3.0, 4.0, 5.0], "usable_captures": [2, 0, 1]})
    assert views.heat_points(tracks).tolist() == [[1.0, 3.0]]
    assert views.heat_points(None).shape == (0, 2)


def test_operations_view_reads_the_operations_section_or_says_none() -> None:
    assert views.operations_rows(_summary()) is None
    s = _summary()
    s["operations"] = {
        "per_hour_rate": {"stops": {"mean": 1.5, "p2_5": 0.0, "p97_5": 3.0}},
        "rates": {"engaged_true_share": {"mean": 0.8, "p2_5": 0.5, "p97_5": 1.0}},
        "officers_needed": {"officers_needed": 3, "target_engaged_share": 0.8, "note": "3 officer(s) engage >= 80%"},
    }
    v = views.operations_rows(s)
    assert v is not None and v.officers_needed == 3 and v.target_share == 0.8 and v.note.startswith("3 officer")
    assert ("Stops by officers", "1.5 /h (95% PI 0.0–3.0)") in v.rows
    table = views.compare_table([("A", s), ("B", _summary())])
    assert table.loc["Officers needed (for 80% of true alerts engaged)"].tolist() == ["3", "–"]
    assert table.loc["Stops by officers (/h)", "A"] == "1.5 (95% PI 0.0–3.0)"
    s["operations"]["officers_needed"] = {"officers_needed": None, "true_alerts": 0, "note": "no true alert"}
    assert views.operations_rows(s).officers_text == "n/a"
    s["operations"]["officers_needed"]["true_alerts"] = 4
    assert views.operations_rows(s).officers_text == "not reached"


def test_record_preview_states_what_the_plan_determines(doc: dict, square_site: Path, site) -> None:
    sc = plans.to_scenario(doc, square_site.parent)
    prev = views.record_preview(sc, _summary(), site)
    rows = dict(prev.rows)
    assert rows["Time window"] == "12:00–12:10 local (0.166667 h)"
    assert rows["LFR notice signs"] == "2 on the map"
    assert rows["Expected FPIR"].startswith("1.70e-04 per face scanned")
    assert "deleted at once" in rows["Retention"] and "destroyed" in rows["Retention"]
    assert prev.governance == () and prev.checks == ()  # no governance block in the tiny plan


def test_record_preview_checks_the_forces_limits() -> None:
    from twin.sim.context import prepare

    sc = plans.to_scenario(plans.load_plan(SCENARIOS / "oxford_circus.yaml"), SCENARIOS)
    if getattr(sc, "governance", None) is None:
        pytest.skip("this scenario model has no governance block")
    site = prepare(sc).site
    over = sc.model_copy(update={"watchlist": sc.watchlist.model_copy(update={"size": 10**6})})
    prev = views.record_preview(over, _summary(), site)
    status = {r: s for r, s, _ in prev.checks}
    assert status["Watchlist size within the force's limit"] == "breach"
    assert status["Plan window inside the authorised period"] == "ok"
    assert dict(prev.governance)["DPIA"]


def test_placement_note_warns_when_the_walkers_are_out_of_reach(site) -> None:
    near = cameras.camera_at(site, *_ll(40.0, 1.0))
    assert cameras.placement_note(site, near).startswith(f"facing {near['heading_deg']:.0f}°, 1 m from the nearest walking route")
    far = cameras.camera_at(site, *_ll(40.0, 18.0))
    note = cameras.placement_note(site, far)
    assert "18 m from the nearest walking route (test footway)" in note and "only within" in note


def test_suggested_heading_from_the_side_looks_upstream_at_the_route(site) -> None:
    x, y = X0 + 40.0, Y0 + 4.0  # 4 m north of the footway walked both ways
    h = cameras.suggest_heading(site, x, y)
    # aims 10 m (2.5 x 4 m) along the footway: atan(4 / 10) = 21.8 degrees off the footway's line
    off = min(abs(h - 90.0 - 21.8), abs(h - 270.0 + 21.8))
    assert off < 0.5, h


def test_run_command_reproduces_a_rescored_variant(doc: dict, square_site: Path, tmp_path: Path) -> None:
    """The command the Compare page prints gives the numbers its column shows (re-scored, no new crowd)."""
    import shlex

    from twin.scenario.load import load_scenario

    saved = tmp_path / "plan.yaml"
    saved.write_text(plans.plan_yaml(doc, file_name="plan.yaml"))
    settings = plans.settings_from_doc(doc, keep_window=False)
    variant = plans.apply_settings(doc, plans.PlanSettings(
        start="12:00", duration_h=1, footfall_scale=1.0, watchlist_size=500, prevalence=2e-5, threshold=0.58,
        seed=settings.seed, replications=3))
    cmd = plans.run_command("plan.yaml", doc, variant)
    assert cmd.startswith("twin run plan.yaml --set time.duration_s=3600")
    assert "--set watchlist.prevalence=2e-05" not in cmd and "--set watchlist.prevalence=2.0e-05" in cmd
    args = shlex.split(cmd)
    overrides = [args[i + 1] for i, a in enumerate(args) if a == "--set"]
    cli = twin.run(load_scenario(saved, overrides)).summary
    shown = twin.run(plans.to_scenario({**variant, "watchlist": doc["watchlist"]}, square_site.parent)).rescore(
        threshold=0.58, watchlist_size=500, prevalence=2e-5)[1]
    for section in ("totals", "per_hour_rate", "rates"):
        assert cli[section] == shown[section]
