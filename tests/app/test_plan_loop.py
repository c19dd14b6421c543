"""The planner's loop on the Plan page under Streamlit's AppTest: each defect seen in issue 13 driven as
a planner met it, and checked where it went wrong.

1. add a camera by clicking a route, switch the click mode back, delete the new camera, apply the form
   of the camera selected then: every other camera unchanged (the old page showed the widgets'
   minimums, heading 0 / tilt −10 / FOV 5 / height 0.5, and Apply wrote them into the plan);
2. an upload that parses but fails validation (a camera's lat/lon swapped) leaves the current plan,
   its map, figures and Save button in place, the error beside them;
3. the map keeps its centre and zoom across camera edits and a footfall change: the map component
   keeps its base script (Leaflet is not rebuilt) and is given no centre or zoom, only new layers;
4. no "0–0" interval for a count the model expects above zero (threshold 0.64);
5. the deployment's breaches shown on the Plan page (threshold 0.58, a 20,000-entry watchlist);
6. a configured tile server that does not answer is said so beside the map.

A map click is what streamlit-folium's component stores under "plan_map" (``last_clicked``); AppTest
cannot click inside the component's iframe, so a test stores it as the component would.
tests/app/test_browser.py clicks the real map.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml
from streamlit.testing.v1 import AppTest

from conftest import REPO, SCENARIOS
from twin.scenario.specs import CameraSpec

APP = str(REPO / "app.py")
TIMEOUT = 240
#: A point on Oxford Street's footway the vans already watch (bench/bench_app.py's first add).
OX_ADD = (51.5152881, -0.1425125)
NOTHING, ADD, MOVE = "Nothing (look around)", "Add a camera", "Move the selected camera"


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    _no_errors(at)
    return at


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    return str(next(m.value for m in at.metric if m.label == label))


def _button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in at.button if b.label == label)


#: The camera form's fields by label; a camera leaving one out gets the scenario default
#: (twin.scenario.specs.CameraSpec: tilt 15°, FOV 30°, height 3 m).
FORM = {
    "heading_deg": "Heading, °",
    "tilt_deg": "Tilt down, °",
    "hfov_deg": "Field of view, °",
    "mount_height_m": "Height, m",
}


def _form(at: AppTest) -> dict[str, float]:
    """The camera form's values by field (its widgets are keyed by camera id and revision)."""
    by_label = {n.label: n.value for n in at.number_input}
    return {key: float(by_label[label]) for key, label in FORM.items()}


def _click(at: AppTest, lat: float, lon: float) -> AppTest:
    at.session_state["plan_map"] = {"last_clicked": {"lat": lat, "lng": lon}}
    return at.run()


