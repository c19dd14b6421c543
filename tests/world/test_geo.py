"""Projection and coordinate checks."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.errors import GeofenceError
from twin.world.geo import bng_to_lonlat, check_in_london, lonlat_to_bng


@given(st.floats(-0.5, 0.3), st.floats(51.3, 51.68))
def test_roundtrip_within_a_millimetre(lon: float, lat: float) -> None:
    x, y = lonlat_to_bng(lon, lat)
    lon2, lat2 = bng_to_lonlat(x, y)
    x2, y2 = lonlat_to_bng(lon2, lat2)
    assert abs(float(x2 - x)) < 1e-3 and abs(float(y2 - y)) < 1e-3


def test_metres_are_metres() -> None:
    # 0.001 degree of latitude is ~111.2 m anywhere (WGS84 meridian arc at 51.5 N: 111.25 km/degree)
    _, y1 = lonlat_to_bng(-0.14, 51.515)
    _, y2 = lonlat_to_bng(-0.14, 51.516)
    assert float(y2 - y1) == pytest.approx(111.25, abs=0.3)


def test_swapped_lat_lon_is_named() -> None:
    with pytest.raises(GeofenceError, match="swapped"):
        check_in_london(-0.1416, 51.5152, "camera x")


def test_outside_london() -> None:
    with pytest.raises(GeofenceError, match="outside Greater London"):
        check_in_london(48.8566, 2.3522, "camera paris")
