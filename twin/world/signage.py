"""Signage coverage: does every route that enters a recognition zone pass a sign first?

APP on LFR (2022) asks for advance notice at the deployment; a record must show that nobody
reaches a camera's recognition zone without having passed a notice. For each route whose walkers
can be captured, the first arc length at which a usable capture is possible is compared with
the signs along the route: a sign counts for a route if it stands within
:data:`SIGN_VISIBLE_M` of the walking line and before that point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from shapely import Point

from twin.world.capture import STATION_M, ViewTable
from twin.world.site import Site

__all__ = ["SIGN_VISIBLE_M", "RouteSignage", "signage_coverage"]

#: A sign within this distance of a route's walking line is seen by its walkers, m (assumption:
#: A-board or lamp-post notices read across a footway).
SIGN_VISIBLE_M = 10.0


@dataclass(frozen=True, kw_only=True)
class RouteSignage:
    """Signage of one route.

    Attributes:
        route_id: the route.
        enters_zone: walkers on it can be captured (it crosses a recognition zone facing a camera).
        zone_start_m: arc length of the first possible usable capture, m (NaN if none).
        first_sign_m: arc length of the first sign seen along it, m (NaN if none).
        covered: no zone, or a sign is passed before the zone.
    """

    route_id: str
    enters_zone: bool
    zone_start_m: float
    first_sign_m: float
    covered: bool


def signage_coverage(
    site: Site, tables: list[ViewTable], *, visible_m: float = SIGN_VISIBLE_M
) -> list[RouteSignage]:
    """Per-route signage coverage.

    Args:
        site: routes and sign positions (BNG metres).
        tables: the run's view tables (recognition zones along routes).
        visible_m: how close to the walking line a sign must stand, m.

    Returns:
        one :class:`RouteSignage` per route, in the site's order.
    """
    out = []
    for ri, route in enumerate(site.routes):
        starts = []
        for t in tables:
            if t.route == ri and t.frontal and t.zone.any():
                cols = np.flatnonzero(t.zone.any(axis=0))
                starts.append(t.s0 + float(cols[0]) * STATION_M)
        zone_start = min(starts) if starts else float("nan")
        seen = [
            route.line.project(Point(x, y))
            for x, y in site.signage
            if route.line.distance(Point(x, y)) <= visible_m
        ]
        first_sign = min(seen) if seen else float("nan")
        covered = (not starts) or (bool(seen) and first_sign < zone_start)
        out.append(
            RouteSignage(
                route_id=route.id,
                enters_zone=bool(starts),
                zone_start_m=zone_start,
                first_sign_m=first_sign,
                covered=covered,
            )
        )
    return out
