"""Routing walkers along real footways: a graph of the walkable OSM ways and shortest walks through it."""

from __future__ import annotations

import heapq
import itertools
import math

import numpy as np
import shapely
from shapely.geometry import LineString, Point

from sitebuild.geometry import SiteBuildError, clean


class WalkGraph:
    """A graph of walkable OSM ways (noded, dangling ends snapped to nearby ways), for routing
    routes along the real footways between given waypoints."""

    def __init__(self, lines: list[LineString], snap_m: float = 0.0) -> None:
        extra = []
        if snap_m > 0:
            for i, ln in enumerate(lines):
                for end in (Point(ln.coords[0]), Point(ln.coords[-1])):
                    best = None
                    for j, other in enumerate(lines):
                        if j == i:
                            continue
                        d = other.distance(end)
                        if 1e-6 < d <= snap_m and (best is None or d < best[0]):
                            best = (d, other.interpolate(other.project(end)))
                    if best is not None:
                        extra.append(LineString([end, best[1]]))
        noded = shapely.union_all(lines + extra, grid_size=0.01)
        self.edges: dict[tuple, list[tuple[tuple, float, list]]] = {}
        for seg in getattr(noded, "geoms", [noded]):
            cs = [(round(x, 2), round(y, 2)) for x, y in seg.coords]
            a, b = cs[0], cs[-1]
            if a == b:
                continue
            ln = LineString(cs).length
            self.edges.setdefault(a, []).append((b, ln, cs))
            self.edges.setdefault(b, []).append((a, ln, cs[::-1]))
        self.nodes = np.array(sorted(self.edges), dtype=float)

    def node(self, x: float, y: float, tol: float = 2.0) -> tuple:
        d = np.hypot(self.nodes[:, 0] - x, self.nodes[:, 1] - y)
        i = int(np.argmin(d))
        if d[i] > tol:
            raise SiteBuildError(
                f"walk graph: no node within {tol} m of ({x:.1f}, {y:.1f}) (nearest {d[i]:.1f} m)"
            )
        return tuple(float(v) for v in self.nodes[i])

    def path(self, a: tuple, b: tuple) -> list:
        dist = {a: 0.0}
        prev: dict[tuple, tuple[tuple, list]] = {}
        heap = [(0.0, a)]
        while heap:
            d, u = heapq.heappop(heap)
            if u == b:
                break
            if d > dist.get(u, math.inf):
                continue
            for v, w, cs in self.edges[u]:
                nd = d + w
                if nd < dist.get(v, math.inf) - 1e-9:
                    dist[v] = nd
                    prev[v] = (u, cs)
                    heapq.heappush(heap, (nd, v))
        if b not in dist:
            raise SiteBuildError(f"walk graph: no path from {a} to {b}")
        out: list = []
        v = b
        while v != a:
            u, cs = prev[v]
            out = cs[:-1] + out
            v = u
        return [*out, b]

    def route(self, waypoints: list[tuple[float, float]]) -> LineString:
        """Shortest walk through the graph nodes nearest each waypoint, in order."""
        nodes = [self.node(*w) for w in waypoints]
        coords: list = [nodes[0]]
        for a, b in itertools.pairwise(nodes):
            coords += self.path(a, b)[1:]
        return clean(LineString(coords))
