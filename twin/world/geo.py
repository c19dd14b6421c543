"""Projection between WGS84 and British National Grid, and coordinate checks.

All computation is in metres in British National Grid (EPSG:27700); map files and Folium use
WGS84. pyproj is always called with ``always_xy=True`` so the order is (lon, lat) / (x, y)
everywhere; Folium's [lat, lon] order is produced only at the map's edge (:mod:`twin.outputs.mapview`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pyproj import Transformer

from twin.errors import GeofenceError

__all__ = ["LONDON_BOUNDS", "bng_to_lonlat", "check_in_london", "lonlat_to_bng"]

#: Greater London's extent, generously rounded (lat_min, lat_max, lon_min, lon_max), degrees.
#: Source: the GLA boundary spans ~51.29-51.69 N and ~0.51 W-0.33 E.
LONDON_BOUNDS = (51.28, 51.70, -0.52, 0.34)

_TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
_TO_WGS84 = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)


def lonlat_to_bng(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 (lon, lat) degrees to British National Grid (x, y) metres.

    Args:
        lon, lat: scalars or arrays of the same shape, degrees.

    Returns:
        (x, y): float64 arrays of that shape, metres east and north (EPSG:27700).

    >>> x, y = lonlat_to_bng(-0.1416, 51.5152)   # Oxford Circus
    >>> round(float(x)), round(float(y))
    (529049, 181223)
    """
    x, y = _TO_BNG.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def bng_to_lonlat(x: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid (x, y) metres to WGS84 (lon, lat) degrees (inverse of :func:`lonlat_to_bng`)."""
    lon, lat = _TO_WGS84.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lon), np.asarray(lat)


def _inside(lat: float, lon: float) -> bool:
    lat_min, lat_max, lon_min, lon_max = LONDON_BOUNDS
    return lat_min <= lat <= lat_max and lon_min <= lon <= lon_max


def check_in_london(lat: float, lon: float, what: str) -> None:
    """Raise unless (lat, lon) lies in Greater London; name swapped coordinates when they are.

    Args:
        lat, lon: WGS84 degrees.
        what: what the point is, for the message (e.g. "camera van1-east").

    Raises:
        GeofenceError: outside :data:`LONDON_BOUNDS`; if (lon, lat) would be inside, the message
            says the two are swapped.

    >>> check_in_london(51.5152, -0.1416, "camera")
    >>> check_in_london(-0.1416, 51.5152, "camera")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    twin.errors.GeofenceError: camera: lat=-0.1416, lon=51.5152 look swapped (lat is ...); exchange them
    """
    if not (np.isfinite(lat) and np.isfinite(lon)):
        raise GeofenceError(f"{what}: lat={lat}, lon={lon} are not finite numbers")
    if _inside(lat, lon):
        return
    if _inside(lon, lat):
        raise GeofenceError(
            f"{what}: lat={lat}, lon={lon} look swapped (lat is north-south, about 51.3 to 51.7 in London; "
            f"lon east-west, about -0.5 to 0.3); exchange them"
        )
    lat_min, lat_max, lon_min, lon_max = LONDON_BOUNDS
    raise GeofenceError(
        f"{what}: lat={lat}, lon={lon} is outside Greater London (lat {lat_min} to {lat_max}, "
        f"lon {lon_min} to {lon_max}); the twin plans London deployments, check the coordinates"
    )
