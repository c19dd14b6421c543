"""The placement optimiser (twin/sim/optimise.py over twin/world/placement.py): a toy site with one
choke point gets its van there facing the flow; ≥ 95% of the exhaustive optimum; the signage and
false-alert constraints hold for every returned placement; the written scenario runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from conftest import X0, Y0, fork_scenario_doc
from twin.errors import ScenarioError
from twin.scenario.load import parse_scenario
from twin.scoring.selection import InfeasibleBudgetError, exhaustive
from twin.sim.context import prepare
from twin.sim.optimise import build_placement_model, optimise_placement, placement_scenario
from twin.world.signage import signage_coverage
from twin.world.site import load_site


def fork_scenario(tmp_path: Path, **site_kw: object):
    return parse_scenario(fork_scenario_doc(tmp_path, **site_kw))


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory):
    sc = fork_scenario(tmp_path_factory.mktemp("fork"))
    return sc, build_placement_model(sc, spacing_m=5.0, max_walkers_per_route=600)


def test_choke_point_gets_the_van_facing_the_flow(fork) -> None:
    sc, pm = fork
    res = optimise_placement(sc, vans=1, model=pm)
    (pose,) = res.poses
    assert pose.x - X0 > 40.0 and abs(pose.y - Y0) < 2.0  # on the trunk, not a branch
    # the trunk sees both branches' walkers: about twice the best branch position
    branch = [j for j, p in enumerate(pm.candidates) if p.x - X0 < 35 and pm.signage_ok[j]]
    best_branch = max(pm.problem("true_alerts").value([j]) for j in branch)
    assert res.value > 1.6 * best_branch
    # facing the flow: the camera looking west (into the walkers' faces) makes every capture; the one
    # looking east sees only backs of heads
    cams = res.cameras
    west = [c for c in cams if abs(((c["heading_deg"] - 270 + 180) % 360) - 180) < 10]
    assert len(west) == 1
    one = placement_scenario(res).model_copy(
        update={"cameras": [c for c in placement_scenario(res).cameras if c.id == west[0]["id"]]}
    )
    ctx = prepare(one)
    assert any(t.frontal and t.zone.any() for t in ctx.tables)
    east = placement_scenario(res).model_copy(
        update={"cameras": [c for c in placement_scenario(res).cameras if c.id != west[0]["id"]]}
    )
    assert not any(t.frontal and t.zone.any() for t in prepare(east).tables)
    # and it beats the scenario's own branch camera
    assert res.gain_over_baseline > 1.5


def test_reaches_95_percent_of_the_exhaustive_optimum(fork) -> None:
    sc, pm = fork
    prob = pm.problem("true_alerts")
    for k in (1, 2):
        best = exhaustive(prob, k)
        got = optimise_placement(sc, vans=k, model=pm)
        assert got.value >= 0.95 * best.value
        assert got.value <= best.value * (1 + 1e-9)


def test_false_alert_budget_holds_and_infeasible_is_named(fork) -> None:
    sc, pm = fork
    free = optimise_placement(sc, vans=2, model=pm)
    budget = 0.7 * free.false_alerts_per_h
    tight = optimise_placement(sc, vans=2, model=pm, max_false_alerts_per_h=budget)
    assert tight.false_alerts_per_h <= budget + 1e-12
    assert all(s.cost <= budget + 1e-9 for s in tight.tried if s.method.startswith(("milp", "ratio")))
    assert pm.problem("true_alerts").cost(tight.selection.chosen) == pytest.approx(tight.false_alerts_per_h)
    with pytest.raises(InfeasibleBudgetError, match=r"no placement of 2 vans meets .* lowest found is"):
        optimise_placement(sc, vans=2, model=pm, max_false_alerts_per_h=free.false_alerts_per_h * 1e-4)


def test_signage_constraint_holds(tmp_path: Path) -> None:
    """A single sign on the trunk at x = 70: vans whose zones start before it fail; the choice passes."""
    sc = fork_scenario(tmp_path, signs=[(70.0, 1.0)])
    pm = build_placement_model(sc, spacing_m=5.0, max_walkers_per_route=300)
    assert 0 < int((~pm.signage_ok).sum()) < len(pm.candidates)
    res = optimise_placement(sc, vans=2, model=pm)
    assert all(pm.signage_ok[j] for j in res.selection.chosen)
    ctx = prepare(placement_scenario(res))  # the full run's own view tables
    site = load_site(sc.site.map)
    assert all(r.covered for r in signage_coverage(site, ctx.tables))


def test_bad_k(fork) -> None:
    sc, pm = fork
    with pytest.raises(ScenarioError, match="at least 1 van"):
        optimise_placement(sc, vans=0, model=pm)
    with pytest.raises(ScenarioError, match="candidate van positions"):
        optimise_placement(sc, vans=len(pm.candidates) + 1, model=pm)
    with pytest.raises(ScenarioError, match="--objective"):
        optimise_placement(sc, vans=1, model=pm, objective="arrests")


def test_common_random_numbers(fork) -> None:
    """The model is the same crowd for every candidate: rebuilding it gives the same matrix bit for bit."""
    sc, pm = fork
    again = build_placement_model(sc, spacing_m=5.0, max_walkers_per_route=600)
    assert (pm.p != again.p).nnz == 0 and np.array_equal(pm.w, again.w)


def test_rank_sites_orders_by_true_alerts_per_hour(tmp_path: Path, square_site: Path) -> None:
    import yaml

    from conftest import tiny_scenario_doc
    from twin.sim.ranking import rank_sites

    busy, quiet = tmp_path / "busy.yaml", tmp_path / "quiet.yaml"
    busy.write_text(yaml.safe_dump(tiny_scenario_doc(square_site, name="busy")))
    doc = tiny_scenario_doc(square_site, name="quiet")
    doc["footfall"] = {"rate_per_h": [600.0] * 24}  # a sixth of the passers-by, same placement
    quiet.write_text(yaml.safe_dump(doc))
    ranks = rank_sites([str(quiet), str(busy)], replications=3)
    assert [r.name for r in ranks] == ["busy", "quiet"]
    # the same placement and six times the passers-by: six times the expected true alerts (the model's
    # expectation scales with the faces scanned), the same expected true alerts per false alert
    b, q = ranks
    assert b.expected_true_alerts_per_h[0] / q.expected_true_alerts_per_h[0] == pytest.approx(6, rel=0.25)
    assert b.expected_true_per_false_alert == pytest.approx(q.expected_true_per_false_alert, rel=0.1)
    for r in ranks:
        lo, mean, hi = r.true_alerts_per_h[1], r.true_alerts_per_h[0], r.true_alerts_per_h[2]
        assert lo <= mean <= hi
        assert r.true_per_officer_hour[0] == pytest.approx(mean / r.officers)


def test_model_of_the_own_placement_matches_a_full_run_on_the_same_crowd(tmp_path: Path) -> None:
    """The optimiser's capture of the scenario's own cameras, on replication 0's crowd with no walker
    sampling, gives the full run's faces scanned and true alerts had everyone been listed (the run's
    own count, :func:`twin.scoring.metrics.score_replication`), within what the optimiser's approximations
    allow (occlusion density at arrival, independent chances per capture): 3% and 10%."""
    from twin.sim.run import run

    sc = fork_scenario(tmp_path)
    pm = build_placement_model(sc, replications=1, max_walkers_per_route=10**9)
    assert np.all(pm.w == pm.w[0])  # no sampling: every walker one row
    totals = run(sc, replications=1).outcomes[0].totals
    hours = sc.time.duration_s / 3600
    scanned = float(np.dot(pm.w, pm.s_base))
    listed = float(np.dot(pm.w, pm.p_base))
    assert scanned == pytest.approx(totals["faces_scanned"] / hours, rel=0.03)
    assert listed == pytest.approx(totals["true_alerts_if_listed"] / hours, rel=0.10)


def test_zone_markers_leave_the_crowd_unchanged(tmp_path: Path) -> None:
    from twin.rng import Streams, replication_seeds
    from twin.sim.crowd import simulate_crowd
    from twin.sim.optimise import zone_markers

    doc_sc = fork_scenario(tmp_path)
    sc = doc_sc.model_copy(update={"crowd": doc_sc.crowd.model_copy(update={"avoid_share": 0.3})})
    ctx = prepare(sc)
    ss = replication_seeds(sc.seed, 1)[0]

    def people(tables):
        args = (sc.crowd, ctx.rates_per_h, sc.time.start_s, sc.time.duration_s, Streams(ss))
        return simulate_crowd(ctx.site, ctx.cameras, tables, *args).people

    full, marked = people(ctx.tables), people(zone_markers(ctx.tables))
    assert full["rerouted"].any()  # the avoiders' choice is in play
    assert all(np.array_equal(full[k], marked[k]) for k in full)
