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
