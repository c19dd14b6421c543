"""Arrivals: NHPP counts against the profile, with bounds from Poisson quantiles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import poisson

from conftest import tiny_scenario_doc
from twin.scenario.load import parse_scenario
from twin.scenario.specs import LONDON_HIGH_STREET_PROFILE_PCT
from twin.sim.arrivals import expected_arrivals, hourly_rates, nhpp_arrivals, window_slices


def test_counts_per_hour_follow_the_profile() -> None:
    """Oxford Circus daily total x the London profile, 10:00-20:00, seed fixed.

    Each hour's count must lie inside Poisson(mean) central 99.9% bounds (a test that the
    sampler draws the right intensity hour by hour, not just in total).
    """
    rates = 465_000 * np.asarray(LONDON_HIGH_STREET_PROFILE_PCT) / 100
    t = nhpp_arrivals(rates, 10 * 3600, 10 * 3600, np.random.default_rng(2026))
    counts = np.bincount((t // 3600).astype(int), minlength=10)
    for h in range(10):
        mean = rates[10 + h]
        lo, hi = poisson.ppf([0.0005, 0.9995], mean)
        assert lo <= counts[h] <= hi, (h, counts[h], mean)
    # and in total: the 10-hour day is ~336,000 (72.2% of 465,000)
    assert 0.722 * 465_000 * 0.99 < len(t) < 0.722 * 465_000 * 1.01


def test_hourly_rates_from_daily_total_and_scale(square_site) -> None:
    sc = parse_scenario(
        {**tiny_scenario_doc(square_site), "footfall": {"daily_passers_by": 100_000, "scale": 0.5}}
    )
    r = hourly_rates(sc, 999)
    assert r[17] == pytest.approx(100_000 * 0.086 * 0.5)


def test_site_figure_is_the_default(square_site) -> None:
    doc = tiny_scenario_doc(square_site)
    doc.pop("footfall")
    assert hourly_rates(parse_scenario(doc), 50_000)[12] == pytest.approx(50_000 * 0.07)


def test_window_crossing_midnight() -> None:
    assert window_slices(23.5 * 3600, 3600) == [(0.0, 1800.0, 23), (1800.0, 3600.0, 0)]
    rates = np.arange(24, dtype=float) * 100
    assert expected_arrivals(rates, 23.5 * 3600, 3600) == pytest.approx(2300 * 0.5 + 0)


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 86399), st.floats(1, 20_000), st.integers(0, 2**32 - 1))
def test_arrivals_sorted_and_inside_the_window(start: float, duration: float, seed: int) -> None:
    t = nhpp_arrivals(np.full(24, 500.0), start, duration, np.random.default_rng(seed))
    assert np.all(np.diff(t) >= 0)
    assert t.size == 0 or (t[0] >= 0 and t[-1] < duration)
