"""Camera edits without a new crowd: the kept crowd in front of other cameras gives what a fresh run gives.

The app's camera edits rest on this (twin/sim/recapture.py): a saved plan run with `twin run` must
print the numbers the page showed, so the recaptured run must equal a fresh run bit for bit, not
approximately.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import yaml

from conftest import MAPS, SCENARIOS, square_latlon
from twin.rng import Streams
from twin.scenario.load import parse_scenario
from twin.sim.context import prepare
from twin.sim.crowd import place_cameras, simulate_crowd
from twin.sim.recapture import CrowdChanged, crowd_change, recapture
from twin.sim.run import run
from twin.world.capture import WalkerBatch

WALKER_FIELDS = [f for f in WalkerBatch.__dataclass_fields__]
#: A point on Oxford Street's north footway between the shipped vans (a route that already has a
#: recognition zone), and one on Regent Street's east footway (a route none of the vans covers).
OXFORD_ZONED = (51.5152881, -0.1425125)
REGENT_EAST = (51.5155841, -0.1419583)


def _oxford_doc(minutes: int = 15, replications: int = 2) -> dict:
    doc = yaml.safe_load((SCENARIOS / "oxford_circus.yaml").read_text())
    doc["site"]["map"] = str(MAPS / "oxford_circus.geojson")
    doc["time"]["duration_s"] = 60 * minutes
    doc["replications"] = replications
    return doc


def _same_run(a, b) -> None:  # type: ignore[no-untyped-def]
    """Two runs are the same: summaries equal as JSON, every replication's stored draws equal."""
    assert a.summary.to_json() == b.summary.to_json()
    for ra, rb in zip(a.reps, b.reps, strict=True):
        for name in ra.__dataclass_fields__:
            x, y = getattr(ra, name), getattr(rb, name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True), name


@pytest.mark.parametrize("name", ["oxford_circus", "leicester_square", "stratford", "croydon_north_end"])
def test_a_kept_crowd_placed_in_front_of_the_cameras_is_the_crowd_simulation(name: str) -> None:
    """A kept crowd's view entries worked out again give the same walkers, order, densities and counts."""
    doc = yaml.safe_load((SCENARIOS / f"{name}.yaml").read_text())
    doc["site"]["map"] = str(MAPS / doc["site"]["map"].split("/")[-1])
    doc["time"]["duration_s"] = 600
    doc["replications"] = 1
    sc = parse_scenario(doc)
    res = run(sc, keep_crowds=True)
    ctx, kept = res.context, res.crowds[0]
    crowd = simulate_crowd(
        ctx.site,
        ctx.cameras,
        ctx.tables,
        sc.crowd,
        ctx.rates_per_h,
        sc.time.start_s,
        sc.time.duration_s,
        Streams(kept.seed),
    )
    placed = place_cameras(ctx.site, ctx.cameras, ctx.tables, kept.state)
    assert (placed.events, placed.view_events) == (crowd.events, crowd.view_events)
    assert sum(len(w.person) for w in placed.walkers) > 100  # the check bites on real traffic
    for got, want in zip(placed.walkers, crowd.walkers, strict=True):
        for f in WALKER_FIELDS:
            x, y = getattr(got, f), getattr(want, f)
            assert x.dtype == y.dtype and np.array_equal(x, y), (name, f)


def test_add_move_turn_delete_a_camera_equal_fresh_runs() -> None:
    """Each camera edit at Oxford Circus, recaptured from the kept crowd, equals a fresh run of the edit."""
    doc = _oxford_doc()
    first = run(parse_scenario(doc), keep_crowds=True)
    cache: dict = {}
    lat, lon = OXFORD_ZONED
    added = copy.deepcopy(doc)
    # first in the list, so that every van camera's index shifts (their cached tables are re-indexed)
    added["cameras"].insert(0, {"id": "cam_1", "lat": lat, "lon": lon, "heading_deg": 79.4})
    moved = copy.deepcopy(added)
    moved["cameras"][0].update(lat=lat + 2e-5, lon=lon + 1.5e-4)
    turned = copy.deepcopy(moved)
    turned["cameras"][0]["heading_deg"] = 100.0
    deleted = copy.deepcopy(turned)
    del deleted["cameras"][0]
    previous = first
    for edited in (added, moved, turned, deleted):
        sc = parse_scenario(edited)
        got = recapture(previous, sc, view_tables=cache)
        _same_run(got, run(sc))
        assert got.crowds and got.timings["recaptured"] == 1.0
        assert got.summary["totals"]["faces_scanned"] != previous.summary["totals"]["faces_scanned"]
        previous = got
    # back to the shipped plan: the first run's numbers again
    assert previous.summary.to_json() == first.summary.to_json()