def _effective(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every camera as the run sees it (its own values, or the defaults it leaves out), by id."""
    defaults = CameraSpec.model_fields
    out = {}
    for c in doc["cameras"]:
        cam = {**c, **{k: float(c.get(k, defaults[k].default)) for k in FORM}}
        cam["heading_deg"] = round(cam["heading_deg"] % 360.0, 1)
        out[c["id"]] = cam
    return out


def _map_args(at: AppTest) -> dict[str, Any]:
    """The map component's arguments as the browser receives them."""
    (comp,) = [e for e in at.main if getattr(e, "type", None) == "component_instance"] or [
        e for e in _walk(at) if getattr(e, "type", None) == "component_instance"
    ]
    return json.loads(comp.proto.json_args)


def _walk(at: AppTest):  # type: ignore[no-untyped-def]
    stack = [at._tree]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
        yield node


def test_add_switch_delete_apply_leaves_every_other_camera_unchanged() -> None:
    at = _app()
    before = _effective(at.session_state["plan"].doc)
    faces = _metric(at, "Faces scanned")
    at.radio(key="click_mode").set_value(ADD).run()
    _click(at, *OX_ADD)
    _no_errors(at)
    new = at.selectbox(key="w_camera").value
    assert new not in before and new in _effective(at.session_state["plan"].doc)
    at.radio(key="click_mode").set_value(NOTHING).run()
    _button(at, f"Delete {new}").click().run()
    _no_errors(at)
    assert any(f"Camera {new} deleted" in s.value for s in at.success)
    sel = at.selectbox(key="w_camera").value
    assert sel in before
    want = {k: before[sel][k] for k in _form(at)}
    assert _form(at) == want  # e.g. 76.1 / 15 / 30 / 3.0 at van_oxford_e_cam1, not the widgets' minimums
    _button(at, f"Apply to {sel}").click().run()
    _no_errors(at)
    assert _effective(at.session_state["plan"].doc) == before
    assert _metric(at, "Faces scanned") == faces


def test_an_upload_that_fails_validation_keeps_the_plan_map_figures_and_save() -> None:
    at = _app()
    doc_before = copy.deepcopy(at.session_state["plan"].doc)
    bad = yaml.safe_load((SCENARIOS / "oxford_circus.yaml").read_text())
    cam = bad["cameras"][0]
    cam["lat"], cam["lon"] = cam["lon"], cam["lat"]
    at.file_uploader(key="upload_plan").upload(
        "swapped.yaml", yaml.safe_dump(bad).encode(), "application/x-yaml"
    )
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["plan"].doc == doc_before
    assert "Oxford Circus LFR van deployment" in at.caption[0].value
    assert _map_args(at)["script"]  # the map is still drawn
    assert _metric(at, "Passers-by") and _metric(at, "False alerts")
    assert at.sidebar.get("download_button")  # Save this plan
    msgs = [e.value for e in at.error]  # the reason, once, beside the uploader, naming the file
    assert len(msgs) == 1 and "swapped.yaml" in msgs[0] and "swapped" in msgs[0].split(":", 1)[1], msgs


def test_the_map_keeps_its_view_across_camera_edits_and_a_footfall_change() -> None:
    at = _app()
    first = _map_args(at)
    assert first["zoom"] is None and first["center"] is None  # Leaflet keeps the planner's view
    at.radio(key="click_mode").set_value(ADD).run()
    _click(at, *OX_ADD)
    added = _map_args(at)
    assert added["script"] == first["script"]  # the base map is not rebuilt: no view reset
    new = at.selectbox(key="w_camera").value
    assert new in added["feature_group"]  # the new camera is drawn, as a swapped layer
    at.radio(key="click_mode").set_value(MOVE).run()
    _click(at, OX_ADD[0], OX_ADD[1] + 0.00008)
    moved = _map_args(at)
    at.slider(key="w_scale").set_value(1.5).run()
    _no_errors(at)
    footfall = _map_args(at)
    for args in (added, moved, footfall):
        assert args["script"] == first["script"]  # the base map is not rebuilt: no view reset
        assert args["zoom"] is None and args["center"] is None
    assert moved["feature_group"] != added["feature_group"]


def test_no_0_0_interval_for_false_alerts_the_model_expects() -> None:
    at = _app()
    at.slider(key="w_threshold").set_value(0.64).run()
    _no_errors(at)
    fa = next(m for m in at.metric if m.label == "False alerts")
    captions = [c.value for c in at.caption]
    assert not any("0–0" in c or "0.0–0.0" in c for c in captions), captions
    if "(model)" not in fa.value:  # some false alerts simulated: the interval says what it rests on
        assert any("over 5 replications of 1 h" in c for c in captions), captions
    assert any("5 replications of 1 h" in c for c in captions), captions


def test_breaches_show_on_the_plan_page_as_the_plan_changes() -> None:
    at = _app()
    assert not any("breaches" in e.value for e in at.error)
    at.slider(key="w_threshold").set_value(0.58).run()
    at.number_input(key="w_size").set_value(20_000).run()
    assert not at.exception
    (msg,) = [e.value for e in at.error if "This plan breaches" in e.value]
    assert "watchlist larger than the policy allows: 20,000" in msg
    assert "threshold below the force's minimum" in msg
    at.slider(key="w_threshold").set_value(0.6).run()
    at.number_input(key="w_size").set_value(
        int(yaml.safe_load((SCENARIOS / "oxford_circus.yaml").read_text())["watchlist"]["size"])
    ).run()
    assert not any("This plan breaches" in e.value for e in at.error)


def test_a_tile_server_that_does_not_answer_is_reported_beside_the_map() -> None:
    at = _app()
    at.text_input(key="tile_url").input("http://127.0.0.1:9/{z}/{x}/{y}.png").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("Map tiles:") and "127.0.0.1:9" in w for w in warnings), warnings
    assert _map_args(at)["script"]  # the site is still drawn, from its own streets
