"""Arrivals: a non-homogeneous Poisson process from an hourly footfall profile.

The rate is piecewise constant over clock hours (the data are hourly counts); the number of
arrivals in each hour's slice of the window is Poisson with mean rate x slice length, and the
arrival times are uniform within the slice. This is exactly the NHPP with that intensity.
"""

from __future__ import annotations

import numpy as np

from twin.errors import ScenarioError
from twin.scenario.specs import Scenario

__all__ = ["expected_arrivals", "hourly_rates", "nhpp_arrivals", "window_slices"]


def hourly_rates(scenario: Scenario, site_daily_passers_by: float) -> np.ndarray:
    """Arrival rate for each clock hour 00..23, people per hour.

    Args:
        scenario: gives ``footfall`` (rates or daily total and profile, and scale).
        site_daily_passers_by: the site map's daily figure, used when the scenario gives none.

    Returns:
        (24,) float64 array, people/h.

    Raises:
        ScenarioError: no daily figure anywhere, or a profile that sums to zero.
    """
    ff = scenario.footfall
    if ff.rate_per_h is not None:
        rates = np.asarray(ff.rate_per_h, dtype=float)
    else:
        daily = ff.daily_passers_by if ff.daily_passers_by is not None else site_daily_passers_by
        if not daily or daily <= 0:
            raise ScenarioError(
                "footfall: no daily_passers_by in the scenario and none in the site map; give "
                "footfall.daily_passers_by"
            )
        profile = np.asarray(ff.profile_pct, dtype=float)
        if profile.sum() <= 0:
            raise ScenarioError(
                "footfall.profile_pct sums to 0; give the share of the day's footfall in each hour"
            )
        rates = daily * profile / 100.0
    return rates * ff.scale


def window_slices(start_s: float, duration_s: float) -> list[tuple[float, float, int]]:
    """Split a window into clock-hour slices.

    Returns:
        list of (t_from_s, t_to_s, clock_hour) with times from the window start.

    >>> window_slices(12 * 3600 + 1800, 3600)
    [(0.0, 1800.0, 12), (1800.0, 3600.0, 13)]
    """
    out = []
    t = 0.0
    while t < duration_s:
        clock = (start_s + t) % 86400
        hour = int(clock // 3600)
        to_hour_end = 3600 - (clock - hour * 3600)
        end = float(min(duration_s, t + to_hour_end))
        out.append((t, end, hour))
        t = end
    return out


def expected_arrivals(rates: np.ndarray, start_s: float, duration_s: float) -> float:
    """Expected number of arrivals in the window (the NHPP's integrated intensity)."""
    return float(sum(rates[h] * (b - a) / 3600 for a, b, h in window_slices(start_s, duration_s)))


def nhpp_arrivals(
    rates: np.ndarray, start_s: float, duration_s: float, rng: np.random.Generator
) -> np.ndarray:
    """Sorted arrival times of a piecewise-constant NHPP, s from the window start.

    Args:
        rates: (24,) people/h per clock hour.
        start_s: window start, s after local midnight.
        duration_s: window length, s.
        rng: the "arrivals" stream.

    Returns:
        float64 array, sorted ascending, each in [0, duration_s).
    """
    parts = []
    for a, b, h in window_slices(start_s, duration_s):
        n = rng.poisson(rates[h] * (b - a) / 3600)
        parts.append(rng.uniform(a, b, n))
    times = np.concatenate(parts) if parts else np.zeros(0)
    times.sort()
    return times
