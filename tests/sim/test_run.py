"""Whole runs: reproducibility, re-scoring, the NPL per-pass TPIR, the 2022 record, golden summaries."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import SCENARIOS
from golden_runs import GOLDEN, golden_summary
from twin.errors import CameraGeometryError, ScenarioError
from twin.scenario.load import load_scenario, parse_scenario
from twin.sim.run import crowd_key, run


def test_same_seed_same_summary(tiny_scenario) -> None:
    a = run(tiny_scenario, replications=2)
    b = run(tiny_scenario, replications=2)
    assert json.dumps(a.summary.to_json(), sort_keys=True) == json.dumps(b.summary.to_json(), sort_keys=True)
    assert a.tracks.equals(b.tracks)


def test_other_seed_other_summary(tiny_scenario) -> None:
    a = run(tiny_scenario, replications=1, seed=1)
    b = run(tiny_scenario, replications=1, seed=2)
    assert a.summary["totals"]["passers_by"] != b.summary["totals"]["passers_by"]


def test_replication_i_does_not_depend_on_the_count(tiny_scenario) -> None:
    a = run(tiny_scenario, replications=1)
    b = run(tiny_scenario, replications=3)
    assert a.outcomes[0].totals == b.outcomes[0].totals


@pytest.mark.slow
def test_worker_processes_reproduce_bit_for_bit(tiny_scenario) -> None:
    a = run(tiny_scenario, replications=3)
    b = run(tiny_scenario, replications=3, workers=2)
    assert json.dumps(a.summary.to_json(), sort_keys=True) == json.dumps(b.summary.to_json(), sort_keys=True)


def test_rescore_moves_false_alerts_the_right_way(tiny_scenario) -> None:
    res = run(tiny_scenario, replications=3)
    _, low = res.rescore(threshold=0.55)
    _, high = res.rescore(threshold=0.64)
    assert (
        low["totals"]["false_alerts"]["mean"]
        >= res.summary["totals"]["false_alerts"]["mean"]
        >= high["totals"]["false_alerts"]["mean"]
    )
    _, same = res.rescore()
    assert same["totals"] == res.summary["totals"]
    with pytest.raises(ScenarioError, match="score range"):
        res.rescore(threshold=1.5)


def test_rescore_as_a_scenario_with_the_same_crowd(tiny_scenario) -> None:
    res = run(tiny_scenario, replications=2)
    wl = tiny_scenario.watchlist.model_copy(update={"threshold": 0.58, "size": 500})
    other = tiny_scenario.model_copy(update={"watchlist": wl})
    assert crowd_key(other) == crowd_key(tiny_scenario)
    _, expected = res.rescore(threshold=0.58, watchlist_size=500, prevalence=wl.prevalence)
    assert res.rescore_as(other).to_json() == expected.to_json()


def test_camera_outside_the_area(square_site) -> None:
    from conftest import tiny_scenario_doc

    doc = tiny_scenario_doc(square_site)
    doc["cameras"][0]["lat"] += 0.01  # ~1.1 km north
    with pytest.raises(CameraGeometryError, match="outside the Test square geofence"):
        run(parse_scenario(doc))


def test_threshold_outside_the_engine_range(square_site) -> None:
    from conftest import tiny_scenario_doc

    doc = tiny_scenario_doc(square_site)
    doc["watchlist"]["threshold"] = 60
    with pytest.raises(
        ScenarioError, match=r"threshold 60.0 is outside the statistical-records2024 score range"
    ):
        run(parse_scenario(doc))


@pytest.mark.slow
def test_oxford_circus_2022_record_false_alerts_inside_the_predictive_interval() -> None:
    """Met, Oxford Circus, 28 Jan 2022: 12,120 faces, watchlist 9,756, threshold 0.6 (assumed): 1 false alert.

    The model (its tail fitted to the Met's records with NPL's shape; the scenario's prevalence
    leave-one-out, never this record) must put 1 inside its 95% predictive interval of false
    alerts, and the exposure must match the record's face count.
    """
    res = run(SCENARIOS / "oxford_circus_2022-01-28.yaml", replications=20, workers=2)
    faces = res.summary["totals"]["faces_scanned"]["mean"]
    assert faces == pytest.approx(12_120, rel=0.03)
    fa = res.summary["totals"]["false_alerts"]
    assert fa["p2_5"] <= 1 <= fa["p97_5"]
    # the analytic expectation behind it: faces x FPIR(0.6, 9,756) = 12,120 x 9,756 x 1.07e-8 ~ 1.26
    assert faces * res.summary["model"]["fpir_at_threshold"] == pytest.approx(1.26, abs=0.1)
    lo, hi = res.summary["model"]["false_alerts_interval"]
    assert lo <= 1 <= hi


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
def test_golden_summary(name: str) -> None:
    """Each shipped scenario's short fixed run matches its golden summary (regenerate:
    tests/golden_runs.py)."""
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    got = golden_summary(SCENARIOS / f"{name}.yaml")
    assert got.keys() == expected.keys()
    for section in ("totals", "rates", "per_hour_rate"):
        for metric, band in expected[section].items():
            for stat, value in band.items():
                g = got[section][metric][stat]
                if value is None:
                    assert g is None, (section, metric, stat)
                else:
                    assert g == pytest.approx(value, rel=1e-9, abs=1e-12), (section, metric, stat)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_scenario_runs(path) -> None:
    res = run(load_scenario(path, ["time.duration_s=120"]), replications=1)
    t = res.summary["totals"]
    assert t["passers_by"]["mean"] > 0 and t["faces_scanned"]["mean"] > 0
    assert not res.summary["run"]["warnings"]
    assert np.isfinite(res.summary["rates"]["scan_share"]["mean"])


def test_no_camera_sees_anyone(square_site) -> None:
    """Cameras pointing at the sky: the run completes, scans nobody, and says why."""
    from conftest import tiny_scenario_doc

    doc = tiny_scenario_doc(square_site)
    doc["cameras"][0]["tilt_deg"] = -10
    res = run(parse_scenario(doc), replications=1)
    assert res.summary["totals"]["faces_scanned"]["mean"] == 0
    assert any("captures no usable face" in w for w in res.summary["run"]["warnings"])
