"""Footway corridors of a site and what the crowd reads from them: route density overlaps, the walkable
area in each camera's view, and which routes a recognition zone covers.

Pure geometry (shapely), used by the crowd simulation (:mod:`twin.sim.crowd`) and by a kept crowd
placed in front of other cameras (:mod:`twin.sim.recapture`).
"""

from __future__ import annotations

import numpy as np
import shapely

from twin.world.camera import Camera, fov_wedge
from twin.world.capture import ViewTable
from twin.world.site import Site

__all__ = ["camera_view_areas", "corridor_overlap", "corridors", "zoned_routes"]


def corridors(site: Site) -> list[shapely.Polygon]:
    """Each route's footway corridor: its line buffered by half its width, flat ends."""
    return [r.line.buffer(r.width_m / 2, cap_style="flat") for r in site.routes]


def corridor_overlap(corr: list[shapely.Polygon]) -> np.ndarray:
    """(R, R) area(c_i & c_j) / (area(c_i) * area(c_j)), 1/m²: route i's density per head on route j (the
    crowd module's density model)."""
    R = len(corr)
    m = np.zeros((R, R))
    areas = np.array([c.area for c in corr])
    for i in range(R):
        for j in range(i, R):
            a = corr[i].intersection(corr[j]).area if i != j else areas[i]
            m[i, j] = a / (areas[i] * areas[j])
            m[j, i] = m[i, j]
    return m


def zoned_routes(tables: list[ViewTable], n_routes: int) -> np.ndarray:
    """(R,) bool: routes on which some camera has a recognition zone facing the walkers (what avoiders
    steer around)."""
    out = np.zeros(n_routes, bool)
    for t in tables:
        if t.frontal and t.zone.any():
            out[t.route] = True
    return out


def camera_view_areas(site: Site, cameras: list[Camera]) -> np.ndarray:
    """(C,) float64 area of each camera's view over the walkable footway corridors, m² (at least 1): the
    denominator of the in-view density a view entry reads."""
    walk_union = shapely.union_all(corridors(site))
    return np.array([max(fov_wedge(c).intersection(walk_union).area, 1.0) for c in cameras])