def test_kept_capture_work_gives_the_same_runs_and_is_reused_for_unchanged_cameras() -> None:
    """With the draw-free capture work kept between edits (``recapture(frames=...)``), each edit still
    equals a fresh run, and a camera appended, moved, turned and deleted leaves the vans' kept work
    alone (the same objects are used again: only the edited camera's is worked out)."""
    doc = _oxford_doc()
    first = run(parse_scenario(doc), keep_crowds=True)
    tables: dict = {}
    frames: dict = {}
    vans = recapture(first, parse_scenario(doc), view_tables=tables, frames=frames)
    _same_run(vans, first)
    kept_vans = {rep: dict(work) for rep, work in frames.items()}
    lat, lon = OXFORD_ZONED
    added = copy.deepcopy(doc)
    added["cameras"].append({"id": "cam_1", "lat": lat, "lon": lon, "heading_deg": 79.4})  # as the app adds
    moved = copy.deepcopy(added)
    moved["cameras"][-1].update(lat=lat + 2e-5, lon=lon + 1.5e-4)
    turned = copy.deepcopy(moved)
    turned["cameras"][-1]["heading_deg"] = 100.0
    previous = vans
    for edited in (added, moved, turned, doc):
        sc = parse_scenario(edited)
        got = recapture(previous, sc, view_tables=tables, frames=frames)
        _same_run(got, run(sc))
        for rep, work in kept_vans.items():  # every van table's work is the one kept from the start
            assert all(frames[rep][key] is tf for key, tf in work.items())
        previous = got
    assert frames.keys() == kept_vans.keys() and all(frames[r].keys() == kept_vans[r].keys() for r in frames)


def test_a_route_given_its_first_zone_needs_a_new_crowd() -> None:
    """People who avoid zones choose their route by where the zones are: a camera covering Regent
    Street's east footway (no zone so far) changes the crowd itself; with nobody avoiding, it does not."""
    doc = _oxford_doc(minutes=10, replications=1)
    lat, lon = REGENT_EAST
    edited = copy.deepcopy(doc)
    edited["cameras"].append({"id": "cam_1", "lat": lat, "lon": lon, "heading_deg": 0.0})
    first = run(parse_scenario(doc), keep_crowds=True)
    with pytest.raises(CrowdChanged, match="avoid zones"):
        recapture(first, parse_scenario(edited))

    for d in (doc, edited):
        d["crowd"]["avoid_share"] = 0.0
    first = run(parse_scenario(doc), keep_crowds=True)
    assert first.crowds[0].avoiders == 0
    sc = parse_scenario(edited)
    _same_run(recapture(first, sc), run(sc))


def test_anything_but_cameras_needs_a_new_crowd(tiny_doc) -> None:
    """Footfall or the seed shape the crowd: no recapture; a run that kept no crowd cannot serve."""
    first = run(parse_scenario(tiny_doc), keep_crowds=True)
    for key, value in (("seed", 8), ("footfall", {"rate_per_h": [1800.0] * 24})):
        other = parse_scenario({**tiny_doc, key: value})
        assert "more than the cameras" in (crowd_change(first, prepare(other)) or "")
    plain = run(parse_scenario(tiny_doc))
    assert "kept no crowd" in (crowd_change(plain, prepare(parse_scenario(tiny_doc))) or "")


def test_prepare_with_a_table_cache_gives_the_same_context(tiny_doc) -> None:
    """Cached view tables (a camera whose pose did not change) are the tables a fresh prepare builds."""
    lat, lon = square_latlon(30, -3)
    doc = copy.deepcopy(tiny_doc)
    doc["cameras"].insert(0, {"id": "cam_e", "lat": lat, "lon": lon, "heading_deg": 70.0})
    cache: dict = {}
    prepare(parse_scenario(tiny_doc), view_tables=cache)  # fills the cache with cam_w's tables (index 0)
    fresh, cached = prepare(parse_scenario(doc)), prepare(parse_scenario(doc), view_tables=cache)
    assert [(t.route, t.camera) for t in cached.tables] == [(t.route, t.camera) for t in fresh.tables]
    assert {t.camera for t in fresh.tables} == {0, 1}  # cam_w moved from index 0 to 1: re-indexed
    for a, b in zip(fresh.tables, cached.tables, strict=True):
        assert np.array_equal(a.ied_px, b.ied_px) and np.array_equal(a.zone, b.zone)


def test_a_process_pool_gives_the_same_runs(tiny_doc) -> None:
    """Replications and recaptures in a process pool (the app's: twin.sim.parallel.process_pool, whose
    spawned workers do not run the parent's __main__, which after an AppTest is the app's script) equal
    those made here, crowds included."""
    from twin.sim.parallel import process_pool

    lat, lon = square_latlon(30, -3)
    edited = copy.deepcopy(tiny_doc)
    edited["cameras"].append({"id": "cam_e", "lat": lat, "lon": lon, "heading_deg": 290.0})
    here = run(parse_scenario(tiny_doc), keep_crowds=True)
    with process_pool(2) as pool:
        there = run(parse_scenario(tiny_doc), keep_crowds=True, executor=pool)
        _same_run(there, here)
        for a, b in zip(there.crowds, here.crowds, strict=True):
            assert all(np.array_equal(a.state.people[k], b.state.people[k]) for k in a.state.people)
        sc = parse_scenario(edited)
        _same_run(recapture(there, sc, executor=pool), recapture(here, sc))
