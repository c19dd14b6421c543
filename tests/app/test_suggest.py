""" "Suggest placement" on the Plan page (twin/app/suggest.py, pages/plan.py's _suggest_section): the
suggestion shows beside the current plan and changes nothing until applied."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from conftest import REPO, fork_scenario_doc
from twin.app.suggest import apply_suggestion, suggest_placement, vans_in
from twin.scenario.load import parse_scenario

APP = str(REPO / "app.py")


def test_suggestion_replaces_only_the_cameras(tmp_path) -> None:
    doc = fork_scenario_doc(tmp_path)
    sc = parse_scenario(doc)
    sug = suggest_placement(sc)
    assert vans_in(sc) == 1 and len(sug.vans) == 1 and len(sug.cameras) == 2
    assert sug.true_alerts_per_h > sug.own_true_alerts_per_h  # the fork's trunk beats the branch camera
    new = apply_suggestion(doc, sug)
    assert [c["id"] for c in new["cameras"]] == ["opt_van1_cam1", "opt_van1_cam2"]
    assert {k: v for k, v in new.items() if k != "cameras"} == {
        k: v for k, v in doc.items() if k != "cameras"
    }
    assert doc["cameras"][0]["id"] == "own_cam1"  # the plan given is not changed
    parse_scenario(new)


@pytest.mark.slow
def test_plan_page_suggest_then_apply() -> None:
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    before = [m.label for m in at.metric]
    assert "Suggested" not in before
    at.button(key="suggest_run").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    labels = [m.label for m in at.metric]
    assert "Current plan" in labels and "Suggested" in labels
    assert any("opt_van1" in str(df.value) for df in at.dataframe)
    at.button(key="suggest_apply").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("Suggested placement applied" in s.value for s in at.success)
    assert any("opt_van1_cam1" in str(df.value) for df in at.dataframe)  # the cameras table
