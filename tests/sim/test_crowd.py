"""SimPy crowd: arrivals, groups, avoidance and Weidmann slowing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import poisson

from twin.rng import Streams
from twin.scenario.specs import CrowdSpec
from twin.sim.context import prepare
from twin.sim.crowd import simulate_crowd, weidmann_factor


def crowd_of(scenario, *, rate: float, seconds: float = 600.0, seed: int = 1, **crowd):
    ctx = prepare(scenario)
    spec = CrowdSpec(**crowd)
    return simulate_crowd(
        ctx.site, ctx.cameras, ctx.tables, spec, np.full(24, rate), 12 * 3600, seconds, Streams(seed)
    )


def test_weidmann_by_hand() -> None:
    # v(rho)/v0 = 1 - exp(-1.913 (1/rho - 1/5.4)); rho = 2: 1 - exp(-1.913 * 0.314815) = 1 - 0.547583 =
    # 0.452417
    assert float(weidmann_factor(2.0)) == pytest.approx(1 - np.exp(-1.913 * (0.5 - 1 / 5.4)))
    assert float(weidmann_factor(2.0)) == pytest.approx(0.452417, abs=1e-6)
    assert float(weidmann_factor(5.4)) == 0.0


def test_the_engines_per_arrival_weidmann_is_the_vectorised_one_bit_for_bit(tiny_scenario) -> None:
    """The engine computes each arrival's Weidmann factor inline, one density at a time; it must be
    :func:`weidmann_factor` exactly (the same numpy exp: math.exp differs in the last bit for ~5% of
    arguments on AVX-512 machines), or speeds would drift from the reference engine."""
    from twin.sim import crowd

    ctx = prepare(tiny_scenario)
    spec = CrowdSpec(group_share=0.5, avoid_share=0.1)
    streams = Streams(7)
    rates = np.full(24, 150_000.0)
    groups = crowd._draw_groups(
        ctx.site, ctx.tables, spec, rates, 12 * 3600, 300, streams["arrivals"], streams["routes"]
    )
    walked = crowd._walk(ctx.site, ctx.cameras, ctx.tables, groups, 300, None)
    w = ~groups.turned_back
    rho = walked.density[w]
    assert (rho == 0).any() and ((rho > 0) & (rho < 1)).any() and (rho > crowd.WEIDMANN_RHO_MAX).any()
    expected = np.maximum(groups.free[w] * weidmann_factor(rho), crowd.MIN_SPEED_M_S)
    assert np.array_equal(walked.speed[w], expected)


def test_single_arrivals_are_poisson(tiny_scenario) -> None:
    c = crowd_of(tiny_scenario, rate=3600.0, group_share=0.0)
    n = len(c.people["t_arrive_s"])
    lo, hi = poisson.ppf([0.0005, 0.9995], 600)
    assert lo <= n <= hi
    assert np.unique(c.people["group"]).size == n  # nobody in a group


def test_groups_walk_together(tiny_scenario) -> None:
    c = crowd_of(tiny_scenario, rate=3600.0, group_share=1.0)
    p = c.people
    sizes = np.bincount(p["group"])
    assert set(sizes.tolist()) <= {2, 3, 4}
    for g in np.unique(p["group"])[:50]:
        m = p["group"] == g
        assert (
            np.ptp(p["speed_m_s"][m]) == 0 and np.ptp(p["route"][m]) == 0 and np.ptp(p["t_arrive_s"][m]) == 0
        )
        assert np.unique(p["lane"][m]).size == m.sum()  # side by side, one lane each


def test_density_slows_walkers(tiny_scenario) -> None:
    quiet = crowd_of(tiny_scenario, rate=1000.0, group_share=0.0, free_speed_sd_m_s=0.0)
    busy = crowd_of(tiny_scenario, rate=60_000.0, group_share=0.0, free_speed_sd_m_s=0.0)
    assert quiet.people["speed_m_s"].mean() == pytest.approx(1.34, abs=0.01)
    assert busy.people["speed_m_s"].mean() < 0.95 * 1.34
    assert busy.peak_density_p_m2 > quiet.peak_density_p_m2
    # each walker's speed is the Weidmann speed at the density it met on arrival
    p = busy.people
    expected = np.maximum(1.34 * weidmann_factor(p["density_p_m2"].astype(float)), 0.1)
    assert np.allclose(p["speed_m_s"], expected, rtol=1e-5)


def test_avoiders_take_a_route_no_camera_sees(tiny_scenario) -> None:
    c = crowd_of(tiny_scenario, rate=3600.0, group_share=0.0, avoid_share=1.0)
    # the eastbound route walks into the camera; westbound walkers only show their backs
    assert set(np.unique(c.people["route"]).tolist()) == {1}
    assert c.people["rerouted"].mean() == pytest.approx(0.5, abs=0.1)


def test_camera_views_are_recorded(tiny_scenario) -> None:
    c = crowd_of(tiny_scenario, rate=3600.0)
    eastbound = np.flatnonzero(c.people["route"] == 0)
    seen = np.concatenate([w.person for w in c.walkers])
    assert set(eastbound.tolist()) <= set(seen.tolist())
    assert c.events > len(np.unique(c.people["group"]))


# --- the engine against the reference (tests/reference_crowd.py: the engine before issue 14) ---------


def _both(ctx, crowd: CrowdSpec, rates: np.ndarray, start_s: float, duration_s: float, seed: int):
    import reference_crowd

    args = (ctx.site, ctx.cameras, ctx.tables, crowd, rates, start_s, duration_s)
    return reference_crowd.simulate_crowd(*args, Streams(seed)), simulate_crowd(*args, Streams(seed))


def _assert_same_crowd(ref, new) -> None:
    assert ref.people.keys() == new.people.keys()
    for k, v in ref.people.items():
        assert v.dtype == new.people[k].dtype and np.array_equal(v, new.people[k]), k
    assert len(ref.walkers) == len(new.walkers)
    for ti, (a, b) in enumerate(zip(ref.walkers, new.walkers, strict=True)):
        for f in ("person", "t0_s", "speed_m_s", "lane", "head_yaw_deg", "head_pitch_deg", "density_p_m2"):
            x, y = getattr(a, f), getattr(b, f)
            assert x.dtype == y.dtype and np.array_equal(x, y), (ti, f)  # same values, same order
    assert ref.peak_density_p_m2 == new.peak_density_p_m2


@pytest.mark.parametrize(
    ("start", "duration_s", "seed"), [("16:00", 900, 3), ("12:00", 300, 11)], ids=["peak", "noon"]
)
def test_same_people_as_the_reference_engine_at_oxford_circus(start: str, duration_s: int, seed: int) -> None:
    """Bit for bit the per-person outputs of the engine that scheduled every view event: route, speed,
    arrival and leaving time, the density met on arrival, and per camera who entered its view, in which
    order (it fixes the capture stream's draws) and at what in-view density."""
    from conftest import SCENARIOS
    from twin.scenario.load import load_scenario

    sc = load_scenario(SCENARIOS / "oxford_circus.yaml", [f"time.start={start}"])
    ctx = prepare(sc)
    ref, new = _both(ctx, sc.crowd, ctx.rates_per_h, sc.time.start_s, duration_s, seed)
    assert len(new.people["route"]) > 1000 and sum(len(w.person) for w in new.walkers) > 1000
    # every walking group enters and leaves every view on its route once
    assert new.view_events == sum(2 * np.unique(new.people["group"][w.person]).size for w in new.walkers)
    _assert_same_crowd(ref, new)


def test_same_people_as_the_reference_engine_in_a_jam(tiny_scenario) -> None:
    """A footway packed past the slowest walking speed (the 0.1 m/s floor), with groups and avoiders."""
    ctx = prepare(tiny_scenario)
    spec = CrowdSpec(group_share=0.5, avoid_share=0.2)
    ref, new = _both(ctx, spec, np.full(24, 150_000.0), 12 * 3600, 300, 5)
    assert (new.people["speed_m_s"] == np.float32(0.1)).any() and new.people["rerouted"].any()
    _assert_same_crowd(ref, new)


def _tie_groups(module, ctx, *, free_a: float, free_b: float):
    """Two single walkers on the eastbound footway: A at t = 1 s at ``free_a`` m/s, and B (free speed
    ``free_b``) timed so that B enters the camera's view at exactly the SimPy clock time A leaves it."""
    import math

    import reference_crowd as ref

    table = next(t for t in ctx.tables if t.route == 0)
    v_a = free_a  # alone on the route: no slowing
    rho_b = float(ref._overlap_matrix(ref._corridors(ctx.site))[0] @ np.array([1.0, 0.0]))
    v_b = max(free_b * float(ref.weidmann_factor(rho_b)), ref.MIN_SPEED_M_S)
    a_in = 1.0 + table.s_in / v_a  # SimPy's clock: arrival, then each leg added in turn
    a_out = a_in + (table.s_out / v_a - table.s_in / v_a)
    t_b = a_out - table.s_in / v_b
    for _ in range(200):  # step t_b by ulps until B's clock at its view entry is exactly a_out
        b_in = (1.0 + (t_b - 1.0)) + table.s_in / v_b
        if b_in == a_out:
            break
        t_b = math.nextafter(t_b, math.inf if b_in < a_out else -math.inf)
    assert b_in == a_out and 1.0 < t_b < a_out, "no exact tie found"
    one = np.ones(2, np.int64)
    groups = module._Groups(
        np.array([1.0, t_b]), one, np.zeros(2, np.int64), np.zeros(2, bool), np.zeros(2, bool),
        np.array([free_a, free_b]), np.zeros(2, np.int64),
    )  # fmt: skip
    return groups, t_b < a_in, table


@pytest.mark.parametrize(
    ("free_a", "free_b"), [(0.3, 2.0), (1.34, 1.2)], ids=["B-arrives-after-A-enters", "B-arrives-before"]
)
def test_an_exact_tie_at_a_view_is_ordered_as_simpy_did(tiny_scenario, free_a: float, free_b: float) -> None:
    """B enters a view at the very clock time A leaves it. SimPy processes same-time events first in,
    first out by when they were scheduled: A's exit was scheduled when A entered, B's entry when B
    arrived. So B counts A as still in view only if B arrived before A entered."""
    import reference_crowd as ref

    from twin.sim import crowd

    ctx = prepare(tiny_scenario)
    g_ref, b_first, table = _tie_groups(ref, ctx, free_a=free_a, free_b=free_b)
    g_new, _, _ = _tie_groups(crowd, ctx, free_a=free_a, free_b=free_b)
    assert b_first == (free_b < 1.3)  # each case is the one its name says
    old = ref._walk(ctx.site, ctx.cameras, ctx.tables, g_ref, 600.0, None)
    new = crowd._walk(ctx.site, ctx.cameras, ctx.tables, g_new, 600.0, None)
    ti = ctx.tables.index(table)
    assert [g for g, _ in old.seen[ti]] == new.seen_group[ti].tolist() == [0, 1]
    d_a, d_b = (d for _, d in old.seen[ti])
    assert d_b == (2 * d_a if b_first else d_a)  # the two cases differ: the test can tell them apart
    assert new.seen_density[ti].tolist() == [d_a, d_b]
